package postgres_test

import (
	"os"
	"testing"

	"github.com/confab/confab"
	"github.com/confab/confab/internal/pgtest"
	"github.com/confab/confab/store/postgres"
	"github.com/confab/confab/store/storetest"
)

var _ confab.Store = (*postgres.DB)(nil)

// One PostgreSQL server for the package run; a fresh database per store.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// MustOpenDB opens a store on a fresh database of the shared server and
// closes it in Cleanup.
func MustOpenDB(tb testing.TB, cfg postgres.Config) *postgres.DB {
	tb.Helper()
	if cfg.DSN == "" {
		cfg.DSN = pgtest.Shared(tb).NewDatabase(tb)
	}
	db, err := postgres.Open(tb.Context(), cfg)
	if err != nil {
		tb.Fatalf("postgres.Open = %v", err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("Close = %v", err)
		}
	})
	return db
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) confab.Store { return MustOpenDB(t, postgres.Config{}) })
}

func BenchmarkStore(b *testing.B) {
	storetest.RunBenchmarks(b, func(b *testing.B) confab.Store {
		return MustOpenDB(b, postgres.Config{MaxConns: 64})
	})
}

func TestStoreQueriesCounted(t *testing.T) {
	storetest.RunQueryCounts(t, func(t *testing.T) storetest.CountedStore { return MustOpenDB(t, postgres.Config{}) })
}
