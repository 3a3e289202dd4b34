package main

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestWebReloadFetchesOnlyThePage: the client's files are named by the
// build's version and cached for good, so a reload asks the server for
// the page and the API, not for one module or stylesheet again (a
// revalidation each, before, on the way to the first screen).
func TestWebReloadFetchesOnlyThePage(t *testing.T) {
	m := MustRunMain(t)
	browser := MustStartBrowser(t)
	alice := signup(t, m, "acme", "alice")
	plaza := alice.createChannel("plaza", false)
	alice.post(plaza, "hello from before the reload")

	b := signedIn(t, browser, m, "alice", plaza)
	b.step("reload", chromedp.Reload())
	b.waitFor("the message after the reload", hasText("hello from before the reload"))
	files := eval[[]map[string]any](b, `performance.getEntriesByType('resource')
		.filter(e => /\.(js|css|svg)$/.test(new URL(e.name).pathname))
		.map(e => ({ name: new URL(e.name).pathname, transferSize: e.transferSize }))`)
	if len(files) < 10 {
		t.Fatalf("the reload loaded %d of the client's files (%v), want the stylesheet and every module", len(files), files)
	}
	for _, f := range files {
		if f["transferSize"].(float64) != 0 {
			t.Errorf("the reload fetched %s from the server (%v bytes), want it from the cache", f["name"], f["transferSize"])
		}
	}
}

// TestWebBootCarriesHistory: a reload opens the conversation of the URL
// with the page client.boot carries, asking conversations.history only
// for older pages; a link to another conversation still asks for its own.
func TestWebBootCarriesHistory(t *testing.T) {
	m := MustRunMain(t)
	browser := MustStartBrowser(t)
	alice := signup(t, m, "acme", "alice")
	plaza := alice.createChannel("plaza", false)
	for i := range 60 {
		alice.post(plaza, fmt.Sprintf("plaza %02d", i))
	}

	b := signedIn(t, browser, m, "alice", plaza)
	recordCalls(b)
	b.step("reload", chromedp.Reload())
	b.waitFor("the newest message after the reload", hasText("plaza 59"))
	calls := eval[[]map[string]any](b, `window.__calls`)
	var boot map[string]any
	for _, c := range calls {
		switch c["method"] {
		case "client.boot":
			boot = c["args"].(map[string]any)
		case "conversations.history":
			if args := c["args"].(map[string]any); args["cursor"] == nil || args["cursor"] == "" {
				t.Errorf("the reload asked conversations.history for the first page (%v): the boot carries it", args)
			}
		}
	}
	if boot == nil || boot["history_channel"] != plaza {
		t.Fatalf("the reload's client.boot asked %v, want the history of %s", boot, plaza)
	}
	// The boot's page is a page like any: scrolling up goes on from it.
	eval[any](b, `document.getElementById('scroller').scrollTop = 0, null`)
	b.waitFor("the oldest message", hasText("plaza 00"))
	if n := eval[int](b, `document.querySelectorAll('#messages .msg[data-ts]').length`); n != 60 {
		t.Fatalf("%d messages shown, want the 60, each once", n)
	}
}
