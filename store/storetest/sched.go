package storetest

import (
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/confab/confab"
)

// base is a post_at at the start of a ScheduleWindow.
const base = 1_800_000_000 - 1_800_000_000%confab.ScheduleWindow

// MustSchedule schedules text in channelID by u at postAt.
func (f *fixture) MustSchedule(channelID string, u *confab.User, postAt int64, text string) *confab.ScheduledMessage {
	f.tb.Helper()
	m := &confab.ScheduledMessage{ChannelID: channelID, UserID: u.ID, PostAt: postAt, Created: f.now(), Text: text}
	if err := f.s.CreateScheduledMessage(f.ctx, m); err != nil {
		f.tb.Fatalf("CreateScheduledMessage(%q at %d) = %v", text, postAt, err)
	}
	return m
}

func scheduledIDs(ms []*confab.ScheduledMessage) []string {
	out := []string{}
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

func testScheduled(t *testing.T, f *fixture) {
	ctx := f.ctx
	bob := f.MustUser("bob")
	c1 := f.MustChannel("one", confab.KindPublic, f.owner, bob)
	c2 := f.MustChannel("two", confab.KindPublic, f.owner)

	full := &confab.ScheduledMessage{ChannelID: c1.ID, UserID: f.owner.ID, PostAt: base + 100, Created: f.now(),
		Text: "later", ThreadTS: 1_700_000_000_000_001, Broadcast: true,
		Blocks: `[{"type":"divider"}]`, Attachments: `[{"text":"a"}]`, Metadata: `{"event_type":"e","event_payload":{}}`,
		Username: "robot", IconEmoji: ":robot_face:", IconURL: "https://example.com/i.png", ClaimedUntil: 99}
	if err := f.s.CreateScheduledMessage(ctx, full); err != nil {
		t.Fatalf("CreateScheduledMessage = %v", err)
	}
	if !confab.ValidID(full.ID, confab.PrefixScheduled) || full.ClaimedUntil != 0 {
		t.Errorf("created: id %q, claimed_until %d; want a Q… id, never claimed", full.ID, full.ClaimedUntil)
	}
	early := f.MustSchedule(c2.ID, f.owner, base+10, "early")
	late := f.MustSchedule(c1.ID, f.owner, base+5000, "late")
	f.MustSchedule(c1.ID, bob, base+50, "bob's")

	got, err := f.s.FindScheduledMessages(ctx, confab.ScheduledFilter{UserID: f.owner.ID})
	if err != nil {
		t.Fatalf("FindScheduledMessages = %v", err)
	}
	if want := []string{early.ID, full.ID, late.ID}; !reflect.DeepEqual(scheduledIDs(got), want) {
		t.Errorf("owner's list = %v, want %v (by post_at, bob's left out)", scheduledIDs(got), want)
	}
	if len(got) == 3 && !reflect.DeepEqual(got[1], full) {
		t.Errorf("read back %+v, want %+v", got[1], full)
	}
	for _, tc := range []struct {
		name string
		f    confab.ScheduledFilter
		want []string
	}{
		{"channel", confab.ScheduledFilter{ChannelID: c1.ID}, []string{full.ID, late.ID}},
		{"oldest", confab.ScheduledFilter{Oldest: base + 100}, []string{full.ID, late.ID}},
		{"latest", confab.ScheduledFilter{Latest: base + 100}, []string{early.ID, full.ID}},
		{"limit", confab.ScheduledFilter{Limit: 2}, []string{early.ID, full.ID}},
		{"after", confab.ScheduledFilter{AfterPostAt: full.PostAt, AfterID: full.ID}, []string{late.ID}},
	} {
		tc.f.UserID = f.owner.ID
		got, err := f.s.FindScheduledMessages(ctx, tc.f)
		if err != nil {
			t.Fatalf("%s: FindScheduledMessages = %v", tc.name, err)
		}
		if !reflect.DeepEqual(scheduledIDs(got), tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, scheduledIDs(got), tc.want)
		}
	}

	err = f.s.CreateScheduledMessage(ctx, &confab.ScheduledMessage{ChannelID: c1.ID, UserID: "UNOBODY", PostAt: base, Text: "x"})
	wantErr(t, "CreateScheduledMessage(unknown user)", err, confab.ENOTFOUND, "user_not_found")

	// Delete: only the user's own, in its channel, once.
	for _, tc := range []struct{ name, id, user, channel string }{
		{"unknown id", "QNOSUCH", f.owner.ID, c2.ID},
		{"another user", early.ID, bob.ID, c2.ID},
		{"another channel", early.ID, f.owner.ID, c1.ID},
	} {
		err := f.s.DeleteScheduledMessage(ctx, tc.id, tc.user, tc.channel)
		wantErr(t, "DeleteScheduledMessage("+tc.name+")", err, confab.ENOTFOUND, "invalid_scheduled_message_id")
	}
	if err := f.s.DeleteScheduledMessage(ctx, early.ID, f.owner.ID, c2.ID); err != nil {
		t.Fatalf("DeleteScheduledMessage = %v", err)
	}
	err = f.s.DeleteScheduledMessage(ctx, early.ID, f.owner.ID, c2.ID)
	wantErr(t, "DeleteScheduledMessage(again)", err, confab.ENOTFOUND, "invalid_scheduled_message_id")

	// Claims: what is due and not held, oldest first, up to the limit.
	claimed, err := f.s.ClaimScheduledMessages(ctx, base+200, base+230, 1)
	if err != nil {
		t.Fatalf("ClaimScheduledMessages = %v", err)
	}
	if len(claimed) != 1 || claimed[0].Text != "bob's" || claimed[0].ClaimedUntil != base+230 {
		t.Fatalf("claim(limit 1) = %+v, want bob's, claimed until %d", claimed, base+230)
	}
	claimed, err = f.s.ClaimScheduledMessages(ctx, base+200, base+230, 10)
	if err != nil {
		t.Fatalf("ClaimScheduledMessages = %v", err)
	}
	if want := []string{full.ID}; !reflect.DeepEqual(scheduledIDs(claimed), want) {
		t.Fatalf("second claim = %v, want %v (not the held one, not the one not due)", scheduledIDs(claimed), want)
	}
	if again, err := f.s.ClaimScheduledMessages(ctx, base+229, base+300, 10); err != nil || len(again) != 0 {
		t.Errorf("claim while held = %v, %v; want nothing", scheduledIDs(again), err)
	}
	// A claimed message is posted or being posted: its user can no longer
	// delete it, but it is still listed until finished.
	err = f.s.DeleteScheduledMessage(ctx, full.ID, f.owner.ID, c1.ID)
	wantErr(t, "DeleteScheduledMessage(claimed)", err, confab.ENOTFOUND, "invalid_scheduled_message_id")
	// The claim expires: another scheduler takes it over.
	claimed, err = f.s.ClaimScheduledMessages(ctx, base+230, base+260, 10)
	if err != nil {
		t.Fatalf("ClaimScheduledMessages = %v", err)
	}
	if len(claimed) != 2 {
		t.Errorf("claim after expiry = %v, want both expired claims", scheduledIDs(claimed))
	}
	for _, id := range []string{full.ID, full.ID, "QNOSUCH"} {
		if err := f.s.FinishScheduledMessage(ctx, id); err != nil {
			t.Errorf("FinishScheduledMessage(%s) = %v", id, err)
		}
	}
	got, err = f.s.FindScheduledMessages(ctx, confab.ScheduledFilter{UserID: f.owner.ID})
	if err != nil {
		t.Fatalf("FindScheduledMessages = %v", err)
	}
	if want := []string{late.ID}; !reflect.DeepEqual(scheduledIDs(got), want) {
		t.Errorf("after finish: %v, want %v", scheduledIDs(got), want)
	}
}

