package chat_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/confab/confab"
	"github.com/confab/confab/chat"
	"github.com/confab/confab/store/sqlite"
)

// bootFixture is a SQLite store whose queries are counted, with one
// workspace and its owner.
type bootFixture struct {
	t     testing.TB
	ctx   context.Context
	db    *sqlite.DB
	reg   *prometheus.Registry
	ws    *confab.Workspace
	owner *confab.User
	clock int64
}

func newBootFixture(t testing.TB) *bootFixture {
	db, err := sqlite.Open(t.Context(), sqlite.Config{Path: filepath.Join(t.TempDir(), "boot.db"), Sync: "normal"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(db.Collectors()...)
	f := &bootFixture{t: t, ctx: t.Context(), db: db, reg: reg, clock: 1_700_000_000}
	f.ws = &confab.Workspace{ID: confab.NewID(confab.PrefixWorkspace), Name: "Acme", Domain: "acme", Created: f.now()}
	f.owner = &confab.User{ID: confab.NewID(confab.PrefixUser), Name: "owner", Created: f.now()}
	if err := db.CreateWorkspace(f.ctx, f.ws, f.owner); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *bootFixture) now() int64 { f.clock++; return f.clock }

func (f *bootFixture) MustUser(name string) *confab.User {
	f.t.Helper()
	u := &confab.User{ID: confab.NewID(confab.PrefixUser), WorkspaceID: f.ws.ID, Name: name, Created: f.now()}
	if err := f.db.CreateUser(f.ctx, u); err != nil {
		f.t.Fatal(err)
	}
	return u
}

func (f *bootFixture) MustChannel(c *confab.Channel, members ...string) *confab.Channel {
	f.t.Helper()
	c.WorkspaceID, c.Created = f.ws.ID, f.now()
	if err := f.db.CreateChannel(f.ctx, c, members); err != nil {
		f.t.Fatal(err)
	}
	return c
}

// MustDM opens the DM of a and b keyed as conversations.open keys it.
func (f *bootFixture) MustDM(a, b *confab.User) *confab.Channel {
	f.t.Helper()
	ids := []string{a.ID, b.ID}
	slices.Sort(ids)
	return f.MustChannel(&confab.Channel{ID: confab.NewID(confab.PrefixDM), Kind: confab.KindDM,
		Key: strings.Join(ids, ","), CreatedBy: a.ID}, a.ID, b.ID)
}

func (f *bootFixture) MustPost(c *confab.Channel, u *confab.User, text string, threadTS int64) *confab.Message {
	f.t.Helper()
	m := &confab.Message{ChannelID: c.ID, UserID: u.ID, Text: text, ThreadTS: threadTS}
	if _, err := f.db.CreateMessage(f.ctx, m); err != nil {
		f.t.Fatal(err)
	}
	return m
}

// queries returns the store queries run so far, by method.
func (f *bootFixture) queries() map[string]float64 {
	f.t.Helper()
	mfs, err := f.reg.Gather()
	if err != nil {
		f.t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "method" {
					out[l.GetValue()] += m.GetCounter().GetValue()
				}
			}
		}
	}
	return out
}

// bootQueries boots u and returns the store queries the boot ran, by
// method.
func (f *bootFixture) bootQueries(svc *chat.Service, u *confab.User) (*chat.Boot, map[string]float64) {
	f.t.Helper()
	before := f.queries()
	b, err := svc.Boot(f.ctx, u)
	if err != nil {
		f.t.Fatalf("Boot(%s) = %v", u.Name, err)
	}
	after := f.queries()
	for k, v := range before {
		if after[k] -= v; after[k] == 0 {
			delete(after, k)
		}
	}
	return b, after
}

// wantLatest is what a boot should show of one conversation.
type wantLatest struct {
	text  string // "" for no latest message
	other string // a DM's other member
}

