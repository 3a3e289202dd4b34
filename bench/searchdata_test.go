package bench

import (
	"context"
	"crypto/sha256"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/confab/confab"
	"github.com/confab/confab/internal/pgtest"
)

// TestSearchPlan checks the workspace the search scenario promises: every
// kind of conversation, the reader in a tenth of them (and in #general),
// every message placed, and the same plan for the same sizes.
func TestSearchPlan(t *testing.T) {
	end := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	p := newSearchPlan(500, 1000, 1_000_000, end)
	kinds, readerIn, total := map[string]int{}, 0, 0
	for _, c := range p.Convs {
		kinds[c.Kind]++
		total += c.Messages
		if c.Messages < 1 {
			t.Errorf("conversation %+v has no message", c)
		}
		if c.Reader {
			readerIn++
		}
		if got := slices.Contains(c.Members, 0); got != c.Reader {
			t.Errorf("%s %q: reader member %v, want %v", c.Kind, c.Name, got, c.Reader)
		}
		if (c.Kind == convDM && len(c.Members) != 2) || (c.Kind == convGroupDM && (len(c.Members) < 3 || len(c.Members) > 5)) {
			t.Errorf("%s with %d members", c.Kind, len(c.Members))
		}
		if c.Name != "" && !confab.ValidChannelName(c.Name) {
			t.Errorf("channel name %q is not valid", c.Name)
		}
	}
	want := map[string]int{convGeneral: 1, convDM: 40, convGroupDM: 10, convPrivate: 100, convArchived: 20, convPublic: 829}
	for k, n := range want {
		if kinds[k] != n {
			t.Errorf("%d %s conversations, want %d (all: %v)", kinds[k], k, n, kinds)
		}
	}
	if len(p.Convs) != 1000 || readerIn != 100 || total != 1_000_000 {
		t.Errorf("%d conversations, the reader in %d, %d messages; want 1000, 100, 1,000,000", len(p.Convs), readerIn, total)
	}
	if g := p.Convs[0]; g.Kind != convGeneral || !g.Reader || len(g.Members) != 500 || g.Messages < total/50 {
		t.Errorf("#general = %s, reader %v, %d members, %d messages; want everyone and the most messages", g.Kind, g.Reader, len(g.Members), g.Messages)
	}
	q := newSearchPlan(500, 1000, 1_000_000, end)
	for i := range p.Convs {
		if p.Convs[i].Name != q.Convs[i].Name || p.Convs[i].Messages != q.Convs[i].Messages || !slices.Equal(p.Convs[i].Members, q.Convs[i].Members) {
			t.Fatalf("conversation %d differs between two plans of the same sizes", i)
		}
	}
	if p.text(msgRand(3, 7), "U1") != q.text(msgRand(3, 7), "U1") {
		t.Error("the same message differs between two plans")
	}
}

// TestSearchText checks the made-up texts: Zipf-like words, a share in
// CJK, some with diacritics, varied lengths.
func TestSearchText(t *testing.T) {
	p := newSearchPlan(50, 20, 10_000, time.Now())
	counts := map[string]int{}
	var cjk, accented, short, long int
	const n = 20000
	for k := range n {
		text := p.text(msgRand(0, k), "U1")
		toks := confab.SearchTokens(text)
		switch {
		case len(toks) <= 3:
			short++
		case len(toks) >= 40:
			long++
		}
		if strings.ContainsAny(text, "。") {
			cjk++
		}
		if strings.ContainsAny(text, "áéíöüñçåøæ") {
			accented++
		}
		for _, tok := range toks {
			counts[tok]++
		}
	}
	if cjk < n*5/100 || cjk > n*10/100 {
		t.Errorf("%d of %d texts in CJK, want 5–10 %%", cjk, n)
	}
	if accented < n/100 {
		t.Errorf("%d of %d texts with diacritics, want ≥ 1 %%", accented, n)
	}
	if short < n/20 || long < n/100 {
		t.Errorf("%d short and %d long texts of %d, want lengths that vary", short, long, n)
	}
	if counts["the"] < 20*counts[p.vocab[1000]] || counts[p.vocab[1000]] == 0 {
		t.Errorf("\"the\" %d times, rank 1000 (%q) %d: want a Zipf-like spread", counts["the"], p.vocab[1000], counts[p.vocab[1000]])
	}
}

