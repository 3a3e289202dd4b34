package main

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// A claim link opens the client's claim page: the token leaves the
// address bar, the person chooses a password (and a display name), and is
// signed in to their imported history. The link then works no more, and
// the page says so.
func TestWebClaim(t *testing.T) {
	m := MustRunMain(t)
	browser := MustStartBrowser(t)
	owner := signup(t, m, "acme", "alice")
	ids := importUsers(t, owner)
	convs := owner.must("admin.import.conversations", obj{"conversations": `[{"id":"D1","type":"dm","created":1600000000,"members":["` +
		owner.userID + `","` + ids["ann"] + `"]}]`})
	dm := convs["conversations"].(obj)["D1"].(string)
	owner.must("admin.import.messages", obj{"channel": dm, "messages": `[{"type":"message","user":"` + ids["ann"] +
		`","text":"said in slack","ts":"1600000000.000100"}]`})
	link := claimsOf(t, owner, false, ids["ann"])["ann"]["url"].(string)

	b := newTab(t, browser, "ann", true)
	b.step("open the link", chromedp.Navigate(link), chromedp.WaitVisible("#claim-form"))
	if got := eval[string](b, `location.href`); got != m.URL()+"/claim" {
		t.Errorf("address after opening the link: %q, want the token gone", got)
	}
	if eval[bool](b, `!document.getElementById('auth').hidden || !document.getElementById('app').hidden`) {
		t.Error("the claim page shows the sign-in form or the app too")
	}
	b.typeInto("#claim-display", "Annie")
	b.typeInto("#claim-password", "ann's new password")
	b.click("#claim-submit")
	b.waitFor("the app after the claim", `!document.getElementById('app').hidden && window.confabDebug && window.confabDebug.state().live`)
	if got := eval[string](b, `location.pathname`); got != "/" {
		t.Errorf("path after the claim: %q, want /", got)
	}
	b.waitFor("her display name", `document.getElementById('self-name').textContent === 'Annie'`)
	b.openChannel(dm)
	b.waitFor("her imported DM", hasText("said in slack"))

	// The link is spent: another browser is told to ask for a new one.
	c := newTab(t, browser, "mallory", true)
	c.step("open the spent link", chromedp.Navigate(link), chromedp.WaitVisible("#claim-form"))
	c.typeInto("#claim-password", "mallory's password")
	c.click("#claim-submit")
	c.waitFor("the refusal", `!document.getElementById('claim-error').hidden && document.getElementById('claim-error').textContent.includes('Ask your workspace') && document.getElementById('claim-submit').disabled`)

	// And ann signs in with her password from now on.
	d := newTab(t, browser, "ann again", true)
	d.login(m.URL(), "acme", "ann", "ann's new password")
	if got := eval[string](d, `document.getElementById('self-name').textContent`); got != "Annie" {
		t.Errorf("ann's name after logging in: %q", got)
	}
}
