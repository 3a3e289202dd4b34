package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/confab/confab"
)

// pinTSs returns the message ts of each pin, in order.
func pinTSs(ps []*confab.Pin) []int64 {
	out := make([]int64, len(ps))
	for i, p := range ps {
		out[i] = p.MessageTS
	}
	return out
}

func (f *fixture) mustPins(channelID string, messages bool) []*confab.Pin {
	f.tb.Helper()
	ps, err := f.s.FindPins(f.ctx, channelID, messages)
	if err != nil {
		f.tb.Fatalf("FindPins(%s) = %v", channelID, err)
	}
	return ps
}

func testPins(t *testing.T, f *fixture) {
	ctx := f.ctx
	alice, bob := f.MustUser("alice"), f.MustUser("bob")
	c := f.MustChannel("plaza", confab.KindPublic, alice, bob)
	other := f.MustChannel("random", confab.KindPublic, alice)
	a := f.MustPost(c, alice, "a")
	b := f.MustPost(c, bob, "b")
	reply := f.MustReply(a, bob, "in a thread")
	elsewhere := f.MustPost(other, alice, "elsewhere")
	if _, err := f.s.AddReaction(ctx, c.ID, b.TS, alice.ID, "pushpin"); err != nil {
		t.Fatal(err)
	}
	if ps := f.mustPins(c.ID, true); len(ps) != 0 {
		t.Fatalf("FindPins of a channel without pins = %d pins", len(ps))
	}
	before := f.MustChannelByID(c.ID)

	// Pinned in the order b, reply, a, all in the same second: the latest
	// pinned comes first all the same.
	for _, p := range []struct {
		m *confab.Message
		u *confab.User
	}{{b, alice}, {reply, bob}, {a, bob}} {
		if err := f.s.AddPin(ctx, &confab.Pin{ChannelID: c.ID, MessageTS: p.m.TS, UserID: p.u.ID, Created: 1_700_000_500}); err != nil {
			t.Fatalf("AddPin(%q) = %v", p.m.Text, err)
		}
	}
	err := f.s.AddPin(ctx, &confab.Pin{ChannelID: c.ID, MessageTS: b.TS, UserID: bob.ID, Created: 1_700_000_501})
	wantErr(t, "AddPin(pinned)", err, confab.ECONFLICT, "already_pinned")
	err = f.s.AddPin(ctx, &confab.Pin{ChannelID: c.ID, MessageTS: 42, UserID: bob.ID, Created: 1})
	wantErr(t, "AddPin(unknown message)", err, confab.ENOTFOUND, "message_not_found")
	err = f.s.AddPin(ctx, &confab.Pin{ChannelID: c.ID, MessageTS: elsewhere.TS, UserID: bob.ID, Created: 1})
	wantErr(t, "AddPin(another channel's message)", err, confab.ENOTFOUND, "message_not_found")
	err = f.s.AddPin(ctx, &confab.Pin{ChannelID: "C0NOSUCH", MessageTS: a.TS, UserID: bob.ID, Created: 1})
	wantErr(t, "AddPin(unknown channel)", err, confab.ENOTFOUND, "message_not_found")

	ps := f.mustPins(c.ID, true)
	if got, want := pinTSs(ps), []int64{a.TS, reply.TS, b.TS}; !slices.Equal(got, want) {
		t.Fatalf("FindPins = %v, want the latest pinned first %v", got, want)
	}
	if p := ps[2]; p.ChannelID != c.ID || p.UserID != alice.ID || p.Created != 1_700_000_500 {
		t.Errorf("pin of b = %+v, want alice's at 1700000500", *p)
	}
	if m := ps[2].Message; m == nil || m.Text != "b" || m.UserID != bob.ID || m.Seq != b.Seq ||
		len(m.Reactions) != 1 || m.Reactions[0].Name != "pushpin" {
		t.Errorf("pin of b has message %v, want b with its reaction", m)
	}
	if m := ps[1].Message; m == nil || m.ThreadTS != a.TS {
		t.Errorf("pin of the reply has message %v, want the reply", m)
	}
	for _, p := range f.mustPins(c.ID, false) {
		if p.Message != nil || p.UserID == "" || p.Created == 0 {
			t.Errorf("FindPins(without messages) = %+v", *p)
		}
	}
	if ps := f.mustPins(other.ID, true); len(ps) != 0 {
		t.Errorf("the other channel has %d pins, want 0", len(ps))
	}
	if ps := f.mustPins("C0NOSUCH", true); len(ps) != 0 {
		t.Errorf("an unknown channel has %d pins, want 0", len(ps))
	}

	// Pins count, move the version, and take no seq: they are not in the
	// change feed.
	after := f.MustChannelByID(c.ID)
	if after.PinCount != 3 || after.PinVersion <= before.PinVersion || after.LastSeq != before.LastSeq {
		t.Errorf("after 3 pins: PinCount %d, PinVersion %d (was %d), LastSeq %d (was %d); want 3, moved, unchanged",
			after.PinCount, after.PinVersion, before.PinVersion, after.LastSeq, before.LastSeq)
	}
	changes, err := f.s.FindChanges(ctx, c.ID, before.LastSeq, 0)
	if err != nil || len(changes) != 0 {
		t.Errorf("FindChanges after pinning = %d changes, %v; want none", len(changes), err)
	}

	if err := f.s.RemovePin(ctx, c.ID, reply.TS); err != nil {
		t.Fatalf("RemovePin = %v", err)
	}
	err = f.s.RemovePin(ctx, c.ID, reply.TS)
	wantErr(t, "RemovePin(unpinned)", err, confab.ENOTFOUND, "no_pin")
	err = f.s.RemovePin(ctx, c.ID, 42)
	wantErr(t, "RemovePin(unknown message)", err, confab.ENOTFOUND, "no_pin")
	removed := f.MustChannelByID(c.ID)
	if removed.PinCount != 2 || removed.PinVersion <= after.PinVersion || removed.LastSeq != before.LastSeq {
		t.Errorf("after an unpin: PinCount %d, PinVersion %d (was %d), LastSeq %d; want 2, moved, %d",
			removed.PinCount, removed.PinVersion, after.PinVersion, removed.LastSeq, before.LastSeq)
	}
	// Pinned again, it is the latest pin.
	if err := f.s.AddPin(ctx, &confab.Pin{ChannelID: c.ID, MessageTS: reply.TS, UserID: alice.ID, Created: 1_700_000_600}); err != nil {
		t.Fatal(err)
	}
	if got, want := pinTSs(f.mustPins(c.ID, false)), []int64{reply.TS, a.TS, b.TS}; !slices.Equal(got, want) {
		t.Errorf("FindPins after pinning the reply again = %v, want %v", got, want)
	}

	// A deleted message loses its pin, with the delete.
	if _, err := f.s.DeleteMessage(ctx, c.ID, b.TS); err != nil {
		t.Fatal(err)
	}
	if got, want := pinTSs(f.mustPins(c.ID, true)), []int64{reply.TS, a.TS}; !slices.Equal(got, want) {
		t.Errorf("FindPins after deleting b = %v, want %v", got, want)
	}
	deleted := f.MustChannelByID(c.ID)
	if deleted.PinCount != 2 || deleted.PinVersion <= removed.PinVersion {
		t.Errorf("after deleting a pinned message: PinCount %d, PinVersion %d; want 2, moved past %d",
			deleted.PinCount, deleted.PinVersion, removed.PinVersion)
	}
	err = f.s.AddPin(ctx, &confab.Pin{ChannelID: c.ID, MessageTS: b.TS, UserID: bob.ID, Created: 1})
	wantErr(t, "AddPin(tombstone)", err, confab.ENOTFOUND, "message_not_found")
	err = f.s.RemovePin(ctx, c.ID, b.TS)
	wantErr(t, "RemovePin(tombstone)", err, confab.ENOTFOUND, "no_pin")
	// Deleting a message that is not pinned leaves the pins be.
	if _, err := f.s.DeleteMessage(ctx, other.ID, elsewhere.TS); err != nil {
		t.Fatal(err)
	}
	if ch := f.MustChannelByID(other.ID); ch.PinCount != 0 || ch.PinVersion != 0 {
		t.Errorf("deleting an unpinned message: PinCount %d PinVersion %d, want 0 0", ch.PinCount, ch.PinVersion)
	}
}