// userIn gives a new user n conversations of every kind: channels with
// messages, one whose newest rows are thread replies, one whose newest
// message is deleted, an empty one, DMs with and without messages. It
// returns what the boot should show of each.
func (f *bootFixture) userIn(name string, n int) (*confab.User, map[string]wantLatest) {
	f.t.Helper()
	u := f.MustUser(name)
	want := map[string]wantLatest{}
	for i := range n {
		switch i % 6 {
		case 0, 1: // a channel with messages
			c := f.MustChannel(&confab.Channel{ID: confab.NewID(confab.PrefixChannel), Kind: confab.KindPublic,
				Name: fmt.Sprintf("%s-%d", name, i), CreatedBy: u.ID}, u.ID, f.owner.ID)
			f.MustPost(c, f.owner, "first", 0)
			f.MustPost(c, u, fmt.Sprintf("last %d", i), 0)
			want[c.ID] = wantLatest{text: fmt.Sprintf("last %d", i)}
		case 2: // replies after the latest top-level message
			c := f.MustChannel(&confab.Channel{ID: confab.NewID(confab.PrefixChannel), Kind: confab.KindPrivate,
				Name: fmt.Sprintf("%s-%d", name, i), CreatedBy: u.ID}, u.ID)
			p := f.MustPost(c, u, fmt.Sprintf("parent %d", i), 0)
			f.MustPost(c, u, "reply", p.TS)
			want[c.ID] = wantLatest{text: fmt.Sprintf("parent %d", i)}
		case 3: // the newest message deleted
			c := f.MustChannel(&confab.Channel{ID: confab.NewID(confab.PrefixChannel), Kind: confab.KindPublic,
				Name: fmt.Sprintf("%s-%d", name, i), CreatedBy: u.ID}, u.ID)
			f.MustPost(c, u, fmt.Sprintf("kept %d", i), 0)
			gone := f.MustPost(c, u, "gone", 0)
			if _, err := f.db.DeleteMessage(f.ctx, c.ID, gone.TS); err != nil {
				f.t.Fatal(err)
			}
			want[c.ID] = wantLatest{text: fmt.Sprintf("kept %d", i)}
		case 4: // a DM with a message
			other := f.MustUser(fmt.Sprintf("%s-peer-%d", name, i))
			dm := f.MustDM(u, other)
			f.MustPost(dm, other, fmt.Sprintf("psst %d", i), 0)
			want[dm.ID] = wantLatest{text: fmt.Sprintf("psst %d", i), other: other.ID}
		case 5: // an empty DM
			other := f.MustUser(fmt.Sprintf("%s-peer-%d", name, i))
			want[f.MustDM(other, u).ID] = wantLatest{other: other.ID}
		}
	}
	return u, want
}

func checkBoot(t *testing.T, b *chat.Boot, u *confab.User, want map[string]wantLatest) {
	t.Helper()
	if b.Self.ID != u.ID || b.Workspace == nil || b.Workspace.ID != u.WorkspaceID {
		t.Errorf("boot of %s: self %v, workspace %v", u.Name, b.Self, b.Workspace)
	}
	// Every user is in the workspace's general channel besides.
	general := 0
	for _, v := range b.Channels {
		if v.Channel.IsGeneral && v.Member != nil && v.Wire().IsGeneral {
			general++
		}
	}
	if general != 1 || len(b.Channels) != len(want)+1 {
		t.Errorf("boot of %s lists %d conversations, %d general; want %d and the general channel", u.Name, len(b.Channels), general, len(want))
	}
	for _, v := range b.Channels {
		if v.Channel.IsGeneral {
			continue
		}
		w, ok := want[v.Channel.ID]
		if !ok {
			t.Errorf("boot of %s lists %s, not one of its conversations", u.Name, v.Channel.ID)
			continue
		}
		got := ""
		if v.Latest != nil {
			got = v.Latest.Text
			if v.Latest.ChannelID != v.Channel.ID || v.Latest.ThreadTS != 0 || v.Latest.Deleted {
				t.Errorf("%s: latest %+v is not a live top-level message of the channel", v.Channel.ID, v.Latest)
			}
		}
		if got != w.text || v.Other != w.other || v.Member == nil || !v.Brief {
			t.Errorf("%s: latest %q other %q member %v brief %v; want latest %q other %q, a member, brief",
				v.Channel.ID, got, v.Other, v.Member, v.Brief, w.text, w.other)
		}
	}
}

// A boot costs the same few store queries for a user in 12 conversations
// as for one in 240: one read of each kind, none per conversation.
// (Boot's doc comment counts them.)
func TestBootQueriesDoNotGrowWithConversations(t *testing.T) {
	f := newBootFixture(t)
	few, fewWant := f.userIn("few", 12)
	many, manyWant := f.userIn("many", 240)

	// A service each, so that both boots start with cold caches.
	fewBoot, fewQ := f.bootQueries(chat.New(chat.Config{Store: f.db}), few)
	checkBoot(t, fewBoot, few, fewWant)
	manyBoot, manyQ := f.bootQueries(chat.New(chat.Config{Store: f.db}), many)
	checkBoot(t, manyBoot, many, manyWant)

	t.Logf("boot queries: 12 conversations %v, 240 conversations %v", fewQ, manyQ)
	if fmt.Sprint(fewQ) != fmt.Sprint(manyQ) {
		t.Errorf("boot queries differ: 12 conversations %v, 240 conversations %v", fewQ, manyQ)
	}
	var total float64
	for _, n := range manyQ {
		total += n
	}
	// Five reads, and on cold caches a sixth: which of the latest
	// messages' posters are bots (FindBots), remembered after.
	if total > 6 || manyQ["FindBots"] > 1 {
		t.Errorf("a boot ran %v store queries (%v), want at most 6 and FindBots at most once", total, manyQ)
	}
	if manyQ["FindLatestMessages"] != 1 {
		t.Errorf("boot queries %v, want FindLatestMessages once", manyQ)
	}
}

