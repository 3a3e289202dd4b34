package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/confab/confab/internal/nodetest"
)

// axeViolation is one rule axe-core finds broken, with where.
type axeViolation struct {
	ID      string `json:"id"`
	Impact  string `json:"impact"`
	Help    string `json:"help"`
	Targets []string
	Nodes   []struct {
		Target []any  `json:"target"`
		HTML   string `json:"html"`
		Why    string `json:"failureSummary"`
	} `json:"nodes"`
}

// axeSource is axe-core's script, from the npm packages scripts/test.sh
// installs (testdata/node).
func axeSource(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(nodetest.Modules(t), "axe-core", "axe.min.js"))
	if err != nil {
		t.Fatalf("axe-core: %v (scripts/test.sh installs testdata/node's packages)", err)
	}
	return string(b)
}

// setScheme makes the page's prefers-color-scheme dark or light, as the
// system's setting would.
func (b *tab) setScheme(scheme string) {
	b.t.Helper()
	b.step("prefers-color-scheme: "+scheme, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
		return err
	}))
}

// axeCheck runs axe-core's WCAG 2.1 A and AA rules on the page as it is
// and fails the test on every serious or critical violation.
func (b *tab) axeCheck(src, screen string) {
	b.t.Helper()
	var out string
	b.step("axe-core on the "+screen, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		yes := true
		r, err := cdp.Call(ctx, tg, runtime.Evaluate, runtime.EvaluateParams{AwaitPromise: &yes, ReturnByValue: &yes, Expression: src + `;
			axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }, resultTypes: ['violations'] })
				.then((r) => JSON.stringify(r.violations))`})
		if err != nil {
			return err
		}
		if r.ExceptionDetails != nil {
			return fmt.Errorf("axe-core: %s", r.ExceptionDetails.Text)
		}
		return json.Unmarshal(r.Result.Value, &out)
	}))
	var vs []axeViolation
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		b.t.Fatalf("%s: axe-core's answer: %v", screen, err)
	}
	for _, v := range vs {
		if v.Impact != "serious" && v.Impact != "critical" {
			continue
		}
		var where []string
		for _, n := range v.Nodes {
			where = append(where, fmt.Sprintf("%v %s (%s)", n.Target, n.HTML, strings.ReplaceAll(n.Why, "\n", " ")))
		}
		b.t.Errorf("%s: %s %s: %s\n\t%s", screen, v.Impact, v.ID, v.Help, strings.Join(where, "\n\t"))
	}
}

// TestWebAccessibility: axe-core finds no serious or critical violation
// of WCAG 2.1 A and AA on the sign-in screen, the page of a link to claim
// an imported account, the main screen (messages
// with a mention, a reaction, a thread's replies, a system line), the
// emoji picker, an open thread, search results, "About this channel" and
// the profile and status dialog (the client's settings), in the light
// scheme and the dark.
func TestWebAccessibility(t *testing.T) {
	src := axeSource(t)
	m, browser, alice, bob, plaza, _ := twoChannels(t, "random")
	parent := alice.post(plaza, "the plan for *today*, <@"+bob.userID+">")
	alice.must("reactions.add", obj{"channel": plaza, "timestamp": parent, "name": "tada"})
	bob.must("chat.postMessage", obj{"channel": plaza, "thread_ts": parent, "text": "a reply in the thread"})
	bob.post(plaza, "see https://example.com and the plan")

	for _, scheme := range []string{"light", "dark"} {
		t.Run(scheme, func(t *testing.T) {
			b := newTab(t, browser, "alice "+scheme, true)
			b.setScheme(scheme)
			b.step("open the sign-in screen", chromedp.Navigate(m.URL()))
			b.waitFor("the sign-in form", `document.querySelector('form') !== null && document.querySelector('input') !== null`)
			b.axeCheck(src, "sign-in screen ("+scheme+")")
			b.step("open a claim link", chromedp.Navigate(m.URL()+"/claim#U0000000000000.0000"), chromedp.WaitVisible("#claim-form"))
			b.axeCheck(src, "claim page ("+scheme+")")

			b.login(m.URL(), "acme", "alice", "correct horse alice")
			b.openChannel(plaza)
			b.waitFor("the messages", hasText("see https://example.com and the plan"))
			topic := "the plan, " + scheme
			bob.must("conversations.setTopic", obj{"channel": plaza, "topic": topic})
			b.waitFor("the topic's system line", fmt.Sprintf(`[...document.querySelectorAll('#messages .msg.system')].some(e => e.textContent.includes(%q))`, topic))
			b.axeCheck(src, "main screen ("+scheme+")")
			b.screenshot("main-" + scheme + ".png")
			b.phone(true)
			b.screenshot("main-" + scheme + "-phone.png")
			b.phone(false)

			b.click(fmt.Sprintf(`#messages .msg[data-ts=%q] [data-action=react]`, parent))
			b.waitFor("the emoji picker", `document.getElementById('reaction-picker').hidden === false`)
			b.axeCheck(src, "emoji picker ("+scheme+")")
			b.step("close the picker", chromedp.KeyEvent(kb.Escape))
			b.waitFor("the picker closed", `document.getElementById('reaction-picker').hidden`)

			b.click(fmt.Sprintf(`#messages .msg[data-ts=%q] .thread-link`, parent))
			b.waitFor("the thread", `document.querySelector('#thread-messages .msg') !== null && document.getElementById('thread-messages').textContent.includes('a reply in the thread')`)
			b.axeCheck(src, "thread ("+scheme+")")

			b.click("#thread-close")
			b.click("#open-search")
			b.waitFor("the search box", `document.getElementById('dlg-search').open`)
			b.step("search", chromedp.SendKeys("#search-input", "plan\r"))
			b.waitFor("results", `document.getElementById('search-results').children.length > 0`)
			b.axeCheck(src, "search results ("+scheme+")")

			eval[bool](b, `(document.getElementById('dlg-search').close(), true)`)
			b.click("#about-toggle")
			b.waitFor("the About dialog", `document.getElementById('dlg-about').open`)
			b.axeCheck(src, "about this channel ("+scheme+")")

			eval[bool](b, `(document.getElementById('dlg-about').close(), true)`)
			b.click("#open-profile")
			b.waitFor("the profile and status dialog", `document.getElementById('dlg-profile').open`)
			b.axeCheck(src, "profile and status ("+scheme+")")
		})
	}
}

