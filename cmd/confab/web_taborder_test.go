package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// The Tab order through the whole page: from the top, Tab visits the
// sidebar, the conversation's header, its messages (one stop: the arrows
// move within), the message box and then the open thread, in the order
// they are drawn; every stop is visible and named, and focus is never
// lost to the page's body on the way.
func TestWebTabOrder(t *testing.T) {
	alice, bob, plaza, b := composeScene(t)
	parent := alice.post(plaza, "a question")
	bob.must("chat.postMessage", obj{"channel": plaza, "text": "an answer", "thread_ts": parent})
	bob.post(plaza, "another line")
	b.waitFor("the messages", hasText("another line"))
	b.click(`#messages .msg[data-ts="` + parent + `"] .thread-link`)
	b.waitFor("the thread", `!document.getElementById('thread').hidden && document.getElementById('thread').textContent.includes('an answer')`)
	// Start from the top of the page, as after a load: the body focused.
	eval[any](b, `document.body.tabIndex = -1, document.body.focus(), document.body.removeAttribute('tabindex'), null`)

	// Each stop: its region, whether it is visible and has a name, and a
	// description for the failure message.
	const stop = `(() => {
		const e = document.activeElement;
		if (!e || e === document.body || e === document.documentElement) return { region: 'body', ok: false, what: 'body' };
		const region = e.closest('#sidebar') ? 'sidebar' : e.closest('#pane .pane-header') ? 'header' :
			e.closest('#messages') ? 'messages' : e.closest('#composer') ? 'composer' : e.closest('#thread') ? 'thread' : 'other';
		const name = (e.getAttribute('aria-label') || e.getAttribute('title') || e.textContent || e.placeholder || '').trim();
		const what = e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + ' "' + name.slice(0, 30) + '"';
		return { region, ok: e.checkVisibility() && name !== '', what };
	})()`
	type stopT struct {
		Region string `json:"region"`
		OK     bool   `json:"ok"`
		What   string `json:"what"`
	}
	var order []string // the regions in the order first reached
	var stops []string
	msgStops := 0
	for i := 0; i < 120 && !strings.Contains(strings.Join(order, " "), "thread"); i++ {
		b.step("tab", chromedp.KeyEvent(kb.Tab))
		s := eval[stopT](b, stop)
		stops = append(stops, s.Region+": "+s.What)
		if s.Region == "body" {
			t.Fatalf("focus lost to the page's body after %d Tabs:\n%s", i+1, strings.Join(stops, "\n"))
		}
		if !s.OK {
			t.Errorf("Tab stop %d is hidden or has no name: %s", i+1, s.What)
		}
		if s.Region == "messages" {
			msgStops++
		}
		if len(order) == 0 || order[len(order)-1] != s.Region {
			order = append(order, s.Region)
		}
	}
	want := "sidebar header messages composer thread"
	if got := strings.Join(order, " "); got != want {
		t.Fatalf("regions in Tab order: %s; want %s\n%s", got, want, strings.Join(stops, "\n"))
	}
	if msgStops != 1 {
		t.Errorf("the message list took %d Tab stops; want 1 (the arrows move within it)\n%s", msgStops, strings.Join(stops, "\n"))
	}
}

// A conversation focused in the sidebar keeps the focus when the sidebar
// is drawn again (a message arrives elsewhere, its unread count rises):
// someone tabbing through the list is not thrown back to the page's top.
func TestWebSidebarKeepsFocus(t *testing.T) {
	_, bob, plaza, b := composeScene(t)
	random := bob.must("conversations.list", obj{"types": "public_channel"})["channels"].([]any)
	var randomID string
	for _, c := range random {
		if c.(obj)["name"] == "random" {
			randomID = c.(obj)["id"].(string)
		}
	}
	if randomID == "" {
		t.Fatal("no #random")
	}
	sel := `#sidebar a.chan[data-channel-id="` + plaza + `"]`
	eval[any](b, `document.querySelector('`+sel+`').focus(), null`)
	bob.post(randomID, "news elsewhere")
	b.waitFor("#random unread", `document.querySelector('#sidebar a.chan[data-channel-id="`+randomID+`"]').dataset.unread > 0`)
	if !eval[bool](b, `document.activeElement && document.activeElement.matches('`+sel+`')`) {
		t.Fatalf("focus after the sidebar was drawn again: %s", eval[string](b, `document.activeElement ? document.activeElement.outerHTML.slice(0, 120) : 'none'`))
	}
}
