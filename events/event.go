package events

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"slices"

	"github.com/confab/confab"
)

// Subscriptions: the bot_events of a manifest that the change log feeds.
const (
	subChannels  = "message.channels"
	subGroups    = "message.groups"
	subIM        = "message.im"
	subMPIM      = "message.mpim"
	subMention   = "app_mention"
	subReactAdd  = "reaction_added"
	subReactDrop = "reaction_removed"
)

// event is one event for one app, built from one change of a channel: its
// event_id and its event_callback body.
type event struct {
	channel string
	seq     int64 // the change's seq: the app's position moves past it once acknowledged
	id      string
	body    []byte
}

// EventID is the event_id of an event: stable for the change and kind it
// comes from, so that an app tells a redelivery (same id) from a new
// event. A new message's events are named by the message's own seq, not
// by the seq of its latest change: one edited before it was delivered is
// still the same event.
func EventID(channelID string, seq int64, kind string) string {
	h := sha256.New()
	h.Write([]byte(channelID))
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(seq))
	h.Write(b[:])
	h.Write([]byte(kind))
	sum := h.Sum(nil)
	return "Ev" + base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:10])
}

// channelType is Slack's channel_type of a conversation kind.
func channelType(kind string) string {
	switch kind {
	case confab.KindPrivate:
		return "group"
	case confab.KindDM:
		return "im"
	case confab.KindGroupDM:
		return "mpim"
	}
	return "channel"
}

// messageSub is the subscription that carries a kind's message events.
func messageSub(kind string) string {
	switch kind {
	case confab.KindPrivate:
		return subGroups
	case confab.KindDM:
		return subIM
	case confab.KindGroupDM:
		return subMPIM
	}
	return subChannels
}

// target is what building an app's events needs to know of the app.
type target struct {
	app     *confab.App
	bot     *confab.Bot
	subs    map[string]bool // the manifest's bot_events
	scopes  []string        // the manifest's bot scopes
	authzs  []byte          // the authorizations list, encoded once
	teamRaw string
	// Where the events go: Socket Mode, or else the request URL.
	socketMode bool
	requestURL string
}

func newTarget(app *confab.App, bot *confab.Bot, m *confab.Manifest) *target {
	t := &target{app: app, bot: bot, subs: map[string]bool{}, teamRaw: app.WorkspaceID,
		socketMode: m.SocketMode, requestURL: m.RequestURL, scopes: m.BotScopes}
	for _, e := range m.BotEvents {
		t.subs[e] = true
	}
	t.authzs, _ = json.Marshal([]authorization{{TeamID: app.WorkspaceID, UserID: bot.UserID, IsBot: true}})
	return t
}

// authorization is one entry of an event's authorizations: the
// installation the event is delivered for (the app's bot, in its
// workspace).
type authorization struct {
	EnterpriseID        *string `json:"enterprise_id"`
	TeamID              string  `json:"team_id"`
	UserID              string  `json:"user_id"`
	IsBot               bool    `json:"is_bot"`
	IsEnterpriseInstall bool    `json:"is_enterprise_install"`
}

// callback is Slack's event_callback envelope.
type callback struct {
	Token              string          `json:"token"`
	TeamID             string          `json:"team_id"`
	APIAppID           string          `json:"api_app_id"`
	Event              json.RawMessage `json:"event"`
	Type               string          `json:"type"`
	EventID            string          `json:"event_id"`
	EventTime          int64           `json:"event_time"`
	Authorizations     json.RawMessage `json:"authorizations"`
	IsExtSharedChannel bool            `json:"is_ext_shared_channel"`
	EventContext       string          `json:"event_context"`
}

// wrap returns the event_callback of one event.
func (t *target) wrap(channel string, seq int64, id string, ts int64, ev any) event {
	raw, err := json.Marshal(ev)
	if err != nil {
		panic("events: encoding event: " + err.Error()) // plain structs only
	}
	body, err := json.Marshal(callback{
		Token: t.app.VerificationToken, TeamID: t.app.WorkspaceID, APIAppID: t.app.ID,
		Event: raw, Type: "event_callback", EventID: id, EventTime: ts / 1e6,
		Authorizations: t.authzs, EventContext: "4-" + channel,
	})
	if err != nil {
		panic("events: encoding callback: " + err.Error())
	}
	return event{channel: channel, seq: seq, id: id, body: body}
}

// messageEvent is a message event as the Events API sends it.
type messageEvent struct {
	confab.WireMessage
	Team        string `json:"team"`
	EventTS     string `json:"event_ts"`
	ChannelType string `json:"channel_type"`
}

type changedEvent struct {
	Type        string             `json:"type"`
	Subtype     string             `json:"subtype"`
	Hidden      bool               `json:"hidden"`
	Channel     string             `json:"channel"`
	TS          string             `json:"ts"`
	EventTS     string             `json:"event_ts"`
	ChannelType string             `json:"channel_type"`
	Message     confab.WireMessage `json:"message"`
}

type deletedEvent struct {
	Type        string `json:"type"`
	Subtype     string `json:"subtype"`
	Hidden      bool   `json:"hidden"`
	Channel     string `json:"channel"`
	TS          string `json:"ts"`
	DeletedTS   string `json:"deleted_ts"`
	EventTS     string `json:"event_ts"`
	ChannelType string `json:"channel_type"`
}

