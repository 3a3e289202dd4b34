package bench

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/crypto/bcrypt"

	"github.com/confab/confab"
	"github.com/confab/confab/store/postgres"
	"github.com/confab/confab/store/sqlite"
)

// The search scenario's data is loaded offline: the bench opens the store
// itself (the server is not running on it yet) and writes the workspace
// through the Store interface, the messages through Store.CreateMessage,
// the server's own write path, which indexes each message in the
// transaction that stores it. What makes it fast is only the batching:
// SQLite's committer puts up to searchLoadBatch concurrent CreateMessage
// calls in one transaction (group commit, as the server does with 64),
// with synchronous=normal; PostgreSQL gets searchLoadConnsPG concurrent
// writers. One worker owns each conversation and posts its messages in ts
// order, so that the store keeps their made-up times (it would move a
// message older than its conversation's last to just after it).
const (
	searchLoadBatch   = 1024
	searchLoadConnsPG = 64
	// searchManifestFile, in the data directory, records what was loaded,
	// so that later runs on the same directory skip the load.
	searchManifestFile = "search-bench.json"
	searchDBFile       = "confab.db" // as confab serve names it
	// searchManifestVersion changes when the generator does: a directory
	// loaded by another version is refused rather than measured.
	searchManifestVersion = 1
)

// searchManifest is what a load leaves in the data directory for the
// query phase.
type searchManifest struct {
	Version     int             `json:"version"`
	Store       string          `json:"store"` // "sqlite" or "postgres"
	Messages    int             `json:"messages"`
	Channels    int             `json:"channels"`
	Users       int             `json:"users"`
	Team        string          `json:"team"`
	ReaderID    string          `json:"reader_id"`
	ReaderToken string          `json:"reader_token"`
	ReaderIn    int             `json:"reader_in"` // conversations the reader is a member of
	Kinds       map[string]int  `json:"kinds"`     // conversations by kind
	Hidden      []string        `json:"hidden"`    // ids of conversations the reader may not read
	Start       time.Time       `json:"start"`
	End         time.Time       `json:"end"`
	Patterns    []searchPattern `json:"patterns"`
	LoadSeconds float64         `json:"load_seconds"`
	Disk        SearchDisk      `json:"disk"`
}

// openSearchStore opens the store the scenario loads: the SQLite database
// of dataDir, or PostgreSQL when dsn is set.
func openSearchStore(ctx context.Context, dataDir, dsn string, log *slog.Logger) (confab.Store, func() error, error) {
	if dsn != "" {
		db, err := postgres.Open(ctx, postgres.Config{DSN: dsn, MaxConns: searchLoadConnsPG, Logger: log})
		if err != nil {
			return nil, nil, err
		}
		return db, db.Close, nil
	}
	db, err := sqlite.Open(ctx, sqlite.Config{
		Path: filepath.Join(dataDir, searchDBFile), Sync: "normal", MaxBatch: searchLoadBatch, Logger: log,
	})
	if err != nil {
		return nil, nil, err
	}
	return db, db.Close, nil
}

// readSearchManifest reads the manifest of an earlier load; nil if there
// is none.
func readSearchManifest(dataDir string) (*searchManifest, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, searchManifestFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var m searchManifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", searchManifestFile, err)
	}
	return &m, nil
}

func writeSearchManifest(dataDir string, m *searchManifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dataDir, searchManifestFile), b, 0o600)
}

