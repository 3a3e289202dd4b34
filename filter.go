package confab

// Filters and updates passed to the store. They grow with new fields rather
// than store methods growing new parameters.

// UserFilter selects users of a workspace ordered by id.
type UserFilter struct {
	WorkspaceID string
	AfterID     string // exclusive; "" from the start
	Limit       int
}

// ChannelFilter selects channels ordered by id.
type ChannelFilter struct {
	WorkspaceID string
	// MemberID, when set, restricts to channels the user belongs to, except
	// that public channels are also returned when IncludePublic is set.
	MemberID        string
	IncludePublic   bool
	Kinds           []string // empty: every kind
	ExcludeArchived bool
	// Name, when set, selects the named channel of the workspace with that
	// name: at most one.
	Name    string
	AfterID string // exclusive
	Limit   int
}

// ChannelUpdate changes the fields that are set.
type ChannelUpdate struct {
	Name     *string // a named channel's new name, unique in its workspace
	Topic    *Text
	Purpose  *Text
	Archived *bool
}

// MemberFilter selects the members of a channel ordered by user id.
type MemberFilter struct {
	ChannelID   string
	AfterUserID string
	// UserIDs, when not nil, restricts to these users: which of them are
	// members (an index seek each, however many members the channel has).
	UserIDs []string
	Limit   int
}

// MembershipUpdate changes the fields that are set.
type MembershipUpdate struct {
	IsMuted   *bool
	IsStarred *bool
	// LastRead moves the read marker to this message (seq, ts and num taken
	// from it).
	LastRead *Message
}

// MessageFilter selects messages of one channel by seq range.
type MessageFilter struct {
	ChannelID string
	After     int64 // exclusive lower bound on seq; 0 for none
	Before    int64 // exclusive upper bound on seq; 0 for none
	// ThreadTS selects a thread: its parent and its replies. 0: no filter.
	ThreadTS int64
	// TopLevel leaves out thread replies but those broadcast to the
	// channel (what conversations.history shows).
	TopLevel bool
	// IncludeDeleted returns tombstones too.
	IncludeDeleted bool
	Desc           bool // newest first
	Limit          int
}

// MessageUpdate changes the fields that are set.
type MessageUpdate struct {
	Text *string
	// Blocks, Attachments and Metadata replace the message's ("" removes
	// them).
	Blocks      *string
	Attachments *string
	Metadata    *string
	// Here is who a <!here> of the edited message reaches, as
	// Message.Here: the members active as the edit is written.
	Here []string
}

// UserSearch selects the users of a workspace found by a query (see
// UserTerms). Query is a UserSearchKey; "" selects nobody.
type UserSearch struct {
	WorkspaceID string
	Query       string
	Limit       int
}
