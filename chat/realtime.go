package chat

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/confab/confab"
)

// UserInfo returns a user of the caller's workspace, with the email only
// if the caller may see it (profile.go).
func (s *Service) UserInfo(ctx context.Context, u *confab.User, userID string) (*confab.User, error) {
	if !confab.ValidID(userID, confab.PrefixUser) {
		return nil, confab.ErrUserNotFound
	}
	other, err := s.store.FindUserByID(ctx, userID)
	if err != nil {
		return nil, err
	}
	if other.WorkspaceID != u.WorkspaceID {
		return nil, confab.ErrUserNotFound
	}
	sight, err := s.emailSight(ctx, u)
	if err != nil {
		return nil, err
	}
	return sight.show(other), nil
}

// ListUsers pages the caller's workspace's users by id, with the emails
// the caller may see.
func (s *Service) ListUsers(ctx context.Context, u *confab.User, cursor string, limit int) ([]*confab.User, string, error) {
	after, err := confab.DecodeCursor("u", cursor)
	if err != nil {
		return nil, "", err
	}
	limit = clampLimit(limit, 100, 1000)
	users, err := s.store.FindUsers(ctx, confab.UserFilter{WorkspaceID: u.WorkspaceID, AfterID: after, Limit: limit + 1})
	if err != nil {
		return nil, "", err
	}
	users, next := cut(users, limit, func(u *confab.User) string { return confab.EncodeCursor("u", u.ID) })
	sight, err := s.emailSight(ctx, u)
	if err != nil {
		return nil, "", err
	}
	for i, other := range users {
		users[i] = sight.show(other)
	}
	return users, next, nil
}

// GetPresence returns "active" while the user has a live connection and has
// not set themselves away, else "away".
func (s *Service) GetPresence(ctx context.Context, u *confab.User, userID string) (string, error) {
	other, err := s.UserInfo(ctx, u, userID)
	if err != nil {
		return "", err
	}
	return s.presence.Get(ctx, other)
}

// SetPresence sets the caller "away" by hand, or back to "auto".
func (s *Service) SetPresence(ctx context.Context, u *confab.User, want string) error {
	if want != "auto" && want != confab.PresenceAway {
		return errInvalidPresence
	}
	now, changed, err := s.presence.SetAway(ctx, u, want == confab.PresenceAway)
	return s.announcePresence(u, now, changed, err)
}

// Connected counts a new live connection of u (called by the gateway).
func (s *Service) Connected(ctx context.Context, u *confab.User) {
	now, changed, err := s.presence.Connected(ctx, u)
	if err := s.announcePresence(u, now, changed, err); err != nil {
		s.log.Warn("presence update failed", "user", u.ID, "err", err)
	}
}

// Disconnected counts a closed connection of u (called by the gateway).
func (s *Service) Disconnected(ctx context.Context, u *confab.User) {
	now, changed, err := s.presence.Disconnected(ctx, u)
	if err := s.announcePresence(u, now, changed, err); err != nil {
		s.log.Warn("presence update failed", "user", u.ID, "err", err)
	}
}

// announcePresence publishes presence_change when an update flipped u's
// presence, and passes a failed update's error on.
func (s *Service) announcePresence(u *confab.User, now string, changed bool, err error) error {
	if err != nil {
		return err
	}
	if changed {
		s.deliver(confab.PresenceTopic(u.WorkspaceID, u.ID), confab.PresenceEvent(u.ID, now))
	}
	return nil
}

// Typing relays user_typing to the channel's members; it is never stored.
// Whoever may not post there may not type there either.
func (s *Service) Typing(ctx context.Context, u *confab.User, channel string) error {
	c, err := s.authorize(ctx, u, channel, actionPost)
	if err != nil {
		return err
	}
	s.deliver(confab.ChannelTopic(c.WorkspaceID, c.ID), confab.TypingEvent(c.ID, u.ID))
	return nil
}

// maxPresenceIDs bounds the users one presence subscription names (the
// gateway watches at most that many per connection).
const maxPresenceIDs = 500

// errInvalidStream is SubscribePresence's answer to a stream id that no
// gateway hands out.
var errInvalidStream = &confab.Error{Code: confab.EINVALID, Message: "invalid_stream"}

