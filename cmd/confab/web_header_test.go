package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// systemLine is a JS expression: the text of the open conversation's
// system line of that subtype (Slack's channel_join, channel_topic, …),
// "" while there is none; "has tools" if it offers message actions or
// an avatar, as an ordinary message does.
func systemLine(subtype string) string {
	return fmt.Sprintf(`(() => { const e = [...document.querySelectorAll('#messages .msg.system[data-subtype=%q]')].pop();
		if (!e) return '';
		if (e.querySelector('.msg-tools, [data-action], .avatar')) return 'has tools';
		return e.querySelector('.system-text').textContent.replace(/\s+\d{1,2}:\d\d.*$/, '').trim(); })()`, subtype)
}

// systemShown is a JS expression: the system line of that subtype shows,
// with its author's name loaded.
func systemShown(subtype string) string {
	return fmt.Sprintf(`((s) => s !== '' && !s.includes('…'))(%s)`, systemLine(subtype))
}

// The topic is edited in place from the header: Enter saves it, for
// everyone (conversations.info) and live in another member's tab, where
// the change shows as a system line; a topic too long says so and keeps
// what was typed; Escape cancels.
func TestWebTopicEdit(t *testing.T) {
	m, browser, alice, bob, plaza, _ := twoChannels(t, "random")
	a := signedIn(t, browser, m, "alice", plaza)
	b := signedIn(t, browser, m, "bob", plaza)

	// Reached with the keyboard: the topic is a button, Enter edits it.
	a.waitFor("an editable topic", `document.getElementById('channel-topic').getAttribute('role') === 'button'`)
	a.step("focus the topic", chromedp.Focus("#channel-topic"))
	a.pressEnter(false)
	a.waitFor("the topic's input", `document.activeElement?.id === 'topic-input'`)
	a.step("type the topic", chromedp.KeyEvent("quokkas at noon"))
	a.pressEnter(false)
	a.waitFor("the new topic in the header", `!document.getElementById('topic-input') && document.getElementById('channel-topic').textContent === 'quokkas at noon'`)

	info := bob.must("conversations.info", obj{"channel": plaza})
	if got := info["channel"].(obj)["topic"].(obj)["value"]; got != "quokkas at noon" {
		t.Fatalf("conversations.info's topic for bob = %v, want the one alice typed", got)
	}
	b.waitFor("the topic, live in bob's header", `document.getElementById('channel-topic').textContent === 'quokkas at noon'`)
	b.waitFor("the system line", systemShown("channel_topic"))
	if got := eval[string](b, systemLine("channel_topic")); got != "alice set the topic: quokkas at noon" {
		t.Errorf("bob's system line says %q", got)
	}

	// Too long: said, and what was typed stays.
	a.click("#channel-topic")
	a.waitFor("the topic's input", `document.activeElement?.id === 'topic-input'`)
	long := strings.Repeat("q", 251)
	eval[bool](a, fmt.Sprintf(`(document.getElementById('topic-input').value = %q, true)`, long))
	a.pressEnter(false)
	a.waitFor("the error", `document.getElementById('topic-error')?.textContent.includes('at most 250 characters')`)
	if got := eval[string](a, `document.getElementById('topic-input').value`); got != long {
		t.Errorf("after the error the input holds %d characters, want the 251 typed", len(got))
	}
	a.step("Escape", chromedp.KeyEvent(kb.Escape))
	a.waitFor("the topic back", `!document.getElementById('topic-input') && document.getElementById('channel-topic').textContent === 'quokkas at noon'`)

	// A DM has no topic to edit, nor an About.
	dm := alice.must("conversations.open", obj{"users": bob.userID})["channel"].(obj)["id"].(string)
	a.waitFor("the DM in the sidebar", fmt.Sprintf(`document.querySelector('#sidebar .chan[data-channel-id=%q]') !== null`, dm))
	a.openChannel(dm)
	if got := eval[string](a, `(document.getElementById('channel-topic').getAttribute('role') || '') + '|' + document.getElementById('about-toggle').hidden`); got != "|true" {
		t.Errorf("in a DM the topic's role and About's hidden are %q, want no button and no About", got)
	}
}

