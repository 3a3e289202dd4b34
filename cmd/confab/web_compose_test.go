package main

import (
	"context"
	"fmt"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// composeScene: alice's tab in #plaza, signed in, with the browser's own
// confirm() replaced by a counter that answers yes.
func composeScene(t *testing.T) (alice, bob *client, plaza string, b *tab) {
	m, browser, alice, bob, plaza, _ := twoChannels(t, "random")
	b = newTab(t, browser, "alice", true)
	b.onNewDocument("count the browser's confirms", `
			window.__confirms = 0; window.confirm = () => { window.__confirms++; return true; };`)
	b.login(m.URL(), "acme", "alice", "correct horse alice")
	b.openChannel(plaza)
	return alice, bob, plaza, b
}

func (b *tab) press(key string) {
	b.t.Helper()
	b.step("press "+key, chromedp.KeyEvent(key))
}

// Deleting asks in the app's own dialog, which shows the message: Escape
// keeps the message, Enter deletes it; the browser's confirm() is never
// used.
func TestWebDeleteConfirm(t *testing.T) {
	alice, _, plaza, b := composeScene(t)
	ts := alice.post(plaza, "the doomed *message*")
	msg := fmt.Sprintf(`#messages .msg[data-ts=%q]`, ts)
	b.waitFor("the message", fmt.Sprintf(`document.querySelector(%q) !== null`, msg))

	b.click(msg + ` [data-action="delete"]`)
	b.waitFor("the app's dialog, showing the message, Delete focused", `document.getElementById('dlg-delete').open &&
		document.getElementById('delete-preview').textContent.includes('the doomed') && document.activeElement.id === 'delete-go'`)
	b.press(kb.Escape)
	b.waitFor("the dialog closed", `!document.getElementById('dlg-delete').open`)
	if !eval[bool](b, fmt.Sprintf(`document.querySelector(%q) !== null`, msg)) {
		t.Fatal("Escape deleted the message")
	}
	if h := alice.must("conversations.history", obj{"channel": plaza})["messages"].([]any); len(h) == 0 || h[0].(obj)["ts"] != ts {
		t.Fatalf("after Escape, the newest message is not the kept one: %v", h)
	}

	b.click(msg + ` [data-action="delete"]`)
	b.waitFor("the dialog again", `document.getElementById('dlg-delete').open && document.activeElement.id === 'delete-go'`)
	b.pressEnter(false)
	b.waitFor("the message gone", fmt.Sprintf(`document.querySelector(%q) === null && !document.getElementById('dlg-delete').open`, msg))
	for _, m := range alice.must("conversations.history", obj{"channel": plaza})["messages"].([]any) {
		if m.(obj)["ts"] == ts {
			t.Fatal("the message is still in the history after Delete")
		}
	}
	if n := eval[int](b, `window.__confirms`); n != 0 {
		t.Fatalf("the browser's confirm() was used %d times", n)
	}
}

// Up in an empty message box edits your own last message in the
// conversation (not someone else's later one); with text in the box it
// moves the caret as usual.
func TestWebUpEditsLast(t *testing.T) {
	alice, bob, plaza, b := composeScene(t)
	alice.post(plaza, "my first")
	mine := alice.post(plaza, "my last")
	bob.post(plaza, "bob after")
	b.waitFor("the messages", hasText("bob after"))

	b.typeInto("#composer-input", "draft")
	b.press(kb.ArrowUp)
	if eval[bool](b, `document.querySelector('.edit-box') !== null`) {
		t.Fatal("Up with a draft in the box opened an edit")
	}
	eval[any](b, `document.getElementById('composer-input').value = '', null`)
	b.press(kb.ArrowUp)
	box := fmt.Sprintf(`#messages .msg[data-ts=%q] .edit-box`, mine)
	b.waitFor("the edit box on alice's last message, with its text, focused", fmt.Sprintf(
		`(() => { const e = document.querySelector(%q); return e && e.value === 'my last' && document.activeElement === e; })()`, box))
	b.step("change it", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, input.InsertText, input.InsertTextParams{Text: ", edited"})
		return err
	}))
	b.pressEnter(false)
	b.waitFor("the edit shown", hasText("my last, edited"))
	if got := alice.must("conversations.history", obj{"channel": plaza, "limit": 2})["messages"].([]any)[1].(obj)["text"]; got != "my last, edited" {
		t.Fatalf("the edited message reads %q", got)
	}
}

