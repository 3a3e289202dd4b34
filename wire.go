package confab

import (
	"encoding/json"
	"strings"
	"time"
)

// The Slack JSON shapes of the domain objects (docs/api.md#objects). Both
// the Web API and the RTM events are built from these, so a message looks
// the same in conversations.history, in chat.postMessage's answer and on
// the socket.

// WireMessage is Slack's message object.
type WireMessage struct {
	Type        string         `json:"type"`
	Subtype     string         `json:"subtype,omitempty"`
	Channel     string         `json:"channel,omitempty"`
	User        string         `json:"user,omitempty"`
	Text        string         `json:"text"`
	TS          string         `json:"ts"`
	Seq         int64          `json:"seq,omitempty"`
	ThreadTS    string         `json:"thread_ts,omitempty"`
	ReplyCount  int            `json:"reply_count,omitempty"`
	LatestReply string         `json:"latest_reply,omitempty"`
	Edited      *WireEdited    `json:"edited,omitempty"`
	Reactions   []WireReaction `json:"reactions,omitempty"`
	ClientMsgID string         `json:"client_msg_id,omitempty"`
	// What apps sent, as stored (Message.Blocks …).
	Blocks      json.RawMessage `json:"blocks,omitempty"`
	Attachments json.RawMessage `json:"attachments,omitempty"`
	Metadata    json.RawMessage `json:"metadata,omitempty"`
	Username    string          `json:"username,omitempty"`
	Icons       *WireIcons      `json:"icons,omitempty"`
	// The bot that posted it (Message.Bot).
	BotID      string          `json:"bot_id,omitempty"`
	BotProfile *WireBotProfile `json:"bot_profile,omitempty"`
	// PinnedTo lists the channel a pinned message is pinned to, as
	// Slack's pinned_to (history, replies and pins.list fill it).
	PinnedTo []string `json:"pinned_to,omitempty"`
	// A system message's fields (SystemFields): who invited the joiner
	// (channel_join), the new topic or purpose.
	Inviter string  `json:"inviter,omitempty"`
	Topic   *string `json:"topic,omitempty"`
	Purpose *string `json:"purpose,omitempty"`
}

// WireIcons is the icon a message's poster chose for it (icon_emoji or
// icon_url), as Slack shows it on a bot's message.
type WireIcons struct {
	Emoji   string `json:"emoji,omitempty"`
	Image48 string `json:"image_48,omitempty"`
}

// WireEdited says who edited a message and when.
type WireEdited struct {
	User string `json:"user"`
	TS   string `json:"ts"`
}

// WireReaction is one emoji on a message: Count is exact, Users lists the
// first MaxWireReactionUsers who reacted, as Slack's message object lists
// some of them (reactions.get's full lists all in Slack).
type WireReaction struct {
	Name  string   `json:"name"`
	Count int      `json:"count"`
	Users []string `json:"users"`
}

// Wire returns the Slack message object of m.
func (m *Message) Wire() WireMessage {
	w := WireMessage{
		Type:        "message",
		Subtype:     m.Subtype,
		Channel:     m.ChannelID,
		User:        m.UserID,
		Text:        m.Text,
		TS:          FormatTS(m.TS),
		Seq:         m.Seq,
		ThreadTS:    FormatTS(m.ThreadTS),
		ReplyCount:  m.ReplyCount,
		LatestReply: FormatTS(m.LatestReply),
		ClientMsgID: m.ClientMsgID,
	}
	if m.EditedTS != 0 {
		w.Edited = &WireEdited{User: m.UserID, TS: FormatTS(m.EditedTS)}
	}
	if m.Broadcast && m.ThreadTS != 0 {
		w.Subtype = "thread_broadcast"
	}
	if m.Blocks != "" {
		w.Blocks = json.RawMessage(m.Blocks)
	}
	if m.Attachments != "" {
		w.Attachments = json.RawMessage(m.Attachments)
	}
	if IsSystemSubtype(m.Subtype) {
		f := m.systemFields()
		w.Inviter, w.Topic, w.Purpose = f.Inviter, f.Topic, f.Purpose
	} else if m.Metadata != "" {
		w.Metadata = json.RawMessage(m.Metadata)
	}
	w.Username = m.Username
	if m.IconEmoji != "" || m.IconURL != "" {
		w.Icons = &WireIcons{Emoji: m.IconEmoji, Image48: m.IconURL}
	}
	if b := m.Bot; b != nil {
		w.BotID = b.ID
		p := b.Profile()
		w.BotProfile = &p
	}
	for _, r := range m.Reactions {
		w.Reactions = append(w.Reactions, WireReaction{Name: r.Name, Count: len(r.Users),
			Users: r.Users[:min(len(r.Users), MaxWireReactionUsers)]})
	}
	return w
}

