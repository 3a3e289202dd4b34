package pgtest

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

func TestFindBinDir(t *testing.T) {
	root := t.TempDir()
	mk := func(dir string, names ...string) string {
		t.Helper()
		d := filepath.Join(root, dir)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			if err := os.WriteFile(filepath.Join(d, n), []byte("#!/bin/sh\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		return d
	}
	onPath := mk("path", "initdb", "postgres")
	half := mk("half", "postgres") // no initdb
	mk("lib/9.6/bin", "initdb", "postgres")
	v15 := mk("lib/15/bin", "initdb", "postgres")
	mk("lib/13/bin", "initdb", "postgres")
	notExec := mk("noexec")
	for _, n := range []string{"initdb", "postgres"} {
		if err := os.WriteFile(filepath.Join(notExec, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	glob := []string{filepath.Join(root, "lib/*/bin")}
	tests := []struct {
		name  string
		path  string
		globs []string
		want  string
		err   error
	}{
		{"PATH first", half + string(filepath.ListSeparator) + onPath, glob, onPath, nil},
		{"newest version", half, glob, v15, nil},
		{"not executable", notExec, nil, "", ErrNotFound},
		{"nothing", "", []string{filepath.Join(root, "none/*/bin")}, "", ErrNotFound},
	}
	for _, tc := range tests {
		got, err := findBinDir(tc.path, tc.globs)
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("%s: findBinDir(%q, %q) = %q, %v; want %q, %v", tc.name, tc.path, tc.globs, got, err, tc.want, tc.err)
		}
	}
}

func TestVersion(t *testing.T) {
	for _, tc := range []struct {
		path string
		want int
	}{
		{"/usr/lib/postgresql/15/bin", 15000},
		{"/usr/lib/postgresql/9.6/bin", 9006},
		{"/usr/pgsql-16/bin", 16000},
		{"/usr/local/pgsql/bin", 0},
	} {
		if got := version(tc.path); got != tc.want {
			t.Errorf("version(%q) = %d, want %d", tc.path, got, tc.want)
		}
	}
}

// TestStart: a server of its own, fresh isolated databases, and everything
// gone once the test that started it is over.
func TestStart(t *testing.T) {
	var s *Server
	t.Run("server", func(t *testing.T) {
		s = Start(t)
		ctx := t.Context()
		a, b := s.NewDatabase(t), s.NewDatabase(t)
		if a == b {
			t.Fatalf("NewDatabase twice returned %q", a)
		}
		ca := mustConnect(t, a)
		cb := mustConnect(t, b)
		if _, err := ca.Exec(ctx, `CREATE TABLE only_in_a (x int)`); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := cb.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'`).Scan(&n); err != nil || n != 0 {
			t.Errorf("table of database a seen in database b: count %d, %v", n, err)
		}
		var maxConns int
		if err := ca.QueryRow(ctx, `SELECT current_setting('max_connections')::int`).Scan(&maxConns); err != nil || maxConns < 200 {
			t.Errorf("max_connections = %d, %v; want >= 200", maxConns, err)
		}
		var addr string
		if err := ca.QueryRow(ctx, `SELECT current_setting('listen_addresses')`).Scan(&addr); err != nil || addr != "127.0.0.1" {
			t.Errorf("listen_addresses = %q, %v", addr, err)
		}
	})
	if s == nil {
		return // skipped
	}
	select {
	case <-s.exited:
	default:
		t.Fatal("postgres still running after the test's cleanup")
	}
	if _, err := os.Stat(s.base); !os.IsNotExist(err) {
		t.Errorf("server dir %s still there: %v", s.base, err)
	}
	if c, err := net.DialTimeout("tcp", net.JoinHostPort(s.Host, strconv.Itoa(s.Port)), time.Second); err == nil {
		c.Close()
		t.Errorf("port %d still accepts connections", s.Port)
	}
	if err := s.Stop(); err != nil {
		t.Errorf("second Stop = %v, want the first one's nil", err)
	}
}

func TestShared(t *testing.T) {
	a, b := Shared(t), Shared(t)
	if a != b {
		t.Fatalf("Shared returned two servers: %d and %d", a.Port, b.Port)
	}
	conn := mustConnect(t, a.NewDatabase(t))
	var one int
	if err := conn.QueryRow(t.Context(), `SELECT 1`).Scan(&one); err != nil || one != 1 {
		t.Errorf("SELECT 1 = %d, %v", one, err)
	}
}

func mustConnect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatalf("connect %s: %v", dsn, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}