// "About this channel" shows the topic and purpose; a member saves a new
// purpose there, for everyone, shown live as a system line and as the
// topic's tooltip in another member's tab.
func TestWebAboutDialog(t *testing.T) {
	m, browser, _, bob, plaza, _ := twoChannels(t, "random")
	a := signedIn(t, browser, m, "alice", plaza)
	b := signedIn(t, browser, m, "bob", plaza)

	a.click("#about-toggle")
	a.waitFor("the About dialog", `document.getElementById('dlg-about').open`)
	a.typeInto("#about-purpose", "planning the quokka census")
	a.click("#about-save")
	a.waitFor("the dialog closed", `!document.getElementById('dlg-about').open`)

	info := bob.must("conversations.info", obj{"channel": plaza})
	if got := info["channel"].(obj)["purpose"].(obj)["value"]; got != "planning the quokka census" {
		t.Fatalf("conversations.info's purpose = %v, want the one saved", got)
	}
	b.waitFor("the system line", systemShown("channel_purpose"))
	if got := eval[string](b, systemLine("channel_purpose")); got != "alice set the purpose: planning the quokka census" {
		t.Errorf("bob's system line says %q", got)
	}
	b.waitFor("the purpose as the topic's tooltip", `document.getElementById('channel-topic').title.includes('Purpose: planning the quokka census')`)
	b.click("#about-toggle")
	b.waitFor("the About dialog with the purpose", `document.getElementById('dlg-about').open && document.getElementById('about-purpose').value === 'planning the quokka census'`)

	// An error is said in the dialog, which stays open.
	eval[bool](b, fmt.Sprintf(`(document.getElementById('about-topic').value = %q, true)`, strings.Repeat("t", 300)))
	b.click("#about-save")
	b.waitFor("the error", `!document.getElementById('about-error').hidden && document.getElementById('about-error').textContent.includes('at most 250') && document.getElementById('dlg-about').open`)
}

// Joins, leaves and topic changes show as compact system lines, with no
// avatar nor message actions, never grouped with the messages around them;
// one kept in history (Slack's subtype channel_join) shows as one too.
func TestWebSystemLines(t *testing.T) {
	m, browser, alice, _, plaza, _ := twoChannels(t, "random")
	alice.post(plaza, "before anyone came")
	a := signedIn(t, browser, m, "alice", plaza)
	a.waitFor("the message", hasText("before anyone came"))

	carol := signup(t, m, "acme", "carol")
	carol.must("conversations.join", obj{"channel": plaza})
	a.waitFor("carol's join (after bob's)", systemShown("channel_join")+` && `+systemLine("channel_join")+` !== 'bob joined #plaza'`)
	if got := eval[string](a, systemLine("channel_join")); got != "carol joined #plaza" {
		t.Errorf("the join's line says %q", got)
	}
	carol.must("conversations.setTopic", obj{"channel": plaza, "topic": "census"})
	a.waitFor("the topic change", systemShown("channel_topic"))
	if got := eval[string](a, systemLine("channel_topic")); got != "carol set the topic: census" {
		t.Errorf("the topic's line says %q", got)
	}
	carol.post(plaza, "hello all")
	a.waitFor("carol's message", hasText("hello all"))
	carol.must("conversations.leave", obj{"channel": plaza})
	a.waitFor("the leave", systemShown("channel_leave"))
	if got := eval[string](a, systemLine("channel_leave")); got != "carol left #plaza" {
		t.Errorf("the leave's line says %q", got)
	}
	// carol's message after her topic line shows her name and avatar: it
	// is not grouped under the line.
	if got := eval[string](a, `(() => { const e = [...document.querySelectorAll('#messages .msg')].find(e => e.textContent.includes('hello all'));
		return e.classList.contains('cont') + '|' + e.previousElementSibling.dataset.subtype; })()`); got != "false|channel_topic" {
		t.Errorf("carol's message after the topic line: grouped|before = %q, want false|channel_topic", got)
	}

	// Kept in history (Slack's subtypes channel_join …): a new tab shows
	// the same lines, bob's join (before alice opened it) too.
	b := newTab(t, browser, "alice again", true)
	b.login(m.URL(), "acme", "alice", "correct horse alice")
	b.openChannel(plaza)
	b.waitFor("the kept joins, bob's and carol's", `JSON.stringify(`+systemLines("channel_join")+`) === '["bob joined #plaza","carol joined #plaza"]'`)
	b.waitFor("the kept topic and leave", `JSON.stringify([`+systemLine("channel_topic")+`, `+systemLine("channel_leave")+`]) === '["carol set the topic: census","carol left #plaza"]'`)
}
