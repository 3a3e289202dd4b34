package confab_test

import (
	"strings"
	"testing"

	"github.com/confab/confab"
)

// hl shows the markers as [ and ] in expectations.
func hl(s string) string {
	return strings.NewReplacer(confab.HighlightStart, "[", confab.HighlightEnd, "]").Replace(s)
}

func TestHighlight(t *testing.T) {
	cases := []struct{ query, text, want string }{
		{"deploy", "Deploy done, deploying next", "[Deploy] done, deploying next"},
		{"depl*", "Deploy done, deploying next", "[Deploy] done, [deploying] next"},
		{"*ploy*", "Deploy done, deploying next", "[Deploy] done, [deploying] next"},
		{`"done deploying"`, "Deploy done, deploying next", "Deploy [done], [deploying] next"},
		{`"next deploy"`, "Deploy done, deploying next", "Deploy done, deploying next"},
		{"deploy -next", "deploy next", "[deploy] next"},
		{"cafe", "Un CAFÉ crème", "Un [CAFÉ] crème"},
		{"full", "ｆｕｌｌ width", "[ｆｕｌｌ] width"},
		{"東京", "明日東京都庁で", "明日[東][京]都庁で"},
		{"*e-m*", "an e-mail", "an [e]-[mail]"},
		// Markup is never marked inside, and its words still count.
		{"alice", "<@U1|alice> alice", "<@U1|alice> [alice]"},
		{"example", "see <https://example.com|example> or example.com", "see <https://example.com|example> or [example].com"},
		{`"see general"`, "see <#C1|general> now", "[see] <#C1|general> now"},
		{"amp", "a &amp; b amp", "a &amp; b [amp]"},
		{"lt", "&lt;tag&gt; lt", "&lt;tag&gt; [lt]"},
		{"tag", "&lt;tag&gt;", "&lt;[tag]&gt;"},
		{"b", "a < b", "a < [b]"},
		{"c", "<unclosed c &amp; c", "<unclosed [c] &amp; [c]"},
		// Operators only: nothing to mark.
		{"from:me", "anything", "anything"},
		{"x", "", ""},
	}
	for _, c := range cases {
		q, err := confab.ParseSearchQuery(c.query)
		if err != nil {
			t.Fatalf("%q: %v", c.query, err)
		}
		if got := hl(q.Highlight(c.text)); got != c.want {
			t.Errorf("query %q on %q: %q, want %q", c.query, c.text, got, c.want)
		}
	}
}

// Any query and text: parsing never panics, and highlighting only adds
// markers, around whole stretches of the text outside markup.
func FuzzHighlight(f *testing.F) {
	f.Add("deploy* -x \"a b\" *plo* in:#g from:me has::tada:", "Deploy <@U1> &amp; <https://x|deploy> 東京 deploying")
	f.Add("\"", "<")
	f.Add("*", "&")
	f.Add("e\u0301*", "e\u0301te\u0301 ﬁ")
	f.Fuzz(func(t *testing.T, query, text string) {
		q, err := confab.ParseSearchQuery(query)
		if err != nil {
			return
		}
		got := q.Highlight(text)
		if plain := strings.NewReplacer(confab.HighlightStart, "", confab.HighlightEnd, "").Replace(got); plain != text &&
			!strings.ContainsAny(text, confab.HighlightStart+confab.HighlightEnd) {
			t.Fatalf("Highlight(%q) = %q: not the text with markers", text, got)
		}
	})
}
