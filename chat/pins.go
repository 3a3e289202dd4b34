package chat

import (
	"context"

	"github.com/confab/confab"
)

var (
	errNoItem       = &confab.Error{Code: confab.EINVALID, Message: "no_item_specified"}
	errBadTimestamp = &confab.Error{Code: confab.EINVALID, Message: "bad_timestamp"}
)

// pinTarget authorizes act on channel for u and parses the pinned
// message's ts: none is no_item_specified, a malformed one bad_timestamp,
// as in Slack.
func (s *Service) pinTarget(ctx context.Context, u *confab.User, channel, ts string, act action) (*grant, int64, error) {
	if ts == "" {
		return nil, 0, errNoItem
	}
	tsv, err := confab.ParseTS(ts)
	if err != nil {
		return nil, 0, errBadTimestamp
	}
	c, err := s.authorize(ctx, u, channel, act)
	if err != nil {
		return nil, 0, err
	}
	return c, tsv, nil
}

// AddPin pins a message of the channel, by the caller: only a member may,
// and not in an archived channel. The channel's members are told
// (pin_added). Pinning takes no seq and is not in the change feed:
// history, replies and pins.list show the pins as they are.
func (s *Service) AddPin(ctx context.Context, u *confab.User, channel, ts string) error {
	c, tsv, err := s.pinTarget(ctx, u, channel, ts, actionPin)
	if err != nil {
		return err
	}
	now := s.now()
	p := &confab.Pin{ChannelID: c.ID, MessageTS: tsv, UserID: u.ID, Created: now.Unix()}
	if err := s.store.AddPin(ctx, p); err != nil {
		return err
	}
	s.announcePin(ctx, c, p, u, true, true, now.UnixMicro())
	return nil
}

// RemovePin unpins a message: no_pin when it is not pinned. The channel's
// members are told (pin_removed).
func (s *Service) RemovePin(ctx context.Context, u *confab.User, channel, ts string) error {
	c, tsv, err := s.pinTarget(ctx, u, channel, ts, actionPin)
	if err != nil {
		return err
	}
	if err := s.store.RemovePin(ctx, c.ID, tsv); err != nil {
		return err
	}
	now := s.now()
	ch, err := s.store.FindChannelByID(ctx, c.ID)
	if err != nil {
		s.log.Warn("pin_removed not sent", "channel", c.ID, "err", err)
		return nil // unpinned all the same
	}
	p := &confab.Pin{ChannelID: c.ID, MessageTS: tsv, UserID: u.ID, Created: now.Unix()}
	s.announcePin(ctx, c, p, u, false, ch.PinCount > 0, now.UnixMicro())
	return nil
}

// announcePin publishes pin_added or pin_removed with the message as it
// is now. The pin is saved whatever happens here: a member who misses the
// event sees the pins in the next read.
func (s *Service) announcePin(ctx context.Context, c *grant, p *confab.Pin, u *confab.User, added, hasPins bool, eventTS int64) {
	m, err := s.store.FindMessage(ctx, c.ID, p.MessageTS)
	if err == nil {
		var msgs []*confab.Message
		msgs, err = s.withBots(ctx, []*confab.Message{m})
		if err == nil {
			m = msgs[0]
		}
	}
	if err != nil {
		s.log.Warn("pin event not sent", "channel", c.ID, "err", err)
		return
	}
	p.Message = m
	s.deliver(confab.ChannelTopic(c.WorkspaceID, c.ID), confab.PinEvent(added, p, u.ID, hasPins, eventTS))
}

// ListPins lists the channel's pins, the latest pinned first, each with
// its message: for members only, archived channels included.
func (s *Service) ListPins(ctx context.Context, u *confab.User, channel string) ([]*confab.Pin, error) {
	c, err := s.authorize(ctx, u, channel, actionListPins)
	if err != nil {
		return nil, err
	}
	pins, err := s.store.FindPins(ctx, c.ID, true)
	if err != nil {
		return nil, err
	}
	msgs := make([]*confab.Message, len(pins))
	for i, p := range pins {
		msgs[i] = p.Message
	}
	if msgs, err = s.withBots(ctx, msgs); err != nil {
		return nil, err
	}
	for i, p := range pins {
		p.Message = msgs[i]
	}
	return pins, nil
}
