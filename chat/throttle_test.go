package chat

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/confab/confab"
)

// The throttle remembers at most MaxAccounts accounts, and a flood of
// single failures at other names does not push out one in its backoff.
func TestLoginThrottleIsBounded(t *testing.T) {
	th := newLoginThrottle(LoginThrottle{MaxAccounts: 100})
	now := time.Unix(1_800_000_000, 0)
	for range DefaultLoginFreeFailures {
		if err := th.begin(loginKey("acme", "alice"), now); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 10_000 { // all within alice's backoff
		if err := th.begin(loginKey("acme", "name"+strconv.Itoa(i)), now); err != nil {
			t.Fatalf("a first attempt at a new name: %v", err)
		}
	}
	if n := th.len(); n > 100 {
		t.Fatalf("the throttle holds %d accounts, want at most 100", n)
	}
	err := th.begin(loginKey("acme", "alice"), now)
	var re *retryError
	if !errors.As(err, &re) || confab.ErrorCode(err) != confab.ERATELIMIT {
		t.Fatalf("alice after the flood: %v, want ratelimited", err)
	}
	// Quiet accounts are forgotten first.
	now = now.Add(DefaultLoginQuiet)
	th.begin(loginKey("acme", "fresh"), now)
	if n := th.len(); n != 1 {
		t.Fatalf("after the quiet period the throttle holds %d accounts, want only the new one", n)
	}
}
