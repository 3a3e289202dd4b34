package chat

import (
	"context"
	"sort"
	"strings"

	"github.com/confab/confab"
)

var (
	errInvalidName       = &confab.Error{Code: confab.EINVALID, Message: "invalid_name"}
	errNotSupported      = &confab.Error{Code: confab.EINVALID, Message: "method_not_supported_for_channel_type"}
	errAlreadyArchived   = &confab.Error{Code: confab.ECONFLICT, Message: "already_archived"}
	errTooManyUsers      = &confab.Error{Code: confab.EINVALID, Message: "too_many_users"}
	errCannotDMSelf      = &confab.Error{Code: confab.EINVALID, Message: "cannot_dm_self"}
	errInvalidTypes      = &confab.Error{Code: confab.EINVALID, Message: "invalid_types"}
	errNoUsers           = &confab.Error{Code: confab.EINVALID, Message: "no_user"}
	errThreadNotFound    = &confab.Error{Code: confab.ENOTFOUND, Message: "thread_not_found"}
	errCantUpdate        = &confab.Error{Code: confab.EFORBIDDEN, Message: "cant_update_message"}
	errCantDelete        = &confab.Error{Code: confab.EFORBIDDEN, Message: "cant_delete_message"}
	errInvalidPresence   = &confab.Error{Code: confab.EINVALID, Message: "invalid_presence"}
	errInvalidTS         = &confab.Error{Code: confab.EINVALID, Message: "invalid_ts"}
	errInvalidClientID   = &confab.Error{Code: confab.EINVALID, Message: "invalid_client_msg_id"}
	errInvalidReaction   = &confab.Error{Code: confab.EINVALID, Message: "invalid_name"}
	errTooManyChannels   = &confab.Error{Code: confab.EINVALID, Message: "too_many_channels"}
	errInvalidCheckpoint = &confab.Error{Code: confab.EINVALID, Message: "invalid_checkpoint"}
)

// CreateChannel creates a public or private channel with the caller as its
// first member.
func (s *Service) CreateChannel(ctx context.Context, u *confab.User, name string, private bool) (*confab.ChannelView, error) {
	if !confab.ValidChannelName(name) {
		return nil, errInvalidName
	}
	c := &confab.Channel{
		ID: confab.NewID(confab.PrefixChannel), WorkspaceID: u.WorkspaceID, Kind: confab.KindPublic,
		Name: name, CreatedBy: u.ID, Created: s.now().Unix(),
	}
	if private {
		c.Kind = confab.KindPrivate
	}
	if err := s.store.CreateChannel(ctx, c, []string{u.ID}); err != nil {
		return nil, err
	}
	m, err := s.store.FindMembership(ctx, c.ID, u.ID)
	if err != nil {
		return nil, err
	}
	v := &confab.ChannelView{Channel: c, Member: m}
	s.joined(v, u.ID)
	return v, nil
}

// joined tells the gateways that userID is now in v's channel: the user's
// connections start receiving it and get channel_joined.
func (s *Service) joined(v *confab.ChannelView, userID string) {
	s.publish(confab.UserTopic(v.Channel.WorkspaceID, userID), confab.Publication{
		Op: confab.OpJoin, Channel: v.Channel.ID, Frame: confab.ChannelJoinedEvent(v),
	})
}

// JoinChannel joins a public channel. Joining one the caller is in already
// succeeds with already=true and sends nothing.
func (s *Service) JoinChannel(ctx context.Context, u *confab.User, channel string) (*confab.ChannelView, bool, error) {
	c, m, err := s.authorizeChannel(ctx, u, channel, actionJoin)
	if err != nil {
		return nil, false, err
	}
	if m != nil {
		v, err := s.view(ctx, u, c, m)
		return v, true, err
	}
	v, added, err := s.addMember(ctx, u, c, u.ID, "")
	return v, !added, err
}

