package migrate

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

func TestLoad(t *testing.T) {
	fsys := fstest.MapFS{
		"migrations/0002_index.sql": {Data: []byte("CREATE INDEX i ON t (a);")},
		"migrations/0001_init.sql":  {Data: []byte("CREATE TABLE t (a INTEGER);")},
		"migrations/README":         {Data: []byte("not a migration")},
		"other/0003_elsewhere.sql":  {Data: []byte("SELECT 1;")},
	}
	ms, err := Load(fsys, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	want := []Migration{
		{Version: 1, Name: "0001_init.sql", SQL: "CREATE TABLE t (a INTEGER);"},
		{Version: 2, Name: "0002_index.sql", SQL: "CREATE INDEX i ON t (a);"},
	}
	if !slices.Equal(ms, want) {
		t.Fatalf("Load = %+v, want %+v", ms, want)
	}
}

func TestLoadRefuses(t *testing.T) {
	for _, tc := range []struct {
		files []string
		want  string
	}{
		{[]string{"init.sql"}, "migration init.sql: name must start with a positive number and '_'"},
		{[]string{"0000_init.sql"}, "migration 0000_init.sql: name must start"},
		{[]string{"x1_init.sql"}, "migration x1_init.sql: name must start"},
		{[]string{"0001.sql"}, "migration 0001.sql: name must start"},
		{[]string{"0001_init.sql", "0003_gap.sql"}, "migration 0003_gap.sql: want version 2"},
		{[]string{"0002_first.sql"}, "migration 0002_first.sql: want version 1"},
	} {
		fsys := fstest.MapFS{}
		for _, f := range tc.files {
			fsys["m/"+f] = &fstest.MapFile{Data: []byte("SELECT 1;")}
		}
		_, err := Load(fsys, "m")
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("Load(%q) = %v, want %q…", tc.files, err, tc.want)
		}
	}
}

// fakeTarget records the migrations applied to it.
type fakeTarget struct {
	version int
	applied []string
	failAt  int // version whose Apply fails; 0 for none
}

func (f *fakeTarget) Version(context.Context) (int, error) { return f.version, nil }

func (f *fakeTarget) Apply(_ context.Context, m Migration) error {
	if m.Version == f.failAt {
		return errors.New("syntax error")
	}
	f.applied = append(f.applied, m.Name)
	f.version = m.Version
	return nil
}

func migrations(n int) []Migration {
	var ms []Migration
	for v := 1; v <= n; v++ {
		ms = append(ms, Migration{Version: v, Name: string(rune('a'-1+v)) + ".sql"})
	}
	return ms
}

func TestRun(t *testing.T) {
	for _, tc := range []struct {
		version, failAt int
		applied         []string
		err             string
	}{
		{version: 0, applied: []string{"a.sql", "b.sql", "c.sql"}},
		{version: 2, applied: []string{"c.sql"}},
		{version: 3},
		{version: 4, err: "migrate: database is at version 4, newer than this binary (3)"},
		{version: 0, failAt: 2, applied: []string{"a.sql"}, err: "migrate b.sql: syntax error"},
	} {
		tgt := &fakeTarget{version: tc.version, failAt: tc.failAt}
		err := Run(t.Context(), tgt, migrations(3))
		if got := errString(err); got != tc.err || !slices.Equal(tgt.applied, tc.applied) {
			t.Errorf("Run from version %d (failing at %d) = %q, applied %q; want %q, applied %q",
				tc.version, tc.failAt, got, tgt.applied, tc.err, tc.applied)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
