package chat

import (
	"encoding/json"
	"sync"

	"github.com/confab/confab"
)

// Parameters and results of the use cases. Transports (api, gateway) fill the
// parameters from untrusted input; the Service validates every field.

// Session is the result of signing up or logging in.
type Session struct {
	Token     string
	User      *confab.User
	Workspace *confab.Workspace
}

// SignupParams creates a workspace (new domain; the user becomes its owner)
// or joins one (existing domain, when open sign-up is allowed).
type SignupParams struct {
	Team     string // workspace domain
	Name     string
	Password string
	RealName string
	Email    string // optional: a plain address (confab.ValidEmail)
	TZ       string // optional: a time zone (confab.ValidTZ); one confab does not know is left out
}

// ListChannelsParams are conversations.list's arguments.
type ListChannelsParams struct {
	Types           []string // confab kinds; empty: public and private
	ExcludeArchived bool
	Cursor          string
	Limit           int
}

// HistoryParams are conversations.history's arguments.
type HistoryParams struct {
	Channel   string
	Cursor    string
	Limit     int
	Latest    string // ts; "" for now
	Oldest    string // ts; "" for the beginning
	Inclusive bool
}

// RepliesParams are conversations.replies's arguments.
type RepliesParams struct {
	Channel string
	TS      string
	Cursor  string
	Limit   int
}

// Page is a page of messages, newest first for history, oldest first for
// replies. A history page's Messages may be shared with other callers that
// read the same page at the same time (hot channels): they are read-only.
type Page struct {
	Messages   []*confab.Message
	HasMore    bool
	NextCursor string
	// Memo is shared by every caller served the same page at the same
	// time (nil when not shared): what is derived from the page alone —
	// the API's encoded answer, pins included — is computed once for all
	// of them.
	Memo *Memo
	// Pinned holds the ts of the channel's pinned messages (pinned_to),
	// PinCount how many there are. Pinned may be shared: read-only.
	Pinned   map[int64]bool
	PinCount int
}

// Memo holds a value derived from a shared page, computed once.
type Memo struct {
	once sync.Once
	v    any
}

// Do returns f's result, calling f only the first time; every caller gets
// that same value, which must therefore be read-only.
func (m *Memo) Do(f func() any) any {
	m.once.Do(func() { m.v = f() })
	return m.v
}

// PostParams are chat.postMessage's arguments.
type PostParams struct {
	// Channel is a conversation's id, a user's id (their DM with the
	// caller, opened if need be), or a channel's name ("#general" or
	// "general") in the caller's workspace.
	Channel     string
	Text        string
	ThreadTS    string
	ClientMsgID string
	// App are the blocks, attachments, metadata and username/icon
	// overrides, as sent (confab.ValidateAppFields).
	App confab.AppFields
	// ReplyBroadcast shows a thread reply in the channel too.
	ReplyBroadcast bool
}

// UpdateParams are chat.update's arguments: each field that is set
// replaces the message's, the others are kept. An empty Blocks or
// Attachments (or "[]") removes them.
type UpdateParams struct {
	Channel     string
	TS          string
	Text        *string
	Blocks      *string
	Attachments *string
	Metadata    *string
}

// PrefsUpdate is conversations.setPrefs: the flags that are set change.
type PrefsUpdate struct {
	IsMuted   *bool
	IsStarred *bool
}

// Boot is what client.boot returns.
type Boot struct {
	Self      *confab.User
	Workspace *confab.Workspace
	Channels  []*confab.ChannelView // the caller's conversations, with latest message
}

// CatchUpChannel is one channel of client.catchup's answer.
type CatchUpChannel struct {
	Channel string            `json:"channel"`
	Events  []json.RawMessage `json:"events"`
	HasMore bool              `json:"has_more"`
	// Memo is shared by every caller served the same catch-up of the
	// channel (nil when not shared): the events are then shared and
	// read-only, and their encoding is made once for all of them.
	Memo *Memo `json:"-"`
	// MentionCount is the caller's own (Store.CountMentions after their
	// read marker), so it is not part of the shared encoding: the API
	// adds it to each caller's copy (mention_count).
	MentionCount int64 `json:"-"`
}
