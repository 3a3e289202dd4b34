package main

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Alice and Bob, each in a browser of their own: Bob signs up and joins
// through the UI, Alice logs in; Alice posts and Bob sees it live; Bob
// replies in a thread; Alice reacts; typing and presence show; an unread
// badge appears on both of Bob's tabs and opening the channel clears it on
// both. The main view is saved as a screenshot.
func TestWebAliceAndBob(t *testing.T) {
	m := MustRunMain(t)
	browser := MustStartBrowser(t)
	base := m.URL()

	alice := signup(t, m, "acme", "alice")
	general := alice.createChannel("plaza", false)
	random := alice.createChannel("random", false)
	alice.must("conversations.setTopic", obj{"channel": general, "topic": "Company-wide announcements and chatter"})
	carol := signup(t, m, "acme", "carol")
	carol.must("conversations.join", obj{"channel": general})
	carol.post(general, "Morning all! The release notes draft is up for review.")
	alice.post(general, "Thanks Carol, I'll take a look after standup.")

	// Bob signs up through the form, joining the existing workspace.
	bob := newTab(t, browser, "bob", true)
	bob.signupUI(base, "acme", "bob", "correct horse bob")
	bob.click("#browse-channels")
	bob.waitFor("general in the directory", fmt.Sprintf(`document.querySelector('#browse-list li[data-channel-id=%q] button') !== null`, general))
	bob.click(fmt.Sprintf(`#browse-list li[data-channel-id=%q] button`, general))
	bob.waitFor("general joined and open", fmt.Sprintf(`document.getElementById('messages').dataset.channelId === %q && document.querySelector('#sidebar .chan[data-channel-id=%q]') !== null`, general, general))
	bob.waitFor("general's history", hasText("Thanks Carol, I'll take a look after standup."))

	// Bob joins #random elsewhere (another device): it appears live.
	bobAPI := &client{tb: t, base: base, name: "bob"}
	out := bobAPI.must("auth.login", obj{"team": "acme", "name": "bob", "password": "correct horse bob"})
	bobAPI.token, bobAPI.userID = out["token"].(string), out["user_id"].(string)
	bobAPI.must("conversations.join", obj{"channel": random})
	bob.waitFor("random in the sidebar", fmt.Sprintf(`document.querySelector('#sidebar .chan[data-channel-id=%q]') !== null`, random))

	// The session survives a reload, and the open channel too.
	bob.step("reload", chromedp.Reload())
	bob.waitFor("the app after reload", `!document.getElementById('app').hidden && window.confabDebug && window.confabDebug.state().live`)
	bob.waitFor("general open after reload", fmt.Sprintf(`document.getElementById('messages').dataset.channelId === %q`, general))

	// Alice logs in through the form in her own browser.
	al := newTab(t, browser, "alice", true)
	al.login(base, "acme", "alice", "correct horse alice")
	al.openChannel(general)

	// Alice types: Bob sees the typing indicator, then the message live.
	al.typeInto("#composer-input", "Hello Bob! The plan is at https://example.com/plan?x=1")
	bob.waitFor("alice typing", `document.getElementById('typing').textContent.includes('alice is typing')`)
	al.pressEnter(false)
	al.waitFor("alice's message acknowledged", hasText("Hello Bob! The plan is at https://example.com/plan?x=1"))
	bob.waitFor("alice's message live", hasText("Hello Bob! The plan is at https://example.com/plan?x=1"))
	link := eval[map[string]string](bob, `(() => { const a = [...document.querySelectorAll('#messages .msg .text a')].pop(); return {href: a.href, rel: a.rel, target: a.target, text: a.textContent}; })()`)
	if link["href"] != "https://example.com/plan?x=1" || !strings.Contains(link["rel"], "noopener") || !strings.Contains(link["rel"], "noreferrer") || link["target"] != "_blank" {
		t.Fatalf("link rendered as %v, want an http(s) <a> with rel noopener noreferrer and target _blank", link)
	}
	// Presence: Bob sees Alice online next to her messages.
	bob.waitFor("alice's presence", fmt.Sprintf(`document.querySelector('#messages .msg[data-user=%q] .presence[data-presence="active"]') !== null`, alice.userID))

	// Shift+Enter adds a line; Enter sends both lines as one message.
	al.typeInto("#composer-input", "two")
	al.pressEnter(true)
	al.step("second line", chromedp.KeyEvent("lines"))
	al.pressEnter(false)
	bob.waitFor("the two-line message", hasText("two\nlines"))

	ts := eval[string](bob, fmt.Sprintf(`[...document.querySelectorAll('#messages .msg[data-ts]:not(.system)')].find(e => e.querySelector('.text').textContent.startsWith('Hello Bob!')).dataset.ts`))
	msg := fmt.Sprintf(`#messages .msg[data-ts=%q]`, ts)

	// Bob replies in a thread; Alice sees the reply count and the reply.
	bob.click(msg + ` [data-action=thread]`)
	bob.waitFor("thread open", fmt.Sprintf(`!document.getElementById('thread').hidden && document.querySelector('#thread-messages .msg[data-ts=%q]') !== null`, ts))
	bob.typeInto("#thread-input", "On it, reviewing now.")
	bob.pressEnter(false)
	bob.waitFor("reply acknowledged", `[...document.querySelectorAll('#thread-messages .msg[data-ts]:not(.pending) .text')].some(e => e.textContent === 'On it, reviewing now.')`)
	al.waitFor("reply count", fmt.Sprintf(`document.querySelector('%s .thread-link')?.dataset.replies === '1'`, msg))
	al.click(msg + ` .thread-link`)
	al.waitFor("the reply in alice's thread", `[...document.querySelectorAll('#thread-messages .msg .text')].some(e => e.textContent === 'On it, reviewing now.')`)
	if n := eval[int](bob, fmt.Sprintf(`[...document.querySelectorAll('#messages .msg .text')].filter(e => e.textContent === 'On it, reviewing now.').length`)); n != 0 {
		t.Fatalf("the thread reply shows %d times in the channel, want only in the thread", n)
	}

	// Alice reacts; Bob sees it live.
	al.click(msg + ` [data-action=react]`)
	al.click(`#reaction-picker [data-reaction="+1"]`)
	bob.waitFor("alice's reaction", fmt.Sprintf(`document.querySelector('%s .reaction[data-reaction="+1"] .count')?.textContent === '1'`, msg))

	// Edits and deletes show live.
	alice.must("chat.update", obj{"channel": general, "ts": ts, "text": "Hello Bob! The plan is at https://example.com/plan?x=1 (v2)"})
	bob.waitFor("the edit", fmt.Sprintf(`document.querySelector('%s .text')?.textContent.includes('(v2)') && document.querySelector('%s .edited') !== null`, msg, msg))
	doomed := alice.post(general, "this one is a mistake")
	bob.waitFor("the doomed message", hasText("this one is a mistake"))
	alice.must("chat.delete", obj{"channel": general, "ts": doomed})
	bob.waitFor("the delete", fmt.Sprintf(`document.querySelector('#messages .msg[data-ts=%q]') === null`, doomed))

	// Unread: a second tab of Bob's; Alice posts in #random; both tabs
	// show a bold badge; opening #random in one clears it in both.
	bob2 := newTab(t, bob.ctx, "bob's second tab", false)
	bob2.step("open", chromedp.Navigate(base+"/#"+general))
	bob2.waitFor("second tab live", `!document.getElementById('app').hidden && window.confabDebug && window.confabDebug.state().live`)
	alice.post(random, "Lunch at noon?")
	alice.post(random, "I booked the usual place.")
	badge := fmt.Sprintf(`(() => { const a = document.querySelector('#sidebar .chan[data-channel-id=%q]'); return a && a.classList.contains('unread') && a.querySelector('.badge')?.textContent === '2' && getComputedStyle(a).fontWeight >= 600; })()`, random)
	bob.waitFor("unread badge", badge)
	bob2.waitFor("unread badge on the second tab", badge)
	bob.openChannel(random)
	cleared := fmt.Sprintf(`(() => { const a = document.querySelector('#sidebar .chan[data-channel-id=%q]'); return a && !a.classList.contains('unread') && !a.querySelector('.badge'); })()`, random)
	bob.waitFor("badge cleared", cleared)
	bob2.waitFor("badge cleared on the second tab", cleared)

	// Ctrl+K switches conversations from the keyboard.
	bob.step("ctrl+k", chromedp.KeyEvent("k", chromedp.KeyModifiers(chromedp.ModifierCtrl)))
	bob.waitFor("switcher open", `document.getElementById('dlg-switcher').open`)
	bob.step("filter", chromedp.KeyEvent("pla"))
	bob.pressEnter(false)
	bob.waitFor("plaza via the switcher", fmt.Sprintf(`document.getElementById('messages').dataset.channelId === %q`, general))

	// The main view, for people to look at.
	al.click("#thread-close")
	al.waitFor("thread closed", `document.getElementById('thread').hidden`)
	al.click(msg + ` .thread-link`)
	al.waitFor("thread reopened", `document.querySelectorAll('#thread-messages .msg').length === 2`)
	al.screenshot("main-view.png")
}