// WireText is a channel's topic or purpose.
type WireText struct {
	Value   string `json:"value"`
	Creator string `json:"creator"`
	LastSet int64  `json:"last_set"`
}

// WireChannel is Slack's conversation object as one caller sees it.
type WireChannel struct {
	ID          string       `json:"id"`
	Name        string       `json:"name,omitempty"`
	Created     int64        `json:"created"`
	Creator     string       `json:"creator,omitempty"`
	IsChannel   bool         `json:"is_channel"`
	IsGroup     bool         `json:"is_group"`
	IsIM        bool         `json:"is_im"`
	IsMpIM      bool         `json:"is_mpim"`
	IsPrivate   bool         `json:"is_private"`
	IsArchived  bool         `json:"is_archived"`
	IsGeneral   bool         `json:"is_general"` // the workspace's general channel (Channel.IsGeneral)
	IsMember    bool         `json:"is_member"`
	User        string       `json:"user,omitempty"`    // a DM's other member
	Topic       *WireText    `json:"topic,omitempty"`   // nil only in a Brief view
	Purpose     *WireText    `json:"purpose,omitempty"` // nil only in a Brief view
	NumMembers  int          `json:"num_members"`
	LastRead    string       `json:"last_read,omitempty"`
	UnreadCount *int64       `json:"unread_count,omitempty"`
	Mentions    *int64       `json:"mention_count,omitempty"` // client.boot and conversations.info, for a member
	IsMuted     bool         `json:"is_muted"`
	IsStarred   bool         `json:"is_starred"`
	PinCount    *int         `json:"pin_count,omitempty"` // left out in a Brief view
	LatestSeq   int64        `json:"latest_seq"`
	Latest      *WireMessage `json:"latest,omitempty"`
}

// ChannelView is a channel as one user sees it: with that user's membership
// (nil when not a member), a DM's other member, and optionally the latest
// message.
type ChannelView struct {
	Channel *Channel
	Member  *Membership
	Other   string
	Latest  *Message
	// Brief is client.boot's sidebar form: an empty topic or purpose is
	// left out, so that the boot of a user in hundreds of channels stays
	// small.
	Brief bool
	// Mentions is the member's mentions after their read marker (every
	// unread message of a DM or group DM), when the caller counted them
	// (client.boot, conversations.info).
	Mentions *int64
}

// Wire returns the Slack conversation object of v.
func (v *ChannelView) Wire() WireChannel {
	c := v.Channel
	w := WireChannel{
		ID:         c.ID,
		Name:       c.Name,
		Created:    c.Created,
		Creator:    c.CreatedBy,
		IsChannel:  c.Kind == KindPublic || c.Kind == KindPrivate,
		IsGroup:    c.Kind == KindPrivate,
		IsIM:       c.Kind == KindDM,
		IsMpIM:     c.Kind == KindGroupDM,
		IsPrivate:  c.Kind != KindPublic,
		IsArchived: c.Archived,
		IsGeneral:  c.IsGeneral,
		IsMember:   v.Member != nil,
		User:       v.Other,
		NumMembers: c.NumMembers,
		LatestSeq:  c.LastSeq,
	}
	if !v.Brief {
		n := c.PinCount
		w.PinCount = &n
	}
	if !v.Brief || c.Topic.Value != "" {
		w.Topic = &WireText{Value: c.Topic.Value, Creator: c.Topic.Creator, LastSet: c.Topic.LastSet}
	}
	if !v.Brief || c.Purpose.Value != "" {
		w.Purpose = &WireText{Value: c.Purpose.Value, Creator: c.Purpose.Creator, LastSet: c.Purpose.LastSet}
	}
	if m := v.Member; m != nil {
		w.LastRead = FormatTS(m.LastReadTS)
		if w.LastRead == "" {
			w.LastRead = "0000000000.000000"
		}
		unread := c.MessageCount - m.LastReadCount
		if unread < 0 {
			unread = 0
		}
		w.UnreadCount = &unread
		w.IsMuted, w.IsStarred = m.IsMuted, m.IsStarred
		w.Mentions = v.Mentions
	}
	if v.Latest != nil {
		lm := v.Latest.Wire()
		lm.Channel = "" // it is the conversation's own, as in Slack's objects
		w.Latest = &lm
	}
	return w
}

