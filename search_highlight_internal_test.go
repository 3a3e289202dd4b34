package confab

import (
	"slices"
	"strings"
	"testing"
)

// Highlighting reads a text into exactly the tokens the index keeps of
// it (SearchTokens), each placed where it is written: every word a search
// finds, Highlight can mark.
func TestTokenSpansAsIndexed(t *testing.T) {
	texts := []string{
		"Héllo, Wörld! naïve CAFÉ façade Ελληνικά ＦＵＬＬ width",
		"東京都庁 ガギ abc 회의를 시작 हिन्दी",
		"<@U123> ping <!here> in <#C1|general> &amp; <https://ex.com/a|the site>",
		"&amp;amp; &lt;x&gt; <a <b> c> < d & &gt",
		"e\u0301t\u0301e\u0301 ﬁne ① x555x " + strings.Repeat("z", 80) + " end",
		"trailing <https://unclosed &amp; more",
		"\u0301lead mark, 東\u3099京",
		"",
	}
	for _, text := range texts {
		spans := tokenSpans(text)
		var toks []string
		for _, s := range spans {
			toks = append(toks, s.tok)
			if s.start < 0 {
				continue
			}
			if got := SearchTokens(text[s.start:s.end]); len(got) != 1 || got[0] != s.tok {
				t.Errorf("%q: token %q written at %q, which reads %q", text, s.tok, text[s.start:s.end], got)
			}
			if strings.ContainsAny(text[s.start:s.end], "<>") {
				t.Errorf("%q: token %q placed in markup, at %q", text, s.tok, text[s.start:s.end])
			}
		}
		if want := SearchTokens(text); !slices.Equal(toks, want) {
			t.Errorf("%q: tokens %q, SearchTokens %q", text, toks, want)
		}
	}
}
