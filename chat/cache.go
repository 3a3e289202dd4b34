package chat

import (
	"context"
	"crypto/sha256"
	"errors"
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
//   - users: user id → user (only users.profile.set changes one, and its
//     write drops it; the connections of a user on a gateway share one);
//   - workspaces: id → workspace (never changed after creation);
//   - channels: the few fields access needs (workspace, kind, archived);
//   - members: (channel, user) → member or not;
//   - lists: user id → the ids of the user's channels, under ExactAccess
//     only (userChannelIDs): a reconnecting client's registration and
//     catch-up then read no membership;
//   - versions: channel → LastSeq and PinVersion, the key that lets
//     History share a hot page (coalescer);
//   - scopes: bot user id → its app's bot scopes, which every request of
//     a bot token is checked against (BotScopes).
//
// How an entry stays true depends on who else writes the store, which
// whoever chose the store knows and says with an AccessPolicy:
//
//   - ExactAccess (`confab serve` on its SQLite file): every change goes
//     through this process, whose store drops the entries a write changes
//     in the same call, after the commit and before answering (invalidate.go).
//     The cache is then exact: entries never expire, grants and refusals
//     are both kept, and versions are tracked from this process's own
//     commits.
//   - SharedAccess(ttl) (several API processes on one PostgreSQL): another
//     process may change what an entry says. Entries expire after ttl, only
//     grants are cached (a refusal is always read again, so a join made
//     through another process counts at once), a user's list of channels
//     is never kept, and a version read from the store is reused for
//     sharedVersionTTL. A grant taken away through another process — a
//     revoked token, a member who left, an archived channel — may thus be
//     honoured for up to ttl, and a page read may miss another process's
//     newest messages for up to sharedVersionTTL; this process's own
//     changes count at once.
//
// A load that raced with an invalidation must not put back what it read
// before the change: each map has a generation, bumped by every
// invalidation, and a load stores its result only if the generation is
// the one it saw before reading the store.
//
// Each map is bounded; when one is full, an arbitrary eighth of it goes.
type accessCache struct {
	policy AccessPolicy
	now    func() time.Time

	tokens   cacheMap[[sha256.Size]byte, string]
	users    cacheMap[string, *confab.User]
	spaces   cacheMap[string, *confab.Workspace]
	channels cacheMap[string, channelMeta]
	members  cacheMap[memberKey, bool]
	lists    cacheMap[string, []string]
	scopes   cacheMap[string, []string]
	versions versionMap
	loads    singleflight.Group // channel reads (loadChannel)
}

// channelMeta is what authorization reads of a channel.
type channelMeta struct {
	WorkspaceID string
	Kind        string
	Archived    bool
	CreatedBy   string
	IsGeneral   bool
}

type memberKey struct{ channel, user string }

// DefaultCacheTTL is SharedAccess's default: how long a grant taken away
// through another process may still be honoured.
const DefaultCacheTTL = 5 * time.Second

const (
	maxCachedTokens   = 100_000
	maxCachedUsers    = 100_000
	maxCachedSpaces   = 10_000
	maxCachedChannels = 100_000
	maxCachedMembers  = 500_000
	maxCachedLists    = 100_000
	maxCachedScopes   = 100_000
	maxCachedVersions = 100_000
	// sharedVersionTTL is how long a shared store's channel version is
	// reused. Read every time, it costs a query per History call, and the
	// readers of a viral announcement, which arrive spread over a few
	// hundred milliseconds, share few of them; reused this long, they cost
	// a handful. What it costs: a page read through this process may miss
	// a message another process committed that recently — the client gets
	// it live, or catches up on the seq gap the next event shows.
	sharedVersionTTL = 100 * time.Millisecond
)

// An AccessPolicy says how long the access cache trusts what it read from
// the store. It is chosen where the store is chosen (Config.Access), by
// whoever knows who else writes it: ExactAccess or SharedAccess.
type AccessPolicy interface {
	// lifetime says whether an entry of kind read at now is kept, and
	// until when (unix ns; 0: until it is invalidated).
	lifetime(kind entryKind, now time.Time) (until int64, keep bool)
	// memberVersions returns the LastSeq of every channel u is in: what
	// client.catchup compares the client's checkpoints with.
	memberVersions(ctx context.Context, s *Service, u *confab.User) ([]channelVersion, error)
	// confirmToken returns nil if the token of hash exists as of the call,
	// else invalid_auth (Service.CheckAdmission).
	confirmToken(ctx context.Context, s *Service, hash [sha256.Size]byte) error
}

// entryKind is what an entry of the access cache says.
type entryKind uint8

const (
	grantEntry   entryKind = iota // a token, user, workspace, channel or membership that exists
	refusalEntry                  // a membership that does not
	listEntry                     // a user's list of channels
	versionEntry                  // a channel's LastSeq and PinVersion
)

// ExactAccess is the policy for a store that only this Service writes
// (`confab serve` on its own SQLite file, tests, the admin command): every
// write goes through it and drops what it changes, so entries are kept
// until then.
func ExactAccess() AccessPolicy { return exactPolicy{} }

// SharedAccess is the policy for a store that other processes write too
// (a PostgreSQL shared by API processes): a grant is trusted for ttl
// (0 or less: 5 seconds), a refusal or a user's list of channels is
// always read again.
func SharedAccess(ttl time.Duration) AccessPolicy {
	if ttl <= 0 {
		ttl = DefaultCacheTTL
	}
	return ttlPolicy{ttl: ttl}
}

type exactPolicy struct{}

func (exactPolicy) lifetime(entryKind, time.Time) (int64, bool) { return 0, true }

// memberVersions reads nothing when the cache holds u's channels and
// their versions (a reconnect storm's catch-ups: see userChannelIDs); a
// channel not cached is read once for all its members.
func (exactPolicy) memberVersions(ctx context.Context, s *Service, u *confab.User) ([]channelVersion, error) {
	ids, err := s.userChannelIDs(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	out := make([]channelVersion, 0, len(ids))
	for _, id := range ids {
		_, err := s.authorize(ctx, u, id, actionCatchUp)
		switch {
		case errors.Is(err, confab.ErrChannelNotFound) || errors.Is(err, confab.ErrNotInChannel):
			continue // left since the list was read
		case err != nil:
			return nil, err
		}
		v, err := s.version(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, channelVersion{id, v.seq})
	}
	return out, nil
}

// confirmToken reads the cache, which is exact.
func (exactPolicy) confirmToken(ctx context.Context, s *Service, hash [sha256.Size]byte) error {
	_, err := s.tokenUser(ctx, hash)
	return err
}

type ttlPolicy struct{ ttl time.Duration }

// confirmToken reads the store: a cached grant may be up to ttl old, and
// a connection admitted on it would outlive the revocation it missed.
func (ttlPolicy) confirmToken(ctx context.Context, s *Service, hash [sha256.Size]byte) error {
	_, err := s.store.FindToken(ctx, hash[:])
	if confab.ErrorCode(err) == confab.ENOTFOUND {
		return confab.ErrInvalidAuth
	}
	return err
}

func (p ttlPolicy) lifetime(kind entryKind, now time.Time) (int64, bool) {
	switch kind {
	case grantEntry:
		return now.Add(p.ttl).UnixNano(), true
	case versionEntry:
		return now.Add(sharedVersionTTL).UnixNano(), true
	}
	return 0, false
}

// memberVersions reads u's channels in one query: a list kept in memory
// would miss a join made through another process.
func (ttlPolicy) memberVersions(ctx context.Context, s *Service, u *confab.User) ([]channelVersion, error) {
	cs, err := s.store.FindChannels(ctx, confab.ChannelFilter{WorkspaceID: u.WorkspaceID, MemberID: u.ID, Limit: maxMemberships})
	if err != nil {
		return nil, err
	}
	out := make([]channelVersion, len(cs))
	for i, c := range cs {
		out[i] = channelVersion{c.ID, c.LastSeq}
	}
	return out, nil
}

func newAccessCache(policy AccessPolicy, now func() time.Time) *accessCache {
	c := &accessCache{policy: policy, now: now}
	c.tokens.init(maxCachedTokens)
	c.users.init(maxCachedUsers)
	c.spaces.init(maxCachedSpaces)
	c.channels.init(maxCachedChannels)
	c.members.init(maxCachedMembers)
	c.lists.init(maxCachedLists)
	c.scopes.init(maxCachedScopes)
	c.versions.init(maxCachedVersions)
	return c
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

// chanVersion names the state of a channel's pages: its LastSeq, which
// every change of its content moves, and its PinVersion, which every pin
// and unpin moves (pins take no seq).
type chanVersion struct {
	seq, pins int64
}

func versionOf(c *confab.Channel) chanVersion { return chanVersion{c.LastSeq, c.PinVersion} }

// versionMap keeps channels' versions (chanVersion) as read from the store — for good on
// ExactAccess, for sharedVersionTTL under SharedAccess — and moves it
// on with this process's own commits. A version only goes up. A channel
// not in the map (or expired) is read from the store; a commit to a
// channel not in the map bumps the generation, so that a load that read
// before that commit does not store its older version.
type versionMap struct {
	mu  sync.Mutex
	m   map[string]cacheEntry[chanVersion]
	max int
	gen uint64
}

func (v *versionMap) init(max int) {
	v.m = make(map[string]cacheEntry[chanVersion])
	v.max = max
}

// get returns channel's version unless it is unknown or expired at now
// (unix ns), and the generation a load must pass.
func (v *versionMap) get(channel string, now int64) (version chanVersion, ok bool, gen uint64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	e, ok := v.m[channel]
	ok = ok && (e.until == 0 || now < e.until)
	return e.v, ok, v.gen
}

// load stores a version read from the store, valid until until (unix ns;
// 0: for good), if no commit or eviction happened since gen was read.
func (v *versionMap) load(channel string, version chanVersion, until int64, gen uint64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if gen != v.gen {
		return
	}
	if len(v.m) >= v.max {
		evict(v.m, v.max/8)
		v.gen++
	}
	old := v.m[channel].v
	v.m[channel] = cacheEntry[chanVersion]{v: chanVersion{max(old.seq, version.seq), max(old.pins, version.pins)}, until: until}
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
		v.m[channel] = cacheEntry[chanVersion]{v: chanVersion{max(old.v.seq, seq), old.v.pins}, until: old.until}
	} else {
		v.gen++
	}
}

// lifetime says whether an entry of kind read now is kept, and until when.
func (c *accessCache) lifetime(kind entryKind) (until int64, keep bool) {
	return c.policy.lifetime(kind, c.now())
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
		if until, keep := s.cache.lifetime(grantEntry); keep {
			s.cache.tokens.put(sum, id, until, gen)
		}
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
	if until, keep := s.cache.lifetime(grantEntry); keep {
		s.cache.users.put(id, u, until, gen)
	}
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
	if until, keep := s.cache.lifetime(grantEntry); keep {
		s.cache.spaces.put(id, ws, until, gen)
	}
	return ws, nil
}

// channelMeta returns what authorize reads of channel id, from the cache
// or the store.
func (s *Service) channelMeta(ctx context.Context, id string, now int64) (channelMeta, error) {
	if meta, ok := s.cache.channels.get(id, now); ok {
		return meta, nil
	}
	_, _, vgen := s.cache.versions.get(id, now)
	c, err := s.loadChannel(ctx, id, vgen)
	if err != nil {
		return channelMeta{}, err
	}
	return metaOf(c), nil
}

func metaOf(c *confab.Channel) channelMeta {
	return channelMeta{WorkspaceID: c.WorkspaceID, Kind: c.Kind, Archived: c.Archived, CreatedBy: c.CreatedBy, IsGeneral: c.IsGeneral}
}

// version returns channel id's version as of the call or later, from the
// cache or the store; call it after authorize.
func (s *Service) version(ctx context.Context, id string) (chanVersion, error) {
	v, ok, vgen := s.cache.versions.get(id, s.now().UnixNano())
	if ok {
		return v, nil
	}
	c, err := s.loadChannel(ctx, id, vgen)
	if err != nil {
		return chanVersion{}, err
	}
	return versionOf(c), nil
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
		if until, keep := s.cache.lifetime(grantEntry); keep {
			s.cache.channels.put(id, metaOf(c), until, gen)
		}
		if until, keep := s.cache.lifetime(versionEntry); keep {
			s.cache.versions.load(id, versionOf(c), until, vgen)
		}
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
// store. A refusal is cached only where the policy keeps refusals.
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
	kind := refusalEntry
	if member {
		kind = grantEntry
	}
	if until, keep := s.cache.lifetime(kind); keep {
		s.cache.members.put(k, member, until, gen)
	}
	return member, nil
}