// WireUser is Slack's user object.
type WireUser struct {
	ID       string      `json:"id"`
	TeamID   string      `json:"team_id"`
	Name     string      `json:"name"`
	RealName string      `json:"real_name"`
	Deleted  bool        `json:"deleted"`
	IsBot    bool        `json:"is_bot"`
	Profile  WireProfile `json:"profile"`

	// The time zone, left out when the user has none: its IANA name, its
	// abbreviation now and its offset from UTC now, in seconds.
	TZ       string `json:"tz,omitempty"`
	TZLabel  string `json:"tz_label,omitempty"`
	TZOffset *int   `json:"tz_offset,omitempty"`

	// Set by users.info, which knows the workspace: true for its owner
	// (confab has no other admins), left out otherwise.
	IsAdmin        bool `json:"is_admin,omitempty"`
	IsOwner        bool `json:"is_owner,omitempty"`
	IsPrimaryOwner bool `json:"is_primary_owner,omitempty"`
}

// WireProfile is the profile part of Slack's user object, and what
// users.profile.get answers: the fields confab has, under Slack's names.
// Email is left out when empty, which is also how one the caller may not
// see is left out (the caller's copy of the user has it blank).
type WireProfile struct {
	DisplayName      string `json:"display_name"`
	RealName         string `json:"real_name"`
	Email            string `json:"email,omitempty"`
	StatusText       string `json:"status_text"`
	StatusEmoji      string `json:"status_emoji"`
	StatusExpiration int64  `json:"status_expiration"`
	Team             string `json:"team"`
}

// Wire returns the Slack user object of u. The password hash never leaves.
func (u *User) Wire() WireUser {
	w := WireUser{
		ID: u.ID, TeamID: u.WorkspaceID, Name: u.Name, RealName: u.RealName,
		Deleted: u.Deleted, IsBot: u.IsBot, Profile: u.Profile(),
	}
	if loc := location(u.TZ); loc != nil {
		label, offset := time.Now().In(loc).Zone()
		w.TZ, w.TZLabel, w.TZOffset = u.TZ, label, &offset
	}
	return w
}

// Profile returns the Slack profile of u.
func (u *User) Profile() WireProfile {
	return WireProfile{
		DisplayName: u.DisplayName, RealName: u.RealName, Email: u.Email,
		StatusText: u.StatusText, StatusEmoji: u.StatusEmoji, StatusExpiration: u.StatusExpiration,
		Team: u.WorkspaceID,
	}
}

// UserChangeEvent is Slack's "user_change": a user's profile changed. u
// is the user as every recipient may see it (no email).
func UserChangeEvent(u *User) []byte {
	return mustJSON(struct {
		Type string   `json:"type"`
		User WireUser `json:"user"`
	}{"user_change", u.Wire()})
}

// WireTeam is Slack's team object as rtm.connect and client.boot show it.
type WireTeam struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Domain string `json:"domain"`
}

// Wire returns the Slack team object of w.
func (w *Workspace) Wire() WireTeam { return WireTeam{ID: w.ID, Name: w.Name, Domain: w.Domain} }

// Item is what a reaction is attached to.
type Item struct {
	Type    string `json:"type"`
	Channel string `json:"channel"`
	TS      string `json:"ts"`
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("confab: encoding event: " + err.Error()) // only plain structs are encoded
	}
	return b
}

// MessageEvent is the RTM "message" event of a new message.
func MessageEvent(m *Message) []byte {
	w := m.Wire()
	w.Seq = m.ChangeSeq
	return mustJSON(w)
}

