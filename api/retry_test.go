package api_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/confab/confab"
	"github.com/confab/confab/api"
	"github.com/confab/confab/chat"
)

// throttled is a refusal that knows when to retry, as chat's login throttle
// returns it.
type throttled struct{ after time.Duration }

func (e throttled) Error() string { return "throttled" }
func (e throttled) Unwrap() error {
	return &confab.Error{Code: confab.ERATELIMIT, Message: "ratelimited"}
}
func (e throttled) RetryAfter() time.Duration { return e.after }

// A use case's ratelimited answer carries its wait as Retry-After, rounded
// up to whole seconds, even when wrapped.
func TestRetryAfterFromTheUseCase(t *testing.T) {
	for _, tt := range []struct {
		after time.Duration
		want  string
	}{
		{2500 * time.Millisecond, "3"},
		{4 * time.Minute, "240"},
		{time.Millisecond, "1"},
		{0, "1"},
	} {
		f := stocked()
		f.LoginFn = func(context.Context, string, string, string) (*chat.Session, error) {
			return nil, fmt.Errorf("login: %w", throttled{tt.after})
		}
		srv := MustServer(t, f, api.Config{})
		req := httptest.NewRequest("POST", "/api/auth.login", strings.NewReader("team=acme&name=alice&password=hunter22"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		a := serve(t, srv, req)
		a.wantError(t, 429, "ratelimited")
		if got := a.header.Get("Retry-After"); got != tt.want {
			t.Errorf("a refusal for %v: Retry-After %q, want %q", tt.after, got, tt.want)
		}
	}
}
