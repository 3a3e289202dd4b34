package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// failReplies makes the tab's conversations.replies calls fail while
// window.__failReplies says how: "network" as a lost network does, or
// with that Slack error.
func failReplies(b *tab) {
	b.t.Helper()
	b.onNewDocument("fail conversations.replies", `
			window.__failReplies = "";
			const realFetch = window.fetch;
			window.fetch = (url, opts) => {
				const how = window.__failReplies;
				if (!how || !String(url).endsWith('/api/conversations.replies')) return realFetch(url, opts);
				if (how === 'network') return Promise.reject(new TypeError('Failed to fetch'));
				return Promise.resolve(new Response(JSON.stringify({ok: false, error: how}), {headers: {'Content-Type': 'application/json'}}));
			};`)
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

	b := signedIn(t, browser, m, "bob", general)
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

	a := signedIn(t, browser, m, "alice", solo)
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
	b := signedIn(t, browser, m, "bob", general)
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
	b := signedIn(t, browser, m, "bob", general)
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
	b := signedIn(t, browser, m, "bob", general)
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

// A message grouped under the one before it (same author, minutes apart)
// shows its time where the avatar would be when hovered; an edited message
// says "(edited)", and when, live and from history.
func TestWebGroupedTimeAndEdited(t *testing.T) {
	m, browser, alice, _, general, _ := twoChannels(t, "random")
	alice.post(general, "first of two")
	second := alice.post(general, "second of two")
	edited := alice.post(general, "typo here")
	alice.must("chat.update", obj{"channel": general, "ts": edited, "text": "no typo here"})

	b := signedIn(t, browser, m, "bob", general)
	b.waitFor("the messages", hasText("no typo here"))
	msg := fmt.Sprintf(`document.querySelector('#messages .msg[data-ts=%q]')`, second)
	if !eval[bool](b, msg+`.classList.contains('cont')`) {
		t.Fatal("the second message is not grouped under the first")
	}
	// Its hidden header's time is the one it shows (same format, same ts).
	want := eval[string](b, msg+`.querySelector('.msg-head .time').textContent`)
	got := eval[string](b, msg+`.querySelector('.cont-time')?.textContent ?? ''`)
	if got == "" || got != want {
		t.Fatalf("the grouped message's time says %q, want %q", got, want)
	}
	visible := msg + `.querySelector('.cont-time').checkVisibility({visibilityProperty: true})`
	b.step("mouse away", chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, 1, 1))
	if eval[bool](b, visible) {
		t.Fatal("the grouped message's time shows without hovering it")
	}
	r := eval[[]float64](b, `(r => [r.left + r.width / 2, r.top + r.height / 2])(`+msg+`.getBoundingClientRect())`)
	b.step("hover the message", chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, r[0], r[1]))
	b.waitForWithin("the time on hover", visible, 2*time.Second)
	b.screenshot("grouped-time-hover.png")

	edit := func(ts string) string {
		return fmt.Sprintf(`(() => { const e = document.querySelector('#messages .msg[data-ts=%q] .text .edited');
			return !!e && e.textContent === ' (edited)' && e.title.startsWith('Edited '); })()`, ts)
	}
	b.waitFor("the edit mark from history, with its time", edit(edited))
	alice.must("chat.update", obj{"channel": general, "ts": second, "text": "second of two, edited"})
	b.waitFor("the edit mark of a live edit, with its time", edit(second))
}

