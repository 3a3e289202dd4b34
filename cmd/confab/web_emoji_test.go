package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

const (
	picker     = `#reaction-picker`
	pickerOpen = `document.getElementById('reaction-picker').hidden === false && document.activeElement?.getAttribute('aria-label') === 'Search emoji'`
)

// reactionsOf lists the names of a message's reactions as the server
// keeps them (reactions.get).
func reactionsOf(c *client, channel, ts string) []string {
	c.tb.Helper()
	out := c.must("reactions.get", obj{"channel": channel, "timestamp": ts})
	var names []string
	for _, r := range out["message"].(obj)["reactions"].([]any) {
		names = append(names, r.(obj)["name"].(string))
	}
	return names
}

// The picker of a message's "Add reaction": searching "tada" and picking
// it reacts with tada (the server has it); the next time "Recently used"
// comes first, with tada; "thu" finds the thumbs-up by its other name; a
// skin tone makes the thumbs-up "+1::skin-tone-4" as Slack names it,
// shown toned on the message.
func TestWebEmojiPickerReaction(t *testing.T) {
	m, browser, alice, bob, plaza, _ := twoChannels(t, "random")
	first := bob.post(plaza, "first, react to me")
	second := bob.post(plaza, "second, react to me too")

	b := signedIn(t, browser, m, "alice", plaza)
	msg := func(ts string) string { return fmt.Sprintf(`#messages .msg[data-ts=%q]`, ts) }
	b.waitFor("bob's messages", `document.querySelector('`+msg(second)+`') !== null`)

	b.click(msg(first) + ` [data-action=react]`)
	b.waitFor("the picker, its search field focused", pickerOpen)
	b.step("type tada", chromedp.KeyEvent("tada"))
	b.waitFor("tada found", `document.querySelector('`+picker+` [role=option]')?.dataset.reaction === 'tada'`)
	b.click(picker + ` [role=option][data-reaction="tada"]`)
	b.waitFor("the picker closed", `document.getElementById('reaction-picker').hidden`)
	b.waitFor("the tada reaction on the message", `document.querySelector('`+msg(first)+` .reaction[data-reaction="tada"]')?.textContent.startsWith('🎉')`)
	if got := reactionsOf(alice, plaza, first); strings.Join(got, ",") != "tada" {
		t.Fatalf("reactions.get = %q; want [tada]", got)
	}

	b.click(msg(second) + ` [data-action=react]`)
	b.waitFor("the picker again", pickerOpen)
	b.waitFor("Recently used first, with tada", `(() => { const g = document.querySelector('`+picker+` [role=listbox] [role=group]');
		return g?.getAttribute('aria-label') === 'Recently used' && g.querySelector('[role=option]').dataset.reaction === 'tada'; })()`)
	b.step("type thu", chromedp.KeyEvent("thu"))
	b.waitFor("the thumbs-up found by 'thu'", `[...document.querySelectorAll('`+picker+` [role=option]')].some(o => o.dataset.reaction === '+1' && o.textContent === '👍')`)

	eval[bool](b, `(s => { s.value = '3'; s.dispatchEvent(new Event('change')); return true; })(document.querySelector('`+picker+` select[aria-label="Skin tone"]'))`)
	b.waitFor("the thumbs-up toned", `document.querySelector('`+picker+` [role=option][data-reaction="+1::skin-tone-4"]')?.textContent === '👍🏽'`)
	b.screenshot("emoji-picker.png")
	b.click(picker + ` [role=option][data-reaction="+1::skin-tone-4"]`)
	b.waitFor("the toned reaction on the message", `document.querySelector('`+msg(second)+` .reaction[data-reaction="+1::skin-tone-4"]')?.textContent.startsWith('👍🏽')`)
	if got := reactionsOf(alice, plaza, second); strings.Join(got, ",") != "+1::skin-tone-4" {
		t.Fatalf("reactions.get = %q; want [+1::skin-tone-4]", got)
	}
	hist := bob.must("conversations.history", obj{"channel": plaza, "limit": 1})
	if r := hist["messages"].([]any)[0].(obj)["reactions"]; !strings.Contains(fmt.Sprint(r), "+1::skin-tone-4") {
		t.Fatalf("conversations.history's reactions = %v; want +1::skin-tone-4", r)
	}

	// Bob, in his own browser, sees it toned too; alice's recent list
	// survives a reload, the latest first.
	bt := signedIn(t, browser, m, "bob", plaza)
	bt.waitFor("alice's toned reaction", `document.querySelector('`+msg(second)+` .reaction[data-reaction="+1::skin-tone-4"]')?.textContent.startsWith('👍🏽')`)
	b.step("reload", chromedp.Reload())
	b.waitFor("the messages", `document.querySelector('`+msg(second)+`') !== null`)
	b.click(msg(first) + ` [data-action=react]`)
	b.waitFor("the picker again", pickerOpen)
	b.screenshot("emoji-picker-recent.png")
	got := eval[string](b, `[...document.querySelectorAll('`+picker+` [role=group][aria-label="Recently used"] [role=option]')].map(o => o.dataset.reaction).join(',')`)
	if got != "+1::skin-tone-4,tada" {
		t.Fatalf("recently used = %q; want \"+1::skin-tone-4,tada\"", got)
	}
}

