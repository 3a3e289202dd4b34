package chat

import (
	"context"

	"github.com/confab/confab"
)

// An action is what a caller asks to do in a channel. Every use case that
// takes a channel asks authorize, with its action, before anything else.
type action uint8

const (
	actionRead    action = iota // conversations.history, .replies, .info, .members
	actionJoin                  // conversations.join
	actionLeave                 // conversations.leave
	actionPost                  // chat.postMessage, an RTM message or typing frame
	actionReact                 // reactions.add, reactions.remove
	actionEdit                  // chat.update
	actionDelete                // chat.delete
	actionMark                  // conversations.mark, .setPrefs: the caller's own marker and flags
	actionInvite                // conversations.invite
	actionManage                // conversations.setTopic, .setPurpose
	actionArchive               // conversations.archive
	actionCatchUp               // client.catchup: the channels a caller follows
)

// rule is what an action needs besides seeing the channel.
type rule struct {
	member   bool  // a public channel the caller is not in is not_in_channel
	direct   bool  // allowed in a DM or group DM, else method_not_supported_for_channel_type
	archived error // the answer in an archived channel; nil: allowed
}

// rules are the authorization rules, checked in this order:
//
//  1. Visibility, for every action: a channel of another workspace, or a
//     private channel, DM or group DM the caller is not in, is
//     channel_not_found, exactly like one that does not exist.
//  2. Membership: a write needs the caller in the channel, even a public
//     one (not_in_channel), as Slack's chat.postMessage does; reading a
//     public channel does not.
//  3. Kind: a DM or group DM cannot be left, invited to or archived.
//  4. Archive: an archived channel stays readable and takes no change of
//     its content, its members, its topic or purpose (is_archived);
//     archiving it again is already_archived. What is the caller's own —
//     its read marker and flags, leaving — still changes.
//
// Whether a caller may change a given message (cant_update_message,
// cant_delete_message) is the message's business: UpdateMessage and
// DeleteMessage decide it after authorize.
var rules = [...]rule{
	//             member  direct  archived
	actionRead:    {false, true, nil},
	actionJoin:    {false, true, confab.ErrIsArchived},
	actionLeave:   {false, false, nil},
	actionPost:    {true, true, confab.ErrIsArchived},
	actionReact:   {true, true, confab.ErrIsArchived},
	actionEdit:    {true, true, confab.ErrIsArchived},
	actionDelete:  {true, true, confab.ErrIsArchived},
	actionMark:    {true, true, nil},
	actionInvite:  {true, false, confab.ErrIsArchived},
	actionManage:  {true, true, confab.ErrIsArchived},
	actionArchive: {true, false, errAlreadyArchived},
	actionCatchUp: {true, true, nil},
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
	if meta.Kind != confab.KindPublic || r.member {
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
	if !r.direct && (meta.Kind == confab.KindDM || meta.Kind == confab.KindGroupDM) {
		return nil, errNotSupported
	}
	if meta.Archived && r.archived != nil {
		return nil, r.archived
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
