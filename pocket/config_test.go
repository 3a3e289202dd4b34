package pocket_test

import (
	"strings"
	"testing"

	"github.com/confab/confab/pocket"
)

func TestParse(t *testing.T) {
	m, err := pocket.Parse([]byte(`
[[pocket]]
name = "a"
redis = "127.0.0.1:6379"
workspaces = ["acme"]
default = true

[[pocket]]
name = "b"
redis = "127.0.0.1:6380"
workspaces = ["globex", "T0B"]
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ id, domain, want string }{
		{"T1", "acme", "a"}, {"T2", "globex", "b"}, {"T0B", "renamed", "b"}, {"T3", "newco", "a"},
	} {
		if got := m.For(c.id, c.domain); got.Name != c.want {
			t.Errorf("For(%q, %q) = %s, want %s", c.id, c.domain, got.Name, c.want)
		}
	}
	if m.Named("b").Redis != "127.0.0.1:6380" || m.Named("c") != nil {
		t.Errorf("Named: %+v %+v", m.Named("b"), m.Named("c"))
	}
}

func TestParseRejects(t *testing.T) {
	for _, c := range []struct{ name, text, want string }{
		{"empty", ``, "no [[pocket]]"},
		{"no default", "[[pocket]]\nname='a'\nredis='x:1'\n", "default"},
		{"two defaults", "[[pocket]]\nname='a'\nredis='x:1'\ndefault=true\n[[pocket]]\nname='b'\nredis='x:2'\ndefault=true\n", "both default"},
		{"workspace twice", "[[pocket]]\nname='a'\nredis='x:1'\ndefault=true\nworkspaces=['w']\n[[pocket]]\nname='b'\nredis='x:2'\nworkspaces=['w']\n", "is in pockets"},
		{"name twice", "[[pocket]]\nname='a'\nredis='x:1'\ndefault=true\n[[pocket]]\nname='a'\nredis='x:2'\n", "named twice"},
		{"missing redis", "[[pocket]]\nname='a'\ndefault=true\n", "required"},
		{"typo", "[[pocket]]\nname='a'\nredis='x:1'\ndefault=true\nworkspace=['w']\n", "unknown keys"},
		{"not toml", "[[pocket", ""},
	} {
		if _, err := pocket.Parse([]byte(c.text)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Parse = %v, want an error about %q", c.name, err, c.want)
		}
	}
}
