package sqlite

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// A binary built without -tags sqlite_fts5 must say so, not fail with
// SQLite's bare "no such module: fts5".
func TestNoFTS5Error(t *testing.T) {
	err := noFTS5(errors.New(`migrate: 0015_search.sql: no such module: fts5`))
	if !errors.Is(err, ErrNoFTS5) {
		t.Fatalf("noFTS5 = %v, want ErrNoFTS5", err)
	}
	for _, want := range []string{"-tags sqlite_fts5", "no such module: fts5"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	other := errors.New("disk I/O error")
	if got := noFTS5(other); got != other {
		t.Errorf("noFTS5(%v) = %v, want it unchanged", other, got)
	}
	if noFTS5(nil) != nil {
		t.Error("noFTS5(nil) != nil")
	}
}

// With the tag, Open finds FTS5 (every other test opens a store too).
func TestCheckFTS5(t *testing.T) {
	db := mustOpen(t, Config{Path: filepath.Join(t.TempDir(), "confab.db")})
	if err := checkFTS5(t.Context(), db.rdb); err != nil {
		t.Fatalf("checkFTS5 = %v", err)
	}
}
