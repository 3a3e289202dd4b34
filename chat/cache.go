package chat

import (
	"context"
	"crypto/sha256"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/confab/confab"
)

// The access cache. Every request authenticates a token and authorizes a
// channel before it does its work; read from the store each time, that is
// four queries (token, user, channel, membership) in front of one insert
// or one page, and a thousand readers of a hot channel cost four thousand
// queries for one shared page. So the service keeps what those decisions
// need in memory:
//
//   - tokens: token hash → user id;
//   - users: user id → user (a user is never changed through the API; the
//     connections of a user on a gateway share one);
//   - workspaces: id → workspace (never changed after creation);
//   - channels: the few fields access needs (workspace, kind, archived);
//   - members: (channel, user) → member or not;
//   - lists: user id → the ids of the user's channels, exclusive stores
//     only (userChannelIDs): a reconnecting client's registration and
//     catch-up then read no membership;
//   - versions: channel → LastSeq, the key that lets History share a hot
//     page (coalescer).
//
// How an entry stays true depends on who else writes the store:
//
//   - Exclusive (Config.ExclusiveStore: `confab serve` on its SQLite file):
//     every change goes through this process, which drops the entries it
//     changes in the same call, after the commit and before answering. The
//     cache is then exact: entries never expire, grants and refusals are
//     both kept, and versions are tracked from this process's own commits.
//   - Shared (several API processes on one PostgreSQL): another process
//     may change what an entry says. Entries expire after CacheTTL, only
//     grants are cached (a refusal is always read again, so a join made
//     through another process counts at once), and a version read from the
//     store is reused for sharedVersionTTL. A grant taken away through
//     another process — a revoked token, a member who left, an archived
//     channel — may thus be honoured for up to CacheTTL, and a page read
//     may miss another process's newest messages for up to
//     sharedVersionTTL; this process's own changes count at once.
//
// A load that raced with an invalidation must not put back what it read
// before the change: each map has a generation, bumped by every
// invalidation, and a load stores its result only if the generation is
// the one it saw before reading the store.
//
// Each map is bounded; when one is full, an arbitrary eighth of it goes.
type accessCache struct {
	exclusive bool
	ttl       time.Duration
	now       func() time.Time

	tokens   cacheMap[[sha256.Size]byte, string]
	users    cacheMap[string, *confab.User]
	spaces   cacheMap[string, *confab.Workspace]
	channels cacheMap[string, channelMeta]
	members  cacheMap[memberKey, bool]
	lists    cacheMap[string, []string]
	versions versionMap
	loads    singleflight.Group // channel reads (loadChannel)
}

// channelMeta is what authorization reads of a channel.
type channelMeta struct {
	WorkspaceID string
	Kind        string
	Archived    bool
}

type memberKey struct{ channel, user string }

const (
	maxCachedTokens   = 100_000
	maxCachedUsers    = 100_000
	maxCachedSpaces   = 10_000
	maxCachedChannels = 100_000
	maxCachedMembers  = 500_000
	maxCachedLists    = 100_000
	maxCachedVersions = 100_000
	// defaultCacheTTL bounds how long a grant taken away through another
	// process may still be honoured (shared stores only).
	defaultCacheTTL = 5 * time.Second
	// sharedVersionTTL is how long a shared store's channel version is
	// reused. Read every time, it costs a query per History call, and the
	// readers of a viral announcement, which arrive spread over a few
	// hundred milliseconds, share few of them; reused this long, they cost
	// a handful. What it costs: a page read through this process may miss
	// a message another process committed that recently — the client gets
	// it live, or catches up on the seq gap the next event shows.
	sharedVersionTTL = 100 * time.Millisecond
)

func newAccessCache(exclusive bool, ttl time.Duration, now func() time.Time) *accessCache {
	if ttl <= 0 {
		ttl = defaultCacheTTL
	}
	c := &accessCache{exclusive: exclusive, ttl: ttl, now: now}
	c.tokens.init(maxCachedTokens)
	c.users.init(maxCachedUsers)
	c.spaces.init(maxCachedSpaces)
	c.channels.init(maxCachedChannels)
	c.members.init(maxCachedMembers)
	c.lists.init(maxCachedLists)
	c.versions.init(maxCachedVersions)
	return c
}

// expiry is the deadline (unix ns) of an entry stored now; 0: none.
func (c *accessCache) expiry() int64 { return c.expiryAfter(c.ttl) }

// expiryAfter is the deadline (unix ns) of an entry stored now that a
// shared store keeps for ttl; 0: none.
func (c *accessCache) expiryAfter(ttl time.Duration) int64 {
	if c.exclusive {
		return 0
	}
	return c.now().Add(ttl).UnixNano()
}

// cacheMap is a bounded map whose entries may expire, with a generation
// for racing loads (see accessCache).
type cacheMap[K comparable, V any] struct {
	mu  sync.RWMutex
	m   map[K]cacheEntry[V]
	max int
	gen uint64
}

type cacheEntry[V any] struct {
	v     V
	until int64 // unix ns; 0: does not expire
}

