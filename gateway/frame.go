package gateway

import (
	"bytes"
	"encoding/json"
	"slices"

	"github.com/confab/confab"
)

// maxPresenceSubs caps how many users one connection may watch.
const maxPresenceSubs = 500

// clientFrame is an RTM frame sent by a client. Unknown fields are ignored.
type clientFrame struct {
	// ID is the client's frame id as sent (a JSON number), echoed as
	// reply_to; nil when absent or not a number.
	ID          json.RawMessage `json:"id"`
	Type        string          `json:"type"`
	Channel     string          `json:"channel"`
	Text        string          `json:"text"`
	ThreadTS    string          `json:"thread_ts"`
	ClientMsgID string          `json:"client_msg_id"`
	IDs         []string        `json:"ids"`
}

// decodeFrame decodes one client frame. Any input is safe: an error means it
// was not a JSON object.
func decodeFrame(b []byte) (clientFrame, error) {
	var f clientFrame
	if err := json.Unmarshal(b, &f); err != nil {
		return clientFrame{}, confab.Errorf(confab.EINVALID, "invalid_json")
	}
	if !isJSONNumber(f.ID) {
		f.ID = nil
	}
	return f, nil
}

// isJSONNumber reports whether raw, already validated JSON, is a number.
func isJSONNumber(raw json.RawMessage) bool {
	return len(raw) > 0 && (raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9')
}

// presenceTopics returns the bus topics of a presence_sub's ids, users of
// the connection's workspace: valid user ids only, deduplicated, at most
// maxPresenceSubs.
func presenceTopics(workspaceID string, ids []string) []string {
	var topics []string
	for _, id := range ids {
		if len(topics) == maxPresenceSubs {
			break
		}
		if !confab.ValidID(id, 'U') {
			continue
		}
		t := confab.PresenceTopic(workspaceID, id)
		if !slices.Contains(topics, t) {
			topics = append(topics, t)
		}
	}
	return topics
}

// pongFrame answers an RTM ping: {"type":"pong","reply_to":N,…} with every
// other field of the ping echoed. b must be a valid JSON object.
func pongFrame(b []byte) []byte {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return []byte(`{"type":"pong"}`)
	}
	var buf bytes.Buffer
	buf.WriteString(`{"type":"pong"`)
	if id := fields["id"]; isJSONNumber(id) {
		buf.WriteString(`,"reply_to":`)
		buf.Write(id)
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		if k != "id" && k != "type" && k != "reply_to" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		kb, _ := json.Marshal(k) // a string always encodes
		buf.WriteByte(',')
		buf.Write(kb)
		buf.WriteByte(':')
		buf.Write(fields[k])
	}
	buf.WriteByte('}')
	return buf.Bytes()
}

type ackOK struct {
	OK      bool            `json:"ok"`
	ReplyTo json.RawMessage `json:"reply_to,omitempty"`
	TS      string          `json:"ts"`
	Text    string          `json:"text"`
}

type ackError struct {
	OK      bool            `json:"ok"`
	ReplyTo json.RawMessage `json:"reply_to,omitempty"`
	Error   errorBody       `json:"error"`
}

// errorEvent is sent for a frame without an id that could not be handled.
type errorEvent struct {
	Type  string    `json:"type"`
	Error errorBody `json:"error"`
}

// errorBody is Slack's RTM error: a numeric code (as Slack's clients,
// slack-go among them, decode it) and the Slack error string as msg. The
// code is an HTTP status of the error's kind: 400 invalid, 401, 403, 404
// not found, 429, 500.
type errorBody struct {
	Code int    `json:"code"`
	Msg  string `json:"msg"`
}

// okFrame acks a posted message.
func okFrame(replyTo json.RawMessage, m *confab.Message) []byte {
	b, _ := json.Marshal(ackOK{OK: true, ReplyTo: replyTo, TS: confab.FormatTS(m.TS), Text: m.Text})
	return b
}

// errorFrame answers a frame that failed with o: an ack with reply_to when
// the frame had an id, else an "error" event.
func errorFrame(replyTo json.RawMessage, o outcome) []byte {
	body := errorBody{Code: o.status, Msg: o.code}
	var b []byte
	if replyTo != nil {
		b, _ = json.Marshal(ackError{ReplyTo: replyTo, Error: body})
	} else {
		b, _ = json.Marshal(errorEvent{Type: "error", Error: body})
	}
	return b
}
