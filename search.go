package confab

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Search. Every message's text is indexed, in the transaction that writes
// it, as its search tokens (SearchTokens): the same tokens on every store,
// so that a query finds the same messages on SQLite and PostgreSQL. A
// query (ParseSearchQuery) is resolved by package chat into a SearchFilter
// for the store's SearchMessages.

// SearchSort is the order of search results.
type SearchSort uint8

const (
	// SortScore orders by relevance (the store's text ranking: bm25 on
	// SQLite, ts_rank on PostgreSQL), newest first among equals. When
	// more than SearchRankCap messages match, a store may rank only the
	// newest SearchRankCap of them, the others following newest first.
	SortScore SearchSort = iota
	// SortTimestamp orders by ts.
	SortTimestamp
)

// SearchTerm is one thing a message's text must (or, excluded, must not)
// contain, in search tokens (SearchTokens).
type SearchTerm struct {
	// Words are the term's tokens in order: one for a word, several for a
	// phrase ("exact phrase") or for a word written in a script without
	// spaces (東京 is the phrase 東 京), matched as adjacent tokens.
	Words []string
	// Prefix: the last word matches any token it begins (deploy*).
	Prefix bool
	// Substring: the words, joined by single spaces, match anywhere in
	// the message's token text, inside tokens too (*ploy*, at least three
	// characters): the trigram index.
	Substring bool
}

// SearchFilter selects the messages a search finds. Every field set
// narrows it; the text terms and every other condition are evaluated in
// the store's query, so Total and the pages agree.
type SearchFilter struct {
	WorkspaceID string
	// ReaderID: only messages the reader may read now, as chat's
	// authorization reads them: in the workspace's public channels
	// (archived ones too), and in private channels, DMs and group DMs the
	// reader is a member of. Tombstones are never found.
	ReaderID string
	Terms    []SearchTerm // all must match; none: any text
	Excluded []SearchTerm // none may match
	// ChannelIDs: only in these channels (in:); empty for every readable one.
	ChannelIDs []string
	// UserIDs: only posted by one of these users (from:).
	UserIDs []string
	// ToUserIDs: only messages to one of these users (to:): that mention
	// them by id (<@U…>), or that are in a DM or group DM they are a member
	// of; never their own.
	ToUserIDs []string
	// Since (inclusive) and Until (exclusive) bound ts; 0 for none.
	Since, Until int64
	HasLink      bool   // text holds a link (SearchDoc's link flag)
	HasReaction  bool   // has a current reaction
	Reaction     string // has a current reaction of this name (has::name:)
	HasPin       bool   // is pinned
	IsThread     bool   // is a thread reply, or a parent with replies
	Sort         SearchSort
	Asc          bool // oldest (or least relevant) first
	Offset       int
	Limit        int // at most 100
}

// SearchCountCap bounds what a search counts, so that a word in half of
// a million messages costs what a rarer one does: Total is exact up to
// it, and past it Total is SearchCountCap with Capped set, a lower bound.
// Slack's paging reaches no further (100 pages of 100).
const SearchCountCap = 10000

// SearchRankCap bounds the relevance order (SortScore): a store may rank
// only the newest SearchRankCap matches, the first 100 pages of Slack's
// default 20, so that ranking a common word costs what counting it does.
const SearchRankCap = 2000

// SearchResult is one page of a search.
type SearchResult struct {
	// Total is every message the filter selects, or SearchCountCap when
	// there are more (Capped).
	Total    int
	Capped   bool
	Messages []*Message // the page, with their reactions, in order
}

// SearchDoc is what the index keeps of a message's text: its search tokens
// joined by single spaces (the text a Substring term is matched in), and
// whether the text holds a link (has:link).
func SearchDoc(text string) (body string, hasLink bool) {
	// Every link hasLinkRe finds has a colon: most texts need not run it.
	return strings.Join(SearchTokens(text), " "), strings.IndexByte(text, ':') >= 0 && hasLinkRe.MatchString(text)
}

// hasLinkRe finds a link as Slack formats one (<https://…>, <mailto:…>)
// or as typed.
var hasLinkRe = regexp.MustCompile(`(?i)(<(https?|mailto|ftp):|\bhttps?://)`)

// maxTokenRunes bounds a token: the rest of a longer one (a hash, a blob)
// is dropped, in texts and queries alike.
const maxTokenRunes = 64