// MessageChangedEvent is the RTM "message_changed" event of an edited message.
func MessageChangedEvent(m *Message) []byte {
	inner := m.Wire()
	return mustJSON(struct {
		Type    string      `json:"type"`
		Subtype string      `json:"subtype"`
		Hidden  bool        `json:"hidden"`
		Channel string      `json:"channel"`
		TS      string      `json:"ts"`
		EventTS string      `json:"event_ts"`
		Seq     int64       `json:"seq"`
		Message WireMessage `json:"message"`
	}{"message", "message_changed", true, m.ChannelID, FormatTS(m.EditedTS), FormatTS(m.EditedTS), m.ChangeSeq, inner})
}

// MessageDeletedEvent is the RTM "message_deleted" event of a deleted message.
func MessageDeletedEvent(m *Message) []byte {
	ts := FormatTS(m.TS)
	return mustJSON(struct {
		Type      string `json:"type"`
		Subtype   string `json:"subtype"`
		Hidden    bool   `json:"hidden"`
		Channel   string `json:"channel"`
		TS        string `json:"ts"`
		Seq       int64  `json:"seq"`
		DeletedTS string `json:"deleted_ts"`
	}{"message", "message_deleted", true, m.ChannelID, ts, m.ChangeSeq, ts})
}

// ReactionEvent is the RTM "reaction_added" or "reaction_removed" event.
func ReactionEvent(r *ReactionChange) []byte {
	typ := "reaction_added"
	if r.Removed {
		typ = "reaction_removed"
	}
	ts := FormatTS(r.MessageTS)
	return mustJSON(struct {
		Type     string `json:"type"`
		User     string `json:"user"`
		Reaction string `json:"reaction"`
		Item     Item   `json:"item"`
		EventTS  string `json:"event_ts"`
		Seq      int64  `json:"seq"`
	}{typ, r.UserID, r.Name, Item{"message", r.ChannelID, ts}, ts, r.Seq})
}

// WirePin is Slack's pinned item, as pins.list and the pin events show it.
type WirePin struct {
	Type      string      `json:"type"` // "message"
	Channel   string      `json:"channel"`
	Message   WireMessage `json:"message"`
	Created   int64       `json:"created"`
	CreatedBy string      `json:"created_by"`
}

// Wire returns the Slack pinned item of p, whose Message is set; the
// message carries pinned_to unless unpinned says it was just unpinned.
func (p *Pin) Wire(unpinned bool) WirePin {
	m := p.Message.Wire()
	if !unpinned {
		m.PinnedTo = []string{p.ChannelID}
	}
	return WirePin{Type: "message", Channel: p.ChannelID, Message: m, Created: p.Created, CreatedBy: p.UserID}
}

// PinEvent is "pin_added" (added) or "pin_removed", sent to the channel's
// members: userID pinned or unpinned p (whose Message is set) at eventTS
// (microseconds); hasPins says whether the channel still has pins. It has
// no seq: pins are not in the change feed.
func PinEvent(added bool, p *Pin, userID string, hasPins bool, eventTS int64) []byte {
	typ := "pin_removed"
	if added {
		typ = "pin_added"
	}
	return mustJSON(struct {
		Type     string  `json:"type"`
		User     string  `json:"user"`
		Channel  string  `json:"channel_id"`
		Item     WirePin `json:"item"`
		ItemUser string  `json:"item_user"`
		HasPins  bool    `json:"has_pins"`
		EventTS  string  `json:"event_ts"`
	}{typ, userID, p.ChannelID, p.Wire(!added), p.Message.UserID, hasPins, FormatTS(eventTS)})
}

// EphemeralEvent is the RTM "message" event of an ephemeral message
// (chat.postEphemeral): m as Slack shows it to the one user who sees it,
// with is_ephemeral and without a seq, for it is never stored.
func EphemeralEvent(m *Message) []byte {
	w := m.Wire()
	w.Seq = 0
	return mustJSON(struct {
		WireMessage
		IsEphemeral bool `json:"is_ephemeral"`
	}{w, true})
}

// ChangeEvent is the RTM event that a catch-up rebuilds for one change
// after checkpoint: a new message, its edit, its delete, or a reaction.
func ChangeEvent(c Change, checkpoint int64) []byte {
	switch {
	case c.Reaction != nil:
		return ReactionEvent(c.Reaction)
	case c.Message.Deleted:
		return MessageDeletedEvent(c.Message)
	case c.Message.Seq > checkpoint:
		return MessageEvent(c.Message) // new since the checkpoint, in its current state
	default:
		return MessageChangedEvent(c.Message)
	}
}

