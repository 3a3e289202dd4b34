package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/confab/confab/slackexport"
)

// runExportTest runs "confab export" and returns its output.
func runExportTest(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errs bytes.Buffer
	err = runExport(context.Background(), args, &out, &errs)
	return out.String(), errs.String(), err
}

// importedWorkspace is a workspace team on the server at base whose
// owner alice imported the generated export (writeExport).
func importedWorkspace(t *testing.T, base, team, export string) *client {
	t.Helper()
	owner := &client{tb: t, base: base, name: "alice"}
	out := owner.must("auth.signup", obj{"team": team, "name": "alice", "password": "correct horse alice", "email": "alice@example.com"})
	owner.token, owner.userID = out["token"].(string), out["user_id"].(string)
	if export != "" {
		if out, errs, err := runImportTest(t, "slack", "--url", base, "--token", owner.token, export); err != nil {
			t.Fatalf("import into %s: %v\n%s%s", team, err, out, errs)
		} else if got := summaryRow(t, out, "skipped"); got != "0" {
			t.Fatalf("import into %s skipped %s:\n%s%s", team, got, out, errs)
		}
	}
	return owner
}

// TestExportRoundTrip imports the generated export into a workspace A,
// exports A, imports that into a fresh workspace B and compares A and B
// through the public API: the same conversations with the same members,
// the same messages in the same order with the same ts, text, threads,
// reactions, edits, subtypes and bot names.
func TestExportRoundTrip(t *testing.T) {
	m := MustRunMain(t)
	a := importedWorkspace(t, m.URL(), "acme", writeExport(t))
	// A's own life after the import: a post with a mention, a reaction,
	// an edit, a join and a topic line, a reply, and a deleted message.
	bob := findUser(t, a, "bob")
	general := findChannel(t, a, "general")
	ts := a.post(general, "after the move, <@"+bob+">")
	a.must("reactions.add", obj{"channel": general, "timestamp": ts, "name": "rocket"})
	a.must("chat.update", obj{"channel": general, "ts": ts, "text": "after the move, <@" + bob + "> (edited)"})
	a.must("chat.postMessage", obj{"channel": general, "text": "a reply", "thread_ts": ts})
	gone := a.post(general, "a mistake")
	a.must("chat.delete", obj{"channel": general, "ts": gone})
	side := a.createChannel("side", true)
	a.must("conversations.setTopic", obj{"channel": side, "topic": "private matters"})
	a.must("conversations.invite", obj{"channel": side, "users": bob})

	path := filepath.Join(t.TempDir(), "acme.zip")
	out, errs, err := runExportTest(t, "slack", "--url", m.URL(), "--token", a.token, path)
	if err != nil {
		t.Fatalf("export: %v\n%s%s", err, out, errs)
	}
	for row, want := range map[string]string{
		"users":         "5 (1 deleted, 2 bots)",
		"conversations": "7 (3 public, 2 private, 1 DMs, 1 group DMs; 1 archived)",
		"general":       "#general",
		"messages":      "17", // 13 imported, a post and its reply, a topic and a join line
		"joins, leaves": "3",
		"threads":       "2 (3 replies)",
		"reactions":     "4",
		"edits":         "2",
		"bot messages":  "3",
	} {
		if got := summaryRow(t, out, row); got != want {
			t.Errorf("export summary %s: %q, want %q\n%s", row, got, want, out)
		}
	}

	// Read back by slackexport's Reader: no problem, the manifests whole.
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	x, err := slackexport.Open(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	if len(x.Problems) > 0 {
		t.Errorf("the export's problems: %v", x.Problems)
	}
	botIDs := map[string]string{} // user → the bot_id of their messages
	for i := range x.Conversations {
		c := &x.Conversations[i]
		if c.Kind == slackexport.MPIM && c.Name != "mpdm-alice--bob--carol-1" {
			t.Errorf("the group DM is named %q, want Slack's mpdm-alice--bob--carol-1", c.Name)
		}
		for m, err := range x.Messages(c) {
			if err != nil {
				t.Errorf("reading the export: %v", err)
			} else if m.BotID != "" {
				botIDs[m.User] = m.BotID
			}
		}
	}
	if len(x.Users) != 5 || len(x.Conversations) != 7 {
		t.Errorf("the export holds %d users, %d conversations", len(x.Users), len(x.Conversations))
	}
	for _, u := range x.Users {
		if u.Name == "deploybot" && (u.Profile.BotID == "" || botIDs[u.ID] != u.Profile.BotID) {
			t.Errorf("deploybot's bot_id is %q, its messages' %q", u.Profile.BotID, botIDs[u.ID])
		}
		if u.Name == "alice" && (!u.IsOwner || u.Profile.Email != "alice@example.com" || u.ID != a.userID) {
			t.Errorf("alice in users.json: %+v", u)
		}
	}

	b := importedWorkspace(t, m.URL(), "beta", path)
	// The users as the export has them: bob's time zone came along.
	if bob := b.must("users.info", obj{"user": findUser(t, b, "bob")})["user"].(obj); bob["tz"] != "Asia/Tokyo" || bob["real_name"] != "Bob" {
		t.Errorf("bob in B: %v", bob)
	}
	sa, sb := snapshot(t, a), snapshot(t, b)
	if len(sa) != 7 {
		t.Errorf("A has %d conversations: %v", len(sa), slices.Collect(mapKeys(sa)))
	}
	sameWorkspaces(t, sa, sb)
	// The edited, reacted, mentioning post of A's own is there in B.
	found := false
	for _, line := range sb["#general"].messages {
		found = found || strings.Contains(line, "after the move, @bob (edited)") && strings.Contains(line, "rocket=alice") && strings.HasPrefix(line, ts+" alice") && strings.Contains(line, "edited ")
	}
	if !found {
		t.Errorf("A's own post is not in B's #general as it was: %q", sb["#general"].messages)
	}
}

// sameWorkspaces compares two snapshots.
func sameWorkspaces(t *testing.T, sa, sb map[string]convShot) {
	t.Helper()
	for k, ca := range sa {
		cb, ok := sb[k]
		if !ok {
			t.Errorf("B lacks conversation %s", k)
			continue
		}
		if ca.head != cb.head {
			t.Errorf("conversation %s:\nA %s\nB %s", k, ca.head, cb.head)
		}
		if !slices.Equal(ca.messages, cb.messages) {
			t.Errorf("conversation %s's messages:\nA %q\nB %q", k, ca.messages, cb.messages)
		}
	}
	for k := range sb {
		if _, ok := sa[k]; !ok {
			t.Errorf("B has a conversation A has not: %s", k)
		}
	}
}

// On a cluster, the export runs through any API process: a workspace of
// pocket a (the directory's database), exported through another API
// process, imported into one of pocket b (its own PostgreSQL), is the
// same.
func TestClusterExportRoundTrip(t *testing.T) {
	c := startCluster(t, 2, 1, withPocketPostgres("b"))
	a := importedWorkspace(t, c.api(0).URL(), "alpha", writeExport(t))
	path := filepath.Join(t.TempDir(), "alpha.zip")
	if out, errs, err := runExportTest(t, "slack", "--url", c.api(1).URL(), "--token", a.token, path); err != nil {
		t.Fatalf("export: %v\n%s%s", err, out, errs)
	}
	b := importedWorkspace(t, c.api(1).URL(), "beta", path)
	sa, sb := snapshot(t, a), snapshot(t, b)
	if len(sa) != 6 {
		t.Errorf("alpha has %d conversations: %v", len(sa), slices.Collect(mapKeys(sa)))
	}
	sameWorkspaces(t, sa, sb)
}

// convShot is a conversation seen through the public API, users by name.
type convShot struct {
	head     string   // kind, archived, general, topic, purpose, members
	messages []string // oldest first, each reply after its parent's line
}

// snapshot reads every conversation of c's workspace that c sees,
// keyed by name (#name) or, for a DM or group DM, its members' names.
func snapshot(t *testing.T, c *client) map[string]convShot {
	t.Helper()
	names := map[string]string{}
	name := func(id string) string {
		if id == "" {
			return ""
		}
		if n, ok := names[id]; ok {
			return n
		}
		n := c.must("users.info", obj{"user": id})["user"].(obj)["name"].(string)
		names[id] = n
		return n
	}
	mention := regexp.MustCompile(`<@([UW][A-Z0-9]+)(\|[^>]*)?>`)
	text := func(s string) string {
		return mention.ReplaceAllStringFunc(s, func(m string) string { return "@" + name(mention.FindStringSubmatch(m)[1]) })
	}
	line := func(h obj) string {
		var rs []string
		if v, ok := h["reactions"].([]any); ok {
			for _, r := range v {
				var who []string
				for _, u := range anyStrings(r.(obj)["users"]) {
					who = append(who, name(u))
				}
				rs = append(rs, r.(obj)["name"].(string)+"="+strings.Join(who, "+"))
			}
		}
		edited := ""
		if e, ok := h["edited"].(obj); ok {
			edited = "edited " + e["ts"].(string) + " by " + name(e["user"].(string))
		}
		str := func(k string) string { s, _ := h[k].(string); return s }
		return fmt.Sprintf("%s %s %s bot=%v %q thread=%s replies=%v %s reactions=%s username=%s",
			str("ts"), name(str("user")), str("subtype"), str("bot_id") != "", text(str("text")),
			str("thread_ts"), h["reply_count"], edited, strings.Join(rs, ","), str("username"))
	}
	out := map[string]convShot{}
	list := c.must("conversations.list", obj{"types": "public_channel,private_channel,im,mpim", "limit": 1000})["channels"].([]any)
	for _, v := range list {
		ch := v.(obj)
		id := ch["id"].(string)
		var members []string
		for _, u := range c.must("conversations.members", obj{"channel": id, "limit": 1000})["members"].([]any) {
			members = append(members, name(u.(string)))
		}
		slices.Sort(members)
		key := "#" + fmt.Sprint(ch["name"])
		if ch["is_im"] == true || ch["is_mpim"] == true {
			key = "@" + strings.Join(members, ",")
		}
		topic, purpose := "", ""
		if t, ok := ch["topic"].(obj); ok {
			topic = text(t["value"].(string))
		}
		if p, ok := ch["purpose"].(obj); ok {
			purpose = text(p["value"].(string))
		}
		s := convShot{head: fmt.Sprintf("private=%v im=%v mpim=%v archived=%v general=%v topic=%q purpose=%q members=%v",
			ch["is_private"], ch["is_im"], ch["is_mpim"], ch["is_archived"], ch["is_general"], topic, purpose, members)}
		var hist []obj
		for cursor := ""; ; {
			page := c.must("conversations.history", obj{"channel": id, "limit": 1000, "cursor": cursor})
			for _, h := range page["messages"].([]any) {
				hist = append(hist, h.(obj))
			}
			if cursor, _ = page["response_metadata"].(obj)["next_cursor"].(string); cursor == "" {
				break
			}
		}
		slices.Reverse(hist)
		for _, h := range hist {
			s.messages = append(s.messages, line(h))
			if n, _ := h["reply_count"].(float64); n > 0 {
				replies := c.must("conversations.replies", obj{"channel": id, "ts": h["ts"], "limit": 1000})["messages"].([]any)
				for _, r := range replies[1:] {
					s.messages = append(s.messages, "  reply "+line(r.(obj)))
				}
			}
		}
		out[key] = s
	}
	return out
}

func findUser(t *testing.T, c *client, name string) string {
	t.Helper()
	for _, u := range c.must("users.list", obj{"limit": 1000})["members"].([]any) {
		if u.(obj)["name"] == name {
			return u.(obj)["id"].(string)
		}
	}
	t.Fatalf("no user %s", name)
	return ""
}

func findChannel(t *testing.T, c *client, name string) string {
	t.Helper()
	for _, ch := range c.must("conversations.list", obj{"types": "public_channel,private_channel", "limit": 1000})["channels"].([]any) {
		if ch.(obj)["name"] == name {
			return ch.(obj)["id"].(string)
		}
	}
	t.Fatalf("no channel %s", name)
	return ""
}

// Only the owner exports: another member's token is refused before
// anything is written, and so is every admin.export.* call of theirs.
func TestExportNotOwner(t *testing.T) {
	m := MustRunMain(t)
	owner := signup(t, m, "acme", "alice")
	bob := signup(t, m, "acme", "bob")
	dir := t.TempDir()
	path := filepath.Join(dir, "out.zip")
	_, _, err := runExportTest(t, "slack", "--url", m.URL(), "--token", bob.token, path)
	if err == nil || !strings.Contains(err.Error(), "bob's ("+bob.userID+"), who does not own workspace acme") {
		t.Errorf("export as a member: %v, want a word on the owner", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("the refused export left %v", ents)
	}
	general := findChannel(t, owner, "general")
	bob.fails("admin.export.users", nil, "not_authorized")
	bob.fails("admin.export.conversations", nil, "not_authorized")
	bob.fails("admin.export.messages", obj{"channel": general}, "not_authorized")
}

// The methods' bad input is a Slack-style error.
func TestExportBadInput(t *testing.T) {
	m := MustRunMain(t)
	owner := signup(t, m, "acme", "alice")
	other := signup(t, m, "other", "olga")
	theirs := findChannel(t, other, "general")
	ours := findChannel(t, owner, "general")
	for _, c := range []struct {
		method string
		args   obj
		err    string
	}{
		{"admin.export.messages", obj{}, "invalid_arguments"},
		{"admin.export.messages", obj{"channel": "CNOPE0000000"}, "channel_not_found"},
		{"admin.export.messages", obj{"channel": "nonsense"}, "channel_not_found"},
		{"admin.export.messages", obj{"channel": theirs}, "channel_not_found"},
		{"admin.export.messages", obj{"channel": ours, "cursor": "bogus!"}, "invalid_cursor"},
		{"admin.export.messages", obj{"channel": ours, "limit": "lots"}, "invalid_arguments"},
		{"admin.export.users", obj{"cursor": "bogus!"}, "invalid_cursor"},
		{"admin.export.conversations", obj{"cursor": "bogus!"}, "invalid_cursor"},
		{"admin.export.conversations", obj{"types": "secret"}, "invalid_arguments"},
	} {
		owner.fails(c.method, c.args, c.err)
	}
	// A cursor of one list is no cursor of another.
	page := owner.must("admin.export.users", obj{"limit": 1})
	if next := page["response_metadata"].(obj)["next_cursor"].(string); next != "" {
		owner.fails("admin.export.conversations", obj{"cursor": next}, "invalid_cursor")
	}
	// Another workspace's conversations are not listed.
	for _, ch := range owner.must("admin.export.conversations", nil)["conversations"].([]any) {
		if ch.(obj)["id"] == theirs {
			t.Errorf("acme's export lists other's general")
		}
	}
}

// dropAfter is a proxy to a server that drops the connection of every
// call of method after the first n: a server gone midway.
type dropAfter struct {
	proxy  *httputil.ReverseProxy
	method string
	n      atomic.Int32
}

func (d *dropAfter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, "/"+d.method) && d.n.Add(-1) < 0 {
		panic(http.ErrAbortHandler)
	}
	d.proxy.ServeHTTP(w, r)
}

// An export that fails midway leaves no OUT.zip, nor its temporary file.
func TestExportFails(t *testing.T) {
	m := MustRunMain(t)
	a := importedWorkspace(t, m.URL(), "acme", writeExport(t))
	target, _ := url.Parse(m.URL())
	d := &dropAfter{proxy: httputil.NewSingleHostReverseProxy(target), method: "admin.export.messages"}
	d.n.Store(2)
	srv := httptest.NewServer(d)
	defer srv.Close()
	dir := t.TempDir()
	path := filepath.Join(dir, "out.zip")
	out, _, err := runExportTest(t, "slack", "--url", srv.URL, "--token", a.token, path)
	if err == nil {
		t.Fatalf("the export through a server gone midway ended well:\n%s", out)
	}
	if !strings.Contains(err.Error(), "admin.export.messages") {
		t.Errorf("error %v does not name the call that failed", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("the failed export left %v", ents)
	}
	// An export to a folder that is not there fails, writing nothing.
	if _, _, err := runExportTest(t, "slack", "--url", m.URL(), "--token", a.token, filepath.Join(dir, "nope", "out.zip")); err == nil {
		t.Errorf("export into a missing folder: no error")
	}
}

// admin.export.messages lists a conversation oldest first, replies among
// the messages, in Slack's shapes: a private channel's join as
// group_join, a thread parent with its replies, a deleted message left
// out but for a deleted parent whose replies live on (Slack's
// tombstone); a page at a time gives the same.
func TestExportMessages(t *testing.T) {
	m := MustRunMain(t)
	owner := signup(t, m, "acme", "alice")
	bob := signup(t, m, "acme", "bob")
	p := owner.createChannel("plans", true)
	owner.must("conversations.invite", obj{"channel": p, "users": bob.userID})
	parent := owner.post(p, "a thread")
	reply := bob.must("chat.postMessage", obj{"channel": p, "text": "a reply", "thread_ts": parent})["ts"].(string)
	owner.must("chat.delete", obj{"channel": p, "ts": parent})
	gone := owner.post(p, "a mistake")
	owner.must("chat.delete", obj{"channel": p, "ts": gone})
	kept := owner.post(p, "kept")
	owner.must("reactions.add", obj{"channel": p, "timestamp": kept, "name": "eyes"})
	bob.must("reactions.add", obj{"channel": p, "timestamp": kept, "name": "eyes"})

	line := func(v any) string {
		x := v.(obj)
		s := fmt.Sprintf("%v %v %v %q", x["ts"], x["user"], x["subtype"], x["text"])
		if x["thread_ts"] != nil {
			s += fmt.Sprintf(" thread %v", x["thread_ts"])
		}
		if x["reply_count"] != nil {
			s += fmt.Sprintf(" replies %v %v %v", x["reply_count"], x["replies"], x["reply_users"])
		}
		if x["reactions"] != nil {
			s += fmt.Sprintf(" reactions %v", x["reactions"])
		}
		return s
	}
	var whole []string
	for _, v := range owner.must("admin.export.messages", obj{"channel": p})["messages"].([]any) {
		whole = append(whole, line(v))
	}
	want := []string{
		fmt.Sprintf("%s %s group_join %q", whole[0][:17], bob.userID, "<@"+bob.userID+"> has joined the channel"),
		fmt.Sprintf("%s %s tombstone %q thread %s replies 1 [map[ts:%s user:%s]] [%s]", parent, owner.userID, "This message was deleted.", parent, reply, bob.userID, bob.userID),
		fmt.Sprintf("%s %s <nil> %q thread %s", reply, bob.userID, "a reply", parent),
		fmt.Sprintf("%s %s <nil> %q reactions [map[count:2 name:eyes users:[%s %s]]]", kept, owner.userID, "kept", owner.userID, bob.userID),
	}
	if !slices.Equal(whole, want) {
		t.Errorf("export of #plans:\n%s\nwant\n%s", strings.Join(whole, "\n"), strings.Join(want, "\n"))
	}
	var paged []string
	for cursor := ""; ; {
		page := owner.must("admin.export.messages", obj{"channel": p, "limit": 1, "cursor": cursor})
		for _, v := range page["messages"].([]any) {
			paged = append(paged, line(v))
		}
		if cursor = page["response_metadata"].(obj)["next_cursor"].(string); cursor == "" {
			break
		}
	}
	if !slices.Equal(paged, whole) {
		t.Errorf("a page at a time:\n%s\nwant\n%s", strings.Join(paged, "\n"), strings.Join(whole, "\n"))
	}
}

// Bad usage is an error that shows the usage, and asks no server.
func TestExportUsage(t *testing.T) {
	for _, args := range [][]string{{}, {"slack"}, {"mattermost", "out.zip"}, {"slack", "out.zip"},
		{"slack", "--url", "http://127.0.0.1:1", "out.zip"}, {"slack", "--url", "http://127.0.0.1:1", "--token", "x", "a.zip", "b.zip"}} {
		if _, _, err := runExportTest(t, args...); err == nil || !strings.Contains(err.Error(), "usage: confab export slack") {
			t.Errorf("export %q: %v, want the usage", args, err)
		}
	}
}
