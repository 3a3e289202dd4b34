package chat

import (
	"context"
	"crypto/sha256"

	"github.com/confab/confab"
)

// accessStore is the store as the use cases see it: every write that
// changes what the access cache (cache.go) holds drops those entries
// itself, after the write returns and before the use case goes on, so
// that no use case has to remember to. An error drops them too: the
// write may have committed (a timeout after the commit, say).
//
//   - a membership added or removed, a channel created with its members:
//     the membership and the user's list of channels;
//   - a channel updated (topic, purpose, archive): its fields;
//   - a token deleted: the token;
//   - an app updated or deleted: its bot user's scopes (apps.go);
//   - a user's profile updated: the user;
//   - a change of a channel's content: its version moves on to the
//     change's seq, or is forgotten after an error (committed); an
//     import's messages: forgotten;
//   - a pin or unpin, and a delete (which unpins): its version is
//     forgotten, to be read again with the channel's PinVersion.
//
// Reads pass through.
type accessStore struct {
	confab.Store
	cache *accessCache
}

var _ confab.Store = (*accessStore)(nil)

func (s *accessStore) CreateChannel(ctx context.Context, c *confab.Channel, members []string) error {
	err := s.Store.CreateChannel(ctx, c, members)
	for _, id := range members {
		s.memberChanged(c.ID, id)
	}
	return err
}

func (s *accessStore) AddMember(ctx context.Context, channelID, userID string, joinedAt int64) (bool, error) {
	added, err := s.Store.AddMember(ctx, channelID, userID, joinedAt)
	s.memberChanged(channelID, userID)
	return added, err
}

func (s *accessStore) RemoveMember(ctx context.Context, channelID, userID string) (bool, error) {
	removed, err := s.Store.RemoveMember(ctx, channelID, userID)
	s.memberChanged(channelID, userID)
	return removed, err
}

// memberChanged drops what the cache holds of userID's membership of
// channelID, and userID's list of channels.
func (s *accessStore) memberChanged(channelID, userID string) {
	s.cache.members.drop(memberKey{channelID, userID})
	s.cache.lists.drop(userID)
}

func (s *accessStore) UpdateChannel(ctx context.Context, id string, upd confab.ChannelUpdate) (*confab.Channel, error) {
	c, err := s.Store.UpdateChannel(ctx, id, upd)
	s.cache.channels.drop(id)
	return c, err
}

// UpdateUser drops the user from the cache: the next request of theirs
// reads the new profile.
func (s *accessStore) UpdateUser(ctx context.Context, id string, upd confab.UserUpdate) (*confab.User, error) {
	u, err := s.Store.UpdateUser(ctx, id, upd)
	s.cache.users.drop(id)
	return u, err
}

func (s *accessStore) DeleteToken(ctx context.Context, hash []byte) error {
	err := s.Store.DeleteToken(ctx, hash)
	if len(hash) == sha256.Size {
		s.cache.tokens.drop([sha256.Size]byte(hash))
	}
	return err
}

func (s *accessStore) DeleteUserTokens(ctx context.Context, userID string, keep []byte) ([][]byte, error) {
	hashes, err := s.Store.DeleteUserTokens(ctx, userID, keep)
	for _, h := range hashes {
		if len(h) == sha256.Size {
			s.cache.tokens.drop([sha256.Size]byte(h))
		}
	}
	return hashes, err
}

func (s *accessStore) CreateMessage(ctx context.Context, m *confab.Message) (bool, error) {
	created, err := s.Store.CreateMessage(ctx, m)
	s.committed(m.ChannelID, m.Seq, err)
	return created, err
}

// ImportMessages forgets the channel's version: an import takes many
// seqs, and its answer does not say the last.
func (s *accessStore) ImportMessages(ctx context.Context, channelID string, msgs []*confab.Message) (int, error) {
	n, err := s.Store.ImportMessages(ctx, channelID, msgs)
	s.cache.versions.forget(channelID)
	return n, err
}

func (s *accessStore) UpdateMessage(ctx context.Context, channelID string, ts int64, upd confab.MessageUpdate, editedTS int64) (*confab.Message, error) {
	m, err := s.Store.UpdateMessage(ctx, channelID, ts, upd, editedTS)
	s.committed(channelID, changeSeq(m, err), err)
	return m, err
}

func (s *accessStore) DeleteMessage(ctx context.Context, channelID string, ts int64) (*confab.Message, error) {
	m, err := s.Store.DeleteMessage(ctx, channelID, ts)
	s.cache.versions.forget(channelID) // a pinned message loses its pin
	return m, err
}

func (s *accessStore) AddPin(ctx context.Context, p *confab.Pin) error {
	err := s.Store.AddPin(ctx, p)
	s.cache.versions.forget(p.ChannelID)
	return err
}

func (s *accessStore) RemovePin(ctx context.Context, channelID string, ts int64) error {
	err := s.Store.RemovePin(ctx, channelID, ts)
	s.cache.versions.forget(channelID)
	return err
}

func (s *accessStore) AddReaction(ctx context.Context, channelID string, ts int64, userID, name string) (*confab.ReactionChange, error) {
	rc, err := s.Store.AddReaction(ctx, channelID, ts, userID, name)
	s.committed(channelID, reactionSeq(rc, err), err)
	return rc, err
}

func (s *accessStore) RemoveReaction(ctx context.Context, channelID string, ts int64, userID, name string) (*confab.ReactionChange, error) {
	rc, err := s.Store.RemoveReaction(ctx, channelID, ts, userID, name)
	s.committed(channelID, reactionSeq(rc, err), err)
	return rc, err
}

func changeSeq(m *confab.Message, err error) int64 {
	if err != nil || m == nil {
		return 0
	}
	return m.ChangeSeq
}

func reactionSeq(rc *confab.ReactionChange, err error) int64 {
	if err != nil || rc == nil {
		return 0
	}
	return rc.Seq
}

// committed records the outcome of a write of a channel's content: at
// seq, its new LastSeq, so that the channel's next reader keys its page by
// it. After an error the write may or may not have committed: the version
// is forgotten and read again.
func (s *accessStore) committed(channelID string, seq int64, err error) {
	switch {
	case err != nil:
		s.cache.versions.forget(channelID)
	case seq > 0:
		s.cache.versions.committed(channelID, seq)
	}
}
