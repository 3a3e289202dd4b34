package main

import (
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// postMany posts n messages to a channel, text(i) for i in [0, n), from
// the posters in turn, several at a time, and returns the texts in ts order
// with their ts.
func postMany(t *testing.T, posters []*client, channel string, n int, text func(i int) string) (texts, tss []string) {
	t.Helper()
	byTS := make(map[string]string, n)
	var mu sync.Mutex
	var wg sync.WaitGroup
	work := make(chan int)
	for w := 0; w < 8; w++ {
		poster := posters[w%len(posters)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				_, out, err := poster.try("chat.postMessage", obj{"channel": channel, "text": text(i)})
				if err != nil || out["ok"] != true {
					t.Errorf("post %d: %v %v", i, out, err)
					continue
				}
				mu.Lock()
				byTS[out["ts"].(string)] = text(i)
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < n; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	if len(byTS) != n {
		t.Fatalf("posted %d messages, want %d", len(byTS), n)
	}
	for ts := range byTS {
		tss = append(tss, ts)
	}
	sort.Slice(tss, func(i, j int) bool { return len(tss[i]) < len(tss[j]) || len(tss[i]) == len(tss[j]) && tss[i] < tss[j] })
	for _, ts := range tss {
		texts = append(texts, byTS[ts])
	}
	return texts, tss
}

// shownTexts lists the texts of the open conversation's messages (not its
// system lines) in DOM order.
func shownTexts(b *tab) []string {
	b.t.Helper()
	return eval[[]string](b, `[...document.querySelectorAll('#messages .msg:not(.system)')].map(e => (e.querySelector('.text')?.textContent || '').replace(/ \(edited\)$/, ''))`)
}

// checkRun checks that got is a run of want with nothing twice, missing or
// out of order, and returns where in want it starts.
func checkRun(t *testing.T, got, want []string) int {
	t.Helper()
	if len(got) == 0 {
		t.Fatal("no messages shown")
	}
	i := slices.Index(want, got[0])
	if i < 0 || i+len(got) > len(want) || !slices.Equal(got, want[i:i+len(got)]) {
		seen := map[string]int{}
		for _, s := range got {
			seen[s]++
		}
		var dup []string
		for s, n := range seen {
			if n > 1 {
				dup = append(dup, s)
			}
		}
		t.Fatalf("the %d messages shown are not a run of the posted ones in order (first %q, duplicates %v)", len(got), got[0], dup)
	}
	return i
}

// scrollToLiveEnd scrolls the open conversation down, a page at a time,
// until the client says it is at the live end.
func scrollToLiveEnd(b *tab, maxPages int) int {
	b.t.Helper()
	for pages := 0; ; pages++ {
		if eval[bool](b, `window.confabDebug.state().atEnd && !window.confabDebug.state().loading`) {
			return pages
		}
		if pages > maxPages {
			b.t.Fatalf("not at the live end after %d pages down", pages)
		}
		count := eval[int](b, `document.querySelectorAll('#messages .msg').length`)
		eval[bool](b, `(() => {
			const s = document.getElementById('scroller');
			s.scrollTop = s.scrollHeight;
			s.dispatchEvent(new Event('scroll'));
			return true;
		})()`)
		b.waitFor("a newer page", fmt.Sprintf(`document.querySelectorAll('#messages .msg').length > %d || window.confabDebug.state().atEnd`, count))
	}
}

// searchUI searches in the open search dialog as a person would (typing
// the query; the results come as one stops typing) and returns the
// results shown.
func searchUI(b *tab, query string) []searchHit {
	b.t.Helper()
	eval[bool](b, `(document.getElementById('search-input').value = '', true)`)
	b.typeInto("#search-input", query)
	b.waitFor("the results of "+query, fmt.Sprintf(`document.getElementById('search-results').dataset.query === %s`, jsString(query)))
	return eval[[]searchHit](b, `[...document.querySelectorAll('#search-results .search-hit')].map(e => ({
		channel: e.dataset.channelId, ts: e.dataset.ts,
		place: e.closest('.search-group').querySelector('h3').textContent,
		author: e.querySelector('.author').textContent,
		text: e.querySelector('.text').textContent,
		marked: [...e.querySelectorAll('.text mark')].map(m => m.textContent)}))`)
}

// searchHit is a search result as the dialog shows it.
type searchHit struct {
	Channel, TS, Place, Author, Text string
	Marked                           []string
}

// The web client's side of finding messages, on one server and browser:
// opening a permalink 2,000 messages back, scrolling from there to the live
// end, #-channel completion, and search.
func TestWebFindMessages(t *testing.T) {
	m := MustRunMain(t)
	browser := MustStartBrowser(t)
	alice := signup(t, m, "acme", "alice")
	bob := signup(t, m, "acme", "bob")
	big := alice.createChannel("plaza", false)
	random := alice.createChannel("random", false)
	secret := alice.createChannel("secret", true)
	bob.must("conversations.join", obj{"channel": big})
	bob.must("conversations.join", obj{"channel": random})
	// What search looks for, before 2,100 more messages.
	needle := bob.post(big, "the zanzibar plan, <@"+alice.userID+"> & co")
	alice.post(big, "zanzibar by alice")
	bob.post(random, "zanzibar elsewhere")
	alice.post(secret, "zanzibar secret")
	const n = 2100
	postStart := time.Now()
	want, tss := postMany(t, []*client{alice, bob}, big, n, func(i int) string { return fmt.Sprintf("message %04d", i) })
	t.Logf("posted %d messages in %v", n, time.Since(postStart).Round(time.Millisecond))
	want = append([]string{"the zanzibar plan, @alice & co", "zanzibar by alice"}, want...)
	tss = append([]string{needle, ""}, tss...)

	b := newTab(t, browser, "bob", true)
	b.login(m.URL(), "acme", "bob", "correct horse bob")

	// A permalink to the message 2,000 back opens there, in a new tab, with
	// its neighbours around it; scrolling down reaches the live end with
	// every message once, in order; what is posted meanwhile shows once
	// the end is reached, in its place.
	t.Run("permalink", func(t *testing.T) {
		k := len(tss) - 2001
		target := tss[k]
		link := alice.must("chat.getPermalink", obj{"channel": big, "message_ts": target})["permalink"].(string)
		u, err := url.Parse(link)
		if err != nil || u.Fragment == "" {
			t.Fatalf("chat.getPermalink = %q, want a URL with a fragment", link)
		}
		p := newTab(t, b.ctx, "bob's permalink tab", false)
		p.step("open the permalink", chromedp.Navigate(m.URL()+"/#"+u.Fragment))
		msg := fmt.Sprintf(`document.querySelector('#messages .msg[data-ts=%q]')`, target)
		p.waitFor("the message, marked and in view", fmt.Sprintf(`(() => { const e = %s; if (!e || !e.classList.contains('highlight')) return false;
			const r = e.getBoundingClientRect(), s = document.getElementById('scroller').getBoundingClientRect();
			return r.top >= s.top && r.bottom <= s.bottom; })()`, msg))
		p.screenshot("permalink-view.png")
		got := shownTexts(p)
		i := checkRun(t, got, want)
		at := slices.Index(got, want[k])
		if at < 5 || len(got)-at < 5 {
			t.Fatalf("the message is shown at %d of %d: want neighbours on both sides", at, len(got))
		}
		if i+len(got) >= len(want) {
			t.Fatal("the newest messages are shown too: want a window around the message")
		}
		if eval[bool](p, `window.confabDebug.state().atEnd || !document.getElementById('jump-latest').checkVisibility()`) {
			t.Fatal("the client says it is at the live end, or offers no way back there")
		}

		// Posted while Bob reads old history: applied (his checkpoint moves)
		// but not shown below the old pages.
		alice.post(big, "posted while bob reads")
		seq := int64(alice.must("conversations.info", obj{"channel": big})["channel"].(obj)["latest_seq"].(float64))
		p.waitFor("the live event applied", fmt.Sprintf(`window.confabDebug.state().seqs[%q] >= %d`, big, seq))
		if eval[bool](p, hasText("posted while bob reads")) {
			t.Fatal("a live message is shown right below old history")
		}
		want := append(slices.Clone(want), "posted while bob reads")
		// More arrive all the while he scrolls down, and as he reaches the
		// end: some while a page is on its way.
		var during []string
		stop, done := make(chan struct{}), make(chan struct{})
		var stopOnce sync.Once
		defer func() { stopOnce.Do(func() { close(stop) }); <-done }()
		go func() {
			defer close(done)
			for i := 0; ; i++ {
				select {
				case <-stop:
					if i%10 == 0 { // a few more once he is at the end
						return
					}
				default:
				}
				text := fmt.Sprintf("posted while bob scrolls %03d", i)
				if _, out, err := alice.try("chat.postMessage", obj{"channel": big, "text": text}); err != nil || out["ok"] != true {
					t.Errorf("post %q: %v %v", text, out, err)
					return
				}
				during = append(during, text)
				time.Sleep(100 * time.Millisecond) // spread over the scrolling
			}
		}()
		scrollStart := time.Now()
		pages := scrollToLiveEnd(p, 2*n/50)
		stopOnce.Do(func() { close(stop) })
		<-done
		want = append(want, during...)
		p.waitFor("the live messages at the end", hasText("posted while bob reads")+" && "+hasText(during[len(during)-1]))
		got = shownTexts(p)
		if i := checkRun(t, got, want); i+len(got) != len(want) {
			t.Fatalf("after scrolling down the last message shown is %q, want %q", got[len(got)-1], want[len(want)-1])
		}
		t.Logf("scrolled down %d pages to the live end in %v while %d messages came", pages, time.Since(scrollStart).Round(time.Millisecond), len(during))

		// At the end, live again; and the read marker is the newest message.
		alice.post(big, "and now live")
		p.waitFor("live at the end", hasText("and now live"))
		got = shownTexts(p)
		if got[len(got)-1] != "and now live" || got[len(got)-2] != during[len(during)-1] {
			t.Fatalf("the last two messages shown are %q, want the two live ones in order", got[len(got)-2:])
		}

		// A permalink in a message opens here, not in a new tab.
		alice.post(big, "look: "+link)
		p.waitFor("the message with the link", hasText("look: "+link))
		p.click(`#messages .msg:last-of-type .text a`)
		p.waitFor("the message, marked", msg+` !== null && `+msg+`.classList.contains('highlight') && !window.confabDebug.state().atEnd`)
	})

	// Typing # offers the channels; picking one sends <#C…|name>, shown as
	// a #name link that opens the channel; <#C…> without a name shows the
	// channel's name, never its id.
	t.Run("channel completion", func(t *testing.T) {
		b.t = t
		b.openChannel(big)
		b.typeInto("#composer-input", "see #ra")
		b.waitFor("the menu offers random", fmt.Sprintf(`(() => { const m = document.getElementById('mention-menu');
			return !m.hidden && m.getAttribute('aria-label') === 'Channels' && [...m.querySelectorAll('li')].map(li => li.dataset.channelId).join() === %q; })()`, random))
		b.step("pick it", chromedp.KeyEvent(kb.Tab))
		b.waitFor("the name in the box", `document.getElementById('composer-input').value === 'see #random '`)
		b.typeInto("#composer-input", "now")
		b.pressEnter(false)
		b.waitFor("the message", hasText("see #random now"))
		hist := alice.must("conversations.history", obj{"channel": big, "limit": 1})["messages"].([]any)
		if got := hist[0].(obj)["text"]; got != "see <#"+random+"|random> now" {
			t.Fatalf("text sent = %q; want <#%s|random>", got, random)
		}
		alice.post(big, "bare <#"+random+"> link")
		b.waitFor("the bare link", hasText("bare #random link"))
		if n := eval[int](b, fmt.Sprintf(`[...document.querySelectorAll('#messages .text')].filter(e => e.textContent.includes(%q)).length`, random)); n != 0 {
			t.Fatalf("%d messages show the channel's id", n)
		}
		b.click(`#messages .msg:last-of-type a[data-channel-link]`)
		b.waitFor("random open", fmt.Sprintf(`document.getElementById('messages').dataset.channelId === %q`, random))
	})

	// / opens the search; a query with modifiers finds Bob's message in
	// #plaza, 2,100 messages back, its matched word marked; Enter opens
	// it there with its neighbours; Esc closes the dialog.
	t.Run("search", func(t *testing.T) {
		b.t = t
		b.openChannel(random)
		eval[bool](b, `(document.activeElement.blur(), true)`)
		b.step("press /", chromedp.KeyEvent("/"))
		b.waitFor("the search dialog", `document.getElementById('dlg-search').open && document.activeElement.id === 'search-input'`)
		if v := eval[string](b, `document.getElementById('composer-input').value`); v != "" {
			t.Fatalf("/ typed %q into the message box", v)
		}
		hits := searchUI(b, "from:@bob zanzibar in:#plaza")
		if len(hits) != 1 || hits[0].TS != needle || hits[0].Channel != big {
			t.Fatalf("search shows %+v, want only bob's message %s in general", hits, needle)
		}
		b.screenshot("search-view.png")
		h := hits[0]
		if h.Place != "#plaza" || h.Author != "bob" || h.Text != "the zanzibar plan, @alice & co" || !slices.Equal(h.Marked, []string{"zanzibar"}) {
			t.Fatalf("the result shows %+v, want #plaza, bob, the text with alice's name and zanzibar marked", h)
		}
		b.pressEnter(false)
		b.waitFor("the message open, marked", fmt.Sprintf(`!document.getElementById('dlg-search').open && document.getElementById('messages').dataset.channelId === %q &&
			document.querySelector('#messages .msg.highlight[data-ts=%q]') !== null`, big, needle))
		got := shownTexts(b)
		checkRun(t, got, want)
		if got[0] != want[0] || len(got) < 10 || got[1] != "zanzibar by alice" {
			t.Fatalf("opened at the first message, the pane shows %d messages from %q: want it and the ones after it", len(got), got[0])
		}

		// Esc closes; Ctrl+F opens too when the message box is empty.
		b.step("ctrl+f", chromedp.KeyEvent("f", chromedp.KeyModifiers(chromedp.ModifierCtrl)))
		b.waitFor("the search dialog", `document.getElementById('dlg-search').open`)
		b.step("esc", chromedp.KeyEvent(kb.Escape))
		b.waitFor("the dialog closed", `!document.getElementById('dlg-search').open`)

		// A private channel's message is found by its member only.
		b.click("#open-search")
		hits = searchUI(b, "zanzibar")
		for _, h := range hits {
			if h.Channel == secret || strings.Contains(h.Text, "secret") {
				t.Fatalf("bob's search shows %+v from a private channel he is not in", h)
			}
		}
		if len(hits) != 3 {
			t.Fatalf("bob's search for zanzibar shows %d results, want 3 (general twice, random)", len(hits))
		}
		if out := alice.must("search.messages", obj{"query": "zanzibar in:#secret"}); out["messages"].(obj)["total"] != 1.0 {
			t.Fatalf("alice's search of her private channel = %v, want its message", out["messages"])
		}

		// An edited message is found by its new text only; a deleted one
		// is not found.
		edited := bob.post(random, "quokka draft")
		bob.must("chat.update", obj{"channel": random, "ts": edited, "text": "wombat final"})
		gone := bob.post(random, "platypus gone")
		bob.post(random, "platypus stays")
		bob.must("chat.delete", obj{"channel": random, "ts": gone})
		if hits := searchUI(b, "quokka"); len(hits) != 0 {
			t.Fatalf("the old text of an edited message is found: %+v", hits)
		}
		if hits := searchUI(b, "wombat"); len(hits) != 1 || hits[0].TS != edited || hits[0].Text != "wombat final" {
			t.Fatalf("search for an edited message's new text shows %+v, want it", hits)
		}
		if hits := searchUI(b, "platypus"); len(hits) != 1 || hits[0].Text != "platypus stays" {
			t.Fatalf("search for platypus shows %+v, want only the message not deleted", hits)
		}
		if s := eval[string](b, `document.getElementById('search-status').textContent`); s != "1 result" {
			t.Fatalf("status %q, want 1 result", s)
		}

		// Paging: 100 results (message 0100 to 0199), 20 a page.
		hits = searchUI(b, "message 01*")
		if len(hits) != 20 || !eval[bool](b, `!document.getElementById('search-pager').hidden && document.getElementById('search-prev').disabled`) {
			t.Fatalf("the first page shows %d results and no pager, want 20 and a pager", len(hits))
		}
		first := map[string]bool{}
		for _, h := range hits {
			first[h.TS] = true
		}
		if s := eval[string](b, `document.getElementById('search-status').textContent`); s != "100 results" {
			t.Fatalf("status %q, want 100 results", s)
		}
		b.click("#search-next")
		b.waitFor("page 2", `document.getElementById('search-results').dataset.page === '2'`)
		for _, h := range eval[[]string](b, `[...document.querySelectorAll('#search-results .search-hit')].map(e => e.dataset.ts)`) {
			if first[h] {
				t.Fatalf("%s is on both pages", h)
			}
		}
	})
}
