package api

import (
	"encoding/json"

	"github.com/confab/confab"
	"github.com/confab/confab/chat"
)

// scheduleAnswer is chat.scheduleMessage's answer, Slack's: the channel,
// the scheduled message's id and time, and the message as it will be
// posted.
type scheduleAnswer struct {
	OK                 bool           `json:"ok"`
	Channel            string         `json:"channel"`
	ScheduledMessageID string         `json:"scheduled_message_id"`
	PostAt             int64          `json:"post_at"`
	Message            delayedMessage `json:"message"`
}

// delayedMessage is Slack's message object of a message not posted yet:
// type "delayed_message", no ts.
type delayedMessage struct {
	Type        string                 `json:"type"`
	Subtype     string                 `json:"subtype,omitempty"`
	Text        string                 `json:"text"`
	User        string                 `json:"user"`
	Team        string                 `json:"team"`
	ThreadTS    string                 `json:"thread_ts,omitempty"`
	Blocks      json.RawMessage        `json:"blocks,omitempty"`
	Attachments json.RawMessage        `json:"attachments,omitempty"`
	Metadata    json.RawMessage        `json:"metadata,omitempty"`
	Username    string                 `json:"username,omitempty"`
	Icons       *confab.WireIcons      `json:"icons,omitempty"`
	BotID       string                 `json:"bot_id,omitempty"`
	BotProfile  *confab.WireBotProfile `json:"bot_profile,omitempty"`
}

// scheduledItem is one entry of chat.scheduledMessages.list, Slack's.
type scheduledItem struct {
	ID          string `json:"id"`
	ChannelID   string `json:"channel_id"`
	PostAt      int64  `json:"post_at"`
	DateCreated int64  `json:"date_created"`
	Text        string `json:"text"`
}

type scheduledListAnswer struct {
	OK                bool             `json:"ok"`
	ScheduledMessages []scheduledItem  `json:"scheduled_messages"`
	ResponseMetadata  responseMetadata `json:"response_metadata"`
}

// chatScheduleMessage schedules a message: chat.postMessage's arguments
// and post_at (unix seconds).
func (s *Server) chatScheduleMessage(c *call) (any, error) {
	a := c.args
	p := chat.ScheduleParams{PostParams: postParams(a), PostAt: a.need("post_at")}
	if err := a.Err(); err != nil {
		return nil, err
	}
	sm, m, err := s.chat.ScheduleMessage(c.r.Context(), c.user, p)
	if err == nil && (sm == nil || m == nil) {
		err = errMissing
	}
	if err != nil {
		return nil, err
	}
	w := m.Wire()
	return scheduleAnswer{OK: true, Channel: sm.ChannelID, ScheduledMessageID: sm.ID, PostAt: sm.PostAt,
		Message: delayedMessage{Type: "delayed_message", Subtype: w.Subtype, Text: w.Text, User: w.User, Team: c.user.WorkspaceID,
			ThreadTS: w.ThreadTS, Blocks: w.Blocks, Attachments: w.Attachments, Metadata: w.Metadata,
			Username: w.Username, Icons: w.Icons, BotID: w.BotID, BotProfile: w.BotProfile}}, nil
}

// chatScheduledMessagesList lists the caller's own scheduled messages:
// channel (optional), oldest and latest (unix seconds, bounds on
// post_at), limit and cursor.
func (s *Server) chatScheduledMessagesList(c *call) (any, error) {
	a := c.args
	p := chat.ScheduledListParams{Channel: a.str("channel"), Oldest: a.str("oldest"), Latest: a.str("latest"),
		Cursor: a.str("cursor"), Limit: a.limit("limit", defaultPage, maxPage)}
	_ = a.str("team_id")
	if err := a.Err(); err != nil {
		return nil, err
	}
	ms, next, err := s.chat.ScheduledMessages(c.r.Context(), c.user, p)
	if err != nil {
		return nil, err
	}
	out := scheduledListAnswer{OK: true, ScheduledMessages: make([]scheduledItem, 0, len(ms)),
		ResponseMetadata: responseMetadata{NextCursor: next}}
	for _, m := range ms {
		out.ScheduledMessages = append(out.ScheduledMessages, scheduledItem{ID: m.ID, ChannelID: m.ChannelID,
			PostAt: m.PostAt, DateCreated: m.Created, Text: m.Text})
	}
	return out, nil
}

// chatDeleteScheduledMessage deletes one of the caller's scheduled
// messages before it is posted.
func (s *Server) chatDeleteScheduledMessage(c *call) (any, error) {
	a := c.args
	channel, id := a.need("channel"), a.need("scheduled_message_id")
	a.optBool("as_user")
	if err := a.Err(); err != nil {
		return nil, err
	}
	if err := s.chat.DeleteScheduledMessage(c.r.Context(), c.user, channel, id); err != nil {
		return nil, err
	}
	return okOnly, nil
}
