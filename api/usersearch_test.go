package api_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/confab/confab"
	"github.com/confab/confab/api"
)

// users.search passes query, channel and count on and answers the users
// in users.list's shape; a missing or blank query and a bad count are
// invalid_arguments, a count above 100 is clamped, the service's errors
// are the answer.
func TestUsersSearch(t *testing.T) {
	f := stocked()
	var query, channel string
	var count int
	f.SearchUsersFn = func(_ context.Context, _ *confab.User, q, ch string, n int) ([]*confab.User, error) {
		query, channel, count = q, ch, n
		if ch == "CSECRET" {
			return nil, confab.ErrChannelNotFound
		}
		return []*confab.User{erin, alice}, nil
	}
	h := MustServer(t, f, api.Config{})

	a := form(t, h, "users.search", url.Values{"query": {"Er"}, "channel": {"CGENERAL"}, "count": {"5"}}).wantOK(t)
	if query != "Er" || channel != "CGENERAL" || count != 5 {
		t.Errorf("users.search passed %q %q %d", query, channel, count)
	}
	members, _ := a.body["members"].([]any)
	if len(members) != 2 {
		t.Fatalf("users.search members = %s", a.raw)
	}
	first, _ := members[0].(map[string]any)
	profile, _ := first["profile"].(map[string]any)
	if first["id"] != "UERIN" || first["name"] != "erin" || first["real_name"] != "Erin E" || profile["display_name"] != "erin" {
		t.Errorf("users.search first member = %v", first)
	}

	form(t, h, "users.search", url.Values{"query": {"er"}}).wantOK(t)
	if count != 20 {
		t.Errorf("users.search default count = %d; want 20", count)
	}
	form(t, h, "users.search", url.Values{"query": {"er"}, "count": {"5000"}}).wantOK(t)
	if count != 100 {
		t.Errorf("users.search count 5000 = %d; want clamped to 100", count)
	}
	for _, v := range []url.Values{
		{},
		{"query": {"   "}},
		{"query": {"er"}, "count": {"ten"}},
		{"query": {"er"}, "count": {"-1"}},
	} {
		form(t, h, "users.search", v).wantError(t, http.StatusOK, "invalid_arguments")
	}
	form(t, h, "users.search", url.Values{"query": {"er"}, "channel": {"CSECRET"}}).
		wantError(t, http.StatusOK, "channel_not_found")
}
