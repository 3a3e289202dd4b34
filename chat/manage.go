package chat

import (
	"context"

	"github.com/confab/confab"
)

// The methods bots call most that are not posting or reading: a
// workspace's info, a user's conversations, and the managing of a channel
// (rename, unarchive, kick, close). Each that takes a channel asks
// authorize (access.go) first.

var (
	errNotAuthorized = &confab.Error{Code: confab.EFORBIDDEN, Message: "not_authorized"}
	errRestricted    = &confab.Error{Code: confab.EFORBIDDEN, Message: "restricted_action"}
	errNotArchived   = &confab.Error{Code: confab.ECONFLICT, Message: "not_archived"}
	errCantKickSelf  = &confab.Error{Code: confab.EINVALID, Message: "cant_kick_self"}
)

// UserChannelsParams are users.conversations's arguments.
type UserChannelsParams struct {
	User            string   // "": the caller
	Types           []string // confab kinds; empty: public channels
	ExcludeArchived bool
	Cursor          string
	Limit           int
}

// TeamInfo returns the caller's workspace. team, when given, must be its
// id: another workspace is team_not_found, as one that does not exist.
func (s *Service) TeamInfo(ctx context.Context, u *confab.User, team string) (*confab.Workspace, error) {
	if team != "" && team != u.WorkspaceID {
		return nil, confab.ErrTeamNotFound
	}
	return s.workspace(ctx, u.WorkspaceID)
}

// ListUserChannels pages the conversations p.User (the caller when "") is
// a member of, by id, as the caller may see them: another user's private
// channels, DMs and group DMs are listed only when the caller is in them
// too, so a page may hold fewer than Limit.
func (s *Service) ListUserChannels(ctx context.Context, u *confab.User, p UserChannelsParams) ([]*confab.ChannelView, string, error) {
	after, err := confab.DecodeCursor("uc", p.Cursor)
	if err != nil {
		return nil, "", err
	}
	kinds := p.Types
	if len(kinds) == 0 {
		kinds = []string{confab.KindPublic}
	}
	for _, k := range kinds {
		if !confab.IsConversationKind(k) {
			return nil, "", errInvalidTypes
		}
	}
	userID := u.ID
	if p.User != "" && p.User != u.ID {
		other, err := s.workspaceUser(ctx, u, p.User)
		if err != nil {
			return nil, "", err
		}
		userID = other.ID
	}
	limit := clampLimit(p.Limit, 100, 1000)
	mine, err := s.memberships(ctx, u.ID)
	if err != nil {
		return nil, "", err
	}
	cs, err := s.store.FindChannels(ctx, confab.ChannelFilter{
		WorkspaceID: u.WorkspaceID, MemberID: userID, Kinds: kinds,
		ExcludeArchived: p.ExcludeArchived, AfterID: after, Limit: limit + 1,
	})
	if err != nil {
		return nil, "", err
	}
	cs, next := cut(cs, limit, func(c *confab.Channel) string { return confab.EncodeCursor("uc", c.ID) })
	views := make([]*confab.ChannelView, 0, len(cs))
	for _, c := range cs {
		m := mine[c.ID]
		if c.Kind != confab.KindPublic && m == nil {
			continue // another's conversation the caller may not see
		}
		v, err := s.view(ctx, u, c, m)
		if err != nil {
			return nil, "", err
		}
		views = append(views, v)
	}
	return views, next, nil
}

// RenameChannel renames a public or private channel, under the rules of
// conversations.create; only its creator or the workspace's owner may.
// Members get channel_rename (group_rename for a private channel).
func (s *Service) RenameChannel(ctx context.Context, u *confab.User, channel, name string) (*confab.ChannelView, error) {
	if !confab.ValidChannelName(name) {
		return nil, errInvalidName
	}
	c, m, err := s.authorizeChannel(ctx, u, channel, actionRename)
	if err != nil {
		return nil, err
	}
	if c, err = s.store.UpdateChannel(ctx, c.ID, confab.ChannelUpdate{Name: &name}); err != nil {
		return nil, err
	}
	s.deliver(confab.ChannelTopic(c.WorkspaceID, c.ID), confab.ChannelRenameEvent(c))
	return s.view(ctx, u, c, m)
}

// UnarchiveChannel takes a channel out of the archive: it takes messages
// again. Any member may; one that is not archived is not_archived.
func (s *Service) UnarchiveChannel(ctx context.Context, u *confab.User, channel string) error {
	g, err := s.authorize(ctx, u, channel, actionUnarchive)
	if err != nil {
		return err
	}
	if !g.Archived {
		return errNotArchived
	}
	archived := false
	c, err := s.store.UpdateChannel(ctx, g.ID, confab.ChannelUpdate{Archived: &archived})
	if err != nil {
		return err
	}
	s.deliver(confab.ChannelTopic(c.WorkspaceID, c.ID), confab.ChannelUpdatedEvent("channel_unarchive", c, u.ID))
	return nil
}

// KickFromChannel removes userID from a channel, as if they had left it:
// their connections stop receiving the channel and get channel_left, the
// members get member_left_channel. Only the channel's creator or the
// workspace's owner may (restricted_action).
func (s *Service) KickFromChannel(ctx context.Context, u *confab.User, channel, userID string) error {
	g, err := s.authorize(ctx, u, channel, actionKick)
	if err != nil {
		return err
	}
	target, err := s.workspaceUser(ctx, u, userID)
	if err != nil {
		return err
	}
	if target.ID == u.ID {
		return errCantKickSelf
	}
	c, err := s.store.FindChannelByID(ctx, g.ID)
	if err != nil {
		return err
	}
	removed, err := s.store.RemoveMember(ctx, c.ID, target.ID)
	if err != nil {
		return err
	}
	if !removed {
		return confab.ErrNotInChannel
	}
	s.postSystem(ctx, c, target.ID, confab.SubtypeChannelLeave, "", "")
	s.left(c, target.ID)
	return nil
}

// left tells the gateways that userID is no longer in c: the user's
// connections stop receiving it, then get channel_left; the members get
// member_left_channel.
func (s *Service) left(c *confab.Channel, userID string) {
	s.publish(confab.UserTopic(c.WorkspaceID, userID), confab.Publication{
		Op: confab.OpLeave, Channel: c.ID, Frame: confab.ChannelLeftEvent(c.ID),
	})
	s.deliver(confab.ChannelTopic(c.WorkspaceID, c.ID), confab.MemberEvent(false, c, userID, ""))
}

// CloseConversation closes a DM or group DM of the caller's. confab keeps
// no open or closed state of a conversation (every one the caller is in is
// listed), so there is nothing to do: it only checks that the caller may.
func (s *Service) CloseConversation(ctx context.Context, u *confab.User, channel string) error {
	_, err := s.authorize(ctx, u, channel, actionClose)
	return err
}

// Message returns a live message of a channel the caller may read, with
// its reactions (reactions.get, chat.getPermalink).
func (s *Service) Message(ctx context.Context, u *confab.User, channel, ts string) (*confab.Message, error) {
	_, m, err := s.message(ctx, u, channel, ts, actionRead)
	return m, err
}
