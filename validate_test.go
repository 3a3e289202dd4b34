package confab_test

import (
	"testing"

	"github.com/confab/confab"
)

// Reaction names are Slack's: a name, or a name with a skin tone as
// "+1::skin-tone-2" … "+1::skin-tone-6".
func TestValidReactionName(t *testing.T) {
	for s, want := range map[string]bool{
		"+1": true, "thumbsup": true, "spock-hand": true, "+1::skin-tone-2": true, "wave::skin-tone-6": true,
		"": false, "Thumbsup": false, "a b": false, "+1::skin-tone-1": false, "+1::skin-tone-7": false,
		"+1::skin-tone-22": false, "::skin-tone-2": false, "+1::": false, "+1::skin-tone-2::skin-tone-3": false,
		"+1:skin-tone-2": false, "+1::bogus-tone-2": false,
	} {
		if got := confab.ValidReactionName(s); got != want {
			t.Errorf("ValidReactionName(%q) = %v; want %v", s, got, want)
		}
	}
}
