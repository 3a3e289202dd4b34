package chat

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confab/confab"
	"golang.org/x/crypto/bcrypt"
)

// countCompares makes s count its password comparisons, and the bcrypt
// cost of each hash compared.
func countCompares(s *Service) (n *atomic.Int64, costs *sync.Map) {
	n, costs = new(atomic.Int64), new(sync.Map)
	compare := s.comparePassword
	s.comparePassword = func(hash, password []byte) error {
		n.Add(1)
		cost, _ := bcrypt.Cost(hash)
		costs.Store(cost, true)
		return compare(hash, password)
	}
	return n, costs
}

// loginAnswer is what a client would see of a login: "ok", or the Slack
// error.
func loginAnswer(t *testing.T, s *Service, team, name, password string) string {
	t.Helper()
	sess, err := s.Login(t.Context(), team, name, password)
	if err != nil {
		return confab.ErrorMessage(err)
	}
	if sess == nil || sess.Token == "" {
		t.Fatalf("Login(%q, %q) = %v, nil: no session", team, name, sess)
	}
	return "ok"
}

// An account's failed logins are throttled: after the free failures every
// attempt is refused as ratelimited until its backoff has passed, the right
// password included, while the sessions the user already has keep working.
// A name that does not exist is throttled exactly like one that does.
func TestLoginThrottlesTheAccountNotItsSessions(t *testing.T) {
	clk := newClock()
	s := newService(openSQLite(t), true, clk)
	alice := signupOn(t, s, "alice")
	ctx := t.Context()
	compares, _ := countCompares(s)

	stillIn := func() {
		t.Helper()
		if u, err := s.Authenticate(ctx, alice.token); err != nil || u.ID != alice.u.ID {
			t.Fatalf("alice's token during the backoff: Authenticate = %v, %v", u, err)
		}
		if _, err := s.Boot(ctx, alice.u); err != nil {
			t.Fatalf("alice's session during the backoff: Boot: %v", err)
		}
	}

	// Each name on its own counter: a name that exists, one that does not,
	// one in a workspace that does not exist.
	for _, who := range []struct{ team, name string }{{"acme", "alice"}, {"acme", "mallory"}, {"nowhere", "alice"}} {
		for i := range DefaultLoginFreeFailures {
			if got := loginAnswer(t, s, who.team, who.name, "wrong guess"); got != "invalid_auth" {
				t.Fatalf("%s/%s: free failure %d answered %q, want invalid_auth", who.team, who.name, i+1, got)
			}
		}
		before := compares.Load()
		for range 20 {
			if got := loginAnswer(t, s, who.team, who.name, "wrong guess"); got != "ratelimited" {
				t.Fatalf("%s/%s: a guess during the backoff answered %q, want ratelimited", who.team, who.name, got)
			}
		}
		if n := compares.Load() - before; n != 0 {
			t.Fatalf("%s/%s: 20 refused guesses made %d password comparisons, want 0", who.team, who.name, n)
		}
	}
	before := compares.Load()
	if got := loginAnswer(t, s, "acme", "alice", "password1"); got != "ratelimited" {
		t.Fatalf("the right password during the backoff answered %q, want ratelimited", got)
	}
	if n := compares.Load() - before; n != 0 {
		t.Fatalf("the refused right password made %d comparisons, want 0", n)
	}
	stillIn()
	// Another account is not slowed by alice's.
	signupOn(t, s, "bob")
	if got := loginAnswer(t, s, "acme", "bob", "password1"); got != "ok" {
		t.Fatalf("bob's login while alice's account is throttled: %q", got)
	}

	clk.advance(DefaultLoginBackoff)
	if got := loginAnswer(t, s, "acme", "alice", "password1"); got != "ok" {
		t.Fatalf("the right password after the backoff answered %q, want ok", got)
	}
	stillIn()

	// A success starts the account afresh; each failure past the free ones
	// doubles the backoff.
	for range DefaultLoginFreeFailures {
		if got := loginAnswer(t, s, "acme", "alice", "wrong guess"); got != "invalid_auth" {
			t.Fatalf("a failure after a success answered %q: the success did not reset the count", got)
		}
	}
	clk.advance(DefaultLoginBackoff)
	if got := loginAnswer(t, s, "acme", "alice", "wrong guess"); got != "invalid_auth" {
		t.Fatalf("a guess once the backoff passed answered %q, want invalid_auth", got)
	}
	clk.advance(2*DefaultLoginBackoff - time.Millisecond)
	if got := loginAnswer(t, s, "acme", "alice", "password1"); got != "ratelimited" {
		t.Fatalf("the right password before the doubled backoff passed answered %q, want ratelimited", got)
	}
	clk.advance(time.Millisecond)
	if got := loginAnswer(t, s, "acme", "alice", "password1"); got != "ok" {
		t.Fatalf("the right password after the doubled backoff answered %q, want ok", got)
	}

	// mallory's counter is forgotten after a quiet period.
	clk.advance(DefaultLoginQuiet)
	if got := loginAnswer(t, s, "acme", "mallory", "wrong guess"); got != "invalid_auth" {
		t.Fatalf("a guess after the quiet period answered %q, want invalid_auth", got)
	}
}

