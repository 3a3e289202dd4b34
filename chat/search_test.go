package chat

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/confab/confab"
)

// searchStore records the filters Search hands the store and answers
// them with found.
type searchStore struct {
	confab.Store
	filters []confab.SearchFilter
	found   *confab.SearchResult
}

func (s *searchStore) SearchMessages(_ context.Context, f confab.SearchFilter) (*confab.SearchResult, error) {
	s.filters = append(s.filters, f)
	if s.found == nil {
		return &confab.SearchResult{}, nil
	}
	return s.found, nil
}

type searchFixture struct {
	s                       *Service
	st                      *searchStore
	alice, bob, carol, dave *confab.User
	pub, priv, dm           string
	now                     time.Time
}

func newSearchFixture(t *testing.T) *searchFixture {
	t.Helper()
	ctx := t.Context()
	db := openStore(t)
	f := &searchFixture{st: &searchStore{Store: db}, now: time.Date(2024, 5, 15, 10, 0, 0, 0, time.UTC)}
	f.s = New(Config{Store: f.st, Bus: nopBus{}, PasswordCost: 4, Access: ExactAccess(), Now: func() time.Time { return f.now }})
	t.Cleanup(func() { f.s.Close() })
	user := func(team, name string) *confab.User {
		sess, err := f.s.Signup(ctx, SignupParams{Team: team, Name: name, Password: "password1"})
		if err != nil {
			t.Fatal(err)
		}
		return sess.User
	}
	f.alice, f.bob, f.carol, f.dave = user("acme", "alice"), user("acme", "bob"), user("acme", "carol"), user("globex", "dave")
	for _, c := range []struct {
		id      *string
		name    string
		private bool
	}{{&f.pub, "plaza", false}, {&f.priv, "secret", true}} {
		v, err := f.s.CreateChannel(ctx, f.alice, c.name, c.private)
		if err != nil {
			t.Fatal(err)
		}
		*c.id = v.Channel.ID
	}
	dm, _, err := f.s.OpenConversation(ctx, f.alice, []string{f.bob.ID})
	if err != nil {
		t.Fatal(err)
	}
	f.dm = dm.Channel.ID
	return f
}

// search runs p as u and returns the page and the filter the store got
// (nil when Search did not ask the store).
func (f *searchFixture) search(t *testing.T, u *confab.User, p SearchParams) (*SearchPage, *confab.SearchFilter) {
	t.Helper()
	n := len(f.st.filters)
	page, err := f.s.Search(t.Context(), u, p)
	if err != nil {
		t.Fatalf("Search(%q) = %v", p.Query, err)
	}
	if len(f.st.filters) == n {
		return page, nil
	}
	return page, &f.st.filters[len(f.st.filters)-1]
}

