package chat

import (
	"context"

	"github.com/confab/confab"
)

// An action is what a caller asks to do in a channel. Every use case that
// takes a channel asks authorize, with its action, before anything else.
type action uint8

const (
	actionRead      action = iota // conversations.history, .replies, .info, .members
	actionJoin                    // conversations.join
	actionLeave                   // conversations.leave
	actionPost                    // chat.postMessage, an RTM message or typing frame
	actionReact                   // reactions.add, reactions.remove
	actionEdit                    // chat.update
	actionDelete                  // chat.delete
	actionMark                    // conversations.mark, .setPrefs: the caller's own marker and flags
	actionInvite                  // conversations.invite
	actionManage                  // conversations.setTopic, .setPurpose
	actionArchive                 // conversations.archive
	actionCatchUp                 // client.catchup: the channels a caller follows
	actionRename                  // conversations.rename
	actionUnarchive               // conversations.unarchive
	actionKick                    // conversations.kick
	actionClose                   // conversations.close
	actionPin                     // pins.add, pins.remove
	actionListPins                // pins.list
)

// rule is what an action needs besides seeing the channel.
type rule struct {
	member   bool  // a public channel the caller is not in is not_in_channel
	channel  bool  // allowed in a public or private channel, else method_not_supported_for_channel_type
	direct   bool  // allowed in a DM or group DM, else method_not_supported_for_channel_type
	archived error // the answer in an archived channel; nil: allowed
	// manager, when set, is the answer to a caller who is neither the
	// channel's creator nor the workspace's owner: only they may do it.
	manager error
	// general, when set, is the answer in the workspace's general channel
	// (Channel.IsGeneral), whoever asks: nobody leaves it, is kicked from
	// it or archives it, as in Slack.
	general error
}

var (
	errCantLeaveGeneral   = &confab.Error{Code: confab.EFORBIDDEN, Message: "cant_leave_general"}
	errCantKickGeneral    = &confab.Error{Code: confab.EFORBIDDEN, Message: "cant_kick_from_general"}
	errCantArchiveGeneral = &confab.Error{Code: confab.EFORBIDDEN, Message: "cant_archive_general"}
)

// rules are the authorization rules, checked in this order:
//
//  1. Visibility, for every action: a channel of another workspace, or a
//     private channel, DM or group DM the caller is not in, is
//     channel_not_found, exactly like one that does not exist.
//  2. Membership: a write needs the caller in the channel, even a public
//     one (not_in_channel), as Slack's chat.postMessage does; reading a
//     public channel does not, except for a bot: a bot user must be a
//     member for every action but joining, as an app sees only the
//     conversations it was added to. A channel's pins are its members'
//     only, listing them too.
//  3. Kind: a DM or group DM cannot be left, invited to, archived,
//     unarchived, renamed or kicked from; only a DM or group DM can be
//     closed.
//  4. Archive: an archived channel stays readable and takes no change of
//     its content, its members, its name, topic or purpose (is_archived);
//     archiving it again is already_archived. What is the caller's own —
//     its read marker and flags, leaving — still changes, and any member
//     may unarchive it (not_archived when it is not).
//  5. General: the workspace's general channel cannot be left
//     (cant_leave_general), kicked from (cant_kick_from_general) or
//     archived (cant_archive_general), by anyone.
//  6. Manager: renaming a channel (not_authorized) and kicking someone out
//     of it (restricted_action) are for the channel's creator and the
//     workspace's owner, as Slack's default workspace preferences have it.
//
// Whether a caller may change a given message (cant_update_message,
// cant_delete_message) is the message's business: UpdateMessage and
// DeleteMessage decide it after authorize.
var rules = [...]rule{
	//               member channel direct  archived            manager  general
	actionRead:      {false, true, true, nil, nil, nil},
	actionJoin:      {false, true, true, confab.ErrIsArchived, nil, nil},
	actionLeave:     {false, true, false, nil, nil, errCantLeaveGeneral},
	actionPost:      {true, true, true, confab.ErrIsArchived, nil, nil},
	actionReact:     {true, true, true, confab.ErrIsArchived, nil, nil},
	actionEdit:      {true, true, true, confab.ErrIsArchived, nil, nil},
	actionDelete:    {true, true, true, confab.ErrIsArchived, nil, nil},
	actionMark:      {true, true, true, nil, nil, nil},
	actionInvite:    {true, true, false, confab.ErrIsArchived, nil, nil},
	actionManage:    {true, true, true, confab.ErrIsArchived, nil, nil},
	actionArchive:   {true, true, false, errAlreadyArchived, nil, errCantArchiveGeneral},
	actionCatchUp:   {true, true, true, nil, nil, nil},
	actionRename:    {true, true, false, confab.ErrIsArchived, errNotAuthorized, nil},
	actionUnarchive: {true, true, false, nil, nil, nil},
	actionKick:      {true, true, false, confab.ErrIsArchived, errRestricted, errCantKickGeneral},
	actionClose:     {false, false, true, nil, nil, nil},
	actionPin:       {true, true, true, confab.ErrIsArchived, nil, nil},
	actionListPins:  {true, true, true, nil, nil, nil},
}