// loginStore adds users that sign-up cannot make (a deleted one, one
// without a password) to a store.
type loginStore struct {
	confab.Store
	extra map[string]*confab.User // by name, in every workspace
}

func (st loginStore) FindUserByName(ctx context.Context, workspaceID, name string) (*confab.User, error) {
	if u := st.extra[name]; u != nil {
		v := *u
		v.WorkspaceID = workspaceID
		return &v, nil
	}
	return st.Store.FindUserByName(ctx, workspaceID, name)
}

// Every answer about a password costs one bcrypt comparison against a hash
// of the service's cost, whether the name exists or not, so that the time
// of invalid_auth does not tell which names exist.
func TestLoginComparesOnceWhateverTheName(t *testing.T) {
	db := openSQLite(t)
	hash, err := bcrypt.GenerateFromPassword([]byte("password1"), 4)
	if err != nil {
		t.Fatal(err)
	}
	st := loginStore{Store: db, extra: map[string]*confab.User{
		"gone":   {ID: "UGONE", Name: "gone", Deleted: true, PasswordHash: string(hash)},
		"nopass": {ID: "UNOPASS", Name: "nopass"},
	}}
	s := newService(st, true, newClock())
	signupOn(t, s, "alice")
	compares, costs := countCompares(s)

	for _, tt := range []struct{ team, name, password, want string }{
		{"acme", "alice", "wrong guess", "invalid_auth"},
		{"acme", "mallory", "wrong guess", "invalid_auth"}, // no such user
		{"nowhere", "alice", "password1", "invalid_auth"},  // no such workspace
		{"acme", "gone", "password1", "invalid_auth"},      // deleted, with its right password
		{"acme", "nopass", "password1", "invalid_auth"},    // no password
		{"acme", "alice", "password1", "ok"},
	} {
		before := compares.Load()
		if got := loginAnswer(t, s, tt.team, tt.name, tt.password); got != tt.want {
			t.Errorf("Login(%q, %q) = %q, want %q", tt.team, tt.name, got, tt.want)
		}
		if n := compares.Load() - before; n != 1 {
			t.Errorf("Login(%q, %q) made %d password comparisons, want 1", tt.team, tt.name, n)
		}
	}
	costs.Range(func(cost, _ any) bool {
		if cost != s.passwordCost {
			t.Errorf("a hash of cost %v was compared, want only cost %d", cost, s.passwordCost)
		}
		return true
	})
}

// Guesses that arrive together are charged before they are evaluated, so
// they cannot all slip through while the failures are being counted.
func TestLoginConcurrentGuessesAreCharged(t *testing.T) {
	s := newService(openSQLite(t), true, newClock()) // the clock stands still
	signupOn(t, s, "alice")
	compares, _ := countCompares(s)
	var (
		wg      sync.WaitGroup
		limited atomic.Int64
	)
	for range 50 {
		wg.Go(func() {
			if _, err := s.Login(t.Context(), "acme", "alice", "wrong guess"); confab.ErrorCode(err) == confab.ERATELIMIT {
				limited.Add(1)
			}
		})
	}
	wg.Wait()
	if n := compares.Load(); n != DefaultLoginFreeFailures || limited.Load() != 50-DefaultLoginFreeFailures {
		t.Fatalf("50 concurrent guesses: %d compared, %d ratelimited; want %d and %d",
			n, limited.Load(), DefaultLoginFreeFailures, 50-DefaultLoginFreeFailures)
	}
}