// loadSearch writes the plan's workspace into st and returns the manifest
// (without its disk figures). progress is called every few seconds.
func loadSearch(ctx context.Context, st confab.Store, p *searchPlan, log *slog.Logger) (*searchManifest, error) {
	begin := time.Now()
	created := p.Start.Unix()
	hash, err := bcrypt.GenerateFromPassword([]byte(randomHex(16)), bcrypt.MinCost)
	if err != nil {
		return nil, err
	}
	suffix := randomHex(3)
	team := "search-" + suffix
	users := make([]*confab.User, p.Users)
	for i := range users {
		users[i] = &confab.User{
			ID: confab.NewID(confab.PrefixUser), Name: userName(i), RealName: fmt.Sprintf("User %d", i),
			DisplayName: fmt.Sprintf("User %d", i), PasswordHash: string(hash), Created: created,
			Email: fmt.Sprintf("%s@%s.example", userName(i), team),
		}
	}
	ws := &confab.Workspace{ID: confab.NewID(confab.PrefixWorkspace), Name: team, Domain: team, Created: created}
	for _, u := range users {
		u.WorkspaceID = ws.ID
	}
	if err := st.CreateWorkspace(ctx, ws, users[0]); err != nil {
		return nil, fmt.Errorf("create workspace: %w", err)
	}
	if err := forEach(ctx, len(users)-1, 256, func(ctx context.Context, i int) error {
		return st.CreateUser(ctx, users[i+1])
	}); err != nil {
		return nil, fmt.Errorf("create users: %w", err)
	}
	token := confab.TokenPrefix(confab.TokenUser) + randomHex(32)
	sum := sha256.Sum256([]byte(token))
	if err := st.CreateToken(ctx, &confab.Token{Hash: sum[:], UserID: users[0].ID, Created: time.Now().Unix()}); err != nil {
		return nil, fmt.Errorf("create token: %w", err)
	}

	m := &searchManifest{
		Version: searchManifestVersion, Messages: p.Messages, Channels: len(p.Convs), Users: p.Users,
		Team: team, ReaderID: users[0].ID, ReaderToken: token, Start: p.Start, End: p.End,
		Kinds: map[string]int{},
	}
	chans := make([]*confab.Channel, len(p.Convs))
	for i, c := range p.Convs {
		ch := &confab.Channel{WorkspaceID: ws.ID, Name: c.Name, CreatedBy: users[c.Members[0]].ID, Created: created}
		ids := make([]string, len(c.Members))
		for j, u := range c.Members {
			ids[j] = users[u].ID
		}
		switch c.Kind {
		case convDM, convGroupDM:
			ch.Kind, ch.ID = confab.KindDM, confab.NewID(confab.PrefixDM)
			if c.Kind == convGroupDM {
				ch.Kind, ch.ID = confab.KindGroupDM, confab.NewID(confab.PrefixGroupDM)
			}
			sorted := append([]string(nil), ids...)
			sort.Strings(sorted)
			ch.Key = strings.Join(sorted, ",")
		case convPrivate:
			ch.Kind, ch.ID = confab.KindPrivate, confab.NewID(confab.PrefixChannel)
		default:
			ch.Kind, ch.ID = confab.KindPublic, confab.NewID(confab.PrefixChannel)
		}
		if c.Kind == convGeneral {
			// CreateWorkspace made it, and CreateUser put everyone in it.
			found, err := st.FindChannels(ctx, confab.ChannelFilter{WorkspaceID: ws.ID, Name: "general"})
			if err != nil || len(found) != 1 || !found[0].IsGeneral {
				return nil, fmt.Errorf("the workspace's #general: %d found: %v", len(found), err)
			}
			ch = found[0]
		} else if err := st.CreateChannel(ctx, ch, ids); err != nil {
			return nil, fmt.Errorf("create channel %d: %w", i, err)
		}
		chans[i] = ch
		m.Kinds[c.Kind]++
		if c.Reader {
			m.ReaderIn++
		}
		if !c.Reader && ch.Kind != confab.KindPublic {
			m.Hidden = append(m.Hidden, ch.ID)
		}
	}
	log.Info("workspace created", "team", team, "users", len(users), "conversations", len(chans), "took", time.Since(begin).Round(time.Millisecond))

	// The messages, in the order of their times over the whole workspace,
	// as many at once as the store batches.
	type slot struct {
		ts   int64
		conv int32
		k    int32 // the conversation's k-th message
	}
	slots := make([]slot, 0, p.Messages)
	for i, c := range p.Convs {
		for k, ts := range p.times(convRand(i), c.Messages) {
			slots = append(slots, slot{ts, int32(i), int32(k)})
		}
	}
	sort.Slice(slots, func(a, b int) bool { return slots[a].ts < slots[b].ts })
	type thread struct {
		sync.Mutex
		parents []int64 // recent top-level messages, as stored
	}
	threads := make([]thread, len(p.Convs))
	var done atomic.Int64
	defer every(5*time.Second, func() {
		n := done.Load()
		log.Info("loading", "messages", n, "of", p.Messages, "msgs/s", int(perSecond(n, time.Since(begin))))
	})()
	msgStart := time.Now()
	parallel := searchLoadBatch
	if _, ok := st.(*postgres.DB); ok {
		parallel = searchLoadConnsPG
	}
	err = forEach(ctx, len(slots), parallel, func(ctx context.Context, n int) error {
		sl := slots[n]
		c, ch, th := p.Convs[sl.conv], chans[sl.conv], &threads[sl.conv]
		rng := msgRand(int(sl.conv), int(sl.k))
		msg := &confab.Message{ChannelID: ch.ID, UserID: users[p.poster(rng, c.Members)].ID, TS: sl.ts}
		msg.Text = p.text(rng, users[c.Members[rng.IntN(len(c.Members))]].ID)
		reply := rng.Float64() < searchReplies
		th.Lock()
		if reply && len(th.parents) > 0 {
			msg.ThreadTS = th.parents[rng.IntN(len(th.parents))]
		}
		th.Unlock()
		if _, err := st.CreateMessage(ctx, msg); err != nil {
			return fmt.Errorf("create message in %s: %w", ch.ID, err)
		}
		if msg.ThreadTS == 0 {
			th.Lock()
			if len(th.parents) == 8 {
				th.parents = th.parents[1:]
			}
			th.parents = append(th.parents, msg.TS)
			th.Unlock()
		}
		done.Add(1)
		return nil
	})
	if err != nil {
		return nil, err
	}
	log.Info("messages loaded", "messages", done.Load(), "took", time.Since(msgStart).Round(time.Millisecond),
		"msgs/s", int(perSecond(done.Load(), time.Since(msgStart))))
	archived := true
	for i, c := range p.Convs {
		if c.Kind == convArchived {
			if _, err := st.UpdateChannel(ctx, chans[i].ID, confab.ChannelUpdate{Archived: &archived}); err != nil {
				return nil, fmt.Errorf("archive %s: %w", chans[i].ID, err)
			}
		}
	}
	// Phrases: three words of the first Latin-script message of public
	// conversations, made again as the load made them.
	var ph []string
	for i, c := range p.Convs {
		if c.Kind != convPublic && c.Kind != convGeneral {
			continue
		}
		for k := range min(c.Messages, 5) {
			rng := msgRand(i, k)
			p.poster(rng, c.Members)
			if s := phraseOf(p.text(rng, users[c.Members[rng.IntN(len(c.Members))]].ID)); s != "" {
				ph = append(ph, s)
				break
			}
		}
	}
	m.Patterns = searchPatterns(p, ph)
	m.LoadSeconds = time.Since(begin).Seconds()
	return m, nil
}

