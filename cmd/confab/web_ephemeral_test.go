package main

import "testing"

// An ephemeral message shows in the open conversation of its user,
// marked "Only visible to you", and is not kept: leaving the conversation
// and coming back, it is gone.
func TestWebEphemeral(t *testing.T) {
	m := MustRunMain(t)
	browser := MustStartBrowser(t)
	alice := signup(t, m, "acme", "alice")
	bob := signup(t, m, "acme", "bob")
	general := alice.createChannel("general", false)
	random := alice.createChannel("random", false)
	bob.must("conversations.join", obj{"channel": general})
	bob.must("conversations.join", obj{"channel": random})
	alice.post(general, "hello bob")

	b := newTab(t, browser, "bob", true)
	b.login(m.URL(), "acme", "bob", "correct horse bob")
	b.openChannel(general)
	b.waitFor("general's history", hasText("hello bob"))
	alice.must("chat.postEphemeral", obj{"channel": general, "user": bob.userID, "text": "psst, only you"})
	shown := `[...document.querySelectorAll('#messages .msg.ephemeral')].filter(e =>
		e.querySelector('.text').textContent === 'psst, only you' &&
		e.querySelector('.ephemeral-note').textContent === 'Only visible to you').length`
	b.waitFor("the ephemeral message, marked", shown+` === 1`)
	b.screenshot("ephemeral.png")
	if n := eval[int](b, `document.querySelectorAll('#messages .msg.ephemeral .msg-tools').length`); n != 0 {
		t.Errorf("the ephemeral message has %d toolbars, want none", n)
	}
	alice.post(general, "after")
	b.waitFor("the next message", hasText("after"))
	b.openChannel(random)
	b.openChannel(general)
	b.waitFor("general again", hasText("after"))
	if n := eval[int](b, `document.querySelectorAll('#messages .msg.ephemeral').length`); n != 0 {
		t.Errorf("%d ephemeral messages after coming back, want none (never kept)", n)
	}
}