// phone makes the tab a 390×844 phone's screen (2× pixels), or
// the desktop's again.
func (b *tab) phone(on bool) {
	b.t.Helper()
	b.step(fmt.Sprintf("phone=%v", on), chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if !on {
			_, err := cdp.Call(ctx, tg, emulation.ClearDeviceMetricsOverride, cdp.Empty{})
			return err
		}
		_, err := cdp.Call(ctx, tg, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
			Width: 390, Height: 844, DeviceScaleFactor: 2, Mobile: true})
		return err
	}))
}

// TestWebDarkMode: the client is dark when the system is (sign-in screen
// and all), and the theme switch picks light, dark, or the system's
// again, kept across a reload.
func TestWebDarkMode(t *testing.T) {
	m, browser, _, _, plaza, _ := twoChannels(t, "random")
	b := newTab(t, browser, "alice", true)
	const dark = `(() => { const [r, g, b] = getComputedStyle(document.documentElement).backgroundColor.match(/\d+/g).map(Number);
		const [fr, fg, fb] = getComputedStyle(document.body).color.match(/\d+/g).map(Number); return r + g + b < 150 && fr + fg + fb > 450; })()`
	const light = `(() => { const [r, g, b] = getComputedStyle(document.documentElement).backgroundColor.match(/\d+/g).map(Number);
		const [fr, fg, fb] = getComputedStyle(document.body).color.match(/\d+/g).map(Number); return r + g + b > 700 && fr + fg + fb < 150; })()`
	theme := func() string {
		return eval[string](b, `document.getElementById('theme-toggle').getAttribute('aria-label')`)
	}

	b.setScheme("dark")
	b.step("open the sign-in screen", chromedp.Navigate(m.URL()))
	b.waitFor("the sign-in form, dark as the system", `document.querySelector('form input') !== null && `+dark)
	b.login(m.URL(), "acme", "alice", "correct horse alice")
	b.openChannel(plaza)
	b.waitFor("the main screen, dark", dark)
	if got := theme(); got != "Theme: as the system" {
		t.Fatalf("the switch says %q", got)
	}

	b.click("#theme-toggle")
	b.waitFor("light, picked while the system is dark", light)
	b.step("reload", chromedp.Reload())
	b.waitFor("still light after a reload", `document.getElementById('theme-toggle') && `+light)
	if got := theme(); got != "Theme: light" {
		t.Fatalf("after a reload the switch says %q", got)
	}
	b.click("#theme-toggle")
	b.setScheme("light")
	b.waitFor("dark, picked, while the system is light", dark)
	b.click("#theme-toggle")
	b.waitFor("as the system again: light", light)
	if got := theme(); got != "Theme: as the system" {
		t.Fatalf("after three clicks the switch says %q", got)
	}
}
