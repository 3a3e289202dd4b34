package pgtest

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrNotFound is returned (and makes tests skip outside CI) when the
// PostgreSQL server binaries cannot be found.
var ErrNotFound = errors.New("pgtest: PostgreSQL server binaries (initdb, postgres) not found in $PATH or /usr/lib/postgresql/*/bin")

// binGlobs are searched, after $PATH, for a directory holding initdb and
// postgres; the newest version wins.
var binGlobs = []string{"/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin", "/usr/local/pgsql/bin"}

// Timeouts of the server's life cycle.
const (
	readyTimeout = 60 * time.Second
	stopTimeout  = 30 * time.Second
)

// Server is a running PostgreSQL server for tests.
type Server struct {
	// immutable after start
	Host    string // 127.0.0.1
	Port    int
	User    string // the superuser, "postgres"; trust authentication
	BinDir  string // where initdb and postgres were found
	base    string // temp dir: data/, the socket and postgres.log
	cmd     *exec.Cmd
	exited  chan struct{} // closed once cmd has been waited for
	waitErr error         // cmd.Wait's result, readable once exited is closed
	admin   *pgxpool.Pool // connections to the "postgres" database

	dbs      atomic.Int64 // databases created by NewDatabase
	stopOnce sync.Once
	stopErr  error
}

// Start starts a server that lives as long as tb: it is stopped and its
// files removed in tb.Cleanup. Missing binaries skip tb (fail it when CI is
// set); any other problem fails it.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s, err := start()
	if err != nil {
		fail(tb, err)
	}
	tb.Cleanup(func() {
		if err := s.Stop(); err != nil {
			tb.Errorf("pgtest: %v", err)
		}
	})
	return s
}

var shared struct {
	mu      sync.Mutex
	inMain  bool
	started bool
	srv     *Server
	err     error
}

// Main runs m and then stops the server that Shared started, if any. Call
// it from TestMain: os.Exit(pgtest.Main(m)).
func Main(m *testing.M) int {
	shared.mu.Lock()
	shared.inMain = true
	shared.mu.Unlock()
	code := m.Run()
	shared.mu.Lock()
	srv := shared.srv
	shared.mu.Unlock()
	if srv != nil {
		if err := srv.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// Shared returns the package run's shared server, starting it on first use.
// It needs TestMain to call Main, which stops the server at the end of the
// run. Missing binaries skip tb (fail it when CI is set).
func Shared(tb testing.TB) *Server {
	tb.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.inMain {
		tb.Fatal("pgtest.Shared needs TestMain to call pgtest.Main(m), which stops the shared server")
	}
	if !shared.started {
		shared.started = true
		shared.srv, shared.err = start()
		if shared.err == nil {
			tb.Logf("pgtest: shared PostgreSQL server on %s:%d (%s)", shared.srv.Host, shared.srv.Port, shared.srv.BinDir)
		}
	}
	if shared.err != nil {
		fail(tb, shared.err)
	}
	return shared.srv
}

// fail skips tb for missing binaries outside CI and fails it otherwise.
func fail(tb testing.TB, err error) {
	tb.Helper()
	if errors.Is(err, ErrNotFound) && os.Getenv("CI") == "" {
		tb.Skip(err)
	}
	tb.Fatal(err)
}

// DSN returns the connection string of the named database.
func (s *Server) DSN(database string) string {
	return fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", s.User, s.Host, s.Port, database)
}

// NewDatabase creates an empty database, drops it in tb.Cleanup (after
// the cleanups registered later, such as closing a pool on it) and returns
// its connection string.
func (s *Server) NewDatabase(tb testing.TB) string {
	tb.Helper()
	name := "test_" + strconv.FormatInt(s.dbs.Add(1), 10)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := s.admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		tb.Fatalf("pgtest: create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := s.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			tb.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return s.DSN(name)
}

// Stop shuts the server down (fast shutdown: SIGINT), waits for it and
// removes its files. It is safe to call more than once.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		if s.admin != nil {
			s.admin.Close()
		}
		s.stopErr = s.halt()
		if err := os.RemoveAll(s.base); err != nil {
			s.stopErr = errors.Join(s.stopErr, fmt.Errorf("remove %s: %w", s.base, err))
		}
	})
	return s.stopErr
}

// halt stops the postgres process, killing it if it does not stop in time.
func (s *Server) halt() error {
	select {
	case <-s.exited:
		return fmt.Errorf("postgres had already exited (%v); log:\n%s", s.waitErr, s.logTail())
	default:
	}
	if err := s.cmd.Process.Signal(os.Interrupt); err != nil {
		return fmt.Errorf("stop postgres: %w", err)
	}
	timer := time.NewTimer(stopTimeout)
	defer timer.Stop()
	select {
	case <-s.exited:
		return nil
	case <-timer.C:
		s.cmd.Process.Kill()
		<-s.exited
		return fmt.Errorf("postgres did not stop within %v after SIGINT; killed", stopTimeout)
	}
}

