package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// failReplies makes the tab's conversations.replies calls fail while
// window.__failReplies says how: "network" as a lost network does, or
// with that Slack error.
func failReplies(b *tab) {
	b.t.Helper()
	b.step("fail conversations.replies", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `
			window.__failReplies = "";
			const realFetch = window.fetch;
			window.fetch = (url, opts) => {
				const how = window.__failReplies;
				if (!how || !String(url).endsWith('/api/conversations.replies')) return realFetch(url, opts);
				if (how === 'network') return Promise.reject(new TypeError('Failed to fetch'));
				return Promise.resolve(new Response(JSON.stringify({ok: false, error: how}), {headers: {'Content-Type': 'application/json'}}));
			};`})
		return err
	}))
}

// A thread that could not be loaded says why, with a Retry, rather than
// opening empty; retried once the network is back, it shows its parent and
// replies.
func TestWebThreadLoadFailed(t *testing.T) {
	m, browser, alice, _, general, _ := twoChannels(t, "random")
	parent := alice.post(general, "the parent")
	alice.must("chat.postMessage", obj{"channel": general, "thread_ts": parent, "text": "a reply"})

	b := newTab(t, browser, "bob", true)
	failReplies(b)
	b.login(m.URL(), "acme", "bob", "correct horse bob")
	b.openChannel(general)
	b.waitFor("the parent", hasText("the parent"))
	failed := func(why string) string {
		return fmt.Sprintf(`(() => { const e = document.querySelector('#thread-messages .thread-error');
			return !!e && e.textContent.includes(%s) && !!e.querySelector('button.retry') && !document.querySelector('#thread-messages .msg'); })()`, jsString(why))
	}
	eval[bool](b, `(window.__failReplies = 'thread_not_found', true)`)
	b.click(fmt.Sprintf(`#messages .msg[data-ts=%q] [data-action=thread]`, parent))
	b.waitFor("the thread gone, said, with a Retry", failed("its message was deleted"))

	eval[bool](b, `(window.__failReplies = 'network', true)`)
	b.click(`#thread-messages .thread-error button.retry`)
	b.waitFor("the network failure, said, with a Retry", failed("Could not load this thread"))
	b.screenshot("thread-load-failed.png")

	eval[bool](b, `(window.__failReplies = '', true)`)
	b.click(`#thread-messages .thread-error button.retry`)
	b.waitFor("the parent and its reply", fmt.Sprintf(`(() => { const ms = [...document.querySelectorAll('#thread-messages .msg')];
		return ms.length === 2 && ms[0].dataset.ts === %q && ms.map(e => e.querySelector('.text').textContent).join('|') === 'the parent|a reply'; })()`, parent))
	if n := eval[int](b, `document.querySelectorAll('#thread-messages .thread-error').length`); n != 0 {
		t.Fatalf("the error is still shown after the thread loaded")
	}
}

// A thread whose parent was deleted (opened from a search result of one of
// its replies) says the parent was deleted above the replies.
func TestWebThreadParentDeleted(t *testing.T) {
	m, browser, alice, _, general, _ := twoChannels(t, "random")
	parent := alice.post(general, "soon gone")
	alice.must("chat.postMessage", obj{"channel": general, "thread_ts": parent, "text": "a quokka reply"})
	alice.must("chat.delete", obj{"channel": general, "ts": parent})

	b := newTab(t, browser, "bob", true)
	b.login(m.URL(), "acme", "bob", "correct horse bob")
	b.openChannel(general)
	b.click("#open-search")
	if hits := searchUI(b, "quokka"); len(hits) != 1 {
		t.Fatalf("search for the reply shows %v, want it", hits)
	}
	b.pressEnter(false)
	b.waitFor("the deleted parent, said, above the reply", `(() => { const box = document.getElementById('thread-messages');
		return box.firstElementChild?.classList.contains('thread-gone') && box.firstElementChild.textContent === 'This message was deleted.' &&
			[...box.querySelectorAll('.msg .text')].map(e => e.textContent).join('|') === 'a quokka reply'; })()`)
}

