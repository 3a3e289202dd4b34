package storetest

import (
	"testing"

	"github.com/confab/confab"
)

// The app fields of a message (blocks, attachments, metadata, username,
// icons, broadcast): stored as given, read back byte for byte by every
// read, replaced by an edit, gone from a tombstone.

const (
	appBlocks      = `[{"type":"section","text":{"type":"mrkdwn","text":"*hi* <b>\u00e9"}}]`
	appAttachments = `[{"color":"#36a64f","text":"att","fields":[{"title":"a","value":"1.50"}]}]`
	appMetadata    = `{"event_type":"task_created","event_payload":{"id":"T1","n":1e3}}`
)

func testAppMessages(t *testing.T, f *fixture) {
	ctx := f.ctx
	c := f.MustChannel("apps", confab.KindPublic, f.owner)
	m := f.MustCreate(&confab.Message{ChannelID: c.ID, UserID: f.owner.ID, TS: 1_700_000_000_000_000,
		Blocks: appBlocks, Attachments: appAttachments, Metadata: appMetadata,
		Username: "deploy-bot", IconEmoji: ":rocket:", IconURL: "https://example.com/i.png"})
	plain := f.MustPost(c, f.owner, "plain")
	if m.Blocks != appBlocks || m.Attachments != appAttachments || m.Metadata != appMetadata ||
		m.Username != "deploy-bot" || m.IconEmoji != ":rocket:" || m.IconURL != "https://example.com/i.png" {
		t.Errorf("CreateMessage changed the app fields: %s", msgString(m))
	}

	// Every read returns them as stored.
	if got := f.MustMessage(c.ID, m.TS); msgString(got) != msgString(m) {
		t.Errorf("FindMessage = %s\nwant %s", msgString(got), msgString(m))
	}
	page := f.MustMessages(confab.MessageFilter{ChannelID: c.ID, TopLevel: true})
	if len(page) != 2 || msgString(page[0]) != msgString(m) || msgString(page[1]) != msgString(plain) {
		t.Errorf("FindMessages = %v\nwant [%s %s]", page, msgString(m), msgString(plain))
	}
	changes, err := f.s.FindChanges(ctx, c.ID, 0, 0)
	if err != nil || len(changes) != 2 || msgString(changes[0].Message) != msgString(m) {
		t.Errorf("FindChanges = %v, %v; want %s first", changes, err, msgString(m))
	}
	latest, err := f.s.FindLatestMessages(ctx, []string{c.ID})
	if err != nil || msgString(latest[c.ID]) != msgString(plain) {
		t.Errorf("FindLatestMessages = %v, %v", latest, err)
	}

	// An edit replaces what it sets and keeps the rest; "" removes.
	blocks2, none := `[{"type":"divider"}]`, ""
	got, err := f.s.UpdateMessage(ctx, c.ID, m.TS, confab.MessageUpdate{Blocks: &blocks2, Attachments: &none}, m.TS+5)
	if err != nil {
		t.Fatalf("UpdateMessage(blocks) = %v", err)
	}
	want := *m
	want.Blocks, want.Attachments, want.EditedTS, want.ChangeSeq = blocks2, "", m.TS+5, plain.Seq+1
	if msgString(got) != msgString(&want) {
		t.Errorf("UpdateMessage(blocks) = %s\nwant %s", msgString(got), msgString(&want))
	}
	if read := f.MustMessage(c.ID, m.TS); msgString(read) != msgString(&want) {
		t.Errorf("FindMessage after edit = %s\nwant %s", msgString(read), msgString(&want))
	}
	text, meta2 := "now text", `{"event_type":"x","event_payload":{}}`
	got, err = f.s.UpdateMessage(ctx, c.ID, m.TS, confab.MessageUpdate{Text: &text, Metadata: &meta2}, m.TS+6)
	if err != nil || got.Text != text || got.Metadata != meta2 || got.Blocks != blocks2 || got.Username != "deploy-bot" {
		t.Errorf("UpdateMessage(text, metadata) = %s, %v", msgString(got), err)
	}

	// A tombstone has none of the content; who posted it and how stays.
	del, err := f.s.DeleteMessage(ctx, c.ID, m.TS)
	if err != nil {
		t.Fatalf("DeleteMessage = %v", err)
	}
	for _, d := range []*confab.Message{del, f.MustMessage(c.ID, m.TS)} {
		if !d.Deleted || d.Text != "" || d.Blocks != "" || d.Attachments != "" || d.Metadata != "" {
			t.Errorf("tombstone = %s, want no text, blocks, attachments or metadata", msgString(d))
		}
	}
	changes, err = f.s.FindChanges(ctx, c.ID, plain.Seq, 0)
	if err != nil || len(changes) != 1 || changes[0].Message.Blocks != "" || changes[0].Message.Metadata != "" {
		t.Errorf("FindChanges after delete = %v, %v; want one tombstone without app fields", changes, err)
	}
}

