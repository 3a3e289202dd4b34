package slackexport_test

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/confab/confab/slackexport"
)

// sample is an export of every kind of conversation and message.
func sample() ([]slackexport.User, []slackexport.Conversation, map[string][]slackexport.Message) {
	users := []slackexport.User{
		{ID: "U1", Name: "alice", RealName: "Alice A", TZ: "Europe/Paris", IsOwner: true, IsAdmin: true, Profile: slackexport.Profile{RealName: "Alice A", DisplayName: "ali", Email: "alice@example.com"}},
		{ID: "U2", Name: "bob", Deleted: true, Profile: slackexport.Profile{Email: "bob@example.com"}},
		{ID: "U3", Name: "robot", IsBot: true, Profile: slackexport.Profile{BotID: "B1"}},
	}
	convs := []slackexport.Conversation{
		{Kind: slackexport.Public, ID: "C1", Name: "general", Created: 1600000000, Creator: "U1", IsGeneral: true, Members: []string{"U1", "U2", "U3"},
			Topic: &slackexport.Topic{Value: "all", Creator: "U1", LastSet: 1600000001}, Purpose: &slackexport.Topic{Value: "everyone"}},
		{Kind: slackexport.Public, ID: "C2", Name: "old", Created: 1600000000, IsArchived: true, Members: []string{"U1"}},
		{Kind: slackexport.Private, ID: "G1", Name: "secret", Created: 1600000000, Members: []string{"U1", "U2"}},
		{Kind: slackexport.DM, ID: "D1", Created: 1600000000, Members: []string{"U1", "U2"}},
		{Kind: slackexport.MPIM, ID: "G2", Name: "mpdm-alice--bob--robot-1", Created: 1600000000, Members: []string{"U1", "U2", "U3"}},
	}
	msgs := map[string][]slackexport.Message{
		"C1": {
			{Type: "message", Subtype: "channel_join", User: "U2", Text: "<@U2> has joined the channel", TS: "1600000100.000100"},
			{Type: "message", User: "U1", Text: "hello <@U2>", TS: "1600000200.000200", ThreadTS: "1600000200.000200", ReplyCount: 1, ReplyUsers: []string{"U2"},
				Replies: []slackexport.Reply{{User: "U2", TS: "1600090000.000001"}}, Reactions: []slackexport.Reaction{{Name: "wave", Users: []string{"U2", "U3"}, Count: 2}},
				Blocks: []byte(`[{"type":"rich_text","elements":[{"type":"user","user_id":"U2"}]}]`)},
			{Type: "message", User: "U2", Text: "hi", TS: "1600090000.000001", ThreadTS: "1600000200.000200", ParentUserID: "U1", Edited: &slackexport.Edited{User: "U2", TS: "1600090001.000000"}},
			{Type: "message", Subtype: "bot_message", BotID: "B1", Username: "robot", Text: "beep", TS: "1600200000.000000"},
		},
		"G1": {{Type: "message", User: "U1", Text: "psst", TS: "1600000300.000000", Files: []slackexport.File{{ID: "F1", Name: "plan.pdf", Title: "Plan", Mimetype: "application/pdf", Size: 1234}}}},
		"D1": {{Type: "message", User: "U2", Text: "dm", TS: "1600000400.000000"}},
		"G2": {{Type: "message", User: "U3", Text: "group", TS: "1600000500.000000"}},
	}
	return users, convs, msgs
}

