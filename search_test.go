package confab_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/confab/confab"
)

func TestSearchTokens(t *testing.T) {
	cases := []struct {
		text string
		want []string
	}{
		{"Héllo, Wörld!", []string{"hello", "world"}},
		{"naïve CAFÉ façade", []string{"naive", "cafe", "facade"}},
		{"Ελληνικά", []string{"ελληνικα"}},
		{"ＦＵＬＬ width", []string{"full", "width"}},
		{"東京都庁", []string{"東", "京", "都", "庁"}},
		{"ガギ abc", []string{"ガ", "ギ", "abc"}},         // voicing kept: ガ is not カ
		{"회의를 시작", []string{"회", "의", "를", "시", "작"}}, // syllables, never jamo
		{"<@U123> ping <!here>", []string{"ping"}},
		{"in <#C1|general> &amp; <https://ex.com/a|the site>", []string{"in", "general", "https", "ex", "com", "a", "the", "site"}},
		{"hostname.test.com x555x", []string{"hostname", "test", "com", "x555x"}},
		{"हिन्दी", []string{"हिन्दी"}}, // marks of other scripts stay in the word
		{"", nil},
	}
	for _, c := range cases {
		if got := confab.SearchTokens(c.text); !slices.Equal(got, c.want) {
			t.Errorf("SearchTokens(%q) = %q, want %q", c.text, got, c.want)
		}
	}
}

func TestSearchDocLink(t *testing.T) {
	for text, want := range map[string]bool{
		"see <https://example.com>":      true,
		"see <http://x.y|label>":         true,
		"mail <mailto:a@b.c|a@b.c>":      true,
		"typed https://example.com here": true,
		"no link, just http talk":        false,
		"<#C1|general>":                  false,
	} {
		if _, got := confab.SearchDoc(text); got != want {
			t.Errorf("SearchDoc(%q) link = %v, want %v", text, got, want)
		}
	}
}

func TestSearchBigrams(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"東京都庁", "東京 京都 都庁"},
		{"東京 tower 大阪", "東京 \uF8FF 大阪"},
		{"会議 東", "会議 議東"}, // tokens keep no spaces: as the phrase 会 議 東 would
		{"a 東 b 京", ""},
		{"テスト", "テス スト"},
		{"hello world", ""},
	} {
		if got := strings.Join(confab.SearchBigrams(confab.SearchTokens(tc.text)), " "); got != tc.want {
			t.Errorf("SearchBigrams(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
}