// TestSearchLoad loads a small plan into SQLite, as the scenario does, and
// checks that the store holds it as planned: every message, in the
// planned conversations, with the reader's token and memberships, and the
// made-up times kept.
func TestSearchLoad(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	p := newSearchPlan(20, 30, 2000, time.Now())
	st, closeStore, err := openSearchStore(ctx, dir, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore()
	m, err := loadSearch(ctx, st, p, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if m.Messages != 2000 || m.Channels != 30 || m.ReaderIn != 4 || len(m.Patterns) < 10 || m.ReaderToken == "" {
		t.Fatalf("manifest = %+v, want 2,000 messages in 30 conversations, the reader in 4 (one of each kind but public), the patterns", m)
	}
	sum := sha256.Sum256([]byte(m.ReaderToken))
	tok, err := st.FindToken(ctx, sum[:])
	if err != nil || tok.UserID != m.ReaderID {
		t.Fatalf("the reader's token: %+v, %v", tok, err)
	}
	ms, err := st.FindMemberships(ctx, m.ReaderID)
	if err != nil || len(ms) != 4 {
		t.Fatalf("the reader's memberships: %d, %v; want 4", len(ms), err)
	}
	ws, err := st.FindWorkspaceByDomain(ctx, m.Team)
	if err != nil {
		t.Fatal(err)
	}
	chans, err := st.FindChannels(ctx, confab.ChannelFilter{WorkspaceID: ws.ID})
	if err != nil {
		t.Fatal(err)
	}
	posts := int64(0) // every message takes a seq; nothing else was written
	var general *confab.Channel
	for _, c := range chans {
		posts += c.LastSeq
		if c.Name == "general" {
			general = c
		}
	}
	if len(chans) != 30 || posts != 2000 || general == nil || general.NumMembers != 20 {
		t.Fatalf("%d conversations holding %d messages, #general %+v; want 30, 2,000, and everyone in #general", len(chans), posts, general)
	}
	msgs, err := st.FindMessages(ctx, confab.MessageFilter{ChannelID: general.ID, Limit: 1000})
	if err != nil || len(msgs) < 2 {
		t.Fatalf("#general: %d messages, %v", len(msgs), err)
	}
	if first, last := msgs[0].TS, msgs[len(msgs)-1].TS; time.Duration(last-first)*time.Microsecond < searchSpan/2 {
		t.Errorf("#general's messages span %v, want most of %v", time.Duration(last-first)*time.Microsecond, searchSpan)
	}
}

// TestSearchLoadPostgres loads a small plan into PostgreSQL, as the
// scenario does with -postgres, and measures the database.
func TestSearchLoadPostgres(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Start(t).NewDatabase(t)
	p := newSearchPlan(20, 30, 1000, time.Now())
	st, closeStore, err := openSearchStore(ctx, "", dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := loadSearch(ctx, st, p, slog.New(slog.NewTextHandler(io.Discard, nil)))
	closeStore()
	if err != nil {
		t.Fatal(err)
	}
	if m.Messages != 1000 || m.Channels != 30 {
		t.Fatalf("manifest = %+v, want 1,000 messages in 30 conversations", m)
	}
	d, err := postgresDisk(ctx, dsn, m.Messages)
	if err != nil {
		t.Fatal(err)
	}
	if d.Bytes <= 0 || d.BytesWithout <= 0 || d.BytesWithout > d.Bytes || d.PerMessage <= 0 {
		t.Errorf("disk = %+v, want the database's size, at least its size without the index", d)
	}
}
