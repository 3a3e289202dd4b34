package chat_test

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confab/confab"
	"github.com/confab/confab/chat"
)

// fakeClock is a settable clock for chat.Config.Now.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Unix(1_800_000_000, 0).UnixNano())
	return c
}
func (c *fakeClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }
func (c *fakeClock) in(d time.Duration) string {
	return strconv.FormatInt(c.now().Add(d).Unix(), 10)
}

// history returns the texts of a channel's messages with their
// client_msg_id, oldest first.
func history(t *testing.T, svc *chat.Service, u *confab.User, channel string) []*confab.Message {
	t.Helper()
	page, err := svc.History(t.Context(), u, chat.HistoryParams{Channel: channel})
	if err != nil {
		t.Fatalf("History = %v", err)
	}
	out := make([]*confab.Message, 0, len(page.Messages))
	for i := len(page.Messages) - 1; i >= 0; i-- {
		out = append(out, page.Messages[i])
	}
	return out
}

func postDue(t *testing.T, svc *chat.Service) int {
	t.Helper()
	n, err := svc.PostDue(t.Context())
	if err != nil {
		t.Fatalf("PostDue = %v", err)
	}
	return n
}

// A scheduled message is posted at its post_at, once, as its user, with
// its scheduled id as client_msg_id, and published like any post.
func TestScheduleMessage(t *testing.T) {
	f := newBootFixture(t)
	clk := newFakeClock()
	bus := make(eventBus, 64)
	svc := chat.New(chat.Config{Store: f.db, Bus: bus, Now: clk.now})
	t.Cleanup(func() { svc.Close() })
	c := f.MustChannel(&confab.Channel{ID: confab.NewID(confab.PrefixChannel), Kind: confab.KindPublic, Name: "plaza"}, f.owner.ID)

	sm, preview, err := svc.ScheduleMessage(f.ctx, f.owner, chat.ScheduleParams{
		PostParams: chat.PostParams{Channel: "#plaza", Text: "later", ClientMsgID: "ignored"}, PostAt: clk.in(time.Minute)})
	if err != nil {
		t.Fatalf("ScheduleMessage = %v", err)
	}
	if !confab.ValidID(sm.ID, confab.PrefixScheduled) || sm.ChannelID != c.ID || sm.PostAt != clk.now().Unix()+60 ||
		preview.Text != "later" || preview.ClientMsgID != sm.ID {
		t.Errorf("ScheduleMessage = %+v, %+v", sm, preview)
	}
	list, next, err := svc.ScheduledMessages(f.ctx, f.owner, chat.ScheduledListParams{})
	if err != nil || len(list) != 1 || list[0].ID != sm.ID || next != "" {
		t.Fatalf("ScheduledMessages = %v, %q, %v; want the one", list, next, err)
	}

	if n := postDue(t, svc); n != 0 {
		t.Errorf("PostDue before post_at claimed %d", n)
	}
	if h := history(t, svc, f.owner, c.ID); len(h) != 0 {
		t.Fatalf("history before post_at = %d messages", len(h))
	}
	clk.advance(time.Minute)
	if n := postDue(t, svc); n != 1 {
		t.Errorf("PostDue at post_at claimed %d, want 1", n)
	}
	postDue(t, svc)
	h := history(t, svc, f.owner, c.ID)
	if len(h) != 1 || h[0].Text != "later" || h[0].UserID != f.owner.ID || h[0].ClientMsgID != sm.ID {
		t.Fatalf("history = %v, want the scheduled message once, by owner, client_msg_id %s", h, sm.ID)
	}
	deadline := time.After(5 * time.Second)
	for got := false; !got; {
		select {
		case e := <-bus:
			got = e["type"] == "message" && e["text"] == "later"
		case <-deadline:
			t.Fatal("the scheduled message was not published")
		}
	}
	if list, _, _ := svc.ScheduledMessages(f.ctx, f.owner, chat.ScheduledListParams{}); len(list) != 0 {
		t.Errorf("after posting, %d still listed", len(list))
	}
	err = svc.DeleteScheduledMessage(f.ctx, f.owner, c.ID, sm.ID)
	wantCode(t, "delete after posting", err, "invalid_scheduled_message_id")
}

func wantCode(t *testing.T, what string, err error, msg string) {
	t.Helper()
	if confab.ErrorMessage(err) != msg {
		t.Errorf("%s: %v, want %s", what, err, msg)
	}
}

