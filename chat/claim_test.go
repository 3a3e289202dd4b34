package chat

import (
	"strings"
	"testing"
	"time"

	"github.com/confab/confab"
	"github.com/confab/confab/slackexport"
)

// importFixture is a workspace whose owner imported ann and bea (humans
// with emails), a bot and a deleted user.
type importFixture struct {
	s     *Service
	clk   *clock
	owner session
	ids   map[string]string // Slack id → confab id
}

func newImportFixture(t *testing.T, closedSignup bool) *importFixture {
	t.Helper()
	clk := newClock()
	s := newService(openSQLite(t), true, clk)
	s.closedSignup = closedSignup
	owner := signupOn(t, s, "owner")
	r, err := s.ImportUsers(t.Context(), owner.u, []slackexport.User{
		{ID: "U1", Name: "ann", Profile: slackexport.Profile{Email: "Ann@Example.com"}},
		{ID: "U2", Name: "bea", Profile: slackexport.Profile{Email: "bea@example.com"}},
		{ID: "U3", Name: "helper", IsBot: true},
		{ID: "U4", Name: "gone", Deleted: true, Profile: slackexport.Profile{Email: "gone@example.com"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &importFixture{s: s, clk: clk, owner: owner, ids: r.IDs}
}

// links issues links for every imported user, by name.
func (f *importFixture) links(t *testing.T, signup bool) map[string]*ClaimLink {
	t.Helper()
	ids := []string{f.ids["U1"], f.ids["U2"], f.ids["U3"], f.ids["U4"], f.owner.u.ID}
	ls, err := f.s.ImportClaims(t.Context(), f.owner.u, ids, signup)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*ClaimLink{}
	for _, l := range ls {
		out[l.User.Name] = l
	}
	return out
}

func (f *importFixture) claim(t *testing.T, token, password string) string {
	t.Helper()
	sess, err := f.s.Claim(t.Context(), ClaimParams{Token: token, Password: password})
	if err != nil {
		return confab.ErrorMessage(err)
	}
	if sess.Token == "" || sess.User == nil || sess.Workspace == nil {
		t.Fatalf("Claim = %+v: no session", sess)
	}
	return "ok"
}

// A link claims its account once: the password is set, the session is
// the user's, and then the user logs in as anyone does. Before, nobody
// can log in as them; after, the link is refused.
func TestClaimLinkWorksOnce(t *testing.T) {
	f := newImportFixture(t, false)
	ctx := t.Context()
	links := f.links(t, false)
	if len(links) != 2 || links["ann"] == nil || links["bea"] == nil {
		t.Fatalf("ImportClaims gave links for %v, want ann and bea only (not the bot, the deleted user, the owner)", links)
	}
	ann := links["ann"]
	if ann.Reset || ann.Signup || ann.Expires != f.clk.now().Add(ClaimTTL).Unix() {
		t.Errorf("ann's link = %+v, want a claim for %v", ann, ClaimTTL)
	}
	if got := loginAnswer(t, f.s, "acme", "ann", "anything1"); got != "invalid_auth" {
		t.Fatalf("login before the claim: %q, want invalid_auth", got)
	}
	if got := f.claim(t, ann.Token, "short"); got != "invalid_password" {
		t.Errorf("claim with a short password: %q, want invalid_password", got)
	}
	long := strings.Repeat("a", 81)
	if _, err := f.s.Claim(ctx, ClaimParams{Token: ann.Token, Password: "ann's secret", DisplayName: long}); confab.ErrorMessage(err) != "invalid_profile" {
		t.Errorf("claim with an 81-character display name: %v, want invalid_profile (the link unused)", err)
	}
	sess, err := f.s.Claim(ctx, ClaimParams{Token: ann.Token, Password: "ann's secret", DisplayName: "Annie"})
	if err != nil {
		t.Fatalf("Claim = %v", err)
	}
	if sess.User.ID != f.ids["U1"] || sess.User.DisplayName != "Annie" || sess.Workspace.ID != f.owner.u.WorkspaceID {
		t.Errorf("Claim's session = %+v, %+v; want ann's, display name Annie", sess.User, sess.Workspace)
	}
	if u, err := f.s.Authenticate(ctx, sess.Token); err != nil || u.ID != f.ids["U1"] {
		t.Errorf("Authenticate(the claim's token) = %v, %v", u, err)
	}
	if got := loginAnswer(t, f.s, "acme", "ann", "ann's secret"); got != "ok" {
		t.Errorf("login after the claim: %q, want ok", got)
	}
	if got := f.claim(t, ann.Token, "another one"); got != "invalid_claim" {
		t.Errorf("the link used again: %q, want invalid_claim", got)
	}
	if got := loginAnswer(t, f.s, "acme", "ann", "another one"); got != "invalid_auth" {
		t.Errorf("the second claim's password logs in: %q", got)
	}
	// Claimed: the import issues no link for ann any more.
	if again := f.links(t, false); again["ann"] != nil || again["bea"] == nil {
		t.Errorf("links after ann's claim: %v, want bea's only", again)
	}
}

// An expired link, a replaced one, an unknown or malformed one are
// invalid_claim; a bot or a non-owner may not issue links.
func TestClaimLinkRefused(t *testing.T) {
	f := newImportFixture(t, false)
	first := f.links(t, false)["bea"]
	second := f.links(t, false)["bea"]
	if first.Token == second.Token {
		t.Fatal("issuing again gave the same link")
	}
	for name, token := range map[string]string{
		"replaced":  first.Token,
		"unknown":   f.ids["U2"] + "." + "00000000000000000000000000000000000000000000000000000000000000ff",
		"malformed": "nonsense",
		"no user":   "." + second.Token[len(f.ids["U2"])+1:],
		"empty":     "",
	} {
		if got := f.claim(t, token, "password1"); got != "invalid_claim" {
			t.Errorf("%s link: %q, want invalid_claim", name, got)
		}
	}
	f.clk.advance(ClaimTTL)
	if got := f.claim(t, second.Token, "password1"); got != "invalid_claim" {
		t.Errorf("expired link: %q, want invalid_claim", got)
	}
	if got := loginAnswer(t, f.s, "acme", "bea", "password1"); got != "invalid_auth" {
		t.Errorf("login after refused claims: %q", got)
	}

	other := signupOn(t, f.s, "someone")
	if _, err := f.s.ImportClaims(t.Context(), other.u, []string{f.ids["U2"]}, false); confab.ErrorMessage(err) != "not_authorized" {
		t.Errorf("ImportClaims by a member = %v, want not_authorized", err)
	}
}

// Guesses at a user's link are throttled as logins are: after the free
// failures, the right link too waits out the backoff.
func TestClaimThrottled(t *testing.T) {
	f := newImportFixture(t, false)
	ann := f.links(t, false)["ann"]
	wrong := f.ids["U1"] + ".0000000000000000000000000000000000000000000000000000000000000000"
	for i := range DefaultLoginFreeFailures {
		if got := f.claim(t, wrong, "password1"); got != "invalid_claim" {
			t.Fatalf("guess %d: %q, want invalid_claim", i+1, got)
		}
	}
	if got := f.claim(t, wrong, "password1"); got != "ratelimited" {
		t.Fatalf("a guess past the free ones: %q, want ratelimited", got)
	}
	if got := f.claim(t, ann.Token, "password1"); got != "ratelimited" {
		t.Fatalf("the right link during the backoff: %q, want ratelimited", got)
	}
	// Another user's link is not slowed by guesses at ann's.
	bea, err := f.s.IssueClaim(t.Context(), "acme", "bea", false)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.claim(t, bea.Token, "password1"); got != "ok" {
		t.Fatalf("bea's link while ann's are throttled: %q", got)
	}
	f.clk.advance(DefaultLoginBackoff)
	if got := f.claim(t, ann.Token, "password1"); got != "ok" {
		t.Fatalf("the right link after the backoff: %q, want ok", got)
	}
}

// The operator's link: a claim for an account never claimed, a reset for
// one claimed; none for a bot or a deleted user.
func TestIssueClaim(t *testing.T) {
	f := newImportFixture(t, false)
	ctx := t.Context()
	l, err := f.s.IssueClaim(ctx, "acme", "ann", false)
	if err != nil || l.Reset || l.User.ID != f.ids["U1"] {
		t.Fatalf("IssueClaim(ann) = %+v, %v", l, err)
	}
	if got := f.claim(t, l.Token, "first pass"); got != "ok" {
		t.Fatalf("claim: %q", got)
	}
	reset, err := f.s.IssueClaim(ctx, "acme", "ann", true)
	if err != nil || !reset.Reset || reset.Signup {
		t.Fatalf("IssueClaim(claimed ann) = %+v, %v; want a reset, never by sign-up", reset, err)
	}
	if got := f.claim(t, reset.Token, "second pass"); got != "ok" {
		t.Fatalf("reset: %q", got)
	}
	if got := loginAnswer(t, f.s, "acme", "ann", "first pass"); got != "invalid_auth" {
		t.Errorf("the old password after the reset: %q", got)
	}
	if got := loginAnswer(t, f.s, "acme", "ann", "second pass"); got != "ok" {
		t.Errorf("the new password after the reset: %q", got)
	}
	for _, name := range []string{"helper", "gone", "nobody"} {
		if _, err := f.s.IssueClaim(ctx, "acme", name, false); confab.ErrorMessage(err) != "user_not_found" {
			t.Errorf("IssueClaim(%s) = %v, want user_not_found", name, err)
		}
	}
}

// A reset ends every other session of the account, as a revocation ends
// one: the old tokens no longer authenticate, and the gateways are told
// to close what was opened under them. The reset's own session stays.
func TestClaimResetSignsOutElsewhere(t *testing.T) {
	ctx := t.Context()
	bus := pubBus{got: make(chan confab.Publication, 64)}
	s := New(Config{Store: openSQLite(t), Bus: bus, PasswordCost: 4, Access: ExactAccess(), Now: newClock().now})
	t.Cleanup(func() { s.Close() })
	alice := signupOn(t, s, "alice")
	other, err := s.Login(ctx, "acme", "alice", "password1")
	if err != nil {
		t.Fatal(err)
	}
	bob := signupOn(t, s, "bob")
	l, err := s.IssueClaim(ctx, "acme", "alice", false)
	if err != nil || !l.Reset {
		t.Fatalf("IssueClaim(alice) = %+v, %v; want a reset", l, err)
	}
	sess, err := s.Claim(ctx, ClaimParams{Token: l.Token, Password: "a new password"})
	if err != nil {
		t.Fatal(err)
	}
	for _, old := range []string{alice.token, other.Token} {
		_, err := s.Authenticate(ctx, old)
		wantCode(t, "a session from before the reset", err, "invalid_auth")
	}
	if u, err := s.Authenticate(ctx, sess.Token); err != nil || u.ID != alice.u.ID {
		t.Errorf("the reset's own session: %v, %v", u, err)
	}
	if u, err := s.Authenticate(ctx, bob.token); err != nil || u.ID != bob.u.ID {
		t.Errorf("another user's session after alice's reset: %v, %v", u, err)
	}
	want := map[uint64]bool{uint64(Fingerprint(alice.token)): true, uint64(Fingerprint(other.Token)): true}
	deadline := time.After(10 * time.Second)
	for len(want) > 0 {
		select {
		case p := <-bus.got:
			if p.Op == confab.OpRevoke {
				if !want[uint64(p.Session)] {
					t.Fatalf("revoked session %x, not one of alice's old ones", uint64(p.Session))
				}
				delete(want, uint64(p.Session))
			}
		case <-deadline:
			t.Fatalf("no revocation published for %d of alice's old sessions", len(want))
		}
	}
}

// A sign-up with an unclaimed account's name claims it only when its link
// allows it, with its email, while sign-up is open; otherwise it is told
// to ask for the link, whatever the email.
func TestSignupClaim(t *testing.T) {
	signup := func(f *importFixture, name, email string) (*Session, string) {
		sess, err := f.s.Signup(t.Context(), SignupParams{Team: "acme", Name: name, Password: "mine and only mine", Email: email})
		if err != nil {
			return nil, confab.ErrorMessage(err)
		}
		return sess, "ok"
	}

	// Not allowed: the link was issued without sign-up.
	f := newImportFixture(t, false)
	f.links(t, false)
	for _, email := range []string{"ann@example.com", "wrong@example.com", ""} {
		if _, got := signup(f, "ann", email); got != "claim_link_required" {
			t.Errorf("sign-up as ann <%s>, not allowed: %q, want claim_link_required", email, got)
		}
	}
	if got := loginAnswer(t, f.s, "acme", "ann", "mine and only mine"); got != "invalid_auth" {
		t.Errorf("a refused sign-up set ann's password: %q", got)
	}
	// Nor without any link.
	g := newImportFixture(t, false)
	if _, got := signup(g, "ann", "ann@example.com"); got != "claim_link_required" {
		t.Errorf("sign-up as ann with no link: %q, want claim_link_required", got)
	}

	// Allowed.
	f = newImportFixture(t, false)
	links := f.links(t, true)
	if !links["ann"].Signup {
		t.Fatalf("ann's link = %+v, want sign-up allowed", links["ann"])
	}
	if _, got := signup(f, "ann", "wrong@example.com"); got != "claim_link_required" {
		t.Errorf("sign-up as ann with another email: %q, want claim_link_required", got)
	}
	sess, got := signup(f, "ann", "ANN@example.com")
	if got != "ok" || sess.User.ID != f.ids["U1"] {
		t.Fatalf("sign-up as ann with her email: %q, %+v; want her imported account", got, sess)
	}
	if got := loginAnswer(t, f.s, "acme", "ann", "mine and only mine"); got != "ok" {
		t.Errorf("login after the sign-up claim: %q", got)
	}
	if got := f.claim(t, links["ann"].Token, "password1"); got != "invalid_claim" {
		t.Errorf("ann's link after the sign-up claimed it: %q, want invalid_claim", got)
	}
	if _, got := signup(f, "ann", "ann@example.com"); got != "name_taken" {
		t.Errorf("a second sign-up as ann: %q, want name_taken", got)
	}
	for _, name := range []string{"helper", "gone"} {
		if _, got := signup(f, name, "gone@example.com"); got != "name_taken" {
			t.Errorf("sign-up as %s: %q, want name_taken", name, got)
		}
	}
	// Expired.
	f.clk.advance(ClaimTTL)
	if _, got := signup(f, "bea", "bea@example.com"); got != "claim_link_required" {
		t.Errorf("sign-up as bea after her link expired: %q, want claim_link_required", got)
	}

	// Closed sign-up: no claim by sign-up, whatever the link allows.
	c := newImportFixture(t, true)
	c.links(t, true)
	if _, got := signup(c, "ann", "ann@example.com"); got != "signup_disabled" {
		t.Errorf("sign-up as ann, closed sign-up: %q, want signup_disabled", got)
	}
}