// The query's names become ids of the caller's workspace, the caller is
// the reader, and every operator reaches the store's filter.
func TestSearchFilter(t *testing.T) {
	f := newSearchFixture(t)
	_, got := f.search(t, f.alice, SearchParams{Query: `deploy* -flaky "go live" in:#Plaza from:@bob from:me to:<@` + f.carol.ID + `> ` +
		`after:2024-01-01 before:2024-02-01 has:link has:reaction has::tada: has:pin is:thread`, Sort: "timestamp", SortDir: "asc"})
	want := confab.SearchFilter{
		WorkspaceID: f.alice.WorkspaceID, ReaderID: f.alice.ID,
		Terms:      []confab.SearchTerm{{Words: []string{"deploy"}, Prefix: true}, {Words: []string{"go", "live"}}},
		Excluded:   []confab.SearchTerm{{Words: []string{"flaky"}}},
		ChannelIDs: []string{f.pub}, UserIDs: []string{f.bob.ID, f.alice.ID}, ToUserIDs: []string{f.carol.ID},
		Since:   time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC).UnixMicro(),
		Until:   time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC).UnixMicro(),
		HasLink: true, HasReaction: true, Reaction: "tada", HasPin: true, IsThread: true,
		Sort: confab.SortTimestamp, Asc: true, Limit: 20,
	}
	if got == nil || !reflect.DeepEqual(*got, want) {
		t.Fatalf("filter =\n %+v\nwant\n %+v", got, want)
	}

	// in:@user is the caller's DM with them; in: by id is taken as is
	// (the store reads only what the caller may read).
	_, got = f.search(t, f.alice, SearchParams{Query: "x in:@bob in:<#" + f.priv + "|secret> in:" + f.pub})
	if got == nil || !slices.Equal(got.ChannelIDs, []string{f.dm, f.priv, f.pub}) {
		t.Errorf("in:@bob in:<#priv> in:pub: %+v", got)
	}
	// One name that names nothing among others: the others stay.
	_, got = f.search(t, f.alice, SearchParams{Query: "x in:#plaza in:#nosuch from:@bob from:@nobody"})
	if got == nil || !slices.Equal(got.ChannelIDs, []string{f.pub}) || !slices.Equal(got.UserIDs, []string{f.bob.ID}) {
		t.Errorf("in:#plaza in:#nosuch: %+v", got)
	}
	// on:today is the caller's today (UTC).
	_, got = f.search(t, f.alice, SearchParams{Query: "x on:today"})
	if got == nil || got.Since != time.Date(2024, 5, 15, 0, 0, 0, 0, time.UTC).UnixMicro() ||
		got.Until != time.Date(2024, 5, 16, 0, 0, 0, 0, time.UTC).UnixMicro() {
		t.Errorf("on:today: %+v", got)
	}
}

// What names nothing finds nothing, ok and without asking the store: a
// channel or user that does not exist (or of another workspace, by
// name), a DM the caller does not have, dates no message can meet, a
// query of punctuation.
func TestSearchNamesNothing(t *testing.T) {
	f := newSearchFixture(t)
	for _, q := range []string{
		"x in:#nosuch", "x in:@nobody", "x in:@carol", "x in:@alice", "x from:@nobody", "x to:@nobody", "x from:@dave",
		"x in:#Not_A-Valid.name", "x after:2024 before:2023", "?? !!",
	} {
		page, got := f.search(t, f.alice, SearchParams{Query: q})
		if got != nil || page.Total != 0 || len(page.Matches) != 0 || page.Page != 1 || page.Count != 20 {
			t.Errorf("%q: page %+v, filter %+v; want an empty page, no search", q, page, got)
		}
	}
}

func TestSearchRefused(t *testing.T) {
	f := newSearchFixture(t)
	bot := &confab.User{ID: "UBOT", WorkspaceID: f.alice.WorkspaceID, Name: "helper", IsBot: true}
	for _, c := range []struct {
		u    *confab.User
		p    SearchParams
		want string
	}{
		{bot, SearchParams{Query: "x"}, "not_allowed_token_type"},
		{f.alice, SearchParams{Query: " "}, "no_query"},
		{f.alice, SearchParams{Query: "after:someday"}, "invalid_query"},
		{f.alice, SearchParams{Query: "x", Sort: "relevance"}, "invalid_arguments"},
		{f.alice, SearchParams{Query: "x", SortDir: "up"}, "invalid_arguments"},
		{f.alice, SearchParams{Query: "x", Cursor: "junk"}, "invalid_cursor"},
		{f.alice, SearchParams{Query: "x", Cursor: confab.EncodeCursor("s", "-1")}, "invalid_cursor"},
		{f.alice, SearchParams{Query: "x", Cursor: confab.EncodeCursor("h", "20")}, "invalid_cursor"},
	} {
		_, err := f.s.Search(t.Context(), c.u, c.p)
		if confab.ErrorMessage(err) != c.want {
			t.Errorf("%+v: %v, want %s", c.p, err, c.want)
		}
	}
	if len(f.st.filters) != 0 {
		t.Errorf("refused searches reached the store: %+v", f.st.filters)
	}
}

