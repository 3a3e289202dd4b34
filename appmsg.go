package confab

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// What apps send with a message besides its text: blocks, attachments
// and metadata, kept as JSON, and how the poster is shown (username,
// icon). The counts are Slack's; the byte bound is confab's.
const (
	MaxBlocks      = 50  // blocks of one message: "invalid_blocks" past it
	MaxAttachments = 100 // attachments of one message: "too_many_attachments"
	// MaxAppJSONBytes bounds a message's blocks, attachments and metadata
	// together, as stored (compacted): "msg_too_long" past it. With
	// MaxMessageRunes of text, a message weighs at most ~290 KB.
	MaxAppJSONBytes  = 128 << 10
	MaxUsernameRunes = 80   // username: "invalid_arguments" past it
	MaxIconLen       = 2048 // icon_emoji and icon_url, in bytes
)

// The errors of ValidateAppFields, Slack's.
var (
	ErrNoText                = &Error{Code: EINVALID, Message: "no_text"}
	ErrMsgTooLong            = &Error{Code: EINVALID, Message: "msg_too_long"}
	ErrInvalidBlocksFormat   = &Error{Code: EINVALID, Message: "invalid_blocks_format"}
	ErrInvalidBlocks         = &Error{Code: EINVALID, Message: "invalid_blocks"}
	ErrInvalidAttachments    = &Error{Code: EINVALID, Message: "invalid_attachments"}
	ErrTooManyAttachments    = &Error{Code: EINVALID, Message: "too_many_attachments"}
	ErrInvalidMetadataFormat = &Error{Code: EINVALID, Message: "invalid_metadata_format"}
	ErrInvalidMetadataSchema = &Error{Code: EINVALID, Message: "invalid_metadata_schema"}
)

// AppFields are a message's app arguments as a client sent them (each ""
// when absent), and, once ValidateAppFields has passed, as they are
// stored.
type AppFields struct {
	Blocks      string // a JSON array of objects, each with a string "type"
	Attachments string // a JSON array of objects
	Metadata    string // a JSON object {"event_type": string, "event_payload": object}
	Username    string
	IconEmoji   string
	IconURL     string
}

// ValidateAppFields checks f and returns it as stored: each JSON value
// compacted (insignificant whitespace dropped; keys, their order, numbers
// and string escapes kept byte for byte), an empty array as "" (none).
// Errors: ErrInvalidBlocksFormat (not JSON), ErrInvalidBlocks (not an
// array of typed objects, or more than MaxBlocks), ErrInvalidAttachments,
// ErrTooManyAttachments, ErrInvalidMetadataFormat (not a JSON object),
// ErrInvalidMetadataSchema (no string event_type or object event_payload),
// ErrMsgTooLong (more than MaxAppJSONBytes together), and
// invalid_arguments for a username, icon_emoji or icon_url that is not
// UTF-8 or is too long, or an icon_url that is not http(s).
func ValidateAppFields(f AppFields) (AppFields, error) {
	var err error
	if f.Blocks, err = NormalizeBlocks(f.Blocks); err != nil {
		return f, err
	}
	if f.Attachments, err = NormalizeAttachments(f.Attachments); err != nil {
		return f, err
	}
	if f.Metadata, err = NormalizeMetadata(f.Metadata); err != nil {
		return f, err
	}
	if len(f.Blocks)+len(f.Attachments)+len(f.Metadata) > MaxAppJSONBytes {
		return f, ErrMsgTooLong
	}
	if !utf8.ValidString(f.Username) || utf8.RuneCountInString(f.Username) > MaxUsernameRunes ||
		!utf8.ValidString(f.IconEmoji) || len(f.IconEmoji) > MaxIconLen ||
		!utf8.ValidString(f.IconURL) || len(f.IconURL) > MaxIconLen ||
		f.IconURL != "" && !strings.HasPrefix(f.IconURL, "https://") && !strings.HasPrefix(f.IconURL, "http://") {
		return f, ErrInvalidArgs
	}
	return f, nil
}

// compact returns raw compacted, or ok false if it is not one JSON value.
// It never decodes strings or numbers, so what it keeps is as sent.
func compact(raw string) (string, bool) {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(raw)); err != nil {
		return "", false
	}
	return b.String(), true
}

// objects decodes a JSON array of objects, one level deep; ok is false if
// raw is not one.
func objects(raw string) ([]map[string]json.RawMessage, bool) {
	var list []map[string]json.RawMessage
	if json.Unmarshal([]byte(raw), &list) != nil || list == nil {
		return nil, false
	}
	for _, o := range list {
		if o == nil { // null
			return nil, false
		}
	}
	return list, true
}

// NormalizeBlocks checks a blocks argument and returns it as stored ("" for
// none: absent or []). See ValidateAppFields.
func NormalizeBlocks(raw string) (string, error) {
	if strings.TrimSpace(raw) == "" {
		return "", nil
	}
	out, ok := compact(raw)
	if !ok || len(raw) > 4*MaxAppJSONBytes {
		return "", ErrInvalidBlocksFormat
	}
	if len(out) > MaxAppJSONBytes {
		return "", ErrMsgTooLong
	}
	list, ok := objects(out)
	if !ok || len(list) > MaxBlocks {
		return "", ErrInvalidBlocks
	}
	for _, b := range list {
		if t := b["type"]; len(t) < 2 || t[0] != '"' || string(t) == `""` {
			return "", ErrInvalidBlocks
		}
	}
	if len(list) == 0 {
		return "", nil
	}
	return out, nil
}

// NormalizeAttachments checks an attachments argument and returns it as
// stored ("" for none: absent or []). See ValidateAppFields.
func NormalizeAttachments(raw string) (string, error) {
	if strings.TrimSpace(raw) == "" {
		return "", nil
	}
	out, ok := compact(raw)
	if !ok || len(raw) > 4*MaxAppJSONBytes {
		return "", ErrInvalidAttachments
	}
	if len(out) > MaxAppJSONBytes {
		return "", ErrMsgTooLong
	}
	list, ok := objects(out)
	if !ok {
		return "", ErrInvalidAttachments
	}
	if len(list) > MaxAttachments {
		return "", ErrTooManyAttachments
	}
	if len(list) == 0 {
		return "", nil
	}
	return out, nil
}

// NormalizeMetadata checks a metadata argument and returns it as stored
// ("" for none). See ValidateAppFields.
func NormalizeMetadata(raw string) (string, error) {
	if strings.TrimSpace(raw) == "" {
		return "", nil
	}
	out, ok := compact(raw)
	if !ok || len(raw) > 4*MaxAppJSONBytes {
		return "", ErrInvalidMetadataFormat
	}
	if len(out) > MaxAppJSONBytes {
		return "", ErrMsgTooLong
	}
	var m map[string]json.RawMessage
	if json.Unmarshal([]byte(out), &m) != nil || m == nil {
		return "", ErrInvalidMetadataFormat
	}
	var typ string
	if json.Unmarshal(m["event_type"], &typ) != nil || typ == "" {
		return "", ErrInvalidMetadataSchema
	}
	if p := m["event_payload"]; len(p) == 0 || p[0] != '{' {
		return "", ErrInvalidMetadataSchema
	}
	return out, nil
}

// HasContent reports whether a message with this text and these app
// fields (as stored) shows anything: text that is not blank, blocks or
// attachments. One without is "no_text", as in Slack.
func HasContent(text string, f AppFields) bool {
	return strings.TrimSpace(text) != "" || f.Blocks != "" || f.Attachments != ""
}