// A channel of 500 messages: scrolling up loads older pages until the
// first message; every message shows exactly once, in order, and each
// page lands without moving what the reader was looking at.
func TestWebHistoryScrollsToFirstMessage(t *testing.T) {
	m := MustRunMain(t)
	browser := MustStartBrowser(t)
	alice := signup(t, m, "acme", "alice")
	bob := signup(t, m, "acme", "bob")
	big := alice.createChannel("big", false)
	bob.must("conversations.join", obj{"channel": big})

	const n = 500
	texts := make(map[string]string, n) // ts → text
	var mu sync.Mutex
	var wg sync.WaitGroup
	work := make(chan int)
	for w := 0; w < 8; w++ {
		poster := alice
		if w%2 == 1 {
			poster = bob
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				text := fmt.Sprintf("message %03d", i)
				_, out := poster.call("chat.postMessage", obj{"channel": big, "text": text})
				if out["ok"] != true {
					t.Errorf("post %d: %v", i, out)
					continue
				}
				mu.Lock()
				texts[out["ts"].(string)] = text
				mu.Unlock()
			}
		}()
	}
	for i := 1; i <= n; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	if len(texts) != n {
		t.Fatalf("posted %d messages, want %d", len(texts), n)
	}
	var want []string
	tss := make([]string, 0, n)
	for ts := range texts {
		tss = append(tss, ts)
	}
	sort.Slice(tss, func(i, j int) bool { return len(tss[i]) < len(tss[j]) || len(tss[i]) == len(tss[j]) && tss[i] < tss[j] })
	for _, ts := range tss {
		want = append(want, texts[ts])
	}

	b := signedIn(t, browser, m, "bob", big)
	b.waitFor("the newest message", hasText(want[n-1]))

	start := time.Now()
	pages := 0
	for {
		state := eval[string](b, `document.getElementById('history-start').dataset.historyStart`)
		if state == "reached" {
			break
		}
		count := eval[int](b, `document.querySelectorAll('#messages .msg').length`)
		// Scroll to the top, and remember where the first message's text
		// is on the screen.
		eval[bool](b, `(() => {
			const s = document.getElementById('scroller');
			s.scrollTop = 0;
			const a = document.querySelector('#messages .msg');
			window.__anchor = {ts: a.dataset.ts, top: a.querySelector('.text').getBoundingClientRect().top};
			s.dispatchEvent(new Event('scroll'));
			return true;
		})()`)
		b.waitFor("an older page", fmt.Sprintf(`document.querySelectorAll('#messages .msg').length > %d && document.getElementById('history-start').dataset.historyStart !== 'loading'`, count))
		moved := eval[float64](b, `(() => {
			const a = document.querySelector('#messages .msg[data-ts="' + window.__anchor.ts + '"] .text');
			return a.getBoundingClientRect().top - window.__anchor.top;
		})()`)
		if moved < -2 || moved > 2 {
			t.Fatalf("after loading page %d the message at the top moved by %.1fpx, want it to stay put", pages+1, moved)
		}
		if pages++; pages > n {
			t.Fatalf("still loading after %d pages", pages)
		}
	}
	t.Logf("scrolled back through %d messages in %d pages in %v", n, pages, time.Since(start))

	got := eval[[]string](b, `[...document.querySelectorAll('#messages .msg:not(.system)')].map(e => e.querySelector('.text').textContent)`)
	if !slices.Equal(got, want) {
		seen := map[string]int{}
		for _, s := range got {
			seen[s]++
		}
		var dup, missing []string
		for _, s := range want {
			if seen[s] == 0 {
				missing = append(missing, s)
			} else if seen[s] > 1 {
				dup = append(dup, s)
			}
		}
		t.Fatalf("channel shows %d messages (duplicates %v, missing %v), want the %d posted in ts order", len(got), dup, missing, n)
	}
	if first := eval[string](b, `document.querySelector('#messages .msg .text').textContent`); first != want[0] {
		t.Fatalf("first message shown %q, want %q", first, want[0])
	}
}

