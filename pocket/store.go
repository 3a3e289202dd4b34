package pocket

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"

	"github.com/confab/confab"
)

// DB is one database under a Store: the whole store contract and Close.
// *postgres.DB is one; a DB that also has Ping(ctx) error is pinged by
// Store.Ping.
type DB interface {
	confab.Store
	Close() error
}

// recorder is what the directory's DB has to record a workspace whose
// channels live in its pocket's own database: CreateWorkspace without the
// general channel, which that database holds (postgres.DB has it).
type recorder interface {
	CreateWorkspaceRecord(ctx context.Context, ws *confab.Workspace, owner *confab.User) error
}

// pinger is the optional health check of a DB.
type pinger interface {
	Ping(ctx context.Context) error
}

// StoreConfig configures a Store.
type StoreConfig struct {
	// Directory is the main database: it holds the workspaces, users and
	// tokens of every pocket, and everything of the workspaces whose pocket
	// has no database of its own. Required.
	Directory DB
	// Pockets holds, by pocket name, the database of each pocket that has
	// its own. A nil value stands for a pocket that has its own database
	// which this process did not open (a gateway opens only its pocket's):
	// calls about its workspaces fail rather than reach the directory.
	Pockets map[string]DB
	// PocketOf names the pocket of a workspace from its id and domain
	// (Map.For). It is asked when a workspace is created (before the
	// directory knows it) and, once, for each workspace afterwards.
	PocketOf func(workspaceID, domain string) string
	// CacheSize bounds each of the store's caches (channel → database,
	// workspace → database, user → workspace); 0 means 100,000 entries.
	CacheSize int
	// Logger defaults to a discard logger.
	Logger *slog.Logger
}

// Store is a confab store over several databases: the directory and the
// databases of the pockets that have their own. It routes each call to the
// database that holds its data:
//
//   - workspaces, users and tokens are read from and written to the
//     directory, which enforces the uniqueness of domains and user names
//     for everyone (so signing in needs no pocket);
//   - a channel, with its memberships, messages and reactions, lives in the
//     database of its workspace's pocket (the directory for a pocket
//     without its own).
//
// The schema's foreign keys need a pocket database to hold its workspaces
// and their users: CreateWorkspace and CreateUser write a copy there first,
// then the directory. A copy carries the ids and creation times only, with
// the id in place of the domain or the user name and no password hash: the
// directory alone holds names and decides whether one is taken, so a copy
// left behind by a create that the directory refused (name_taken) or that
// failed between the two writes is harmless, unreachable and never blocks a
// later name. Every multi-row change (a message, a channel with its members)
// is within one database; no transaction spans two.
//
// A channel's database is found from its workspace when it is created and
// cached (a channel never changes workspace); on a miss (a channel created
// by another process) every database is asked, directory first. What the
// directory cannot place (an unknown workspace, user or channel) is the
// directory's to answer, so such calls behave exactly as on one database.
// A user can only be a member of channels of his own workspace's pocket.
//
// The Store owns its databases: Close closes them all. It is safe for
// concurrent use.
type Store struct {
	// immutable after NewStore
	dir      *route
	pockets  map[string]*route // by pocket name; db nil: not open here
	all      []*route          // the open databases, directory first
	pocketOf func(workspaceID, domain string) string
	log      *slog.Logger

	channels   *cache[*route] // channel id → database
	workspaces *cache[*route] // workspace id → database
	users      *cache[string] // user id → workspace id
}

// route is one database and the pocket it serves ("" for the directory).
type route struct {
	pocket string
	db     DB // nil: the pocket's own database is not open in this process
}

