package chat_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/confab/confab"
	"github.com/confab/confab/chat"
)

// reactedMessage posts a message in a new channel of n users and gives it
// about reactions reactions: each user adds confab.MaxUserReactions-3 of
// confab.MaxReactionEmoji names. It returns the channel, the message and
// a member with no reaction on it.
func reactedMessage(f *bootFixture, users, each int) (*confab.Channel, *confab.Message, *confab.User) {
	f.t.Helper()
	var members []*confab.User
	var ids []string
	for i := range users + 1 {
		u := f.MustUser(fmt.Sprintf("u%d", i))
		members = append(members, u)
		ids = append(ids, u.ID)
	}
	c := f.MustChannel(&confab.Channel{ID: confab.NewID(confab.PrefixChannel), Kind: confab.KindPublic, Name: "busy"}, ids...)
	m := f.MustPost(c, members[0], "react to me", 0)
	for i, u := range members[:users] {
		for j := range each {
			name := fmt.Sprintf("e%02d", (i+j)%confab.MaxReactionEmoji)
			if _, err := f.db.AddReaction(f.ctx, c.ID, m.TS, u.ID, name); err != nil {
				f.t.Fatalf("AddReaction(%s, %s) = %v", u.Name, name, err)
			}
		}
	}
	return c, m, members[users]
}

// TestReactReadsNoReactions checks that adding or removing a reaction does
// not read the message's reactions (FindMessage reads them all): its cost
// must not grow with how many the message has.
func TestReactReadsNoReactions(t *testing.T) {
	f := newBootFixture(t)
	c, m, u := reactedMessage(f, 10, 20)
	svc := chat.New(chat.Config{Store: f.db, Bus: dropBus{}})
	ts := confab.FormatTS(m.TS)
	before := f.queries()
	if err := svc.AddReaction(f.ctx, u, c.ID, ts, "e00"); err != nil {
		t.Fatalf("AddReaction = %v", err)
	}
	if err := svc.RemoveReaction(f.ctx, u, c.ID, ts, "e00"); err != nil {
		t.Fatalf("RemoveReaction = %v", err)
	}
	if n := f.queries()["FindMessage"] - before["FindMessage"]; n != 0 {
		t.Errorf("adding and removing a reaction ran FindMessage %v times, want 0", n)
	}
	// What the message read gave before: a missing or deleted message.
	for _, bad := range []string{"1.000001", "not-a-ts"} {
		if err := svc.AddReaction(f.ctx, u, c.ID, bad, "e00"); confab.ErrorMessage(err) != "message_not_found" {
			t.Errorf("AddReaction(ts %s) = %v, want message_not_found", bad, err)
		}
	}
}

// BenchmarkAddReaction adds and removes one reaction through the use case
// (authorize, store, publish) on a message that has 1,000 or 5,000: the
// cost per op must not depend on how many.
func BenchmarkAddReaction(b *testing.B) {
	for _, n := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("reactions=%d", n), func(b *testing.B) {
			f := newBootFixture(b)
			each := confab.MaxUserReactions - 3
			c, m, u := reactedMessage(f, n/each, each)
			svc := chat.New(chat.Config{Store: f.db, Bus: dropBus{}})
			ts := confab.FormatTS(m.TS)
			b.ReportAllocs()
			for b.Loop() {
				if err := svc.AddReaction(f.ctx, u, c.ID, ts, "e00"); err != nil {
					b.Fatalf("AddReaction = %v", err)
				}
				if err := svc.RemoveReaction(f.ctx, u, c.ID, ts, "e00"); err != nil {
					b.Fatalf("RemoveReaction = %v", err)
				}
			}
		})
	}
}

// dropBus is a Publisher that drops every publication.
type dropBus struct{}

func (dropBus) Publish(context.Context, string, []byte) error { return nil }
