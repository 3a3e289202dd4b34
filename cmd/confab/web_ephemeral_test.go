package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"

	"github.com/chromedp/cdproto/page"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// An ephemeral message shows in the open conversation of its user,
// marked "Only visible to you", and is not kept: leaving the conversation
// and coming back, it is gone.
func TestWebEphemeral(t *testing.T) {
	m, browser, alice, bob, general, random := twoChannels(t, "random")
	alice.post(general, "hello bob")

	b := signedIn(t, browser, m, "bob", general)
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

// In the web client, /invite @name adds someone (here an app's bot) to
// the conversation and says so to the inviter only; /me posts an action.
func TestWebSlashCommands(t *testing.T) {
	m := MustRunMain(t)
	browser := MustStartBrowser(t)
	alice := signup(t, m, "acme", "alice")
	general := alice.createChannel("plaza", false)
	app := alice.must("apps.manifest.create", obj{"manifest": obj{
		"display_information": obj{"name": "Helper"},
		"features":            obj{"bot_user": obj{"display_name": "Helper"}},
	}})
	botUser := app["bot_user_id"].(string)
	bot, _ := alice.must("users.info", obj{"user": botUser})["user"].(obj)

	a := signedIn(t, browser, m, "alice", general)
	a.typeInto("#composer-input", "/invite @"+bot["name"].(string))
	// The client knows the bot from nobody: the @-menu offers it once
	// users.search answers.
	a.waitFor("the bot in the @-menu", fmt.Sprintf(`document.querySelector('#mention-menu:not([hidden]) li[data-user-id=%q]') !== null`, botUser))
	a.pressEnter(false) // picks the name the @-menu offers
	a.waitFor("the name picked", `document.getElementById('composer-input').value.endsWith(' ')`)
	a.pressEnter(false)
	a.waitFor("the invitation, said to alice only", `[...document.querySelectorAll('#messages .msg.ephemeral .text')].some(e => e.textContent.startsWith('Invited @'))`)
	members := alice.must("conversations.members", obj{"channel": general})["members"].([]any)
	if !slices.Contains(members, any(botUser)) {
		t.Fatalf("members of general after /invite = %v; want the bot %s", members, botUser)
	}
	a.typeInto("#composer-input", "/invite @nobody")
	a.pressEnter(false)
	a.waitFor("an unknown name, said", `[...document.querySelectorAll('#messages .msg.ephemeral .text')].some(e => e.textContent.includes('@nobody'))`)

	a.typeInto("#composer-input", "/me waves")
	a.pressEnter(false)
	a.waitFor("the action in the conversation", hasText("waves"))
	hist := alice.must("conversations.history", obj{"channel": general, "limit": 10})["messages"].([]any)
	if len(hist) != 2 || hist[0].(obj)["subtype"] != "me_message" || hist[0].(obj)["text"] != "waves" ||
		hist[1].(obj)["subtype"] != "channel_join" || hist[1].(obj)["user"] != botUser || hist[1].(obj)["inviter"] != alice.userID {
		t.Fatalf("history after /me = %v; want one me_message \"waves\" after the bot's join (invited by alice)", hist)
	}
}

// A mention raises its own badge in the sidebar, beside the unread count,
// and in the tab's title; a DM's messages count as mentions; opening the
// conversation clears both.
func TestWebMentionBadge(t *testing.T) {
	m, browser, alice, bob, general, random := twoChannels(t, "random")
	dm := alice.must("conversations.open", obj{"users": bob.userID})["channel"].(obj)["id"].(string)
	alice.post(random, "before bob looked, for <@"+bob.userID+">") // counted by client.boot

	b := signedIn(t, browser, m, "bob", general)
	item := func(id string) string {
		return fmt.Sprintf(`document.querySelector('#sidebar .chan[data-channel-id=%q]')`, id)
	}
	b.waitFor("the boot's mention", item(random)+`?.querySelector('.badge.mention')?.textContent === '@1'`)
	alice.post(random, "hey <@"+bob.userID+">, look")
	alice.post(random, "no mention here")
	b.waitFor("a live mention", item(random)+`?.querySelector('.badge.mention')?.textContent === '@2' && `+
		item(random)+`.querySelector('.badge:not(.mention)')?.textContent === '3'`)
	alice.post(dm, "psst")
	b.waitFor("a DM counts as a mention", item(dm)+`?.querySelector('.badge.mention')?.textContent === '@1'`)
	b.waitFor("the title", `document.title.startsWith('@3 ')`)

	b.openChannel(random)
	b.waitFor("random's badges cleared", `!`+item(random)+`.querySelector('.badge')`)
	b.waitFor("the title", `document.title.startsWith('@1 ')`)
}

// Typing @ and the start of a name offers the workspace's people; picking
// one sends <@U…>, which shows as the person's name.
func TestWebMentionAutocomplete(t *testing.T) {
	m := MustRunMain(t)
	browser := MustStartBrowser(t)
	alice := signup(t, m, "acme", "alice")
	bob := signup(t, m, "acme", "bob")
	signup(t, m, "acme", "bobby")
	general := alice.createChannel("plaza", false)
	bob.must("conversations.join", obj{"channel": general})

	a := signedIn(t, browser, m, "alice", general)
	a.typeInto("#composer-input", "thanks @bo")
	a.waitFor("the menu offers bob and bobby", `(() => { const m = document.getElementById('mention-menu');
		return !m.hidden && [...m.querySelectorAll('li')].map(li => li.textContent).join('|') === 'bob @bob|bobby @bobby'; })()`)
	a.step("pick the first", chromedp.KeyEvent(kb.Tab))
	a.waitFor("the name in the box", `document.getElementById('composer-input').value === 'thanks @bob '`)
	a.typeInto("#composer-input", "and hi")
	a.pressEnter(false)
	a.waitFor("the message, with bob's name", hasText("thanks @bob and hi"))
	hist := alice.must("conversations.history", obj{"channel": general, "limit": 1})["messages"].([]any)
	if got := hist[0].(obj)["text"]; got != "thanks <@"+bob.userID+"> and hi" {
		t.Fatalf("text sent = %q; want bob's mention as <@%s>", got, bob.userID)
	}
}

// twoChannels starts a server and a browser, and signs up alice and bob,
// both in #plaza and in a second public channel named second: the
// scene of the web tests of mentions and notifications.
func twoChannels(t *testing.T, second string) (m *Main, browser context.Context, alice, bob *client, general, other string) {
	m = MustRunMain(t)
	browser = MustStartBrowser(t)
	alice = signup(t, m, "acme", "alice")
	bob = signup(t, m, "acme", "bob")
	general = alice.createChannel("plaza", false)
	other = alice.createChannel(second, false)
	bob.must("conversations.join", obj{"channel": general})
	bob.must("conversations.join", obj{"channel": other})
	return m, browser, alice, bob, general, other
}

// notifyScene: twoChannels with #random, and a tab of bob's, not yet
// logged in.
func notifyScene(t *testing.T) (m *Main, alice, bob *client, general, random string, b *tab) {
	m, browser, alice, bob, general, random := twoChannels(t, "random")
	return m, alice, bob, general, random, newTab(t, browser, "bob", true)
}

// Browser notifications: the client asks for the permission only when the
// person clicks its offer, never on load; once allowed, a mention in
// another conversation shows a notification, and clicking it opens that
// conversation at the message. The page's Notification is a recorder
// standing for the browser's: it counts the permission requests and keeps
// what is shown (TestWebNotificationGranted uses the browser's own).
func TestWebNotifications(t *testing.T) {
	m, alice, bob, general, random, b := notifyScene(t)
	b.onNewDocument("record notifications", `
			window.__notes = []; window.__asked = 0;
			let permission = "default";
			window.Notification = class {
				constructor(title, o) { this.title = title; window.__notes.push({title, body: o && o.body, n: this}); }
				close() {}
				static get permission() { return permission; }
				static requestPermission() { window.__asked++; permission = "granted"; return Promise.resolve(permission); }
			};`)
	b.login(m.URL(), "acme", "bob", "correct horse bob")
	b.openChannel(general)
	b.waitFor("the offer to turn notifications on", `!document.getElementById('enable-notifications').hidden`)
	alice.post(random, "<@"+bob.userID+"> before bob allowed them")
	b.waitFor("the unread mention", `document.title.startsWith('@1 ')`)
	if n := eval[int](b, `window.__asked + window.__notes.length`); n != 0 {
		t.Fatalf("%d permission requests and notifications before bob clicked", n)
	}
	b.click("#enable-notifications")
	b.waitFor("the permission asked once, and the offer gone", `window.__asked === 1 && document.getElementById('enable-notifications').hidden`)

	alice.post(random, "nothing for bob")
	ts := alice.post(random, "<@"+bob.userID+"> can you look?")
	b.waitFor("the notification", `window.__notes.length === 1 && window.__notes[0].title === 'alice in #random' &&
		window.__notes[0].body === '@bob can you look?'`)
	eval[any](b, `window.__notes[0].n.onclick(), null`)
	b.waitFor("random open at the message", `location.hash === '#`+random+`/p`+strings.ReplaceAll(ts, ".", "")+`'`)

	// The body is the text as shown: no mrkdwn markup, no ids.
	b.openChannel(general)
	alice.post(random, "<@"+bob.userID+"> *ship* it `now`, see <#"+general+">")
	b.waitFor("the notification's body as the text shows", `window.__notes.length === 2 && window.__notes[1].body === '@bob ship it now, see #plaza'`)
}

// With the permission granted through the browser's own protocol
// (Browser.grantPermissions), the page's real Notification shows a mention
// made in another conversation, and only that; clicking it opens its
// conversation at the message. The script only watches the real
// constructor: permission and display are the browser's.
func TestWebNotificationGranted(t *testing.T) {
	m, alice, bob, general, random, b := notifyScene(t)
	b.step("grant notifications, and watch them", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		c := chromedp.FromContext(ctx)
		if err := c.Browser.Call(ctx, "Browser.grantPermissions", map[string]any{
			"permissions": []string{"notifications"}, "origin": m.URL(), "browserContextId": c.BrowserContextID,
		}, nil); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `
			window.__notes = []; window.__asked = 0;
			const Real = window.Notification;
			const ask = Real.requestPermission.bind(Real);
			Real.requestPermission = (...a) => { window.__asked++; return ask(...a); };
			window.Notification = new Proxy(Real, { construct(target, args) {
				const n = new target(...args);
				window.__notes.push({ title: args[0], body: args[1] && args[1].body, n });
				return n;
			} });`})
		return err
	}))
	b.login(m.URL(), "acme", "bob", "correct horse bob")
	b.openChannel(general)
	b.waitFor("the page sees the permission granted, and offers nothing", `Notification.permission === 'granted' &&
		document.getElementById('enable-notifications').hidden`)

	alice.post(random, "nothing for bob")
	ts := alice.post(random, "<@"+bob.userID+"> can you look?")
	b.waitFor("the mention badge", `document.title.startsWith('@1 ')`)
	b.waitFor("the notification", `window.__notes.length === 1 && window.__notes[0].title === 'alice in #random' &&
		window.__notes[0].body === '@bob can you look?'`)
	if n := eval[int](b, `window.__asked`); n != 0 {
		t.Fatalf("the page asked for a permission it had %d times", n)
	}
	eval[any](b, `window.__notes[0].n.onclick(), null`)
	b.waitFor("random open at the message", `location.hash === '#`+random+`/p`+strings.ReplaceAll(ts, ".", "")+`'`)
	b.waitFor("the message in view", hasText("@bob can you look?"))
}