func testBroadcastReplies(t *testing.T, f *fixture) {
	ctx := f.ctx
	c := f.MustChannel("threads", confab.KindPublic, f.owner)
	parent := f.MustPost(c, f.owner, "parent")
	quiet := f.MustReply(parent, f.owner, "quiet")
	loud := f.MustCreate(&confab.Message{ChannelID: c.ID, UserID: f.owner.ID, Text: "loud",
		ThreadTS: parent.TS, Broadcast: true})
	after := f.MustPost(c, f.owner, "after")
	if !loud.Broadcast || loud.Num != parent.Num {
		t.Errorf("broadcast reply = %s; want Broadcast and the count of a reply", msgString(loud))
	}
	for _, tc := range []struct {
		name string
		f    confab.MessageFilter
		want []int64
	}{
		{"top level", confab.MessageFilter{TopLevel: true}, []int64{parent.Seq, loud.Seq, after.Seq}},
		{"top level desc limit", confab.MessageFilter{TopLevel: true, Desc: true, Limit: 2}, []int64{after.Seq, loud.Seq}},
		{"thread", confab.MessageFilter{ThreadTS: parent.TS}, []int64{parent.Seq, quiet.Seq, loud.Seq}},
	} {
		tc.f.ChannelID = c.ID
		if got := seqs(f.MustMessages(tc.f)); !equalSeqs(got, tc.want) {
			t.Errorf("%s: FindMessages = %v, want %v", tc.name, got, tc.want)
		}
	}
	if got := f.MustMessage(c.ID, loud.TS); !got.Broadcast {
		t.Errorf("FindMessage(broadcast) = %s, want Broadcast", msgString(got))
	}
	if _, err := f.s.DeleteMessage(ctx, c.ID, loud.TS); err != nil {
		t.Fatal(err)
	}
	if got := seqs(f.MustMessages(confab.MessageFilter{ChannelID: c.ID, TopLevel: true})); !equalSeqs(got, []int64{parent.Seq, after.Seq}) {
		t.Errorf("top level after deleting the broadcast = %v", got)
	}
}

func testFindChannelByName(t *testing.T, f *fixture) {
	ctx := f.ctx
	gen := f.MustChannel("plaza", confab.KindPublic, f.owner)
	f.MustChannel("random", confab.KindPrivate, f.owner)
	ws2, owner2 := f.MustWorkspace("other")
	f.MustChannelIn(ws2.ID, "plaza", confab.KindPublic, owner2)
	got, err := f.s.FindChannels(ctx, confab.ChannelFilter{WorkspaceID: f.ws.ID, Name: "plaza"})
	if err != nil || len(got) != 1 || got[0].ID != gen.ID {
		t.Errorf("FindChannels(Name general) = %v, %v; want only %s", got, err, gen.ID)
	}
	got, err = f.s.FindChannels(ctx, confab.ChannelFilter{WorkspaceID: f.ws.ID, Name: "nope"})
	if err != nil || len(got) != 0 {
		t.Errorf("FindChannels(Name nope) = %v, %v; want none", got, err)
	}
}

func equalSeqs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
