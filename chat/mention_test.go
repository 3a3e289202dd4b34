package chat_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/confab/confab"
	"github.com/confab/confab/chat"
)

// Boot counts each conversation's mentions of the caller after their read
// marker (mention_count), 0 where there are none; in a DM every unread
// message counts, as it is addressed to the reader.
func TestBootMentionCount(t *testing.T) {
	f := newBootFixture(t)
	svc := chat.New(chat.Config{Store: f.db, Bus: dropBus{}})
	bob := f.MustUser("bob")
	one := f.MustChannel(&confab.Channel{ID: confab.NewID(confab.PrefixChannel), Kind: confab.KindPublic, Name: "one"}, f.owner.ID, bob.ID)
	two := f.MustChannel(&confab.Channel{ID: confab.NewID(confab.PrefixChannel), Kind: confab.KindPublic, Name: "two"}, f.owner.ID, bob.ID)
	dm := f.MustDM(f.owner, bob)
	for _, text := range []string{"<@" + f.owner.ID + "> look", "and <@" + f.owner.ID + "|owner> again"} {
		if _, err := svc.PostMessage(f.ctx, bob, chat.PostParams{Channel: one.ID, Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.PostMessage(f.ctx, bob, chat.PostParams{Channel: two.ID, Text: "<!here> standup"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.PostMessage(f.ctx, bob, chat.PostParams{Channel: dm.ID, Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	counts := func() map[string]int64 {
		t.Helper()
		b, err := svc.Boot(f.ctx, f.owner)
		if err != nil {
			t.Fatalf("Boot = %v", err)
		}
		out := map[string]int64{}
		for _, v := range b.Channels {
			w := v.Wire()
			raw, _ := json.Marshal(w)
			if w.Mentions == nil || !strings.Contains(string(raw), `"mention_count":`) {
				t.Errorf("boot's %s = %s, want a mention_count", v.Channel.ID, raw)
				continue
			}
			out[v.Channel.ID] = *w.Mentions
		}
		return out
	}
	got := counts()
	if got[one.ID] != 2 || got[two.ID] != 1 || got[dm.ID] != 1 {
		t.Errorf("mention counts = %v, want %s:2 %s:1 %s:1", got, one.ID, two.ID, dm.ID)
	}
	latest, err := f.db.FindLatestMessages(f.ctx, []string{one.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.MarkRead(f.ctx, f.owner, one.ID, confab.FormatTS(latest[one.ID].TS)); err != nil {
		t.Fatal(err)
	}
	if got := counts(); got[one.ID] != 0 || got[two.ID] != 1 {
		t.Errorf("after marking %s read: mention counts = %v, want %s:0 %s:1", one.ID, got, one.ID, two.ID)
	}
}