// A right-to-left override in a display name stays inside the name: the
// words after an @-mention of it, and after it in "is typing…", read left
// to right.
func TestWebNamesIsolated(t *testing.T) {
	alice, bob, plaza, b := composeScene(t)
	bob.must("users.profile.set", obj{"profile": obj{"display_name": "bob\u202e"}})
	b.step("reload, for the new name", chromedp.Reload())
	alice.post(plaza, "hey <@"+bob.userID+"> evil")
	b.waitFor("bob's new name", `[...document.querySelectorAll('#messages .mention')].some(e => e.textContent === '@bob\u202e')`)
	b.waitFor("the mention", `[...document.querySelectorAll('#messages .msg .text')].some(e => e.textContent.endsWith(' evil'))`)
	// Where each letter of "evil" is drawn, left to right.
	xs := eval[[]float64](b, `(() => {
		const t = [...document.querySelectorAll('#messages .msg .text')].find(e => e.textContent.endsWith(' evil'));
		const w = document.createTreeWalker(t, NodeFilter.SHOW_TEXT);
		let n, last; while ((n = w.nextNode())) last = n;
		const at = last.data.lastIndexOf('evil'), r = document.createRange(), out = [];
		for (let i = 0; i < 4; i++) { r.setStart(last, at + i); r.setEnd(last, at + i + 1); out.push(r.getBoundingClientRect().left); }
		return out; })()`)
	for i := 1; i < len(xs); i++ {
		if xs[i] <= xs[i-1] {
			t.Fatalf("the letters of \"evil\" after the mention are drawn at %v: not left to right", xs)
		}
	}

	r := bob.connect()
	if err := r.conn.WriteJSON(obj{"id": 1, "type": "typing", "channel": plaza}); err != nil {
		t.Fatalf("send typing: %v", err)
	}
	b.waitFor("bob typing", `document.getElementById('typing').textContent.endsWith(' is typing…')`)
	if !eval[bool](b, `document.querySelector('#typing bdi') !== null`) {
		t.Fatal("the typing line does not isolate the name")
	}
}

// Escape in the edit box of a thread's reply cancels the edit and leaves
// the thread open; a second Escape closes the thread.
func TestWebEscapeEditInThread(t *testing.T) {
	alice, _, plaza, b := composeScene(t)
	parent := alice.post(plaza, "the parent")
	reply := alice.must("chat.postMessage", obj{"channel": plaza, "thread_ts": parent, "text": "my reply"})["ts"].(string)
	b.click(fmt.Sprintf(`#messages .msg[data-ts=%q] .thread-link`, parent))
	msg := fmt.Sprintf(`#thread-messages .msg[data-ts=%q]`, reply)
	b.waitFor("the reply in the thread", fmt.Sprintf(`document.querySelector(%q) !== null`, msg))
	b.click(msg + ` [data-action="edit"]`)
	b.waitFor("the edit box", `document.activeElement && document.activeElement.classList.contains('edit-box')`)
	b.press(kb.Escape)
	b.waitFor("the edit cancelled", `document.querySelector('.edit-box') === null`)
	if !eval[bool](b, fmt.Sprintf(`document.querySelector(%q) !== null && !document.getElementById('thread').hidden`, msg)) {
		t.Fatal("Escape in the edit box closed the thread")
	}
}

// A display name changed elsewhere shows at once, on the messages already
// shown, without a reload (user_change).
func TestWebNameChangeLive(t *testing.T) {
	_, bob, plaza, b := composeScene(t)
	bob.post(plaza, "hello from bob")
	b.waitFor("bob's message", `[...document.querySelectorAll('#messages .author')].some(e => e.textContent === 'bob')`)
	bob.must("users.profile.set", obj{"profile": obj{"display_name": "Robert"}})
	b.waitFor("his new name", `[...document.querySelectorAll('#messages .author')].some(e => e.textContent === 'Robert')`)
}

// What is typed is sent as Slack's clients send it: &, < and > escaped,
// so that typed "<b>" or "&lt;" is text, shown as typed; an edit shows
// the characters and keeps a mention's markup.
func TestWebTypedTextEscaped(t *testing.T) {
	alice, bob, plaza, b := composeScene(t)
	typed := "if a < b && c > d, not <https://x.test|a link> nor &lt;"
	b.typeInto("#composer-input", typed)
	b.pressEnter(false)
	b.waitFor("the message, as typed", hasText(typed))
	last := func() obj {
		return alice.must("conversations.history", obj{"channel": plaza, "limit": 1})["messages"].([]any)[0].(obj)
	}
	m := last()
	const want = "if a &lt; b &amp;&amp; c &gt; d, not &lt;https://x.test|a link&gt; nor &amp;lt;"
	if m["text"] != want {
		t.Fatalf("stored %q, want %q", m["text"], want)
	}
	if eval[bool](b, `document.querySelector('#messages .msg:last-child .text a') !== null`) {
		t.Fatal("typed markup became a link")
	}

	// An edit of a message with a mention: the box shows the characters,
	// and the mention's markup survives.
	ts := alice.post(plaza, "ping <@"+bob.userID+"> &amp; co")
	msg := fmt.Sprintf(`#messages .msg[data-ts=%q]`, ts)
	b.click(msg + ` [data-action="edit"]`)
	b.waitFor("the edit box, unescaped", fmt.Sprintf(`document.querySelector('%s .edit-box')?.value === 'ping <@%s> & co'`, msg, bob.userID))
	b.step("append", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, input.InsertText, input.InsertTextParams{Text: " <3"})
		return err
	}))
	b.pressEnter(false)
	b.waitFor("the edit shown", hasText("ping @bob & co <3"))
	if got, want := last()["text"], "ping <@"+bob.userID+"> &amp; co &lt;3"; got != want {
		t.Fatalf("edited text stored as %q, want %q", got, want)
	}
}

