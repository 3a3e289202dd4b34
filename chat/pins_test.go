package chat

import (
	"slices"
	"testing"

	"github.com/confab/confab"
)

// Pins: members pin and unpin, the channel is told, history and replies
// mark the pinned messages and count them (a page read just before a pin
// is not served after it), pins.list lists them latest first, and a
// deleted message loses its pin.
func TestPins(t *testing.T) {
	f := newManageFixture(t)
	ctx := t.Context()
	post := func(u *confab.User, text, thread string) *confab.Message {
		t.Helper()
		m, err := f.s.PostMessage(ctx, u, PostParams{Channel: f.pub, Text: text, ThreadTS: thread})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	a := post(f.bob, "a", "")
	b := post(f.alice, "b", "")
	reply := post(f.alice, "reply", confab.FormatTS(a.TS))
	history := func() *Page {
		t.Helper()
		p, err := f.s.History(ctx, f.alice, HistoryParams{Channel: f.pub})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	if p := history(); p.PinCount != 0 || len(p.Pinned) != 0 {
		t.Fatalf("history before any pin: %d pins", p.PinCount)
	}

	if err := f.s.AddPin(ctx, f.bob, f.pub, confab.FormatTS(a.TS)); err != nil {
		t.Fatalf("AddPin = %v", err)
	}
	ev := f.bus.await(t, "pin_added")
	item, _ := ev.frame["item"].(map[string]any)
	msg, _ := item["message"].(map[string]any)
	if ev.topic != confab.ChannelTopic(f.bob.WorkspaceID, f.pub) || ev.frame["user"] != f.bob.ID ||
		ev.frame["channel_id"] != f.pub || ev.frame["has_pins"] != true || ev.frame["item_user"] != f.bob.ID ||
		item["type"] != "message" || item["channel"] != f.pub || item["created_by"] != f.bob.ID ||
		msg["text"] != "a" || msg["ts"] != confab.FormatTS(a.TS) {
		t.Errorf("pin_added on %s = %v", ev.topic, ev.frame)
	}
	if _, ok := ev.frame["seq"]; ok {
		t.Errorf("pin_added has a seq: %v", ev.frame)
	}
	p := history()
	if p.PinCount != 1 || !p.Pinned[a.TS] || p.Pinned[b.TS] {
		t.Errorf("history after pinning a: %d pins %v, want a's", p.PinCount, p.Pinned)
	}
	if err := f.s.AddPin(ctx, f.alice, f.pub, confab.FormatTS(reply.TS)); err != nil {
		t.Fatalf("AddPin(reply) = %v", err)
	}
	r, err := f.s.Replies(ctx, f.alice, RepliesParams{Channel: f.pub, TS: confab.FormatTS(a.TS)})
	if err != nil || r.PinCount != 2 || !r.Pinned[a.TS] || !r.Pinned[reply.TS] {
		t.Errorf("replies after pinning a and the reply: %+v, %v", r, err)
	}

	for _, tc := range []struct {
		u        *confab.User
		ch, ts   string
		add      bool
		want     string
		whatCase string
	}{
		{f.alice, f.pub, confab.FormatTS(a.TS), true, "already_pinned", "pinned twice"},
		{f.alice, f.pub, "", true, "no_item_specified", "no timestamp"},
		{f.alice, f.pub, "yesterday", true, "bad_timestamp", "bad timestamp"},
		{f.alice, f.pub, "1.000001", true, "message_not_found", "no such message"},
		{f.carol, f.pub, confab.FormatTS(b.TS), true, "not_in_channel", "not a member"},
		{f.dave, f.pub, confab.FormatTS(b.TS), true, "channel_not_found", "another workspace"},
		{f.alice, "CNOSUCH", confab.FormatTS(b.TS), true, "channel_not_found", "no such channel"},
		{f.alice, f.pub, confab.FormatTS(b.TS), false, "no_pin", "not pinned"},
		{f.carol, f.pub, confab.FormatTS(a.TS), false, "not_in_channel", "unpin, not a member"},
	} {
		var err error
		if tc.add {
			err = f.s.AddPin(ctx, tc.u, tc.ch, tc.ts)
		} else {
			err = f.s.RemovePin(ctx, tc.u, tc.ch, tc.ts)
		}
		if confab.ErrorMessage(err) != tc.want {
			t.Errorf("%s: %v, want %s", tc.whatCase, err, tc.want)
		}
	}
	if _, err := f.s.ListPins(ctx, f.carol, f.pub); confab.ErrorMessage(err) != "not_in_channel" {
		t.Errorf("ListPins by a non-member = %v, want not_in_channel", err)
	}

	pins, err := f.s.ListPins(ctx, f.bob, f.pub)
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, p := range pins {
		got = append(got, p.MessageTS)
		if p.Message == nil || p.Message.TS != p.MessageTS {
			t.Errorf("pin %d without its message", p.MessageTS)
		}
	}
	if want := []int64{reply.TS, a.TS}; !slices.Equal(got, want) {
		t.Errorf("ListPins = %v, want the latest pinned first %v", got, want)
	}

	if err := f.s.RemovePin(ctx, f.alice, f.pub, confab.FormatTS(reply.TS)); err != nil {
		t.Fatalf("RemovePin = %v", err)
	}
	ev = f.bus.await(t, "pin_removed")
	if ev.frame["user"] != f.alice.ID || ev.frame["has_pins"] != true {
		t.Errorf("pin_removed = %v, want alice's, with a pin left", ev.frame)
	}
	// A deleted message loses its pin; the page read before is not served.
	if p := history(); p.PinCount != 1 {
		t.Errorf("history after unpinning the reply: %d pins, want 1", p.PinCount)
	}
	if _, err := f.s.DeleteMessage(ctx, f.bob, f.pub, confab.FormatTS(a.TS)); err != nil {
		t.Fatal(err)
	}
	if p := history(); p.PinCount != 0 || len(p.Pinned) != 0 {
		t.Errorf("history after deleting the pinned message: %d pins %v, want none", p.PinCount, p.Pinned)
	}
	if pins, err := f.s.ListPins(ctx, f.bob, f.pub); err != nil || len(pins) != 0 {
		t.Errorf("ListPins after deleting the pinned message = %d, %v; want none", len(pins), err)
	}
	if err := f.s.AddPin(ctx, f.bob, f.pub, confab.FormatTS(a.TS)); confab.ErrorMessage(err) != "message_not_found" {
		t.Errorf("AddPin(deleted message) = %v, want message_not_found", err)
	}
}

// An ephemeral message goes to its user's topic only, as a message event
// with is_ephemeral and no seq, and is stored nowhere.
func TestPostEphemeral(t *testing.T) {
	f := newManageFixture(t)
	ctx := t.Context()
	before, err := f.s.History(ctx, f.alice, HistoryParams{Channel: f.pub})
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.s.store.FindChannelByID(ctx, f.pub)
	if err != nil {
		t.Fatal(err)
	}
	m, err := f.s.PostEphemeral(ctx, f.alice, EphemeralParams{Channel: f.pub, User: f.bob.ID, Text: "only you",
		App: confab.AppFields{Blocks: `[{"type":"section","text":{"type":"mrkdwn","text":"*hi*"}}]`}})
	if err != nil {
		t.Fatalf("PostEphemeral = %v", err)
	}
	ev := f.bus.await(t, "message")
	if ev.topic != confab.UserTopic(f.bob.WorkspaceID, f.bob.ID) || ev.op != confab.OpDeliver {
		t.Errorf("ephemeral message on %s (op %d), want bob's user topic", ev.topic, ev.op)
	}
	if ev.frame["is_ephemeral"] != true || ev.frame["text"] != "only you" || ev.frame["ts"] != confab.FormatTS(m.TS) ||
		ev.frame["channel"] != f.pub || ev.frame["user"] != f.alice.ID || ev.frame["blocks"] == nil {
		t.Errorf("ephemeral event = %v", ev.frame)
	}
	for _, k := range []string{"subtype", "seq"} {
		if _, ok := ev.frame[k]; ok {
			t.Errorf("ephemeral event has %s: %v", k, ev.frame)
		}
	}
	after, err := f.s.History(ctx, f.alice, HistoryParams{Channel: f.pub})
	if err != nil || len(after.Messages) != len(before.Messages) {
		t.Errorf("history after an ephemeral message: %d messages, %v; want %d", len(after.Messages), err, len(before.Messages))
	}
	if after, err := f.s.store.FindChannelByID(ctx, f.pub); err != nil || after.LastSeq != c.LastSeq {
		t.Errorf("channel after an ephemeral message: %+v, %v; want nothing written", c, err)
	}

	for _, tc := range []struct {
		u    *confab.User
		p    EphemeralParams
		want string
	}{
		{f.alice, EphemeralParams{Channel: f.pub, User: f.carol.ID, Text: "x"}, "user_not_in_channel"},
		{f.alice, EphemeralParams{Channel: f.pub, User: "UNOSUCH", Text: "x"}, "user_not_found"},
		{f.alice, EphemeralParams{Channel: f.pub, User: f.dave.ID, Text: "x"}, "user_not_found"},
		{f.carol, EphemeralParams{Channel: f.pub, User: f.bob.ID, Text: "x"}, "not_in_channel"},
		{f.alice, EphemeralParams{Channel: f.pub, User: f.bob.ID, Text: ""}, "no_text"},
		{f.alice, EphemeralParams{Channel: f.pub, User: f.bob.ID, Text: "x", App: confab.AppFields{Blocks: `{"not":"an array"}`}}, "invalid_blocks"},
		{f.alice, EphemeralParams{Channel: f.pub, User: f.bob.ID, Text: "x", ThreadTS: "1.000001"}, "thread_not_found"},
	} {
		if _, err := f.s.PostEphemeral(ctx, tc.u, tc.p); confab.ErrorMessage(err) != tc.want {
			t.Errorf("PostEphemeral(%+v) by %s = %v, want %s", tc.p, tc.u.Name, err, tc.want)
		}
	}
}