// A channel of one counts "1 member", in the header and in the channel
// browser.
func TestWebMemberCount(t *testing.T) {
	m := MustRunMain(t)
	browser := MustStartBrowser(t)
	alice := signup(t, m, "acme", "alice")
	solo := alice.createChannel("solo", false)
	bob := signup(t, m, "acme", "bob")
	pair := bob.createChannel("pair", false)
	alice.must("conversations.join", obj{"channel": pair})

	a := newTab(t, browser, "alice", true)
	a.login(m.URL(), "acme", "alice", "correct horse alice")
	a.openChannel(solo)
	a.waitFor("the header's count", `document.getElementById('channel-topic').textContent === '1 member'`)
	a.openChannel(pair)
	a.waitFor("the header's count", `document.getElementById('channel-topic').textContent === '2 members'`)
	a.click("#browse-channels")
	row := func(id string) string {
		return fmt.Sprintf(`document.querySelector('#browse-list li[data-channel-id=%q] .hint')?.textContent.trim()`, id)
	}
	a.waitFor("the channel list", row(solo)+` !== undefined`)
	if got := eval[string](a, row(solo)); got != "1 member" {
		t.Errorf("#solo in the channel browser says %q, want \"1 member\"", got)
	}
	if got := eval[string](a, row(pair)); got != "2 members" {
		t.Errorf("#pair in the channel browser says %q, want \"2 members\"", got)
	}
}

// With no conversation open (the last one left), the header offers no star
// or mute: there is nothing to star.
func TestWebNoConversationNoPrefs(t *testing.T) {
	m, browser, _, bob, general, _ := twoChannels(t, "random")
	b := newTab(t, browser, "bob", true)
	b.login(m.URL(), "acme", "bob", "correct horse bob")
	b.openChannel(general)
	shown := `['star-toggle', 'mute-toggle'].filter(id => { const e = document.getElementById(id); return e.checkVisibility() && !e.disabled; }).length`
	if n := eval[int](b, shown); n != 2 {
		t.Fatalf("with #plaza open, %d of star and mute are offered, want both", n)
	}
	bob.must("conversations.leave", obj{"channel": general})
	b.waitFor("the empty screen", `!document.getElementById('empty').hidden`)
	if n := eval[int](b, shown); n != 0 {
		t.Errorf("with nothing open, %d of star and mute are offered, want none", n)
	}
	if got := eval[string](b, `document.getElementById('channel-topic').textContent`); got != "" {
		t.Errorf("with nothing open, the header still says %q", got)
	}
}

// Editing the last message of a full pane, the edit box is entirely in the
// visible part of the message list.
func TestWebEditBoxInView(t *testing.T) {
	m, browser, _, bob, general, _ := twoChannels(t, "random")
	for i := range 30 {
		bob.post(general, fmt.Sprintf("line %d", i))
	}
	last := bob.post(general, "the last one, to be edited")
	b := newTab(t, browser, "bob", true)
	b.login(m.URL(), "acme", "bob", "correct horse bob")
	b.openChannel(general)
	b.waitFor("the last message", hasText("the last one, to be edited"))
	b.waitFor("scrolled to the end", `(s => s.scrollHeight - s.scrollTop - s.clientHeight < 2)(document.getElementById('scroller'))`)
	b.click(fmt.Sprintf(`#messages .msg[data-ts=%q] [data-action=edit]`, last))
	b.waitFor("the edit box, focused", `document.activeElement?.classList.contains('edit-box')`)
	inside := `(() => { const s = document.getElementById('scroller').getBoundingClientRect();
		const r = document.querySelector('#messages .edit-box').getBoundingClientRect();
		return r.top >= s.top && r.bottom <= s.bottom + 0.5; })()`
	b.waitForWithin("the edit box inside the visible list", inside, 2*time.Second)
}

// Escape closes the Jump-to switcher at once, with or without a filter
// typed.
func TestWebSwitcherEscape(t *testing.T) {
	m, browser, _, _, general, _ := twoChannels(t, "random")
	b := newTab(t, browser, "bob", true)
	b.login(m.URL(), "acme", "bob", "correct horse bob")
	b.openChannel(general)
	for _, typed := range []string{"", "pla"} {
		b.step("ctrl+k", chromedp.KeyEvent("k", chromedp.KeyModifiers(chromedp.ModifierCtrl)))
		b.waitFor("switcher open", `document.getElementById('dlg-switcher').open && document.activeElement?.id === 'switcher-input'`)
		if typed != "" {
			b.step("filter", chromedp.KeyEvent(typed))
		}
		b.step("esc", chromedp.KeyEvent(kb.Escape))
		b.waitForWithin(fmt.Sprintf("the switcher closed by one Escape (typed %q)", typed), `!document.getElementById('dlg-switcher').open`, 2*time.Second)
	}
}
