package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/confab/confab"
)

// importTS is a ts of 2020, long before anything the fixture posts.
func importTS(sec int64) int64 { return (1_577_836_800 + sec) * 1_000_000 }

func (f *fixture) mustImport(channelID string, msgs ...*confab.Message) int {
	f.tb.Helper()
	n, err := f.s.ImportMessages(f.ctx, channelID, msgs)
	if err != nil {
		f.tb.Fatalf("ImportMessages(%s, %d messages) = %v", channelID, len(msgs), err)
	}
	return n
}

// testImportMessages: an import keeps the messages' ts, gives seqs in ts
// order, counts threads, stores reactions, edits, subtypes and mentions,
// indexes for search, leaves nothing unread, and skips what it imported
// before.
func testImportMessages(t *testing.T, f *fixture) {
	alice, bob := f.MustUser("alice"), f.MustUser("bob")
	ch := f.MustChannel("history", confab.KindPublic, alice, bob)
	batch1 := []*confab.Message{
		{UserID: alice.ID, TS: importTS(10), Text: "zebra crossing"},
		{UserID: bob.ID, TS: importTS(20), Text: "a thread about <@" + alice.ID + ">",
			Reactions: []confab.Reaction{{Name: "tada", Users: []string{bob.ID, alice.ID}}, {Name: "eyes", Users: []string{alice.ID}}}},
		{UserID: alice.ID, TS: importTS(30), ThreadTS: importTS(20), Text: "first reply", EditedTS: importTS(35)},
	}
	batch2 := []*confab.Message{
		{UserID: bob.ID, TS: importTS(40), ThreadTS: importTS(20), Text: "second reply"},
		{UserID: bob.ID, TS: importTS(50), Subtype: confab.SubtypeChannelJoin, Text: "<@" + bob.ID + "> has joined the channel"},
		{UserID: alice.ID, TS: importTS(60), Text: "last words", Username: "alice's bot"},
	}
	if n := f.mustImport(ch.ID, batch1...); n != 3 {
		t.Errorf("first batch: created %d, want 3", n)
	}
	if n := f.mustImport(ch.ID, batch2...); n != 3 {
		t.Errorf("second batch: created %d, want 3", n)
	}
	// Run again, as an import killed and restarted does: nothing new.
	if n := f.mustImport(ch.ID, batch1...); n != 0 {
		t.Errorf("first batch again: created %d, want 0", n)
	}
	if n := f.mustImport(ch.ID, slices.Concat(batch1[2:], batch2)...); n != 0 {
		t.Errorf("overlapping batch again: created %d, want 0", n)
	}

	all := f.MustMessages(confab.MessageFilter{ChannelID: ch.ID})
	var tss []int64
	for _, m := range all {
		tss = append(tss, m.TS)
	}
	want := []int64{importTS(10), importTS(20), importTS(30), importTS(40), importTS(50), importTS(60)}
	if !slices.Equal(tss, want) {
		t.Fatalf("history ts = %v, want %v", tss, want)
	}
	for i := 1; i < len(all); i++ {
		if all[i].Seq <= all[i-1].Seq {
			t.Errorf("seqs %v not in ts order", seqs(all))
		}
	}
	parent := f.MustMessage(ch.ID, importTS(20))
	if parent.ReplyCount != 2 || parent.LatestReply != importTS(40) {
		t.Errorf("parent: %d replies, latest %d; want 2, %d", parent.ReplyCount, parent.LatestReply, importTS(40))
	}
	wantR := []confab.Reaction{{Name: "tada", Users: []string{bob.ID, alice.ID}}, {Name: "eyes", Users: []string{alice.ID}}}
	if !slices.EqualFunc(parent.Reactions, wantR, func(a, b confab.Reaction) bool {
		return a.Name == b.Name && slices.Equal(a.Users, b.Users)
	}) {
		t.Errorf("reactions = %+v, want %+v", parent.Reactions, wantR)
	}
	if r := f.MustMessage(ch.ID, importTS(30)); r.EditedTS != importTS(35) || r.ThreadTS != importTS(20) {
		t.Errorf("reply: edited %d, thread %d", r.EditedTS, r.ThreadTS)
	}
	if m := f.MustMessage(ch.ID, importTS(50)); m.Subtype != confab.SubtypeChannelJoin {
		t.Errorf("join: subtype %q", m.Subtype)
	}
	if m := f.MustMessage(ch.ID, importTS(60)); m.Username != "alice's bot" {
		t.Errorf("username %q", m.Username)
	}
	c := f.MustChannelByID(ch.ID)
	// 6 messages and 3 reactions, one seq each.
	if c.LastSeq != 9 || c.MessageCount != 4 {
		t.Errorf("channel: last_seq %d, message_count %d; want 9, 4", c.LastSeq, c.MessageCount)
	}
	// Nothing imported is unread, mentions included.
	for _, u := range []*confab.User{alice, bob} {
		ms := f.MustMembership(ch.ID, u.ID)
		if ms.LastReadTS != importTS(60) || ms.LastReadCount != c.MessageCount {
			t.Errorf("%s's marker at ts %d, count %d; want %d, %d", u.Name, ms.LastReadTS, ms.LastReadCount, importTS(60), c.MessageCount)
		}
		got, err := f.s.CountMentions(f.ctx, u.ID, []string{ch.ID})
		if err != nil || len(got) != 0 {
			t.Errorf("CountMentions(%s) = %v, %v; want none", u.Name, got, err)
		}
	}
	// Indexed like any message (in seconds); the join line is not.
	f.searchImported(f.searchIn(alice, word("zebra")), 1)
	f.wantFound(t, "zebra", f.searchIn(alice, word("zebra")), all[0])
	f.wantFound(t, "joined", f.searchIn(alice, word("joined")))

	// A post after the import comes after it, and history cannot be
	// imported before it any more.
	post := f.MustPost(ch, alice, "live")
	if post.TS <= importTS(60) || post.Seq != 10 {
		t.Errorf("post after import: ts %d seq %d", post.TS, post.Seq)
	}
	_, err := f.s.ImportMessages(f.ctx, ch.ID, []*confab.Message{{UserID: bob.ID, TS: importTS(70), Text: "too late"}})
	wantErr(t, "import older than the latest", err, confab.ECONFLICT, "import_out_of_order")
	if c2 := f.MustChannelByID(ch.ID); c2.LastSeq != 10 {
		t.Errorf("refused import changed last_seq to %d", c2.LastSeq)
	}
}

