package confab_test

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/confab/confab"
)

func TestMentions(t *testing.T) {
	for _, c := range []struct {
		text, blocks string
		users        []string
		broadcast    string
	}{
		{"", "", nil, ""},
		{"hello", "", nil, ""},
		{"hi <@U1AB>", "", []string{"U1AB"}, ""},
		{"hi <@U1AB|ann> and <@U2CD>", "", []string{"U1AB", "U2CD"}, ""},
		{"<@U1AB> <@U1AB|again>", "", []string{"U1AB"}, ""},
		{"enterprise <@W123>", "", []string{"W123"}, ""},
		{"not users: <@C123> <@u123> <@U> <@U1-2> <#C123> <@ U1>", "", nil, ""},
		{"@U1AB plain text", "", nil, ""},
		{"unclosed <@U1AB", "", nil, ""},
		{"<<@U1AB>", "", []string{"U1AB"}, ""},
		{"<@U1AB <@U2CD>", "", []string{"U2CD"}, ""},
		{"a link <https://x.test/?a=<@U1AB>", "", []string{"U1AB"}, ""},
		{"<https://x.test|&lt;@U1AB&gt;> <mailto:a@b.test|a@b>", "", nil, ""},
		{"<!here>", "", nil, confab.MentionHere},
		{"<!here|@here>", "", nil, confab.MentionHere},
		{"<!channel> <!here>", "", nil, confab.MentionChannel},
		{"<!here> <!everyone> <!channel>", "", nil, confab.MentionEveryone},
		{"<!subteam^S123|@team> <!date^1392734382^{date}|Feb 18> <!Here>", "", nil, ""},
		{"&lt;@U1AB&gt; is escaped", "", nil, ""},
		{"", `[{"type":"section","text":{"type":"mrkdwn","text":"<@U9>"}}]`, nil, ""},
		{"", `[{"type":"rich_text","elements":[{"type":"rich_text_section","elements":[` +
			`{"type":"text","text":"hi "},{"type":"user","user_id":"U1AB"},{"type":"broadcast","range":"here"}]}]}]`,
			[]string{"U1AB"}, confab.MentionHere},
		{"<@U2CD> <!channel>", `[{"type":"rich_text","elements":[{"type":"rich_text_list","style":"bullet","elements":[` +
			`{"type":"rich_text_section","elements":[{"type":"user","user_id":"U1AB"},{"type":"user","user_id":"U2CD"}]}]}]},` +
			`{"type":"rich_text","elements":[{"type":"rich_text_quote","elements":[{"type":"broadcast","range":"everyone"}]}]}]`,
			[]string{"U2CD", "U1AB"}, confab.MentionEveryone},
		{"", `[{"type":"rich_text","elements":[{"type":"user","user_id":"not an id"},{"type":"broadcast","range":"all"}]}]`, nil, ""},
		{"<@U1AB>", `not json`, []string{"U1AB"}, ""},
		{"", `{"type":"rich_text"}`, nil, ""},
	} {
		users, broadcast := confab.Mentions(c.text, c.blocks)
		if !slices.Equal(users, c.users) || broadcast != c.broadcast {
			t.Errorf("Mentions(%q, %q) = %q, %q, want %q, %q", c.text, c.blocks, users, broadcast, c.users, c.broadcast)
		}
	}
}

// FuzzMentions checks that Mentions never panics, returns each user once,
// only ids that appear in its input, and a known broadcast.
func FuzzMentions(f *testing.F) {
	f.Add("hi <@U1AB|ann> <!here>", "")
	f.Add("<<@U1><!channel|x>>", `[{"type":"rich_text","elements":[{"type":"user","user_id":"U2"}]}]`)
	f.Add("", `[{"type":"rich_text","elements":[{"type":"rich_text_list","elements":[{"type":"broadcast","range":"everyone"}]}]}]`)
	f.Fuzz(func(t *testing.T, text, blocks string) {
		users, broadcast := confab.Mentions(text, blocks)
		seen := map[string]bool{}
		for _, u := range users {
			if seen[u] {
				t.Fatalf("Mentions(%q, %q) = %q: %s twice", text, blocks, users, u)
			}
			seen[u] = true
			if !confab.ValidID(u, confab.PrefixUser) && !confab.ValidID(u, 'W') {
				t.Fatalf("Mentions(%q, %q) = %q: %q is not a user id", text, blocks, users, u)
			}
			if !strings.Contains(text, u) && !strings.Contains(blocks, u) {
				t.Fatalf("Mentions(%q, %q) = %q: %q is in neither", text, blocks, users, u)
			}
		}
		switch broadcast {
		case "", confab.MentionHere, confab.MentionChannel, confab.MentionEveryone:
		default:
			t.Fatalf("Mentions(%q, %q) broadcast = %q", text, blocks, broadcast)
		}
		// Text split anywhere mentions no one the whole text does not,
		// apart from ids cut in two.
		if utf8.ValidString(text) && len(text) > 1 {
			a, _ := confab.Mentions(text[:len(text)/2], "")
			for _, u := range a {
				if !seen[u] && !strings.Contains(text, "<@"+u+">") && !strings.Contains(text, "<@"+u+"|") {
					t.Fatalf("Mentions(%q) misses %q that its first half has", text, u)
				}
			}
		}
	})
}
