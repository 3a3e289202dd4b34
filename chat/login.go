package chat

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"

	"github.com/confab/confab"
	"golang.org/x/crypto/bcrypt"
)

// Login's defences against password guessing. The API limits logins per
// client address (internal/ratelimit), which an attacker with many addresses
// walks around; this file limits them per account, and makes the answer
// take the same time whether or not the account exists.
//
// The throttle. Each (workspace domain, user name) that Login is asked for
// has a count of failures, kept whether or not the name exists, so that
// throttling does not tell which names do. The first FreeFailures cost
// nothing; after that the account waits Backoff before its next attempt is
// evaluated, and each further failure doubles the wait, up to MaxBackoff.
// A success, or Quiet without a failure, starts the account afresh. The
// check comes before anything is looked up or compared, so a throttled
// attempt costs no store read and no bcrypt, and it is refused even with the
// right password: that is what makes guessing during the backoff useless.
//
// What it does not do. It never touches a session: tokens keep working,
// and only new password logins of the account wait. An attacker can keep
// one account's logins waiting (one guess per MaxBackoff does it), which is
// the price of the guessing budget staying small; the owner keeps her
// sessions, and after the backoff her right password works. It does not
// slow one guess at each of many accounts (password spraying): the per-IP
// limit and the cost of bcrypt bound that.
//
// Attempts are charged before they are evaluated, so concurrent guesses
// cannot all slip through while the failures are still being counted; an
// attempt that ends in a store fault is refunded.
//
// The counters live in the memory of each API process, not in the store: a
// failed login would otherwise cost a write, on every store backend, and
// the throttle would be one more thing to keep up when the database is
// slow. On a cluster of k API processes behind a balancer, a guesser may
// get up to k times the budget; with the defaults that is still about
// k×12 guesses an hour per account.

// Defaults of LoginThrottle.
const (
	DefaultLoginFreeFailures = 5
	DefaultLoginBackoff      = time.Second
	DefaultLoginMaxBackoff   = 5 * time.Minute
	// DefaultLoginQuiet is longer than a whole ramp of backoffs up to the cap
	// (about 8.5 min), so that waiting for a fresh start never pays more than
	// staying at the cap (one guess per 5 min).
	DefaultLoginQuiet       = time.Hour
	DefaultLoginMaxAccounts = 100_000
)

// LoginThrottle configures the per-account limit on failed logins. Zero
// values take the defaults above.
type LoginThrottle struct {
	FreeFailures int           // failures before the backoff starts
	Backoff      time.Duration // the first wait, doubled by each further failure
	MaxBackoff   time.Duration // the longest wait
	Quiet        time.Duration // an account without a failure this long starts afresh
	MaxAccounts  int           // bound of the accounts remembered
}

// errLoginThrottled is Login's answer during an account's backoff.
var errLoginThrottled = &confab.Error{Code: confab.ERATELIMIT, Message: "ratelimited"}

// retryError is a rate-limit refusal that knows when to retry: it is
// ratelimited to confab.ErrorCode, and its RetryAfter is how long until an
// attempt would be evaluated (the api sends it as Retry-After).
type retryError struct{ after time.Duration }

func (e *retryError) Error() string             { return "login throttled for " + e.after.String() }
func (e *retryError) Unwrap() error             { return errLoginThrottled }
func (e *retryError) RetryAfter() time.Duration { return e.after }

// loginThrottle is the per-account failure count, a bounded map.
//
// When the map is full, accounts quiet for Quiet are swept first (at most
// once a second) — forgetting them changes nothing — then accounts still
// within their free failures, and only then one in its backoff. Pushing a
// throttled account out costs the attacker MaxAccounts other accounts each
// brought into backoff, FreeFailures bcrypt comparisons apiece.
type loginThrottle struct {
	// immutable after newLoginThrottle
	free        int
	base, max   time.Duration
	quiet       time.Duration
	maxAccounts int

	mu        sync.Mutex
	m         map[string]*loginFailures // guarded by mu; key: loginKey
	lastSweep time.Time                 // guarded by mu
}

type loginFailures struct {
	n    int       // guarded by loginThrottle.mu: failures charged
	last time.Time // guarded by loginThrottle.mu: the latest charged attempt
}

