package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/confab/confab/internal/cmdtest"
	"github.com/confab/confab/slackexport"
)

// TestImportRun imports a generated export into a running server and
// checks every item through the public API; a second run changes
// nothing.
func TestImportRun(t *testing.T) {
	m := MustRunMain(t)
	// The owner was alice in Slack too: the same email makes U1 her.
	owner := &client{tb: t, base: m.URL(), name: "alice"}
	out0 := owner.must("auth.signup", obj{"team": "acme", "name": "alice", "password": "correct horse alice", "email": "alice@example.com"})
	owner.token, owner.userID = out0["token"].(string), out0["user_id"].(string)
	// The owner made a #random already: the import's gets another name.
	// (Nobody else has joined: the export's general history goes into
	// #general; TestImportGeneralTaken is the case of a #general in use.)
	ownRandom := owner.createChannel("random", false)
	path := writeExport(t)

	out, errs, err := runImportTest(t, "slack", "--url", m.URL(), "--token", owner.token, path)
	if err != nil {
		t.Fatalf("import: %v\n%s", err, errs)
	}
	if got := summaryRow(t, out, "imported"); got != "13 new, 0 there already" {
		t.Errorf("imported: %q, want 13 new\n%s", got, out)
	}
	if got := summaryRow(t, out, "skipped"); got != "0" {
		t.Errorf("skipped: %q\n%s%s", got, out, errs)
	}
	// One link: bob's. alice is the owner, carol deleted, deploybot a bot.
	if got := summaryRow(t, out, "claims"); !strings.HasPrefix(got, "1 links to claim an account, valid until ") {
		t.Errorf("claims: %q\n%s", got, out)
	}
	firstLinks := claimLines(t, out)
	if len(firstLinks) != 1 || firstLinks[0][0] != "bob" || firstLinks[0][1] != "bob@example.com" ||
		!strings.HasPrefix(firstLinks[0][2], m.URL()+"/claim#") {
		t.Fatalf("claim links %q, want bob's at %s/claim#…", firstLinks, m.URL())
	}

	users := map[string]obj{} // by name
	for _, u := range owner.must("users.list", nil)["members"].([]any) {
		users[u.(obj)["name"].(string)] = u.(obj)
	}
	bob, carol, bot := users["bob"], users["carol"], users["deploybot"]
	if bob == nil || carol == nil || bot == nil {
		t.Fatalf("users after import: %v", slices.Collect(mapKeys(users)))
	}
	if users["alice"]["id"] != owner.userID {
		t.Errorf("alice is %v, want the owner", users["alice"]["id"])
	}
	if carol["deleted"] != true || bot["is_bot"] != true || bob["real_name"] != "Bob" || bob["tz"] != "Asia/Tokyo" || bob["tz_offset"] != 32400.0 {
		t.Errorf("carol %v, deploybot %v, bob %v", carol, bot, bob)
	}
	if !strings.Contains(out, "named #random-2") || !strings.Contains(out, "user U1: is "+owner.userID) {
		t.Errorf("the rename of #random or alice's match is not reported:\n%s", out)
	}
	bobID, carolID, botID := bob["id"].(string), carol["id"].(string), bot["id"].(string)

	chans := map[string]obj{}
	for _, c := range owner.must("conversations.list", obj{"types": "public_channel,private_channel,im,mpim"})["channels"].([]any) {
		c := c.(obj)
		name, _ := c["name"].(string)
		if name == "" || c["is_mpim"] == true {
			name = c["id"].(string)[:1] // D or G: there is one of each
		}
		chans[name] = c
	}
	general, random, old, owners := chans["general"], chans["random-2"], chans["old-project"], chans["owners"]
	if general == nil || random == nil || old == nil || owners == nil || chans["D"] == nil || chans["G"] == nil {
		t.Fatalf("conversations after import: %v", slices.Collect(mapKeys(chans)))
	}
	if random["id"] == ownRandom {
		t.Errorf("the import's #random is the owner's")
	}
	if general["is_general"] != true || old["is_archived"] != true || owners["is_private"] != true || random["is_archived"] == true {
		t.Errorf("general %v, old-project %v, owners %v", general["is_general"], old["is_archived"], owners["is_private"])
	}
	members := func(id string) []string {
		var out []string
		for _, u := range owner.must("conversations.members", obj{"channel": id})["members"].([]any) {
			out = append(out, u.(string))
		}
		slices.Sort(out)
		return out
	}
	if got, want := members(random["id"].(string)), sorted(owner.userID, bobID); !slices.Equal(got, want) {
		t.Errorf("members of random %v, want %v", got, want)
	}
	if got := members(chans["G"]["id"].(string)); !slices.Equal(got, sorted(owner.userID, bobID, carolID)) {
		t.Errorf("members of the group DM %v", got)
	}

	// General: history newest first, with the original ts.
	hist := owner.must("conversations.history", obj{"channel": general["id"], "limit": 100})["messages"].([]any)
	var tss, texts []string
	for _, h := range hist {
		tss = append(tss, h.(obj)["ts"].(string))
		texts = append(texts, h.(obj)["text"].(string))
	}
	wantTS := []string{"1600172850.000000", "1600086450.000000", "1600000030.000000", "1600000020.000000", "1600000010.000000"}
	if !slices.Equal(tss, wantTS) {
		t.Fatalf("general's history ts %v, want %v (texts %q)", tss, wantTS, texts)
	}
	byTS := map[string]obj{}
	for _, h := range hist {
		byTS[h.(obj)["ts"].(string)] = h.(obj)
	}
	if j := byTS["1600000010.000000"]; j["subtype"] != "channel_join" || j["user"] != bobID {
		t.Errorf("join line: %v", j)
	}
	parent := byTS["1600000030.000000"]
	if parent["reply_count"] != 2.0 || parent["latest_reply"] != "1600086405.000000" {
		t.Errorf("thread parent: %v replies, latest %v", parent["reply_count"], parent["latest_reply"])
	}
	if want := "welcome <@" + bobID + "> and <@" + carolID + "|carol>"; parent["text"] != want {
		t.Errorf("mentions: %q, want %q", parent["text"], want)
	}
	if got := owner.must("users.info", obj{"user": bobID})["user"].(obj)["name"]; got != "bob" {
		t.Errorf("the mentioned user is %v", got)
	}
	rs := parent["reactions"].([]any)
	if len(rs) != 2 || rs[0].(obj)["name"] != "wave" || !slices.Equal(anyStrings(rs[0].(obj)["users"]), []string{bobID, carolID}) ||
		rs[1].(obj)["name"] != "tada" || !slices.Equal(anyStrings(rs[1].(obj)["users"]), []string{owner.userID}) {
		t.Errorf("reactions: %v", rs)
	}
	for _, ts := range []string{"1600086450.000000", "1600172850.000000"} {
		if b := byTS[ts]; b["user"] != botID {
			t.Errorf("bot message %s by %v, want the bot user %s", ts, b["user"], botID)
		}
	}
	if byTS["1600086450.000000"]["username"] != "deploybot" {
		t.Errorf("bot message username %v", byTS["1600086450.000000"]["username"])
	}
	replies := owner.must("conversations.replies", obj{"channel": general["id"], "ts": "1600000030.000000"})["messages"].([]any)
	if len(replies) != 3 || replies[1].(obj)["text"] != "thanks" || replies[1].(obj)["edited"] == nil || replies[2].(obj)["user"] != carolID {
		t.Errorf("replies: %v", replies)
	}

	plan := owner.must("conversations.history", obj{"channel": owners["id"]})["messages"].([]any)
	if len(plan) != 1 || plan[0].(obj)["text"] != "the plan\n(file: plan.pdf)" {
		t.Errorf("file message: %v", plan)
	}
	dm := owner.must("conversations.history", obj{"channel": chans["D"]["id"]})["messages"].([]any)
	if len(dm) != 1 || dm[0].(obj)["text"] != "psst <@"+owner.userID+">" {
		t.Fatalf("DM: %v", dm)
	}
	// Blocks and attachments are kept, their users confab's.
	blocks, _ := json.Marshal(dm[0].(obj)["blocks"])
	if want := `[{"block_id":"b1","elements":[{"elements":[{"text":"psst ","type":"text"},{"type":"user","user_id":"` + owner.userID + `"}],"type":"rich_text_section"}],"type":"rich_text"}]`; string(blocks) != want {
		t.Errorf("DM blocks %s, want %s", blocks, want)
	}
	atts, _ := json.Marshal(dm[0].(obj)["attachments"])
	if want := `"fallback":"from \u003c@` + bobID + `\u003e"`; !strings.Contains(string(atts), want) || !strings.Contains(string(atts), `"author_id":"`+bobID+`"`) ||
		!strings.Contains(string(atts), `"text":"from \u003c@`+bobID+`|bob\u003e"`) {
		t.Errorf("DM attachments %s: want the mentions of bob made confab's", atts)
	}
	// A bot users.json does not have gets a bot user of its own.
	oldHist := owner.must("conversations.history", obj{"channel": old["id"]})["messages"].([]any)
	if len(oldHist) != 2 || oldHist[0].(obj)["text"] != "build green" || oldHist[0].(obj)["username"] != "ci" {
		t.Fatalf("old-project: %v", oldHist)
	}
	ci := owner.must("users.info", obj{"user": oldHist[0].(obj)["user"]})["user"].(obj)
	if ci["name"] != "ci" || ci["is_bot"] != true || ci["id"] == owner.userID {
		t.Errorf("the bot of no user posted as %v", ci)
	}
	// Blocks confab would refuse are left out; the text stays.
	lunch := owner.must("conversations.history", obj{"channel": random["id"]})["messages"].([]any)
	if len(lunch) != 1 || lunch[0].(obj)["text"] != "lunch?" || lunch[0].(obj)["blocks"] != nil {
		t.Errorf("a message with bad blocks: %v", lunch)
	}
	// Nothing imported is unread.
	info := owner.must("conversations.info", obj{"channel": random["id"]})["channel"].(obj)
	if info["unread_count"] != nil && info["unread_count"] != 0.0 {
		t.Errorf("random unread: %v", info["unread_count"])
	}
	// An imported user has no password until the account is claimed.
	ghost := &client{tb: t, base: m.URL(), name: "bob"}
	ghost.fails("auth.login", obj{"team": "acme", "name": "bob", "password": "correct horse battery"}, "invalid_auth")
	// Only the owner imports.
	dave := signup(t, m, "acme", "dave")
	dave.fails("admin.import.finish", nil, "not_authorized")
	dave.fails("admin.import.messages", obj{"channel": random["id"], "messages": "[]"}, "not_authorized")

	// Bad input is a clear error, nothing written.
	rid := random["id"].(string)
	for _, c := range []struct {
		method string
		args   obj
		err    string
	}{
		{"admin.import.messages", obj{"channel": rid, "messages": "nope"}, "invalid_arguments"},
		{"admin.import.messages", obj{"channel": rid, "messages": `{"ts":"1"}`}, "invalid_arguments"},
		{"admin.import.messages", obj{"channel": rid, "messages": `[{"ts":"soon","user":"` + bobID + `"}]`}, "invalid_ts"},
		{"admin.import.messages", obj{"channel": rid, "messages": `[{"ts":"1500000000.000001","user":"U1"}]`}, "user_not_found"},
		{"admin.import.messages", obj{"channel": rid, "messages": `[{"ts":"1500000000.000002","user":"` + bobID + `"},{"ts":"1500000000.000001","user":"` + bobID + `"}]`}, "invalid_ts_order"},
		{"admin.import.messages", obj{"channel": rid, "messages": `[{"ts":"1500000000.000001","user":"` + bobID + `"}]`}, "import_out_of_order"},
		{"admin.import.messages", obj{"channel": "CNOPE", "messages": `[]`}, "channel_not_found"},
		{"admin.import.messages", obj{"channel": rid, "messages": "[" + strings.Repeat(`{},`, 1000) + "{}]"}, "too_many_items"},
		{"admin.import.users", obj{"users": `[{"name":"noid"}]`}, "invalid_arguments"},
		{"admin.import.conversations", obj{"conversations": `[{"id":"C9","name":"x","type":"secret"}]`}, "invalid_arguments"},
		{"admin.import.conversations", obj{"conversations": `[{"id":"D9","type":"dm","members":["` + bobID + `"]}]`}, "invalid_members"},
	} {
		owner.fails(c.method, c.args, c.err)
	}
	if got := owner.must("conversations.history", obj{"channel": rid})["messages"].([]any); len(got) != 1 {
		t.Errorf("random after bad imports: %v", got)
	}

	// Run again, after dave joined (a line in #general newer than its
	// history): everything is there once. Its links go to a file, and
	// void the first run's.
	linksFile := filepath.Join(t.TempDir(), "links.tsv")
	out2, errs2, err := runImportTest(t, "slack", "--url", m.URL(), "--token", owner.token, "--claims", linksFile, path)
	if err != nil {
		t.Fatalf("import again: %v\n%s", err, errs2)
	}
	if got := summaryRow(t, out2, "claims"); !strings.HasSuffix(got, ", written to "+linksFile) || !strings.HasPrefix(got, "1 links") {
		t.Errorf("claims of the second run: %q", got)
	}
	if st, err := os.Stat(linksFile); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("links file: %v, %v; want mode 0600", st, err)
	}
	raw, err := os.ReadFile(linksFile)
	if err != nil {
		t.Fatal(err)
	}
	links := claimLines(t, string(raw))
	if len(links) != 1 || links[0][0] != "bob" || links[0][2] == firstLinks[0][2] {
		t.Fatalf("links file %q, want a new link of bob's", raw)
	}
	claimAt := func(link, password string) (int, obj) {
		_, token, _ := strings.Cut(link, "#")
		return ghost.call("auth.claim", obj{"token": token, "password": password})
	}
	if _, out := claimAt(firstLinks[0][2], "bob's own secret"); out["error"] != "invalid_claim" {
		t.Errorf("the first run's link after the second run: %v, want invalid_claim", out)
	}
	if _, out := claimAt(links[0][2], "bob's own secret"); out["ok"] != true || out["user"] != "bob" || out["token"] == nil {
		t.Fatalf("auth.claim with bob's link: %v", out)
	}
	if _, out := claimAt(links[0][2], "another secret"); out["error"] != "invalid_claim" {
		t.Errorf("bob's link used again: %v, want invalid_claim", out)
	}
	// bob is an ordinary account now: he logs in and reads his imported
	// DM with alice.
	bobIn := &client{tb: t, base: m.URL(), name: "bob"}
	login := bobIn.must("auth.login", obj{"team": "acme", "name": "bob", "password": "bob's own secret"})
	bobIn.token = login["token"].(string)
	dmHist := bobIn.must("conversations.history", obj{"channel": chans["D"]["id"]})["messages"].([]any)
	if len(dmHist) != 1 || dmHist[0].(obj)["text"] != "psst <@"+owner.userID+">" || dmHist[0].(obj)["user"] != bobID {
		t.Errorf("bob's DM history: %v", dmHist)
	}
	// Claimed: a third run issues no link for him.
	out3, errs3, err := runImportTest(t, "slack", "--url", m.URL(), "--token", owner.token, path)
	if err != nil {
		t.Fatalf("import a third time: %v\n%s", err, errs3)
	}
	if got := summaryRow(t, out3, "claims"); got != "0 links to claim an account:" || len(claimLines(t, out3)) != 0 {
		t.Errorf("claims of a run after bob's claim: %q\n%s", got, out3)
	}
	if got := summaryRow(t, out2, "imported"); got != "0 new, 13 there already" {
		t.Errorf("second run imported: %q\n%s", got, out2)
	}
	hist2 := owner.must("conversations.history", obj{"channel": general["id"], "limit": 100})["messages"].([]any)
	if len(hist2) != len(hist)+1 { // and dave's join line
		t.Errorf("general has %d messages after a second run, %d before and dave's join", len(hist2), len(hist))
	}
	if n := len(owner.must("users.list", nil)["members"].([]any)); n != len(users)+1 { // and dave
		t.Errorf("%d users after a second run, %d before", n, len(users))
	}
	if got := members(random["id"].(string)); !slices.Equal(got, sorted(owner.userID, bobID)) {
		t.Errorf("members of random after a second run: %v", got)
	}
}

