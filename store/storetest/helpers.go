package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/confab/confab"
)

// fixture is a store with one workspace and its owner, and helpers that
// fail the test on error.
type fixture struct {
	tb    testing.TB
	s     confab.Store
	ctx   context.Context
	ws    *confab.Workspace
	owner *confab.User
	// general is f.ws's general channel, which CreateWorkspace made.
	general *confab.Channel
	clock   int64 // increasing unix seconds for Created fields
}

func newFixture(tb testing.TB, s confab.Store) *fixture {
	tb.Helper()
	f := &fixture{tb: tb, s: s, ctx: tb.Context(), clock: 1_700_000_000}
	f.ws, f.owner = f.MustWorkspace("acme")
	f.general = f.MustGeneral(f.ws.ID)
	return f
}

// MustGeneral returns the general channel of a workspace: the one channel
// of its public ones that IsGeneral.
func (f *fixture) MustGeneral(workspaceID string) *confab.Channel {
	f.tb.Helper()
	cs, err := f.s.FindChannels(f.ctx, confab.ChannelFilter{WorkspaceID: workspaceID, Kinds: []string{confab.KindPublic}})
	if err != nil {
		f.tb.Fatalf("FindChannels(%s) = %v", workspaceID, err)
	}
	var general *confab.Channel
	for _, c := range cs {
		if c.IsGeneral {
			if general != nil {
				f.tb.Fatalf("workspace %s has two general channels: %s and %s", workspaceID, general.ID, c.ID)
			}
			general = c
		}
	}
	if general == nil {
		f.tb.Fatalf("workspace %s has no general channel", workspaceID)
	}
	return general
}

func (f *fixture) now() int64 { f.clock++; return f.clock }

func (f *fixture) MustWorkspace(domain string) (*confab.Workspace, *confab.User) {
	f.tb.Helper()
	ws := &confab.Workspace{ID: confab.NewID(confab.PrefixWorkspace), Name: domain + " inc", Domain: domain, Created: f.now()}
	owner := &confab.User{ID: confab.NewID(confab.PrefixUser), Name: "owner", RealName: "The Owner", Created: f.now()}
	if err := f.s.CreateWorkspace(f.ctx, ws, owner); err != nil {
		f.tb.Fatalf("CreateWorkspace(%q) = %v", domain, err)
	}
	return ws, owner
}

func (f *fixture) MustUser(name string) *confab.User {
	f.tb.Helper()
	return f.MustUserIn(f.ws.ID, name)
}

func (f *fixture) MustUserIn(workspaceID, name string) *confab.User {
	f.tb.Helper()
	u := &confab.User{ID: confab.NewID(confab.PrefixUser), WorkspaceID: workspaceID, Name: name,
		RealName: "Real " + name, DisplayName: "disp-" + name, PasswordHash: "hash-" + name, Created: f.now()}
	if err := f.s.CreateUser(f.ctx, u); err != nil {
		f.tb.Fatalf("CreateUser(%q) = %v", name, err)
	}
	return u
}

// MustChannel creates a named channel (public or private) in f.ws.
func (f *fixture) MustChannel(name, kind string, members ...*confab.User) *confab.Channel {
	f.tb.Helper()
	return f.MustChannelIn(f.ws.ID, name, kind, members...)
}

func (f *fixture) MustChannelIn(workspaceID, name, kind string, members ...*confab.User) *confab.Channel {
	f.tb.Helper()
	c := &confab.Channel{ID: confab.NewID(confab.PrefixChannel), WorkspaceID: workspaceID, Kind: kind,
		Name: name, CreatedBy: f.owner.ID, Created: f.now()}
	if err := f.s.CreateChannel(f.ctx, c, userIDs(members)); err != nil {
		f.tb.Fatalf("CreateChannel(%q) = %v", name, err)
	}
	return c
}

// MustDM creates the DM (two users) or group DM (more) of users.
func (f *fixture) MustDM(users ...*confab.User) *confab.Channel {
	f.tb.Helper()
	ids := userIDs(users)
	c := &confab.Channel{WorkspaceID: f.ws.ID, Kind: confab.KindDM, Key: dmKey(ids),
		CreatedBy: ids[0], Created: f.now()}
	c.ID = confab.NewID(confab.PrefixDM)
	if len(ids) > 2 {
		c.Kind, c.ID = confab.KindGroupDM, confab.NewID(confab.PrefixGroupDM)
	}
	if err := f.s.CreateChannel(f.ctx, c, ids); err != nil {
		f.tb.Fatalf("CreateChannel(dm %s) = %v", c.Key, err)
	}
	return c
}

