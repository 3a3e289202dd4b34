package chat

import (
	"context"

	"github.com/confab/confab"
)

// countMentions sets the Mentions of each of the caller's views: in a DM
// or group DM every unread message counts, since it is addressed to the
// reader (as Slack counts them); elsewhere the mentions recorded after
// the read marker (Store.CountMentions, one read for all the views). A
// view of a conversation the caller is not in has none.
func (s *Service) countMentions(ctx context.Context, u *confab.User, views []*confab.ChannelView) error {
	var ids []string
	for _, v := range views {
		switch {
		case v.Member == nil:
		case v.Channel.IsDirect():
			n := max(v.Channel.MessageCount-v.Member.LastReadCount, 0)
			v.Mentions = &n
		default:
			ids = append(ids, v.Channel.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	counts, err := s.store.CountMentions(ctx, u.ID, ids)
	if err != nil {
		return err
	}
	for _, v := range views {
		if v.Member != nil && !v.Channel.IsDirect() {
			n := int64(counts[v.Channel.ID])
			v.Mentions = &n
		}
	}
	return nil
}
