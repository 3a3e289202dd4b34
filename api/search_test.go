package api_test

import (
	"context"
	"encoding/json"
	"net/url"
	"reflect"
	"testing"

	"github.com/confab/confab"
	"github.com/confab/confab/api"
	"github.com/confab/confab/chat"
)

func (f *fake) Search(ctx context.Context, u *confab.User, p chat.SearchParams) (*chat.SearchPage, error) {
	if f.SearchFn == nil {
		return nil, errNotStubbed
	}
	return f.SearchFn(ctx, u, p)
}

// searchFake answers every search with two matches, a private channel's
// and a DM's, on page 2 of pages of 2 (5 matches), and records the
// parameters it got. A query that does not parse is its error.
func searchFake(got *chat.SearchParams) *fake {
	f := stocked()
	f.SearchFn = func(_ context.Context, u *confab.User, p chat.SearchParams) (*chat.SearchPage, error) {
		*got = p
		if _, err := confab.ParseSearchQuery(p.Query); err != nil {
			return nil, err
		}
		priv := &confab.Channel{ID: "CSECRET", WorkspaceID: "TTEAM", Kind: confab.KindPrivate, Name: "secret"}
		dm := &confab.Channel{ID: "DBOB", WorkspaceID: "TTEAM", Kind: confab.KindDM}
		return &chat.SearchPage{Total: 5, Count: 2, Page: 2, Pages: 3, NextCursor: "next", Matches: []chat.SearchMatch{
			{Channel: priv, Username: "alice", Text: "\ue000deploy\ue001 done", Message: &confab.Message{
				ChannelID: "CSECRET", TS: 1_700_000_000_000_123, UserID: "UALICE", Text: "deploy done",
				ThreadTS: 1_699_999_999_000_001, Blocks: `[{"type":"divider"}]`}},
			{Channel: dm, Other: "UBOB", Username: "bob", Text: "deploy?", Message: &confab.Message{
				ChannelID: "DBOB", TS: 1_700_000_001_000_000, UserID: "UBOB", Text: "deploy?"}},
		}}, nil
	}
	return f
}

// search.messages answers Slack's shape: the query, the matches with
// their channels and permalinks, Slack's paging and pagination.
func TestSearchMessagesShape(t *testing.T) {
	var got chat.SearchParams
	srv := MustServer(t, searchFake(&got), api.Config{})
	a := form(t, srv, "search.messages", url.Values{"query": {"deploy"}, "count": {"2"}, "page": {"2"}, "highlight": {"true"},
		"sort": {"timestamp"}, "sort_dir": {"asc"}, "team_id": {"TTEAM"}}).wantOK(t)
	want := chat.SearchParams{Query: "deploy", Sort: "timestamp", SortDir: "asc", Count: 2, Page: 2, Highlight: true}
	if got != want {
		t.Errorf("params %+v, want %+v", got, want)
	}
	var body map[string]any
	wantJSON := `{"ok":true,"query":"deploy","messages":{"total":5,
	  "matches":[
	    {"type":"message","iid":"CSECRET-1700000000.000123","team":"TTEAM",
	     "channel":{"id":"CSECRET","name":"secret","is_channel":true,"is_group":true,"is_im":false,"is_mpim":false,"is_private":true,
	       "is_archived":false,"is_shared":false,"is_ext_shared":false,"is_org_shared":false,"is_pending_ext_shared":false,"pending_shared":[]},
	     "user":"UALICE","username":"alice","ts":"1700000000.000123","thread_ts":"1699999999.000001","text":"\ue000deploy\ue001 done",
	     "permalink":"http://example.com/#CSECRET/p1700000000000123","blocks":[{"type":"divider"}]},
	    {"type":"message","iid":"DBOB-1700000001.000000","team":"TTEAM",
	     "channel":{"id":"DBOB","name":"UBOB","is_channel":false,"is_group":false,"is_im":true,"is_mpim":false,"is_private":true,
	       "is_archived":false,"is_shared":false,"is_ext_shared":false,"is_org_shared":false,"is_pending_ext_shared":false,"pending_shared":[],
	       "user":"UBOB"},
	     "user":"UBOB","username":"bob","ts":"1700000001.000000","text":"deploy?","permalink":"http://example.com/#DBOB/p1700000001000000"}],
	  "paging":{"count":2,"total":5,"page":2,"pages":3},
	  "pagination":{"total_count":5,"page":2,"per_page":2,"page_count":3,"first":3,"last":4}}}`
	if err := json.Unmarshal([]byte(wantJSON), &body); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a.body, body) {
		t.Errorf("answer\n %s\nwant\n %s", a.raw, wantJSON)
	}

	// By cursor: the next one in response_metadata.
	a = form(t, srv, "search.messages", url.Values{"query": {"deploy"}, "cursor": {"*"}}).wantOK(t)
	if v, _ := lookup(a.body, "response_metadata.next_cursor"); v != "next" || got.Cursor != "*" || got.Count != 20 || got.Page != 1 {
		t.Errorf("cursor *: params %+v, answer %s", got, a.raw)
	}
	// Above the maximum: the maximum.
	form(t, srv, "search.messages", url.Values{"query": {"x"}, "count": {"1000"}, "page": {"500"}}).wantOK(t)
	if got.Count != 100 || got.Page != 100 {
		t.Errorf("count 1000 page 500: %+v, want 100 and 100", got)
	}
}

func TestSearchMessagesErrors(t *testing.T) {
	var got chat.SearchParams
	srv := MustServer(t, searchFake(&got), api.Config{})
	for _, c := range []struct {
		args url.Values
		code string
	}{
		{url.Values{}, "no_query"},
		{url.Values{"query": {"  "}}, "no_query"},
		{url.Values{"query": {"x"}, "count": {"many"}}, "invalid_arguments"},
		{url.Values{"query": {"x"}, "page": {"-1"}}, "invalid_arguments"},
		{url.Values{"query": {"x"}, "highlight": {"maybe"}}, "invalid_arguments"},
	} {
		form(t, srv, "search.messages", c.args).wantError(t, 200, c.code)
	}
	// A query that cannot be read says why.
	a := form(t, srv, "search.messages", url.Values{"query": {"deploy after:someday"}})
	a.wantError(t, 200, "invalid_query")
	if d, _ := a.body["detail"].(string); d == "" {
		t.Errorf("invalid_query without a detail: %s", a.raw)
	}
}

// A bot's token may not search, whatever its scopes.
func TestSearchMessagesNotForBots(t *testing.T) {
	_, srv := appsServer(t, botUser, "search:read", "channels:history")
	a := form(t, srv, "search.messages", url.Values{"query": {"x"}})
	a.wantError(t, 200, "not_allowed_token_type")
}

// A service that answers neither a page nor an error is a bug: 500, not
// a crash.
func TestSearchMessagesNilPage(t *testing.T) {
	f := stocked()
	f.SearchFn = func(context.Context, *confab.User, chat.SearchParams) (*chat.SearchPage, error) { return nil, nil }
	form(t, MustServer(t, f, api.Config{}), "search.messages", url.Values{"query": {"x"}}).wantError(t, 500, "internal_error")
}