// claimLines are the "name<TAB>email<TAB>link" lines of out.
func claimLines(t *testing.T, out string) [][]string {
	t.Helper()
	var lines [][]string
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Split(l, "\t"); len(f) == 3 {
			lines = append(lines, f)
		} else if strings.Contains(l, "\t") {
			t.Fatalf("claim line %q: want name<TAB>email<TAB>link", l)
		}
	}
	return lines
}

func sorted(s ...string) []string { slices.Sort(s); return s }

func anyStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// cancelAfter is a transport that cancels the run once n calls of method
// have been answered: an importer killed between two batches.
type cancelAfter struct {
	method string
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if strings.HasSuffix(r.URL.Path, "/"+c.method) {
		if c.n--; c.n == 0 {
			c.cancel()
		}
	}
	return resp, err
}

// TestImportKilled stops an import after its second batch of messages
// and runs it again: every message is there once, the second run
// counting as there already what the first wrote.
func TestImportKilled(t *testing.T) {
	m := MustRunMain(t)
	owner := signup(t, m, "acme", "alice")
	const n = 3500
	path := longExport(t, n)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	old := importClient.Transport
	importClient.Transport = &cancelAfter{method: "admin.import.messages", n: 2, cancel: cancel}
	var out, errs bytes.Buffer
	err := runImport(ctx, []string{"slack", "--url", m.URL(), "--token", owner.token, path}, &out, &errs)
	importClient.Transport = old
	if err == nil {
		t.Fatalf("the killed run ended well:\n%s", out.String())
	}
	out2, errs2, err := runImportTest(t, "slack", "--url", m.URL(), "--token", owner.token, path)
	if err != nil {
		t.Fatalf("run again: %v\n%s", err, errs2)
	}
	if got := summaryRow(t, out2, "imported"); got != "1500 new, 2000 there already" {
		t.Errorf("run again: imported %q, want the 1500 the killed run had not written", got)
	}
	historyOnce(t, owner, "long", n)
}