// addMember adds userID to c and announces it: channel_joined to the
// user's connections (which catch up from the channel's seq before the
// join, so they get what follows), the channel_join message in the channel
// (whose poster, the new member, has read it), then member_joined_channel
// to the channel. The view is the new member's, after all of it.
func (s *Service) addMember(ctx context.Context, actor *confab.User, c *confab.Channel, userID, inviter string) (*confab.ChannelView, bool, error) {
	added, err := s.store.AddMember(ctx, c.ID, userID, s.now().Unix())
	if err != nil {
		return nil, false, err
	}
	v, err := s.memberView(ctx, c.ID, userID)
	if err != nil || !added {
		return v, false, err
	}
	s.joined(v, userID)
	if !c.IsDirect() {
		s.postSystem(ctx, c, userID, confab.SubtypeChannelJoin, inviter, "")
		if v, err = s.memberView(ctx, c.ID, userID); err != nil { // its marker at the join
			return nil, false, err
		}
	}
	s.deliver(confab.ChannelTopic(c.WorkspaceID, c.ID), confab.MemberEvent(true, v.Channel, userID, inviter))
	return v, true, nil
}

// memberView reads channel id for its member userID: its counts, and the
// member's read marker.
func (s *Service) memberView(ctx context.Context, id, userID string) (*confab.ChannelView, error) {
	c, err := s.store.FindChannelByID(ctx, id)
	if err != nil {
		return nil, err
	}
	m, err := s.store.FindMembership(ctx, id, userID)
	if err != nil {
		return nil, err
	}
	return &confab.ChannelView{Channel: c, Member: m}, nil
}

// LeaveChannel leaves a channel. DMs and group DMs cannot be left.
func (s *Service) LeaveChannel(ctx context.Context, u *confab.User, channel string) (bool, error) {
	c, m, err := s.authorizeChannel(ctx, u, channel, actionLeave)
	if err != nil {
		return false, err
	}
	if m == nil {
		return true, nil
	}
	removed, err := s.store.RemoveMember(ctx, c.ID, u.ID)
	if err != nil || !removed {
		return !removed, err
	}
	s.postSystem(ctx, c, u.ID, confab.SubtypeChannelLeave, "", "")
	s.left(c, u.ID)
	return false, nil
}

// InviteToChannel adds users of the caller's workspace to a channel the
// caller is in.
func (s *Service) InviteToChannel(ctx context.Context, u *confab.User, channel string, users []string) (*confab.ChannelView, error) {
	c, m, err := s.authorizeChannel(ctx, u, channel, actionInvite)
	if err != nil {
		return nil, err
	}
	if len(users) == 0 {
		return nil, errNoUsers
	}
	if len(users) > 1000 {
		return nil, errTooManyUsers
	}
	for _, id := range users {
		if _, err := s.workspaceUser(ctx, u, id); err != nil {
			return nil, err
		}
	}
	for _, id := range users {
		if _, _, err := s.addMember(ctx, u, c, id, u.ID); err != nil {
			return nil, err
		}
	}
	if c, err = s.store.FindChannelByID(ctx, c.ID); err != nil {
		return nil, err
	}
	return &confab.ChannelView{Channel: c, Member: m}, nil
}

// workspaceUser finds a user of the caller's workspace: user_not_found for
// junk, another workspace's user, or a deleted one.
func (s *Service) workspaceUser(ctx context.Context, u *confab.User, id string) (*confab.User, error) {
	if !confab.ValidID(id, confab.PrefixUser) {
		return nil, confab.ErrUserNotFound
	}
	other, err := s.store.FindUserByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if other.WorkspaceID != u.WorkspaceID || other.Deleted {
		return nil, confab.ErrUserNotFound
	}
	return other, nil
}

