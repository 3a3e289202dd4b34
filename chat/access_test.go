package chat

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/confab/confab"
	"github.com/confab/confab/store/sqlite"
)

// accessFixture is a service on a fresh SQLite store, set up through the
// use cases (so that its access cache is warm, as in a running server):
//
//   - workspace acme: alice (owner), bob, carol; workspace globex: dave;
//   - pub, a public channel of alice and bob; priv, a private one of
//     alice and bob; arch, a public one of alice and bob, archived; dm,
//     the DM of bob and alice;
//   - in each, bob's message (a thread parent) with bob's reaction
//     "thumbsup", pinned by alice, and alice's message, not pinned, both
//     posted before arch was archived.
type accessFixture struct {
	s                       *Service
	alice, bob, carol, dave *confab.User
	pub, priv, arch, dm     string
	msg                     map[string]string // channel → ts of bob's message
	unpinned                map[string]string // channel → ts of alice's message
}

func newAccessFixture(t *testing.T, exact bool) *accessFixture {
	t.Helper()
	ctx := t.Context()
	db := openStore(t)
	s := newMatrixService(db, exact)
	f := &accessFixture{s: s, msg: map[string]string{}, unpinned: map[string]string{}}
	user := func(team, name string) *confab.User {
		sess, err := s.Signup(ctx, SignupParams{Team: team, Name: name, Password: "password1"})
		if err != nil {
			t.Fatal(err)
		}
		return sess.User
	}
	f.alice, f.bob, f.carol, f.dave = user("acme", "alice"), user("acme", "bob"), user("acme", "carol"), user("globex", "dave")
	channel := func(name string, private bool) string {
		v, err := s.CreateChannel(ctx, f.alice, name, private)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.InviteToChannel(ctx, f.alice, v.Channel.ID, []string{f.bob.ID}); err != nil {
			t.Fatal(err)
		}
		return v.Channel.ID
	}
	f.pub, f.priv, f.arch = channel("pub", false), channel("priv", true), channel("arch", false)
	dm, _, err := s.OpenConversation(ctx, f.bob, []string{f.alice.ID})
	if err != nil {
		t.Fatal(err)
	}
	f.dm = dm.Channel.ID
	for _, ch := range []string{f.pub, f.priv, f.arch, f.dm} {
		m, err := s.PostMessage(ctx, f.bob, PostParams{Channel: ch, Text: "bob's"})
		if err != nil {
			t.Fatal(err)
		}
		f.msg[ch] = confab.FormatTS(m.TS)
		if err := s.AddReaction(ctx, f.bob, ch, f.msg[ch], "thumbsup"); err != nil {
			t.Fatal(err)
		}
		if err := s.AddPin(ctx, f.alice, ch, f.msg[ch]); err != nil {
			t.Fatal(err)
		}
		m, err = s.PostMessage(ctx, f.alice, PostParams{Channel: ch, Text: "alice's"})
		if err != nil {
			t.Fatal(err)
		}
		f.unpinned[ch] = confab.FormatTS(m.TS)
		// Read as everyone, so that refusals are cached where they may be.
		for _, u := range []*confab.User{f.alice, f.bob, f.carol, f.dave} {
			s.History(ctx, u, HistoryParams{Channel: ch})
		}
	}
	if err := s.ArchiveChannel(ctx, f.alice, f.arch); err != nil {
		t.Fatal(err)
	}
	return f
}

// A role is a caller and the channel it acts on.
type accessRole struct {
	name    string
	caller  func(f *accessFixture) *confab.User
	channel func(f *accessFixture) string
}