// Bob's connection is cut while Alice posts 20 messages (and 3 in another
// channel); when it comes back Bob's client catches up and shows each of
// the 20 exactly once, and the other channel's unread count.
//
// The cut: the page's network is emulated offline (requests and new
// WebSockets fail, navigator.onLine is false) and the live socket is
// closed, as a dropped connection would be. The client must show the
// banner, retry with backoff, and on reconnect connect first, then
// client.catchup.
func TestWebOfflineCatchUp(t *testing.T) {
	m := MustRunMain(t)
	browser := MustStartBrowser(t)
	alice := signup(t, m, "acme", "alice")
	signup(t, m, "acme", "bob")
	general := alice.createChannel("plaza", false)
	random := alice.createChannel("random", false)
	b := newTab(t, browser, "bob", true)
	b.login(m.URL(), "acme", "bob", "correct horse bob")
	for _, ch := range []string{general, random} {
		b.click("#browse-channels")
		b.click(fmt.Sprintf(`#browse-list li[data-channel-id=%q] button`, ch))
		b.waitFor("joined "+ch, fmt.Sprintf(`document.getElementById('messages').dataset.channelId === %q`, ch))
	}
	b.openChannel(general)
	alice.post(general, "before the cut")
	b.waitFor("live before the cut", hasText("before the cut"))

	b.setOffline(true)
	eval[bool](b, `(window.confabDebug.drop(), true)`)
	b.waitFor("the offline banner", `!document.getElementById('conn-banner').hidden && document.getElementById('conn-banner').textContent.includes('Connection lost')`)

	var want []string
	for i := 1; i <= 20; i++ {
		text := fmt.Sprintf("while you were away %02d", i)
		want = append(want, text)
		alice.post(general, text)
	}
	for i := 1; i <= 3; i++ {
		alice.post(random, fmt.Sprintf("elsewhere %d", i))
	}
	if eval[bool](b, hasText(want[0])) {
		t.Fatal("a message reached Bob while his connection was cut")
	}

	b.setOffline(false)
	b.waitForWithin("the banner gone", `document.getElementById('conn-banner').hidden && window.confabDebug.state().live`, 60*time.Second)
	b.waitFor("all 20 messages", hasText(want[19]))
	got := eval[[]string](b, `[...document.querySelectorAll('#messages .msg:not(.system)')].map(e => e.querySelector('.text').textContent)`)
	count := map[string]int{}
	for _, s := range got {
		count[s]++
	}
	for _, w := range want {
		if count[w] != 1 {
			t.Errorf("%q shown %d times, want once", w, count[w])
		}
	}
	if len(got) != 21 {
		t.Errorf("channel shows %d messages %q, want 21", len(got), got)
	}
	seqs := eval[[]string](b, `[...document.querySelectorAll('#messages .msg')].map(e => e.dataset.seq)`)
	if len(seqs) != len(slices.Compact(slices.Clone(seqs))) {
		t.Errorf("seqs shown %v, want each once", seqs)
	}
	b.waitFor("3 unread in random", fmt.Sprintf(`document.querySelector('#sidebar .chan[data-channel-id=%q] .badge')?.textContent === '3'`, random))

	// Live again: the next message arrives without a reload.
	alice.post(general, "welcome back")
	b.waitFor("live after the catch-up", hasText("welcome back"))
}