// TestImportServerKilled kills the server (SIGKILL) while it writes an
// import's third batch, starts it again on the same data, and runs the
// import again: every message is there once, whether the batch it was
// writing had committed or not.
func TestImportServerKilled(t *testing.T) {
	bin := cmdtest.Build(t, "github.com/confab/confab/cmd/confab")
	dir := t.TempDir()
	start := func() *cmdtest.Proc {
		t.Helper()
		p, err := cmdtest.Start(t, cmdtest.Config{Bin: bin, Args: func(addr string) []string {
			return []string{"serve", "-listen", addr, "-data", dir, "-password-cost", "4", "-log-level", "error"}
		}})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := start()
	owner := signupAt(t, p.URL(), "acme", "alice")
	const n = 5000
	path := longExport(t, n)

	old := importClient.Transport
	importClient.Transport = &killDuring{method: "admin.import.messages", n: 3, kill: func() {
		p.Cmd.Process.Signal(syscall.SIGKILL)
	}}
	_, _, err := runImportTest(t, "slack", "--url", p.URL(), "--token", owner.token, path)
	importClient.Transport = old
	if err == nil {
		t.Fatal("the import ended well with its server killed")
	}
	<-p.Exited
	p = start()
	owner.base = p.URL()
	out, errs, err := runImportTest(t, "slack", "--url", p.URL(), "--token", owner.token, path)
	if err != nil {
		t.Fatalf("run again: %v\n%s", err, errs)
	}
	got := summaryRow(t, out, "imported")
	var fresh, there int
	if _, err := fmt.Sscanf(got, "%d new, %d there already", &fresh, &there); err != nil || fresh+there != n || there < 2000 {
		t.Errorf("run again: imported %q, want %d in all, at least the 2000 of the batches answered before the kill", got, n)
	}
	historyOnce(t, owner, "long", n)
}

// killDuring is a transport that, at the nth call of method, sends it
// and kills the server a moment after: a server killed while it writes.
type killDuring struct {
	method string
	n      int
	kill   func()
}

func (k *killDuring) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/"+k.method) {
		if k.n--; k.n == 0 {
			time.AfterFunc(20*time.Millisecond, k.kill)
		}
	}
	return http.DefaultTransport.RoundTrip(r)
}