// start finds the binaries, runs initdb and starts postgres on a free port.
func start() (*Server, error) {
	bindir, err := findBinDir(os.Getenv("PATH"), binGlobs)
	if err != nil {
		return nil, err
	}
	cred, owner, err := credential()
	if err != nil {
		return nil, err
	}
	tmp := os.TempDir()
	if cred != nil {
		tmp = "/tmp" // $TMPDIR may be private to root
	}
	base, err := os.MkdirTemp(tmp, "pgtest-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	s, err := startIn(base, bindir, cred, owner)
	if err != nil {
		os.RemoveAll(base)
		return nil, err
	}
	return s, nil
}

// credential returns, when running as root, the credential of the postgres
// system user that the server runs as (PostgreSQL refuses to run as root).
func credential() (*syscall.Credential, *user.User, error) {
	if os.Geteuid() != 0 {
		return nil, nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, nil, fmt.Errorf("pgtest: running as root, PostgreSQL must run as the \"postgres\" system user: %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, nil, fmt.Errorf("pgtest: user postgres: %w", err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, u, nil
}

func startIn(base, bindir string, cred *syscall.Credential, owner *user.User) (*Server, error) {
	if cred != nil {
		if err := os.Chown(base, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, fmt.Errorf("pgtest: chown %s to %s: %w", base, owner.Username, err)
		}
	}
	data := filepath.Join(base, "data")
	initdb := exec.Command(filepath.Join(bindir, "initdb"), "-D", data, "-U", "postgres",
		"--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync")
	initdb.Dir = base
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("pgtest: initdb: %w\n%s", err, out)
	}
	// The port is free when chosen but may be taken before postgres binds
	// it: try a few.
	var lastErr error
	for range 3 {
		s, err := launch(base, bindir, cred)
		if err == nil {
			return s, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

// launch starts postgres on a free port and waits until it accepts
// connections.
func launch(base, bindir string, cred *syscall.Credential) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(base, "postgres.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	defer logf.Close() // the child has its own copy
	cmd := exec.Command(filepath.Join(bindir, "postgres"),
		"-D", filepath.Join(base, "data"),
		"-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories="+base,
		"-c", "fsync=off",
		"-c", "full_page_writes=off",
		"-c", "max_connections=300",
	)
	cmd.Dir = base
	cmd.Stdout, cmd.Stderr = logf, logf
	// Pdeathsig: if the test binary dies without cleaning up, postgres
	// does a fast shutdown rather than outliving it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGINT}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("pgtest: start postgres: %w", err)
	}
	s := &Server{Host: "127.0.0.1", Port: port, User: "postgres", BinDir: bindir, base: base,
		cmd: cmd, exited: make(chan struct{})}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitReady(); err != nil {
		s.halt()
		return nil, err
	}
	s.admin, err = pgxpool.New(context.Background(), s.DSN("postgres")+"&pool_max_conns=8")
	if err != nil {
		s.halt()
		return nil, fmt.Errorf("pgtest: admin pool: %w", err)
	}
	return s, nil
}

// waitReady polls until the server accepts a connection, it exits, or the
// deadline passes.
func (s *Server) waitReady() error {
	deadline := time.Now().Add(readyTimeout)
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, s.DSN("postgres"))
		cancel()
		if err == nil {
			conn.Close(context.Background())
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pgtest: postgres not ready within %v: %v; log:\n%s", readyTimeout, err, s.logTail())
		}
		select {
		case <-s.exited:
			return fmt.Errorf("pgtest: postgres exited at startup (%v); log:\n%s", s.waitErr, s.logTail())
		case <-tick.C:
		}
	}
}

// logTail returns the end of the server's log, for error messages.
func (s *Server) logTail() string {
	b, err := os.ReadFile(filepath.Join(s.base, "postgres.log"))
	if err != nil {
		return err.Error()
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(bytes.TrimSpace(b))
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// findBinDir returns the first directory of pathList holding both initdb
// and postgres, else the one of the newest version matching globs.
func findBinDir(pathList string, globs []string) (string, error) {
	has := func(dir string) bool {
		return isExecutable(filepath.Join(dir, "initdb")) && isExecutable(filepath.Join(dir, "postgres"))
	}
	for _, dir := range filepath.SplitList(pathList) {
		if dir != "" && has(dir) {
			return dir, nil
		}
	}
	var found []string
	for _, g := range globs {
		dirs, _ := filepath.Glob(g) // only ErrBadPattern, and ours are fixed
		for _, d := range dirs {
			if has(d) {
				found = append(found, d)
			}
		}
	}
	if len(found) == 0 {
		return "", ErrNotFound
	}
	// Newest first: compare the version numbers in the paths.
	slices.SortStableFunc(found, func(a, b string) int { return -cmp.Compare(version(a), version(b)) })
	return found[0], nil
}

// version extracts a sortable version from a path such as
// /usr/lib/postgresql/15/bin or /usr/pgsql-9.6/bin: major*1000+minor of
// the numeric path element nearest to its end.
func version(path string) int {
	parts := strings.Split(path, string(filepath.Separator))
	for i := len(parts) - 1; i >= 0; i-- {
		part := strings.TrimPrefix(parts[i], "pgsql-")
		major, minor, _ := strings.Cut(part, ".")
		m, err := strconv.Atoi(major)
		if err != nil {
			continue
		}
		n, _ := strconv.Atoi(minor)
		return m*1000 + n
	}
	return 0
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}
