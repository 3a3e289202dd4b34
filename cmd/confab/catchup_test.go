package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/confab/confab"
)

// A client that was away while 200 messages, an edit, a delete and a
// reaction happened gets exactly those back with connect-then-catch-up:
// nothing lost, nothing twice, even for messages that arrive both live and in
// the catch-up.
func TestCatchUpAfterDisconnect(t *testing.T) {
	m := MustRunMain(t)
	alice := signup(t, m, "acme", "alice")
	bob := signup(t, m, "acme", "bob")
	ch := alice.createChannel("plaza", false)
	bob.must("conversations.join", obj{"channel": ch})

	first := bob.connect()
	editTS := alice.post(ch, "to edit")
	deleteTS := alice.post(ch, "to delete")
	reactTS := alice.post(ch, "to react")
	checkpoint := seqOf(first.next(isMessage("to react")))
	first.conn.Close()
	<-first.closed

	const away = 200
	for i := 0; i < away; i++ {
		alice.post(ch, fmt.Sprintf("away %d", i))
	}
	alice.must("chat.update", obj{"channel": ch, "ts": editTS, "text": "edited"})
	alice.must("chat.delete", obj{"channel": ch, "ts": deleteTS})
	alice.must("reactions.add", obj{"channel": ch, "timestamp": reactTS, "name": "tada"})

	// Connect first and hold live events; messages posted now arrive live
	// and are also in the catch-up.
	second := bob.connect()
	for i := 0; i < 5; i++ {
		alice.post(ch, fmt.Sprintf("during %d", i))
	}
	general, seen := generalSeq(t, bob) // bob saw his sign-up's join there
	out := bob.must("client.catchup", obj{"checkpoints": map[string]int64{ch: checkpoint, general: seen}, "limit": 1000})
	alice.post(ch, "after catch-up")
	live := second.collect(isMessage("after catch-up"))

	var events []obj
	for _, c := range out["channels"].([]any) {
		cc := c.(obj)
		if cc["channel"] != ch {
			t.Fatalf("catch-up of unexpected channel %v", cc["channel"])
		}
		if cc["has_more"] != false {
			t.Fatalf("has_more = %v with limit 1000", cc["has_more"])
		}
		for _, e := range cc["events"].([]any) {
			events = append(events, e.(obj))
		}
	}
	events = append(events, live...)
	applied := applyInSeqOrder(t, events, ch)
	// Every change after the checkpoint took one seq and none collapsed
	// here, so the applied seqs run on without a gap.
	for i, e := range applied {
		if want := checkpoint + 1 + int64(i); seqOf(e) != want {
			t.Fatalf("applied event %d has seq %d, want %d (gap or duplicate): %v", i, seqOf(e), want, e)
		}
	}

	texts := map[string]int{}
	var changed, deleted, reacted int
	for _, e := range applied {
		switch {
		case e["type"] == "message" && e["subtype"] == nil:
			texts[e["text"].(string)]++
		case e["subtype"] == "message_changed":
			if e["message"].(obj)["ts"] != editTS || e["message"].(obj)["text"] != "edited" {
				t.Fatalf("message_changed %v, want ts %s text edited", e, editTS)
			}
			changed++
		case e["subtype"] == "message_deleted":
			if e["deleted_ts"] != deleteTS {
				t.Fatalf("message_deleted %v, want %s", e, deleteTS)
			}
			deleted++
		case e["type"] == "reaction_added":
			if e["reaction"] != "tada" || e["item"].(obj)["ts"] != reactTS {
				t.Fatalf("reaction_added %v", e)
			}
			reacted++
		}
	}
	want := map[string]int{"after catch-up": 1}
	for i := 0; i < away; i++ {
		want[fmt.Sprintf("away %d", i)] = 1
	}
	for i := 0; i < 5; i++ {
		want[fmt.Sprintf("during %d", i)] = 1
	}
	for text, n := range texts {
		if want[text] != n {
			t.Errorf("message %q seen %d times, want %d", text, n, want[text])
		}
	}
	for text := range want {
		if texts[text] == 0 {
			t.Errorf("message %q missing", text)
		}
	}
	if changed != 1 || deleted != 1 || reacted != 1 {
		t.Fatalf("changed %d deleted %d reacted %d, want 1 each", changed, deleted, reacted)
	}
}

