package sqlite_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
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
			c := &confab.Channel{ID: confab.NewID(confab.PrefixChannel), Kind: confab.KindPublic, Name: "plaza", Created: 1}
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

// SearchSizeEnv names the environment variable that sets how many
// messages BenchmarkSearch loads (default 200000).
const SearchSizeEnv = "CONFAB_SEARCH_BENCH_N"

// searchCorpus is BenchmarkSearch's store: n messages in 1,000 channels
// (900 public) by 1,000 users over 90 days, 4 to 20 words each drawn from
// a Zipf vocabulary of 20,000 words (w0 the most frequent); the reader is
// a member of 100 channels (50 public, 50 private).
type searchCorpus struct {
	db      *sqlite.DB
	ws      string
	reader  string
	users   []string
	chans   []string // the reader's first
	first   int64    // ts of the first message
	last    int64
	phrases [][]string // adjacent word pairs of posted messages
}

func newSearchCorpus(b *testing.B) (*searchCorpus, error) {
	n := 200_000
	if s := os.Getenv(SearchSizeEnv); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1000 {
			return nil, fmt.Errorf("%s=%q: want an integer >= 1000", SearchSizeEnv, s)
		}
		n = v
	}
	db := MustOpenDB(b, sqlite.Config{Sync: "normal"})
	ctx := b.Context()
	c := &searchCorpus{db: db}
	ws := &confab.Workspace{ID: confab.NewID(confab.PrefixWorkspace), Domain: "bench", Created: 1}
	owner := &confab.User{ID: confab.NewID(confab.PrefixUser), Name: "owner", Created: 1}
	if err := db.CreateWorkspace(ctx, ws, owner); err != nil {
		return nil, err
	}
	c.ws, c.reader = ws.ID, owner.ID
	for i := range 1000 {
		u := &confab.User{ID: confab.NewID(confab.PrefixUser), WorkspaceID: ws.ID, Name: fmt.Sprintf("u%d", i), Created: 1}
		if err := db.CreateUser(ctx, u); err != nil {
			return nil, err
		}
		c.users = append(c.users, u.ID)
	}
	for i := range 1000 {
		kind := confab.KindPublic
		if i%10 == 9 || (i < 100 && i%2 == 1) {
			kind = confab.KindPrivate
		}
		members := []string{c.users[i]}
		if i < 100 {
			members = append(members, owner.ID)
		}
		ch := &confab.Channel{ID: confab.NewID(confab.PrefixChannel), WorkspaceID: ws.ID, Kind: kind,
			Name: fmt.Sprintf("c%d", i), Created: 1}
		if err := db.CreateChannel(ctx, ch, members); err != nil {
			return nil, err
		}
		c.chans = append(c.chans, ch.ID)
	}
	c.last = time.Now().UnixMicro()
	c.first = c.last - int64(90*24*time.Hour/time.Microsecond)
	step := (c.last - c.first) / int64(n)
	start := time.Now()
	const workers = 16
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		postErr error
	)
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			zipf := rand.NewZipf(rng, 1.07, 2, 19_999)
			for i := w; i < n; i += workers {
				words := make([]string, 4+rng.IntN(17))
				for j := range words {
					words[j] = "w" + strconv.FormatUint(zipf.Uint64(), 10)
				}
				m := &confab.Message{ChannelID: c.chans[i%1000], UserID: c.users[rng.IntN(1000)],
					Text: strings.Join(words, " "), TS: c.first + int64(i)*step}
				if _, err := db.CreateMessage(ctx, m); err != nil {
					mu.Lock()
					postErr = err
					mu.Unlock()
					return
				}
				if i%997 == 0 {
					mu.Lock()
					c.phrases = append(c.phrases, words[1:3])
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if postErr != nil {
		return nil, postErr
	}
	b.Logf("search corpus: %d messages loaded in %v", n, time.Since(start))
	return c, nil
}

// BenchmarkSearch reports the latency (p50, p99, max, in ms) of a first
// page of 20 by query shape over $CONFAB_SEARCH_BENCH_N messages (default
// 200000; loaded once, by 16 posters):
//
//	go test -tags sqlite_fts5 -run XXX -bench Search -benchtime 200x ./store/sqlite/
func BenchmarkSearch(b *testing.B) {
	c, err := newSearchCorpus(b)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 7))
	word := func(lo, hi int) confab.SearchTerm {
		return confab.SearchTerm{Words: []string{"w" + strconv.Itoa(lo+rng.IntN(hi-lo))}}
	}
	day := int64(24 * time.Hour / time.Microsecond)
	shapes := []struct {
		name string
		flt  func() confab.SearchFilter
	}{
		{"word/rare", func() confab.SearchFilter { return c.filter(word(2000, 20000)) }},
		{"word/medium", func() confab.SearchFilter { return c.filter(word(100, 1000)) }},
		{"word/common", func() confab.SearchFilter { return c.filter(word(2, 10)) }},
		{"word/common/time", func() confab.SearchFilter {
			f := c.filter(word(2, 10))
			f.Sort = confab.SortTimestamp
			return f
		}},
		{"phrase", func() confab.SearchFilter {
			return c.filter(confab.SearchTerm{Words: c.phrases[rng.IntN(len(c.phrases))]})
		}},
		{"two words", func() confab.SearchFilter { return c.filter(word(10, 100), word(10, 100)) }},
		{"prefix", func() confab.SearchFilter {
			return c.filter(confab.SearchTerm{Words: []string{"w" + strconv.Itoa(10+rng.IntN(90))}, Prefix: true})
		}},
		{"substring", func() confab.SearchFilter {
			return c.filter(confab.SearchTerm{Words: []string{strconv.Itoa(100 + rng.IntN(900))}, Substring: true})
		}},
		{"from", func() confab.SearchFilter {
			f := c.filter(word(10, 1000))
			f.UserIDs = []string{c.users[rng.IntN(len(c.users))]}
			return f
		}},
		{"from/only", func() confab.SearchFilter {
			f := c.filter()
			f.UserIDs = []string{c.users[rng.IntN(len(c.users))]}
			return f
		}},
		{"in", func() confab.SearchFilter {
			f := c.filter(word(2, 100))
			f.ChannelIDs = []string{c.chans[rng.IntN(len(c.chans))]}
			return f
		}},
		{"in/only", func() confab.SearchFilter {
			f := c.filter()
			f.ChannelIDs = []string{c.chans[rng.IntN(len(c.chans))]}
			return f
		}},
		{"dated", func() confab.SearchFilter {
			f := c.filter(word(2, 100))
			f.Since = c.last - 7*day
			return f
		}},
		{"dated/only", func() confab.SearchFilter {
			f := c.filter()
			f.Since, f.Until = c.last-2*day, c.last-day
			return f
		}},
		{"everything", func() confab.SearchFilter { return c.filter() }},
	}
	for _, s := range shapes {
		b.Run(s.name, func(b *testing.B) {
			var lat []time.Duration
			total := 0
			for b.Loop() {
				flt := s.flt()
				t0 := time.Now()
				res, err := c.db.SearchMessages(b.Context(), flt)
				lat = append(lat, time.Since(t0))
				if err != nil {
					b.Fatalf("SearchMessages(%+v) = %v", flt, err)
				}
				total += res.Total
			}
			slices.Sort(lat)
			ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
			b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
			b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
			b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
			b.ReportMetric(float64(total)/float64(len(lat)), "total/op")
		})
	}
}

// filter is a search by the corpus's reader, score order, a page of 20.
func (c *searchCorpus) filter(terms ...confab.SearchTerm) confab.SearchFilter {
	return confab.SearchFilter{WorkspaceID: c.ws, ReaderID: c.reader, Terms: terms, Limit: 20}
}
