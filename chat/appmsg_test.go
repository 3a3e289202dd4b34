package chat_test

import (
	"testing"

	"github.com/confab/confab"
	"github.com/confab/confab/chat"
)

// Messages as apps send them: blocks, attachments and metadata kept as
// sent, a message of blocks alone, reply_broadcast, and posting to a user
// or a channel's name.

const (
	testBlocks = `[{"type":"section","text":{"type":"mrkdwn","text":"*deploy* <ok>"}}]`
	testAtt    = `[{"color":"good","text":"v1.2"}]`
	testMeta   = `{"event_type":"deploy","event_payload":{"v":"1.2"}}`
)

func TestPostAppMessage(t *testing.T) {
	f := newBootFixture(t)
	svc := chat.New(chat.Config{Store: f.db, Bus: dropBus{}})
	c := f.MustChannel(&confab.Channel{ID: confab.NewID(confab.PrefixChannel), Kind: confab.KindPublic, Name: "ops"}, f.owner.ID)

	// Whitespace between tokens goes; the rest is kept as sent.
	m, err := svc.PostMessage(f.ctx, f.owner, chat.PostParams{Channel: c.ID,
		App: confab.AppFields{Blocks: "[ " + testBlocks[1:len(testBlocks)-1] + " ]\n", Attachments: testAtt, Metadata: testMeta,
			Username: "deployer", IconEmoji: ":rocket:", IconURL: "https://example.com/r.png"}})
	if err != nil {
		t.Fatalf("PostMessage(blocks, no text) = %v, want it accepted as in Slack", err)
	}
	page, err := svc.History(f.ctx, f.owner, chat.HistoryParams{Channel: c.ID})
	if err != nil || len(page.Messages) != 1 {
		t.Fatalf("History = %v, %v", page, err)
	}
	for _, got := range []*confab.Message{m, page.Messages[0]} {
		if got.Blocks != testBlocks || got.Attachments != testAtt || got.Metadata != testMeta ||
			got.Username != "deployer" || got.IconEmoji != ":rocket:" || got.IconURL != "https://example.com/r.png" {
			t.Errorf("message = %+v, want the app fields as sent", got)
		}
	}
	w := page.Messages[0].Wire()
	if string(w.Blocks) != testBlocks || string(w.Metadata) != testMeta || w.Username != "deployer" ||
		w.Icons == nil || w.Icons.Emoji != ":rocket:" || w.Icons.Image48 != "https://example.com/r.png" {
		t.Errorf("Wire() = %+v", w)
	}

	// chat.update replaces what it sets and keeps the rest.
	ts := confab.FormatTS(m.TS)
	up, err := svc.UpdateMessage(f.ctx, f.owner, chat.UpdateParams{Channel: c.ID, TS: ts, Blocks: new(`[{"type":"divider"}]`), Attachments: new("[]")})
	if err != nil || up.Blocks != `[{"type":"divider"}]` || up.Attachments != "" || up.Metadata != testMeta || up.Text != "" {
		t.Errorf("UpdateMessage(blocks, no attachments) = %+v, %v", up, err)
	}
	// Nothing left to show is no_text.
	_, err = svc.UpdateMessage(f.ctx, f.owner, chat.UpdateParams{Channel: c.ID, TS: ts, Blocks: new("")})
	if confab.ErrorMessage(err) != "no_text" {
		t.Errorf("UpdateMessage(removing the only blocks) = %v, want no_text", err)
	}
	_, err = svc.UpdateMessage(f.ctx, f.owner, chat.UpdateParams{Channel: c.ID, TS: ts, Metadata: new(testMeta)})
	if confab.ErrorMessage(err) != "no_text" {
		t.Errorf("UpdateMessage(metadata only) = %v, want no_text", err)
	}
	up, err = svc.UpdateMessage(f.ctx, f.owner, chat.UpdateParams{Channel: c.ID, TS: ts, Text: new("words"), Blocks: new("")})
	if err != nil || up.Text != "words" || up.Blocks != "" {
		t.Errorf("UpdateMessage(text, no blocks) = %+v, %v", up, err)
	}

	for _, tc := range []struct {
		name string
		p    chat.PostParams
		want string
	}{
		{"nothing", chat.PostParams{Text: "  ", App: confab.AppFields{Metadata: testMeta}}, "no_text"},
		{"empty blocks", chat.PostParams{App: confab.AppFields{Blocks: "[]"}}, "no_text"},
		{"blocks not JSON", chat.PostParams{Text: "x", App: confab.AppFields{Blocks: "[{"}}, "invalid_blocks_format"},
		{"blocks untyped", chat.PostParams{Text: "x", App: confab.AppFields{Blocks: `[{"text":"a"}]`}}, "invalid_blocks"},
		{"attachments object", chat.PostParams{Text: "x", App: confab.AppFields{Attachments: `{"text":"a"}`}}, "invalid_attachments"},
		{"metadata array", chat.PostParams{Text: "x", App: confab.AppFields{Metadata: `[]`}}, "invalid_metadata_format"},
		{"metadata no type", chat.PostParams{Text: "x", App: confab.AppFields{Metadata: `{"event_payload":{}}`}}, "invalid_metadata_schema"},
		{"icon_url not http", chat.PostParams{Text: "x", App: confab.AppFields{IconURL: "javascript:x"}}, "invalid_arguments"},
	} {
		tc.p.Channel = c.ID
		if _, err := svc.PostMessage(f.ctx, f.owner, tc.p); confab.ErrorMessage(err) != tc.want {
			t.Errorf("%s: PostMessage = %v, want %s", tc.name, err, tc.want)
		}
	}
}