// applyInSeqOrder is the client's rule: sort by seq and drop any (channel,
// seq) already applied.
func applyInSeqOrder(t *testing.T, events []obj, channel string) []obj {
	t.Helper()
	var withSeq []obj
	for _, e := range events {
		if e["seq"] != nil {
			withSeq = append(withSeq, e)
		}
	}
	sort.SliceStable(withSeq, func(i, j int) bool { return seqOf(withSeq[i]) < seqOf(withSeq[j]) })
	seen := map[string]bool{}
	var out []obj
	for _, e := range withSeq {
		ch, _ := e["channel"].(string)
		if item, ok := e["item"].(obj); ok {
			ch, _ = item["channel"].(string)
		}
		if ch != channel {
			t.Fatalf("event of channel %q, want %q: %v", ch, channel, e)
		}
		key := fmt.Sprint(ch, "/", seqOf(e))
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, e)
	}
	return out
}

// failingStore is a Store whose message commits fail.
type failingStore struct {
	confab.Store
}

func (failingStore) CreateMessage(context.Context, *confab.Message) (bool, error) {
	return false, errors.New("disk on fire")
}

// Persist first: when the store cannot commit, the sender gets an error and
// no one receives anything.
func TestNothingIsDeliveredWhenTheCommitFails(t *testing.T) {
	m := MustRunMain(t, func(m *Main) {
		m.WrapStore = func(s confab.Store) confab.Store { return failingStore{s} }
	})
	alice := signup(t, m, "acme", "alice")
	bob := signup(t, m, "acme", "bob")
	ch := alice.createChannel("plaza", false)
	bob.must("conversations.join", obj{"channel": ch})
	conn := bob.connect()

	status, out := alice.call("chat.postMessage", obj{"channel": ch, "text": "ghost"})
	if status != 500 || out["ok"] != false || out["error"] != "internal_error" {
		t.Fatalf("post with a failing store = %d %v, want 500 internal_error", status, out)
	}
	if strings.Contains(fmt.Sprint(out), "disk on fire") {
		t.Fatalf("internal detail leaked to the client: %v", out)
	}
	alice.must("conversations.setTopic", obj{"channel": ch, "topic": "marker"})
	for _, f := range conn.collect(isType("channel_topic")) {
		if f["type"] == "message" {
			t.Fatalf("bob received %v although the commit failed", f)
		}
	}
	hist := alice.must("conversations.history", obj{"channel": ch})
	if n := len(hist["messages"].([]any)); n != 0 {
		t.Fatalf("history has %d messages after a failed commit", n)
	}
}

// The same client_msg_id, posted again or concurrently, yields one message.
func TestClientMsgIDMakesPostsIdempotent(t *testing.T) {
	m := MustRunMain(t)
	alice := signup(t, m, "acme", "alice")
	ch := alice.createChannel("plaza", false)

	args := obj{"channel": ch, "text": "once", "client_msg_id": "5f1c7a52-retry"}
	first := alice.must("chat.postMessage", args)
	second := alice.must("chat.postMessage", args)
	if first["ts"] != second["ts"] {
		t.Fatalf("retry got ts %v, original %v", second["ts"], first["ts"])
	}

	var wg sync.WaitGroup
	tss := make([]string, 20)
	for i := range tss {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			out := alice.must("chat.postMessage", obj{"channel": ch, "text": "concurrent", "client_msg_id": "concurrent-1"})
			tss[i] = out["ts"].(string)
		}(i)
	}
	wg.Wait()
	for _, ts := range tss {
		if ts != tss[0] {
			t.Fatalf("concurrent posts got different ts: %v", tss)
		}
	}
	hist := alice.must("conversations.history", obj{"channel": ch})
	if n := len(hist["messages"].([]any)); n != 2 {
		b, _ := json.Marshal(hist)
		t.Fatalf("history has %d messages, want 2: %s", n, b)
	}
}