var accessRoles = []accessRole{
	{"member", func(f *accessFixture) *confab.User { return f.bob }, func(f *accessFixture) string { return f.pub }},
	{"non-member/public", func(f *accessFixture) *confab.User { return f.carol }, func(f *accessFixture) string { return f.pub }},
	{"non-member/private", func(f *accessFixture) *confab.User { return f.carol }, func(f *accessFixture) string { return f.priv }},
	{"other-workspace", func(f *accessFixture) *confab.User { return f.dave }, func(f *accessFixture) string { return f.pub }},
	{"member/archived", func(f *accessFixture) *confab.User { return f.bob }, func(f *accessFixture) string { return f.arch }},
	{"member/dm", func(f *accessFixture) *confab.User { return f.bob }, func(f *accessFixture) string { return f.dm }},
}

// An accessCall is a method that takes a channel, called by u on ch.
type accessCall struct {
	method string
	call   func(ctx context.Context, f *accessFixture, u *confab.User, ch string) error
}

// errLeftOut is client.catchup's answer, in the matrix, when it leaves
// the channel out.
var errLeftOut = &confab.Error{Code: confab.ENOTFOUND, Message: "left_out"}

var accessCalls = []accessCall{
	{"chat.postMessage", func(ctx context.Context, f *accessFixture, u *confab.User, ch string) error {
		_, err := f.s.PostMessage(ctx, u, PostParams{Channel: ch, Text: "hi"})
		return err
	}},
	{"chat.update", func(ctx context.Context, f *accessFixture, u *confab.User, ch string) error {
		_, err := f.s.UpdateMessage(ctx, u, UpdateParams{Channel: ch, TS: f.msg[ch], Text: new("edited")})
		return err
	}},
	{"chat.delete", func(ctx context.Context, f *accessFixture, u *confab.User, ch string) error {
		_, err := f.s.DeleteMessage(ctx, u, ch, f.msg[ch])
		return err
	}},
	{"reactions.add", func(ctx context.Context, f *accessFixture, u *confab.User, ch string) error {
		return f.s.AddReaction(ctx, u, ch, f.msg[ch], "tada")
	}},
	{"reactions.remove", func(ctx context.Context, f *accessFixture, u *confab.User, ch string) error {
		return f.s.RemoveReaction(ctx, u, ch, f.msg[ch], "thumbsup")
	}},
	{"conversations.history", func(ctx context.Context, f *accessFixture, u *confab.User, ch string) error {
		_, err := f.s.History(ctx, u, HistoryParams{Channel: ch})
		return err
	}},
	{"conversations.replies", func(ctx context.Context, f *accessFixture, u *confab.User, ch string) error {
		_, err := f.s.Replies(ctx, u, RepliesParams{Channel: ch, TS: f.msg[ch]})
		return err
	}},
	{"conversations.info", func(ctx context.Context, f *accessFixture, u *confab.User, ch string) error {
		_, err := f.s.ChannelInfo(ctx, u, ch)
		return err
	}},
	{"conversations.members", func(ctx context.Context, f *accessFixture, u *confab.User, ch string) error {
		_, _, err := f.s.ChannelMembers(ctx, u, ch, "", 0)
		return err
	}},
	{"conversations.join", func(ctx context.Context, f *accessFixture, u *confab.User, ch string) error {
		_, _, err := f.s.JoinChannel(ctx, u, ch)
		return err
	}},
	{"conversations.leave", func(ctx context.Context, f *accessFixture, u *confab.User, ch string) error {
		_, err := f.s.LeaveChannel(ctx, u, ch)
		return err
	}},
	{"conversations.invite", func(ctx context.Context, f *accessFixture, u *confab.User, ch string) error {
		_, err := f.s.InviteToChannel(ctx, u, ch, []string{f.carol.ID})
		return err
	}},
	{"conversations.setTopic", func(ctx context.Context, f *accessFixture, u *confab.User, ch string) error {
		_, err := f.s.SetTopic(ctx, u, ch, "t")
		return err
	}},
	{"conversations.setPurpose", func(ctx context.Context, f *accessFixture, u *confab.User, ch string) error {
		_, err := f.s.SetPurpose(ctx, u, ch, "p")
		return err
	}},
	{"conversations.archive", func(ctx context.Context, f *accessFixture, u *confab.User, ch string) error {
		return f.s.ArchiveChannel(ctx, u, ch)
	}},
	{"conversations.mark", func(ctx context.Context, f *accessFixture, u *confab.User, ch string) error {
		return f.s.MarkRead(ctx, u, ch, f.msg[ch])
	}},
	{"conversations.setPrefs", func(ctx context.Context, f *accessFixture, u *confab.User, ch string) error {
		muted := true
		return f.s.SetPrefs(ctx, u, ch, PrefsUpdate{IsMuted: &muted})
	}},
	{"client.catchup", func(ctx context.Context, f *accessFixture, u *confab.User, ch string) error {
		out, err := f.s.CatchUp(ctx, u, map[string]int64{ch: 0}, 0)
		if err != nil {
			return err
		}
		for _, c := range out {
			if c.Channel == ch {
				return nil
			}
		}
		return errLeftOut
	}},
	{"rtm typing", func(ctx context.Context, f *accessFixture, u *confab.User, ch string) error {
		return f.s.Typing(ctx, u, ch)
	}},
	{"conversations.rename", func(ctx context.Context, f *accessFixture, u *confab.User, ch string) error {
		_, err := f.s.RenameChannel(ctx, u, ch, "renamed")
		return err
	}},
	{"conversations.unarchive", func(ctx context.Context, f *accessFixture, u *confab.User, ch string) error {
		return f.s.UnarchiveChannel(ctx, u, ch)
	}},
	{"conversations.kick", func(ctx context.Context, f *accessFixture, u *confab.User, ch string) error {
		return f.s.KickFromChannel(ctx, u, ch, f.alice.ID)
	}},
	{"conversations.close", func(ctx context.Context, f *accessFixture, u *confab.User, ch string) error {
		return f.s.CloseConversation(ctx, u, ch)
	}},
	{"reactions.get", func(ctx context.Context, f *accessFixture, u *confab.User, ch string) error {
		_, err := f.s.Message(ctx, u, ch, f.msg[ch])
		return err
	}},
	{"pins.add", func(ctx context.Context, f *accessFixture, u *confab.User, ch string) error {
		return f.s.AddPin(ctx, u, ch, f.unpinned[ch])
	}},
	{"pins.remove", func(ctx context.Context, f *accessFixture, u *confab.User, ch string) error {
		return f.s.RemovePin(ctx, u, ch, f.msg[ch])
	}},
	{"pins.list", func(ctx context.Context, f *accessFixture, u *confab.User, ch string) error {
		_, err := f.s.ListPins(ctx, u, ch)
		return err
	}},
	{"chat.postEphemeral", func(ctx context.Context, f *accessFixture, u *confab.User, ch string) error {
		_, err := f.s.PostEphemeral(ctx, u, EphemeralParams{Channel: ch, User: f.alice.ID, Text: "psst"})
		return err
	}},
}