// longExport writes an export of one channel, #long, of n messages by
// one user, a minute apart.
func longExport(t *testing.T, n int) string {
	t.Helper()
	users := []slackexport.User{{ID: "U1", Name: "zed"}}
	conv := slackexport.Conversation{Kind: slackexport.Public, ID: "C1", Name: "long", Created: 1600000000, Creator: "U1", Members: []string{"U1"}}
	path := filepath.Join(t.TempDir(), "export.zip")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := slackexport.NewWriter(f)
	if err := w.WriteUsers(users); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteConversations([]slackexport.Conversation{conv}); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		msg := slackexport.Message{Type: "message", User: "U1", Text: fmt.Sprintf("message %d", i),
			TS: slackexport.FormatTS(int64(1600000000+i*60) * 1e6)}
		if err := w.WriteMessage(&conv, &msg); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// historyOnce checks that the channel name holds n messages, each once,
// newest first.
func historyOnce(t *testing.T, c *client, name string, n int) {
	t.Helper()
	var id string
	for _, ch := range c.must("conversations.list", nil)["channels"].([]any) {
		if ch.(obj)["name"] == name {
			id = ch.(obj)["id"].(string)
		}
	}
	var seen int
	prev := ""
	for cursor := ""; ; {
		page := c.must("conversations.history", obj{"channel": id, "limit": 1000, "cursor": cursor})
		for _, h := range page["messages"].([]any) {
			ts := h.(obj)["ts"].(string)
			if prev != "" && ts >= prev {
				t.Fatalf("history out of order: %s after %s", ts, prev)
			}
			prev = ts
			seen++
		}
		cursor, _ = page["response_metadata"].(obj)["next_cursor"].(string)
		if cursor == "" {
			break
		}
	}
	if seen != n {
		t.Errorf("#%s holds %d messages, want %d", name, seen, n)
	}
}

// TestImportMalformedRun: an import of what is not an export stops with
// the error before writing anything; an export with bad entries names
// each, and imports the rest.
func TestImportMalformedRun(t *testing.T) {
	m := MustRunMain(t)
	owner := signup(t, m, "acme", "owner")
	census := func() (users, convs int) {
		users = len(owner.must("users.list", nil)["members"].([]any))
		convs = len(owner.must("conversations.list", obj{"types": "public_channel,private_channel,im,mpim"})["channels"].([]any))
		return
	}
	users0, convs0 := census()
	for path, want := range notExports(t) {
		out, _, err := runImportTest(t, "slack", "--url", m.URL(), "--token", owner.token, path)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", filepath.Base(path), err, want)
		}
		if strings.Contains(out, "imported:") {
			t.Errorf("%s: an import summary for an export that cannot be read:\n%s", filepath.Base(path), out)
		}
		if u, c := census(); u != users0 || c != convs0 {
			t.Fatalf("%s: %d users and %d conversations after the import, want %d and %d: something was written",
				filepath.Base(path), u, c, users0, convs0)
		}
	}

	out, errs, err := runImportTest(t, "slack", "--url", m.URL(), "--token", owner.token, badEntries(t))
	if err != nil {
		t.Fatalf("import of an export with bad entries: %v\n%s", err, errs)
	}
	checkBadEntries(t, out, errs)
	if got := summaryRow(t, out, "imported"); got != "2 new, 0 there already" {
		t.Errorf("imported: %q, want the 2 good messages\n%s", got, out)
	}
	var texts []string
	for _, h := range owner.must("conversations.history", obj{"channel": generalOf(t, owner)})["messages"].([]any) {
		texts = append(texts, h.(obj)["text"].(string))
	}
	if !slices.Equal(texts, []string{"two", "one"}) {
		t.Errorf("#general after the import: %q, want the good messages only", texts)
	}
}

