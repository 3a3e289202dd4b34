package confab

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The search query language (search.messages' query, docs/api.md#search),
// as Slack's:
//
//	deploy failed         both words, anywhere in the text
//	"deploy failed"       the phrase: the words next to each other
//	-flaky -"known issue" neither the word nor the phrase
//	depl*                 a word beginning depl
//	*ploy* *ploy          ploy anywhere, inside words too (3 characters or more)
//	in:#general in:<#C1|general> in:C123   in that channel
//	in:@alice in:<@U1>    in the caller's DM with that user
//	from:@alice from:<@U1> from:U1 from:me posted by that user
//	to:@alice to:me       for that user: mentioning them, or in a DM or
//	                      group DM of theirs
//	before: after: on: during:   dates (SearchDate)
//	has:link has:reaction has::tada: has:pin is:thread
//
// Words are read as a message's text is (SearchTokens): a word that is
// several tokens (e-mail, foo:bar, a CJK word) is the phrase of them.
// Operators are case-insensitive; several in:, from: or to: each widen
// their condition (in:#a in:#b is either channel); every other part
// narrows the query. A word that looks like an operator but names none
// (foo:bar, https://x) is text, as in Slack. An operator that cannot be
// read (after:someday, in: with nothing) is a QueryError.

// SearchQuery is a query as ParseSearchQuery reads it: its text terms and
// its operators, names not yet resolved (package chat resolves them).
type SearchQuery struct {
	Terms    []SearchTerm
	Excluded []SearchTerm
	In       []SearchRef // in: (channels, or users for their DM)
	From     []SearchRef // from: (users)
	To       []SearchRef // to: (users)
	Dates    []SearchDate
	HasLink  bool
	// HasReaction: has:reaction; Reaction: has::name: (colons dropped).
	HasReaction bool
	Reaction    string
	HasPin      bool
	IsThread    bool
}

// SearchRef is a channel or user as a query names it: by id (<#C…|x>,
// <@U…>, C123, U123), by name (#general, @alice, general, alice), or the
// caller (me).
type SearchRef struct {
	User bool   // a user; else a channel
	ID   string // when named by id
	Name string // when named by name, lower-cased, without # or @
	Me   bool   // from:me, to:me
}

// SearchDate is one date condition. Op is "before" (earlier than the
// span), "after" (later than the span) or "on" (within it; during: is
// on:). Value is the span, lower-cased and checked: a day (2024-05-17), a
// month (2024-05), a year (2024), today, yesterday, week (this one,
// Monday to Sunday), month, year (the current ones), or a month's name
// (january or jan: its most recent one, this year's once it has begun).
// Every operator takes every span: after:2024 is from 2025 on.
type SearchDate struct {
	Op    string
	Value string
}

// QueryError is a query that cannot be read: Slack's error invalid_query,
// with Detail saying what is wrong (the API answers it as "detail").
type QueryError struct {
	Detail string
}

func (e *QueryError) Error() string { return "confab error: invalid_query: " + e.Detail }

// Unwrap makes a QueryError an *Error: EINVALID "invalid_query".
func (e *QueryError) Unwrap() error { return errInvalidQuery }

var errInvalidQuery = &Error{Code: EINVALID, Message: "invalid_query"}

// SubstringTooCommon is the QueryError of a substring term (*ing*) that
// more than max words of the store's vocabulary hold (or, for a term of
// several words, *ing the*, end with its first): a store looks a
// substring up as the words that hold it, and asks for more letters
// rather than search that many.
func SubstringTooCommon(t SearchTerm, max int) error {
	q := strings.Join(t.Words, " ")
	if len(t.Words) > 1 {
		return queryErrorf("*%s*: more than %d different words end with %q: add letters", q, max, t.Words[0])
	}
	return queryErrorf("*%s*: more than %d different words hold it: add letters", q, max)
}

// ErrNoQuery is a query with nothing in it (Slack's no_query).
var ErrNoQuery = &Error{Code: EINVALID, Message: "no_query"}

// Bounds of a query, so that one request cannot make the store's query
// arbitrarily large.
const (
	MaxQueryBytes = 2000
	MaxQueryTerms = 32 // terms and excluded terms
	MaxQueryRefs  = 32 // in:, from: and to: together
)

// minSubstringRunes is the shortest substring (*ock*) a query may search
// for: the stores find it through trigrams, three characters.
const minSubstringRunes = 3

// minPrefixRunes is the shortest prefix (de*) a query may search for,
// but for a character of a script without spaces, a token of its own: a
// one-letter prefix is the merge of a twentieth of every word's list (on
// SQLite, 0.4 s over a million messages).
const minPrefixRunes = 2

func queryErrorf(format string, args ...any) error {
	return &QueryError{Detail: fmt.Sprintf(format, args...)}
}

// ParseSearchQuery reads a query (see the language above). A query of
// nothing but spaces is ErrNoQuery; one with words that hold no search
// token (punctuation, a lone mention) parses to no terms for them.
func ParseSearchQuery(q string) (*SearchQuery, error) {
	if strings.TrimSpace(q) == "" {
		return nil, ErrNoQuery
	}
	if len(q) > MaxQueryBytes {
		return nil, queryErrorf("the query is longer than %d bytes", MaxQueryBytes)
	}
	if !utf8.ValidString(q) {
		return nil, queryErrorf("the query is not UTF-8")
	}
	sq := &SearchQuery{}
	for _, p := range splitQuery(q) {
		if err := sq.add(p); err != nil {
			return nil, err
		}
	}
	if len(sq.Terms)+len(sq.Excluded) > MaxQueryTerms {
		return nil, queryErrorf("the query has more than %d words and phrases", MaxQueryTerms)
	}
	if len(sq.In)+len(sq.From)+len(sq.To) > MaxQueryRefs {
		return nil, queryErrorf("the query has more than %d in:, from: and to:", MaxQueryRefs)
	}
	return sq, nil
}

// queryPart is one word or quoted phrase of a query.
type queryPart struct {
	text    string
	negated bool // written with a leading -
	quoted  bool // "a phrase"
}

// splitQuery splits a query at spaces, a quoted phrase ("…", or “…”)
// being one part; an unclosed quote runs to the end.
func splitQuery(q string) []queryPart {
	var parts []queryPart
	for {
		q = strings.TrimLeftFunc(q, unicode.IsSpace)
		if q == "" {
			return parts
		}
		var p queryPart
		if rest, ok := strings.CutPrefix(q, "-"); ok && rest != "" && !unicode.IsSpace(firstRune(rest)) {
			p.negated, q = true, rest
		}
		if open := firstRune(q); open == '"' || open == '“' {
			q = q[utf8.RuneLen(open):]
			end := strings.IndexAny(q, "\"”")
			if end < 0 {
				end = len(q)
			}
			p.text, p.quoted = q[:end], true
			q = q[end:]
			if q != "" {
				_, n := utf8.DecodeRuneInString(q)
				q = q[n:]
			}
		} else {
			end := strings.IndexFunc(q, unicode.IsSpace)
			if end < 0 {
				end = len(q)
			}
			p.text, q = q[:end], q[end:]
		}
		parts = append(parts, p)
	}
}

func firstRune(s string) rune {
	r, _ := utf8.DecodeRuneInString(s)
	return r
}

// operators are the query's operators by name.
var operators = map[string]func(sq *SearchQuery, v string) error{
	"in":     (*SearchQuery).addIn,
	"from":   func(sq *SearchQuery, v string) error { return sq.addUser(&sq.From, "from", v) },
	"to":     func(sq *SearchQuery, v string) error { return sq.addUser(&sq.To, "to", v) },
	"before": func(sq *SearchQuery, v string) error { return sq.addDate("before", "before", v) },
	"after":  func(sq *SearchQuery, v string) error { return sq.addDate("after", "after", v) },
	"on":     func(sq *SearchQuery, v string) error { return sq.addDate("on", "on", v) },
	"during": func(sq *SearchQuery, v string) error { return sq.addDate("during", "on", v) },
	"has":    (*SearchQuery).addHas,
	"is":     (*SearchQuery).addIs,
}

func (sq *SearchQuery) add(p queryPart) error {
	if !p.quoted {
		if name, v, ok := strings.Cut(p.text, ":"); ok {
			if op, known := operators[strings.ToLower(name)]; known {
				if p.negated {
					return queryErrorf("-%s: cannot be excluded", strings.ToLower(name))
				}
				return op(sq, v)
			}
		}
	}
	t, err := textTerm(p)
	if err != nil || t == nil {
		return err
	}
	if p.negated {
		sq.Excluded = append(sq.Excluded, *t)
	} else {
		sq.Terms = append(sq.Terms, *t)
	}
	return nil
}

// textTerm reads a word or phrase: nil when it holds no search token.
func textTerm(p queryPart) (*SearchTerm, error) {
	if p.quoted {
		return wordsTerm(SearchTokens(p.text)), nil
	}
	w := p.text
	if inner, ok := strings.CutPrefix(w, "*"); ok {
		inner = strings.TrimSuffix(inner, "*")
		toks := SearchTokens(inner)
		if utf8.RuneCountInString(strings.Join(toks, " ")) < minSubstringRunes {
			return nil, queryErrorf("%s: a search inside words (*…*) needs at least %d characters", w, minSubstringRunes)
		}
		return &SearchTerm{Words: toks, Substring: true}, nil
	}
	if stem, ok := strings.CutSuffix(w, "*"); ok {
		t := wordsTerm(SearchTokens(stem))
		if t == nil {
			return nil, nil
		}
		if last := t.Words[len(t.Words)-1]; utf8.RuneCountInString(last) < minPrefixRunes && !IsUnigramToken(last) {
			return nil, queryErrorf("%s: a prefix (…*) needs at least %d characters", w, minPrefixRunes)
		}
		t.Prefix = true
		return t, nil
	}
	return wordsTerm(SearchTokens(w)), nil
}

func wordsTerm(toks []string) *SearchTerm {
	if len(toks) == 0 {
		return nil
	}
	return &SearchTerm{Words: toks}
}

// markupRef reads Slack's markup of a channel (<#C…|name>, <#C…>) or a
// user (<@U…|name>, <@U…>): its id.
func markupRef(v string, sigil byte) (id string, ok bool) {
	if len(v) < 3 || v[0] != '<' || v[1] != sigil || v[len(v)-1] != '>' {
		return "", false
	}
	id, _, _ = strings.Cut(v[2:len(v)-1], "|")
	return id, true
}

func (sq *SearchQuery) addIn(v string) error {
	if v == "" {
		return queryErrorf("in: needs a channel (in:#general) or a user (in:@alice)")
	}
	var r SearchRef
	if id, ok := markupRef(v, '#'); ok {
		if !IsConversationID(id) {
			return queryErrorf("in:%s: not a channel", v)
		}
		r.ID = id
	} else if id, ok := markupRef(v, '@'); ok {
		if !ValidID(id, PrefixUser) {
			return queryErrorf("in:%s: not a user", v)
		}
		r.User, r.ID = true, id
	} else if name, ok := strings.CutPrefix(v, "#"); ok {
		r.Name = strings.ToLower(name)
	} else if name, ok := strings.CutPrefix(v, "@"); ok {
		r.User, r.Name = true, strings.ToLower(name)
	} else if IsConversationID(v) {
		r.ID = v
	} else if ValidID(v, PrefixUser) {
		r.User, r.ID = true, v
	} else {
		r.Name = strings.ToLower(v)
	}
	if r.ID == "" && r.Name == "" {
		return queryErrorf("in:%s: needs a name", v)
	}
	sq.In = append(sq.In, r)
	return nil
}

func (sq *SearchQuery) addUser(list *[]SearchRef, op, v string) error {
	if v == "" {
		return queryErrorf("%s: needs a user (%s:@alice, %s:me)", op, op, op)
	}
	r := SearchRef{User: true}
	if id, ok := markupRef(v, '@'); ok {
		if !ValidID(id, PrefixUser) {
			return queryErrorf("%s:%s: not a user", op, v)
		}
		r.ID = id
	} else if name, ok := strings.CutPrefix(v, "@"); ok {
		r.Name = strings.ToLower(name)
	} else if strings.EqualFold(v, "me") {
		r.Me = true
	} else if ValidID(v, PrefixUser) {
		r.ID = v
	} else {
		r.Name = strings.ToLower(v)
	}
	if !r.Me && r.ID == "" && r.Name == "" {
		return queryErrorf("%s:%s: needs a name", op, v)
	}
	*list = append(*list, r)
	return nil
}

func (sq *SearchQuery) addHas(v string) error {
	switch lv := strings.ToLower(v); {
	case lv == "link":
		sq.HasLink = true
	case lv == "reaction":
		sq.HasReaction = true
	case lv == "pin":
		sq.HasPin = true
	case len(v) > 2 && v[0] == ':' && v[len(v)-1] == ':' && ValidReactionName(v[1:len(v)-1]):
		name := v[1 : len(v)-1]
		if sq.Reaction != "" && sq.Reaction != name {
			return queryErrorf("has:%s: a query takes one has::emoji:", v)
		}
		sq.Reaction = name
	default:
		return queryErrorf("has:%s: has: takes link, reaction, pin or an :emoji:", v)
	}
	return nil
}

func (sq *SearchQuery) addIs(v string) error {
	if !strings.EqualFold(v, "thread") {
		return queryErrorf("is:%s: is: takes thread", v)
	}
	sq.IsThread = true
	return nil
}

func (sq *SearchQuery) addDate(name, op, v string) error {
	lv := strings.ToLower(v)
	if _, ok := spanOf(lv, time.Unix(0, 0).UTC()); !ok {
		return queryErrorf("%s:%s: takes a date as YYYY-MM-DD, YYYY-MM, YYYY, today, yesterday, week, month, year or a month's name", name, v)
	}
	sq.Dates = append(sq.Dates, SearchDate{Op: op, Value: lv})
	return nil
}

// TimeRange resolves the query's dates into the bounds of a
// SearchFilter, in microseconds: since (inclusive) and until (exclusive),
// 0 for none. now and loc say what today is and where days begin. empty
// reports dates that no message can meet (after:2024 before:2023).
func (sq *SearchQuery) TimeRange(now time.Time, loc *time.Location) (since, until int64, empty bool) {
	now = now.In(loc)
	var lo, hi *time.Time
	later := func(t time.Time) { // a lower bound
		if lo == nil || t.After(*lo) {
			lo = &t
		}
	}
	earlier := func(t time.Time) { // an upper bound
		if hi == nil || t.Before(*hi) {
			hi = &t
		}
	}
	for _, d := range sq.Dates {
		s, ok := spanOf(d.Value, now)
		if !ok {
			continue // ParseSearchQuery checked it
		}
		switch d.Op {
		case "before":
			earlier(s[0])
		case "after":
			later(s[1])
		default:
			later(s[0])
			earlier(s[1])
		}
	}
	if lo != nil && lo.UnixMicro() > 0 {
		since = lo.UnixMicro()
	}
	if hi != nil {
		until = hi.UnixMicro()
		if until <= 0 {
			return 0, 0, true
		}
	}
	if until != 0 && since >= until {
		return 0, 0, true
	}
	return since, until, false
}

// months are the names of the months, by number.
var months = map[string]time.Month{}

func init() {
	for m := time.January; m <= time.December; m++ {
		name := strings.ToLower(m.String())
		months[name], months[name[:3]] = m, m
	}
}

// spanOf returns the span [start, end) a date value names, in now's
// location.
func spanOf(v string, now time.Time) ([2]time.Time, bool) {
	loc := now.Location()
	y, mo, d := now.Date()
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, loc) }
	span := func(start time.Time, years, months, days int) ([2]time.Time, bool) {
		return [2]time.Time{start, start.AddDate(years, months, days)}, true
	}
	switch v {
	case "today":
		return span(day(y, mo, d), 0, 0, 1)
	case "yesterday":
		return span(day(y, mo, d-1), 0, 0, 1)
	case "week": // Monday to Sunday
		back := (int(now.Weekday()) + 6) % 7
		return span(day(y, mo, d-back), 0, 0, 7)
	case "month":
		return span(day(y, mo, 1), 0, 1, 0)
	case "year":
		return span(day(y, 1, 1), 1, 0, 0)
	}
	if m, ok := months[v]; ok {
		if m > mo {
			y-- // its most recent one
		}
		return span(day(y, m, 1), 0, 1, 0)
	}
	switch len(v) {
	case len("2006-01-02"):
		if t, err := time.ParseInLocation("2006-01-02", v, loc); err == nil {
			return span(t, 0, 0, 1)
		}
	case len("2006-01"):
		if t, err := time.ParseInLocation("2006-01", v, loc); err == nil {
			return span(t, 0, 1, 0)
		}
	case len("2006"):
		if n, err := strconv.Atoi(v); err == nil && n > 0 && v[0] != '+' && v[0] != '-' {
			return span(day(n, 1, 1), 1, 0, 0)
		}
	}
	return [2]time.Time{}, false
}
