package confab_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/confab/confab"
)

// A YAML manifest, the way Slack shows one, reads as the same manifest as
// its JSON, which is what is kept.
func TestParseManifestYAML(t *testing.T) {
	yml := `# an app
display_information:
  name: Deploy Helper
features:
  bot_user:
    display_name: "Deploy Bot"
    always_online: yes
oauth_config:
  scopes:
    bot:
      - chat:write
      - channels:history
settings:
  socket_mode_enabled: true
  org_deploy_enabled: false
  event_subscriptions:
    bot_events: [message.channels]
  ratio: 1.5
  count: 0x10
  none: ~
`
	m, err := confab.ParseManifest(yml)
	if err != nil {
		t.Fatalf("ParseManifest(yaml) = %v", err)
	}
	if m.Name != "Deploy Helper" || m.BotName != "Deploy Bot" || !m.SocketMode ||
		strings.Join(m.BotScopes, ",") != "channels:history,chat:write" || strings.Join(m.BotEvents, ",") != "message.channels" {
		t.Errorf("manifest = %+v", m)
	}
	want := `{"display_information":{"name":"Deploy Helper"},"features":{"bot_user":{"display_name":"Deploy Bot","always_online":"yes"}},` +
		`"oauth_config":{"scopes":{"bot":["chat:write","channels:history"]}},"settings":{"socket_mode_enabled":true,"org_deploy_enabled":false,` +
		`"event_subscriptions":{"bot_events":["message.channels"]},"ratio":1.5,"count":16,"none":null}}`
	if m.JSON != want {
		t.Errorf("JSON =\n%s\nwant\n%s", m.JSON, want)
	}
	j, err := confab.ParseManifest("  \n" + want)
	if err != nil || j.JSON != want {
		t.Errorf("ParseManifest(its JSON) = %+v, %v", j, err)
	}
}

// A bad YAML manifest is invalid_manifest with a problem that says what and
// where: the line of a syntax error, the pointer of a bad value.
func TestParseManifestYAMLProblems(t *testing.T) {
	for _, c := range []struct {
		name, in, pointer, message string
	}{
		{"syntax", "display_information:\n  name: x\n bad: [\n", "/", "not valid YAML: line 2: did not find expected key"},
		{"tab", "display_information:\n\tname: x\n", "/", "line 2"},
		{"scalar", "just words", "/", "not an object"},
		{"list", "- a\n- b\n", "/", "not an object"},
		{"empty", "", "/", "empty"},
		{"comment only", "# nothing\n", "/", "empty"},
		{"two documents", "a: 1\n---\nb: 2\n", "/", "single YAML document"},
		{"duplicate", "display_information:\n  name: a\n  name: b\n", "/display_information/name", "Duplicate key name (line 3)"},
		{"merge", "base: &b {name: x}\ndisplay_information:\n  <<: *b\n", "/display_information", "merge"},
		{"complex key", "? [a, b]\n: c\n", "/", "plain strings"},
		{"infinite", "display_information:\n  name: x\nn: .inf\n", "/n", "finite"},
		{"self alias", "a: &a [*a]\n", "/a/0", "nested too deeply"},
		{"schema", "display_information:\n  name: [x]\n", "/display_information/name", "Must be a string"},
		{"missing name", "features:\n  bot_user:\n    display_name: B\n", "/display_information/name", "Must be provided"},
	} {
		_, err := confab.ParseManifest(c.in)
		var me *confab.ManifestError
		if !errors.As(err, &me) || confab.ErrorMessage(err) != "invalid_manifest" || len(me.Problems) == 0 {
			t.Errorf("%s: ParseManifest = %v, want invalid_manifest", c.name, err)
			continue
		}
		p := me.Problems[0]
		if !strings.HasPrefix(p.Pointer, c.pointer) || !strings.Contains(p.Message, c.message) {
			t.Errorf("%s: problem %+v, want pointer %s and a message with %q", c.name, p, c.pointer, c.message)
		}
	}
}

// Aliases cannot blow a small YAML document up into a huge manifest.
func TestParseManifestYAMLBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("a0: &a0 [\"" + strings.Repeat("x", 100) + "\"]\n")
	for i := 1; i < 30; i++ {
		b.WriteString("a" + string(rune('0'+i%10)) + string(rune('a'+i/10)) + ": &n" + itoa(i) + " [*" + prev(i) + ", *" + prev(i) + "]\n")
	}
	_, err := confab.ParseManifest(b.String())
	var me *confab.ManifestError
	if !errors.As(err, &me) || !strings.Contains(me.Problems[0].Message, "too large") {
		t.Fatalf("ParseManifest(bomb) = %v, want too large", err)
	}
}

func itoa(i int) string {
	return strings.TrimLeft(string([]byte{byte('0' + i/10), byte('0' + i%10)}), "0")
}

func prev(i int) string {
	if i == 1 {
		return "a0"
	}
	return "n" + itoa(i-1)
}
