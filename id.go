package confab

import (
	"crypto/rand"
	"strings"
)

// ID prefixes, as Slack spells them.
const (
	PrefixWorkspace = 'T'
	PrefixUser      = 'U'
	PrefixChannel   = 'C' // public and private channels
	PrefixDM        = 'D' // direct message between two users
	PrefixGroupDM   = 'G' // group DM of 3 to 8 users
)

// idAlphabet is Crockford-like base32 without I, L, O, U: ids read unambiguously.
const idAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewID returns a fresh random identifier with the given prefix, 12 characters
// of base32 (60 random bits) after it, e.g. "C4Q7ZK2M9XW1B".
func NewID(prefix byte) string {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("confab: crypto/rand failed: " + err.Error())
	}
	out := make([]byte, 1, 13)
	out[0] = prefix
	for _, v := range b {
		out = append(out, idAlphabet[v&31])
	}
	return string(out)
}

// ValidID reports whether s looks like an id with the given prefix. It guards
// lookups against junk input; existence is the store's business.
func ValidID(s string, prefix byte) bool {
	if len(s) < 2 || len(s) > 32 || s[0] != prefix {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// IsConversationID reports whether s is shaped like a channel, DM or group DM id.
func IsConversationID(s string) bool {
	return ValidID(s, PrefixChannel) || ValidID(s, PrefixDM) || ValidID(s, PrefixGroupDM)
}

// SplitIDs splits a comma-separated list of ids, trimming spaces and dropping
// empty items and duplicates, keeping the first-seen order.
func SplitIDs(s string) []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" || seen[p] {
			continue
		}
		seen[p] = true
		out = append(out, p)
	}
	return out
}
