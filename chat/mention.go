package chat

import (
	"context"

	"github.com/confab/confab"
)

// countMentions sets the Mentions of each of the caller's views to what
// Store.CountMentions counts: in a DM or group DM every unread message,
// since it is addressed to the reader (as Slack counts them), worked out
// here from the view's counts without a read; elsewhere the mentions
// recorded after the read marker, only those by name in a muted channel,
// one read for all the views. A view of a conversation the caller is not
// in has none.
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

// reachHere returns whom a <!here> in text or blocks reaches in channel c
// as it is written (Message.Here): the members who are active now, as
// Slack's @here. Nil when there is no <!here>, when a wider mention
// reaches every member anyway, or in a DM or group DM, whose every
// message counts already. It reads the channel's members and their
// presence, each once, only for such a message. A presence that fails
// costs the <!here> its reach, not the message: it is logged.
func (s *Service) reachHere(ctx context.Context, c *grant, text, blocks string) ([]string, error) {
	if _, b := confab.Mentions(text, blocks); b != confab.MentionHere || c.Kind == confab.KindDM || c.Kind == confab.KindGroupDM {
		return nil, nil
	}
	members, err := s.store.FindMembers(ctx, confab.MemberFilter{ChannelID: c.ID})
	if err != nil {
		return nil, err
	}
	active, err := s.presence.Active(ctx, c.WorkspaceID, members)
	if err != nil {
		s.log.Warn("presence of a channel's members failed: <!here> reaches no one", "channel", c.ID, "err", err)
		return nil, nil
	}
	return active, nil
}
