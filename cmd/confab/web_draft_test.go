package main

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// What a person types and has not sent stays with its conversation: each
// conversation and each thread has its own draft, kept as it is typed, so
// that switching conversations, a reload or a closed tab finds it there,
// mentions picked from the menu included; sending it forgets it.
func TestWebDraftsSurviveSwitchAndReload(t *testing.T) {
	m := MustRunMain(t)
	browser := MustStartBrowser(t)
	alice := signup(t, m, "acme", "alice")
	bob := signup(t, m, "acme", "bob")
	plaza := alice.createChannel("plaza", false)
	general := generalOf(t, alice)
	parent := alice.post(plaza, "a thread to answer")
	a := signedIn(t, browser, m, "alice", plaza)
	box := func() string { return eval[string](a, `document.getElementById('composer-input').value`) }

	// A draft in #plaza with bob picked from the @-menu.
	a.typeInto("#composer-input", "half a thought for @bo")
	a.waitFor("bob in the @-menu", fmt.Sprintf(`document.querySelector('#mention-menu:not([hidden]) li[data-user-id=%q]') !== null`, bob.userID))
	a.step("pick bob", chromedp.KeyEvent(kb.Tab))
	a.typeInto("#composer-input", "and more")

	// Another conversation has its own (empty) box, then its own draft.
	a.openChannel(general)
	if got := box(); got != "" {
		t.Fatalf("#general's box holds %q, #plaza's draft; want it empty", got)
	}
	a.typeInto("#composer-input", "for everyone, later")

	// A thread's box has a draft of its own too.
	a.openChannel(plaza)
	if got := box(); got != "half a thought for @bob and more" {
		t.Fatalf("back in #plaza the box holds %q", got)
	}
	a.waitFor("the thread's parent", hasText("a thread to answer"))
	a.click(fmt.Sprintf(`#messages .msg[data-ts=%q] [data-action="thread"]`, parent))
	a.waitFor("the thread open", `!document.getElementById('thread').hidden`)
	a.typeInto("#thread-input", "a reply, unfinished")

	// A reload: every draft is where it was left.
	a.step("reload", chromedp.Reload())
	a.waitFor("the app after the reload", `!document.getElementById('app').hidden && window.confabDebug && window.confabDebug.state().live`)
	a.openChannel(plaza)
	if got := box(); got != "half a thought for @bob and more" {
		t.Fatalf("after the reload #plaza's box holds %q", got)
	}
	a.click(fmt.Sprintf(`#messages .msg[data-ts=%q] [data-action="thread"]`, parent))
	a.waitFor("the thread's draft after the reload", `document.getElementById('thread-input').value === 'a reply, unfinished'`)
	a.openChannel(general)
	if got := box(); got != "for everyone, later" {
		t.Fatalf("after the reload #general's box holds %q", got)
	}

	// Sent, the mention picked before the reload is still a mention, and
	// the draft is gone.
	a.openChannel(plaza)
	a.pressEnter(false)
	a.waitFor("the message sent", hasText("half a thought for @bob and more"))
	hist := alice.must("conversations.history", obj{"channel": plaza, "limit": 1})["messages"].([]any)
	if got, want := hist[0].(obj)["text"], "half a thought for <@"+bob.userID+"> and more"; got != want {
		t.Fatalf("text sent = %q, want %q", got, want)
	}
	a.step("reload", chromedp.Reload())
	a.waitFor("the app after the reload", `!document.getElementById('app').hidden && window.confabDebug && window.confabDebug.state().live`)
	a.openChannel(plaza)
	if got := box(); got != "" {
		t.Fatalf("after sending, #plaza's box holds %q; the draft should be gone", got)
	}
}

// After a Slack import, every open client is told (import_finished) and
// shows the imported conversations and history without reloading the
// page: what was being typed stays in the box.
func TestWebImportFinishedShowsImportedHistory(t *testing.T) {
	m := MustRunMain(t)
	browser := MustStartBrowser(t)
	alice := signup(t, m, "acme", "alice")
	bob := signup(t, m, "acme", "bob")
	plaza := alice.createChannel("plaza", false)
	bob.must("conversations.join", obj{"channel": plaza})
	a := signedIn(t, browser, m, "alice", plaza)
	eval[any](a, `window.__samePage = true, null`)
	a.typeInto("#composer-input", "typed during the import")

	// The owner imports a channel with alice and bob, and its history.
	convs := alice.must("admin.import.conversations", obj{"conversations": fmt.Sprintf(
		`[{"id":"C0OLD","name":"old-times","created":1500000000,"creator":%q,"members":[%q,%q],"type":"public"}]`,
		alice.userID, alice.userID, bob.userID)})["conversations"].(obj)
	old := convs["C0OLD"].(string)
	alice.must("admin.import.messages", obj{"channel": old, "messages": fmt.Sprintf(
		`[{"ts":"1500000001.000100","user":%q,"text":"from the old place"},{"ts":"1500000002.000200","user":%q,"text":"and its last word"}]`,
		bob.userID, alice.userID)})
	if eval[bool](a, fmt.Sprintf(`document.querySelector('#sidebar .chan[data-channel-id=%q]') !== null`, old)) {
		t.Fatal("the imported channel shows before the import finished")
	}
	alice.must("admin.import.finish", nil)

	a.waitFor("the imported channel in the sidebar", fmt.Sprintf(`document.querySelector('#sidebar .chan[data-channel-id=%q]') !== null`, old))
	if !eval[bool](a, `window.__samePage === true`) {
		t.Fatal("the page was reloaded")
	}
	if got := eval[string](a, `document.getElementById('composer-input').value`); got != "typed during the import" {
		t.Fatalf("the box holds %q after the import", got)
	}
	a.openChannel(old)
	a.waitFor("the imported history, in order", `(() => {
		const t = [...document.querySelectorAll('#messages .msg[data-ts] .text')].map(e => e.textContent);
		return t.length === 2 && t[0] === 'from the old place' && t[1] === 'and its last word';
	})()`)
}
