package chat

import "testing"

func TestDMPartner(t *testing.T) {
	tests := []struct {
		key, user, want string
	}{
		{"UA,UB", "UA", "UB"},
		{"UA,UB", "UB", "UA"},
		{"UA,UB", "UC", ""},    // not the caller's DM
		{"UA,UA", "UA", ""},    // no other member
		{"UA,UB,UC", "UA", ""}, // a group DM's key
		{"UA", "UA", ""},
		{",UA", "UA", ""},
		{"", "UA", ""},
	}
	for _, tc := range tests {
		if got := dmPartner(tc.key, tc.user); got != tc.want {
			t.Errorf("dmPartner(%q, %q) = %q, want %q", tc.key, tc.user, got, tc.want)
		}
	}
}