// testScheduledBounds: concurrent schedulers never pass
// MaxScheduledPerWindow in a channel's window, nor MaxScheduledPerUser.
func testScheduledBounds(t *testing.T, f *fixture) {
	ctx := f.ctx
	c := f.MustChannel("busy", confab.KindPublic, f.owner)
	other := f.MustChannel("quiet", confab.KindPublic, f.owner)
	bob := f.MustUser("bob")
	create := func(n int, m func(i int) *confab.ScheduledMessage) (ok int, errs []error) {
		var mu sync.Mutex
		var wg sync.WaitGroup
		sem := make(chan struct{}, 16)
		for i := range n {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				err := f.s.CreateScheduledMessage(ctx, m(i))
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					ok++
				} else if confab.ErrorMessage(err) != "restricted_too_many" {
					errs = append(errs, err)
				}
			}()
		}
		wg.Wait()
		return ok, errs
	}
	n := confab.MaxScheduledPerWindow + 10
	ok, errs := create(n, func(i int) *confab.ScheduledMessage {
		return &confab.ScheduledMessage{ChannelID: c.ID, UserID: bob.ID, PostAt: base + int64(i%confab.ScheduleWindow), Text: "x"}
	})
	if ok != confab.MaxScheduledPerWindow || len(errs) > 0 {
		t.Errorf("%d concurrent in one window: %d scheduled, errors %v; want %d", n, ok, errs, confab.MaxScheduledPerWindow)
	}
	// The next window, and another channel, have room.
	f.MustSchedule(c.ID, bob, base+confab.ScheduleWindow, "next window")
	f.MustSchedule(other.ID, bob, base, "other channel")

	// The owner fills his own quota, spread so no window is full.
	n = confab.MaxScheduledPerUser + 5
	ok, errs = create(n, func(i int) *confab.ScheduledMessage {
		return &confab.ScheduledMessage{ChannelID: other.ID, UserID: f.owner.ID,
			PostAt: base + 10*confab.ScheduleWindow + int64(i)*confab.ScheduleWindow, Text: fmt.Sprint(i)}
	})
	if ok != confab.MaxScheduledPerUser || len(errs) > 0 {
		t.Errorf("%d concurrent by one user: %d scheduled, errors %v; want %d", n, ok, errs, confab.MaxScheduledPerUser)
	}
	got, err := f.s.FindScheduledMessages(ctx, confab.ScheduledFilter{UserID: f.owner.ID})
	if err != nil || len(got) != confab.MaxScheduledPerUser {
		t.Errorf("owner lists %d, %v; want %d", len(got), err, confab.MaxScheduledPerUser)
	}
}

// testConcurrentClaims: schedulers claiming at once each get different
// messages, and every due message is claimed exactly once.
func testConcurrentClaims(t *testing.T, f *fixture) {
	ctx := f.ctx
	c := f.MustChannel("plaza", confab.KindPublic, f.owner)
	const n = 25
	for i := range n {
		f.MustSchedule(c.ID, f.owner, base+int64(i), fmt.Sprint(i))
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				ms, err := f.s.ClaimScheduledMessages(ctx, base+n, base+n+60, 3)
				if err != nil {
					t.Errorf("ClaimScheduledMessages = %v", err)
					return
				}
				if len(ms) == 0 {
					return
				}
				mu.Lock()
				for _, m := range ms {
					seen[m.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != n {
		t.Errorf("%d messages claimed, want %d", len(seen), n)
	}
	for id, k := range seen {
		if k != 1 {
			t.Errorf("%s claimed %d times, want once", id, k)
		}
	}
}
