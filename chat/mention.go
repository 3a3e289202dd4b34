package chat

import (
	"context"

	"github.com/confab/confab"
)

// countMentions sets each view's Mentions: the caller's mentions after
// their read marker, 0 for none, in one store read for all the views.
func (s *Service) countMentions(ctx context.Context, u *confab.User, views []*confab.ChannelView) error {
	if len(views) == 0 {
		return nil
	}
	ids := make([]string, len(views))
	for i, v := range views {
		ids[i] = v.Channel.ID
	}
	counts, err := s.store.CountMentions(ctx, u.ID, ids)
	if err != nil {
		return err
	}
	for _, v := range views {
		n := int64(counts[v.Channel.ID])
		v.Mentions = &n
	}
	return nil
}