// NewStore returns a Store over the directory and the pockets' databases.
func NewStore(cfg StoreConfig) (*Store, error) {
	if cfg.Directory == nil || cfg.PocketOf == nil {
		return nil, errors.New("pocket store: Directory and PocketOf are required")
	}
	size := cfg.CacheSize
	if size <= 0 {
		size = 100_000
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Store{
		dir:        &route{db: cfg.Directory},
		pockets:    map[string]*route{},
		pocketOf:   cfg.PocketOf,
		log:        log,
		channels:   newCache[*route](size),
		workspaces: newCache[*route](size),
		users:      newCache[string](size),
	}
	s.all = []*route{s.dir}
	names := make([]string, 0, len(cfg.Pockets))
	for name := range cfg.Pockets {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		r := &route{pocket: name, db: cfg.Pockets[name]}
		s.pockets[name] = r
		if r.db != nil {
			s.all = append(s.all, r)
		}
	}
	return s, nil
}

// Close closes every database, the directory last.
func (s *Store) Close() error {
	var errs []error
	for i := len(s.all) - 1; i >= 0; i-- {
		if err := s.all[i].db.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Ping checks that every database answers.
func (s *Store) Ping(ctx context.Context) error {
	for _, r := range s.all {
		if p, ok := r.db.(pinger); ok {
			if err := p.Ping(ctx); err != nil {
				return fmt.Errorf("%s: %w", r, err)
			}
		}
	}
	return nil
}

// writePinger is the optional write check of a DB.
type writePinger interface {
	PingWrite(ctx context.Context) error
}

// PingWrite checks that every database takes a write.
func (s *Store) PingWrite(ctx context.Context) error {
	for _, r := range s.all {
		if p, ok := r.db.(writePinger); ok {
			if err := p.PingWrite(ctx); err != nil {
				return fmt.Errorf("%s: %w", r, err)
			}
		}
	}
	return nil
}

func (r *route) String() string {
	if r.pocket == "" {
		return "directory"
	}
	return "pocket " + r.pocket + " database"
}

// own reports whether r is a pocket's own database, not the directory.
func (r *route) own() bool { return r.pocket != "" }

// place returns the database of a workspace of the given id and domain.
func (s *Store) place(workspaceID, domain string) (*route, error) {
	name := s.pocketOf(workspaceID, domain)
	r := s.pockets[name]
	if r == nil {
		return s.dir, nil
	}
	if r.db == nil {
		return nil, fmt.Errorf("workspace %s lives in pocket %s, whose database is not open in this process", workspaceID, name)
	}
	return r, nil
}

// ofWorkspace returns the database of a workspace: the directory if the
// directory does not know it.
func (s *Store) ofWorkspace(ctx context.Context, workspaceID string) (*route, error) {
	if r, ok := s.workspaces.get(workspaceID); ok {
		return r, nil
	}
	ws, err := s.dir.db.FindWorkspaceByID(ctx, workspaceID)
	if confab.ErrorCode(err) == confab.ENOTFOUND {
		return s.dir, nil
	} else if err != nil {
		return nil, err
	}
	r, err := s.place(ws.ID, ws.Domain)
	if err != nil {
		return nil, err
	}
	s.workspaces.put(workspaceID, r)
	return r, nil
}

// ofChannel returns the database of a channel: the directory if no
// database has it.
func (s *Store) ofChannel(ctx context.Context, channelID string) (*route, error) {
	if r, ok := s.channels.get(channelID); ok {
		return r, nil
	}
	if len(s.all) == 1 {
		return s.dir, nil
	}
	for _, r := range s.all {
		_, err := r.db.FindChannelByID(ctx, channelID)
		if confab.ErrorCode(err) == confab.ENOTFOUND {
			continue
		} else if err != nil {
			return nil, err
		}
		s.channels.put(channelID, r)
		return r, nil
	}
	return s.dir, nil
}

// ofUser returns the database of a user's workspace: the directory if the
// directory does not know the user.
func (s *Store) ofUser(ctx context.Context, userID string) (*route, error) {
	wsID, ok := s.users.get(userID)
	if !ok {
		u, err := s.dir.db.FindUserByID(ctx, userID)
		if confab.ErrorCode(err) == confab.ENOTFOUND {
			return s.dir, nil
		} else if err != nil {
			return nil, err
		}
		wsID = u.WorkspaceID
		s.users.put(userID, wsID)
	}
	return s.ofWorkspace(ctx, wsID)
}

// copyOfUser is the row of u that a pocket database holds for the foreign
// keys: its id stands in for its name, and no secret or profile (email
// included) is copied.
func copyOfUser(u *confab.User) *confab.User {
	return &confab.User{ID: u.ID, WorkspaceID: u.WorkspaceID, Name: u.ID, IsBot: u.IsBot, Deleted: u.Deleted, Created: u.Created}
}

// CreateWorkspace creates ws and its owner in the directory, after their
// copies in the database of the workspace's pocket if it has its own,
// which then holds its general channel (the directory's record has none,
// so the directory's CreateUser joins nothing).
func (s *Store) CreateWorkspace(ctx context.Context, ws *confab.Workspace, owner *confab.User) error {
	w, u := *ws, *owner
	if w.ID == "" {
		w.ID = confab.NewID(confab.PrefixWorkspace)
	}
	if u.ID == "" {
		u.ID = confab.NewID(confab.PrefixUser)
	}
	u.WorkspaceID = w.ID
	r, err := s.place(w.ID, w.Domain)
	if err != nil {
		return err
	}
	if r.own() {
		cw := &confab.Workspace{ID: w.ID, Name: w.Name, Domain: w.ID, Created: w.Created}
		if err := r.db.CreateWorkspace(ctx, cw, copyOfUser(&u)); err != nil {
			return fmt.Errorf("copy of workspace %s in %s: %w", w.ID, r, err)
		}
	}
	create := s.dir.db.CreateWorkspace
	if rec, ok := s.dir.db.(recorder); ok && r.own() {
		create = rec.CreateWorkspaceRecord // its general channel is in its pocket's database
	}
	if err := create(ctx, &w, &u); err != nil {
		if r.own() {
			s.log.Info("workspace not created; its copy stays in its pocket's database, unreachable",
				"workspace", w.ID, "pocket", r.pocket, "err", err)
		}
		return err
	}
	s.workspaces.put(w.ID, r)
	s.users.put(u.ID, w.ID)
	*ws, *owner = w, u
	return nil
}

func (s *Store) FindWorkspaceByID(ctx context.Context, id string) (*confab.Workspace, error) {
	return s.dir.db.FindWorkspaceByID(ctx, id)
}

func (s *Store) FindWorkspaceByDomain(ctx context.Context, domain string) (*confab.Workspace, error) {
	return s.dir.db.FindWorkspaceByDomain(ctx, domain)
}

// CreateUser creates u in the directory, after its copy in the database of
// its workspace's pocket if it has its own (which logs its team_join: see
// wslog.go).
func (s *Store) CreateUser(ctx context.Context, u *confab.User) error {
	c := *u
	if c.ID == "" {
		c.ID = confab.NewID(confab.PrefixUser)
	}
	r, err := s.ofWorkspace(ctx, c.WorkspaceID)
	if err != nil {
		return err
	}
	if r.own() {
		if err := s.nameFree(ctx, c.WorkspaceID, c.Name); err != nil {
			return err
		}
		if err := r.db.CreateUser(ctx, copyOfUser(&c)); err != nil {
			return fmt.Errorf("copy of user %s in %s: %w", c.ID, r, err)
		}
	}
	if err := s.dir.db.CreateUser(ctx, &c); err != nil {
		if r.own() {
			s.log.Info("user not created; its copy stays in its pocket's database, unreachable",
				"user", c.ID, "pocket", r.pocket, "err", err)
		}
		return err
	}
	s.users.put(c.ID, c.WorkspaceID)
	*u = c
	return nil
}

func (s *Store) FindUserByID(ctx context.Context, id string) (*confab.User, error) {
	return s.dir.db.FindUserByID(ctx, id)
}

func (s *Store) FindUserByName(ctx context.Context, workspaceID, name string) (*confab.User, error) {
	return s.dir.db.FindUserByName(ctx, workspaceID, name)
}

// FindUserByEmail and UpdateUser are the directory's: it alone holds
// profiles (copyOfUser) and decides whether an email is taken.
func (s *Store) FindUserByEmail(ctx context.Context, workspaceID, email string) (*confab.User, error) {
	return s.dir.db.FindUserByEmail(ctx, workspaceID, email)
}

// UpdateUser updates the directory's user, then, in a pocket with a
// database of its own, the user's copy there, whose transaction appends
// the user_change its workspace's log is read for (as CreateUser's copy
// does team_join). A failure between the two leaves the change without its
// event; it is logged.
func (s *Store) UpdateUser(ctx context.Context, id string, upd confab.UserUpdate) (*confab.User, error) {
	u, err := s.dir.db.UpdateUser(ctx, id, upd)
	if err != nil {
		return nil, err
	}
	r, err := s.ofWorkspace(ctx, u.WorkspaceID)
	if err == nil && r.own() {
		_, err = r.db.UpdateUser(ctx, id, upd)
	}
	if err != nil {
		s.log.Warn("user updated without its user_change in its pocket's log", "user", id, "err", err)
	}
	return u, nil
}

func (s *Store) FindUsers(ctx context.Context, f confab.UserFilter) ([]*confab.User, error) {
	return s.dir.db.FindUsers(ctx, f)
}

// SearchUsers is the directory's: it alone holds profiles (copyOfUser),
// and so the names a search matches.
func (s *Store) SearchUsers(ctx context.Context, f confab.UserSearch) ([]*confab.User, error) {
	return s.dir.db.SearchUsers(ctx, f)
}

func (s *Store) CreateToken(ctx context.Context, t *confab.Token) error {
	return s.dir.db.CreateToken(ctx, t)
}

func (s *Store) FindToken(ctx context.Context, hash []byte) (*confab.Token, error) {
	return s.dir.db.FindToken(ctx, hash)
}

func (s *Store) DeleteToken(ctx context.Context, hash []byte) error {
	return s.dir.db.DeleteToken(ctx, hash)
}

func (s *Store) DeleteUserTokens(ctx context.Context, userID string, keep []byte) ([][]byte, error) {
	return s.dir.db.DeleteUserTokens(ctx, userID, keep)
}

// Claims are the directory's, as its users' passwords and tokens are: a
// pocket's copy of a user holds no password (copyOfUser).
func (s *Store) CreateClaim(ctx context.Context, c *confab.Claim) error {
	return s.dir.db.CreateClaim(ctx, c)
}

func (s *Store) FindClaim(ctx context.Context, hash []byte, now int64) (*confab.Claim, error) {
	return s.dir.db.FindClaim(ctx, hash, now)
}

func (s *Store) ClaimUser(ctx context.Context, c confab.UserClaim) (*confab.User, error) {
	return s.dir.db.ClaimUser(ctx, c)
}

// CreateChannel creates c in the database of its workspace's pocket.
func (s *Store) CreateChannel(ctx context.Context, c *confab.Channel, members []string) error {
	r, err := s.ofWorkspace(ctx, c.WorkspaceID)
	if err != nil {
		return err
	}
	if err := r.db.CreateChannel(ctx, c, members); err != nil {
		return err
	}
	s.channels.put(c.ID, r)
	return nil
}

func (s *Store) FindChannelByID(ctx context.Context, id string) (*confab.Channel, error) {
	r, err := s.ofChannel(ctx, id)
	if err != nil {
		return nil, err
	}
	return r.db.FindChannelByID(ctx, id)
}

func (s *Store) FindChannelByKey(ctx context.Context, workspaceID, key string) (*confab.Channel, error) {
	r, err := s.ofWorkspace(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	return r.db.FindChannelByKey(ctx, workspaceID, key)
}

func (s *Store) FindChannels(ctx context.Context, f confab.ChannelFilter) ([]*confab.Channel, error) {
	r, err := s.ofWorkspace(ctx, f.WorkspaceID)
	if err != nil {
		return nil, err
	}
	return r.db.FindChannels(ctx, f)
}

func (s *Store) UpdateChannel(ctx context.Context, id string, upd confab.ChannelUpdate) (*confab.Channel, error) {
	r, err := s.ofChannel(ctx, id)
	if err != nil {
		return nil, err
	}
	return r.db.UpdateChannel(ctx, id, upd)
}

func (s *Store) AddMember(ctx context.Context, channelID, userID string, joinedAt int64) (bool, error) {
	r, err := s.ofChannel(ctx, channelID)
	if err != nil {
		return false, err
	}
	return r.db.AddMember(ctx, channelID, userID, joinedAt)
}

func (s *Store) RemoveMember(ctx context.Context, channelID, userID string) (bool, error) {
	r, err := s.ofChannel(ctx, channelID)
	if err != nil {
		return false, err
	}
	return r.db.RemoveMember(ctx, channelID, userID)
}

func (s *Store) FindMembership(ctx context.Context, channelID, userID string) (*confab.Membership, error) {
	r, err := s.ofChannel(ctx, channelID)
	if err != nil {
		return nil, err
	}
	return r.db.FindMembership(ctx, channelID, userID)
}

// FindMemberships lists the user's memberships from the database of his
// workspace's pocket.
func (s *Store) FindMemberships(ctx context.Context, userID string) ([]*confab.Membership, error) {
	r, err := s.ofUser(ctx, userID)
	if err != nil {
		return nil, err
	}
	return r.db.FindMemberships(ctx, userID)
}

func (s *Store) FindMembers(ctx context.Context, f confab.MemberFilter) ([]string, error) {
	r, err := s.ofChannel(ctx, f.ChannelID)
	if err != nil {
		return nil, err
	}
	return r.db.FindMembers(ctx, f)
}

func (s *Store) UpdateMembership(ctx context.Context, channelID, userID string, upd confab.MembershipUpdate) (*confab.Membership, error) {
	r, err := s.ofChannel(ctx, channelID)
	if err != nil {
		return nil, err
	}
	return r.db.UpdateMembership(ctx, channelID, userID, upd)
}

func (s *Store) CreateMessage(ctx context.Context, m *confab.Message) (bool, error) {
	r, err := s.ofChannel(ctx, m.ChannelID)
	if err != nil {
		return false, err
	}
	return r.db.CreateMessage(ctx, m)
}

func (s *Store) FindMessage(ctx context.Context, channelID string, ts int64) (*confab.Message, error) {
	r, err := s.ofChannel(ctx, channelID)
	if err != nil {
		return nil, err
	}
	return r.db.FindMessage(ctx, channelID, ts)
}

func (s *Store) FindMessages(ctx context.Context, f confab.MessageFilter) ([]*confab.Message, error) {
	r, err := s.ofChannel(ctx, f.ChannelID)
	if err != nil {
		return nil, err
	}
	return r.db.FindMessages(ctx, f)
}

// FindLatestMessages asks each database at most once, for its share of
// the channels: a channel whose database is cached goes to that database;
// the others (found by another process) go to every open database, since a
// channel lives in one database only and the others leave it out. What
// they find is cached.
func (s *Store) FindLatestMessages(ctx context.Context, channelIDs []string) (map[string]*confab.Message, error) {
	if len(channelIDs) == 0 {
		return s.dir.db.FindLatestMessages(ctx, nil)
	}
	byRoute := map[*route][]string{}
	var unplaced []string
	for _, id := range channelIDs {
		if r, ok := s.channels.get(id); ok {
			byRoute[r] = append(byRoute[r], id)
		} else {
			unplaced = append(unplaced, id)
		}
	}
	out := make(map[string]*confab.Message, len(channelIDs))
	for _, r := range s.all {
		ids := byRoute[r]
		if len(unplaced) > 0 {
			ids = append(ids, unplaced...)
		}
		if len(ids) == 0 {
			continue
		}
		msgs, err := r.db.FindLatestMessages(ctx, ids)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r, err)
		}
		for id, m := range msgs {
			out[id] = m
			if len(unplaced) > 0 {
				s.channels.put(id, r)
			}
		}
	}
	return out, nil
}

func (s *Store) SeqAtTS(ctx context.Context, channelID string, ts int64) (int64, bool, error) {
	r, err := s.ofChannel(ctx, channelID)
	if err != nil {
		return 0, false, err
	}
	return r.db.SeqAtTS(ctx, channelID, ts)
}

func (s *Store) UpdateMessage(ctx context.Context, channelID string, ts int64, upd confab.MessageUpdate, editedTS int64) (*confab.Message, error) {
	r, err := s.ofChannel(ctx, channelID)
	if err != nil {
		return nil, err
	}
	return r.db.UpdateMessage(ctx, channelID, ts, upd, editedTS)
}

func (s *Store) DeleteMessage(ctx context.Context, channelID string, ts int64) (*confab.Message, error) {
	r, err := s.ofChannel(ctx, channelID)
	if err != nil {
		return nil, err
	}
	return r.db.DeleteMessage(ctx, channelID, ts)
}

func (s *Store) AddReaction(ctx context.Context, channelID string, ts int64, userID, name string) (*confab.ReactionChange, error) {
	r, err := s.ofChannel(ctx, channelID)
	if err != nil {
		return nil, err
	}
	return r.db.AddReaction(ctx, channelID, ts, userID, name)
}

func (s *Store) RemoveReaction(ctx context.Context, channelID string, ts int64, userID, name string) (*confab.ReactionChange, error) {
	r, err := s.ofChannel(ctx, channelID)
	if err != nil {
		return nil, err
	}
	return r.db.RemoveReaction(ctx, channelID, ts, userID, name)
}

func (s *Store) FindChanges(ctx context.Context, channelID string, after int64, limit int) ([]confab.Change, error) {
	r, err := s.ofChannel(ctx, channelID)
	if err != nil {
		return nil, err
	}
	return r.db.FindChanges(ctx, channelID, after, limit)
}

// cache is a map bounded to max entries: when full, an arbitrary entry
// makes room. It holds facts that never change (a channel's workspace), so
// an entry is never stale, only forgotten.
type cache[V any] struct {
	max int
	mu  sync.Mutex
	m   map[string]V // guarded by mu
}

func newCache[V any](max int) *cache[V] { return &cache[V]{max: max, m: map[string]V{}} }

func (c *cache[V]) get(k string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[k]
	return v, ok
}

func (c *cache[V]) put(k string, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; !ok && len(c.m) >= c.max {
		for old := range c.m {
			delete(c.m, old)
			break
		}
	}
	c.m[k] = v
}

func (s *Store) ImportMessages(ctx context.Context, channelID string, msgs []*confab.Message) (int, error) {
	r, err := s.ofChannel(ctx, channelID)
	if err != nil {
		return 0, err
	}
	return r.db.ImportMessages(ctx, channelID, msgs)
}