// testPinCap: a channel holds at most MaxPins, even when they are added
// at once.
func testPinCap(t *testing.T, f *fixture) {
	c := f.MustChannel("plaza", confab.KindPublic, f.owner)
	n := confab.MaxPins + 10
	msgs := make([]*confab.Message, n)
	for i := range msgs {
		msgs[i] = f.MustPost(c, f.owner, fmt.Sprintf("m%d", i))
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		ok   int
		errs = map[string]int{}
	)
	for _, m := range msgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := f.s.AddPin(f.ctx, &confab.Pin{ChannelID: c.ID, MessageTS: m.TS, UserID: f.owner.ID, Created: 1})
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				ok++
			} else {
				errs[confab.ErrorMessage(err)]++
			}
		}()
	}
	wg.Wait()
	if ok != confab.MaxPins || errs["too_many_pins"] != n-confab.MaxPins {
		t.Errorf("%d concurrent pins: %d pinned, errors %v; want %d pinned, the rest too_many_pins", n, ok, errs, confab.MaxPins)
	}
	if ch := f.MustChannelByID(c.ID); ch.PinCount != confab.MaxPins {
		t.Errorf("PinCount = %d, want %d", ch.PinCount, confab.MaxPins)
	}
	if ps := f.mustPins(c.ID, true); len(ps) != confab.MaxPins {
		t.Errorf("FindPins = %d pins, want %d", len(ps), confab.MaxPins)
	}
}
