package confab

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// User search (users.search) matches a query against the words of a
// user's handle, real name and display name. The stores index each user's
// UserTerms; a search is a range scan of that index for the terms that
// start with the query's UserSearchKey.

const (
	// MaxTermWords is how many words of a name start a term: the words
	// after it are still in the terms of the earlier ones, only not
	// searchable on their own.
	MaxTermWords = 8
	// MaxTermBytes bounds a term (and so the index); a longer query is cut
	// to it, matching a little more than it says.
	MaxTermBytes = 64
	// MaxUserTerms is the most terms a user has: MaxTermWords per name.
	MaxUserTerms = 3 * MaxTermWords
)

// UserSearchKey is a name or query as the index compares it: its words
// (runs of letters and digits), lowercased, joined by one space, cut to
// MaxTermBytes. "Ana-María  López" → "ana maría lópez".
func UserSearchKey(s string) string {
	words := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	return cut(strings.Join(words, " "), MaxTermBytes)
}

// cut shortens s to at most n bytes at a rune boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// UserTerms are the terms a user is found by: for each of Name, RealName
// and DisplayName, its UserSearchKey from each of its first MaxTermWords
// words to its end, so a query matches the start of any word and runs on
// across the words after it ("smi", "alice smi" and "smith" all find
// "Alice Smith"). Each term once, in no particular order; none for a
// deleted user, who is not searched for.
func UserTerms(u *User) []string {
	if u.Deleted {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, name := range []string{u.Name, u.RealName, u.DisplayName} {
		key := UserSearchKey(name)
		for i := 0; key != "" && i < MaxTermWords; i++ {
			if !seen[key] {
				seen[key] = true
				out = append(out, key)
			}
			sp := strings.IndexByte(key, ' ')
			if sp < 0 {
				break
			}
			key = key[sp+1:]
		}
	}
	return out
}

// TermRange is the range of index terms that start with prefix: [prefix,
// prefix+U+10FFFF). No term holds U+10FFFF (it is neither a letter nor a
// digit), so every term with the prefix sorts inside it, by bytes (SQLite's
// BINARY, PostgreSQL's "C").
func TermRange(prefix string) (lo, hi string) {
	return prefix, prefix + "\U0010FFFF"
}