// Message text is shown as text: markup is never parsed, and only http(s)
// URLs become links.
func TestWebShowsMarkupAsText(t *testing.T) {
	m := MustRunMain(t)
	browser := MustStartBrowser(t)
	alice := signup(t, m, "acme", "alice")
	signup(t, m, "acme", "bob")
	general := alice.createChannel("plaza", false)
	b := newTab(t, browser, "bob", true)
	b.login(m.URL(), "acme", "bob", "correct horse bob")
	b.click("#browse-channels")
	b.click(fmt.Sprintf(`#browse-list li[data-channel-id=%q] button`, general))
	b.waitFor("general open", fmt.Sprintf(`document.getElementById('messages').dataset.channelId === %q`, general))

	eval[bool](b, `(window.__alerted = false, window.alert = () => { window.__alerted = true; }, true)`)
	evil := []string{
		`<img src=x onerror=alert(1)>`,
		`<script>alert(2)</script><b>bold?</b>`,
		`<javascript:alert(3)|click me> and <data:text/html,hi|data>`,
	}
	for _, text := range evil {
		alice.post(general, text)
	}
	for _, text := range evil {
		b.waitFor("markup shown as text", hasText(text))
	}
	if n := eval[int](b, `document.querySelectorAll('#messages img, #messages script, #messages b, #messages iframe').length`); n != 0 {
		t.Fatalf("%d elements were made from message text, want none", n)
	}
	if n := eval[int](b, `[...document.querySelectorAll('#messages a')].filter(a => !/^https?:/.test(a.href)).length`); n != 0 {
		t.Fatalf("%d links with a non-http(s) URL, want none", n)
	}
	if eval[bool](b, `window.__alerted`) {
		t.Fatal("a script from a message ran")
	}

	// In a narrow window one column shows at a time.
	visible := func(id string) string {
		return fmt.Sprintf(`document.getElementById(%q).getBoundingClientRect().width > 0`, id)
	}
	b.step("narrow window", chromedp.EmulateViewport(390, 800))
	b.waitFor("the pane alone", visible("pane")+" && !"+visible("sidebar"))
	b.click("#back")
	b.waitFor("the sidebar alone", visible("sidebar")+" && !"+visible("pane"))
	b.click(fmt.Sprintf(`#sidebar .chan[data-channel-id=%q]`, general))
	b.waitFor("the pane again", visible("pane")+" && !"+visible("sidebar"))
	b.screenshot("narrow-view.png")
}

