package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
)

// Threads, edits, deletes and reactions reach members live, each with the
// channel's next seq.
func TestThreadsEditsReactionsLive(t *testing.T) {
	m := MustRunMain(t)
	alice := signup(t, m, "acme", "alice")
	bob := signup(t, m, "acme", "bob")
	ch := alice.createChannel("plaza", false)
	bob.must("conversations.join", obj{"channel": ch})
	conn := bob.connect()

	parent := alice.post(ch, "parent")
	reply := bob.must("chat.postMessage", obj{"channel": ch, "text": "a reply", "thread_ts": parent})
	replyTS := reply["ts"].(string)
	alice.must("reactions.add", obj{"channel": ch, "timestamp": replyTS, "name": ":+1:"})
	alice.fails("reactions.add", obj{"channel": ch, "timestamp": replyTS, "name": "+1"}, "already_reacted")
	alice.must("chat.update", obj{"channel": ch, "ts": parent, "text": "parent, edited"})
	bob.fails("chat.update", obj{"channel": ch, "ts": parent, "text": "hijack"}, "cant_update_message")
	bob.fails("chat.delete", obj{"channel": ch, "ts": parent}, "cant_delete_message")
	alice.must("reactions.remove", obj{"channel": ch, "timestamp": replyTS, "name": "+1"})
	alice.fails("reactions.remove", obj{"channel": ch, "timestamp": replyTS, "name": "+1"}, "no_reaction")
	alice.must("chat.delete", obj{"channel": ch, "ts": parent})

	wantTypes := []string{"message", "message", "reaction_added", "message_changed", "reaction_removed", "message_deleted"}
	var got []obj
	conn.next(func(f obj) bool {
		if f["seq"] != nil {
			got = append(got, f)
		}
		return len(got) == len(wantTypes)
	})
	for i, f := range got {
		typ := f["type"].(string)
		if st, ok := f["subtype"].(string); ok {
			typ = st
		}
		if typ != wantTypes[i] || seqOf(f) != int64(i+2) { // bob's join took seq 1
			t.Fatalf("event %d = %v, want %s with seq %d", i, f, wantTypes[i], i+2)
		}
	}
	if got[1]["thread_ts"] != parent {
		t.Fatalf("reply event %v, want thread_ts %s", got[1], parent)
	}

	replies := alice.must("conversations.replies", obj{"channel": ch, "ts": parent})
	msgs := replies["messages"].([]any)
	// The parent is a tombstone now: only the reply is left in the thread.
	if len(msgs) != 1 || msgs[0].(obj)["ts"] != replyTS {
		t.Fatalf("replies after deleting the parent = %v", msgs)
	}
	hist := alice.must("conversations.history", obj{"channel": ch})
	if n := len(posted(hist["messages"].([]any))); n != 0 { // bob's join stays
		t.Fatalf("history shows %d messages; the deleted parent and the reply should not show", n)
	}
}