// grant is a channel as authorize saw it: what the use cases need of it
// to go on (the rest they read from the store).
type grant struct {
	ID          string
	WorkspaceID string
	Kind        string
	Archived    bool
}

// authorize decides whether u may do act in channel id, by rules, and
// returns the channel's fields it read. It reads from the access cache
// (cache.go): on the hot paths — posting, reading, reacting by a member —
// a warm call reads nothing from the store. A public channel's reader is
// not looked up at all.
func (s *Service) authorize(ctx context.Context, u *confab.User, id string, act action) (*grant, error) {
	if !confab.IsConversationID(id) {
		return nil, confab.ErrChannelNotFound
	}
	now := s.now().UnixNano()
	meta, err := s.channelMeta(ctx, id, now)
	if err != nil {
		return nil, err
	}
	if meta.WorkspaceID != u.WorkspaceID {
		return nil, confab.ErrChannelNotFound
	}
	r := rules[act]
	// A bot sees only the conversations it is in: a public channel too
	// needs it to be a member, for anything but joining.
	needMember := r.member || (u.IsBot && act != actionJoin)
	if meta.Kind != confab.KindPublic || needMember {
		member, err := s.isMember(ctx, id, u.ID, now)
		switch {
		case err != nil:
			return nil, err
		case !member && meta.Kind != confab.KindPublic:
			return nil, confab.ErrChannelNotFound
		case !member:
			return nil, confab.ErrNotInChannel
		}
	}
	direct := meta.Kind == confab.KindDM || meta.Kind == confab.KindGroupDM
	if (direct && !r.direct) || (!direct && !r.channel) {
		return nil, errNotSupported
	}
	if meta.Archived && r.archived != nil {
		return nil, r.archived
	}
	if meta.IsGeneral && r.general != nil {
		return nil, r.general
	}
	if r.manager != nil && meta.CreatedBy != u.ID {
		ws, err := s.workspace(ctx, u.WorkspaceID)
		if err != nil {
			return nil, err
		}
		if ws.OwnerID != u.ID {
			return nil, r.manager
		}
	}
	return &grant{ID: id, WorkspaceID: meta.WorkspaceID, Kind: meta.Kind, Archived: meta.Archived}, nil
}

// authorizeChannel is authorize for the use cases that answer with the
// channel or need its other fields (counts, topic) or the caller's
// membership (nil when the caller is not in it): those it reads from the
// store after the decision.
func (s *Service) authorizeChannel(ctx context.Context, u *confab.User, id string, act action) (*confab.Channel, *confab.Membership, error) {
	g, err := s.authorize(ctx, u, id, act)
	if err != nil {
		return nil, nil, err
	}
	c, err := s.store.FindChannelByID(ctx, g.ID)
	if err != nil {
		return nil, nil, err
	}
	m, err := s.store.FindMembership(ctx, g.ID, u.ID)
	if confab.ErrorCode(err) == confab.ENOTFOUND {
		m, err = nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	return c, m, nil
}
