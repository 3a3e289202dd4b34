//go:build !sqlite_fts5

package sqlite

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// Built without the tag (go test ./store/sqlite/), Open refuses with the
// error that says how to build: every other test of the package fails too.
func TestOpenWithoutFTS5(t *testing.T) {
	_, err := Open(t.Context(), Config{Path: filepath.Join(t.TempDir(), "confab.db")})
	if !errors.Is(err, ErrNoFTS5) || !strings.Contains(err.Error(), "-tags sqlite_fts5") {
		t.Fatalf("Open without FTS5 = %v, want ErrNoFTS5 naming -tags sqlite_fts5", err)
	}
}