// phraseOf returns three adjacent words of a Latin-script message, quoted,
// or "" when it has no such run.
func phraseOf(text string) string {
	var run []string
	for _, f := range strings.Fields(text) {
		w := strings.ToLower(strings.Trim(f, ".,!?"))
		if w == "" || !isASCIIWord(w) || strings.ContainsAny(f, "<>") {
			run = run[:0]
			continue
		}
		run = append(run, w)
		if len(run) == 3 {
			return `"` + strings.Join(run, " ") + `"`
		}
		if strings.ContainsAny(f, ".,!?") {
			run = run[:0]
		}
	}
	return ""
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("bench: crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b)
}

// SearchDisk is the database's size with the search index and without it.
type SearchDisk struct {
	Bytes        int64 `json:"bytes"`         // the database, index included
	BytesWithout int64 `json:"bytes_without"` // without the search index's tables and indexes
	// PerMessage and PerMessageWithout are those over the messages.
	PerMessage        float64 `json:"bytes_per_message"`
	PerMessageWithout float64 `json:"bytes_per_message_without"`
	// Objects are the sizes of the search index's tables, by name, each
	// with its indexes (SQLite: what dropping it alone frees; PostgreSQL:
	// pg_total_relation_size).
	Objects map[string]int64 `json:"objects,omitempty"`
	Note    string           `json:"note,omitempty"`
}

// isSearchObject tells the search index's tables and indexes by name.
func isSearchObject(name string) bool {
	n := strings.ToLower(name)
	return strings.Contains(n, "search") || strings.Contains(n, "fts")
}

// sqliteDisk measures the SQLite database at path, which nothing else
// has open: its used pages, and the used pages once the search index's
// tables are dropped, inside a transaction that is rolled back (the file
// is not changed).
func sqliteDisk(ctx context.Context, path string, messages int) (SearchDisk, error) {
	var d SearchDisk
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=10000")
	if err != nil {
		return d, err
	}
	defer db.Close()
	c, err := db.Conn(ctx)
	if err != nil {
		return d, err
	}
	defer c.Close()
	used := func() (int64, error) {
		var pages, free, size int64
		for q, v := range map[string]*int64{"PRAGMA page_count": &pages, "PRAGMA freelist_count": &free, "PRAGMA page_size": &size} {
			if err := c.QueryRowContext(ctx, q).Scan(v); err != nil {
				return 0, fmt.Errorf("%s: %w", q, err)
			}
		}
		return (pages - free) * size, nil
	}
	if _, err := c.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		return d, err
	}
	if d.Bytes, err = used(); err != nil {
		return d, err
	}
	var objs []struct{ typ, name string }
	rows, err := c.QueryContext(ctx, `SELECT type, name FROM sqlite_master WHERE type IN ('table', 'index', 'trigger') ORDER BY type = 'table' DESC, sql LIKE 'CREATE VIRTUAL%' DESC`)
	if err != nil {
		return d, err
	}
	for rows.Next() {
		var o struct{ typ, name string }
		if err := rows.Scan(&o.typ, &o.name); err != nil {
			rows.Close()
			return d, err
		}
		if isSearchObject(o.name) {
			objs = append(objs, o)
		}
	}
	rows.Close()
	if len(objs) == 0 {
		d.BytesWithout = d.Bytes
		d.Note = "no search tables found"
	} else {
		if _, err := c.ExecContext(ctx, "BEGIN"); err != nil {
			return d, err
		}
		for _, o := range objs {
			// IF EXISTS: dropping a virtual table drops its shadow tables.
			if _, err := c.ExecContext(ctx, fmt.Sprintf(`DROP %s IF EXISTS "%s"`, strings.ToUpper(o.typ), o.name)); err != nil {
				c.ExecContext(ctx, "ROLLBACK")
				return d, fmt.Errorf("drop %s %s: %w", o.typ, o.name, err)
			}
		}
		d.BytesWithout, err = used()
		if _, rerr := c.ExecContext(ctx, "ROLLBACK"); err == nil {
			err = rerr
		}
		if err != nil {
			return d, err
		}
		// Each table alone (its indexes, and a virtual table's shadow
		// tables, with it), the same way.
		d.Objects = map[string]int64{}
		for _, o := range objs {
			if o.typ != "table" || isShadow(o.name, objs) {
				continue
			}
			if _, err := c.ExecContext(ctx, "BEGIN"); err != nil {
				return d, err
			}
			_, err := c.ExecContext(ctx, fmt.Sprintf(`DROP TABLE "%s"`, o.name))
			var without int64
			if err == nil {
				without, err = used()
			}
			if _, rerr := c.ExecContext(ctx, "ROLLBACK"); err == nil {
				err = rerr
			}
			if err != nil {
				return d, fmt.Errorf("drop table %s: %w", o.name, err)
			}
			d.Objects[o.name] = d.Bytes - without
		}
	}
	d.perMessage(messages)
	return d, nil
}

