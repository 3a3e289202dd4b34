package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/confab/confab/internal/pgtest"
	"github.com/slack-go/slack"
)

// search.messages through slack-go, on a real server on each store: a
// Slack library reads the answer, the query language finds what it says
// (alike on both stores), pages page, and no one finds what they may not
// read.
func TestSlackGoSearchMessages(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testSlackGoSearch(t, MustRunMain(t)) })
	t.Run("postgres", func(t *testing.T) {
		pg := pgtest.Start(t)
		testSlackGoSearch(t, MustRunMain(t, func(m *Main) { m.Config.Postgres = pg.NewDatabase(t) }))
	})
}

func testSlackGoSearch(t *testing.T, m *Main) {
	alice := signup(t, m, "acme", "alice") // the owner
	bob := signup(t, m, "acme", "bob")
	carol := signup(t, m, "acme", "carol")
	general := alice.createChannel("plaza", false)
	secret := alice.createChannel("secret", true)
	bulk := alice.createChannel("bulk", false)
	bob.must("conversations.join", obj{"channel": general})
	dm := bob.must("conversations.open", obj{"users": alice.userID})["channel"].(obj)["id"].(string)

	noon := alice.post(general, "Deploy finished at noon")
	link := bob.post(general, "deploying the new build, see <https://ci.example.com/b/7|the build>")
	thread := bob.must("chat.postMessage", obj{"channel": general, "text": "東京都庁 deploy notes", "thread_ts": noon})["ts"].(string)
	hidden := alice.post(secret, "deploy the secret plan")
	direct := bob.post(dm, "deploy question for <@"+alice.userID+">")
	alice.must("reactions.add", obj{"channel": general, "timestamp": link, "name": "tada"})
	for i := range 25 {
		alice.post(bulk, fmt.Sprintf("bulk item %d", i))
	}

	search := func(c *client, q string, p slack.SearchParameters) *slack.SearchMessages {
		t.Helper()
		res, err := slack.New(c.token, slack.OptionAPIURL(m.URL()+"/api/")).SearchMessages(q, p)
		if err != nil {
			t.Fatalf("SearchMessages(%q) as %s: %v", q, c.name, err)
		}
		return res
	}
	tss := func(res *slack.SearchMessages) []string {
		var out []string
		for _, mt := range res.Matches {
			out = append(out, mt.Timestamp)
		}
		slices.Sort(out)
		return out
	}
	sorted := func(ts ...string) []string { slices.Sort(ts); return ts }
	params := slack.NewSearchParameters()

	for _, c := range []struct {
		who  *client
		q    string
		want []string
	}{
		{alice, "deploy*", sorted(noon, link, thread, hidden, direct)},
		{carol, "deploy*", sorted(noon, link, thread)}, // not the private channel, not the DM
		{carol, "deploy in:#secret", nil},
		{alice, "deploy in:#secret", []string{hidden}},
		{alice, "DEPLOY in:<#" + general + "|plaza>", sorted(noon, thread)},
		{alice, "deploy in:@bob", []string{direct}},
		{carol, "deploy in:@bob", nil},
		{alice, "from:@bob deploy*", sorted(link, thread, direct)},
		{bob, "from:me deploy*", sorted(link, thread, direct)},
		{alice, "to:me", []string{direct}},
		{alice, `"finished at noon"`, []string{noon}},
		{alice, `"noon at finished"`, nil},
		{alice, "deploy* -noon -東京", sorted(link, hidden, direct)},
		{alice, "has:link", []string{link}},
		{alice, "has::tada:", []string{link}},
		{alice, "has:reaction deploy*", []string{link}},
		{alice, "is:thread", sorted(noon, thread)},
		{alice, "東京", []string{thread}},
		{alice, "*uild*", []string{link}},
		{alice, "deploy on:today", sorted(noon, thread, hidden, direct)},
		{alice, "deploy before:2000-01-01", nil},
		{alice, "deploy in:#nosuch", nil},
		{alice, "unknown:operator", nil},
	} {
		if got := tss(search(c.who, c.q, params)); !slices.Equal(got, c.want) {
			t.Errorf("%s searching %q: %v, want %v", c.who.name, c.q, got, c.want)
		}
	}

	// A match as slack-go reads it, highlighted.
	p := params
	p.Highlight = true
	res := search(alice, "deploy in:#secret", p)
	if len(res.Matches) != 1 {
		t.Fatalf("in:#secret: %+v", res)
	}
	mt := res.Matches[0]
	if mt.Type != "message" || mt.User != alice.userID || mt.Username != "alice" || mt.Text != "\ue000deploy\ue001 the secret plan" ||
		mt.Channel.ID != secret || mt.Channel.Name != "secret" || !mt.Channel.IsPrivate || mt.Channel.IsMPIM ||
		mt.Permalink != m.URL()+"/#"+secret+"/p"+strings.Replace(hidden, ".", "", 1) {
		t.Errorf("match = %+v", mt)
	}

	// Paging: 25 matches, pages of 10, the third has 5.
	p = params
	p.Count, p.Page, p.Sort, p.SortDirection = 10, 3, "timestamp", "asc"
	res = search(alice, "bulk in:#bulk", p)
	if res.Total != 25 || len(res.Matches) != 5 || res.Paging.Pages != 3 || res.Paging.Page != 3 || res.Paging.Count != 10 ||
		res.Pagination.First != 21 || res.Pagination.Last != 25 || res.Pagination.TotalCount != 25 || res.Matches[0].Text != "bulk item 20" {
		t.Errorf("page 3 of 10: total %d, %d matches (first %q), paging %+v, pagination %+v",
			res.Total, len(res.Matches), res.Matches[0].Text, res.Paging, res.Pagination)
	}

	// Errors: a query that cannot be read, and a bot's token.
	if _, err := slack.New(alice.token, slack.OptionAPIURL(m.URL()+"/api/")).SearchMessages("deploy after:someday", params); err == nil || err.Error() != "invalid_query" {
		t.Errorf("after:someday: %v, want invalid_query", err)
	}
	created := alice.must("apps.manifest.create", obj{"manifest": obj{
		"display_information": obj{"name": "Finder"},
		"features":            obj{"bot_user": obj{"display_name": "Finder"}},
		"oauth_config":        obj{"scopes": obj{"bot": []string{"channels:history", "search:read"}}},
	}})
	bot := slack.New(created["bot_token"].(string), slack.OptionAPIURL(m.URL()+"/api/"))
	if _, err := bot.SearchMessages("deploy", params); err == nil || err.Error() != "not_allowed_token_type" {
		t.Errorf("bot token: %v, want not_allowed_token_type", err)
	}
}