// OpenConversation opens the DM (one other user) or group DM (2 to 7 others)
// of the caller and users. The same set of users always gets the same
// channel: its key is the sorted member ids, unique in the store.
func (s *Service) OpenConversation(ctx context.Context, u *confab.User, users []string) (*confab.ChannelView, bool, error) {
	set := map[string]bool{u.ID: true}
	for _, id := range users {
		set[id] = true
	}
	if len(users) == 0 {
		return nil, false, errNoUsers
	}
	if len(set) == 1 {
		return nil, false, errCannotDMSelf
	}
	if len(set) > confab.MaxGroupDMUsers {
		return nil, false, errTooManyUsers
	}
	members := make([]string, 0, len(set))
	for id := range set {
		if id != u.ID {
			if _, err := s.workspaceUser(ctx, u, id); err != nil {
				return nil, false, err
			}
		}
		members = append(members, id)
	}
	sort.Strings(members)
	key := strings.Join(members, ",")

	c, err := s.store.FindChannelByKey(ctx, u.WorkspaceID, key)
	if err == nil {
		m, err := s.store.FindMembership(ctx, c.ID, u.ID)
		if err != nil {
			return nil, false, err
		}
		v, err := s.view(ctx, u, c, m)
		return v, true, err
	} else if confab.ErrorCode(err) != confab.ENOTFOUND {
		return nil, false, err
	}

	kind, prefix := confab.KindDM, byte(confab.PrefixDM)
	if len(members) > 2 {
		kind, prefix = confab.KindGroupDM, confab.PrefixGroupDM
	}
	c = &confab.Channel{
		ID: confab.NewID(prefix), WorkspaceID: u.WorkspaceID, Kind: kind, Key: key,
		CreatedBy: u.ID, Created: s.now().Unix(),
	}
	err = s.store.CreateChannel(ctx, c, members)
	if confab.ErrorCode(err) == confab.ECONFLICT {
		return s.OpenConversation(ctx, u, users) // opened concurrently: take that one
	} else if err != nil {
		return nil, false, err
	}
	var mine *confab.ChannelView
	for _, id := range members {
		m, err := s.store.FindMembership(ctx, c.ID, id)
		if err != nil {
			return nil, false, err
		}
		v := &confab.ChannelView{Channel: c, Member: m}
		if kind == confab.KindDM {
			for _, other := range members {
				if other != id {
					v.Other = other
				}
			}
		}
		s.joined(v, id)
		if id == u.ID {
			mine = v
		}
	}
	return mine, false, nil
}

// ListChannels lists the workspace's public channels and the caller's
// private channels, DMs and group DMs, by id.
func (s *Service) ListChannels(ctx context.Context, u *confab.User, p ListChannelsParams) ([]*confab.ChannelView, string, error) {
	after, err := confab.DecodeCursor("l", p.Cursor)
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
	limit := clampLimit(p.Limit, 100, 1000)
	mine, err := s.memberships(ctx, u.ID)
	if err != nil {
		return nil, "", err
	}
	cs, err := s.store.FindChannels(ctx, confab.ChannelFilter{
		WorkspaceID: u.WorkspaceID, MemberID: u.ID, IncludePublic: true, Kinds: kinds,
		ExcludeArchived: p.ExcludeArchived, AfterID: after, Limit: limit + 1,
	})
	if err != nil {
		return nil, "", err
	}
	cs, next := cut(cs, limit, func(c *confab.Channel) string { return confab.EncodeCursor("l", c.ID) })
	views := make([]*confab.ChannelView, 0, len(cs))
	for _, c := range cs {
		v, err := s.view(ctx, u, c, mine[c.ID])
		if err != nil {
			return nil, "", err
		}
		views = append(views, v)
	}
	return views, next, nil
}

// memberships maps channel id → the user's membership.
func (s *Service) memberships(ctx context.Context, userID string) (map[string]*confab.Membership, error) {
	ms, err := s.store.FindMemberships(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*confab.Membership, len(ms))
	for _, m := range ms {
		out[m.ChannelID] = m
	}
	return out, nil
}

// ChannelInfo returns a channel as the caller sees it.
func (s *Service) ChannelInfo(ctx context.Context, u *confab.User, channel string) (*confab.ChannelView, error) {
	c, m, err := s.authorizeChannel(ctx, u, channel, actionRead)
	if err != nil {
		return nil, err
	}
	v, err := s.view(ctx, u, c, m)
	if err != nil {
		return nil, err
	}
	return v, s.countMentions(ctx, u, []*confab.ChannelView{v})
}

// ChannelMembers pages a channel's member ids.
func (s *Service) ChannelMembers(ctx context.Context, u *confab.User, channel, cursor string, limit int) ([]string, string, error) {
	after, err := confab.DecodeCursor("m", cursor)
	if err != nil {
		return nil, "", err
	}
	c, err := s.authorize(ctx, u, channel, actionRead)
	if err != nil {
		return nil, "", err
	}
	limit = clampLimit(limit, 100, 1000)
	ids, err := s.store.FindMembers(ctx, confab.MemberFilter{ChannelID: c.ID, AfterUserID: after, Limit: limit + 1})
	if err != nil {
		return nil, "", err
	}
	ids, next := cut(ids, limit, func(id string) string { return confab.EncodeCursor("m", id) })
	return ids, next, nil
}