// testImportMessagesBad: messages out of order, a missing channel.
func testImportMessagesBad(t *testing.T, f *fixture) {
	alice := f.MustUser("alice")
	ch := f.MustChannel("history", confab.KindPublic, alice)
	_, err := f.s.ImportMessages(f.ctx, ch.ID, []*confab.Message{
		{UserID: alice.ID, TS: importTS(20), Text: "b"}, {UserID: alice.ID, TS: importTS(10), Text: "a"}})
	wantErr(t, "out of order", err, confab.EINVALID, "invalid_ts_order")
	_, err = f.s.ImportMessages(f.ctx, ch.ID, []*confab.Message{{UserID: alice.ID, TS: 0, Text: "a"}})
	wantErr(t, "no ts", err, confab.EINVALID, "invalid_arguments")
	_, err = f.s.ImportMessages(f.ctx, "Cmissing", []*confab.Message{{UserID: alice.ID, TS: importTS(10), Text: "a"}})
	wantErr(t, "missing channel", err, confab.ENOTFOUND, "channel_not_found")
	if c := f.MustChannelByID(ch.ID); c.LastSeq != 0 {
		t.Errorf("refused imports changed last_seq to %d", c.LastSeq)
	}
	if n := f.mustImport(ch.ID); n != 0 {
		t.Errorf("empty import created %d", n)
	}
}

// testImportMessagesShared: two channels' histories at the same ts are
// both indexed and found (a ts is unique only within its channel, and
// the index keys messages by ts), whole batches of them; mentions by name
// and of the whole channel count as a post's do.
func testImportMessagesShared(t *testing.T, f *fixture) {
	alice, bob, carol := f.MustUser("alice"), f.MustUser("bob"), f.MustUser("carol")
	ch1 := f.MustChannel("first", confab.KindPublic, alice, bob, carol)
	ch2 := f.MustChannel("second", confab.KindPublic, alice, bob, carol)
	const n = 250
	var b1, b2 []*confab.Message
	for i := range n {
		b1 = append(b1, &confab.Message{UserID: alice.ID, TS: importTS(int64(i)), Text: "walrus one"})
		b2 = append(b2, &confab.Message{UserID: bob.ID, TS: importTS(int64(i)), Text: "walrus two"})
	}
	b2 = append(b2,
		&confab.Message{UserID: alice.ID, TS: importTS(n), Text: "<!channel> walrus meeting"},
		&confab.Message{UserID: alice.ID, TS: importTS(n + 1), Text: "<@" + bob.ID + "> walrus notes"})
	f.mustImport(ch1.ID, b1...)
	f.mustImport(ch2.ID, b2...)
	for _, c := range []struct {
		ch   *confab.Channel
		text string
		want int
	}{{ch1, "one", n}, {ch2, "two", n}} {
		res := f.searchImported(f.searchIn(carol, word("walrus"), word(c.text)), c.want)
		if res.Total != c.want {
			t.Errorf("walrus %s: %d found, want %d", c.text, res.Total, c.want)
		}
		for _, m := range res.Messages {
			if m.ChannelID != c.ch.ID {
				t.Errorf("walrus %s: found in %s", c.text, m.ChannelID)
			}
		}
	}
	// The import leaves nothing unread; a mention is there for when a
	// marker goes back before it.
	for _, u := range []*confab.User{bob, carol} {
		if _, err := f.s.UpdateMembership(f.ctx, ch2.ID, u.ID, confab.MembershipUpdate{LastRead: &confab.Message{}}); err != nil {
			t.Fatal(err)
		}
	}
	wantMentions := map[string]int{bob.ID: 2, carol.ID: 1} // bob: the channel and his name; carol: the channel
	for u, want := range wantMentions {
		got, err := f.s.CountMentions(f.ctx, u, []string{ch2.ID})
		if err != nil || got[ch2.ID] != want {
			t.Errorf("mentions of %s = %v, %v; want %d", u, got, err, want)
		}
	}
}

// searchImported searches until it finds want messages or 10 s have
// passed: a store may index imported messages in the background, within
// seconds of the import (see confab.Store's ImportMessages).
func (f *fixture) searchImported(flt confab.SearchFilter, want int) *confab.SearchResult {
	f.tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		res := f.mustSearch(flt)
		if res.Total >= want || time.Now().After(deadline) {
			return res
		}
		time.Sleep(20 * time.Millisecond)
	}
}