func TestPostReplyBroadcast(t *testing.T) {
	f := newBootFixture(t)
	svc := chat.New(chat.Config{Store: f.db, Bus: dropBus{}})
	c := f.MustChannel(&confab.Channel{ID: confab.NewID(confab.PrefixChannel), Kind: confab.KindPublic, Name: "ops"}, f.owner.ID)
	parent, err := svc.PostMessage(f.ctx, f.owner, chat.PostParams{Channel: c.ID, Text: "parent"})
	if err != nil {
		t.Fatal(err)
	}
	pts := confab.FormatTS(parent.TS)
	if _, err := svc.PostMessage(f.ctx, f.owner, chat.PostParams{Channel: c.ID, Text: "quiet", ThreadTS: pts}); err != nil {
		t.Fatal(err)
	}
	loud, err := svc.PostMessage(f.ctx, f.owner, chat.PostParams{Channel: c.ID, Text: "loud", ThreadTS: pts, ReplyBroadcast: true})
	if err != nil || !loud.Broadcast {
		t.Fatalf("PostMessage(reply_broadcast) = %+v, %v", loud, err)
	}
	// A top-level message has nothing to broadcast.
	top, err := svc.PostMessage(f.ctx, f.owner, chat.PostParams{Channel: c.ID, Text: "top", ReplyBroadcast: true})
	if err != nil || top.Broadcast {
		t.Errorf("PostMessage(top level, reply_broadcast) = %+v, %v; want no broadcast", top, err)
	}
	page, err := svc.History(f.ctx, f.owner, chat.HistoryParams{Channel: c.ID})
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, m := range page.Messages {
		texts = append(texts, m.Text)
	}
	if len(page.Messages) != 3 || page.Messages[1].Text != "loud" {
		t.Fatalf("History = %q, want [top loud parent]", texts)
	}
	if w := page.Messages[1].Wire(); w.Subtype != "thread_broadcast" || w.ThreadTS != pts {
		t.Errorf("broadcast in history = %+v, want subtype thread_broadcast in thread %s", w, pts)
	}
	replies, err := svc.Replies(f.ctx, f.owner, chat.RepliesParams{Channel: c.ID, TS: pts})
	if err != nil || len(replies.Messages) != 3 {
		t.Errorf("Replies = %v, %v; want the parent and both replies", replies, err)
	}
}

func TestPostToUserOrName(t *testing.T) {
	f := newBootFixture(t)
	svc := chat.New(chat.Config{Store: f.db, Bus: dropBus{}})
	bob := f.MustUser("bob")
	gen := f.MustChannel(&confab.Channel{ID: confab.NewID(confab.PrefixChannel), Kind: confab.KindPublic, Name: "plaza"}, f.owner.ID)
	secret := f.MustChannel(&confab.Channel{ID: confab.NewID(confab.PrefixChannel), Kind: confab.KindPrivate, Name: "secret"}, f.owner.ID)

	// To a user: the DM, opened by the first post and found by the next.
	m1, err := svc.PostMessage(f.ctx, f.owner, chat.PostParams{Channel: bob.ID, Text: "hi bob"})
	if err != nil {
		t.Fatalf("PostMessage(to %s) = %v", bob.ID, err)
	}
	m2, err := svc.PostMessage(f.ctx, f.owner, chat.PostParams{Channel: bob.ID, Text: "again"})
	if err != nil || m2.ChannelID != m1.ChannelID || m1.ChannelID[0] != confab.PrefixDM {
		t.Errorf("second PostMessage(to %s) = %+v, %v; want the DM %s", bob.ID, m2, err, m1.ChannelID)
	}
	v, _, err := svc.OpenConversation(f.ctx, bob, []string{f.owner.ID})
	if err != nil || v.Channel.ID != m1.ChannelID {
		t.Errorf("bob's conversations.open = %v, %v; want %s", v, err, m1.ChannelID)
	}
	// To a name, with or without '#'.
	for _, name := range []string{"#plaza", "plaza"} {
		m, err := svc.PostMessage(f.ctx, f.owner, chat.PostParams{Channel: name, Text: "to " + name})
		if err != nil || m.ChannelID != gen.ID {
			t.Errorf("PostMessage(to %q) = %+v, %v; want in %s", name, m, err, gen.ID)
		}
	}
	// What bob may not see, or what does not exist, is channel_not_found.
	for _, ch := range []string{"#secret", "secret", "#nope", "#", "#Bad Name", confab.NewID(confab.PrefixUser)} {
		if _, err := svc.PostMessage(f.ctx, bob, chat.PostParams{Channel: ch, Text: "x"}); confab.ErrorMessage(err) != "channel_not_found" {
			t.Errorf("bob's PostMessage(to %q) = %v, want channel_not_found", ch, err)
		}
	}
	if m, err := svc.PostMessage(f.ctx, f.owner, chat.PostParams{Channel: "#secret", Text: "x"}); err != nil || m.ChannelID != secret.ID {
		t.Errorf("owner's PostMessage(#secret) = %+v, %v", m, err)
	}
}