// SetTopic sets a channel's topic.
func (s *Service) SetTopic(ctx context.Context, u *confab.User, channel, topic string) (*confab.ChannelView, error) {
	return s.setText(ctx, u, channel, topic, confab.SubtypeChannelTopic)
}

// SetPurpose sets a channel's purpose.
func (s *Service) SetPurpose(ctx context.Context, u *confab.User, channel, purpose string) (*confab.ChannelView, error) {
	return s.setText(ctx, u, channel, purpose, confab.SubtypeChannelPurpose)
}

func (s *Service) setText(ctx context.Context, u *confab.User, channel, value, event string) (*confab.ChannelView, error) {
	if err := confab.ValidateTopic(value); err != nil {
		return nil, err
	}
	c, m, err := s.authorizeChannel(ctx, u, channel, actionManage)
	if err != nil {
		return nil, err
	}
	t := &confab.Text{Value: value, Creator: u.ID, LastSet: s.now().Unix()}
	upd := confab.ChannelUpdate{Topic: t}
	if event == confab.SubtypeChannelPurpose {
		upd = confab.ChannelUpdate{Purpose: t}
	}
	c, err = s.store.UpdateChannel(ctx, c.ID, upd)
	if err != nil {
		return nil, err
	}
	s.postSystem(ctx, c, u.ID, event, "", value) // event is the subtype too
	s.deliver(confab.ChannelTopic(c.WorkspaceID, c.ID), confab.ChannelUpdatedEvent(event, c, u.ID))
	return s.view(ctx, u, c, m)
}

// ArchiveChannel archives a channel the caller is in: it stays readable
// and takes no more messages.
func (s *Service) ArchiveChannel(ctx context.Context, u *confab.User, channel string) error {
	g, err := s.authorize(ctx, u, channel, actionArchive)
	if err != nil {
		return err
	}
	archived := true
	c, err := s.store.UpdateChannel(ctx, g.ID, confab.ChannelUpdate{Archived: &archived})
	if err != nil {
		return err
	}
	s.deliver(confab.ChannelTopic(c.WorkspaceID, c.ID), confab.ChannelUpdatedEvent("channel_archive", c, u.ID))
	return nil
}

// SetPrefs sets the caller's muted and starred flags of a channel.
func (s *Service) SetPrefs(ctx context.Context, u *confab.User, channel string, p PrefsUpdate) error {
	c, err := s.authorize(ctx, u, channel, actionMark)
	if err != nil {
		return err
	}
	_, err = s.store.UpdateMembership(ctx, c.ID, u.ID, confab.MembershipUpdate{IsMuted: p.IsMuted, IsStarred: p.IsStarred})
	return err
}

// MarkRead moves the caller's read marker to the message at ts ("0": the
// beginning) and tells every connection of the caller, with the unread and
// mention counts after it (one more read, CountMentions, outside a DM).
func (s *Service) MarkRead(ctx context.Context, u *confab.User, channel, ts string) error {
	tsv, err := confab.ParseTS(ts)
	if err != nil {
		return errInvalidTS
	}
	g, err := s.authorize(ctx, u, channel, actionMark)
	if err != nil {
		return err
	}
	c, err := s.store.FindChannelByID(ctx, g.ID) // for its message count
	if err != nil {
		return err
	}
	msg := &confab.Message{ChannelID: c.ID}
	if tsv != 0 {
		if msg, err = s.store.FindMessage(ctx, c.ID, tsv); err != nil {
			return err
		}
	}
	if _, err := s.store.UpdateMembership(ctx, c.ID, u.ID, confab.MembershipUpdate{LastRead: msg}); err != nil {
		return err
	}
	unread := c.MessageCount - msg.Num
	if unread < 0 {
		unread = 0
	}
	mentions := unread // a DM's every unread message counts
	if !c.IsDirect() {
		counts, err := s.store.CountMentions(ctx, u.ID, []string{c.ID})
		if err != nil {
			return err
		}
		mentions = int64(counts[c.ID])
	}
	s.deliver(confab.UserTopic(u.WorkspaceID, u.ID), confab.ChannelMarkedEvent(c, msg.TS, unread, mentions))
	return nil
}
