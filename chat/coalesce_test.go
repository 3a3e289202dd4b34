package chat

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confab/confab"
)

// pageStore is a Store of channels with top-level messages whose
// FindMessages blocks until the test releases it, so that the test decides
// which reads overlap. Other methods are not implemented (nil Store).
type pageStore struct {
	confab.Store

	release chan struct{}        // closed: FindMessages answers
	started chan context.Context // the context of each FindMessages, as it starts
	reads   atomic.Int32         // FindMessages calls
	checks  atomic.Int32         // FindMembership calls

	mu       sync.Mutex
	channels map[string]*confab.Channel
	members  map[[2]string]bool           // channel id, user id
	messages map[string][]*confab.Message // by channel, by seq from 1
}

func newPageStore() *pageStore {
	return &pageStore{
		release: make(chan struct{}), started: make(chan context.Context, 100),
		channels: map[string]*confab.Channel{}, members: map[[2]string]bool{}, messages: map[string][]*confab.Message{},
	}
}

// addChannel creates a channel of workspace ws with n messages and members.
func (s *pageStore) addChannel(ws, kind string, n int, members ...*confab.User) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := &confab.Channel{ID: confab.NewID(confab.PrefixChannel), WorkspaceID: ws, Kind: kind}
	s.channels[c.ID] = c
	for _, u := range members {
		s.members[[2]string{c.ID, u.ID}] = true
	}
	for range n {
		s.postLocked(c.ID)
	}
	return c.ID
}

// post adds a message, bumping the channel's LastSeq as a store does.
func (s *pageStore) post(channelID string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.postLocked(channelID)
}

func (s *pageStore) postLocked(channelID string) int64 {
	c := s.channels[channelID]
	c.LastSeq++
	s.messages[channelID] = append(s.messages[channelID], &confab.Message{
		ChannelID: channelID, Seq: c.LastSeq, TS: 1_700_000_000_000_000 + c.LastSeq, UserID: "UPOSTER", Text: "hi",
	})
	return c.LastSeq
}

func (s *pageStore) FindChannelByID(_ context.Context, id string) (*confab.Channel, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.channels[id]
	if !ok {
		return nil, confab.ErrChannelNotFound
	}
	cp := *c
	return &cp, nil
}

func (s *pageStore) FindMembership(_ context.Context, channelID, userID string) (*confab.Membership, error) {
	s.checks.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.members[[2]string{channelID, userID}] {
		return nil, &confab.Error{Code: confab.ENOTFOUND, Message: "not_in_channel"}
	}
	return &confab.Membership{ChannelID: channelID, UserID: userID}, nil
}

// FindMessages serves a newest-first top-level page, as History asks.
func (s *pageStore) FindMessages(ctx context.Context, f confab.MessageFilter) ([]*confab.Message, error) {
	s.reads.Add(1)
	s.started <- ctx
	select {
	case <-s.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if !f.Desc || !f.TopLevel {
		return nil, errors.New("pageStore: only newest-first top-level pages")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*confab.Message
	all := s.messages[f.ChannelID]
	for i := len(all) - 1; i >= 0 && len(out) < f.Limit; i-- {
		if m := all[i]; m.Seq > f.After && (f.Before == 0 || m.Seq < f.Before) {
			out = append(out, m)
		}
	}
	return out, nil
}

// coalescing returns a Service on st whose coalescer reports each caller
// that waits for a read.
func coalescing(st confab.Store) (*Service, <-chan string) {
	s := New(Config{Store: st})
	waiting := make(chan string, 2000)
	s.reads.waiting = func(key string) { waiting <- key }
	return s, waiting
}

// awaitWaiting waits until n callers wait for a read.
func awaitWaiting(t *testing.T, waiting <-chan string, n int) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for i := range n {
		select {
		case <-waiting:
		case <-deadline:
			t.Fatalf("%d of %d callers waiting for a read after 10s", i, n)
		}
	}
}

type historyResult struct {
	page *Page
	err  error
}

// history calls s.History in a goroutine; the answer comes on the channel.
func history(ctx context.Context, s *Service, u *confab.User, p HistoryParams) <-chan historyResult {
	out := make(chan historyResult, 1)
	go func() {
		page, err := s.History(ctx, u, p)
		out <- historyResult{page, err}
	}()
	return out
}

func answer(t *testing.T, ch <-chan historyResult) historyResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("History did not answer within 10s")
		return historyResult{}
	}
}

// checkPage checks a page holds exactly the seqs from newest down to oldest.
func checkPage(t *testing.T, who string, r historyResult, newest, oldest int64, hasMore bool) {
	t.Helper()
	if r.err != nil {
		t.Fatalf("%s: History = %v", who, r.err)
	}
	var got, want []int64
	for _, m := range r.page.Messages {
		got = append(got, m.Seq)
	}
	for seq := newest; seq >= oldest; seq-- {
		want = append(want, seq)
	}
	if !slices.Equal(got, want) || r.page.HasMore != hasMore {
		t.Fatalf("%s: page seqs %v (has_more %v), want %d..%d (has_more %v)", who, got, r.page.HasMore, newest, oldest, hasMore)
	}
	if hasMore && r.page.NextCursor != confab.EncodeSeqCursor("h", oldest) {
		t.Fatalf("%s: next cursor %q, want the cursor after seq %d", who, r.page.NextCursor, oldest)
	}
}