// A send that fails is marked, and Retry sends it again with the same
// client_msg_id: it is stored once.
func TestWebFailedSendRetries(t *testing.T) {
	m := MustRunMain(t)
	browser := MustStartBrowser(t)
	alice := signup(t, m, "acme", "alice")
	general := alice.createChannel("plaza", false)
	a := signedIn(t, browser, m, "alice", general)

	a.setOffline(true)
	a.typeInto("#composer-input", "sent from a tunnel")
	a.pressEnter(false)
	a.waitFor("the failed mark", `[...document.querySelectorAll('#messages .msg.failed')].some(e => e.querySelector('.text').textContent === 'sent from a tunnel' && e.querySelector('button.retry'))`)
	cmid := eval[string](a, `document.querySelector('#messages .msg.failed').dataset.clientMsgId`)
	a.setOffline(false)
	a.click(`#messages .msg.failed button.retry`)
	a.waitFor("the retried message acknowledged", hasText("sent from a tunnel"))
	// A second retry of the same client_msg_id (as after a lost answer)
	// returns the original.
	alice.must("chat.postMessage", obj{"channel": general, "text": "sent from a tunnel", "client_msg_id": cmid})
	hist := alice.must("conversations.history", obj{"channel": general})
	n := 0
	for _, msg := range hist["messages"].([]any) {
		if msg.(obj)["text"] == "sent from a tunnel" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("the message is stored %d times, want once", n)
	}
	if c := eval[int](a, `[...document.querySelectorAll('#messages .msg .text')].filter(e => e.textContent === 'sent from a tunnel').length`); c != 1 {
		t.Fatalf("the message shows %d times, want once", c)
	}
}