// The messages from the keyboard: Shift+Tab from the message box reaches
// the newest message (the list is one Tab stop), the arrows move between
// messages, the focused message shows its actions, and E, T, Delete,
// Enter and Escape do what they say.
func TestWebMessageKeyboard(t *testing.T) {
	alice, bob, plaza, b := composeScene(t)
	one := alice.post(plaza, "one")
	bob.post(plaza, "two")
	three := alice.post(plaza, "three")
	b.waitFor("the messages", hasText("three"))
	focused := func(ts string) string {
		return fmt.Sprintf(`document.activeElement && document.activeElement.dataset.ts === %q`, ts)
	}
	tab := func(shift bool) {
		b.t.Helper()
		var mods []chromedp.Modifier
		if shift {
			mods = append(mods, chromedp.ModifierShift)
		}
		b.step("tab", chromedp.KeyEvent(kb.Tab, chromedp.KeyModifiers(mods...)))
	}

	b.step("focus the message box", chromedp.Focus("#composer-input"))
	tab(true)
	b.waitFor("the newest message focused, its actions shown", focused(three)+
		` && document.activeElement.querySelector('.msg-tools').checkVisibility()`)
	b.press(kb.ArrowUp)
	b.press(kb.ArrowUp)
	b.waitFor("the first message", focused(one))
	if n := eval[int](b, `document.querySelectorAll('#messages .msg[tabindex="0"]').length`); n != 1 {
		t.Fatalf("%d messages in the Tab order, want 1", n)
	}

	b.press("e")
	b.waitFor("its edit box", `document.activeElement && document.activeElement.classList.contains('edit-box')`)
	b.press(kb.Escape)
	b.waitFor("the edit cancelled", `document.querySelector('.edit-box') === null`)

	b.step("focus the message box", chromedp.Focus("#composer-input"))
	tab(true)
	b.waitFor("back on the message last moved to", focused(one))
	b.pressEnter(false)
	b.waitFor("in its actions", `document.activeElement && document.activeElement.closest('.msg-tools') !== null`)
	b.press(kb.Escape)
	b.waitFor("back on the message", focused(one))

	b.press("t")
	b.waitFor("its thread open", `!document.getElementById('thread').hidden`)
	b.step("focus the message", chromedp.Focus(fmt.Sprintf(`#messages .msg[data-ts=%q]`, one)))
	b.press(kb.Delete)
	b.waitFor("the delete dialog", `document.getElementById('dlg-delete').open`)
	b.press(kb.Escape)
	b.step("focus the message", chromedp.Focus(fmt.Sprintf(`#messages .msg[data-ts=%q]`, one)))
	b.press(kb.Escape)
	b.waitFor("the message box focused", `document.activeElement.id === 'composer-input'`)
}

// The profile: your name in the sidebar opens a dialog that sets your
// display name and status; your own sidebar shows them at once, and
// another person's tab shows them live on your messages.
func TestWebProfile(t *testing.T) {
	alice, bob, plaza, b := composeScene(t)
	alice.post(plaza, "before the change")
	other := newTab(t, b.ctx, "bob", true)
	other.login(alice.base, "acme", "bob", "correct horse bob")
	other.openChannel(plaza)
	other.waitFor("alice's message", hasText("before the change"))

	b.click("#open-profile")
	b.waitFor("the profile dialog", `document.getElementById('dlg-profile').open`)
	b.step("fill it in", chromedp.SetValue("#profile-display", "Ally"), chromedp.SetValue("#profile-status-emoji", ":palm_tree:"),
		chromedp.SetValue("#profile-status-text", "On holiday"))
	b.click(`#profile-form button[type="submit"]`)
	b.waitFor("the dialog closed, the sidebar showing the new name and status", `!document.getElementById('dlg-profile').open &&
		document.getElementById('self-name').textContent === 'Ally' && document.getElementById('self-status').textContent === '🌴' &&
		document.getElementById('self-status').title === 'On holiday'`)
	p := bob.must("users.info", obj{"user": alice.userID})["user"].(obj)["profile"].(obj)
	if p["display_name"] != "Ally" || p["status_text"] != "On holiday" || p["status_emoji"] != ":palm_tree:" {
		t.Fatalf("users.info profile = %v", p)
	}
	other.waitFor("bob sees her new name and status on her message", `[...document.querySelectorAll('#messages .msg-head')].some(h =>
		h.querySelector('.author').textContent === 'Ally' && h.querySelector('.status')?.textContent === '🌴')`)
}
