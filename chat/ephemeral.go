package chat

import (
	"context"

	"github.com/confab/confab"
)

var errUserNotInChannel = &confab.Error{Code: confab.EINVALID, Message: "user_not_in_channel"}

// EphemeralParams are chat.postEphemeral's arguments: chat.postMessage's
// but client_msg_id and reply_broadcast, and the one user who sees it.
type EphemeralParams struct {
	Channel  string // as PostParams.Channel
	User     string // who sees it: a member of the channel
	Text     string
	ThreadTS string
	App      confab.AppFields
}

// PostEphemeral shows a message to one member of a channel, live, on
// each of that member's connections: it is never stored, so it is in no
// history, no catch-up and no other member's stream, and a member who is
// not connected never sees it (as in Slack, delivery is not guaranteed).
// The caller must be allowed to post in the channel; the user must be in
// it (user_not_in_channel). What it checks of the message is what
// PostMessage checks. It returns the message, with the ts it was shown
// under.
func (s *Service) PostEphemeral(ctx context.Context, u *confab.User, p EphemeralParams) (*confab.Message, error) {
	app, err := confab.ValidateAppFields(p.App)
	if err != nil {
		return nil, err
	}
	if err := validateContent(p.Text, app); err != nil {
		return nil, err
	}
	channel, err := s.postTarget(ctx, u, p.Channel)
	if err != nil {
		return nil, err
	}
	c, err := s.authorize(ctx, u, channel, actionPost)
	if err != nil {
		return nil, err
	}
	target, err := s.store.FindUserByID(ctx, p.User)
	if confab.ErrorCode(err) == confab.ENOTFOUND || (err == nil && (target.Deleted || target.WorkspaceID != u.WorkspaceID)) {
		return nil, confab.ErrUserNotFound
	} else if err != nil {
		return nil, err
	}
	member, err := s.isMember(ctx, c.ID, target.ID, s.now().UnixNano())
	if err != nil {
		return nil, err
	}
	if !member {
		return nil, errUserNotInChannel
	}
	m := &confab.Message{
		ChannelID: c.ID, UserID: u.ID, Text: p.Text, TS: s.now().UnixMicro(),
		Blocks: app.Blocks, Attachments: app.Attachments, Metadata: app.Metadata,
		Username: app.Username, IconEmoji: app.IconEmoji, IconURL: app.IconURL,
	}
	if p.ThreadTS != "" {
		if m.ThreadTS, err = s.threadParent(ctx, c.ID, p.ThreadTS); err != nil {
			return nil, err
		}
	}
	if u.IsBot {
		if m.Bot, err = s.botOfUser(ctx, u.ID); err != nil {
			return nil, err
		}
	}
	s.deliver(confab.UserTopic(c.WorkspaceID, target.ID), confab.EphemeralEvent(m))
	return m, nil
}
