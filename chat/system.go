package chat

import (
	"context"

	"github.com/confab/confab"
)

// postSystem posts, in channel c, the system message of userID's change
// (confab.SystemMessage: a join, a leave, a new topic or purpose), as
// Slack keeps them in a channel's history: stored first, then delivered
// as a message event with its seq like any message, so that catch-up,
// unread counts and history see it once. A DM or group DM gets none, nor
// does an archived channel (leaving one): its history is closed.
//
// It is posted right after the change commits, not in its transaction:
// the change is what counts (membership, topic), and the line only tells
// of it. If posting fails the change stands and the failure is logged,
// not returned: the caller's retry would find the change made and post
// nothing. A canceled request does not stop it.
func (s *Service) postSystem(ctx context.Context, c *confab.Channel, userID, subtype, inviter, value string) {
	if c.IsDirect() || c.Archived {
		return
	}
	ctx = context.WithoutCancel(ctx)
	m := confab.SystemMessage(c.ID, userID, subtype, inviter, value)
	m.TS = s.now().UnixMicro()
	bot, err := s.botOfUser(ctx, userID) // a bot's join shows its bot
	if err != nil {
		s.log.Error("system message not posted", "channel", c.ID, "user", userID, "subtype", subtype, "err", err)
		return
	}
	g := &grant{ID: c.ID, WorkspaceID: c.WorkspaceID, Kind: c.Kind, Archived: c.Archived}
	err = s.writeContent(g, func() (int64, []byte, error) {
		if _, err := s.store.CreateMessage(ctx, m); err != nil {
			return 0, nil, err
		}
		m.Bot = bot
		return m.Seq, confab.MessageEvent(m), nil
	})
	if err != nil {
		s.log.Error("system message not posted", "channel", c.ID, "user", userID, "subtype", subtype, "err", err)
	}
}

// joinedGeneral posts the join of a user who just signed up into their
// workspace's general channel, which the store made them a member of
// (confab.Store.CreateUser): every sign-up is a line in #general, as in
// Slack.
func (s *Service) joinedGeneral(ctx context.Context, u *confab.User) {
	ms, err := s.store.FindMemberships(ctx, u.ID)
	if err != nil {
		s.log.Error("system message not posted", "user", u.ID, "subtype", confab.SubtypeChannelJoin, "err", err)
		return
	}
	for _, m := range ms {
		c, err := s.store.FindChannelByID(ctx, m.ChannelID)
		if err != nil {
			s.log.Error("system message not posted", "channel", m.ChannelID, "user", u.ID, "err", err)
			continue
		}
		if c.IsGeneral {
			s.postSystem(ctx, c, u.ID, confab.SubtypeChannelJoin, "", "")
		}
	}
}
