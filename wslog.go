package confab

// WorkspaceEvent is one entry of a workspace's event log: a change to the
// workspace's members, channels or memberships, recorded by the store in
// the transaction that makes the change (see Store, "Workspace event
// log"). Apps read the log from a position (FindWorkspaceEvents), so an
// event is never delivered for a change that did not commit, nor lost for
// one that did.
type WorkspaceEvent struct {
	WorkspaceID string
	// Seq is the workspace's own counter, 1, 2, 3… in commit order, with
	// no gaps: a reader that has seen seq n has seen every seq below it.
	Seq  int64
	Kind string // one of the Event* kinds
	// ChannelID is the channel of channel and member events, "" otherwise.
	ChannelID string
	// UserID is the member (member events), the user (team_join,
	// user_change), or who acted (channel events) when the store knows
	// it, else "".
	UserID string
	Time   int64 // unix microseconds of the change
}

// Kinds of WorkspaceEvent, named after the Slack events they become.
const (
	EventMemberJoined     = "member_joined_channel"
	EventMemberLeft       = "member_left_channel"
	EventChannelCreated   = "channel_created"
	EventChannelRename    = "channel_rename"
	EventChannelArchive   = "channel_archive"
	EventChannelUnarchive = "channel_unarchive"
	EventTeamJoin         = "team_join"
	EventUserChange       = "user_change"
)

// ChannelUpdateEvents returns what a store's UpdateChannel that turned old
// into c logs (Store, "Workspace event log"): channel_rename if the name
// changed, then channel_archive or channel_unarchive if the archived flag
// did; Time is left to the store.
func ChannelUpdateEvents(old, c *Channel) []WorkspaceEvent {
	var evs []WorkspaceEvent
	add := func(kind string) {
		evs = append(evs, WorkspaceEvent{WorkspaceID: c.WorkspaceID, Kind: kind, ChannelID: c.ID})
	}
	if c.Name != old.Name {
		add(EventChannelRename)
	}
	switch {
	case c.Archived && !old.Archived:
		add(EventChannelArchive)
	case !c.Archived && old.Archived:
		add(EventChannelUnarchive)
	}
	return evs
}