// TestImportCluster: the import works the same against a cluster: one
// API process takes it, another reads it (on PostgreSQL), a second run
// through another finds everything there, and a member connected to a
// gateway is told once, by import_finished.
func TestImportCluster(t *testing.T) {
	c := startCluster(t, 2, 1)
	owner := &client{tb: t, base: c.api(0).URL(), name: "alice"}
	out0 := owner.must("auth.signup", obj{"team": "alpha", "name": "alice", "password": "correct horse alice", "email": "alice@example.com"})
	owner.token, owner.userID = out0["token"].(string), out0["user_id"].(string)
	live := owner.connect()
	path := writeExport(t)

	out, errs, err := runImportTest(t, "slack", "--url", c.api(0).URL(), "--token", owner.token, path)
	if err != nil {
		t.Fatalf("import: %v\n%s", err, errs)
	}
	if got := summaryRow(t, out, "imported"); got != "13 new, 0 there already" {
		t.Errorf("imported: %q, want 13 new\n%s", got, out)
	}
	live.next(isType("import_finished"))

	reader := &client{tb: t, base: c.api(1).URL(), token: owner.token, userID: owner.userID, name: "alice"}
	hist := reader.must("conversations.history", obj{"channel": generalOf(t, reader), "limit": 100})["messages"].([]any)
	var tss []string
	for _, h := range hist {
		tss = append(tss, h.(obj)["ts"].(string))
	}
	if want := []string{"1600172850.000000", "1600086450.000000", "1600000030.000000", "1600000020.000000", "1600000010.000000"}; !slices.Equal(tss, want) {
		t.Errorf("general's history through the other API: %v, want %v", tss, want)
	}
	replies := reader.must("conversations.replies", obj{"channel": generalOf(t, reader), "ts": "1600000030.000000"})["messages"].([]any)
	if len(replies) != 3 || len(replies[0].(obj)["reactions"].([]any)) != 2 {
		t.Errorf("the thread through the other API: %v", replies)
	}

	out2, errs2, err := runImportTest(t, "slack", "--url", c.api(1).URL(), "--token", owner.token, path)
	if err != nil {
		t.Fatalf("import again: %v\n%s", err, errs2)
	}
	if got := summaryRow(t, out2, "imported"); got != "0 new, 13 there already" {
		t.Errorf("second run through the other API imported: %q\n%s", got, out2)
	}
}