// Scheduling checks the time, then the message as chat.postMessage does.
func TestScheduleMessageErrors(t *testing.T) {
	f := newBootFixture(t)
	clk := newFakeClock()
	svc := chat.New(chat.Config{Store: f.db, Bus: quietBus{}, Now: clk.now})
	t.Cleanup(func() { svc.Close() })
	bob := f.MustUser("bob")
	c := f.MustChannel(&confab.Channel{ID: confab.NewID(confab.PrefixChannel), Kind: confab.KindPublic, Name: "plaza"}, f.owner.ID)
	arch := f.MustChannel(&confab.Channel{ID: confab.NewID(confab.PrefixChannel), Kind: confab.KindPublic, Name: "old"}, f.owner.ID)
	if err := svc.ArchiveChannel(f.ctx, f.owner, arch.ID); err != nil {
		t.Fatal(err)
	}
	in := clk.in(time.Hour)
	for _, tc := range []struct {
		name string
		u    *confab.User
		p    chat.ScheduleParams
		want string
	}{
		{"past", f.owner, chat.ScheduleParams{PostParams: chat.PostParams{Channel: c.ID, Text: "x"}, PostAt: clk.in(-time.Second)}, "time_in_past"},
		{"too far", f.owner, chat.ScheduleParams{PostParams: chat.PostParams{Channel: c.ID, Text: "x"}, PostAt: clk.in(121 * 24 * time.Hour)}, "time_too_far"},
		{"not a time", f.owner, chat.ScheduleParams{PostParams: chat.PostParams{Channel: c.ID, Text: "x"}, PostAt: "soon"}, "invalid_time"},
		{"no text", f.owner, chat.ScheduleParams{PostParams: chat.PostParams{Channel: c.ID, Text: " "}, PostAt: in}, "no_text"},
		{"bad blocks", f.owner, chat.ScheduleParams{PostParams: chat.PostParams{Channel: c.ID, App: confab.AppFields{Blocks: "{"}}, PostAt: in}, "invalid_blocks_format"},
		{"not in channel", bob, chat.ScheduleParams{PostParams: chat.PostParams{Channel: c.ID, Text: "x"}, PostAt: in}, "not_in_channel"},
		{"archived", f.owner, chat.ScheduleParams{PostParams: chat.PostParams{Channel: arch.ID, Text: "x"}, PostAt: in}, "is_archived"},
		{"no channel", f.owner, chat.ScheduleParams{PostParams: chat.PostParams{Channel: "CNOSUCH", Text: "x"}, PostAt: in}, "channel_not_found"},
		{"no thread", f.owner, chat.ScheduleParams{PostParams: chat.PostParams{Channel: c.ID, Text: "x", ThreadTS: "1.000001"}, PostAt: in}, "thread_not_found"},
	} {
		_, _, err := svc.ScheduleMessage(f.ctx, tc.u, tc.p)
		wantCode(t, tc.name, err, tc.want)
	}
	// Slack's bound: 30 per channel in a 5-minute window.
	at := clk.now().Unix() + 3600
	at -= at % confab.ScheduleWindow
	for i := range confab.MaxScheduledPerWindow + 1 {
		_, _, err := svc.ScheduleMessage(f.ctx, f.owner, chat.ScheduleParams{
			PostParams: chat.PostParams{Channel: c.ID, Text: "x"}, PostAt: strconv.FormatInt(at+int64(i), 10)})
		if i < confab.MaxScheduledPerWindow && err != nil {
			t.Fatalf("message %d: %v", i, err)
		} else if i == confab.MaxScheduledPerWindow {
			wantCode(t, "one too many", err, "restricted_too_many")
		}
	}
	_, _, err := svc.ScheduledMessages(f.ctx, f.owner, chat.ScheduledListParams{Cursor: "junk"})
	wantCode(t, "list with a bad cursor", err, "invalid_cursor")
	err = svc.DeleteScheduledMessage(f.ctx, f.owner, c.ID, "junk")
	wantCode(t, "delete junk", err, "invalid_scheduled_message_id")
}

