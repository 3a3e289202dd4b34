package chat

import (
	"context"

	"github.com/confab/confab"
)

// MeMessage posts a "/me" message (chat.meMessage): a top-level message
// of the caller's with subtype me_message, stored with it, so that it
// keeps it in every answer, page, event and catch-up. It is posted as
// PostMessage posts: channel is resolved the same way (an id, a user's id
// for their DM, or a channel's name), the caller must be allowed to post
// there, and text is required ("no_text") and checked as any text. Its
// mentions are recorded like any message's.
func (s *Service) MeMessage(ctx context.Context, u *confab.User, channel, text string) (*confab.Message, error) {
	if err := confab.ValidateText(text); err != nil {
		return nil, err
	}
	id, err := s.postTarget(ctx, u, channel)
	if err != nil {
		return nil, err
	}
	c, err := s.authorize(ctx, u, id, actionPost)
	if err != nil {
		return nil, err
	}
	m := &confab.Message{ChannelID: c.ID, UserID: u.ID, Text: text, TS: s.now().UnixMicro(),
		Subtype: confab.SubtypeMeMessage}
	if m.Here, err = s.reachHere(ctx, c, text, ""); err != nil {
		return nil, err
	}
	err = s.writeContent(c, func() (int64, []byte, error) {
		if _, err := s.store.CreateMessage(ctx, m); err != nil {
			return m.Seq, nil, err
		}
		return m.Seq, confab.MessageEvent(m), nil
	})
	if err != nil {
		return nil, err
	}
	s.metrics.posted.Inc()
	return m, nil
}