// ChannelJoinedEvent goes to the joiner's connections.
func ChannelJoinedEvent(v *ChannelView) []byte {
	return mustJSON(struct {
		Type    string      `json:"type"`
		Channel WireChannel `json:"channel"`
	}{"channel_joined", v.Wire()})
}

// ChannelLeftEvent goes to the leaver's connections.
func ChannelLeftEvent(channelID string) []byte {
	return mustJSON(struct {
		Type    string `json:"type"`
		Channel string `json:"channel"`
	}{"channel_left", channelID})
}

// MemberEvent is "member_joined_channel" (joined) or "member_left_channel",
// sent to the channel's members.
func MemberEvent(joined bool, c *Channel, userID, inviter string) []byte {
	typ := "member_left_channel"
	if joined {
		typ = "member_joined_channel"
	}
	ct := "C"
	switch c.Kind {
	case KindPrivate:
		ct = "G"
	case KindDM:
		ct = "D"
	case KindGroupDM:
		ct = "G"
	}
	return mustJSON(struct {
		Type        string `json:"type"`
		User        string `json:"user"`
		Channel     string `json:"channel"`
		ChannelType string `json:"channel_type"`
		Team        string `json:"team"`
		Inviter     string `json:"inviter,omitempty"`
	}{typ, userID, c.ID, ct, c.WorkspaceID, inviter})
}

// ChannelMarkedEvent goes to every connection of the user who marked, in
// Slack's shape: channel_marked for a public channel, group_marked for a
// private one, im_marked for a DM, mpim_marked for a group DM, with the
// unread and mention counts after the mark (each also as Slack's
// "_display" twin and its older num_mentions names), so that the user's
// other tabs clear their badges without asking.
func ChannelMarkedEvent(c *Channel, ts, unread, mentions int64) []byte {
	typ := "channel_marked"
	switch c.Kind {
	case KindPrivate:
		typ = "group_marked"
	case KindDM:
		typ = "im_marked"
	case KindGroupDM:
		typ = "mpim_marked"
	}
	return mustJSON(struct {
		Type                string `json:"type"`
		Channel             string `json:"channel"`
		TS                  string `json:"ts"`
		UnreadCount         int64  `json:"unread_count"`
		UnreadCountDisplay  int64  `json:"unread_count_display"`
		NumMentions         int64  `json:"num_mentions"`
		NumMentionsDisplay  int64  `json:"num_mentions_display"`
		MentionCount        int64  `json:"mention_count"`
		MentionCountDisplay int64  `json:"mention_count_display"`
	}{typ, c.ID, FormatTS(ts), unread, unread, mentions, mentions, mentions, mentions})
}

// ChannelUpdatedEvent tells members that a channel's topic, purpose or
// archived flag changed ("channel_topic", "channel_purpose", "channel_archive").
func ChannelUpdatedEvent(typ string, c *Channel, userID string) []byte {
	return mustJSON(struct {
		Type    string `json:"type"`
		Channel string `json:"channel"`
		User    string `json:"user"`
		Topic   string `json:"topic,omitempty"`
		Purpose string `json:"purpose,omitempty"`
	}{typ, c.ID, userID, c.Topic.Value, c.Purpose.Value})
}

// TypingEvent is "user_typing"; it is never stored.
func TypingEvent(channelID, userID string) []byte {
	return mustJSON(struct {
		Type    string `json:"type"`
		Channel string `json:"channel"`
		User    string `json:"user"`
	}{"user_typing", channelID, userID})
}

// PresenceEvent is "presence_change" ("active" or "away").
func PresenceEvent(userID, presence string) []byte {
	return mustJSON(struct {
		Type     string `json:"type"`
		User     string `json:"user"`
		Presence string `json:"presence"`
	}{"presence_change", userID, presence})
}

// Frames the gateway sends on its own.
var (
	HelloFrame   = []byte(`{"type":"hello"}`)
	GoodbyeFrame = []byte(`{"type":"goodbye"}`)
)

// Presence values.
const (
	PresenceActive = "active"
	PresenceAway   = "away"
)

