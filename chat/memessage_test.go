package chat_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/confab/confab"
	"github.com/confab/confab/chat"
)

// eventBus hands over every published frame, decoded.
type eventBus chan map[string]any

func (b eventBus) Publish(_ context.Context, _ string, payload []byte) error {
	p, err := confab.UnmarshalPublication(payload)
	if err != nil {
		return err
	}
	var m map[string]any
	if err := json.Unmarshal(p.Frame, &m); err != nil {
		return err
	}
	b <- m
	return nil
}

// A /me message keeps its subtype in the answer, history, the event and
// catch-up, and is refused where a post is.
func TestMeMessage(t *testing.T) {
	f := newBootFixture(t)
	bus := make(eventBus, 16)
	svc := chat.New(chat.Config{Store: f.db, Bus: bus})
	bob := f.MustUser("bob")
	c := f.MustChannel(&confab.Channel{ID: confab.NewID(confab.PrefixChannel), Kind: confab.KindPublic, Name: "plaza"}, f.owner.ID)
	arch := f.MustChannel(&confab.Channel{ID: confab.NewID(confab.PrefixChannel), Kind: confab.KindPublic, Name: "old"}, f.owner.ID)
	if err := svc.ArchiveChannel(f.ctx, f.owner, arch.ID); err != nil {
		t.Fatal(err)
	}

	m, err := svc.MeMessage(f.ctx, f.owner, "#plaza", "waves")
	if err != nil {
		t.Fatalf("MeMessage = %v", err)
	}
	if m.Subtype != confab.SubtypeMeMessage || m.ChannelID != c.ID || m.Text != "waves" || m.UserID != f.owner.ID {
		t.Errorf("MeMessage = %+v, want a me_message of owner's in %s", m, c.ID)
	}
	deadline := time.After(5 * time.Second)
	for got := false; !got; {
		select {
		case e := <-bus:
			if e["type"] == "message" && e["text"] == "waves" {
				got = true
				if e["subtype"] != confab.SubtypeMeMessage {
					t.Errorf("event %v, want subtype me_message", e)
				}
			}
		case <-deadline:
			t.Fatal("no message event published")
		}
	}
	page, err := svc.History(f.ctx, f.owner, chat.HistoryParams{Channel: c.ID})
	if err != nil || len(page.Messages) != 1 || page.Messages[0].Wire().Subtype != confab.SubtypeMeMessage {
		t.Errorf("History = %+v, %v; want the me_message", page, err)
	}
	cu, err := svc.CatchUp(f.ctx, f.owner, map[string]int64{c.ID: 0}, 0)
	if err != nil || len(cu) != 1 || len(cu[0].Events) != 1 {
		t.Fatalf("CatchUp = %+v, %v", cu, err)
	}
	var e map[string]any
	if err := json.Unmarshal(cu[0].Events[0], &e); err != nil || e["subtype"] != confab.SubtypeMeMessage {
		t.Errorf("catch-up event %s, want subtype me_message", cu[0].Events[0])
	}

	for _, tc := range []struct {
		user          *confab.User
		channel, text string
		want          string
	}{
		{f.owner, c.ID, "", "no_text"},
		{f.owner, c.ID, "  \n", "no_text"},
		{bob, c.ID, "hi", "not_in_channel"},
		{f.owner, arch.ID, "hi", "is_archived"},
		{f.owner, "CNOSUCH", "hi", "channel_not_found"},
	} {
		if _, err := svc.MeMessage(f.ctx, tc.user, tc.channel, tc.text); confab.ErrorMessage(err) != tc.want {
			t.Errorf("MeMessage(%s, %s, %q) = %v, want %s", tc.user.Name, tc.channel, tc.text, err, tc.want)
		}
	}
}
