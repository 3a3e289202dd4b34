package main

import (
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
