package api

import (
	"github.com/confab/confab"
	"github.com/confab/confab/chat"
)

// pinsListAnswer is pins.list's answer, Slack's: the pinned items, the
// latest pinned first, each with its message.
type pinsListAnswer struct {
	OK    bool             `json:"ok"`
	Items []confab.WirePin `json:"items"`
}

// pinArgs reads pins.add/remove's arguments: channel and timestamp (a
// missing timestamp is the service's no_item_specified, as in Slack).
func pinArgs(a *args) (ch, ts string) {
	return a.need("channel"), a.str("timestamp")
}

func (s *Server) pinsAdd(c *call) (any, error) {
	ch, ts := pinArgs(c.args)
	if err := c.args.Err(); err != nil {
		return nil, err
	}
	if err := s.chat.AddPin(c.r.Context(), c.user, ch, ts); err != nil {
		return nil, err
	}
	return okOnly, nil
}

func (s *Server) pinsRemove(c *call) (any, error) {
	ch, ts := pinArgs(c.args)
	if err := c.args.Err(); err != nil {
		return nil, err
	}
	if err := s.chat.RemovePin(c.r.Context(), c.user, ch, ts); err != nil {
		return nil, err
	}
	return okOnly, nil
}

func (s *Server) pinsList(c *call) (any, error) {
	ch := c.args.need("channel")
	if err := c.args.Err(); err != nil {
		return nil, err
	}
	pins, err := s.chat.ListPins(c.r.Context(), c.user, ch)
	if err != nil {
		return nil, err
	}
	items := make([]confab.WirePin, 0, len(pins))
	for _, p := range pins {
		if p != nil && p.Message != nil {
			items = append(items, p.Wire(false))
		}
	}
	return pinsListAnswer{OK: true, Items: items}, nil
}

// ephemeralAnswer is chat.postEphemeral's answer, Slack's: the ts the
// message was shown under, and nothing else (it is not stored).
type ephemeralAnswer struct {
	OK        bool   `json:"ok"`
	MessageTS string `json:"message_ts"`
}

// chatPostEphemeral shows a message to one member of a channel:
// chat.postMessage's arguments (but client_msg_id and reply_broadcast)
// and user.
func (s *Server) chatPostEphemeral(c *call) (any, error) {
	a := c.args
	p := chat.EphemeralParams{Channel: a.need("channel"), User: a.need("user"), Text: a.str("text"), ThreadTS: a.str("thread_ts"),
		App: confab.AppFields{
			Blocks: a.str("blocks"), Attachments: a.str("attachments"),
			Username: a.str("username"), IconEmoji: a.str("icon_emoji"), IconURL: a.str("icon_url"),
		},
	}
	ignoredMessageArgs(a)
	if err := a.Err(); err != nil {
		return nil, err
	}
	m, err := s.chat.PostEphemeral(c.r.Context(), c.user, p)
	if err == nil && m == nil {
		err = errMissing
	}
	if err != nil {
		return nil, err
	}
	return ephemeralAnswer{OK: true, MessageTS: confab.FormatTS(m.TS)}, nil
}