// What each role gets from each method (columns in accessRoles' order).
// An RTM message frame is chat.postMessage (gateway calls PostMessage).
const (
	cnf = "channel_not_found"
	nic = "not_in_channel"
	arc = "is_archived"
	nst = "method_not_supported_for_channel_type"
)

var accessWant = map[string][6]string{
	//                           member  non-member/public  non-member/private  other-workspace  member/archived  member/dm
	"chat.postMessage":         {"ok", nic, cnf, cnf, arc, "ok"},
	"chat.update":              {"ok", nic, cnf, cnf, arc, "ok"},
	"chat.delete":              {"ok", nic, cnf, cnf, arc, "ok"},
	"reactions.add":            {"ok", nic, cnf, cnf, arc, "ok"},
	"reactions.remove":         {"ok", nic, cnf, cnf, arc, "ok"},
	"conversations.history":    {"ok", "ok", cnf, cnf, "ok", "ok"},
	"conversations.replies":    {"ok", "ok", cnf, cnf, "ok", "ok"},
	"conversations.info":       {"ok", "ok", cnf, cnf, "ok", "ok"},
	"conversations.members":    {"ok", "ok", cnf, cnf, "ok", "ok"},
	"conversations.join":       {"ok", "ok", cnf, cnf, arc, "ok"},
	"conversations.leave":      {"ok", "ok", cnf, cnf, "ok", nst},
	"conversations.invite":     {"ok", nic, cnf, cnf, arc, nst},
	"conversations.setTopic":   {"ok", nic, cnf, cnf, arc, "ok"},
	"conversations.setPurpose": {"ok", nic, cnf, cnf, arc, "ok"},
	"conversations.archive":    {"ok", nic, cnf, cnf, "already_archived", nst},
	"conversations.mark":       {"ok", nic, cnf, cnf, "ok", "ok"},
	"conversations.setPrefs":   {"ok", nic, cnf, cnf, "ok", "ok"},
	"client.catchup":           {"ok", "left_out", "left_out", "left_out", "ok", "ok"},
	"rtm typing":               {"ok", nic, cnf, cnf, arc, "ok"},
	// Renaming and kicking are the creator's (alice) or the owner's
	// (alice): bob, a member, may not.
	"conversations.rename":    {"not_authorized", nic, cnf, cnf, arc, nst},
	"conversations.unarchive": {"not_archived", nic, cnf, cnf, "ok", nst},
	"conversations.kick":      {"restricted_action", nic, cnf, cnf, arc, nst},
	"conversations.close":     {nst, nst, cnf, cnf, nst, "ok"},
	"reactions.get":           {"ok", "ok", cnf, cnf, "ok", "ok"}, // and chat.getPermalink
	// A channel's pins are its members': listing them too.
	"pins.add":    {"ok", nic, cnf, cnf, arc, "ok"},
	"pins.remove": {"ok", nic, cnf, cnf, arc, "ok"},
	"pins.list":   {"ok", nic, cnf, cnf, "ok", "ok"},
	// To alice, who is in all four: the caller must be allowed to post.
	"chat.postEphemeral": {"ok", nic, cnf, cnf, arc, "ok"},
}

