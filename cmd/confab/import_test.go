package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/confab/confab/slackexport"
)

// writeExport writes a Slack export of everything an import must carry:
// users (an owner, a deleted one, a bot), public, private and archived
// channels, the general channel, a DM, a group DM, several days, a thread,
// reactions, an edit, mentions, bot messages, joins and a file.
func writeExport(t *testing.T) string {
	t.Helper()
	p := func(s string) *slackexport.Topic {
		return &slackexport.Topic{Value: s, Creator: "U1", LastSet: 1600000000}
	}
	users := []slackexport.User{
		{ID: "U1", Name: "alice", RealName: "Alice Liddell", TZ: "Europe/London", IsOwner: true, IsAdmin: true, IsPrimaryOwner: true,
			Profile: slackexport.Profile{RealName: "Alice Liddell", DisplayName: "alice", Email: "alice@example.com"}},
		{ID: "U2", Name: "bob", RealName: "Bob", TZ: "Asia/Tokyo", Profile: slackexport.Profile{RealName: "Bob", Email: "bob@example.com"}},
		{ID: "U3", Name: "carol", Deleted: true, Profile: slackexport.Profile{Email: "carol@example.com"}},
		{ID: "U4", Name: "deploybot", IsBot: true, Profile: slackexport.Profile{BotID: "B1", RealName: "Deploy Bot"}},
	}
	convs := []slackexport.Conversation{
		{Kind: slackexport.Public, ID: "C1", Name: "general", Created: 1600000000, Creator: "U1", IsGeneral: true, Members: []string{"U1", "U2", "U3", "U4"}, Topic: p("news"), Purpose: p("everyone")},
		{Kind: slackexport.Public, ID: "C2", Name: "random", Created: 1600000000, Creator: "U1", Members: []string{"U1", "U2"}},
		{Kind: slackexport.Public, ID: "C3", Name: "old-project", Created: 1600000000, Creator: "U2", IsArchived: true, Members: []string{"U2"}},
		{Kind: slackexport.Private, ID: "G1", Name: "owners", Created: 1600000000, Creator: "U1", Members: []string{"U1", "U2"}},
		{Kind: slackexport.DM, ID: "D1", Created: 1600000000, Members: []string{"U1", "U2"}},
		{Kind: slackexport.MPIM, ID: "G2", Name: "mpdm-alice--bob--carol-1", Created: 1600000000, Creator: "U1", Members: []string{"U1", "U2", "U3"}},
	}
	day := func(d int, sec int) string { return slackexport.FormatTS(int64(1600000000+d*86400+sec) * 1e6) }
	msgs := map[string][]slackexport.Message{
		"C1": {
			{Type: "message", Subtype: "channel_join", User: "U2", Text: "<@U2> has joined the channel", TS: day(0, 10)},
			{Type: "message", Subtype: "channel_join", User: "U3", Text: "<@U3> has joined the channel", TS: day(0, 20)},
			{Type: "message", User: "U1", Text: "welcome <@U2> and <@U3|carol>", TS: day(0, 30), ThreadTS: day(0, 30), ReplyCount: 2, ReplyUsers: []string{"U2", "U3"},
				Reactions: []slackexport.Reaction{{Name: "wave", Users: []string{"U2", "U3"}, Count: 2}, {Name: "tada", Users: []string{"U1"}, Count: 1}}},
			{Type: "message", User: "U2", Text: "thanks", TS: day(0, 40), ThreadTS: day(0, 30), ParentUserID: "U1", Edited: &slackexport.Edited{User: "U2", TS: day(0, 41)}},
			{Type: "message", User: "U3", Text: "hi all", TS: day(1, 5), ThreadTS: day(0, 30), ParentUserID: "U1"},
			{Type: "message", Subtype: "bot_message", BotID: "B1", Username: "deploybot", Text: "deployed v1", TS: day(1, 50)},
			{Type: "message", User: "U4", BotID: "B1", Text: "deployed v2", TS: day(2, 50)},
		},
		"C2": {{Type: "message", User: "U2", Text: "lunch?", TS: day(1, 100), Blocks: json.RawMessage(`{"not":"blocks"}`)}},
		"C3": {{Type: "message", User: "U2", Text: "shipped", TS: day(0, 100)},
			{Type: "message", Subtype: "bot_message", BotID: "B9", Username: "ci", Text: "build green", TS: day(0, 150)}},
		"G1": {{Type: "message", User: "U1", Text: "the plan", TS: day(2, 100),
			Files: []slackexport.File{{ID: "F1", Name: "plan.pdf", Title: "Plan", Mimetype: "application/pdf", Size: 2048}}}},
		"D1": {{Type: "message", User: "U2", Text: "psst <@U1>", TS: day(0, 200),
			Blocks:      json.RawMessage(`[{"type":"rich_text","block_id":"b1","elements":[{"type":"rich_text_section","elements":[{"type":"text","text":"psst "},{"type":"user","user_id":"U1"}]}]}]`),
			Attachments: json.RawMessage(`[{"fallback":"from <@U2>","text":"from <@U2|bob>","author_id":"U2"}]`)}},
		"G2": {{Type: "message", User: "U3", Text: "group", TS: day(0, 300)}},
	}
	path := filepath.Join(t.TempDir(), "export.zip")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := slackexport.NewWriter(f)
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	check(w.WriteUsers(users))
	check(w.WriteConversations(convs))
	for i := range convs {
		for _, m := range msgs[convs[i].ID] {
			check(w.WriteMessage(&convs[i], &m))
		}
	}
	check(w.Close())
	check(f.Close())
	return path
}

