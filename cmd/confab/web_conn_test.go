package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Bob has #plaza open in three browsers. The server stops (every socket
// gets goodbye) and stays down 13 s, long enough for a growing backoff to
// reach waits of many seconds; then a new one starts on the same address
// and data. Every tab must be live again, and show a message Alice posts
// right after the restart, within 4 s of the server answering: a client
// probes the server while it waits, so the length of the outage does not
// matter. Three tabs, because one tab's random backoff can be lucky.
func TestWebReconnectsSoonAfterOutage(t *testing.T) {
	dir := t.TempDir()
	m := MustRunMain(t, func(m *Main) { m.Config.DataDir = dir })
	addr := m.Addr()
	browser := MustStartBrowser(t)
	alice := signup(t, m, "acme", "alice")
	bob := signup(t, m, "acme", "bob")
	plaza := alice.createChannel("plaza", false)
	bob.must("conversations.join", obj{"channel": plaza})

	var tabs []*tab
	for i := 1; i <= 3; i++ {
		b := newTab(t, browser, fmt.Sprintf("bob%d", i), true)
		b.login(m.URL(), "acme", "bob", "correct horse bob")
		b.openChannel(plaza)
		tabs = append(tabs, b)
	}
	alice.post(plaza, "before the outage")
	for _, b := range tabs {
		b.waitFor("live before the outage", hasText("before the outage"))
	}

	if err := m.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	for _, b := range tabs {
		b.waitFor("the offline banner", `!document.getElementById('conn-banner').hidden && !window.confabDebug.state().live`)
	}
	time.Sleep(13 * time.Second)

	m = MustRunMain(t, func(m *Main) { m.Config.DataDir = dir; m.Config.Listen = addr })
	back := time.Now()
	alice.base = m.URL()
	alice.post(plaza, "after the restart")
	const within = 4 * time.Second
	for _, b := range tabs {
		b.waitForWithin("live again soon after the restart",
			`window.confabDebug.state().live && document.getElementById('conn-banner').hidden && `+hasText("after the restart"),
			max(time.Until(back.Add(within)), 50*time.Millisecond))
	}
	t.Logf("all tabs live %v after the restart", time.Since(back).Round(time.Millisecond))
}

// waitAcross waits, as waitFor does, for a JavaScript expression to be
// truthy, evaluating it afresh each time: chromedp's polling stays in one
// execution context, and a page restored from the back/forward cache
// comes back in another.
func (b *tab) waitAcross(what, expr string) {
	b.t.Helper()
	deadline := time.Now().Add(browserStep)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, browserStep)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!(`+expr+`)`))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s: waiting for %s (%s): %v, %v", b.name, what, expr, ok, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// presenceOf is a user's presence as another user asks the API for it.
func presenceOf(c *client, user string) string {
	out := c.must("users.getPresence", obj{"user": user})
	p, _ := out["presence"].(string)
	return p
}

// waitPresence polls users.getPresence until it answers want.
func waitPresence(t *testing.T, c *client, user, want string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		got := presenceOf(c, user)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("presence of %s is %q after %v, want %q", user, got, within, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Alice's tab is open; Bob sees her active. She navigates away and the
// page goes into the back/forward cache (pagehide with persisted): its
// socket must close, so Bob sees her away. When she comes back (pageshow
// with persisted, the same page restored) she is active again, and her
// tab shows what Bob posted meanwhile, caught up from its checkpoint.
func TestWebPresenceFollowsBackForwardCache(t *testing.T) {
	m := MustRunMain(t)
	browser := MustStartBrowser(t)
	alice := signup(t, m, "acme", "alice")
	bob := signup(t, m, "acme", "bob")
	plaza := alice.createChannel("plaza", false)
	bob.must("conversations.join", obj{"channel": plaza})

	a := signedIn(t, browser, m, "alice", plaza)
	bob.post(plaza, "before leaving")
	a.waitFor("live before leaving", hasText("before leaving"))
	waitPresence(t, bob, alice.userID, "active", 5*time.Second)

	// A mark that only the same page, restored from the cache, still has.
	eval[bool](a, `(window.__samePage = true, true)`)
	a.step("navigate away", chromedp.Navigate(m.URL()+"/healthz"))
	waitPresence(t, bob, alice.userID, "away", 5*time.Second)
	bob.post(plaza, "while you were away")

	// Not chromedp.NavigateBack: a page restored from the cache fires no
	// load event to wait for.
	a.step("back", chromedp.Evaluate[chromedp.Void](`history.back()`))
	a.waitAcross("the page back", `location.pathname === '/' && document.readyState === 'complete' && !!window.confabDebug`)
	if !eval[bool](a, `window.__samePage === true`) {
		t.Fatal("the page was loaded again, not restored from the back/forward cache: this test needs the cache")
	}
	a.waitAcross("live again", `window.confabDebug.state().live && document.getElementById('conn-banner').hidden`)
	a.waitAcross("what was posted meanwhile", hasText("while you were away"))
	waitPresence(t, bob, alice.userID, "active", 5*time.Second)
	bob.post(plaza, "welcome back")
	a.waitAcross("live after coming back", hasText("welcome back"))
}

// A catch-up that fails after the socket opened sends the client round
// its loop again: the socket it opened is closed, not left beside the
// next one (two sockets would each deliver every event).
func TestWebFailedCatchUpClosesItsSocket(t *testing.T) {
	m := MustRunMain(t)
	browser := MustStartBrowser(t)
	alice := signup(t, m, "acme", "alice")
	signup(t, m, "acme", "bob")
	general := generalOf(t, alice)
	b := newTab(t, browser, "bob", true)
	b.onNewDocument("count the sockets; fail client.catchup on demand", `
		window.__sockets = [];
		window.__failCatchups = 0;
		const WS0 = window.WebSocket;
		window.WebSocket = function (url, p) { const ws = new WS0(url, p); window.__sockets.push(ws); return ws; };
		window.WebSocket.prototype = WS0.prototype;
		Object.assign(window.WebSocket, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
		const fetch0 = window.fetch;
		window.fetch = function (url, o) {
			if (String(url).includes('/api/client.catchup') && window.__failCatchups > 0) {
				window.__failCatchups--;
				return Promise.resolve(new Response('{"ok":false,"error":"internal_error"}', {status: 500, headers: {'Content-Type': 'application/json'}}));
			}
			return fetch0.apply(this, arguments);
		};`)
	b.login(m.URL(), "acme", "bob", "correct horse bob")
	b.openChannel(general)
	b.waitFor("live", `window.confabDebug.state().live`)
	open := `window.__sockets.filter(s => s.readyState === 1).length`
	eval[bool](b, `(window.__failCatchups = 3, window.confabDebug.drop(), true)`)
	b.waitFor("live again after the failed catch-ups", `window.confabDebug.state().live && window.__failCatchups === 0`)
	alice.post(general, "after the failed catch-ups")
	b.waitFor("the message, live", hasText("after the failed catch-ups"))
	if n := eval[int](b, open); n != 1 {
		t.Fatalf("%d sockets open, want 1", n)
	}
	if n := eval[int](b, `[...document.querySelectorAll('#messages .msg .text')].filter(e => e.textContent === 'after the failed catch-ups').length`); n != 1 {
		t.Fatalf("the message is shown %d times, want once", n)
	}
}
