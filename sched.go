package confab

import "cmp"

// PrefixScheduled is the prefix of a scheduled message's id, as Slack
// spells it (chat.scheduleMessage's scheduled_message_id).
const PrefixScheduled = 'Q'

// ScheduledMessage is a message to be posted later (chat.scheduleMessage):
// what chat.postMessage would post, kept until PostAt. It is posted by the
// scheduler of a process that serves the API, as UserID, through the
// normal posting path, with ClientMsgID = ID: whatever races or crashes
// happen, the channel's client_msg_id dedup posts it once.
type ScheduledMessage struct {
	ID        string // Q…
	ChannelID string // resolved when it was scheduled
	UserID    string // who scheduled it, and who posts it
	PostAt    int64  // unix seconds
	Created   int64  // unix seconds
	Text      string
	ThreadTS  int64 // the thread's parent, 0 for a top-level message
	Broadcast bool  // reply_broadcast
	// The app fields as ValidateAppFields returned them.
	Blocks      string
	Attachments string
	Metadata    string
	Username    string
	IconEmoji   string
	IconURL     string
	// ClaimedUntil is the unix second until which a scheduler holds the
	// message to post it (ClaimScheduledMessages); 0 if never claimed.
	ClaimedUntil int64
}

// ScheduledFilter selects a user's scheduled messages (FindScheduledMessages),
// by PostAt then ID.
type ScheduledFilter struct {
	UserID    string // required
	ChannelID string // "" for every channel
	Oldest    int64  // PostAt >= Oldest; 0: no bound
	Latest    int64  // PostAt <= Latest; 0: no bound
	// AfterPostAt and AfterID continue a list after that message.
	AfterPostAt int64
	AfterID     string
	Limit       int
}

// Bounds on scheduled messages, checked by a store in the transaction
// that schedules one, so that concurrent callers cannot pass them.
// Slack allows 30 messages per channel per 5-minute window; the per-user
// bound is confab's, so that one user cannot fill the store.
const (
	MaxScheduledPerWindow = 30  // pending in one channel with PostAt in one ScheduleWindow
	ScheduleWindow        = 300 // seconds; windows start at multiples of it (PostAt / ScheduleWindow)
	MaxScheduledPerUser   = 1000
	// MaxScheduleAhead is how far ahead a message may be scheduled:
	// Slack's 120 days, in seconds.
	MaxScheduleAhead = 120 * 24 * 3600
)

// Errors of scheduled messages, Slack's.
var (
	// ErrRestrictedTooMany: MaxScheduledPerWindow or MaxScheduledPerUser
	// would be passed (CreateScheduledMessage).
	ErrRestrictedTooMany = &Error{Code: ECONFLICT, Message: "restricted_too_many"}
	// ErrInvalidScheduledID: no such pending message of the caller's in
	// that channel, or one already posted or being posted.
	ErrInvalidScheduledID = &Error{Code: ENOTFOUND, Message: "invalid_scheduled_message_id"}
)

// PrepareScheduled returns m as a store creates it: with a new id if it
// had none, never claimed.
func PrepareScheduled(m ScheduledMessage) ScheduledMessage {
	if m.ID == "" {
		m.ID = NewID(PrefixScheduled)
	}
	m.ClaimedUntil = 0
	return m
}

// ScheduleWindowOf returns the window [start, end) of unix seconds that
// postAt falls in, whose pending messages MaxScheduledPerWindow bounds.
func ScheduleWindowOf(postAt int64) (start, end int64) {
	start = postAt - postAt%ScheduleWindow
	if postAt < 0 && postAt%ScheduleWindow != 0 {
		start -= ScheduleWindow
	}
	return start, start + ScheduleWindow
}

// CompareScheduled orders scheduled messages by PostAt then ID: the order
// of ClaimScheduledMessages and FindScheduledMessages.
func CompareScheduled(a, b *ScheduledMessage) int {
	return cmp.Or(cmp.Compare(a.PostAt, b.PostAt), cmp.Compare(a.ID, b.ID))
}
