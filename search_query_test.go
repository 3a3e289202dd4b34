package confab_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/confab/confab"
)

func TestParseSearchQuery(t *testing.T) {
	w := func(words ...string) confab.SearchTerm { return confab.SearchTerm{Words: words} }
	terms := func(ts ...confab.SearchTerm) []confab.SearchTerm { return ts }
	cases := []struct {
		q    string
		want confab.SearchQuery
	}{
		{"deploy", confab.SearchQuery{Terms: terms(w("deploy"))}},
		{"  Deploy   FAILED ", confab.SearchQuery{Terms: terms(w("deploy"), w("failed"))}},
		{`"deploy failed" now`, confab.SearchQuery{Terms: terms(w("deploy", "failed"), w("now"))}},
		{`“smart quotes”`, confab.SearchQuery{Terms: terms(w("smart", "quotes"))}},
		{`"unclosed phrase`, confab.SearchQuery{Terms: terms(w("unclosed", "phrase"))}},
		{`-flaky -"known issue" ok`, confab.SearchQuery{Terms: terms(w("ok")), Excluded: terms(w("flaky"), w("known", "issue"))}},
		{"depl*", confab.SearchQuery{Terms: terms(confab.SearchTerm{Words: []string{"depl"}, Prefix: true})}},
		{"-depl*", confab.SearchQuery{Excluded: terms(confab.SearchTerm{Words: []string{"depl"}, Prefix: true})}},
		{"de*", confab.SearchQuery{Terms: terms(confab.SearchTerm{Words: []string{"de"}, Prefix: true})}},
		{"東*", confab.SearchQuery{Terms: terms(confab.SearchTerm{Words: []string{"東"}, Prefix: true})}},
		{"*ploy*", confab.SearchQuery{Terms: terms(confab.SearchTerm{Words: []string{"ploy"}, Substring: true})}},
		{"*OCK", confab.SearchQuery{Terms: terms(confab.SearchTerm{Words: []string{"ock"}, Substring: true})}},
		{"e-mail", confab.SearchQuery{Terms: terms(w("e", "mail"))}},
		{"東京", confab.SearchQuery{Terms: terms(w("東", "京"))}},
		{"Café", confab.SearchQuery{Terms: terms(w("cafe"))}},
		// Not an operator: text, as in Slack.
		{"foo:bar", confab.SearchQuery{Terms: terms(w("foo", "bar"))}},
		{"https://example.com", confab.SearchQuery{Terms: terms(w("https", "example", "com"))}},
		{`"in:#general"`, confab.SearchQuery{Terms: terms(w("in", "general"))}},
		// Words without a token are dropped.
		{"?? - <@U1>", confab.SearchQuery{}},
		// Operators.
		{"in:#General in:<#C123|general> in:<#G9> in:C42 in:random", confab.SearchQuery{In: []confab.SearchRef{
			{Name: "general"}, {ID: "C123"}, {ID: "G9"}, {ID: "C42"}, {Name: "random"}}}},
		{"in:@Alice in:<@U1|alice> in:U2", confab.SearchQuery{In: []confab.SearchRef{
			{User: true, Name: "alice"}, {User: true, ID: "U1"}, {User: true, ID: "U2"}}}},
		{"from:@bob FROM:<@U7> from:me from:U8 from:carol", confab.SearchQuery{From: []confab.SearchRef{
			{User: true, Name: "bob"}, {User: true, ID: "U7"}, {User: true, Me: true}, {User: true, ID: "U8"}, {User: true, Name: "carol"}}}},
		{"to:me to:@dave", confab.SearchQuery{To: []confab.SearchRef{{User: true, Me: true}, {User: true, Name: "dave"}}}},
		{"before:2024-05-17 after:2023 on:Today during:2024-02 during:week during:jan", confab.SearchQuery{Dates: []confab.SearchDate{
			{"before", "2024-05-17"}, {"after", "2023"}, {"on", "today"}, {"on", "2024-02"}, {"on", "week"}, {"on", "jan"}}}},
		{"has:link has:Reaction has::tada: has:pin is:thread x", confab.SearchQuery{Terms: terms(w("x")),
			HasLink: true, HasReaction: true, Reaction: "tada", HasPin: true, IsThread: true}},
		{"has::+1: has::+1:", confab.SearchQuery{Reaction: "+1"}},
	}
	for _, c := range cases {
		got, err := confab.ParseSearchQuery(c.q)
		if err != nil {
			t.Errorf("ParseSearchQuery(%q): %v", c.q, err)
			continue
		}
		if !reflect.DeepEqual(*got, c.want) {
			t.Errorf("ParseSearchQuery(%q) =\n %+v\nwant\n %+v", c.q, *got, c.want)
		}
	}
}

