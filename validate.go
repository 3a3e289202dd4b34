package confab

import (
	"net/mail"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Limits on what clients send.
const (
	MaxMessageRunes = 40000 // characters of a message's text
	MaxNameLen      = 80    // workspace domains, user names, channel names
	MaxTopicRunes   = 250
	MaxPasswordLen  = 1024
	MinPasswordLen  = 8
	MaxGroupDMUsers = 8   // members of a group DM, the caller included
	MaxEmailLen     = 254 // bytes of an email address (RFC 5321's path limit)
)

// ValidName reports whether s is a valid workspace domain or user name:
// 1–80 of lowercase letters, digits, '-', '_', '.'.
func ValidName(s string) bool {
	if len(s) == 0 || len(s) > MaxNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// ValidChannelName reports whether s is a valid channel name as Slack has
// them: 1–80 of lowercase letters, digits, '-' and '_' (no spaces, no periods).
func ValidChannelName(s string) bool {
	if len(s) == 0 || len(s) > MaxNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// ValidReactionName reports whether s is an emoji name such as "thumbsup" or
// "+1" (without colons): 1–100 of lowercase letters, digits, '_', '+', '-', '\”,
// optionally with a skin tone the way Slack names it: "+1::skin-tone-2" to
// "+1::skin-tone-6".
func ValidReactionName(s string) bool {
	if base, tone, ok := strings.Cut(s, "::"); ok {
		return len(tone) == 11 && strings.HasPrefix(tone, "skin-tone-") && tone[10] >= '2' && tone[10] <= '6' && ValidReactionName(base)
	}
	if len(s) == 0 || len(s) > 100 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '+' || c == '-' || c == '\'') {
			return false
		}
	}
	return true
}

// ValidateText checks a message's text: valid UTF-8, not blank, at most
// MaxMessageRunes characters. The text is stored exactly as sent.
func ValidateText(s string) error {
	if !utf8.ValidString(s) {
		return &Error{Code: EINVALID, Message: "invalid_arguments"}
	}
	if strings.TrimSpace(s) == "" {
		return &Error{Code: EINVALID, Message: "no_text"}
	}
	if len(s) > MaxMessageRunes && utf8.RuneCountInString(s) > MaxMessageRunes {
		return &Error{Code: EINVALID, Message: "msg_too_long"}
	}
	return nil
}

// ValidateTopic checks a topic or purpose: valid UTF-8, at most MaxTopicRunes.
func ValidateTopic(s string) error {
	if !utf8.ValidString(s) {
		return &Error{Code: EINVALID, Message: "invalid_arguments"}
	}
	if utf8.RuneCountInString(s) > MaxTopicRunes {
		return &Error{Code: EINVALID, Message: "too_long"}
	}
	return nil
}

// MaxTZLen bounds the name of a time zone.
const MaxTZLen = 64

// zones are the time zones met, by name: only valid names are kept, so
// it holds at most the few hundred of the IANA database.
var zones sync.Map

// location is the time zone of an IANA name, nil for "" or a name the
// time zone database does not have ("Local", whatever the machine's is,
// is not a user's).
func location(name string) *time.Location {
	if name == "" || name == "Local" || len(name) > MaxTZLen {
		return nil
	}
	if l, ok := zones.Load(name); ok {
		return l.(*time.Location)
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil
	}
	zones.Store(name, l)
	return l
}

// ValidTZ reports whether name is a time zone of the IANA database, such
// as "Europe/Paris" or "UTC": what a user's TZ may be.
func ValidTZ(name string) bool { return location(name) != nil }

// ValidEmail reports whether s is a plain email address: local@domain as
// net/mail reads it, with no display name, comment, quoting or angle
// brackets, no space or control character, and at most MaxEmailLen bytes.
func ValidEmail(s string) bool {
	if len(s) == 0 || len(s) > MaxEmailLen || !utf8.ValidString(s) || strings.ContainsAny(s, "\"<>()[]\\ ") {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return false
	}
	local, domain, ok := strings.Cut(s, "@")
	return ok && local != "" && domain != "" && !strings.Contains(domain, "@")
}

// NormalizeEmail returns an email as stores keep and compare it:
// lowercased, so that two spellings of an address are one.
func NormalizeEmail(s string) string { return strings.ToLower(s) }