// runImportTest runs "confab import" and returns its output.
func runImportTest(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errs bytes.Buffer
	err = runImport(context.Background(), args, &out, &errs)
	return out.String(), errs.String(), err
}

// summaryRow is the first number of a row of the summary.
func summaryRow(t *testing.T, out, row string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(row) + `:\s+(.*)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no %q in the summary:\n%s", row, out)
	}
	return m[1]
}

func TestImportDryRun(t *testing.T) {
	path := writeExport(t)
	out, errs, err := runImportTest(t, "slack", "--dry-run", path)
	if err != nil {
		t.Fatalf("dry run: %v\n%s", err, errs)
	}
	for row, want := range map[string]string{
		"users":         "4 (1 deleted, 1 bots)",
		"conversations": "6 (3 public, 1 private, 1 DMs, 1 group DMs; 1 archived)",
		"general":       "#general",
		"day files":     "8",
		"messages":      "13",
		"threads":       "1 (2 replies)",
		"reactions":     "3",
		"files":         "1 (recorded as a line saying a file was there)",
		"edits":         "1",
		"bot messages":  "3",
		"joins, leaves": "2",
		"mentions":      "5",
		"skipped":       "0",
	} {
		if got := summaryRow(t, out, row); got != want {
			t.Errorf("%s: %q, want %q", row, got, want)
		}
	}
	if !strings.Contains(out, "nothing written") {
		t.Errorf("the summary does not say nothing was written:\n%s", out)
	}
	if errs != "" {
		t.Errorf("stderr: %q, want nothing (no problem, not a terminal, fast)", errs)
	}

	// Flags after the file read the same.
	if out2, _, err := runImportTest(t, "slack", path, "--dry-run"); err != nil || out2 != out {
		t.Errorf("flags after the file: %v\n%s", err, out2)
	}
}

// Without --dry-run nor --url the import says where to import; bad usage
// is an error.
func TestImportUsage(t *testing.T) {
	path := writeExport(t)
	_, _, err := runImportTest(t, "slack", path)
	if err == nil || !strings.Contains(err.Error(), "--url and --token say where to import") {
		t.Errorf("import without --dry-run nor --url: %v, want a word on --url", err)
	}
	for _, args := range [][]string{{"slack"}, {"slack", "a.zip", "b.zip"}, {"mattermost", path}, {"slack", "--url", "http://x", "--dry-run", path}} {
		if _, _, err := runImportTest(t, args...); err == nil {
			t.Errorf("import %q: no error", args)
		}
	}
}

func TestImportMalformed(t *testing.T) {
	for path, want := range notExports(t) {
		out, _, err := runImportTest(t, "slack", "--dry-run", path)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", filepath.Base(path), err, want)
		}
		if out != "" {
			t.Errorf("%s: a summary for an export that cannot be read:\n%s", filepath.Base(path), out)
		}
	}

	// Bad entries are named and counted; the rest is read.
	out, errs, err := runImportTest(t, "slack", "--dry-run", badEntries(t))
	if err != nil {
		t.Fatalf("dry run of an export with bad entries: %v", err)
	}
	checkBadEntries(t, out, errs)
}

// zipOf writes a zip of files (name, content, name, content…) as name
// in dir.
func zipOf(t *testing.T, dir, name string, files ...string) string {
	t.Helper()
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	for i := 0; i < len(files); i += 2 {
		f, _ := z.Create(files[i])
		f.Write([]byte(files[i+1]))
	}
	z.Close()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// notExports are files that are no Slack export, with the error each
// gives.
func notExports(t *testing.T) map[string]string {
	dir := t.TempDir()
	notZip := filepath.Join(dir, "notes.zip")
	os.WriteFile(notZip, []byte("not a zip at all"), 0o600)
	return map[string]string{
		notZip: "notes.zip: not a zip file",
		zipOf(t, dir, "other.zip", "readme.txt", "hello"):                                   "other.zip: not a Slack export: no users.json",
		zipOf(t, dir, "object.zip", "users.json", `[]`, "channels.json", `{"channels":[]}`): "object.zip: channels.json: not a JSON array",
		filepath.Join(dir, "missing.zip"):                                                   "no such file",
	}
}

// badEntries is an export with bad entries among good ones: of its
// messages, "one" and "two" are good.
func badEntries(t *testing.T) string {
	return zipOf(t, t.TempDir(), "bad.zip",
		"users.json", `[{"id":"U1","name":"alice"},{"id":"U2","name":"bob"}]`,
		"channels.json", `[{"id":"C1","name":"general","is_general":true,"members":["U1","U2"]}]`,
		"general/2020-01-01.json", `[
			{"type":"message","user":"U1","text":"one","ts":"1577880000.000001"},
			{"type":"message","user":"U7","text":"who?","ts":"1577880000.000002"},
			{"type":"message","user":"U1","text":"when?"},
			{"type":"message","user":"U2","text":"reply","ts":"1577880000.000003","thread_ts":"1577800000.000000"}
		]`,
		"general/2020-01-02.json", `<html>oops</html>`,
		"general/2020-01-03.json", `[{"type":"message","user":"U2","text":"two","ts":"1578052800.000001"}]`,
		"ghost/2020-01-01.json", `[{"type":"message","user":"U1","text":"boo","ts":"1577880000.000001"}]`,
	)
}

// checkBadEntries checks what an import of badEntries says: each bad
// entry named, on standard error, and counted.
func checkBadEntries(t *testing.T, out, errs string) {
	t.Helper()
	if got := summaryRow(t, out, "messages"); got != "2" {
		t.Errorf("messages: %s, want 2", got)
	}
	if got := summaryRow(t, out, "skipped"); got != "5" {
		t.Errorf("skipped: %s, want 5\n%s", got, out)
	}
	for _, want := range []string{"unknown user", "no ts", "thread parent missing", "not JSON", "unknown conversation"} {
		if !regexp.MustCompile(`(?m)^  ` + want + `:\s+1$`).MatchString(out) {
			t.Errorf("no %q counted once in\n%s", want, out)
		}
	}
	for _, want := range []string{
		`general/2020-01-01.json: message 1 (ts 1577880000.000002): unknown user: user "U7" is not in users.json`,
		"general/2020-01-01.json: message 2: no ts",
		"general/2020-01-01.json: message 3 (ts 1577880000.000003): thread parent missing",
		"general/2020-01-02.json: not JSON",
		"ghost/: unknown conversation",
	} {
		if !strings.Contains(errs, "problem: "+want) {
			t.Errorf("stderr does not name %q:\n%s", want, errs)
		}
	}
}

// With --url and --token the dry run checks that the token is an owner's
// or an admin's of the workspace, through auth.test and users.info.
func TestImportChecksToken(t *testing.T) {
	m := MustRunMain(t)
	owner := signup(t, m, "acme", "alice")
	member := signup(t, m, "acme", "bob")
	path := writeExport(t)

	out, _, err := runImportTest(t, "slack", "--dry-run", "--url", m.URL(), "--token", owner.token, path)
	if err != nil {
		t.Fatalf("dry run as the owner: %v", err)
	}
	if want := "token: alice (" + owner.userID + "), an owner of workspace acme (" + owner.teamID + ")"; !strings.Contains(out, want) {
		t.Errorf("no %q in\n%s", want, out)
	}
	if summaryRow(t, out, "messages") != "13" {
		t.Errorf("no summary after the check:\n%s", out)
	}
	// The API's own URL works as well.
	if _, _, err := runImportTest(t, "slack", "--dry-run", "--url", m.URL()+"/api/", "--token", owner.token, path); err != nil {
		t.Errorf("--url …/api/: %v", err)
	}

	out, _, err = runImportTest(t, "slack", "--dry-run", "--url", m.URL(), "--token", member.token, path)
	if err == nil || !strings.Contains(err.Error(), "bob's ("+member.userID+"), who is neither an owner nor an admin of workspace acme") {
		t.Errorf("dry run as a member: %v, want neither an owner nor an admin", err)
	}
	if out != "" {
		t.Errorf("a member's dry run printed\n%s", out)
	}
	if _, _, err := runImportTest(t, "slack", "--dry-run", "--url", m.URL(), "--token", "xoxp-nonsense", path); err == nil || !strings.Contains(err.Error(), "auth.test: invalid_auth") {
		t.Errorf("dry run with a bad token: %v, want auth.test: invalid_auth", err)
	}
	if _, _, err := runImportTest(t, "slack", "--dry-run", "--url", "ftp://x", "--token", "t", path); err == nil || !strings.Contains(err.Error(), "want http(s)") {
		t.Errorf("dry run with a bad URL: %v", err)
	}
}
