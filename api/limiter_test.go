package api

import (
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/confab/confab"
	"golang.org/x/time/rate"
)

func TestLimitersBounded(t *testing.T) {
	l := newLimiters(rate.Every(time.Hour), 1, 10)
	for i := 0; i < 1000; i++ {
		if got := l.wait("k" + strconv.Itoa(i)); got != 0 {
			t.Fatalf("first request of a new key waits %d s", got)
		}
		if n := l.len(); n > 10 {
			t.Fatalf("after %d keys the map holds %d limiters, max 10", i+1, n)
		}
	}
	if got := l.wait("k999"); got < 1 {
		t.Errorf("second request of a kept key: wait %d, want >= 1", got)
	}
}

func TestLimitersSweepIdle(t *testing.T) {
	// A burst refills in a nanosecond: every limiter is idle at once, so the
	// sweep empties the map instead of evicting arbitrary keys.
	l := newLimiters(rate.Limit(1e9), 1, 3)
	for _, k := range []string{"a", "b", "c"} {
		l.wait(k)
	}
	l.wait("d")
	if n := l.len(); n != 1 {
		t.Errorf("after the sweep the map holds %d limiters, want 1", n)
	}
}

func TestLimitersInf(t *testing.T) {
	l := newLimiters(rate.Inf, 0, 1)
	for i := 0; i < 100; i++ {
		if got := l.wait("k" + strconv.Itoa(i)); got != 0 {
			t.Fatalf("rate.Inf waits %d", got)
		}
	}
	if n := l.len(); n != 0 {
		t.Errorf("rate.Inf keeps %d limiters", n)
	}
}

func TestStatusOf(t *testing.T) {
	tests := []struct {
		err    error
		status int
		code   string
	}{
		{nil, 200, ""},
		{confab.ErrChannelNotFound, 200, "channel_not_found"},
		{confab.ErrInvalidAuth, 200, "invalid_auth"},
		{confab.ErrNameTaken, 200, "name_taken"},
		{confab.ErrIsArchived, 200, "is_archived"},
		{confab.ErrInvalidCursor, 200, "invalid_cursor"},
		{&confab.Error{Code: confab.ENOTFOUND}, 200, "not_found"},
		{&confab.Error{Code: confab.EFORBIDDEN}, 200, "not_allowed"},
		{&confab.Error{Code: confab.EUNAUTHORIZED}, 200, "invalid_auth"},
		{&confab.Error{Code: confab.ECONFLICT}, 200, "invalid_arguments"},
		{errRateLimited, 429, "ratelimited"},
		{confab.Errorf(confab.EINTERNAL, "db: %s", "detail"), 500, "internal_error"},
		{errors.New("detail"), 500, "internal_error"},
		{fmt.Errorf("wrapped: %w", confab.ErrMessageNotFound), 200, "message_not_found"},
	}
	for _, tt := range tests {
		if s, c := statusOf(tt.err); s != tt.status || c != tt.code {
			t.Errorf("statusOf(%v) = %d, %q, want %d, %q", tt.err, s, c, tt.status, tt.code)
		}
	}
}