// SearchTokens splits a text into its search tokens, the same for a
// message and for a query's words:
//
//   - Slack's markup is read first: <@U…> and <!here>-style mentions are
//     dropped, <#C…|name> is its name, <url|label> its url and label, and
//     &amp; &lt; &gt; are their characters.
//   - A token is a run of letters, digits and marks, lower-cased, after
//     Unicode's NFKC normalization (ｆｕｌｌ is full); marks on Latin,
//     Greek and Cyrillic letters are dropped (é is e, ö is o).
//   - Each Han, Hiragana, Katakana and Hangul character is a token of its
//     own, as these scripts do not put spaces between words: a word in
//     them is a phrase of characters, found inside longer compounds too
//     (東京 in 東京都庁).
func SearchTokens(text string) []string {
	var (
		toks []string
		cur  []rune
		base rune // the last letter, whose marks may be dropped
	)
	flush := func() {
		if len(cur) > 0 {
			if len(cur) > maxTokenRunes {
				cur = cur[:maxTokenRunes]
			}
			toks = append(toks, string(cur))
			cur = cur[:0]
		}
	}
	letter := func(r rune) {
		if len(cur) > 0 && isUnigram(base) {
			flush()
		}
		cur = append(cur, unicode.ToLower(r))
		base = r
	}
	for _, r := range norm.NFKC.String(unmarkup(text)) {
		switch {
		case unicode.IsMark(r):
			if len(cur) > 0 && !foldsMarks(base) {
				cur = append(cur, r)
			}
		case isUnigram(r):
			// Its marks, if any, stay with it until the next letter or
			// separator flushes it.
			flush()
			cur = append(cur, r)
			base = r
		case r >= 0x80 && foldsMarks(r):
			for _, d := range norm.NFD.String(string(r)) {
				if !unicode.IsMark(d) {
					letter(d)
				}
			}
		case unicode.IsLetter(r) || unicode.IsNumber(r):
			letter(r)
		default:
			flush()
		}
	}
	flush()
	return toks
}

func foldsMarks(r rune) bool {
	return unicode.In(r, unicode.Latin, unicode.Greek, unicode.Cyrillic)
}

// SearchBigrams returns the pairs of adjacent characters of the runs of
// words in a script without spaces (Han, kana, Hangul: SearchTokens makes
// each character a token) among tokens, in order, each pair one token
// (東京, 京都 for 東 京 都), with BigramBreak between two runs, so that
// pairs of different runs are never adjacent. An index of them answers a
// word of two or more such characters as a phrase of its pairs, a list
// of exact matches where the phrase of its characters intersects two long
// lists; nil when tokens hold no pair.
func SearchBigrams(tokens []string) []string {
	var out []string
	run := 0 // the length of the current run of one-character words
	for i, t := range tokens {
		if !IsUnigramToken(t) {
			run = 0
			continue
		}
		run++
		if run < 2 {
			continue
		}
		if run == 2 && len(out) > 0 {
			out = append(out, BigramBreak)
		}
		out = append(out, tokens[i-1]+t)
	}
	return out
}

// PhrasePairs returns the pairs a word term of words is a phrase of in an
// index of SearchBigrams: for a word of two or more characters of a
// script without spaces (東京 is the phrase 東京, 東京都 the phrase 東京
// 京都), nil for any other term and for a prefix (東京*), which is a
// phrase of its characters.
func PhrasePairs(words []string, prefix bool) []string {
	if prefix || len(words) < 2 {
		return nil
	}
	if pairs := SearchBigrams(words); len(pairs) == len(words)-1 {
		return pairs
	}
	return nil
}

// BigramBreak separates the bigrams of two runs (see SearchBigrams): a
// private-use character, which a token made by SearchTokens never holds.
const BigramBreak = "\uF8FF"

// IsUnigramToken reports whether t is one character of a script without
// spaces, which SearchTokens always makes a token of its own.
func IsUnigramToken(t string) bool {
	r, n := utf8.DecodeRuneInString(t)
	return n == len(t) && isUnigram(r)
}

func isUnigram(r rune) bool {
	// Below U+1100, where Hangul starts, none is: skip the tables.
	return r >= 0x1100 && unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul)
}

// unmarkup reads Slack's markup into plain text for tokenizing.
func unmarkup(text string) string {
	if !strings.ContainsAny(text, "<&") {
		return text
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(text, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(text[i:], '>')
		if j < 0 {
			break
		}
		b.WriteString(text[:i])
		inner := text[i+1 : i+j]
		text = text[i+j+1:]
		switch {
		case strings.HasPrefix(inner, "@"), strings.HasPrefix(inner, "!"):
			// a mention: not words of the message
		case strings.HasPrefix(inner, "#"):
			if _, name, ok := strings.Cut(inner, "|"); ok {
				b.WriteString(" " + name + " ")
			}
		default:
			url, label, _ := strings.Cut(inner, "|")
			b.WriteString(" " + url + " " + label + " ")
		}
	}
	b.WriteString(text)
	return entities.Replace(b.String())
}

var entities = strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">")
