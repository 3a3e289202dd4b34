package main

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// Nothing a person types is lost: a message that could not be sent stays
// where it was typed as "Not sent · Retry", is kept in a local outbox that
// survives a reload, and is sent again once the connection is back, with
// its client_msg_id, so that it is never stored or shown twice.

// outboxScene is Alice and Bob, each in a browser of their own, in #plaza,
// which already has a message (a failed one is placed among others).
func outboxScene(t *testing.T, dataDir string) (m *Main, a, b *tab, alice, bob *client, plaza string) {
	t.Helper()
	m = MustRunMain(t, func(m *Main) { m.Config.DataDir = dataDir })
	browser := MustStartBrowser(t)
	alice = signup(t, m, "acme", "alice")
	bob = signup(t, m, "acme", "bob")
	plaza = alice.createChannel("plaza", false)
	bob.must("conversations.join", obj{"channel": plaza})
	alice.post(plaza, "good morning")
	a = newTab(t, browser, "alice", true)
	a.login(m.URL(), "acme", "alice", "correct horse alice")
	a.openChannel(plaza)
	b = newTab(t, browser, "bob", true)
	b.login(m.URL(), "acme", "bob", "correct horse bob")
	b.openChannel(plaza)
	a.waitFor("the history", hasText("good morning"))
	b.waitFor("the history", hasText("good morning"))
	return
}

// unsent is true when box shows text as not sent, marked "Not sent · Retry"
// and nothing else (no "sending…").
func unsent(box, text string) string {
	return fmt.Sprintf(`[...document.querySelectorAll('#%s .msg.failed:not(.pending)')].some(e =>
		e.querySelector('.text').textContent === %s &&
		e.querySelector('.send-failed')?.textContent.startsWith('Not sent · Retry') &&
		e.querySelector('.send-failed button.retry') !== null &&
		!e.textContent.includes('sending'))`, box, jsString(text))
}

// shown is how many messages of box, in any state, show text.
func shown(box, text string) string {
	return fmt.Sprintf(`[...document.querySelectorAll('#%s .msg .text')].filter(e => e.textContent === %s).length`, box, jsString(text))
}

// sentOnce waits until the tab shows text once, acknowledged, in box.
func (b *tab) sentOnce(box, text string) {
	b.t.Helper()
	b.waitFor(text+" sent, once", fmt.Sprintf(`[...document.querySelectorAll('#%s .msg[data-ts]:not(.pending):not(.failed) .text')].some(e => e.textContent === %s) && %s === 1`, box, jsString(text), shown(box, text)))
}

// storedOnce asserts the history of channel (or of a thread) holds text
// exactly once.
func storedOnce(t *testing.T, c *client, channel, thread, text string) {
	t.Helper()
	var out obj
	if thread == "" {
		out = c.must("conversations.history", obj{"channel": channel, "limit": 200})
	} else {
		out = c.must("conversations.replies", obj{"channel": channel, "ts": thread, "limit": 200})
	}
	n := 0
	for _, msg := range out["messages"].([]any) {
		if msg.(obj)["text"] == text {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%q is stored %d times, want once", text, n)
	}
}

// settle has Bob post a message and waits until both tabs show it: what
// either had to show before it is shown by then.
func settle(t *testing.T, bob *client, plaza, text string, tabs ...*tab) {
	t.Helper()
	bob.post(plaza, text)
	for _, b := range tabs {
		b.waitFor("the last message", hasText(text))
	}
}

// noOutbox is true when the tab's outbox is empty.
const noOutbox = `!Object.keys(localStorage).some(k => k.startsWith('confab.outbox.'))`

// apiCut makes a tab's calls of some API methods fail as a broken
// connection does: before the request leaves, or (after) once the server
// has answered, so that the server did the work and the page never hears
// of it.
type apiCut struct {
	b    *tab
	once sync.Once
}

func (c *apiCut) set(before, after []string) {
	c.b.t.Helper()
	c.once.Do(func() {
		ctx := c.b.ctx
		if err := chromedp.Listen(ctx, func(ev any) {
			if e, ok := ev.(*fetch.EventRequestPaused); ok {
				go chromedp.Call(ctx, fetch.FailRequest, fetch.FailRequestParams{RequestID: e.RequestID, ErrorReason: network.ErrorReasonConnectionReset})
			}
		}); err != nil {
			c.b.t.Fatalf("listen: %v", err)
		}
	})
	var patterns []*fetch.RequestPattern
	for _, m := range before {
		patterns = append(patterns, &fetch.RequestPattern{URLPattern: "*/api/" + m, RequestStage: fetch.RequestStageRequest})
	}
	for _, m := range after {
		patterns = append(patterns, &fetch.RequestPattern{URLPattern: "*/api/" + m, RequestStage: fetch.RequestStageResponse})
	}
	c.b.step("cut the API", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if len(patterns) == 0 {
			_, err := cdp.Call(ctx, t, fetch.Disable, cdp.Empty{})
			return err
		}
		_, err := cdp.Call(ctx, t, fetch.Enable, fetch.EnableParams{Patterns: patterns})
		return err
	}))
}

