package main

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
)

// startBufferingProxy is a reverse proxy in front of a server that refuses
// WebSocket upgrades and buffers each answer until it ends, as some
// corporate proxies do: a Server-Sent Events stream, which never ends,
// brings nothing.
func startBufferingProxy(t *testing.T, target string) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ErrorLog = log.New(io.Discard, "", 0)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			http.Error(w, "WebSockets are not allowed here", http.StatusForbidden)
			return
		}
		b := &wholeAnswer{header: http.Header{}, status: http.StatusOK}
		rp.ServeHTTP(b, r)
		for k, v := range b.header {
			w.Header()[k] = v
		}
		w.WriteHeader(b.status)
		w.Write(b.body.Bytes())
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// wholeAnswer keeps an answer until it ends (it cannot be flushed).
type wholeAnswer struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *wholeAnswer) Header() http.Header         { return b.header }
func (b *wholeAnswer) WriteHeader(status int)      { b.status = status }
func (b *wholeAnswer) Write(p []byte) (int, error) { return b.body.Write(p) }

// Behind a proxy that refuses WebSockets and holds every answer until it
// ends, the web client falls back by itself to Server-Sent Events, finds
// them silent, and ends up long-polling: two people chat live (typing
// told over HTTP), and messages posted in a burst arrive once each, in
// order.
func TestWebChatOverLongPoll(t *testing.T) {
	m := MustRunMain(t)
	browser := MustStartBrowser(t)
	alice := signup(t, m, "acme", "alice")
	bob := signup(t, m, "acme", "bob")
	plaza := alice.createChannel("plaza", false)
	bob.must("conversations.join", obj{"channel": plaza})

	proxy := startBufferingProxy(t, m.URL())
	tabs := map[string]*tab{}
	for _, name := range []string{"alice", "bob"} {
		b := newTab(t, browser, name, true)
		b.login(proxy, "acme", name, "correct horse "+name)
		b.openChannel(plaza)
		b.waitFor("live by long-polling", `window.confabDebug.state().live && window.confabDebug.state().transport === 'poll'`)
		tabs[name] = b
	}
	a, b := tabs["alice"], tabs["bob"]
	if eval[bool](b, `!document.getElementById('conn-banner').hidden`) {
		t.Error("the connection banner shows while polling works")
	}

	a.typeInto("#composer-input", "hello by polling")
	b.waitFor("alice typing, told over HTTP", `document.getElementById('typing').textContent.includes('alice is typing')`)
	a.pressEnter(false)
	b.waitFor("alice's message, live", hasText("hello by polling"))
	b.typeInto("#composer-input", "and back")
	b.pressEnter(false)
	a.waitFor("bob's answer, live", hasText("and back"))

	var sent []string
	for i := range 20 {
		text := fmt.Sprintf("burst %d", i)
		alice.post(plaza, text)
		sent = append(sent, text)
	}
	b.waitFor("the burst's last message", hasText(sent[len(sent)-1]))
	got := eval[[]string](b, `[...document.querySelectorAll('#messages .msg[data-ts]:not(.pending) .text')].map(e => e.textContent).filter(t => t.startsWith('burst '))`)
	if strings.Join(got, "|") != strings.Join(sent, "|") {
		t.Fatalf("bob's page shows %q, want each of %q once, in order", got, sent)
	}
	if tr := eval[string](b, `window.confabDebug.state().transport`); tr != "poll" {
		t.Fatalf("bob's transport %q after the burst, want poll", tr)
	}
}