func writeSample(t *testing.T) []byte {
	users, convs, msgs := sample()
	var buf bytes.Buffer
	w := slackexport.NewWriter(&buf)
	must(t, w.WriteUsers(users))
	must(t, w.WriteConversations(convs))
	for i := range convs {
		for _, m := range msgs[convs[i].ID] {
			must(t, w.WriteMessage(&convs[i], &m))
		}
	}
	must(t, w.Close())
	return buf.Bytes()
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func open(t *testing.T, b []byte) *slackexport.Reader {
	t.Helper()
	x, err := slackexport.Open(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// read reads every conversation's messages, and the problems met.
func read(x *slackexport.Reader) (map[string][]slackexport.Message, []string) {
	got := map[string][]slackexport.Message{}
	var probs []string
	for _, p := range x.Problems {
		probs = append(probs, p.Error())
	}
	for i := range x.Conversations {
		c := &x.Conversations[i]
		for m, err := range x.Messages(c) {
			if err != nil {
				probs = append(probs, err.Error())
			}
			if m != nil {
				got[c.ID] = append(got[c.ID], *m)
			}
		}
	}
	return got, probs
}

func TestRoundTrip(t *testing.T) {
	x := open(t, writeSample(t))
	users, convs, msgs := sample()
	if !reflect.DeepEqual(x.Users, users) {
		t.Errorf("users = %+v, want %+v", x.Users, users)
	}
	if !reflect.DeepEqual(x.Conversations, convs) {
		t.Errorf("conversations = %+v, want %+v", x.Conversations, convs)
	}
	got, probs := read(x)
	if len(probs) > 0 {
		t.Errorf("problems: %q", probs)
	}
	if !reflect.DeepEqual(got, msgs) {
		t.Errorf("messages = %+v\nwant %+v", got, msgs)
	}
	if d := x.Days(&x.Conversations[0]); d != 3 {
		t.Errorf("general has %d day files, want 3", d)
	}
}

// zipOf is a zip of the named files.
func zipOf(t *testing.T, files ...string) []byte {
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	for i := 0; i < len(files); i += 2 {
		f, err := z.Create(files[i])
		must(t, err)
		f.Write([]byte(files[i+1]))
	}
	must(t, z.Close())
	return buf.Bytes()
}

const (
	usersJSON    = `[{"id":"U1","name":"alice"},{"id":"U2","name":"bob"}]`
	channelsJSON = `[{"id":"C1","name":"general","is_general":true,"members":["U1","U2"]}]`
)

// A day file out of order, and day files listed out of date order, are
// read in ts order.
func TestOrder(t *testing.T) {
	x := open(t, zipOf(t,
		"general/2020-01-02.json", `[{"type":"message","user":"U1","text":"d","ts":"1577970000.000002"},{"type":"message","user":"U2","text":"c","ts":"1577970000.000001"}]`,
		"users.json", usersJSON,
		"general/2020-01-01.json", `[{"type":"message","user":"U1","text":"b","ts":"1577880000.5"},{"type":"message","user":"U1","text":"a","ts":"1577880000.000001"}]`,
		"channels.json", channelsJSON,
	))
	got, probs := read(x)
	if len(probs) > 0 {
		t.Errorf("problems: %q", probs)
	}
	var texts []string
	for _, m := range got["C1"] {
		texts = append(texts, m.Text)
	}
	if strings.Join(texts, "") != "abcd" {
		t.Errorf("read %q, want a b c d", texts)
	}
}

// A day file that claims more than MaxDayFile bytes is not read.
func TestDayFileTooLarge(t *testing.T) {
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	for name, body := range map[string]string{"users.json": usersJSON, "channels.json": channelsJSON} {
		f, err := z.Create(name)
		must(t, err)
		f.Write([]byte(body))
	}
	f, err := z.CreateRaw(&zip.FileHeader{Name: "general/2020-01-01.json", Method: zip.Store, UncompressedSize64: 1 << 40, CompressedSize64: 2})
	must(t, err)
	f.Write([]byte("[]"))
	must(t, z.Close())
	_, probs := read(open(t, buf.Bytes()))
	if len(probs) != 1 || !strings.HasPrefix(probs[0], "general/2020-01-01.json: too large") {
		t.Errorf("problems %q, want the day file too large", probs)
	}
}

// An export zipped with its folder around it reads the same.
func TestFolderAround(t *testing.T) {
	x := open(t, zipOf(t,
		"export/users.json", usersJSON,
		"export/channels.json", channelsJSON,
		"export/general/2020-01-01.json", `[{"type":"message","user":"U1","text":"a","ts":"1577880000.000001"}]`,
	))
	got, probs := read(x)
	if len(got["C1"]) != 1 || len(probs) > 0 {
		t.Errorf("read %v, problems %q; want one message", got, probs)
	}
}

func TestNotAnExport(t *testing.T) {
	for _, tc := range []struct {
		name string
		zip  []byte
		want string
	}{
		{"not a zip", []byte("hello, world"), "not a zip file"},
		{"no users", zipOf(t, "channels.json", channelsJSON), "not a Slack export: no users.json"},
		{"no channels", zipOf(t, "users.json", usersJSON, "readme.txt", "x"), "not a Slack export: no channels.json"},
		{"channels not an array", zipOf(t, "users.json", usersJSON, "channels.json", `{"ok":true}`), "channels.json: not a JSON array"},
		{"users not JSON", zipOf(t, "users.json", `[{"id":"U1"},`, "channels.json", channelsJSON), "users.json: element 1"},
	} {
		_, err := slackexport.Open(bytes.NewReader(tc.zip), int64(len(tc.zip)))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Open = %v, want %q", tc.name, err, tc.want)
		}
	}
}

// Each bad entry is reported naming its file and entry, and the rest is
// read.
func TestBadEntries(t *testing.T) {
	x := open(t, zipOf(t,
		"users.json", `[{"id":"U1","name":"alice"},{"name":"noid"},{"id":"U2","name":"bob"}]`,
		"channels.json", `[{"id":"C1","name":"general","members":["U1","U9"]}]`,
		"general/2020-01-01.json", `[
			{"type":"message","user":"U1","text":"ok 1","ts":"1577880000.000001"},
			{"type":"message","user":"U1","text":"no ts"},
			{"type":"message","user":"U9","text":"stranger","ts":"1577880000.000002"},
			{"type":"message","user":"U2","text":"orphan","ts":"1577880000.000003","thread_ts":"1577870000.000000"},
			{"type":"message","text":"nobody","ts":"1577880000.000004"},
			{"type":"message","user":"U1","text":"ok 2","ts":"1577880000.000005","reactions":[{"name":"+1","users":["U2","U8"],"count":2}]},
			{"type":"message","user":"U1","text":"bad ts","ts":"soon"}
		]`,
		"general/2020-01-02.json", `{"not":"an array"}`,
		"general/2020-01-03.json", `[{"type":"message","user":"U2","text":"ok 3","ts":"1578060000.000001"},
			{"type":"message","user":"U2","text":"again","ts":"1578060000.000001"},
			{"type":"message","user":"U2","text":"yesterday","ts":"1577880000.000000"}]`,
		"general/notes.txt", `hello`,
		"elsewhere/2020-01-01.json", `[{"type":"message","user":"U1","text":"lost","ts":"1577880000.000001"}]`,
	))
	got, probs := read(x)
	var texts []string
	for _, m := range got["C1"] {
		texts = append(texts, m.Text)
	}
	if strings.Join(texts, ",") != "ok 1,ok 2,ok 3" {
		t.Errorf("read %q, want ok 1, ok 2, ok 3", texts)
	}
	if r := got["C1"][1].Reactions; len(r) != 1 || !reflect.DeepEqual(r[0].Users, []string{"U2"}) || r[0].Count != 1 {
		t.Errorf("reactions %+v, want +1 by U2 alone", r)
	}
	if !reflect.DeepEqual(x.Conversations[0].Members, []string{"U1"}) {
		t.Errorf("members %v, want U1 alone", x.Conversations[0].Members)
	}
	want := []string{
		"elsewhere/: unknown conversation",
		"general/notes.txt: not a day file",
		"users.json: user 1: no id",
		"channels.json: conversation 0 (C1): unknown user: member \"U9\"",
		"general/2020-01-01.json: message 1: no ts",
		"general/2020-01-01.json: message 6: bad ts",
		"general/2020-01-01.json: message 2 (ts 1577880000.000002): unknown user: user \"U9\"",
		"general/2020-01-01.json: message 3 (ts 1577880000.000003): thread parent missing",
		"general/2020-01-01.json: message 4 (ts 1577880000.000004): no user or bot_id",
		"general/2020-01-01.json: message 5 (ts 1577880000.000005): unknown user: reactions by U8",
		"general/2020-01-02.json: not JSON: not a JSON array",
		"general/2020-01-03.json: message 1 (ts 1578060000.000001): duplicate ts",
		"general/2020-01-03.json: message 2 (ts 1577880000.000000): out of order",
	}
	if len(probs) != len(want) {
		t.Errorf("%d problems, want %d:\n%s", len(probs), len(want), strings.Join(probs, "\n"))
	}
	for _, w := range want {
		found := false
		for _, p := range probs {
			found = found || strings.HasPrefix(p, w)
		}
		if !found {
			t.Errorf("no problem %q among\n%s", w, strings.Join(probs, "\n"))
		}
	}
	var ee *slackexport.EntryError
	if !errors.As(x.Problems[0], &ee) {
		t.Errorf("problem %T, want *EntryError", x.Problems[0])
	}
}

// Reading an export holds one day file at a time: the heap stays far
// below what the whole export's messages take.
func TestBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and reads 100,000 messages")
	}
	const convs, days, perDay = 50, 20, 100 // 100,000 messages
	path := filepath.Join(t.TempDir(), "export.zip")
	f, err := os.Create(path)
	must(t, err)
	w := slackexport.NewWriter(f)
	must(t, w.WriteUsers([]slackexport.User{{ID: "U1", Name: "alice"}}))
	var cs []slackexport.Conversation
	for i := range convs {
		cs = append(cs, slackexport.Conversation{ID: fmt.Sprintf("C%d", i), Name: fmt.Sprintf("c%d", i), Members: []string{"U1"}})
	}
	must(t, w.WriteConversations(cs))
	text := strings.Repeat("lorem ipsum ", 84) // ~1 kB
	for i := range cs {
		for d := range days {
			for n := range perDay {
				ts := int64(1600000000+d*86400+n)*1e6 + int64(i)
				must(t, w.WriteMessage(&cs[i], &slackexport.Message{Type: "message", User: "U1", Text: text, TS: slackexport.FormatTS(ts),
					Reactions: []slackexport.Reaction{{Name: "wave", Users: []string{"U1"}, Count: 1}}}))
			}
		}
	}
	must(t, w.Close())
	must(t, f.Close())

	f, err = os.Open(path)
	must(t, err)
	defer f.Close()
	st, err := f.Stat()
	must(t, err)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	x, err := slackexport.Open(f, st.Size())
	must(t, err)
	var n int
	var peak uint64
	for i := range x.Conversations {
		for m, err := range x.Messages(&x.Conversations[i]) {
			if err != nil {
				t.Fatal(err)
			}
			if n++; n%5000 == 0 {
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse-min(base, ms.HeapInuse))
			}
			_ = m
		}
	}
	if n != convs*days*perDay {
		t.Fatalf("read %d messages, want %d", n, convs*days*perDay)
	}
	// The messages' text alone is 100 MB.
	const bound = 32 << 20
	t.Logf("export %d MB on disk, heap in use above the start at most %d MB", st.Size()>>20, peak>>20)
	if peak > bound {
		t.Errorf("heap in use grew by %d MB reading, want under %d MB", peak>>20, bound>>20)
	}
}