// Paging as Slack's: count 20 by default and at most 100, pages from 1
// and at most 100, or a cursor from "*" on.
func TestSearchPaging(t *testing.T) {
	f := newSearchFixture(t)
	msgs := make([]*confab.Message, 0, 100)
	for i := range 100 {
		msgs = append(msgs, &confab.Message{ChannelID: f.pub, TS: int64(i+1) * 1e6, UserID: f.bob.ID, Text: "x"})
	}
	f.st.found = &confab.SearchResult{Total: 250}
	for _, c := range []struct {
		count, page        int
		limit, offset      int
		wantPage, wantPags int
	}{
		{0, 0, 20, 0, 1, 13},
		{10, 3, 10, 20, 3, 25},
		{500, 2, 100, 100, 2, 3},
		{1, 1000, 1, 99, 100, 100}, // 250 pages, 100 served
	} {
		f.st.found.Messages = msgs[:c.limit]
		page, got := f.search(t, f.alice, SearchParams{Query: "x", Count: c.count, Page: c.page})
		if got.Limit != c.limit || got.Offset != c.offset || page.Page != c.wantPage || page.Pages != c.wantPags ||
			page.Count != c.limit || page.Total != 250 || page.NextCursor != "" || len(page.Matches) != c.limit {
			t.Errorf("count %d page %d: limit %d offset %d, page %d/%d of %d; want limit %d offset %d page %d/%d",
				c.count, c.page, got.Limit, got.Offset, page.Page, page.Pages, page.Count, c.limit, c.offset, c.wantPage, c.wantPags)
		}
	}

	// By cursor: 250 matches in pages of 100.
	cursor, offsets := "*", []int{}
	for cursor != "" && len(offsets) < 5 {
		f.st.found.Messages = msgs[:min(100, 250-len(offsets)*100)]
		page, got := f.search(t, f.alice, SearchParams{Query: "x", Count: 100, Page: 7, Cursor: cursor})
		offsets = append(offsets, got.Offset)
		if page.Page != got.Offset/100+1 {
			t.Errorf("cursor page at offset %d: page %d", got.Offset, page.Page)
		}
		cursor = page.NextCursor
	}
	if !slices.Equal(offsets, []int{0, 100, 200}) {
		t.Errorf("cursor paging read offsets %v, want 0, 100, 200", offsets)
	}
}

// Each match comes with its channel, a DM's other member and its poster's
// name; highlight marks its text.
func TestSearchMatches(t *testing.T) {
	f := newSearchFixture(t)
	f.st.found = &confab.SearchResult{Total: 2, Messages: []*confab.Message{
		{ChannelID: f.dm, TS: 2e6, UserID: f.bob.ID, Text: "Deploying <@" + f.alice.ID + "> now"},
		{ChannelID: f.pub, TS: 1e6, UserID: f.alice.ID, Text: "deploy done"},
	}}
	page, _ := f.search(t, f.alice, SearchParams{Query: "deploy*", Highlight: true})
	if len(page.Matches) != 2 {
		t.Fatalf("matches: %+v", page.Matches)
	}
	m0, m1 := page.Matches[0], page.Matches[1]
	if m0.Channel.ID != f.dm || m0.Other != f.bob.ID || m0.Username != "bob" ||
		m0.Text != "\ue000Deploying\ue001 <@"+f.alice.ID+"> now" || m0.Message.Text != "Deploying <@"+f.alice.ID+"> now" {
		t.Errorf("DM match: %+v", m0)
	}
	if m1.Channel.Name != "plaza" || m1.Other != "" || m1.Username != "alice" || m1.Text != "\ue000deploy\ue001 done" {
		t.Errorf("channel match: %+v", m1)
	}
	page, _ = f.search(t, f.alice, SearchParams{Query: "deploy*"})
	if page.Matches[1].Text != "deploy done" {
		t.Errorf("without highlight: %q", page.Matches[1].Text)
	}
}
