package main

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
)

// systemLines is a JS expression: the texts of the open conversation's
// system lines of that subtype, oldest first, without their time.
func systemLines(subtype string) string {
	return fmt.Sprintf(`[...document.querySelectorAll('#messages .msg.system[data-subtype=%q]')].map(e =>
		e.querySelector('.system-text').textContent.replace(/\s+\d{1,2}:\d\d.*$/, '').trim())`, subtype)
}

// Bob joins alice's open channel and sets its topic: alice sees "bob
// joined" and the topic line live, once each (the stored messages, not
// lines made from the membership and topic events besides); after a
// reload they are still there, once each, from the channel's history.
func TestWebSystemMessagesKept(t *testing.T) {
	m := MustRunMain(t)
	browser := MustStartBrowser(t)
	alice := signup(t, m, "acme", "alice")
	plaza := alice.createChannel("plaza", false)
	alice.post(plaza, "welcome")
	a := signedIn(t, browser, m, "alice", plaza)
	a.waitFor("alice's message", hasText("welcome"))

	bob := signup(t, m, "acme", "bob")
	bob.must("conversations.join", obj{"channel": plaza})
	bob.must("conversations.setTopic", obj{"channel": plaza, "topic": "quokka census"})
	bob.post(plaza, "hi all")
	a.waitFor("bob's message", hasText("hi all"))
	a.waitFor("the lines, named", systemShown("channel_join")+" && "+systemShown("channel_topic"))
	want := func(when string) {
		t.Helper()
		if got := eval[[]string](a, systemLines("channel_join")); len(got) != 1 || got[0] != "bob joined #plaza" {
			t.Errorf("%s: join lines %q, want one \"bob joined #plaza\"", when, got)
		}
		if got := eval[[]string](a, systemLines("channel_topic")); len(got) != 1 || got[0] != "bob set the topic: quokka census" {
			t.Errorf("%s: topic lines %q, want one \"bob set the topic: quokka census\"", when, got)
		}
		// In the order they happened, between the messages.
		order := eval[string](a, `[...document.querySelectorAll('#messages .msg')].map(e => e.dataset.subtype || e.querySelector('.text')?.textContent).join('|')`)
		if order != "welcome|channel_join|channel_topic|hi all" {
			t.Errorf("%s: the conversation reads %q, want welcome|channel_join|channel_topic|hi all", when, order)
		}
		if got := eval[string](a, `document.getElementById('channel-topic').textContent`); got != "quokka census" {
			t.Errorf("%s: the header's topic is %q", when, got)
		}
	}
	want("live")

	a.step("reload", chromedp.Reload())
	a.waitFor("the app after reload", `!document.getElementById('app').hidden && window.confabDebug && window.confabDebug.state().live`)
	a.waitFor("plaza open after reload", fmt.Sprintf(`document.getElementById('messages').dataset.channelId === %q`, plaza))
	a.waitFor("the history after reload", hasText("hi all"))
	a.waitFor("the lines, named", systemShown("channel_join")+" && "+systemShown("channel_topic"))
	want("after a reload")
}
