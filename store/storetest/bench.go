package storetest

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confab/confab"
)

// DepthEnv names the environment variable that sets how many messages the
// FindMessagesPage benchmarks put in their channel (default 100000).
const DepthEnv = "CONFAB_BENCH_DEPTH"

func benchDepth(b *testing.B) int {
	s := os.Getenv(DepthEnv)
	if s == "" {
		return 100_000
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 200 {
		b.Fatalf("%s=%q: want an integer >= 200", DepthEnv, s)
	}
	return n
}

// RunBenchmarks runs the store benchmarks:
//
//	CreateMessage/serial     one writer posting to one channel
//	CreateMessage/parallel   8×GOMAXPROCS writers posting to one channel
//	                         (what group commit is for)
//	AddReaction/reactions=N  add and remove a reaction on a message with
//	                         N = 1000 or 5000 others
//	FindMessagesPage/newest  the newest 100 messages of a deep channel
//	FindMessagesPage/deepest the oldest 100 messages of the same channel
//	FindMessagesPage/both    both pages per op, reporting deepest/newest:
//	                         about 1 when a page's cost does not depend on
//	                         its depth
//
// The deep channel holds $CONFAB_BENCH_DEPTH messages (default 100000); it
// is filled once per RunBenchmarks by concurrent posters, so that a store
// with group commit fills it fast, and lives in a store opened with the
// outer b.
func RunBenchmarks(b *testing.B, open func(b *testing.B) confab.Store) {
	// ImportMessages: batches of 1,000 messages of a Slack export's
	// shape (a third replies, a sixth with reactions, a tenth with a
	// mention) into one channel of 50 members; msgs/s per batch.
	b.Run("ImportMessages", func(b *testing.B) {
		f := newFixture(b, open(b))
		var members []*confab.User
		for i := range 50 {
			members = append(members, f.MustUser(fmt.Sprintf("member%d", i)))
		}
		c := f.MustChannel("history", confab.KindPublic, members...)
		rng := rand.New(rand.NewPCG(1, 2))
		words := strings.Fields("the deploy review build release meeting lunch ticket bug fix merge branch test server database latency")
		ts := importTS(0)
		var parents []int64
		batch := func() []*confab.Message {
			msgs := make([]*confab.Message, 1000)
			for i := range msgs {
				ts += 1000 + rng.Int64N(1_000_000)
				u := members[rng.IntN(len(members))]
				m := &confab.Message{UserID: u.ID, TS: ts}
				if len(parents) > 0 && rng.IntN(3) == 0 {
					m.ThreadTS = parents[rng.IntN(len(parents))]
				} else if rng.IntN(8) == 0 {
					parents = append(parents[max(0, len(parents)-20):], ts)
				}
				var text []string
				for range 4 + rng.IntN(20) {
					text = append(text, words[rng.IntN(len(words))]+strconv.Itoa(rng.IntN(50)))
				}
				if rng.IntN(10) == 0 {
					text = append(text, "<@"+members[rng.IntN(len(members))].ID+">")
				}
				m.Text = strings.Join(text, " ")
				if rng.IntN(6) == 0 {
					m.Reactions = []confab.Reaction{{Name: "eyes", Users: []string{u.ID, f.owner.ID}}}
				}
				msgs[i] = m
			}
			return msgs
		}
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			msgs := batch()
			b.StartTimer()
			if n, err := f.s.ImportMessages(f.ctx, c.ID, msgs); err != nil || n != len(msgs) {
				b.Fatalf("ImportMessages = %d, %v", n, err)
			}
		}
		b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "msgs/s")
	})
	b.Run("CreateMessage", func(b *testing.B) {
		b.Run("serial", func(b *testing.B) {
			f := newFixture(b, open(b))
			c := f.MustChannel("plaza", confab.KindPublic, f.owner)
			b.ReportAllocs()
			for b.Loop() {
				m := &confab.Message{ChannelID: c.ID, UserID: f.owner.ID, Text: "benchmark message", TS: time.Now().UnixMicro()}
				if _, err := f.s.CreateMessage(f.ctx, m); err != nil {
					b.Fatalf("CreateMessage = %v", err)
				}
			}
		})
		b.Run("parallel", func(b *testing.B) {
			f := newFixture(b, open(b))
			c := f.MustChannel("plaza", confab.KindPublic, f.owner)
			var failed atomic.Pointer[error]
			b.ReportAllocs()
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					m := &confab.Message{ChannelID: c.ID, UserID: f.owner.ID, Text: "benchmark message", TS: time.Now().UnixMicro()}
					if _, err := f.s.CreateMessage(f.ctx, m); err != nil {
						failed.CompareAndSwap(nil, &err)
						return
					}
				}
			})
			b.StopTimer()
			if err := failed.Load(); err != nil {
				b.Fatalf("CreateMessage = %v", *err)
			}
			if ch := f.MustChannelByID(c.ID); ch.LastSeq != int64(b.N) {
				b.Fatalf("LastSeq = %d after %d posts", ch.LastSeq, b.N)
			}
		})
	})

	// AddReaction/reactions=N: one user adds and removes a reaction on a
	// message that has N from others; the cost per op must not grow with N.
	for _, n := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("AddReaction/reactions=%d", n), func(b *testing.B) {
			f := newFixture(b, open(b))
			c := f.MustChannel("plaza", confab.KindPublic, f.owner)
			m := f.MustPost(c, f.owner, "react to me")
			each := confab.MaxUserReactions - 3
			var wg sync.WaitGroup
			var failed atomic.Pointer[error]
			for u := range n / each { // concurrent adders: group commit fills it fast
				wg.Go(func() {
					for j := range each {
						name := fmt.Sprintf("e%02d", (u+j)%confab.MaxReactionEmoji)
						if _, err := f.s.AddReaction(b.Context(), c.ID, m.TS, fmt.Sprintf("U%012d", u), name); err != nil {
							failed.CompareAndSwap(nil, &err)
						}
					}
				})
			}
			wg.Wait()
			if err := failed.Load(); err != nil {
				b.Fatalf("AddReaction = %v", *err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f.s.AddReaction(b.Context(), c.ID, m.TS, f.owner.ID, "e00"); err != nil {
					b.Fatalf("AddReaction = %v", err)
				}
				if _, err := f.s.RemoveReaction(b.Context(), c.ID, m.TS, f.owner.ID, "e00"); err != nil {
					b.Fatalf("RemoveReaction = %v", err)
				}
			}
		})
	}

	var (
		deepOnce sync.Once
		deep     *fixture
		deepCh   *confab.Channel
		depth    int
	)
	setupDeep := func(sub *testing.B) {
		deepOnce.Do(func() {
			depth = benchDepth(sub)
			// Opened with the outer b: the store outlives each sub-benchmark
			// run and is closed after the last one.
			deep = newFixture(b, open(b))
			deepCh = deep.MustChannel("deep", confab.KindPublic, deep.owner)
			start := time.Now()
			fill(b, deep.s, deepCh.ID, deep.owner.ID, depth)
			b.Logf("filled a channel with %d messages in %v", depth, time.Since(start).Round(time.Millisecond))
		})
		if deep == nil {
			sub.Fatal("deep channel setup failed")
		}
	}
	newest := func(b *testing.B) confab.MessageFilter {
		return confab.MessageFilter{ChannelID: deepCh.ID, Desc: true, Limit: 100}
	}
	deepest := func(b *testing.B) confab.MessageFilter {
		return confab.MessageFilter{ChannelID: deepCh.ID, Desc: true, Before: 101, Limit: 100}
	}
	page := func(b *testing.B, flt confab.MessageFilter, wantFirst int64) {
		ms, err := deep.s.FindMessages(b.Context(), flt)
		if err != nil {
			b.Fatalf("FindMessages = %v", err)
		}
		if len(ms) != 100 || ms[0].Seq != wantFirst {
			b.Fatalf("FindMessages(%+v) returned %d messages from seq %d; want 100 from %d", flt, len(ms), ms[0].Seq, wantFirst)
		}
	}
	b.Run("FindMessagesPage", func(b *testing.B) {
		b.Run("newest", func(b *testing.B) {
			setupDeep(b)
			flt := newest(b)
			b.ReportAllocs()
			for b.Loop() {
				page(b, flt, int64(depth))
			}
		})
		b.Run("deepest", func(b *testing.B) {
			setupDeep(b)
			flt := deepest(b)
			b.ReportAllocs()
			for b.Loop() {
				page(b, flt, 100)
			}
		})
		b.Run("both", func(b *testing.B) {
			setupDeep(b)
			nf, df := newest(b), deepest(b)
			var nt, dt time.Duration
			b.ReportAllocs()
			for b.Loop() {
				t0 := time.Now()
				page(b, nf, int64(depth))
				t1 := time.Now()
				page(b, df, 100)
				nt += t1.Sub(t0)
				dt += time.Since(t1)
			}
			b.ReportMetric(float64(nt.Nanoseconds())/float64(b.N), "newest-ns/page")
			b.ReportMetric(float64(dt.Nanoseconds())/float64(b.N), "deepest-ns/page")
			b.ReportMetric(float64(dt)/float64(nt), "deepest/newest")
			b.ReportMetric(float64(depth), "depth")
		})
	})
}