func (m *cacheMap[K, V]) init(max int) {
	m.m = make(map[K]cacheEntry[V])
	m.max = max
}

// get returns k's value if it is cached and not expired at now (unix ns).
func (m *cacheMap[K, V]) get(k K, now int64) (V, bool) {
	m.mu.RLock()
	e, ok := m.m[k]
	m.mu.RUnlock()
	if !ok || (e.until != 0 && now >= e.until) {
		var zero V
		return zero, false
	}
	return e.v, true
}

// generation is read before a load; put stores only under the same one.
func (m *cacheMap[K, V]) generation() uint64 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.gen
}

func (m *cacheMap[K, V]) put(k K, v V, until int64, gen uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if gen != m.gen {
		return
	}
	if len(m.m) >= m.max {
		evict(m.m, m.max/8)
	}
	m.m[k] = cacheEntry[V]{v, until}
}

// drop forgets k; a load in flight will not store what it read.
func (m *cacheMap[K, V]) drop(k K) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.m, k)
	m.gen++
}

// evict deletes about n arbitrary entries of m (map order is random).
func evict[K comparable, V any](m map[K]V, n int) {
	for k := range m {
		if n <= 0 {
			return
		}
		delete(m, k)
		n--
	}
}

// versionMap keeps channels' LastSeq as read from the store — for good on
// an exclusive store, for sharedVersionTTL on a shared one — and moves it
// on with this process's own commits. A version only goes up. A channel
// not in the map (or expired) is read from the store; a commit to a
// channel not in the map bumps the generation, so that a load that read
// before that commit does not store its older version.
type versionMap struct {
	mu  sync.Mutex
	m   map[string]cacheEntry[int64]
	max int
	gen uint64
}

func (v *versionMap) init(max int) {
	v.m = make(map[string]cacheEntry[int64])
	v.max = max
}

// get returns channel's version unless it is unknown or expired at now
// (unix ns), and the generation a load must pass.
func (v *versionMap) get(channel string, now int64) (version int64, ok bool, gen uint64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	e, ok := v.m[channel]
	ok = ok && (e.until == 0 || now < e.until)
	return e.v, ok, v.gen
}

// load stores a version read from the store, valid until until (unix ns;
// 0: for good), if no commit or eviction happened since gen was read.
func (v *versionMap) load(channel string, version int64, until int64, gen uint64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if gen != v.gen {
		return
	}
	if len(v.m) >= v.max {
		evict(v.m, v.max/8)
		v.gen++
	}
	v.m[channel] = cacheEntry[int64]{v: max(v.m[channel].v, version), until: until}
}

// forget drops channel's version; a load in flight will not store its.
func (v *versionMap) forget(channel string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.m, channel)
	v.gen++
}

// committed records that a change of channel committed at seq.
func (v *versionMap) committed(channel string, seq int64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if old, ok := v.m[channel]; ok {
		v.m[channel] = cacheEntry[int64]{v: max(old.v, seq), until: old.until}
	} else {
		v.gen++
	}
}

// tokenUser returns the user of a token hash, from the cache or the store:
// invalid_auth for an unknown token or a deleted user.
func (s *Service) tokenUser(ctx context.Context, sum [sha256.Size]byte) (*confab.User, error) {
	id, ok := s.cache.tokens.get(sum, s.now().UnixNano())
	if !ok {
		gen := s.cache.tokens.generation()
		t, err := s.store.FindToken(ctx, sum[:])
		if confab.ErrorCode(err) == confab.ENOTFOUND {
			return nil, confab.ErrInvalidAuth
		} else if err != nil {
			return nil, err
		}
		id = t.UserID
		s.cache.tokens.put(sum, id, s.cache.expiry(), gen)
	}
	return s.activeUser(ctx, id)
}

// activeUser returns a user who is not deleted, from the cache or the
// store: invalid_auth otherwise. The *User is shared: read-only.
func (s *Service) activeUser(ctx context.Context, id string) (*confab.User, error) {
	if u, ok := s.cache.users.get(id, s.now().UnixNano()); ok {
		return u, nil
	}
	gen := s.cache.users.generation()
	u, err := s.store.FindUserByID(ctx, id)
	if confab.ErrorCode(err) == confab.ENOTFOUND || (err == nil && u.Deleted) {
		return nil, confab.ErrInvalidAuth
	} else if err != nil {
		return nil, err
	}
	s.cache.users.put(id, u, s.cache.expiry(), gen)
	return u, nil
}

// workspace returns a workspace from the cache or the store. The
// *Workspace is shared: read-only.
func (s *Service) workspace(ctx context.Context, id string) (*confab.Workspace, error) {
	if ws, ok := s.cache.spaces.get(id, s.now().UnixNano()); ok {
		return ws, nil
	}
	gen := s.cache.spaces.generation()
	ws, err := s.store.FindWorkspaceByID(ctx, id)
	if err != nil {
		return nil, err
	}
	s.cache.spaces.put(id, ws, s.cache.expiry(), gen)
	return ws, nil
}