// Your own name stands out in a message, and someone else's message that
// mentions you is marked; others' names and messages are not.
func TestWebOwnMentionHighlighted(t *testing.T) {
	m := MustRunMain(t)
	browser := MustStartBrowser(t)
	alice := signup(t, m, "acme", "alice")
	bob := signup(t, m, "acme", "bob")
	carol := signup(t, m, "acme", "carol")
	general := alice.createChannel("plaza", false)
	bob.must("conversations.join", obj{"channel": general})
	carol.must("conversations.join", obj{"channel": general})
	alice.post(general, "hi <@"+bob.userID+">, and <@"+carol.userID+">")
	alice.post(general, "for <@"+carol.userID+"> only")

	b := signedIn(t, browser, m, "bob", general)
	b.waitFor("both messages", hasText("for @carol only"))
	got := eval[string](b, `[...document.querySelectorAll('#messages .msg:not(.system)')].map(a =>
		(a.classList.contains('mentions-me') ? 'marked' : 'plain') + ':' +
		[...a.querySelectorAll('.mention')].map(s => s.textContent + (s.classList.contains('me') ? '*' : '')).join(',')).join(' | ')`)
	if want := "marked:@bob*,@carol | plain:@carol"; got != want {
		t.Fatalf("messages %q; want %q", got, want)
	}
}
