package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// wsProxy is a reverse proxy in front of a server, on a port of its own,
// as a corporate proxy would stand: it refuses every WebSocket upgrade,
// passes the rest through (streamed answers as they come), and can cut
// and refuse Server-Sent Events streams on demand.
type wsProxy struct {
	URL       string
	refuseSSE atomic.Bool
	mu        sync.Mutex
	streams   map[*http.Request]context.CancelFunc
}

func startWSProxy(t *testing.T, target string) *wsProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &wsProxy{streams: map[*http.Request]context.CancelFunc{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.FlushInterval = -1
	rp.ErrorLog = log.New(io.Discard, "", 0)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			http.Error(w, "WebSockets are not allowed here", http.StatusForbidden)
			return
		}
		if strings.HasPrefix(r.URL.Path, "/rtm/sse/") {
			if p.refuseSSE.Load() {
				http.Error(w, "not now", http.StatusBadGateway)
				return
			}
			ctx, cancel := context.WithCancel(r.Context())
			r = r.WithContext(ctx)
			p.mu.Lock()
			p.streams[r] = cancel
			p.mu.Unlock()
			defer func() {
				p.mu.Lock()
				delete(p.streams, r)
				p.mu.Unlock()
				cancel()
			}()
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// cutStreams ends every Server-Sent Events stream going through p.
func (p *wsProxy) cutStreams() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, cancel := range p.streams {
		cancel()
	}
}

// Where WebSockets cannot go, the web client falls back to Server-Sent
// Events by itself: two people chat live through the stream (typing and
// presence too, what the client sends going over HTTP), and what is sent
// while one's stream is cut arrives once, in order, when it comes back.
func TestWebChatOverSSE(t *testing.T) {
	m := MustRunMain(t)
	browser := MustStartBrowser(t)
	alice := signup(t, m, "acme", "alice")
	bob := signup(t, m, "acme", "bob")
	plaza := alice.createChannel("plaza", false)
	bob.must("conversations.join", obj{"channel": plaza})

	proxy := startWSProxy(t, m.URL())
	tabs := map[string]*tab{}
	for _, name := range []string{"alice", "bob"} {
		b := newTab(t, browser, name, true)
		recordCalls(b)
		b.login(proxy.URL, "acme", name, "correct horse "+name)
		b.openChannel(plaza)
		b.waitFor("live over Server-Sent Events", `window.confabDebug.state().live && window.confabDebug.state().transport === 'sse'`)
		tabs[name] = b
	}
	a, b := tabs["alice"], tabs["bob"]
	if eval[bool](b, `!document.getElementById('conn-banner').hidden`) {
		t.Error("the connection banner shows while the stream works")
	}

	a.typeInto("#composer-input", "hello over the stream")
	b.waitFor("alice typing, told over HTTP", `document.getElementById('typing').textContent.includes('alice is typing')`)
	a.pressEnter(false)
	b.waitFor("alice's message, live", hasText("hello over the stream"))
	b.typeInto("#composer-input", "and back")
	b.pressEnter(false)
	a.waitFor("bob's answer, live", hasText("and back"))
	// Presence comes over the stream too (watched with rtm.presenceSub).
	presence := func(p string) string {
		return fmt.Sprintf(`document.querySelector('#messages .msg[data-user=%q] .presence[data-presence=%q]') !== null`, alice.userID, p)
	}
	b.waitFor("alice active", presence("active"))
	alice.must("users.setPresence", obj{"presence": "away"})
	b.waitFor("alice away, live", presence("away"))

	// A stream cut: the browser reconnects by itself, naming the last id
	// it got, and the stream resumes where it was — what alice sent
	// meanwhile replayed once, in order, with no new rtm.connect nor
	// client.catchup.
	calls := `window.__calls.filter(c => c.method === 'rtm.connect' || c.method === 'client.catchup').length`
	before := eval[int](b, calls)
	proxy.cutStreams()
	var replayed []string
	for i := range 3 {
		text := fmt.Sprintf("while the stream was cut %d", i)
		alice.post(plaza, text)
		replayed = append(replayed, text)
	}
	b.waitFor("the stream resumed", `window.confabDebug.state().resumes === 1`)
	b.waitFor("the last message sent while cut", hasText(replayed[len(replayed)-1]))
	got := eval[[]string](b, `[...document.querySelectorAll('#messages .msg[data-ts]:not(.pending) .text')].map(e => e.textContent).filter(t => t.startsWith('while the stream was cut'))`)
	if strings.Join(got, "|") != strings.Join(replayed, "|") {
		t.Fatalf("bob's page shows %q, want each of %q once, in order", got, replayed)
	}
	if n := eval[int](b, calls); n != before {
		t.Errorf("%d calls of rtm.connect or client.catchup to resume, want none", n-before)
	}

	// The streams are cut, and refused for a while; what alice sends
	// meanwhile comes to bob once his is back.
	proxy.refuseSSE.Store(true)
	proxy.cutStreams()
	b.waitFor("bob offline", `!window.confabDebug.state().live`)
	var sent []string
	for i := range 5 {
		text := fmt.Sprintf("while bob was away %d", i)
		alice.post(plaza, text)
		sent = append(sent, text)
	}
	proxy.refuseSSE.Store(false)
	b.waitFor("bob live again over the stream", `window.confabDebug.state().live && window.confabDebug.state().transport === 'sse'`)
	b.waitFor("the last message sent while away", hasText(sent[len(sent)-1]))
	got = eval[[]string](b, `[...document.querySelectorAll('#messages .msg[data-ts]:not(.pending) .text')].map(e => e.textContent).filter(t => t.startsWith('while bob was away'))`)
	if strings.Join(got, "|") != strings.Join(sent, "|") {
		t.Fatalf("bob's page shows %q, want each of %q once, in order", got, sent)
	}
}