func newLoginThrottle(c LoginThrottle) *loginThrottle {
	t := &loginThrottle{free: c.FreeFailures, base: c.Backoff, max: c.MaxBackoff, quiet: c.Quiet,
		maxAccounts: c.MaxAccounts, m: map[string]*loginFailures{}}
	if t.free <= 0 {
		t.free = DefaultLoginFreeFailures
	}
	if t.base <= 0 {
		t.base = DefaultLoginBackoff
	}
	if t.max <= 0 {
		t.max = DefaultLoginMaxBackoff
	}
	t.max = max(t.max, t.base)
	if t.quiet <= 0 {
		t.quiet = DefaultLoginQuiet
	}
	t.quiet = max(t.quiet, t.max)
	if t.maxAccounts <= 0 {
		t.maxAccounts = DefaultLoginMaxAccounts
	}
	return t
}

// loginKey names an account; names are validated, so they hold no NUL.
func loginKey(team, name string) string { return team + "\x00" + name }

// wait is how long after f.last the next attempt must wait.
func (t *loginThrottle) wait(f *loginFailures) time.Duration {
	if f.n < t.free {
		return 0
	}
	d := t.base
	for i := t.free; i < f.n && d < t.max; i++ {
		d *= 2
	}
	return min(d, t.max)
}

// begin charges an attempt at key as a failure, or refuses it with a
// *retryError while the account waits (charging nothing).
func (t *loginThrottle) begin(key string, now time.Time) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.m[key]
	if f != nil && now.Sub(f.last) >= t.quiet {
		f.n = 0
	}
	if f == nil {
		if len(t.m) >= t.maxAccounts {
			t.evict(now)
		}
		f = &loginFailures{}
		t.m[key] = f
	}
	if left := f.last.Add(t.wait(f)).Sub(now); left > 0 {
		return &retryError{after: left}
	}
	f.n++
	f.last = now
	return nil
}

// succeeded starts key afresh.
func (t *loginThrottle) succeeded(key string) {
	t.mu.Lock()
	delete(t.m, key)
	t.mu.Unlock()
}

// refund takes back an attempt that ended in a fault, not a verdict.
func (t *loginThrottle) refund(key string) {
	t.mu.Lock()
	if f := t.m[key]; f != nil && f.n > 0 {
		f.n--
	}
	t.mu.Unlock()
}

// evict makes room for one account. t.mu is held.
func (t *loginThrottle) evict(now time.Time) {
	if now.Sub(t.lastSweep) >= time.Second {
		t.lastSweep = now
		for k, f := range t.m {
			if now.Sub(f.last) >= t.quiet {
				delete(t.m, k)
			}
		}
		if len(t.m) < t.maxAccounts {
			return
		}
	}
	for k, f := range t.m {
		if f.n < t.free {
			delete(t.m, k)
			return
		}
	}
	for k := range t.m {
		delete(t.m, k)
		return
	}
}

// len is the number of accounts remembered.
func (t *loginThrottle) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}

// findLogin returns the account Login checks the password of: nil, with no
// error, when there is none to log in to (an unknown workspace or name, a
// deleted user, one without a password), which Login answers exactly like a
// wrong password, after the same comparison.
func (s *Service) findLogin(ctx context.Context, team, name string) (*confab.User, *confab.Workspace, error) {
	ws, err := s.store.FindWorkspaceByDomain(ctx, team)
	if confab.ErrorCode(err) == confab.ENOTFOUND {
		return nil, nil, nil
	} else if err != nil {
		return nil, nil, err
	}
	u, err := s.store.FindUserByName(ctx, ws.ID, name)
	if confab.ErrorCode(err) == confab.ENOTFOUND {
		return nil, nil, nil
	} else if err != nil {
		return nil, nil, err
	}
	if u.Deleted || u.PasswordHash == "" {
		return nil, nil, nil
	}
	return u, ws, nil
}

// loginHash is the hash Login compares the password with: u's, or without
// a user a dummy one of the service's cost, so that an answer about a name
// that does not exist costs what a wrong password does. (A user whose hash
// was made at another cost still answers in that cost's time.)
func (s *Service) loginHash(u *confab.User) ([]byte, error) {
	// An imported user who has not claimed their account has no password:
	// nothing matches, at the cost of any other attempt.
	if u != nil && u.PasswordHash != "" {
		return []byte(u.PasswordHash), nil
	}
	return s.dummyHash()
}

// initLogin sets up Login's throttle, its comparison and its dummy hash,
// made on first use so that a service that sees no unknown name never pays
// for it.
func (s *Service) initLogin(c LoginThrottle) {
	s.logins = newLoginThrottle(c)
	s.claims = newLoginThrottle(c)
	s.comparePassword = bcrypt.CompareHashAndPassword
	s.dummyHash = sync.OnceValues(func() ([]byte, error) {
		var secret [16]byte
		rand.Read(secret[:])
		return bcrypt.GenerateFromPassword([]byte(hex.EncodeToString(secret[:])), s.passwordCost)
	})
}
