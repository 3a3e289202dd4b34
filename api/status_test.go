package api

import (
	"errors"
	"fmt"
	"testing"

	"github.com/confab/confab"
)

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
