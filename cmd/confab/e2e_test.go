package main

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
)

// Alice posts in #plaza and Bob, on two connections, receives it live.
func TestLiveDeliveryToEveryConnection(t *testing.T) {
	m := MustRunMain(t)
	alice := signup(t, m, "acme", "alice")
	bob := signup(t, m, "acme", "bob")
	general := alice.createChannel("plaza", false)
	bob.must("conversations.join", obj{"channel": general})

	phone, laptop := bob.connect(), bob.connect()
	ts := alice.post(general, "hello bob")
	for _, conn := range []*rtm{phone, laptop} {
		f := conn.next(isMessage("hello bob"))
		if f["channel"] != general || f["user"] != alice.userID || f["ts"] != ts || seqOf(f) != 2 {
			t.Fatalf("message event %v, want channel %s user %s ts %s seq 2 (bob's join took 1)", f, general, alice.userID, ts)
		}
	}
}

// A DM reaches its two members only; a third user can neither read, post
// to, nor open it.
func TestDirectMessagesArePrivate(t *testing.T) {
	m := MustRunMain(t)
	alice := signup(t, m, "acme", "alice")
	bob := signup(t, m, "acme", "bob")
	carol := signup(t, m, "acme", "carol")
	general := alice.createChannel("plaza", false)
	bob.must("conversations.join", obj{"channel": general})
	carol.must("conversations.join", obj{"channel": general})

	open := alice.must("conversations.open", obj{"users": bob.userID})
	dm := open["channel"].(obj)["id"].(string)
	if !strings.HasPrefix(dm, "D") {
		t.Fatalf("DM id %q, want D…", dm)
	}
	again := bob.must("conversations.open", obj{"users": alice.userID})
	if id := again["channel"].(obj)["id"]; id != dm || again["already_open"] != true {
		t.Fatalf("Bob opening the same pair got %v, want %s already_open", again, dm)
	}

	bobConn, carolConn := bob.connect(), carol.connect()
	alice.post(dm, "just for bob")
	alice.post(general, "marker")
	bobConn.next(isMessage("just for bob"))
	for _, f := range carolConn.collect(isMessage("marker")) {
		if f["text"] == "just for bob" {
			t.Fatalf("carol received the DM: %v", f)
		}
	}

	carol.fails("conversations.history", obj{"channel": dm}, "channel_not_found")
	carol.fails("chat.postMessage", obj{"channel": dm, "text": "hi"}, "channel_not_found")
	carol.fails("conversations.info", obj{"channel": dm}, "channel_not_found")
	carol.fails("conversations.join", obj{"channel": dm}, "channel_not_found")
	carol.fails("conversations.members", obj{"channel": dm}, "channel_not_found")
	carol.fails("conversations.replies", obj{"channel": dm, "ts": "1.000001"}, "channel_not_found")
	hist := alice.must("conversations.history", obj{"channel": dm})
	ts := hist["messages"].([]any)[0].(obj)["ts"].(string)
	carol.fails("reactions.add", obj{"channel": dm, "timestamp": ts, "name": "eyes"}, "channel_not_found")
	carol.fails("chat.update", obj{"channel": dm, "ts": ts, "text": "x"}, "channel_not_found")
	carol.fails("chat.delete", obj{"channel": dm, "ts": ts}, "channel_not_found")
	// Opening with both of them makes Carol's own group DM, never theirs.
	group := carol.must("conversations.open", obj{"users": alice.userID + "," + bob.userID})
	if id := group["channel"].(obj)["id"].(string); id == dm || !strings.HasPrefix(id, "G") {
		t.Fatalf("carol opening alice,bob got %s, want a new group DM", id)
	}
	// conversations.list never shows another pair's DM.
	list := carol.must("conversations.list", obj{"types": "public_channel,private_channel,im,mpim"})
	for _, c := range list["channels"].([]any) {
		if c.(obj)["id"] == dm {
			t.Fatalf("carol lists the alice-bob DM")
		}
	}
	// Another workspace sees nothing of this one.
	eve := signup(t, m, "evil", "eve")
	eve.fails("conversations.history", obj{"channel": general}, "channel_not_found")
	eve.fails("users.info", obj{"user": alice.userID}, "user_not_found")
}

// 1,500 messages paged back with conversations.history come back each once,
// newest first, all the way to the first.
func TestHistoryPagesBackToTheFirstMessage(t *testing.T) {
	m := MustRunMain(t)
	alice := signup(t, m, "acme", "alice")
	ch := alice.createChannel("plaza", false)
	const n = 1500
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			alice.must("chat.postMessage", obj{"channel": ch, "text": fmt.Sprintf("m%d", i)})
		}(i)
	}
	wg.Wait()

	seen := map[string]bool{}
	var seqs []int64
	cursor := ""
	pages := 0
	for {
		out := alice.must("conversations.history", obj{"channel": ch, "limit": 97, "cursor": cursor})
		pages++
		for _, raw := range out["messages"].([]any) {
			msg := raw.(obj)
			text := msg["text"].(string)
			if seen[text] {
				t.Fatalf("message %q returned twice", text)
			}
			seen[text] = true
			seqs = append(seqs, seqOf(msg))
		}
		cursor = out["response_metadata"].(obj)["next_cursor"].(string)
		if out["has_more"] != (cursor != "") {
			t.Fatalf("has_more %v with next_cursor %q", out["has_more"], cursor)
		}
		if cursor == "" {
			break
		}
	}
	if len(seen) != n || pages != (n+96)/97 {
		t.Fatalf("got %d messages in %d pages, want %d in %d", len(seen), pages, n, (n+96)/97)
	}
	if !sort.SliceIsSorted(seqs, func(i, j int) bool { return seqs[i] > seqs[j] }) || seqs[len(seqs)-1] != 1 {
		t.Fatalf("seqs not newest-first down to 1: first %v last %v", seqs[:3], seqs[len(seqs)-3:])
	}
	alice.fails("conversations.history", obj{"channel": ch, "cursor": "not-a-cursor"}, "invalid_cursor")
}