// TestImportGeneralTaken: when the workspace's #general already has
// messages newer than the export's (people joined and talked before the
// import), the export's general history goes to a channel of its own,
// whole and in order, rather than being refused; #general keeps its own;
// another run finds it there.
func TestImportGeneralTaken(t *testing.T) {
	m := MustRunMain(t)
	owner := &client{tb: t, base: m.URL(), name: "alice"}
	out0 := owner.must("auth.signup", obj{"team": "acme", "name": "alice", "password": "correct horse alice", "email": "alice@example.com"})
	owner.token, owner.userID = out0["token"].(string), out0["user_id"].(string)
	zed := signup(t, m, "acme", "zed") // a join line in #general
	general := generalOf(t, owner)
	zed.post(general, "hello, is this the new place?")
	path := writeExport(t)

	out, errs, err := runImportTest(t, "slack", "--url", m.URL(), "--token", owner.token, path)
	if err != nil {
		t.Fatalf("import: %v\n%s", err, errs)
	}
	if got := summaryRow(t, out, "imported"); got != "13 new, 0 there already" {
		t.Errorf("imported: %q, want all 13\n%s%s", got, out, errs)
	}
	if got := summaryRow(t, out, "skipped"); got != "0" {
		t.Errorf("skipped: %q\n%s%s", got, out, errs)
	}
	if !strings.Contains(out, "conversation C1: its history is in a channel of its own") {
		t.Errorf("the move of general's history is not reported:\n%s", out)
	}
	texts := func(channel string) []string {
		var out []string
		for _, h := range owner.must("conversations.history", obj{"channel": channel, "limit": 100})["messages"].([]any) {
			out = append(out, h.(obj)["text"].(string))
		}
		return out
	}
	if got := texts(general); len(got) != 2 || got[0] != "hello, is this the new place?" {
		t.Errorf("#general after the import: %q, want its own two messages", got)
	}
	var moved obj
	for _, c := range owner.must("conversations.list", obj{"limit": 1000})["channels"].([]any) {
		if c.(obj)["name"] == "general-2" {
			moved = c.(obj)
		}
	}
	if moved == nil || moved["is_general"] == true {
		t.Fatalf("no #general-2 holding the export's general history: %v", moved)
	}
	if got, want := texts(moved["id"].(string)), []string{"deployed v2", "deployed v1", "welcome <@"}; len(got) != 5 || got[0] != want[0] || got[1] != want[1] || !strings.HasPrefix(got[2], want[2]) {
		t.Errorf("#general-2: %q", got)
	}

	out2, errs2, err := runImportTest(t, "slack", "--url", m.URL(), "--token", owner.token, path)
	if err != nil {
		t.Fatalf("import again: %v\n%s", err, errs2)
	}
	if got := summaryRow(t, out2, "imported"); got != "0 new, 13 there already" {
		t.Errorf("second run imported: %q\n%s%s", got, out2, errs2)
	}
	n := 0
	for _, c := range owner.must("conversations.list", obj{"limit": 1000})["channels"].([]any) {
		if strings.HasPrefix(c.(obj)["name"].(string), "general") {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d channels named general… after a second run, want #general and #general-2", n)
	}
}

// inFlight counts the admin.import.messages calls under way, in all and
// per channel, and the most seen of each.
type inFlight struct {
	mu               sync.Mutex
	now              map[string]int
	all, most, most1 int
}

func (f *inFlight) RoundTrip(r *http.Request) (*http.Response, error) {
	if !strings.HasSuffix(r.URL.Path, "/admin.import.messages") {
		return http.DefaultTransport.RoundTrip(r)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	var args struct{ Channel string }
	json.Unmarshal(body, &args)
	r.Body = io.NopCloser(bytes.NewReader(body))
	f.mu.Lock()
	f.all++
	f.now[args.Channel]++
	f.most, f.most1 = max(f.most, f.all), max(f.most1, f.now[args.Channel])
	f.mu.Unlock()
	time.Sleep(50 * time.Millisecond) // long enough for the next batch to be sent, if it may
	resp, err := http.DefaultTransport.RoundTrip(r)
	f.mu.Lock()
	f.all--
	f.now[args.Channel]--
	f.mu.Unlock()
	return resp, err
}

// TestImportOverlap: a conversation's batches go one at a time, in
// order, while the next conversation's first batch goes beside the last
// of the one before.
func TestImportOverlap(t *testing.T) {
	m := MustRunMain(t)
	owner := signup(t, m, "acme", "alice")
	users := []slackexport.User{{ID: "U1", Name: "zed"}}
	var convs []slackexport.Conversation
	for i := range 4 {
		convs = append(convs, slackexport.Conversation{Kind: slackexport.Public, ID: fmt.Sprintf("C%d", i),
			Name: fmt.Sprintf("chan%d", i), Created: 1600000000, Creator: "U1", Members: []string{"U1"}})
	}
	path := filepath.Join(t.TempDir(), "export.zip")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := slackexport.NewWriter(f)
	if err := w.WriteUsers(users); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteConversations(convs); err != nil {
		t.Fatal(err)
	}
	const n = 1500 // two batches a conversation
	for c := range convs {
		for i := range n {
			msg := slackexport.Message{Type: "message", User: "U1", Text: fmt.Sprintf("message %d", i),
				TS: slackexport.FormatTS(int64(1600000000+i*60) * 1e6)}
			if err := w.WriteMessage(&convs[c], &msg); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()

	old := importClient.Transport
	flights := &inFlight{now: map[string]int{}}
	importClient.Transport = flights
	out, errs, err := runImportTest(t, "slack", "--url", m.URL(), "--token", owner.token, path)
	importClient.Transport = old
	if err != nil {
		t.Fatalf("import: %v\n%s", err, errs)
	}
	if got, want := summaryRow(t, out, "imported"), fmt.Sprintf("%d new, 0 there already", len(convs)*n); got != want {
		t.Errorf("imported %q, want %q", got, want)
	}
	if flights.most1 != 1 {
		t.Errorf("%d batches of one conversation in flight at once, want 1", flights.most1)
	}
	if flights.most != importInFlight {
		t.Errorf("at most %d batches in flight, want %d", flights.most, importInFlight)
	}
}