// SubscribePresence makes u's stream (its id from the stream's hello)
// watch the presence of ids, replacing what it watched: presence_sub over
// HTTP, for a stream that carries nothing from its client (Server-Sent
// Events). It is published on u's topic, so that only u's own streams
// can be named, and whichever gateway holds the stream applies it; a
// stream that is gone is not an error. Ids that are not users' ids are
// left out there, as from the frame.
func (s *Service) SubscribePresence(ctx context.Context, u *confab.User, stream string, ids []string) error {
	if stream == "" || len(stream) > 64 || strings.ContainsFunc(stream, func(r rune) bool { return r <= ' ' || r > '~' }) {
		return errInvalidStream
	}
	if len(ids) > maxPresenceIDs {
		return errTooManyUsers
	}
	frame, err := json.Marshal(ids)
	if err != nil {
		return err
	}
	s.publish(confab.UserTopic(u.WorkspaceID, u.ID), confab.Publication{Op: confab.OpPresenceSub, Channel: stream, Frame: frame})
	return nil
}

// UserChannels lists the ids of the channels a user is in: the gateway
// registers a new connection for them.
func (s *Service) UserChannels(ctx context.Context, userID string) ([]string, error) {
	ids, err := s.userChannelIDs(ctx, userID)
	return slices.Clone(ids), err
}

// userChannelIDs returns the ids of the channels userID is in, in id
// order; the slice is shared: read-only. Under ExactAccess the list is
// kept in the access cache until a membership of the user changes: when a
// gateway goes, each of its clients registers again and catches up, and
// read from the store each time, the storm's memberships queue on the
// store's few readers ahead of everything else. SharedAccess keeps no
// list, so that a join through another process counts at once.
func (s *Service) userChannelIDs(ctx context.Context, userID string) ([]string, error) {
	if ids, ok := s.cache.lists.get(userID, s.now().UnixNano()); ok {
		return ids, nil
	}
	gen := s.cache.lists.generation()
	ms, err := s.store.FindMemberships(ctx, userID)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ChannelID
	}
	if until, keep := s.cache.lifetime(listEntry); keep {
		s.cache.lists.put(userID, ids, until, gen)
	}
	return ids, nil
}

