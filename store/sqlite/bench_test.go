package sqlite_test

import (
	"testing"
	"time"

	"github.com/confab/confab"
	"github.com/confab/confab/store/sqlite"
	"github.com/confab/confab/store/storetest"
)

// BenchmarkStore runs the store benchmarks on the default configuration
// (synchronous=FULL, group commit on).
func BenchmarkStore(b *testing.B) {
	storetest.RunBenchmarks(b, func(b *testing.B) confab.Store { return MustOpenDB(b, sqlite.Config{}) })
}

// BenchmarkStoreSyncNormal is BenchmarkStore with synchronous=NORMAL.
func BenchmarkStoreSyncNormal(b *testing.B) {
	storetest.RunBenchmarks(b, func(b *testing.B) confab.Store { return MustOpenDB(b, sqlite.Config{Sync: "normal"}) })
}

// BenchmarkCreateMessageNoGroupCommit is BenchmarkStore/CreateMessage with
// one write per transaction (MaxBatch 1): compare its parallel figure with
// BenchmarkStore/CreateMessage/parallel to see what group commit buys.
// (Not the whole RunBenchmarks: filling the deep channel one fsync per
// message would take minutes.)
func BenchmarkCreateMessageNoGroupCommit(b *testing.B) {
	for _, parallel := range []bool{false, true} {
		name := "serial"
		if parallel {
			name = "parallel"
		}
		b.Run(name, func(b *testing.B) {
			db := MustOpenDB(b, sqlite.Config{MaxBatch: 1})
			ctx := b.Context()
			ws := &confab.Workspace{ID: confab.NewID(confab.PrefixWorkspace), Domain: "acme", Created: 1}
			owner := &confab.User{ID: confab.NewID(confab.PrefixUser), Name: "owner", Created: 1}
			c := &confab.Channel{ID: confab.NewID(confab.PrefixChannel), Kind: confab.KindPublic, Name: "general", Created: 1}
			if err := db.CreateWorkspace(ctx, ws, owner); err != nil {
				b.Fatal(err)
			}
			c.WorkspaceID = ws.ID
			if err := db.CreateChannel(ctx, c, []string{owner.ID}); err != nil {
				b.Fatal(err)
			}
			post := func() {
				m := &confab.Message{ChannelID: c.ID, UserID: owner.ID, Text: "benchmark message", TS: time.Now().UnixMicro()}
				if _, err := db.CreateMessage(ctx, m); err != nil {
					b.Error(err)
				}
			}
			b.ReportAllocs()
			if !parallel {
				for b.Loop() {
					post()
				}
				return
			}
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					post()
				}
			})
		})
	}
}
