package main

import (
	"slices"
	"testing"
)

// Mention counts as a person with two tabs open sees them, end to end:
// <!here> reaches the members online (bob, with his tabs) and not those
// offline (carol); a new mention reaches every tab; conversations.mark in
// one tab tells every tab the counts after it (channel_marked, im_marked);
// a muted channel counts mentions by name only; client.catchup carries
// each caller's own mention_count.
func TestMentionCountsLiveAcrossTabs(t *testing.T) {
	m := MustRunMain(t)
	alice := signup(t, m, "acme", "alice")
	bob := signup(t, m, "acme", "bob")
	carol := signup(t, m, "acme", "carol")
	general := alice.createChannel("plaza", false)
	bob.must("conversations.join", obj{"channel": general})
	carol.must("conversations.join", obj{"channel": general})
	tab1, tab2 := bob.connect(), bob.connect()

	count := func(c *client, channel string) float64 {
		t.Helper()
		info := c.must("conversations.info", obj{"channel": channel})["channel"].(obj)
		return info["mention_count"].(float64)
	}
	bothTabs := func(match func(obj) bool) []obj {
		t.Helper()
		return []obj{tab1.next(match), tab2.next(match)}
	}

	alice.post(general, "<!here> standup")
	last := alice.post(general, "<@"+bob.userID+"> review please")
	bothTabs(isMessage("<@" + bob.userID + "> review please"))
	if n := count(bob, general); n != 2 {
		t.Fatalf("bob (online): mention_count = %v, want 2", n)
	}
	if n := count(carol, general); n != 0 {
		t.Fatalf("carol (offline): mention_count = %v, want 0: <!here> is for who is online", n)
	}

	// Marking in one tab clears the count in both.
	bob.must("conversations.mark", obj{"channel": general, "ts": last})
	for _, ev := range bothTabs(isType("channel_marked")) {
		if ev["channel"] != general || ev["ts"] != last || ev["mention_count"] != 0.0 || ev["unread_count_display"] != 0.0 {
			t.Fatalf("channel_marked = %v, want %s at %s with no mentions nor unreads", ev, general, last)
		}
	}

	// Muted: <!channel> and <!here> do not count; <@bob> does.
	bob.must("conversations.setPrefs", obj{"channel": general, "is_muted": true})
	alice.post(general, "<!channel> lunch")
	alice.post(general, "<!here> cake")
	alice.post(general, "<@"+bob.userID+"> you too")
	if n := count(bob, general); n != 1 {
		t.Fatalf("muted: mention_count = %v, want 1 (by name only)", n)
	}
	counts := bob.must("client.counts", nil)["channels"].([]any)
	if e := counts[slices.IndexFunc(counts, func(e any) bool { return e.(obj)["id"] == general })].(obj); e["mention_count"] != 1.0 {
		t.Fatalf("muted: client.counts = %v, want %s with mention_count 1", counts, general)
	}

	// client.catchup: each caller's own count on the same channel.
	for _, tc := range []struct {
		c    *client
		want float64
	}{{bob, 1}, {carol, 1}, {alice, 0}} {
		gen, seen := generalSeq(t, tc.c) // the sign-ups' joins there: seen
		cu := tc.c.must("client.catchup", obj{"checkpoints": obj{general: 0, gen: seen}})
		chs := cu["channels"].([]any)
		if len(chs) != 1 || chs[0].(obj)["channel"] != general || chs[0].(obj)["mention_count"] != tc.want {
			t.Fatalf("%s's client.catchup = %v, want %s with mention_count %v", tc.c.name, chs, general, tc.want)
		}
	}

	// A DM: every unread message counts; im_marked tells both tabs.
	dm := alice.must("conversations.open", obj{"users": bob.userID})["channel"].(obj)["id"].(string)
	first := alice.post(dm, "psst")
	alice.post(dm, "still there?")
	bothTabs(isMessage("still there?"))
	if n := count(bob, dm); n != 2 {
		t.Fatalf("DM: mention_count = %v, want 2", n)
	}
	bob.must("conversations.mark", obj{"channel": dm, "ts": first})
	for _, ev := range bothTabs(isType("im_marked")) {
		if ev["channel"] != dm || ev["mention_count"] != 1.0 || ev["unread_count_display"] != 1.0 {
			t.Fatalf("im_marked = %v, want %s with 1 mention and 1 unread", ev, dm)
		}
	}
}