func TestParseSearchQueryErrors(t *testing.T) {
	for q, detail := range map[string]string{
		"in:":                    "in: needs",
		"in:#":                   "needs a name",
		"from:":                  "from: needs",
		"to:@":                   "needs a name",
		"in:<#X1|x>":             "not a channel",
		"from:<@C1>":             "not a user",
		"after:notadate":         "takes a date",
		"before:2024-13-01":      "takes a date",
		"on:2024-02-30":          "takes a date",
		"during:-200":            "takes a date",
		"has:star":               "has: takes",
		"has::not an emoji:":     "has: takes",
		"has::a: has::b:":        "one has::emoji:",
		"is:dm":                  "is: takes",
		"-in:#general":           "cannot be excluded",
		"*ab*":                   "at least 3",
		"*":                      "at least 3",
		"s*":                     "at least 2",
		"release n*":             "at least 2",
		strings.Repeat("x", 3e3): "longer than",
		strings.Repeat("w ", confab.MaxQueryTerms+1):      "words and phrases",
		strings.Repeat("from:me ", confab.MaxQueryRefs+1): "in:, from: and to:",
	} {
		_, err := confab.ParseSearchQuery(q)
		var qe *confab.QueryError
		if !errors.As(err, &qe) || !strings.Contains(qe.Detail, detail) {
			t.Errorf("ParseSearchQuery(%.40q) = %v, want a QueryError saying %q", q, err, detail)
			continue
		}
		if confab.ErrorMessage(err) != "invalid_query" || confab.ErrorCode(err) != confab.EINVALID {
			t.Errorf("ParseSearchQuery(%.40q): %s/%s, want invalid/invalid_query", q, confab.ErrorCode(err), confab.ErrorMessage(err))
		}
	}
	for _, q := range []string{"", "   \t\n"} {
		if _, err := confab.ParseSearchQuery(q); confab.ErrorMessage(err) != "no_query" {
			t.Errorf("ParseSearchQuery(%q) = %v, want no_query", q, err)
		}
	}
}

func TestSearchTimeRange(t *testing.T) {
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	// Wednesday 2024-05-15 10:00 UTC, 19:00 in Tokyo.
	now := time.Date(2024, 5, 15, 10, 0, 0, 0, time.UTC)
	at := func(loc *time.Location, y int, m time.Month, d int) int64 {
		return time.Date(y, m, d, 0, 0, 0, 0, loc).UnixMicro()
	}
	utc := time.UTC
	cases := []struct {
		q            string
		loc          *time.Location
		since, until int64
		empty        bool
	}{
		{"x", utc, 0, 0, false},
		{"on:2024-05-01", utc, at(utc, 2024, 5, 1), at(utc, 2024, 5, 2), false},
		{"on:2024-05-01", tokyo, at(tokyo, 2024, 5, 1), at(tokyo, 2024, 5, 2), false},
		{"before:2024-05-01", utc, 0, at(utc, 2024, 5, 1), false},
		{"after:2024-05-01", utc, at(utc, 2024, 5, 2), 0, false},
		{"after:2024-04-30 before:2024-05-03", utc, at(utc, 2024, 5, 1), at(utc, 2024, 5, 3), false},
		{"during:2024-02", utc, at(utc, 2024, 2, 1), at(utc, 2024, 3, 1), false},
		{"during:2023", utc, at(utc, 2023, 1, 1), at(utc, 2024, 1, 1), false},
		{"after:2023", utc, at(utc, 2024, 1, 1), 0, false},
		{"on:today", utc, at(utc, 2024, 5, 15), at(utc, 2024, 5, 16), false},
		{"on:yesterday", utc, at(utc, 2024, 5, 14), at(utc, 2024, 5, 15), false},
		{"on:today", tokyo, at(tokyo, 2024, 5, 15), at(tokyo, 2024, 5, 16), false},
		{"during:week", utc, at(utc, 2024, 5, 13), at(utc, 2024, 5, 20), false}, // Monday to Monday
		{"during:month", utc, at(utc, 2024, 5, 1), at(utc, 2024, 6, 1), false},
		{"during:year", utc, at(utc, 2024, 1, 1), at(utc, 2025, 1, 1), false},
		{"during:march", utc, at(utc, 2024, 3, 1), at(utc, 2024, 4, 1), false},
		{"during:dec", utc, at(utc, 2023, 12, 1), at(utc, 2024, 1, 1), false}, // the last one
		{"during:2024 on:2024-03-09", utc, at(utc, 2024, 3, 9), at(utc, 2024, 3, 10), false},
		{"after:2024 before:2023", utc, 0, 0, true},
		{"on:2024-01-01 on:2024-01-02", utc, 0, 0, true},
		{"before:1970-01-01", utc, 0, 0, true},
		{"after:1900", utc, 0, 0, false},
	}
	for _, c := range cases {
		q, err := confab.ParseSearchQuery(c.q)
		if err != nil {
			t.Fatalf("%q: %v", c.q, err)
		}
		since, until, empty := q.TimeRange(now, c.loc)
		if since != c.since || until != c.until || empty != c.empty {
			t.Errorf("%q in %v: TimeRange = %d, %d, %v; want %d, %d, %v", c.q, c.loc, since, until, empty, c.since, c.until, c.empty)
		}
	}
}