// (1) The server is down when Alice sends: her message stays, marked
// "Not sent · Retry", with no error in the page; once the server is back
// it is sent, and both tabs and the history have it once.
func TestWebUnsentMessageSentWhenServerIsBack(t *testing.T) {
	dir := t.TempDir()
	m, a, b, alice, bob, plaza := outboxScene(t, dir)
	addr := m.Addr()

	if err := m.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	a.waitFor("the offline banner", `!document.getElementById('conn-banner').hidden && !window.confabDebug.state().live`)
	a.typeInto("#composer-input", "typed while the server was down")
	a.pressEnter(false)
	a.waitFor("the message kept as not sent", unsent("messages", "typed while the server was down"))
	if n := eval[int](a, shown("messages", "typed while the server was down")); n != 1 {
		t.Fatalf("the unsent message shows %d times, want once", n)
	}
	if !eval[bool](a, `[...document.querySelectorAll('#messages .msg')].at(-1).classList.contains('failed')`) {
		t.Error("the unsent message is not after the history, where it was typed")
	}

	m = MustRunMain(t, func(m *Main) { m.Config.DataDir = dir; m.Config.Listen = addr })
	alice.base, bob.base = m.URL(), m.URL()
	deliveredOnce(t, a, b, alice, bob, plaza, "typed while the server was down")
}

// (2) An unsent message survives a reload: the page shows it again as not
// sent, and sends it once the connection is back, once.
func TestWebUnsentMessageSurvivesReload(t *testing.T) {
	_, a, b, alice, bob, plaza := outboxScene(t, t.TempDir())
	cut := &apiCut{b: a}
	cut.set([]string{"chat.postMessage"}, nil)
	a.typeInto("#composer-input", "written before the reload")
	a.pressEnter(false)
	a.waitFor("the message kept as not sent", unsent("messages", "written before the reload"))

	a.step("reload", chromedp.Reload())
	a.waitFor("the app again", `!document.getElementById('app').hidden && window.confabDebug && window.confabDebug.state().live`)
	a.waitFor("plaza again", hasText("good morning"))
	a.waitFor("the message still not sent after the reload", unsent("messages", "written before the reload"))
	if n := eval[int](a, shown("messages", "written before the reload")); n != 1 {
		t.Fatalf("the unsent message shows %d times after the reload, want once", n)
	}

	cut.set(nil, nil)
	eval[bool](a, `(window.confabDebug.drop(), true)`) // the connection comes back
	deliveredOnce(t, a, b, alice, bob, plaza, "written before the reload")
}

// (3) Alice's send reaches the server but its answer is lost (and her
// socket is down, so no echo tells her): it shows "Not sent · Retry".
// Retry sends the same client_msg_id, and the message is stored and shown
// once, also after the socket is back and catches up.
func TestWebRetryAfterLostAnswerDoesNotDuplicate(t *testing.T) {
	_, a, b, alice, bob, plaza := outboxScene(t, t.TempDir())
	cut := &apiCut{b: a}
	cut.set([]string{"rtm.connect"}, []string{"chat.postMessage"})
	eval[bool](a, `(window.confabDebug.drop(), true)`)
	a.waitFor("the socket down", `!window.confabDebug.state().live`)

	a.typeInto("#composer-input", "did this go out?")
	a.pressEnter(false)
	a.waitFor("the message kept as not sent", unsent("messages", "did this go out?"))
	b.sentOnce("messages", "did this go out?") // the server has it

	cut.set([]string{"rtm.connect"}, nil)
	a.click(`#messages .msg.failed button.retry`)
	a.sentOnce("messages", "did this go out?")
	a.waitFor("the outbox emptied", noOutbox)

	cut.set(nil, nil)
	a.waitFor("live again", `window.confabDebug.state().live`)
	settle(t, bob, plaza, "yes it did", a, b)
	a.sentOnce("messages", "did this go out?")
	b.sentOnce("messages", "did this go out?")
	storedOnce(t, alice, plaza, "", "did this go out?")
}

