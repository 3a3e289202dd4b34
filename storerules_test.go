package confab_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/confab/confab"
)

func TestGroupReactions(t *testing.T) {
	for _, c := range []struct {
		in   []confab.UserReaction
		want []confab.Reaction
	}{
		{nil, nil},
		{
			[]confab.UserReaction{{"wave", "U2", 9}, {"+1", "U1", 7}, {"wave", "U1", 3}, {"+1", "U3", 12}},
			[]confab.Reaction{{Name: "wave", Users: []string{"U1", "U2"}}, {Name: "+1", Users: []string{"U1", "U3"}}},
		},
		{
			// U1 removed and re-added wave: its current reaction is the newer one.
			[]confab.UserReaction{{"wave", "U1", 20}, {"wave", "U2", 5}, {"tada", "U1", 10}},
			[]confab.Reaction{{Name: "wave", Users: []string{"U2", "U1"}}, {Name: "tada", Users: []string{"U1"}}},
		},
	} {
		in := slices.Clone(c.in)
		if got := confab.GroupReactions(in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("GroupReactions(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestUniqueIDs(t *testing.T) {
	for _, c := range []struct{ in, want []string }{
		{nil, []string{}},
		{[]string{"U2", "U1", "U2", "U3", "U1"}, []string{"U2", "U1", "U3"}},
	} {
		if got := confab.UniqueIDs(c.in); got == nil || !slices.Equal(got, c.want) {
			t.Errorf("UniqueIDs(%q) = %#v, want %q", c.in, got, c.want)
		}
	}
}

func TestPrepare(t *testing.T) {
	ws, owner := confab.PrepareWorkspace(confab.Workspace{Domain: "acme"}, confab.User{Name: "owner"})
	if !confab.ValidID(ws.ID, confab.PrefixWorkspace) || !confab.ValidID(owner.ID, confab.PrefixUser) ||
		owner.WorkspaceID != ws.ID || ws.OwnerID != owner.ID {
		t.Errorf("PrepareWorkspace = %+v, %+v; want new ids, linked", ws, owner)
	}
	if kept := confab.PrepareUser(confab.User{ID: "U1"}); kept.ID != "U1" {
		t.Errorf("PrepareUser changed the id U1 to %s", kept.ID)
	}

	for kind, prefix := range map[string]byte{
		confab.KindDM: confab.PrefixDM, confab.KindGroupDM: confab.PrefixGroupDM,
		confab.KindPublic: confab.PrefixChannel, confab.KindPrivate: confab.PrefixChannel,
	} {
		c, ms := confab.PrepareChannel(confab.Channel{Kind: kind, LastSeq: 4, MessageCount: 2, NumMembers: 9},
			[]string{"U1", "U2", "U1"})
		if !confab.ValidID(c.ID, prefix) || c.NumMembers != 2 || c.LastSeq != 0 || c.MessageCount != 0 ||
			!slices.Equal(ms, []string{"U1", "U2"}) {
			t.Errorf("PrepareChannel(%s) = %+v, %q", kind, c, ms)
		}
	}

	now := time.UnixMicro(1_700_000_000_000_000)
	m := confab.PrepareMessage(confab.Message{Text: "hi", EditedTS: 5, Deleted: true, ReplyCount: 2, LatestReply: 7,
		Reactions: []confab.Reaction{{Name: "wave"}}}, now)
	want := confab.Message{Text: "hi", TS: now.UnixMicro()}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("PrepareMessage = %+v, want %+v", m, want)
	}
	if m := confab.PrepareMessage(confab.Message{TS: 42}, now); m.TS != 42 {
		t.Errorf("PrepareMessage changed TS 42 to %d", m.TS)
	}
}

// TestWireReactionsBounded checks the Slack message object of a message
// with as many reactions as the caps allow, each by more users than a
// reaction lists: counts are exact, users are the first
// MaxWireReactionUsers in order, and the reactions weigh at most the 48 KiB
// that docs/api.md promises.
func TestWireReactionsBounded(t *testing.T) {
	const users = 100_000
	ids := make([]string, users)
	for i := range ids {
		ids[i] = confab.NewID(confab.PrefixUser)
	}
	m := confab.Message{ChannelID: "C1", UserID: ids[0], TS: 1}
	for i := range confab.MaxReactionEmoji {
		name := fmt.Sprintf("%02d%s", i, strings.Repeat("x", 98)) // the longest valid name
		m.Reactions = append(m.Reactions, confab.Reaction{Name: name, Users: ids})
	}
	w := m.Wire()
	for _, r := range w.Reactions {
		if r.Count != users || !slices.Equal(r.Users, ids[:confab.MaxWireReactionUsers]) {
			t.Fatalf("reaction %s: count %d, %d users; want %d, the first %d", r.Name, r.Count, len(r.Users), users, confab.MaxWireReactionUsers)
		}
	}
	b, err := json.Marshal(w.Reactions)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 48<<10 {
		t.Errorf("a maximally reacted message's reactions weigh %d bytes, over 48 KiB", len(b))
	}
	t.Logf("a maximally reacted message's reactions weigh %d bytes", len(b))
}

// NumberImport: the messages not there take the next seqs in order, each
// reaction's user one more; a reply counts on its thread, its parent in
// the batch takes the count once; an older message not there is refused.
func TestNumberImport(t *testing.T) {
	in := []confab.Message{
		{TS: 10, Text: "there already"},
		{TS: 20, Reactions: []confab.Reaction{{Name: "wave", Users: []string{"U1", "U2"}}}},
		{TS: 30, ThreadTS: 20},
		{TS: 40, ThreadTS: 5}, // a thread of an earlier import
		{TS: 50},
	}
	c := confab.ImportCounters{LastSeq: 7, LastTS: 15, Count: 3}
	n, err := confab.NumberImport(in, map[int64]bool{10: true}, &c)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(n.Fresh, []int{1, 2, 3, 4}) {
		t.Errorf("Fresh = %v", n.Fresh)
	}
	type num struct{ seq, num int64 }
	var got []num
	for _, i := range n.Fresh {
		got = append(got, num{in[i].Seq, in[i].Num})
	}
	if want := []num{{8, 4}, {11, 4}, {12, 4}, {13, 5}}; !slices.Equal(got, want) {
		t.Errorf("seqs and nums %v, want %v (two seqs for the reaction's users)", got, want)
	}
	if c != (confab.ImportCounters{LastSeq: 13, LastTS: 50, Count: 5}) || n.Top != &in[4] {
		t.Errorf("counters %+v, top %v", c, n.Top)
	}
	if r := n.ParentReplies(&in[1]); r != (confab.ThreadReplies{N: 1, Latest: 30}) {
		t.Errorf("the parent's replies %+v", r)
	}
	if r := n.ParentReplies(&in[1]); r.N != 0 {
		t.Errorf("the parent's replies taken twice: %+v", r)
	}
	if r := n.Replies[5]; r == nil || *r != (confab.ThreadReplies{N: 1, Latest: 40}) {
		t.Errorf("an earlier import's thread: %+v", r)
	}

	c = confab.ImportCounters{LastSeq: 1, LastTS: 25}
	if _, err := confab.NumberImport(in[:2], nil, &c); err != confab.ErrImportTooOld {
		t.Errorf("an older message: %v, want ErrImportTooOld", err)
	}
}