// The composer's emoji button, by keyboard only: Enter on it opens the
// picker with the search field focused; typing filters, the arrows move
// the selection, Enter inserts the selected emoji's :name: at the caret
// and the message sent shows the emoji; Escape closes the picker and gives
// the focus back to the button.
func TestWebEmojiPickerKeyboard(t *testing.T) {
	m, browser, alice, _, plaza, _ := twoChannels(t, "random")
	b := signedIn(t, browser, m, "alice", plaza)
	const button = `#composer [data-emoji-for="composer-input"]`

	b.typeInto("#composer-input", "party  now")
	eval[bool](b, `(document.getElementById('composer-input').setSelectionRange(6, 6), true)`)
	b.step("focus the emoji button", chromedp.Focus(button))
	b.pressEnter(false)
	b.waitFor("the picker, its search field focused", pickerOpen)
	b.step("type heart", chromedp.KeyEvent("heart"))
	b.waitFor("hearts found", `document.querySelectorAll('`+picker+` [role=option]').length > 5`)
	active := `document.getElementById(document.activeElement.getAttribute('aria-activedescendant'))`
	if got := eval[string](b, active+`?.dataset.reaction`); got != "heart" {
		t.Fatalf("selected first = %q; want heart", got)
	}
	b.step("right, right, left", chromedp.KeyEvent(kb.ArrowRight), chromedp.KeyEvent(kb.ArrowRight), chromedp.KeyEvent(kb.ArrowLeft))
	want := eval[string](b, `document.querySelectorAll('`+picker+` [role=option]')[1].dataset.reaction`)
	if got := eval[string](b, active+`?.dataset.reaction`); got != want {
		t.Fatalf("selected after →→← = %q; want the second result %q", got, want)
	}
	if got := eval[string](b, active+`?.getAttribute('aria-selected')`); got != "true" {
		t.Fatalf("the selected option's aria-selected = %q", got)
	}
	b.step("down", chromedp.KeyEvent(kb.ArrowDown))
	if got := eval[int](b, `[...document.querySelectorAll('`+picker+` [role=option]')].indexOf(`+active+`)`); got <= 2 {
		t.Fatalf("after ↓ the selected option is the %dth; want one in the next row", got)
	}
	b.step("up", chromedp.KeyEvent(kb.ArrowUp))
	if got := eval[string](b, active+`?.dataset.reaction`); got != want {
		t.Fatalf("selected after ↓↑ = %q; want %q again", got, want)
	}
	b.pressEnter(false)
	b.waitFor("the picker closed", `document.getElementById('reaction-picker').hidden`)
	text := "party :" + want + ": now"
	b.waitFor("the shortcode at the caret", fmt.Sprintf(`document.getElementById('composer-input').value === %q && document.activeElement.id === 'composer-input'`, text))
	b.pressEnter(false)
	b.waitFor("the message sent, with its emoji", fmt.Sprintf(`[...document.querySelectorAll('#messages .msg .emoji')].some(e => e.title === %q)`, ":"+want+":"))
	hist := alice.must("conversations.history", obj{"channel": plaza, "limit": 1})
	if got := hist["messages"].([]any)[0].(obj)["text"]; got != text {
		t.Fatalf("sent %q; want %q", got, text)
	}

	b.step("focus the emoji button", chromedp.Focus(button))
	b.pressEnter(false)
	b.waitFor("the picker", pickerOpen)
	b.step("Escape", chromedp.KeyEvent(kb.Escape))
	b.waitFor("the picker closed, the focus back on its button", `document.getElementById('reaction-picker').hidden && document.activeElement === document.querySelector('`+button+`')`)

	// The thread's composer has one too.
	parent := alice.post(plaza, "a thread")
	b.click(fmt.Sprintf(`#messages .msg[data-ts=%q] [data-action=thread]`, parent))
	b.waitFor("the thread", `document.activeElement.id === 'thread-input'`)
	b.click(`#thread-composer [data-emoji-for="thread-input"]`)
	b.waitFor("the picker", pickerOpen)
	b.step("type tada, Enter", chromedp.KeyEvent("tada"))
	b.pressEnter(false)
	b.waitFor("the shortcode in the reply box", `document.getElementById('thread-input').value === ':tada:' && document.activeElement.id === 'thread-input'`)
}