// Reading marks the channel read on every connection of the user, and the
// unread count is arithmetic on the message numbers.
func TestReadMarkersAndBoot(t *testing.T) {
	m := MustRunMain(t)
	alice := signup(t, m, "acme", "alice")
	bob := signup(t, m, "acme", "bob")
	ch := alice.createChannel("plaza", false)
	bob.must("conversations.join", obj{"channel": ch})
	var last string
	for i := 0; i < 5; i++ {
		last = alice.post(ch, "news")
	}
	info := bob.must("conversations.info", obj{"channel": ch})["channel"].(obj)
	if info["unread_count"] != float64(5) {
		t.Fatalf("unread_count = %v, want 5", info["unread_count"])
	}
	// Alice's own messages are not unread for her.
	if own := alice.must("conversations.info", obj{"channel": ch})["channel"].(obj); own["unread_count"] != float64(0) || own["last_read"] != last {
		t.Fatalf("poster's unread_count = %v, last_read %v; want 0 at %s", own["unread_count"], own["last_read"], last)
	}
	bob.must("conversations.setPrefs", obj{"channel": ch, "is_muted": true, "is_starred": true})

	other := bob.connect()
	bob.must("conversations.mark", obj{"channel": ch, "ts": last})
	marked := other.next(isType("channel_marked"))
	if marked["channel"] != ch || marked["ts"] != last {
		t.Fatalf("channel_marked %v, want %s at %s", marked, ch, last)
	}
	alice.post(ch, "one more")

	boot := bob.must("client.boot", nil)
	if boot["self"].(obj)["id"] != bob.userID || boot["team"].(obj)["id"] != bob.teamID {
		t.Fatalf("boot self/team = %v / %v", boot["self"], boot["team"])
	}
	var chans []any // but #general, which everyone is in
	for _, c := range boot["channels"].([]any) {
		if c.(obj)["is_general"] != true {
			chans = append(chans, c)
		}
	}
	if len(chans) != 1 || len(boot["channels"].([]any)) != 2 {
		t.Fatalf("boot has %d channels and #general, want 1", len(chans))
	}
	c := chans[0].(obj)
	if c["id"] != ch || c["unread_count"] != float64(1) || c["is_muted"] != true || c["is_starred"] != true ||
		c["latest"].(obj)["text"] != "one more" {
		t.Fatalf("boot channel = %v, want 1 unread, muted, starred, latest 'one more'", c)
	}
}

// client.boot with history_channel carries that conversation's newest
// page as conversations.history answers it, so that a client's first
// screen needs no second round trip; a conversation the caller may not
// read is the page's error, never the boot's; bad arguments fail the boot.
func TestBootCarriesHistory(t *testing.T) {
	m := MustRunMain(t)
	alice := signup(t, m, "acme", "alice")
	bob := signup(t, m, "acme", "bob")
	plaza := alice.createChannel("plaza", false)
	secret := alice.createChannel("secret", true)
	for i := range 5 {
		alice.post(plaza, fmt.Sprintf("plaza %d", i))
	}
	alice.post(secret, "not for bob")

	// Bob is not in #plaza: a public channel he may read, as
	// conversations.history lets him.
	boot := bob.must("client.boot", obj{"history_channel": plaza, "history_limit": 3})
	want := bob.must("conversations.history", obj{"channel": plaza, "limit": 3})
	got, _ := json.Marshal(boot["history"])
	exp, _ := json.Marshal(want)
	if string(got) != string(exp) {
		t.Fatalf("boot's history = %s, want conversations.history's answer %s", got, exp)
	}
	if msgs := boot["history"].(obj)["messages"].([]any); len(msgs) != 3 || msgs[0].(obj)["text"] != "plaza 4" || boot["history"].(obj)["has_more"] != true {
		t.Fatalf("boot's history = %s, want the newest 3 with more", got)
	}
	if len(boot["channels"].([]any)) == 0 {
		t.Fatal("a boot with history lost its channels")
	}

	for _, tc := range []struct{ channel, code string }{{secret, "channel_not_found"}, {"CNOTACHANNEL", "channel_not_found"}} {
		boot := bob.must("client.boot", obj{"history_channel": tc.channel})
		if h := boot["history"].(obj); h["ok"] != false || h["error"] != tc.code {
			t.Fatalf("boot's history of %s = %v, want ok false, %s", tc.channel, h, tc.code)
		}
		if strings.Contains(fmt.Sprint(boot), "not for bob") {
			t.Fatal("the boot leaked a private channel's message")
		}
	}
	if _, ok := bob.must("client.boot", nil)["history"]; ok {
		t.Fatal("a boot without history_channel carries a history")
	}
	bob.fails("client.boot", obj{"history_channel": plaza, "history_limit": "many"}, "invalid_arguments")
}

