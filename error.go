package confab

import (
	"errors"
	"fmt"
)

// Error codes. Each edge of the system (HTTP, WebSocket) maps these in exactly
// one place; the Slack error string a client sees travels in Error.Message.
const (
	ECONFLICT     = "conflict"
	EINTERNAL     = "internal"
	EINVALID      = "invalid"
	ENOTFOUND     = "not_found"
	EFORBIDDEN    = "forbidden"
	EUNAUTHORIZED = "unauthorized"
	ERATELIMIT    = "ratelimit"
	EUNAVAILABLE  = "unavailable" // a dependency is down for now: try again later
)

// Error is the domain error. Code is one of the E… constants; Message is the
// Slack error code shown to clients ("channel_not_found", "name_taken", …).
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("confab error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and formatted Slack message.
func Errorf(code string, format string, args ...any) error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err, EINTERNAL for any error that is not an
// *Error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the Slack error string of err: the Message of an
// *Error, "internal_error" for anything else.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "internal_error"
}

// Frequently returned errors, shared so every layer says the same thing.
var (
	ErrChannelNotFound = &Error{Code: ENOTFOUND, Message: "channel_not_found"}
	ErrUserNotFound    = &Error{Code: ENOTFOUND, Message: "user_not_found"}
	ErrMessageNotFound = &Error{Code: ENOTFOUND, Message: "message_not_found"}
	ErrNotInChannel    = &Error{Code: EFORBIDDEN, Message: "not_in_channel"}
	ErrIsArchived      = &Error{Code: EFORBIDDEN, Message: "is_archived"}
	ErrInvalidAuth     = &Error{Code: EUNAUTHORIZED, Message: "invalid_auth"}
	ErrNotAuthed       = &Error{Code: EUNAUTHORIZED, Message: "not_authed"}
	ErrInvalidCursor   = &Error{Code: EINVALID, Message: "invalid_cursor"}
	ErrInvalidArgs     = &Error{Code: EINVALID, Message: "invalid_arguments"}
	ErrNameTaken       = &Error{Code: ECONFLICT, Message: "name_taken"}
	ErrEmailTaken      = &Error{Code: ECONFLICT, Message: "email_taken"}
	ErrAlreadyReacted  = &Error{Code: ECONFLICT, Message: "already_reacted"}
	ErrNoReaction      = &Error{Code: ENOTFOUND, Message: "no_reaction"}
	ErrAlreadyPinned   = &Error{Code: ECONFLICT, Message: "already_pinned"}
	ErrNoPin           = &Error{Code: ENOTFOUND, Message: "no_pin"}
	ErrTooManyPins     = &Error{Code: ECONFLICT, Message: "too_many_pins"}
	// ErrImportOrder: an import's messages are not in increasing ts order.
	ErrImportOrder = &Error{Code: EINVALID, Message: "invalid_ts_order"}
	// ErrImportTooOld: an imported message is older than the channel's
	// latest, which it would come after in seq but before in ts.
	ErrImportTooOld = &Error{Code: ECONFLICT, Message: "import_out_of_order"}
	// ErrInvalidClaim: no claim has that link's hash, or it expired or
	// was used (Store.FindClaim, Store.ClaimUser).
	ErrInvalidClaim = &Error{Code: EUNAUTHORIZED, Message: "invalid_claim"}
	// ErrAlreadyClaimed: a claim without a link of a user who has a
	// password already (Store.ClaimUser).
	ErrAlreadyClaimed = &Error{Code: ECONFLICT, Message: "already_claimed"}
)

// ScopeError is Slack's missing_scope: the token lacks Needed (the
// scopes any one of which would do, comma-separated), and has Provided
// (the API answers both, as Slack does).
type ScopeError struct {
	Needed   string
	Provided []string
}

func (e *ScopeError) Error() string {
	return fmt.Sprintf("confab error: missing_scope: needed %s", e.Needed)
}

// Unwrap makes a ScopeError an *Error: EFORBIDDEN "missing_scope".
func (e *ScopeError) Unwrap() error { return errMissingScope }

var errMissingScope = &Error{Code: EFORBIDDEN, Message: "missing_scope"}
