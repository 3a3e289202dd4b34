package main

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// recordCalls makes b's pages keep every Web API call they make, as
// window.__calls: {method, args}.
func recordCalls(b *tab) {
	b.t.Helper()
	b.onNewDocument("record the API calls", `
			window.__calls = [];
			const fetch0 = window.fetch;
			window.fetch = function (url, o) {
				const m = /\/api\/([\w.]+)/.exec(String(url));
				if (m) { let args = {}; try { args = JSON.parse(o && o.body || "{}"); } catch {} window.__calls.push({method: m[1], args}); }
				return fetch0.apply(this, arguments);
			};`)
}

// The client never asks for the workspace's whole user list: someone
// alice has never seen (no message, no conversation she opened) is found
// by users.search as she types, in the @-menu by the start of their
// display name (picking them sends <@U…>) and in the new-DM dialog by a
// word of their real name (which opens the DM).
func TestWebUsersOnDemand(t *testing.T) {
	m := MustRunMain(t)
	browser := MustStartBrowser(t)
	alice := signup(t, m, "acme", "alice")
	bob := signup(t, m, "acme", "bob")
	zed := signup(t, m, "acme", "zq")
	zed.must("users.profile.set", obj{"profile": obj{"display_name": "Ziggy", "real_name": "Zygmunt Quill-Barrow"}})
	for i := range 30 {
		signup(t, m, "acme", fmt.Sprintf("filler%02d", i))
	}
	// Zed's line in #general ("has joined the channel") out of the page
	// of #general a client loads: alice has not seen him.
	general := generalOf(t, alice)
	for i := range 60 {
		alice.post(general, fmt.Sprintf("general chatter %d", i))
	}
	emilie := signup(t, m, "acme", "em")
	emilie.must("users.profile.set", obj{"profile": obj{"display_name": "Émilie"}})
	plaza := alice.createChannel("plaza", false)
	bob.must("conversations.join", obj{"channel": plaza})
	bob.post(plaza, "hello alice")

	a := newTab(t, browser, "alice", true)
	recordCalls(a)
	a.login(m.URL(), "acme", "alice", "correct horse alice")
	a.openChannel(plaza)
	a.waitFor("bob's message, with his name", hasText("hello alice")+
		` && document.querySelector('#messages .msg[data-user] .author')?.textContent === 'bob'`)
	asked := func(method, contains string) bool {
		return eval[bool](a, fmt.Sprintf(`window.__calls.some(c => c.method === %q && JSON.stringify(c.args).includes(%q))`, method, contains))
	}
	if asked("users.info", zed.userID) || asked("users.search", "") {
		t.Fatalf("before alice typed, the client asked about people: %s", eval[string](a, `JSON.stringify(window.__calls)`))
	}

	// @ and the start of the display name: the menu offers Ziggy.
	option := fmt.Sprintf(`#mention-menu:not([hidden]) li[data-user-id=%q]`, zed.userID)
	a.typeInto("#composer-input", "ping @zig")
	a.waitFor("Ziggy in the @-menu", fmt.Sprintf(`document.querySelector(%q)?.textContent === 'Ziggy @zq'`, option))
	if !asked("users.search", `"channel":"`+plaza+`"`) {
		t.Errorf("the @-menu did not rank by the conversation: %s", eval[string](a, `JSON.stringify(window.__calls.filter(c => c.method === 'users.search'))`))
	}
	a.step("pick Ziggy", chromedp.KeyEvent(kb.Tab))
	a.waitFor("the handle in the box", `document.getElementById('composer-input').value === 'ping @zq '`)
	a.typeInto("#composer-input", "welcome")
	a.pressEnter(false)
	a.waitFor("the message, with Ziggy's name", hasText("ping @Ziggy welcome"))
	hist := alice.must("conversations.history", obj{"channel": plaza, "limit": 1})["messages"].([]any)
	if got := hist[0].(obj)["text"]; got != "ping <@"+zed.userID+"> welcome" {
		t.Fatalf("text sent = %q; want <@%s>", got, zed.userID)
	}

	// A name that begins with a letter outside ASCII is completed too.
	a.typeInto("#composer-input", "merci @Émi")
	a.waitFor("Émilie in the @-menu", fmt.Sprintf(`document.querySelector(%q) !== null`,
		fmt.Sprintf(`#mention-menu:not([hidden]) li[data-user-id=%q]`, emilie.userID)))
	a.step("close the menu and clear the box", chromedp.KeyEvent(kb.Escape))
	eval[any](a, `document.getElementById('composer-input').value = '', null`)

	// A word of the real name in the new-DM dialog finds them; picking
	// them opens the DM.
	a.click("#new-dm")
	a.waitFor("the dialog", `document.getElementById('dlg-dm').open`)
	a.typeInto("#dm-filter", "barr")
	row := fmt.Sprintf(`#dm-list li[data-user-id=%q]`, zed.userID)
	a.waitFor("Ziggy in the list", fmt.Sprintf(`document.querySelector(%q)?.textContent.includes('@zq')`, row))
	a.click(row + ` input[type=checkbox]`)
	a.click("#dm-go")
	dm := zed.must("conversations.open", obj{"users": alice.userID})["channel"].(obj)["id"].(string)
	a.waitFor("the DM open", fmt.Sprintf(`document.getElementById('messages').dataset.channelId === %q`, dm))

	if asked("users.list", "") {
		t.Errorf("the client called users.list: %s", eval[string](a, `JSON.stringify(window.__calls.map(c => c.method))`))
	}
	t.Logf("users.search queries: %s", eval[string](a, `JSON.stringify(window.__calls.filter(c => c.method === 'users.search').map(c => c.args.query))`))
}

// The client's users.search asks once typing pauses, and the last ask's
// answer wins: an earlier one arriving after it is dropped.
func TestWebUsersSearchLastWins(t *testing.T) {
	m := MustRunMain(t)
	browser := MustStartBrowser(t)
	a := newTab(t, browser, "page", true)
	a.step("open", chromedp.Navigate(m.URL()+"/"), chromedp.WaitVisible("#auth-form"))
	eval[any](a, `(async () => {
		const { searcher } = await import('/people.js');
		const asks = [];
		const api = { call: (method, args) => new Promise((resolve) => asks.push({ args, resolve })) };
		const got = [];
		const ask = searcher(api, (u) => got.push('remember ' + u.id), 20);
		const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
		ask('a', '', () => got.push('a'));
		ask('al', '', () => got.push('al'));
		ask('ali', 'C1', (us) => got.push('ali ' + us.map((u) => u.id)));
		await sleep(80);
		ask('alic', '', (us) => got.push('alic ' + us.map((u) => u.id)));
		await sleep(80);
		asks[1].resolve({ ok: true, members: [{ id: 'U2' }] });
		asks[0].resolve({ ok: true, members: [{ id: 'U1' }] });
		await sleep(20);
		ask('', '', () => got.push('empty'));
		await sleep(80);
		window.__r = { queries: asks.map((x) => x.args.query + '@' + (x.args.channel || '')), got };
	})(), null`)
	a.waitFor("the run", `window.__r !== undefined`)
	got := eval[string](a, `JSON.stringify(window.__r)`)
	want := `{"queries":["ali@C1","alic@"],"got":["remember U2","alic U2"]}`
	if got != want {
		t.Errorf("searcher = %s; want %s", got, want)
	}
}