// Every method that takes a channel, by every kind of caller, on both
// access cache policies: one set of rules (access.go) answers them all.
func TestAccessMatrix(t *testing.T) {
	for _, policy := range []struct {
		name  string
		exact bool
	}{{"exact", true}, {"ttl", false}} {
		t.Run(policy.name, func(t *testing.T) {
			for _, c := range accessCalls {
				want, ok := accessWant[c.method]
				if !ok {
					t.Fatalf("no expectations for %s", c.method)
				}
				for i, r := range accessRoles {
					t.Run(c.method+"/"+r.name, func(t *testing.T) {
						f := newAccessFixture(t, policy.exact)
						err := c.call(t.Context(), f, r.caller(f), r.channel(f))
						got := "ok"
						if err != nil {
							got = confab.ErrorMessage(err)
						}
						if got != want[i] {
							t.Errorf("%s by %s: %s, want %s", c.method, r.name, got, want[i])
						}
					})
				}
			}
		})
	}
	if len(accessWant) != len(accessCalls) {
		t.Errorf("%d expectations for %d methods", len(accessWant), len(accessCalls))
	}
}

func newMatrixService(st confab.Store, exact bool) *Service {
	access := SharedAccess(5 * time.Second)
	if exact {
		access = ExactAccess()
	}
	return New(Config{Store: st, Bus: nopBus{}, PasswordCost: 4, Access: access})
}

// openStore opens a SQLite store in a temporary directory, closed when the
// test ends: the store the package's tests run on.
func openStore(tb testing.TB) *sqlite.DB {
	tb.Helper()
	db, err := sqlite.Open(tb.Context(), sqlite.Config{Path: filepath.Join(tb.TempDir(), "confab.db"), Sync: "normal"})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}