// Written one entry at a time, the export reads back the same; a manifest
// never written is there, empty; and an entry that comes apart from its
// file's others is an error, not a second file of the same name.
func TestWriteStreaming(t *testing.T) {
	users, convs, msgs := sample()
	var buf bytes.Buffer
	w := slackexport.NewWriter(&buf)
	for i := range users {
		must(t, w.WriteUser(&users[i]))
	}
	var written []slackexport.Conversation
	for i := range convs {
		if convs[i].Kind != slackexport.DM { // no DMs: dms.json is written empty
			must(t, w.WriteConversation(&convs[i]))
			written = append(written, convs[i])
		}
	}
	for i := range written {
		for _, m := range msgs[written[i].ID] {
			must(t, w.WriteMessage(&written[i], &m))
		}
	}
	if err := w.WriteUser(&users[0]); err == nil {
		t.Errorf("a user written after the messages: no error")
	}
	must(t, w.Close())

	x := open(t, buf.Bytes())
	if !reflect.DeepEqual(x.Users, users) || !reflect.DeepEqual(x.Conversations, written) {
		t.Errorf("read back: users %+v, conversations %+v", x.Users, x.Conversations)
	}
	got, probs := read(x)
	if len(probs) > 0 {
		t.Errorf("problems: %q", probs)
	}
	delete(msgs, "D1")
	if !reflect.DeepEqual(got, msgs) {
		t.Errorf("messages = %+v\nwant %+v", got, msgs)
	}
	z, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	must(t, err)
	for _, f := range z.File {
		if f.Name == slackexport.DMsFile {
			rc, _ := f.Open()
			var b bytes.Buffer
			b.ReadFrom(rc)
			if strings.TrimSpace(b.String()) != "[]" {
				t.Errorf("dms.json = %q, want []", b.String())
			}
			return
		}
	}
	t.Errorf("no dms.json in the zip")
}