type mentionEvent struct {
	Type        string          `json:"type"`
	User        string          `json:"user,omitempty"`
	Text        string          `json:"text"`
	TS          string          `json:"ts"`
	ThreadTS    string          `json:"thread_ts,omitempty"`
	Channel     string          `json:"channel"`
	EventTS     string          `json:"event_ts"`
	Team        string          `json:"team"`
	ClientMsgID string          `json:"client_msg_id,omitempty"`
	Blocks      json.RawMessage `json:"blocks,omitempty"`
	BotID       string          `json:"bot_id,omitempty"`
}

type reactionEvent struct {
	Type     string      `json:"type"`
	User     string      `json:"user"`
	Reaction string      `json:"reaction"`
	Item     confab.Item `json:"item"`
	EventTS  string      `json:"event_ts"`
}

// build returns the app's events of one change of a channel of kind kind
// (none when the app subscribes to none of them), in the order Slack
// sends them: the message, then its app_mention. after is the app's
// position before the change: a message with a seq after it is new to the
// app, in its current state; one before it was edited or deleted.
func (t *target) build(kind string, c confab.Change, after int64) []event {
	if r := c.Reaction; r != nil {
		typ := subReactAdd
		if r.Removed {
			typ = subReactDrop
		}
		if !t.subs[typ] {
			return nil
		}
		ts := confab.FormatTS(r.MessageTS)
		return []event{t.wrap(r.ChannelID, c.Seq, EventID(r.ChannelID, c.Seq, typ), r.MessageTS, reactionEvent{
			Type: typ, User: r.UserID, Reaction: r.Name, Item: confab.Item{Type: "message", Channel: r.ChannelID, TS: ts}, EventTS: ts,
		})}
	}
	m := c.Message
	w := m.Wire()
	w.Seq = 0
	w.Reactions = nil
	if m.Bot != nil && m.Username != "" && w.Subtype == "" {
		w.Subtype = "bot_message" // a bot speaking under a name of its choosing
	}
	if !m.Deleted && m.Seq > after {
		return t.buildNew(kind, w, m.Seq, c.Seq, m.TS)
	}
	var out []event
	sub := t.subs[messageSub(kind)]
	switch {
	case m.Deleted:
		if sub {
			ts := confab.FormatTS(m.TS)
			out = append(out, t.wrap(m.ChannelID, c.Seq, EventID(m.ChannelID, c.Seq, "message_deleted"), m.TS, deletedEvent{
				Type: "message", Subtype: "message_deleted", Hidden: true, Channel: m.ChannelID, TS: ts,
				DeletedTS: ts, EventTS: ts, ChannelType: channelType(kind),
			}))
		}
	default:
		if sub {
			ts := confab.FormatTS(m.EditedTS)
			out = append(out, t.wrap(m.ChannelID, c.Seq, EventID(m.ChannelID, c.Seq, "message_changed"), m.EditedTS, changedEvent{
				Type: "message", Subtype: "message_changed", Hidden: true, Channel: m.ChannelID, TS: ts,
				EventTS: ts, ChannelType: channelType(kind), Message: w,
			}))
		}
	}
	return out
}

// buildNew returns the events of a new message, as the Events API shows
// it (w: its wire form, without seq and reactions; seq its own seq, at the
// change at seq change, ts its ts): its message event, then its
// app_mention if it mentions the bot by name (<@U…>; a channel-wide
// mention is no app_mention, as in Slack; the bot's own messages and
// system messages, a topic naming the bot, are not).
func (t *target) buildNew(kind string, w confab.WireMessage, seq, change, ts int64) []event {
	var out []event
	ets := confab.FormatTS(ts)
	if t.subs[messageSub(kind)] {
		out = append(out, t.wrap(w.Channel, change, EventID(w.Channel, seq, "message"), ts, messageEvent{
			WireMessage: w, Team: t.teamRaw, EventTS: ets, ChannelType: channelType(kind),
		}))
	}
	if t.subs[subMention] && w.User != t.bot.UserID && !confab.IsSystemSubtype(w.Subtype) {
		if users, _ := confab.Mentions(w.Text, string(w.Blocks)); slices.Contains(users, t.bot.UserID) {
			out = append(out, t.wrap(w.Channel, change, EventID(w.Channel, seq, subMention), ts, mentionEvent{
				Type: subMention, User: w.User, Text: w.Text, TS: ets, ThreadTS: w.ThreadTS, Channel: w.Channel,
				EventTS: ets, Team: t.teamRaw, ClientMsgID: w.ClientMsgID, Blocks: w.Blocks, BotID: w.BotID,
			}))
		}
	}
	return out
}

// buildFrame returns the events of a channel's change from the frame its
// publication carried (w, decoded), when that frame is a new message (a
// post's live event, whose seq is its own): ok is false for anything else
// (an edit, a delete, a reaction), which is read from the store instead.
func (t *target) buildFrame(kind string, w confab.WireMessage) (evs []event, ok bool) {
	if w.Type != "message" || w.Edited != nil || w.Subtype == "message_changed" || w.Subtype == "message_deleted" ||
		w.Channel == "" || len(w.Reactions) > 0 {
		return nil, false
	}
	ts, err := confab.ParseTS(w.TS)
	if err != nil {
		return nil, false
	}
	seq := w.Seq
	w.Seq = 0
	if w.BotID != "" && w.Username != "" && w.Subtype == "" {
		w.Subtype = "bot_message"
	}
	return t.buildNew(kind, w, seq, seq, ts), true
}