// access is what a request may do with a channel, as far as the hot paths
// (posting, reading, reacting) need to know.
type access struct {
	ID          string
	WorkspaceID string
	Kind        string
	Archived    bool
	Member      bool
	// Version is the channel's LastSeq as of the call or later; set only
	// when asked for (needVersion).
	Version int64
}

type accessNeed uint8

const (
	needMember  accessNeed = 1 << iota // not_in_channel unless a member
	needVersion                        // fill access.Version
)

// access authorizes u on channel id from the cache where it can, with the
// rules of channelFor (visible): a channel u may not see is
// channel_not_found; with needMember, a visible channel u is not in is
// not_in_channel. Callers
// that need the channel's or the membership's other fields (counts, read
// markers, topic) use channelFor, which reads the store.
func (s *Service) access(ctx context.Context, u *confab.User, id string, need accessNeed) (*access, error) {
	if !confab.IsConversationID(id) {
		return nil, confab.ErrChannelNotFound
	}
	now := s.now().UnixNano()
	meta, cached := s.cache.channels.get(id, now)
	read := !cached
	version, known, vgen := s.cache.versions.get(id, now)
	if need&needVersion != 0 && !known {
		read = true
	}
	if read {
		c, err := s.loadChannel(ctx, id, vgen)
		if err != nil {
			return nil, err
		}
		meta = channelMeta{WorkspaceID: c.WorkspaceID, Kind: c.Kind, Archived: c.Archived}
		version = c.LastSeq
	}
	a := &access{ID: id}
	if meta.WorkspaceID != u.WorkspaceID {
		return nil, confab.ErrChannelNotFound
	}
	a.WorkspaceID, a.Kind, a.Archived = meta.WorkspaceID, meta.Kind, meta.Archived
	if need&needVersion != 0 {
		a.Version = version
	}
	if meta.Kind == confab.KindPublic && need&needMember == 0 {
		return a, nil // anyone of the workspace may read a public channel
	}
	member, err := s.isMember(ctx, id, u.ID, now)
	if err != nil {
		return nil, err
	}
	a.Member = member
	if err := visible(meta.Kind, member, need&needMember != 0); err != nil {
		return nil, err
	}
	return a, nil
}

// loadChannel reads a channel for access and caches what it read. Callers
// that missed together share one read — a thousand readers of a channel
// nobody read lately cost one query — but only callers that saw the same
// generations: a caller that arrived after a change (an archive, a commit
// to a channel whose version is not tracked) never takes the result of a
// read that started before it. The shared read is detached from the
// callers' contexts and bounded by sharedReadTimeout.
func (s *Service) loadChannel(ctx context.Context, id string, vgen uint64) (*confab.Channel, error) {
	gen := s.cache.channels.generation()
	key := id + "/" + strconv.FormatUint(gen, 10) + "/" + strconv.FormatUint(vgen, 10)
	ch := s.cache.loads.DoChan(key, func() (any, error) {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sharedReadTimeout)
		defer cancel()
		c, err := s.store.FindChannelByID(rctx, id)
		if err != nil {
			return nil, err
		}
		s.cache.channels.put(id, channelMeta{WorkspaceID: c.WorkspaceID, Kind: c.Kind, Archived: c.Archived}, s.cache.expiry(), gen)
		s.cache.versions.load(id, c.LastSeq, s.cache.expiryAfter(sharedVersionTTL), vgen)
		return c, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*confab.Channel), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// isMember reports whether userID is in channelID, from the cache or the
// store. A refusal is cached only where the cache is exact.
func (s *Service) isMember(ctx context.Context, channelID, userID string, now int64) (bool, error) {
	k := memberKey{channelID, userID}
	if member, ok := s.cache.members.get(k, now); ok {
		return member, nil
	}
	gen := s.cache.members.generation()
	_, err := s.store.FindMembership(ctx, channelID, userID)
	member := err == nil
	if confab.ErrorCode(err) == confab.ENOTFOUND {
		err = nil
	}
	if err != nil {
		return false, err
	}
	if member || s.cache.exclusive {
		s.cache.members.put(k, member, s.cache.expiry(), gen)
	}
	return member, nil
}

// memberChanged drops what the cache holds of userID's membership of
// channelID, and userID's list of channels; call it after the change
// committed (or may have).
func (s *Service) memberChanged(channelID, userID string) {
	s.cache.members.drop(memberKey{channelID, userID})
	s.cache.lists.drop(userID)
}

// membersChanged is memberChanged for each of a new channel's members.
func (s *Service) membersChanged(channelID string, userIDs []string) {
	for _, id := range userIDs {
		s.memberChanged(channelID, id)
	}
}

// channelChanged drops the cached fields of a channel after an update.
func (s *Service) channelChanged(channelID string) {
	s.cache.channels.drop(channelID)
}

// committed records the outcome of a write of a channel's content: at
// seq, its new LastSeq, so that the channel's next reader keys its page by
// it. After an error the write may or may not have committed (a timeout
// after the commit, say): the version is forgotten and read again.
func (s *Service) committed(channelID string, seq int64, err error) {
	switch {
	case err != nil:
		s.cache.versions.forget(channelID)
	case seq > 0:
		s.cache.versions.committed(channelID, seq)
	}
}
