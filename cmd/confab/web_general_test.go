package main

import (
	"context"
	"fmt"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// Someone who joins an existing workspace through the sign-up form finds
// its #general in their sidebar, with what was said there before them.
func TestWebGeneralOnJoin(t *testing.T) {
	m := MustRunMain(t)
	browser := MustStartBrowser(t)
	alice := signup(t, m, "acme", "alice")
	list := alice.must("conversations.list", obj{})["channels"].([]any)
	if len(list) != 1 || list[0].(obj)["is_general"] != true {
		t.Fatalf("conversations.list of a new workspace = %v; want its #general", list)
	}
	general := list[0].(obj)["id"].(string)
	alice.post(general, "hello newcomers")

	b := newTab(t, browser, "bob", true)
	b.step("bob's browser is in Tokyo", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Asia/Tokyo"})
		return err
	}))
	b.signupUI(m.URL(), "acme", "bob", "correct horse bob")
	// The browser's time zone is bob's.
	var bob obj
	for _, u := range alice.must("users.list", nil)["members"].([]any) {
		if u.(obj)["name"] == "bob" {
			bob = u.(obj)
		}
	}
	if bob == nil || bob["tz"] != "Asia/Tokyo" {
		t.Errorf("bob after signing up in a browser in Tokyo: %v", bob)
	}
	entry := fmt.Sprintf(`#sidebar .chan[data-channel-id=%q]`, general)
	b.waitFor("#general in bob's sidebar", fmt.Sprintf(`(() => { const e = document.querySelector(%s); return !!e && e.textContent.includes('general') })()`, jsString(entry)))
	b.openChannel(general)
	b.waitFor("alice's message in #general", hasText("hello newcomers"))
	b.screenshot("general-on-join.png")
}

// A server that takes no sign-ups into existing workspaces says so in
// words on the sign-up form.
func TestWebSignupClosed(t *testing.T) {
	m := MustRunMain(t, func(m *Main) { m.Config.ClosedSignup = true })
	browser := MustStartBrowser(t)
	signup(t, m, "acme", "alice") // a new workspace may still be made
	b := newTab(t, browser, "bob", true)
	b.step("open "+m.URL(), chromedp.Navigate(m.URL()+"/"), chromedp.WaitVisible("#auth-form"))
	b.click("#tab-signup")
	b.typeInto("#auth-team", "acme")
	b.typeInto("#auth-name", "bob")
	b.typeInto("#auth-password", "correct horse bob")
	b.click("#auth-submit")
	b.waitFor("the reason, in words", `(() => { const e = document.getElementById('auth-error');
		return !e.hidden && e.textContent === 'This workspace does not take new sign-ups.' })()`)
}
