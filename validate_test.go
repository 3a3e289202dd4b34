package confab_test

import (
	"encoding/json"
	"strings"
	"testing"
	_ "time/tzdata" // whatever the machine has in /usr/share/zoneinfo

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

func TestValidTZ(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"Europe/Paris", true}, {"America/Argentina/Buenos_Aires", true}, {"UTC", true},
		{"", false}, {"Local", false}, {"Mars/Olympus_Mons", false}, {"../../etc/passwd", false},
		{strings.Repeat("A/", 40), false},
	} {
		if got := confab.ValidTZ(tc.name); got != tc.ok {
			t.Errorf("ValidTZ(%q) = %v, want %v", tc.name, got, tc.ok)
		}
	}
}

// A user's time zone is Slack's tz, tz_label and tz_offset; a user with
// none (or one this build does not know) has none of the three.
func TestUserWireTZ(t *testing.T) {
	u := confab.User{ID: "U1", Name: "kenji", TZ: "Asia/Tokyo"} // no daylight saving time
	raw, err := json.Marshal(u.Wire())
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if got["tz"] != "Asia/Tokyo" || got["tz_label"] != "JST" || got["tz_offset"] != 32400.0 {
		t.Errorf("Tokyo: tz %v, tz_label %v, tz_offset %v", got["tz"], got["tz_label"], got["tz_offset"])
	}
	for _, tz := range []string{"", "Mars/Olympus_Mons"} {
		u.TZ = tz
		raw, _ := json.Marshal(u.Wire())
		if strings.Contains(string(raw), `"tz`) {
			t.Errorf("TZ %q: %s, want no tz fields", tz, raw)
		}
	}
}
