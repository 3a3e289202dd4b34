package main

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// In Ctrl+K's list the row the arrows select is marked aria-selected="true"
// (the others "false") and is the one highlighted; a reaction button says
// whether it is yours with aria-pressed "true" or "false", never "".
func TestWebSwitcherSelected(t *testing.T) {
	m := MustRunMain(t)
	browser := MustStartBrowser(t)
	alice := signup(t, m, "acme", "alice")
	bob := signup(t, m, "acme", "bob")
	plaza := alice.createChannel("plaza", false)
	alice.createChannel("garden", false)
	alice.createChannel("gossip", false)
	alice.createChannel("random", false)
	bob.must("conversations.join", obj{"channel": plaza})
	ts := alice.post(plaza, "react to me")
	bob.must("reactions.add", obj{"channel": plaza, "timestamp": ts, "name": "heart"})

	a := signedIn(t, browser, m, "alice", plaza)
	a.step("Ctrl+K", chromedp.KeyEvent("k", chromedp.KeyModifiers(chromedp.ModifierCtrl)))
	a.waitFor("the switcher", `document.getElementById('dlg-switcher').open && document.activeElement === document.getElementById('switcher-input')`)
	a.step("type g", chromedp.KeyEvent("g"))
	a.waitFor("three rows", `document.querySelectorAll('#switcher-list li').length === 3`)
	a.step("arrow down", chromedp.KeyEvent(kb.ArrowDown))
	rows := `[...document.querySelectorAll('#switcher-list li')]`
	a.waitFor("the second row chosen", `document.getElementById('switcher-input').getAttribute('aria-activedescendant') === `+rows+`[1].id`)
	if got := eval[string](a, rows+`.map(li => li.getAttribute('aria-selected')).join(',')`); got != "false,true,false" {
		t.Errorf("aria-selected of the rows = %q; want \"false,true,false\"", got)
	}
	bg := eval[[]string](a, rows+`.map(li => getComputedStyle(li).backgroundColor)`)
	if len(bg) != 3 || bg[1] == bg[0] || bg[1] == bg[2] {
		t.Errorf("backgrounds of the rows = %q; want the selected (second) one to differ from the others", bg)
	}
	eval[bool](a, `(document.getElementById('dlg-switcher').close(), true)`)

	a.waitFor("bob's reaction", `document.querySelector('#messages .reaction[data-reaction="heart"]') !== null`)
	a.click(`#messages .msg[data-ts="` + ts + `"] [data-action="react"]`)
	a.click(`#reaction-picker button[data-reaction="+1"]`)
	a.waitFor("alice's reaction", `document.querySelector('#messages .reaction[data-reaction="+1"]') !== null`)
	pressed := eval[string](a, `[...document.querySelectorAll('#messages .reaction')].map(b => b.dataset.reaction + '=' + b.getAttribute('aria-pressed')).sort().join(',')`)
	if want := "+1=true,heart=false"; pressed != want {
		t.Errorf("aria-pressed of the reactions = %q; want %q", pressed, want)
	}
}

// recordIDs makes the page keep, in window.__seen, every text of the
// element sel (its subtree included) that held one of ids, from now on.
func recordIDs(b *tab, sel string, ids ...string) {
	b.t.Helper()
	eval[bool](b, fmt.Sprintf(`(() => {
		const ids = %s, box = document.querySelector(%q);
		window.__seen = [];
		const check = () => { const t = box.textContent; if (ids.some(id => t.includes(id))) window.__seen.push(t); };
		new MutationObserver(check).observe(box, { childList: true, subtree: true, characterData: true });
		return true;
	})()`, jsArray(ids), sel))
}

func jsArray(ss []string) string {
	out := "["
	for i, s := range ss {
		if i > 0 {
			out += ","
		}
		out += jsString(s)
	}
	return out + "]"
}

// alicesTab starts a server and a browser, and alice's tab logged in with
// #plaza, her channel, open; it returns alice's API client too.
func alicesTab(t *testing.T) (*Main, *client, *tab, string) {
	t.Helper()
	m := MustRunMain(t)
	browser := MustStartBrowser(t)
	alice := signup(t, m, "acme", "alice")
	plaza := alice.createChannel("plaza", false)
	a := signedIn(t, browser, m, "alice", plaza)
	return m, alice, a, plaza
}

// Someone the client has not loaded (bob signs up after alice's tab
// started) who types in the open channel shows by name, loaded on demand,
// and never by id.
func TestWebTypingUnknownUser(t *testing.T) {
	m, _, a, plaza := alicesTab(t)

	bob := signup(t, m, "acme", "bob")
	bob.must("conversations.join", obj{"channel": plaza})
	recordIDs(a, "#typing", bob.userID)
	r := bob.connect()
	if err := r.conn.WriteJSON(obj{"id": 1, "type": "typing", "channel": plaza}); err != nil {
		t.Fatalf("send typing: %v", err)
	}
	a.waitFor("bob is typing, by name", `document.getElementById('typing').textContent === 'bob is typing…'`)
	if seen := eval[[]string](a, `window.__seen`); len(seen) != 0 {
		t.Errorf("the typing indicator showed bob's id %s: %q", bob.userID, seen)
	}
}

// References to what the client does not know show by name: <#C…> of a
// public channel alice is not in as #its-name, <@U…> of someone who
// signed up after alice's tab started as @name; never an id, not even
// for a moment.
func TestWebReferencesByName(t *testing.T) {
	m, alice, a, plaza := alicesTab(t)

	carol := signup(t, m, "acme", "carol")
	lounge := carol.createChannel("lounge", false)
	patio := carol.createChannel("patio", false)
	if known := eval[bool](a, `!!document.querySelector('#sidebar .chan[data-channel-id="`+lounge+`"]')`); known {
		t.Fatalf("alice's sidebar lists #lounge, which she is not in")
	}
	recordIDs(a, "#messages", lounge, patio, carol.userID)
	alice.post(plaza, "see <#"+lounge+"> and ask <@"+carol.userID+">")
	alice.post(plaza, "or <#"+patio+"|patio>")
	a.waitFor("the names", hasText("see #lounge and ask @carol")+` && `+hasText("or #patio"))
	if seen := eval[[]string](a, `window.__seen`); len(seen) != 0 {
		t.Errorf("the messages showed an id (%s, %s or %s): %q", lounge, patio, carol.userID, seen)
	}
}
