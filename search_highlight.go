package confab

import (
	"sort"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Highlight markers: search.messages with highlight=true wraps each
// matched word of a match's text in them, as Slack does.
const (
	HighlightStart = "\ue000"
	HighlightEnd   = "\ue001"
)

// Highlight returns text with the words that match the query's terms
// wrapped in HighlightStart and HighlightEnd: each word of a matched
// phrase, a word a prefix (depl*) begins, every word a substring (*ploy*)
// touches, each character of a CJK word. Words are found as the index
// finds them (SearchTokens); the text is otherwise left as it is, and
// Slack's markup (<@U…>, <#C…|name>, <https://…|label>) is never marked
// inside, though its words count for a phrase around it. Excluded terms
// mark nothing.
func (sq *SearchQuery) Highlight(text string) string {
	if len(sq.Terms) == 0 || text == "" {
		return text
	}
	spans := tokenSpans(text)
	marked := make([]bool, len(spans))
	for _, t := range sq.Terms {
		markTerm(spans, marked, t)
	}
	var b strings.Builder
	last := 0
	for i, s := range spans {
		if !marked[i] || s.start < 0 {
			continue
		}
		b.WriteString(text[last:s.start])
		b.WriteString(HighlightStart)
		b.WriteString(text[s.start:s.end])
		b.WriteString(HighlightEnd)
		last = s.end
	}
	if last == 0 {
		return text
	}
	b.WriteString(text[last:])
	return b.String()
}

// markTerm marks the tokens of spans that t matches.
func markTerm(spans []tokenSpan, marked []bool, t SearchTerm) {
	n := len(t.Words)
	if n == 0 {
		return
	}
	if t.Substring {
		// The token text as the index keeps it (SearchDoc's body), each
		// token's offset in it.
		var body strings.Builder
		at := make([]int, len(spans))
		for i, s := range spans {
			if i > 0 {
				body.WriteByte(' ')
			}
			at[i] = body.Len()
			body.WriteString(s.tok)
		}
		text, needle := body.String(), strings.Join(t.Words, " ")
		for from := 0; from <= len(text); {
			j := strings.Index(text[from:], needle)
			if j < 0 {
				break
			}
			lo, hi := from+j, from+j+len(needle)
			// The tokens it touches: from the first that ends after lo.
			i := sort.Search(len(spans), func(i int) bool { return at[i]+len(spans[i].tok) > lo })
			for ; i < len(spans) && at[i] < hi; i++ {
				marked[i] = true
			}
			from = lo + 1
		}
		return
	}
	for i := 0; i+n <= len(spans); i++ {
		ok := true
		for k, w := range t.Words {
			tok := spans[i+k].tok
			if k == n-1 && t.Prefix {
				ok = strings.HasPrefix(tok, w)
			} else {
				ok = tok == w
			}
			if !ok {
				break
			}
		}
		if ok {
			for k := range n {
				marked[i+k] = true
			}
		}
	}
}

// tokenSpan is a search token of a text and where it is written: the
// bytes [start, end) of the text, or start -1 for a token of Slack's
// markup, which is not to be marked.
type tokenSpan struct {
	tok        string
	start, end int
}

// tokenSpans returns the search tokens of text with their places: the
// tokens of SearchTokens(text), in order, read the same way.
func tokenSpans(text string) []tokenSpan {
	var t spanTokenizer
	plain, markup := 0, true
	for i := 0; i < len(text); {
		if text[i] == '<' && markup {
			j := strings.IndexByte(text[i:], '>')
			if j < 0 {
				markup = false // none from here on, as unmarkup reads it
				i++
				continue
			}
			t.plain(text, plain, i)
			for _, tok := range SearchTokens(text[i : i+j+1]) {
				t.spans = append(t.spans, tokenSpan{tok: tok, start: -1, end: -1})
			}
			i += j + 1
			plain = i
			continue
		}
		if text[i] == '&' {
			// An entity is the character it stands for: a separator.
			if e := entityAt(text[i:]); e > 0 {
				t.plain(text, plain, i)
				i += e
				plain = i
				continue
			}
		}
		i++
	}
	t.plain(text, plain, len(text))
	return t.spans
}

// entityAt returns the length of the entity text begins with, 0 for none.
func entityAt(text string) int {
	for _, e := range [...]string{"&amp;", "&lt;", "&gt;"} {
		if strings.HasPrefix(text, e) {
			return len(e)
		}
	}
	return 0
}

// spanTokenizer is SearchTokens' reading of plain text, keeping where
// each token is written.
type spanTokenizer struct {
	spans    []tokenSpan
	cur      []rune
	base     rune
	from, to int // the bytes of cur
}

// plain tokenizes text[from:to], a stretch without markup, then ends
// the token under way (markup and entities separate tokens).
func (t *spanTokenizer) plain(text string, from, to int) {
	if from < to {
		var it norm.Iter
		it.InitString(norm.NFKC, text[from:to])
		for !it.Done() {
			p := from + it.Pos()
			seg := string(it.Next())
			q := from + it.Pos()
			for _, r := range seg {
				t.rune(r, p, q)
			}
		}
	}
	t.flush()
}

func (t *spanTokenizer) flush() {
	if len(t.cur) == 0 {
		return
	}
	cur := t.cur
	if len(cur) > maxTokenRunes {
		cur = cur[:maxTokenRunes]
	}
	t.spans = append(t.spans, tokenSpan{tok: string(cur), start: t.from, end: t.to})
	t.cur = t.cur[:0]
}

// add appends r, written at bytes [p, q), to the token under way.
func (t *spanTokenizer) add(r rune, p, q int) {
	if len(t.cur) == 0 {
		t.from = p
	}
	t.cur = append(t.cur, r)
	t.to = q
}

func (t *spanTokenizer) letter(r rune, p, q int) {
	if len(t.cur) > 0 && isUnigram(t.base) {
		t.flush()
	}
	t.add(unicode.ToLower(r), p, q)
	t.base = r
}

// rune is one step of SearchTokens' loop.
func (t *spanTokenizer) rune(r rune, p, q int) {
	switch {
	case unicode.IsMark(r):
		if len(t.cur) > 0 && !foldsMarks(t.base) {
			t.add(r, p, q)
		}
	case isUnigram(r):
		t.flush()
		t.add(r, p, q)
		t.base = r
	case r >= 0x80 && foldsMarks(r):
		for _, d := range norm.NFD.String(string(r)) {
			if !unicode.IsMark(d) {
				t.letter(d, p, q)
			}
		}
	case unicode.IsLetter(r) || unicode.IsNumber(r):
		t.letter(r, p, q)
	default:
		t.flush()
	}
}