func dmKey(ids []string) string {
	s := slices.Clone(ids)
	slices.Sort(s)
	key := ""
	for i, id := range s {
		if i > 0 {
			key += ","
		}
		key += id
	}
	return key
}

func userIDs(us []*confab.User) []string {
	ids := make([]string, len(us))
	for i, u := range us {
		ids[i] = u.ID
	}
	return ids
}

// MustPost posts a top-level message with the current time as ts.
func (f *fixture) MustPost(ch *confab.Channel, u *confab.User, text string) *confab.Message {
	f.tb.Helper()
	return f.MustCreate(&confab.Message{ChannelID: ch.ID, UserID: u.ID, Text: text, TS: time.Now().UnixMicro()})
}

// MustReply posts a reply in the thread of parent.
func (f *fixture) MustReply(parent *confab.Message, u *confab.User, text string) *confab.Message {
	f.tb.Helper()
	return f.MustCreate(&confab.Message{ChannelID: parent.ChannelID, UserID: u.ID, Text: text,
		TS: time.Now().UnixMicro(), ThreadTS: parent.TS})
}

func (f *fixture) MustCreate(m *confab.Message) *confab.Message {
	f.tb.Helper()
	created, err := f.s.CreateMessage(f.ctx, m)
	if err != nil || !created {
		f.tb.Fatalf("CreateMessage(%q) = %v, %v; want true, nil", m.Text, created, err)
	}
	return m
}

func (f *fixture) MustChannelByID(id string) *confab.Channel {
	f.tb.Helper()
	c, err := f.s.FindChannelByID(f.ctx, id)
	if err != nil {
		f.tb.Fatalf("FindChannelByID(%s) = %v", id, err)
	}
	return c
}

func (f *fixture) MustMessage(channelID string, ts int64) *confab.Message {
	f.tb.Helper()
	m, err := f.s.FindMessage(f.ctx, channelID, ts)
	if err != nil {
		f.tb.Fatalf("FindMessage(%s, %d) = %v", channelID, ts, err)
	}
	return m
}

func (f *fixture) MustMessages(flt confab.MessageFilter) []*confab.Message {
	f.tb.Helper()
	ms, err := f.s.FindMessages(f.ctx, flt)
	if err != nil {
		f.tb.Fatalf("FindMessages(%+v) = %v", flt, err)
	}
	return ms
}

func (f *fixture) MustMembership(channelID, userID string) *confab.Membership {
	f.tb.Helper()
	m, err := f.s.FindMembership(f.ctx, channelID, userID)
	if err != nil {
		f.tb.Fatalf("FindMembership(%s, %s) = %v", channelID, userID, err)
	}
	return m
}

// wantErr fails unless err is a *confab.Error with the given code and
// Slack message.
func wantErr(tb testing.TB, what string, err error, code, msg string) {
	tb.Helper()
	var e *confab.Error
	if !errors.As(err, &e) || e.Code != code || e.Message != msg {
		tb.Errorf("%s: err = %v, want *confab.Error{%s, %s}", what, err, code, msg)
	}
}

func seqs(ms []*confab.Message) []int64 {
	out := make([]int64, len(ms))
	for i, m := range ms {
		out[i] = m.Seq
	}
	return out
}

func seqRange(from, to int64) []int64 {
	var out []int64
	if from <= to {
		for s := from; s <= to; s++ {
			out = append(out, s)
		}
	} else {
		for s := from; s >= to; s-- {
			out = append(out, s)
		}
	}
	return out
}

// msgString prints every field of m, for comparing messages in failures.
func msgString(m *confab.Message) string {
	if m == nil {
		return "<nil>"
	}
	return fmt.Sprintf("{ch=%s seq=%d ts=%d user=%s text=%q thread=%d cmid=%q edited=%d deleted=%v change=%d num=%d replies=%d latest=%d reactions=%v"+
		" blocks=%q attachments=%q metadata=%q username=%q icon_emoji=%q icon_url=%q broadcast=%v}",
		m.ChannelID, m.Seq, m.TS, m.UserID, m.Text, m.ThreadTS, m.ClientMsgID, m.EditedTS, m.Deleted,
		m.ChangeSeq, m.Num, m.ReplyCount, m.LatestReply, m.Reactions,
		m.Blocks, m.Attachments, m.Metadata, m.Username, m.IconEmoji, m.IconURL, m.Broadcast)
}

// wantResult waits for one result of a call that must not hang.
func wantResult[T any](tb testing.TB, what string, ch <-chan T) T {
	tb.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		tb.Fatalf("%s: no answer within 10s", what)
		panic("unreachable")
	}
}