// (4) A thread reply that cannot be sent shows "Not sent · Retry" only
// (not also "sending…"), in the thread; it is sent when the connection
// is back.
func TestWebUnsentThreadReply(t *testing.T) {
	_, a, _, alice, _, plaza := outboxScene(t, t.TempDir())
	parent := alice.post(plaza, "a thread")
	msg := fmt.Sprintf(`#messages .msg[data-ts=%q]`, parent)
	a.click(msg + ` [data-action=thread]`)
	a.waitFor("thread open", fmt.Sprintf(`!document.getElementById('thread').hidden && document.querySelector('#thread-messages .msg[data-ts=%q]') !== null`, parent))

	a.setOffline(true)
	eval[bool](a, `(window.confabDebug.drop(), true)`)
	a.typeInto("#thread-input", "a reply from a tunnel")
	a.pressEnter(false)
	a.waitFor("the reply kept as not sent", unsent("thread-messages", "a reply from a tunnel"))
	if n := eval[int](a, shown("thread-messages", "a reply from a tunnel")); n != 1 {
		t.Fatalf("the unsent reply shows %d times, want once", n)
	}

	a.setOffline(false)
	a.sentOnce("thread-messages", "a reply from a tunnel")
	a.waitFor("the outbox emptied", noOutbox)
	storedOnce(t, alice, plaza, parent, "a reply from a tunnel")
}

// A message the server refuses for good (here msg_too_long) stays "Not
// sent" with the reason, is not sent again when the connection comes
// back, and goes when discarded.
func TestWebRefusedMessageIsNotRetried(t *testing.T) {
	_, a, b, alice, bob, plaza := outboxScene(t, t.TempDir())
	eval[bool](a, `(document.getElementById('composer-input').value = 'x'.repeat(40001), true)`)
	a.step("focus", chromedp.Focus("#composer-input"))
	a.pressEnter(false)
	refused := `[...document.querySelectorAll('#messages .msg.failed')].some(e => e.querySelector('.send-failed').textContent.startsWith('Not sent (the message is too long) · Retry'))`
	a.waitFor("the refusal shown", refused)

	// Count the page's chat.postMessage calls from here on.
	eval[bool](a, `(window.__posts = 0, window.fetch = ((f) => (u, o) => (String(u).includes('chat.postMessage') && window.__posts++, f(u, o)))(window.fetch), true)`)
	eval[bool](a, `(window.confabDebug.drop(), true)`)
	a.waitFor("live again", `window.confabDebug.state().live`)
	settle(t, bob, plaza, "later", a, b)
	if n := eval[int](a, `window.__posts`); n != 0 {
		t.Fatalf("the refused message was sent again %d times after a reconnect, want none", n)
	}
	if !eval[bool](a, refused) {
		t.Fatal("the refused message is no longer shown as refused after a reconnect")
	}
	if eval[bool](a, noOutbox) {
		t.Fatal("the refused message is not in the outbox")
	}

	a.click(`#messages .msg.failed button.discard`)
	a.waitFor("discarded", `document.querySelectorAll('#messages .msg.failed').length === 0 && `+noOutbox)
	if n := len(posted(alice.must("conversations.history", obj{"channel": plaza})["messages"].([]any))); n != 2 {
		t.Fatalf("history has %d messages, want 2 (the refused one never stored)", n)
	}
}

// deliveredOnce waits for text, sent from alice's outbox, to show once in
// both tabs (a is alice's, b bob's) and the outbox to empty; then, once
// a later message has settled both, checks it is still shown once and
// stored once.
func deliveredOnce(t *testing.T, a, b *tab, alice, bob *client, plaza, text string) {
	t.Helper()
	a.sentOnce("messages", text)
	b.sentOnce("messages", text)
	a.waitFor("the outbox emptied", noOutbox)
	settle(t, bob, plaza, "got it", a, b)
	a.sentOnce("messages", text)
	b.sentOnce("messages", text)
	storedOnce(t, alice, plaza, "", text)
}
