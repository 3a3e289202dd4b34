package main

import (
	"fmt"
	"testing"
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
	b.signupUI(m.URL(), "acme", "bob", "correct horse bob")
	entry := fmt.Sprintf(`#sidebar .chan[data-channel-id=%q]`, general)
	b.waitFor("#general in bob's sidebar", fmt.Sprintf(`(() => { const e = document.querySelector(%s); return !!e && e.textContent.includes('general') })()`, jsString(entry)))
	b.openChannel(general)
	b.waitFor("alice's message in #general", hasText("hello newcomers"))
	b.screenshot("general-on-join.png")
}