// A user who may no longer post where they scheduled a message at its
// post_at has it dropped: not posted, and removed.
func TestScheduledMessageDropped(t *testing.T) {
	f := newBootFixture(t)
	clk := newFakeClock()
	svc := chat.New(chat.Config{Store: f.db, Bus: quietBus{}, Now: clk.now})
	t.Cleanup(func() { svc.Close() })
	bob := f.MustUser("bob")
	c := f.MustChannel(&confab.Channel{ID: confab.NewID(confab.PrefixChannel), Kind: confab.KindPublic, Name: "plaza"}, f.owner.ID, bob.ID)
	for _, u := range []*confab.User{f.owner, bob} {
		if _, _, err := svc.ScheduleMessage(f.ctx, u, chat.ScheduleParams{
			PostParams: chat.PostParams{Channel: c.ID, Text: "from " + u.Name}, PostAt: clk.in(time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.LeaveChannel(f.ctx, bob, c.ID); err != nil {
		t.Fatal(err)
	}
	clk.advance(time.Minute)
	if n := postDue(t, svc); n != 2 {
		t.Fatalf("PostDue claimed %d, want 2", n)
	}
	h := history(t, svc, f.owner, c.ID)
	if len(h) != 2 || h[0].Subtype != confab.SubtypeChannelLeave || h[1].Text != "from owner" {
		t.Errorf("history = %v, want bob's leave then only owner's message", h)
	}
	if list, _, _ := svc.ScheduledMessages(f.ctx, bob, chat.ScheduledListParams{}); len(list) != 0 {
		t.Errorf("bob's dropped message still listed: %v", list)
	}
}

// finishFails is a store whose FinishScheduledMessage fails while fail is
// set: a scheduler that died between posting and removing.
type finishFails struct {
	confab.Store
	fail atomic.Bool
}

func (s *finishFails) FinishScheduledMessage(ctx context.Context, id string) error {
	if s.fail.Load() {
		return context.DeadlineExceeded
	}
	return s.Store.FinishScheduledMessage(ctx, id)
}

// Posted exactly once: a message posted but not removed is claimed again
// when its claim ends and not posted again; schedulers racing over the
// same messages post each once; a user cannot delete what is being posted.
func TestScheduledPostedOnce(t *testing.T) {
	f := newBootFixture(t)
	clk := newFakeClock()
	st := &finishFails{Store: f.db}
	st.fail.Store(true)
	a := chat.New(chat.Config{Store: st, Bus: quietBus{}, Now: clk.now})
	b := chat.New(chat.Config{Store: st, Bus: quietBus{}, Now: clk.now})
	t.Cleanup(func() { a.Close(); b.Close() })
	c := f.MustChannel(&confab.Channel{ID: confab.NewID(confab.PrefixChannel), Kind: confab.KindPublic, Name: "plaza"}, f.owner.ID)
	sm, _, err := a.ScheduleMessage(f.ctx, f.owner, chat.ScheduleParams{
		PostParams: chat.PostParams{Channel: c.ID, Text: "once"}, PostAt: clk.in(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	clk.advance(time.Second)
	postDue(t, a) // posted, not removed
	err = a.DeleteScheduledMessage(f.ctx, f.owner, c.ID, sm.ID)
	wantCode(t, "delete while claimed", err, "invalid_scheduled_message_id")
	if n := postDue(t, b); n != 0 {
		t.Errorf("another scheduler claimed %d while the claim holds", n)
	}
	st.fail.Store(false)
	clk.advance(time.Minute) // the claim ends
	if n := postDue(t, b); n != 1 {
		t.Errorf("after the claim ended, claimed %d, want 1", n)
	}
	if h := history(t, a, f.owner, c.ID); len(h) != 1 {
		t.Errorf("history = %v, want the message once", h)
	}
	if list, _, _ := a.ScheduledMessages(f.ctx, f.owner, chat.ScheduledListParams{}); len(list) != 0 {
		t.Errorf("still listed after posting: %v", list)
	}

	// Two schedulers at once over many due messages.
	const n = 40
	for i := range n {
		if _, _, err := a.ScheduleMessage(f.ctx, f.owner, chat.ScheduleParams{
			PostParams: chat.PostParams{Channel: c.ID, Text: strconv.Itoa(i)}, PostAt: clk.in(time.Duration(i%5) * 5 * time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	clk.advance(30 * time.Minute)
	var wg sync.WaitGroup
	for _, svc := range []*chat.Service{a, b, a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if k, err := svc.PostDue(context.Background()); err != nil || k == 0 {
					return
				}
			}
		}()
	}
	wg.Wait()
	seen := map[string]int{}
	for _, m := range history(t, a, f.owner, c.ID)[1:] {
		seen[m.Text]++
	}
	for i := range n {
		if seen[strconv.Itoa(i)] != 1 {
			t.Errorf("message %d posted %d times, want once", i, seen[strconv.Itoa(i)])
		}
	}
}

// StartScheduler posts on its own, and Close stops it.
func TestSchedulerLoop(t *testing.T) {
	f := newBootFixture(t)
	svc := chat.New(chat.Config{Store: f.db, Bus: quietBus{}})
	c := f.MustChannel(&confab.Channel{ID: confab.NewID(confab.PrefixChannel), Kind: confab.KindPublic, Name: "plaza"}, f.owner.ID)
	if _, _, err := svc.ScheduleMessage(f.ctx, f.owner, chat.ScheduleParams{
		PostParams: chat.PostParams{Channel: c.ID, Text: "tick"}, PostAt: strconv.FormatInt(time.Now().Unix(), 10)}); err != nil {
		t.Fatal(err)
	}
	svc.StartScheduler(20 * time.Millisecond)
	deadline := time.Now().Add(5 * time.Second)
	for len(history(t, svc, f.owner, c.ID)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the scheduler did not post the due message")
		}
		time.Sleep(10 * time.Millisecond)
	}
	done := make(chan struct{})
	go func() { svc.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not stop the scheduler")
	}
}

// quietBus takes every publication and drops it.
type quietBus struct{}

func (quietBus) Publish(context.Context, string, []byte) error { return nil }