// Opening a conversation with unread messages, a "New messages" line
// stands above the first of them (from the read marker); it is gone once
// one has read on: come back later, or sent a message. Messages arriving
// while one reads add no line.
func TestWebNewMessagesLine(t *testing.T) {
	m, browser, alice, bob, general, random := twoChannels(t, "random")
	alice.post(general, "old one")
	read := alice.post(general, "old two")
	bob.must("conversations.mark", obj{"channel": general, "ts": read})
	first := alice.post(general, "new one")
	alice.post(general, "new two")

	b := signedIn(t, browser, m, "bob", random)
	lines := `[...document.querySelectorAll('#messages .unread-line')].map(l => l.closest('.msg').dataset.ts)`
	b.openChannel(general)
	b.waitFor("the messages", hasText("new two"))
	if got := eval[[]string](b, lines); len(got) != 1 || got[0] != first {
		t.Fatalf("New messages lines above %v, want one above %s", got, first)
	}
	line := fmt.Sprintf(`document.querySelector('#messages .msg[data-ts=%q] .unread-line')`, first)
	if got := eval[string](b, line+`.textContent`); got != "New messages" {
		t.Fatalf("the line says %q", got)
	}
	if eval[bool](b, fmt.Sprintf(`document.querySelector('#messages .msg[data-ts=%q]').classList.contains('cont')`, first)) {
		t.Error("the first new message is grouped under the old ones: its author is hidden below the line")
	}
	b.screenshot("new-messages-line.png")
	alice.post(general, "while bob reads")
	b.waitFor("a live message", hasText("while bob reads"))
	if got := eval[[]string](b, lines); len(got) != 1 || got[0] != first {
		t.Fatalf("after a live message, New messages lines above %v, want still one above %s", got, first)
	}

	// Come back: all was read, no line.
	b.openChannel(random)
	b.openChannel(general)
	b.waitFor("the messages", hasText("while bob reads"))
	if got := eval[[]string](b, lines); len(got) != 0 {
		t.Fatalf("coming back after reading, New messages lines above %v, want none", got)
	}

	// New ones while away: the line again, until bob says something.
	b.openChannel(random)
	later := alice.post(general, "later")
	b.waitFor("general unread", fmt.Sprintf(`document.querySelector('#sidebar .chan[data-channel-id=%q]').dataset.unread === '1'`, general))
	b.openChannel(general)
	b.waitFor("the line above the later one", fmt.Sprintf(`(l => l.length === 1 && l[0] === %q)(%s)`, later, lines))
	b.typeInto("#composer-input", "caught up")
	b.pressEnter(false)
	b.waitFor("bob's message", hasText("caught up"))
	if got := eval[[]string](b, lines); len(got) != 0 {
		t.Fatalf("after bob wrote, New messages lines above %v, want none", got)
	}
}

// Scrolled up away from the newest messages, a "Jump to newest" button
// brings them back: by scrolling, or, reading history around an older
// message (a permalink), by loading the newest page.
func TestWebJumpToNewest(t *testing.T) {
	m, browser, alice, _, general, _ := twoChannels(t, "random")
	var tss []string
	for i := range 120 {
		tss = append(tss, alice.post(general, fmt.Sprintf("message %03d", i)))
	}
	b := signedIn(t, browser, m, "bob", general)
	b.waitFor("the newest", hasText("message 119"))
	jump := `document.getElementById('jump-latest')`
	atBottom := `(s => s.scrollHeight - s.scrollTop - s.clientHeight < 2)(document.getElementById('scroller'))`
	b.waitFor("at the bottom, no button", atBottom+` && !`+jump+`.checkVisibility()`)

	eval[bool](b, `(document.getElementById('scroller').scrollTop = 0, true)`)
	b.waitFor("the button, scrolled up", jump+`.checkVisibility() && `+jump+`.textContent.startsWith('Jump to newest')`)
	b.click("#jump-latest")
	b.waitFor("back at the bottom, no button", atBottom+` && !`+jump+`.checkVisibility()`)

	// A permalink to an old message shows history around it, not the end.
	b.step("open a permalink", chromedp.Navigate(m.URL()+"/#"+general+"/p"+strings.ReplaceAll(tss[5], ".", "")))
	b.waitFor("the old message, marked", fmt.Sprintf(`document.querySelector('#messages .msg.highlight[data-ts=%q]') !== null`, tss[5]))
	if eval[bool](b, hasText("message 119")) {
		t.Fatal("the newest message is shown around an old one; the test needs history away from the end")
	}
	b.waitFor("the button", jump+`.checkVisibility()`)
	b.click("#jump-latest")
	b.waitFor("the newest page, at the live end", hasText("message 119")+` && window.confabDebug.state().atEnd && `+atBottom+` && !`+jump+`.checkVisibility()`)
}
