package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/confab/confab"
	"github.com/confab/confab/store/sqlite"
	"github.com/confab/confab/store/storetest"
)

var _ confab.Store = (*sqlite.DB)(nil)

// MustOpenDB opens a store in a fresh temp dir and closes it in Cleanup.
func MustOpenDB(tb testing.TB, cfg sqlite.Config) *sqlite.DB {
	tb.Helper()
	if cfg.Path == "" {
		cfg.Path = filepath.Join(tb.TempDir(), "confab.db")
	}
	db, err := sqlite.Open(tb.Context(), cfg)
	if err != nil {
		tb.Fatalf("sqlite.Open(%s) = %v", cfg.Path, err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("Close = %v", err)
		}
	})
	return db
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) confab.Store { return MustOpenDB(t, sqlite.Config{}) })
}

// TestStoreNoGroupCommit runs the suite with one write per transaction.
func TestStoreNoGroupCommit(t *testing.T) {
	storetest.Run(t, func(t *testing.T) confab.Store { return MustOpenDB(t, sqlite.Config{MaxBatch: 1}) })
}

func TestStoreQueriesCounted(t *testing.T) {
	storetest.RunQueryCounts(t, func(t *testing.T) storetest.CountedStore { return MustOpenDB(t, sqlite.Config{}) })
}