// A DM that is not keyed by its two members (made by hand, not by
// conversations.open) still shows its other member.
func TestBootDMWithoutKey(t *testing.T) {
	f := newBootFixture(t)
	svc := chat.New(chat.Config{Store: f.db})
	alice, bob := f.MustUser("alice"), f.MustUser("bob")
	dm := f.MustChannel(&confab.Channel{ID: confab.NewID(confab.PrefixDM), Kind: confab.KindDM, CreatedBy: alice.ID},
		alice.ID, bob.ID)
	b, err := svc.Boot(f.ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	checkBoot(t, b, alice, map[string]wantLatest{dm.ID: {other: bob.ID}})
}

// Boot's conversations are in client.boot's brief form: a topic or
// purpose that is empty is left out, one that is set is kept, and the
// latest message does not repeat its channel. Other views keep both.
func TestBootIsBrief(t *testing.T) {
	f := newBootFixture(t)
	svc := chat.New(chat.Config{Store: f.db})
	u := f.MustUser("alice")
	plain := f.MustChannel(&confab.Channel{ID: confab.NewID(confab.PrefixChannel), Kind: confab.KindPublic,
		Name: "plain", CreatedBy: u.ID}, u.ID)
	f.MustPost(plain, u, "hello", 0)
	topical := f.MustChannel(&confab.Channel{ID: confab.NewID(confab.PrefixChannel), Kind: confab.KindPublic,
		Name: "topical", CreatedBy: u.ID, Topic: confab.Text{Value: "launch", Creator: u.ID, LastSet: 5}}, u.ID)

	b, err := svc.Boot(f.ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	wire := map[string]map[string]any{}
	for _, v := range b.Channels {
		raw, err := json.Marshal(v.Wire())
		if err != nil {
			t.Fatal(err)
		}
		var obj map[string]any
		if err := json.Unmarshal(raw, &obj); err != nil {
			t.Fatal(err)
		}
		wire[v.Channel.ID] = obj
	}
	p, tp := wire[plain.ID], wire[topical.ID]
	if _, ok := p["topic"]; ok {
		t.Errorf("boot shows the empty topic of %s: %v", plain.Name, p)
	}
	if _, ok := p["purpose"]; ok {
		t.Errorf("boot shows the empty purpose of %s: %v", plain.Name, p)
	}
	if topic, _ := tp["topic"].(map[string]any); topic["value"] != "launch" || topic["creator"] != u.ID {
		t.Errorf("boot topic of %s = %v, want launch by %s", topical.Name, tp["topic"], u.ID)
	}
	latest, _ := p["latest"].(map[string]any)
	if latest["text"] != "hello" || latest["type"] != "message" || latest["ts"] == nil {
		t.Errorf("boot latest of %s = %v", plain.Name, p["latest"])
	}
	if _, ok := latest["channel"]; ok {
		t.Errorf("boot latest of %s repeats its channel: %v", plain.Name, latest)
	}
	full := (&confab.ChannelView{Channel: plain}).Wire()
	if full.Topic == nil || full.Purpose == nil {
		t.Errorf("a view that is not brief lost its empty topic or purpose: %+v", full)
	}
}

// The boot of a user in 200 channels with a latest message each (issue 5,
// shaped like "confab-bench boot") stays under 100 KB.
func TestBootOf200ChannelsIsUnder100KB(t *testing.T) {
	f := newBootFixture(t)
	svc := chat.New(chat.Config{Store: f.db})
	u := f.userIn200Channels("owner-of-200")
	b, err := svc.Boot(f.ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	channels := make([]confab.WireChannel, 0, len(b.Channels))
	for _, v := range b.Channels {
		channels = append(channels, v.Wire())
	}
	raw, err := json.Marshal(struct {
		OK       bool                 `json:"ok"`
		Self     confab.WireUser      `json:"self"`
		Team     confab.WireTeam      `json:"team"`
		Channels []confab.WireChannel `json:"channels"`
	}{true, b.Self.Wire(), b.Workspace.Wire(), channels})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("boot of 200 channels: %d bytes", len(raw))
	if len(channels) != 201 || len(raw) > 100_000 {
		t.Errorf("boot of 200 channels and #general: %d channels in %d bytes, want 201 in at most 100,000", len(channels), len(raw))
	}
}

// BenchmarkBoot boots a user in 200 channels with a message each.
func BenchmarkBoot(b *testing.B) {
	f := newBootFixture(b)
	svc := chat.New(chat.Config{Store: f.db})
	u := f.userIn200Channels("bench")
	b.ResetTimer()
	for b.Loop() {
		if boot, err := svc.Boot(f.ctx, u); err != nil || len(boot.Channels) != 200 {
			b.Fatalf("Boot = %d channels, %v", len(boot.Channels), err)
		}
	}
}

// userIn200Channels makes a user in 200 public channels with one message
// each: the shape of "confab-bench boot".
func (f *bootFixture) userIn200Channels(name string) *confab.User {
	f.t.Helper()
	u := f.MustUser(name)
	for i := range 200 {
		c := f.MustChannel(&confab.Channel{ID: confab.NewID(confab.PrefixChannel), Kind: confab.KindPublic,
			Name: fmt.Sprintf("boot-%d", i), CreatedBy: u.ID}, u.ID)
		f.MustPost(c, u, fmt.Sprintf("boot %d", i), 0)
	}
	return u
}