// Boot returns what a client needs for its first screen: the caller, the
// workspace, and the caller's conversations with unread counts and latest
// message. Its size follows the caller's conversations, not the workspace.
// It costs five store queries however many conversations the caller has:
// the workspace, the caller's memberships, their channels, the latest
// messages of them all (FindLatestMessages) and the caller's mentions in
// them after each read marker (CountMentions); and a sixth while some of
// the latest messages' posters are not known to be bots or people yet
// (FindBots, remembered after). A DM's other member comes
// from its key.
func (s *Service) Boot(ctx context.Context, u *confab.User) (*Boot, error) {
	ws, err := s.workspace(ctx, u.WorkspaceID)
	if err != nil {
		return nil, err
	}
	mine, err := s.memberships(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	cs, err := s.store.FindChannels(ctx, confab.ChannelFilter{WorkspaceID: u.WorkspaceID, MemberID: u.ID, Limit: maxMemberships})
	if err != nil {
		return nil, err
	}
	b := &Boot{Self: u, Workspace: ws, Channels: make([]*confab.ChannelView, 0, len(cs))}
	var withMessages []string
	for _, c := range cs {
		m := mine[c.ID]
		if m == nil {
			continue // left between the two reads
		}
		v := &confab.ChannelView{Channel: c, Member: m, Brief: true}
		if c.Kind == confab.KindDM {
			if v.Other = dmPartner(c.Key, u.ID); v.Other == "" {
				// Not keyed by its two members: ask the store.
				full, err := s.view(ctx, u, c, m)
				if err != nil {
					return nil, err
				}
				v.Other = full.Other
			}
		}
		if c.MessageCount > 0 {
			withMessages = append(withMessages, c.ID)
		}
		b.Channels = append(b.Channels, v)
	}
	if len(withMessages) > 0 {
		latest, err := s.store.FindLatestMessages(ctx, withMessages)
		if err != nil {
			return nil, err
		}
		msgs := make([]*confab.Message, 0, len(latest))
		for _, m := range latest {
			msgs = append(msgs, m)
		}
		if msgs, err = s.withBots(ctx, msgs); err != nil {
			return nil, err
		}
		for _, m := range msgs {
			latest[m.ChannelID] = m
		}
		for _, v := range b.Channels {
			v.Latest = latest[v.Channel.ID]
		}
	}
	if err := s.countMentions(ctx, u, b.Channels); err != nil {
		return nil, err
	}
	return b, nil
}

// dmPartner returns the member of a DM other than userID from the DM's key
// (its two members' ids, sorted, joined by ","), "" if the key is not that.
func dmPartner(key, userID string) string {
	a, b, ok := strings.Cut(key, ",")
	switch {
	case !ok || strings.Contains(b, ","):
		return ""
	case a == userID && b != userID:
		return b
	case b == userID && a != userID:
		return a
	}
	return ""
}

// CatchUp returns, for each of the caller's channels that changed after the
// client's checkpoint, the events the client would have received live, in
// seq order, rebuilt from the store: new messages in their current state,
// edits as message_changed, deletes as message_deleted, reactions. A channel
// missing from checkpoints is caught up from its start. Unchanged channels
// are left out. Each channel carries the caller's MentionCount, read for
// all of them at once (Store.CountMentions): the events may be shared with
// other callers, the counts are not.
func (s *Service) CatchUp(ctx context.Context, u *confab.User, checkpoints map[string]int64, limit int) ([]CatchUpChannel, error) {
	if len(checkpoints) > confab.MaxCheckpoints {
		return nil, errTooManyChannels
	}
	for id, seq := range checkpoints {
		if !confab.IsConversationID(id) || seq < 0 {
			return nil, errInvalidCheckpoint
		}
	}
	limit = clampLimit(limit, 100, 1000)
	versions, err := s.memberVersions(ctx, u)
	if err != nil {
		return nil, err
	}
	out := []CatchUpChannel{}
	for _, v := range versions {
		cp := checkpoints[v.id]
		if v.lastSeq <= cp {
			continue
		}
		changes, memo, err := s.reads.findChanges(ctx, s.store, v.id, v.lastSeq, cp, limit+1)
		if err != nil {
			return nil, err
		}
		if changes, err = s.changesWithBots(ctx, changes); err != nil {
			return nil, err
		}
		if memo == nil {
			out = append(out, catchUpChannel(v.id, changes, cp, limit))
			continue
		}
		// The clients of a channel that reconnect together share its
		// changes, from the same checkpoint: the events, and the API's
		// encoding of them (cc.Memo), are made once for all of them.
		shared := memo.Do(func() any {
			cc := catchUpChannel(v.id, changes, cp, limit)
			cc.Memo = new(Memo)
			return cc
		}).(CatchUpChannel)
		out = append(out, shared)
	}
	if len(out) == 0 {
		return out, nil
	}
	ids := make([]string, len(out))
	for i, cc := range out {
		ids[i] = cc.Channel
	}
	counts, err := s.store.CountMentions(ctx, u.ID, ids)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].MentionCount = int64(counts[out[i].Channel])
	}
	return out, nil
}

// catchUpChannel is a channel's catch-up from checkpoint cp: its changes
// (limit+1 read, to tell whether there are more) as the events the client
// would have received live.
func catchUpChannel(id string, changes []confab.Change, cp int64, limit int) CatchUpChannel {
	cc := CatchUpChannel{Channel: id, Events: make([]json.RawMessage, 0, min(len(changes), limit))}
	if len(changes) > limit {
		changes, cc.HasMore = changes[:limit], true
	}
	for _, ch := range changes {
		cc.Events = append(cc.Events, confab.ChangeEvent(ch, cp))
	}
	return cc
}

// channelVersion is a channel's LastSeq.
type channelVersion struct {
	id      string
	lastSeq int64
}

// memberVersions returns the LastSeq of every channel u is in, the way
// the access policy says (cache.go).
func (s *Service) memberVersions(ctx context.Context, u *confab.User) ([]channelVersion, error) {
	return s.cache.policy.memberVersions(ctx, s, u)
}

// maxMemberships bounds the channels one read of a user's conversations
// returns (client.boot, client.catchup).
const maxMemberships = 100000

// AnnouncePresence tells subscribers of a presence flip that no request
// caused: the gateway holding u's connections died and its hold expired
// (away), or a hold lost while Redis was unreachable came back (active).
func (s *Service) AnnouncePresence(_ context.Context, c confab.PresenceChange) {
	s.deliver(confab.PresenceTopic(c.WorkspaceID, c.UserID), confab.PresenceEvent(c.UserID, c.Presence))
}