// N identical concurrent reads make one store read, every caller is
// authorized on its own, and every caller gets the page.
func TestCoalescedHistoryIdenticalReads(t *testing.T) {
	const n = 200
	st := newPageStore()
	users := make([]*confab.User, n)
	for i := range users {
		users[i] = &confab.User{ID: confab.NewID(confab.PrefixUser), WorkspaceID: "TACME"}
	}
	ch := st.addChannel("TACME", confab.KindPrivate, 300, users...)
	s, waiting := coalescing(st)

	answers := make([]<-chan historyResult, n)
	for i, u := range users {
		answers[i] = history(t.Context(), s, u, HistoryParams{Channel: ch, Limit: 100})
	}
	awaitWaiting(t, waiting, n)
	close(st.release)
	var memo *Memo
	for i := range answers {
		p := answer(t, answers[i])
		checkPage(t, users[i].ID, p, 300, 201, true)
		if memo == nil {
			memo = p.page.Memo
		}
		if p.page.Memo == nil || p.page.Memo != memo {
			t.Fatalf("caller %d got memo %p, want the shared one %p", i, p.page.Memo, memo)
		}
	}
	if got := st.reads.Load(); got != 1 {
		t.Errorf("%d concurrent identical reads made %d store reads, want 1", n, got)
	}
	if got := st.checks.Load(); got != n {
		t.Errorf("membership checked %d times, want once per caller (%d)", got, n)
	}
	// The shared page is hot: a caller just after it is served from it.
	next := history(t.Context(), s, users[0], HistoryParams{Channel: ch, Limit: 100})
	checkPage(t, "later caller", answer(t, next), 300, 201, true)
	if got := st.reads.Load(); got != 1 {
		t.Errorf("store reads = %d after a later read of the hot page, want 1", got)
	}
}

// The result of a read serves the same page at the same channel version
// for hotPageTTL; a new version, an expired page or another page goes to
// the store. (The store is shared: the channel's version is read again
// after sharedVersionTTL.)
func TestCoalescedHistoryHotPage(t *testing.T) {
	st := newPageStore()
	alice := &confab.User{ID: confab.NewID(confab.PrefixUser), WorkspaceID: "TACME"}
	ch := st.addChannel("TACME", confab.KindPublic, 300)
	s, waiting := coalescing(st)
	var now atomic.Int64
	now.Store(time.Unix(1_800_000_000, 0).UnixNano())
	s.reads.now = func() time.Time { return time.Unix(0, now.Load()) }
	s.cache.now = s.reads.now
	p := HistoryParams{Channel: ch, Limit: 10}
	read := func(who string, p HistoryParams, newest int64) {
		t.Helper()
		checkPage(t, who, answer(t, history(t.Context(), s, alice, p)), newest, newest-int64(p.Limit)+1, true)
	}
	reads := func(who string, want int32) {
		t.Helper()
		if got := st.reads.Swap(0); got != want {
			t.Errorf("%s: %d store reads, want %d", who, got, want)
		}
	}

	// Two overlapping reads share one: the page is hot.
	first := history(t.Context(), s, alice, p)
	second := history(t.Context(), s, alice, p)
	awaitWaiting(t, waiting, 2)
	close(st.release)
	checkPage(t, "first", answer(t, first), 300, 291, true)
	checkPage(t, "second", answer(t, second), 300, 291, true)
	reads("two overlapping reads", 1)
	read("just after", p, 300)
	now.Add(int64(hotPageTTL) - 1)
	read("still hot", p, 300)
	reads("reads of the hot page", 0)

	// The hot page is of one version: a post (through another process)
	// moves readers to the store once they read the channel's version
	// again.
	st.post(ch)
	now.Add(int64(sharedVersionTTL))
	read("after a post", p, 301)
	reads("a read after a post", 1)

	// It expires.
	now.Add(int64(hotPageTTL))
	read("expired", p, 301)
	reads("a read of an expired page", 1)

	// Another page is another read, then hot too.
	other := HistoryParams{Channel: ch, Limit: 20}
	read("another page", other, 301)
	read("another page again", other, 301)
	reads("two reads of another page", 1)
}

// The hot pages stay within their bounds, and expired ones are dropped.
func TestCoalescerHotPageBounds(t *testing.T) {
	var co coalescer
	var now atomic.Int64
	co.now = func() time.Time { return time.Unix(0, now.Load()) }
	page := []*confab.Message{{ChannelID: "C1", Text: "hello"}}
	check := func(wantPages int) {
		t.Helper()
		co.mu.Lock()
		defer co.mu.Unlock()
		sum := 0
		for _, p := range co.hot {
			sum += p.size
		}
		if len(co.hot) != wantPages || co.bytes != sum || sum > hotPageBytes {
			t.Fatalf("%d hot pages of %d bytes (counted %d); want %d pages", len(co.hot), sum, co.bytes, wantPages)
		}
	}
	for i := range 3 * hotPageEntries {
		co.keep(fmt.Sprint(i), page, pageSize(page))
	}
	check(hotPageEntries)
	if _, _, ok := co.recent(fmt.Sprint(3*hotPageEntries - 1)); !ok {
		t.Fatal("the newest page was evicted")
	}
	if _, _, ok := co.recent("0"); ok {
		t.Fatal("the oldest page outlived the bound")
	}
	big := make([]*confab.Message, 100)
	for i := range big {
		big[i] = &confab.Message{Text: strings.Repeat("x", 40_000)}
	}
	for i := range 10 {
		co.keep(fmt.Sprint("big", i), big, pageSize(big))
	}
	if co.bytes > hotPageBytes {
		t.Fatalf("%d bytes of hot pages, over %d", co.bytes, hotPageBytes)
	}
	now.Add(int64(hotPageTTL))
	co.keep("last", page, pageSize(page))
	check(1)
}