// isShadow tells an FTS5 table's shadow tables (search_words_data, …) by
// the name of another table of objs.
func isShadow(name string, objs []struct{ typ, name string }) bool {
	for _, o := range objs {
		if o.typ == "table" && o.name != name && strings.HasPrefix(name, o.name+"_") {
			return true
		}
	}
	return false
}

// postgresDisk measures the database of dsn: its size, and the search
// index's relations (tables with their indexes and TOAST, and indexes on
// other tables), by name.
func postgresDisk(ctx context.Context, dsn string, messages int) (SearchDisk, error) {
	var d SearchDisk
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return d, errors.New("postgres: invalid DSN") // its error may quote the password
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, "VACUUM ANALYZE"); err != nil {
		return d, err
	}
	if err := pool.QueryRow(ctx, `SELECT pg_database_size(current_database())`).Scan(&d.Bytes); err != nil {
		return d, err
	}
	rows, err := pool.Query(ctx, `SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'i', 'm')
		AND (c.relkind <> 'i' OR NOT EXISTS (SELECT 1 FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid
			WHERE x.indexrelid = c.oid AND (t.relname ILIKE '%search%' OR t.relname ILIKE '%fts%')))`)
	if err != nil {
		return d, err
	}
	defer rows.Close()
	var search int64
	for rows.Next() {
		var name string
		var size int64
		if err := rows.Scan(&name, &size); err != nil {
			return d, err
		}
		if isSearchObject(name) {
			if d.Objects == nil {
				d.Objects = map[string]int64{}
			}
			d.Objects[name] = size
			search += size
		}
	}
	if err := rows.Err(); err != nil {
		return d, err
	}
	d.BytesWithout = d.Bytes - search
	if len(d.Objects) == 0 {
		d.Note = "no search relations found"
	}
	d.perMessage(messages)
	return d, nil
}

func (d *SearchDisk) perMessage(messages int) {
	if messages > 0 {
		d.PerMessage = float64(d.Bytes) / float64(messages)
		d.PerMessageWithout = float64(d.BytesWithout) / float64(messages)
	}
}