// Bus topics. A channel's events go to ChannelTopic; events for one user's
// connections (channel_joined, channel_marked, …) to UserTopic; a user's
// presence changes to PresenceTopic. Every topic starts with its workspace
// id, so a bus that spans pockets can route it (TopicWorkspace) without
// looking anything up.
func ChannelTopic(workspaceID, channelID string) string { return workspaceID + ".c." + channelID }
func UserTopic(workspaceID, userID string) string       { return workspaceID + ".u." + userID }
func PresenceTopic(workspaceID, userID string) string   { return workspaceID + ".p." + userID }

// Topic kinds: the letter between a topic's workspace and its id.
const (
	TopicChannel  = 'c'
	TopicUser     = 'u'
	TopicPresence = 'p'
)

// ParseTopic splits a topic into its workspace, kind and id; ok is false
// for anything that is not "<workspace>.<kind>.<id>".
func ParseTopic(topic string) (workspaceID string, kind byte, id string, ok bool) {
	ws, rest, found := strings.Cut(topic, ".")
	if !found || ws == "" || len(rest) < 3 || rest[1] != '.' {
		return "", 0, "", false
	}
	return ws, rest[0], rest[2:], true
}

// TopicWorkspace returns the workspace id a topic starts with.
func TopicWorkspace(topic string) string {
	ws, _, _ := strings.Cut(topic, ".")
	return ws
}

// Publication ops: what a gateway does with a publication besides writing
// its frame to the topic's local subscribers.
const (
	OpDeliver byte = iota // just deliver
	OpJoin                // on a user topic: the user joined Publication.Channel
	OpLeave               // on a user topic: the user left Publication.Channel
	// OpRevoke, on a user topic: the token Publication.Session was revoked;
	// every gateway closes the user's connections opened under it.
	OpRevoke
	// OpPresenceSub, on a user topic: the user's stream whose id (from its
	// hello) is Publication.Channel now watches the presence of the users
	// whose ids Frame holds (a JSON array): a presence_sub over HTTP, for
	// a stream that carries nothing from its client (Server-Sent Events).
	// Frame is not delivered.
	OpPresenceSub
)

// Publication is what travels on the bus: the frame to write, encoded once
// by the publisher and written as is to every recipient, with what the
// gateway needs to route it.
type Publication struct {
	Op      byte
	Channel string      // for OpJoin and OpLeave; the stream for OpPresenceSub
	Session Fingerprint // for OpRevoke
	Time    int64       // unix nanoseconds at publish, for delivery latency
	Frame   []byte
}

// Marshal encodes p as: op (1 byte), time (8 bytes big endian), channel
// length (1 byte), channel, for OpRevoke the session (8 bytes big endian),
// frame.
func (p *Publication) Marshal() []byte {
	b := make([]byte, 0, 18+len(p.Channel)+len(p.Frame))
	b = append(b, p.Op)
	for i := 7; i >= 0; i-- {
		b = append(b, byte(p.Time>>(8*i)))
	}
	b = append(b, byte(len(p.Channel)))
	b = append(b, p.Channel...)
	if p.Op == OpRevoke {
		for i := 7; i >= 0; i-- {
			b = append(b, byte(p.Session>>(8*i)))
		}
	}
	return append(b, p.Frame...)
}

// UnmarshalPublication decodes what Marshal encoded. Frame aliases b.
func UnmarshalPublication(b []byte) (Publication, error) {
	var p Publication
	if len(b) < 10 {
		return p, Errorf(EINVALID, "publication too short")
	}
	p.Op = b[0]
	for i := 1; i <= 8; i++ {
		p.Time = p.Time<<8 | int64(b[i])
	}
	n := int(b[9])
	if len(b) < 10+n {
		return p, Errorf(EINVALID, "publication channel truncated")
	}
	p.Channel = string(b[10 : 10+n])
	b = b[10+n:]
	if p.Op == OpRevoke {
		if len(b) < 8 {
			return p, Errorf(EINVALID, "publication session truncated")
		}
		for _, c := range b[:8] {
			p.Session = p.Session<<8 | Fingerprint(c)
		}
		b = b[8:]
	}
	p.Frame = b
	return p, nil
}

// ImportFinishedEvent is confab's "import_finished": history was imported
// into the workspace (admin.import.finish) without an event per message,
// so a client reloads what it shows.
func ImportFinishedEvent() []byte {
	return mustJSON(struct {
		Type string `json:"type"`
	}{"import_finished"})
}