// Joining and leaving take effect on live connections at once, and presence
// follows connections.
func TestMembershipAndPresenceAreLive(t *testing.T) {
	m := MustRunMain(t)
	alice := signup(t, m, "acme", "alice")
	bob := signup(t, m, "acme", "bob")
	ch := alice.createChannel("random", false)

	aliceConn := alice.connect()
	aliceConn.send(obj{"type": "presence_sub", "ids": []string{bob.userID}})
	// A round trip makes sure the subscription is in place.
	aliceConn.send(obj{"id": 1, "type": "ping"})
	aliceConn.next(isType("pong"))

	bobConn := bob.connect()
	if f := aliceConn.next(isType("presence_change")); f["user"] != bob.userID || f["presence"] != "active" {
		t.Fatalf("presence_change %v, want bob active", f)
	}
	if p := alice.must("users.getPresence", obj{"user": bob.userID}); p["presence"] != "active" {
		t.Fatalf("getPresence = %v, want active", p)
	}

	bob.must("conversations.join", obj{"channel": ch})
	if f := bobConn.next(isType("channel_joined")); f["channel"].(obj)["id"] != ch {
		t.Fatalf("channel_joined %v", f)
	}
	alice.post(ch, "welcome")
	bobConn.next(isMessage("welcome"))

	// A DM opened while Bob is connected reaches him without reconnecting.
	dm := alice.must("conversations.open", obj{"users": bob.userID})["channel"].(obj)["id"].(string)
	if f := bobConn.next(isType("channel_joined")); f["channel"].(obj)["id"] != dm || f["channel"].(obj)["user"] != alice.userID {
		t.Fatalf("channel_joined for the DM = %v, want %s with user %s", f, dm, alice.userID)
	}
	alice.post(dm, "psst")
	bobConn.next(isMessage("psst"))

	bobConn.send(obj{"id": 2, "type": "typing", "channel": ch})
	if f := aliceConn.next(isType("user_typing")); f["user"] != bob.userID || f["channel"] != ch {
		t.Fatalf("user_typing %v", f)
	}

	bob.must("conversations.leave", obj{"channel": ch})
	bobConn.next(isType("channel_left"))
	alice.post(ch, "gone")
	general := alice.createChannel("plaza", false)
	bob.must("conversations.join", obj{"channel": general})
	alice.post(general, "marker")
	for _, f := range bobConn.collect(isMessage("marker")) {
		if f["text"] == "gone" {
			t.Fatalf("bob received a message of a channel he left")
		}
	}

	bob.must("users.setPresence", obj{"presence": "away"})
	if f := aliceConn.next(isType("presence_change")); f["presence"] != "away" {
		t.Fatalf("presence_change %v, want away", f)
	}
}

// Graceful shutdown says goodbye to every WebSocket client.
func TestShutdownSaysGoodbye(t *testing.T) {
	m := MustRunMain(t)
	alice := signup(t, m, "acme", "alice")
	conn := alice.connect()
	if err := m.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	conn.next(isType("goodbye"))
}

// The operator CLI creates a user who can then log in.
func TestAdminCreatesUsers(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("CONFAB_PASSWORD_COST", "4")
	out := captureStdout(t, func() error {
		return runAdmin(context.Background(), []string{"user", "create", "--data", dir, "--team", "ops", "--name", "root", "--password", "hunter2hunter2"})
	})
	if !strings.Contains(out, "user_id=U") || !strings.Contains(out, "token=xoxp-") {
		t.Fatalf("admin output %q", out)
	}
	m := MustRunMain(t, func(m *Main) { m.Config.DataDir = dir })
	c := &client{tb: t, base: m.URL(), name: "root"}
	c.must("auth.login", obj{"team": "ops", "name": "root", "password": "hunter2hunter2"})
	c.fails("auth.login", obj{"team": "ops", "name": "root", "password": "wrong password"}, "invalid_auth")
}

func captureStdout(t *testing.T, f func() error) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stdout
	os.Stdout = w
	ferr := f()
	os.Stdout = saved
	w.Close()
	var buf bytes.Buffer
	io.Copy(&buf, r)
	if ferr != nil {
		t.Fatalf("command failed: %v (output %q)", ferr, buf.String())
	}
	return buf.String()
}
