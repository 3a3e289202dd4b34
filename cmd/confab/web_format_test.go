package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// domOf is a JS function that writes a node's children as a string: text
// as it is, each element as <tag.firstclass>…</tag>, a link with its href
// and an item of a numbered list with its number. What a test compares is
// then exactly the elements and texts the client made.
const domOf = `(root) => {
	const ser = (n) => {
		if (n.nodeType === 3) return n.data;
		let tag = n.localName + (n.classList.length ? '.' + n.classList[0] : '');
		if (n.localName === 'a') tag += ' ' + n.getAttribute('href');
		if (n.localName === 'li' && n.parentNode.localName === 'ol') tag += ' ' + n.value;
		return '<' + tag + '>' + [...n.childNodes].map(ser).join('') + '</' + n.localName + '>';
	};
	return [...root.childNodes].map(ser).join('');
}`

// shownDOM is the rendering of the text of the message ts in the element
// matched by box.
func shownDOM(b *tab, box, ts string) string {
	b.t.Helper()
	sel := fmt.Sprintf(`%s .msg[data-ts=%q] .text`, box, ts)
	b.waitFor("message "+ts, fmt.Sprintf(`document.querySelector(%q) !== null`, sel))
	return eval[string](b, fmt.Sprintf(`(%s)(document.querySelector(%q))`, domOf, sel))
}

// watchDialogs records every alert, confirm or prompt the page opens (and
// dismisses it): a script from a message would open one.
func watchDialogs(b *tab) func() []string {
	var mu sync.Mutex
	var opened []string
	chromedp.Listen(b.ctx, func(ev any) {
		if e, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			mu.Lock()
			opened = append(opened, string(e.Type)+": "+e.Message)
			mu.Unlock()
			go chromedp.Do(b.ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
				_, err := cdp.Call(ctx, t, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
				return err
			}))
		}
	})
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), opened...)
	}
}

// Slack's mrkdwn, as Slack's clients show it: each form posted through the
// API becomes the elements it stands for, in the channel, a thread and the
// search results; nested and malformed markup renders sensibly; and markup
// never lets a message's text make an element or run a script.
func TestWebFormatting(t *testing.T) {
	m := MustRunMain(t)
	browser := MustStartBrowser(t)
	alice := signup(t, m, "acme", "alice")
	bob := signup(t, m, "acme", "bob")
	plaza := alice.createChannel("plaza", false)
	alice.must("conversations.invite", obj{"channel": plaza, "users": bob.userID})

	cases := []struct{ name, text, want string }{
		{"bold italic strike", "*bold* _italic_ ~strike~ and (*in parens*)", "<strong>bold</strong> <em>italic</em> <del>strike</del> and (<strong>in parens</strong>)"},
		{"inline code", "run `make *all* _now_ <https://example.com>` here", "run <code.inline-code>make *all* _now_ <https://example.com></code> here"},
		{"code block", "before\n```\nfunc main() {\n    *x* <https://example.com|l> :tada:\n}\n```\nafter",
			"before<pre.code-block><code>func main() {\n    *x* <https://example.com|l> :tada:\n}</code></pre>after"},
		{"code block on one line", "```one *line*```", "<pre.code-block><code>one *line*</code></pre>"},
		{"quote", "&gt; quoted *line*\n&gt; second\nafter", "<blockquote.quote>quoted <strong>line</strong>\nsecond</blockquote>after"},
		{"quote unescaped", "> typed in this client", "<blockquote.quote>typed in this client</blockquote>"},
		{"quote the rest", "intro\n&gt;&gt;&gt; all\nthe _rest_", "intro<blockquote.quote>all\nthe <em>rest</em></blockquote>"},
		{"lists", "- one\n• two\n* *three*\n1. first\n2) second\n10. tenth", "<ul.list><li>one</li><li>two</li><li><strong>three</strong></li></ul><ol.list><li 1>first</li><li 2>second</li><li 10>tenth</li></ol>"},
		{"links", "<https://example.com/a|the label>, https://example.org/x. and www.example.net or <mailto:a@example.com|write>",
			`<a https://example.com/a>the label</a>, <a https://example.org/x>https://example.org/x</a>. and <a https://www.example.net/>www.example.net</a> or <a mailto:a@example.com>write</a>`},
		{"emoji", ":tada: done :+1::skin-tone-2: :not_an_emoji:", "<span.emoji>🎉</span> done <span.emoji>👍🏻</span> :not_an_emoji:"},
		{"entities", "fish &amp; chips &lt;3 &amp;lt;", "fish & chips <3 &lt;"},
		{"nested", "*_bold italic_* and _~both~_", "<strong><em>bold italic</em></strong> and <em><del>both</del></em>"},
		{"code is not formatted", "`*not bold*`", "<code.inline-code>*not bold*</code>"},
		{"label is not formatted", "<https://example.com|*label*>", "<a https://example.com/>*label*</a>"},
		{"unclosed", "*unclosed and snake_case_name and 2*3*4", "*unclosed and snake_case_name and 2*3*4"},
		{"unbalanced fence", "a ```unbalanced *b*", "a ```unbalanced <strong>b</strong>"},
		{"not across lines", "*across\nlines*", "*across\nlines*"},
	}
	tss := make([]string, len(cases))
	for i, c := range cases {
		tss[i] = alice.post(plaza, c.text)
	}
	parent := alice.post(plaza, "a thread")
	reply := alice.must("chat.postMessage", obj{"channel": plaza, "thread_ts": parent, "text": "*bold reply* :rocket: `code`"})["ts"].(string)
	found := alice.post(plaza, "the *zanzibar* plan `zz`")

	b := newTab(t, browser, "bob", true)
	dialogs := watchDialogs(b)
	b.login(m.URL(), "acme", "bob", "correct horse bob")
	b.openChannel(plaza)

	t.Run("messages", func(t *testing.T) {
		b.t = t
		for i, c := range cases {
			if got := shownDOM(b, "#messages", tss[i]); got != c.want {
				t.Errorf("%s: %q shows as\n%q, want\n%q", c.name, c.text, got, c.want)
			}
		}
		bad := eval[[]string](b, `[...document.querySelectorAll('#messages .text a')].filter(a => !(a.target === '_blank' && /\bnoopener\b/.test(a.rel) && /\bnoreferrer\b/.test(a.rel))).map(a => a.outerHTML)`)
		if len(bad) != 0 {
			t.Errorf("links %q, want each to open in a new tab with rel noopener noreferrer", bad)
		}
		b.screenshot("formatting.png")
	})

	t.Run("thread", func(t *testing.T) {
		b.t = t
		b.click(fmt.Sprintf(`#messages .msg[data-ts=%q] .thread-link`, parent))
		want := "<strong>bold reply</strong> <span.emoji>🚀</span> <code.inline-code>code</code>"
		if got := shownDOM(b, "#thread-messages", reply); got != want {
			t.Errorf("the reply shows as %q, want %q", got, want)
		}
	})

	t.Run("search", func(t *testing.T) {
		b.t = t
		eval[bool](b, `(document.activeElement.blur(), true)`)
		b.step("press /", chromedp.KeyEvent("/"))
		b.waitFor("the search dialog", `document.getElementById('dlg-search').open`)
		hits := searchUI(b, "zanzibar")
		if len(hits) != 1 || hits[0].TS != found {
			t.Fatalf("search shows %+v, want the message %s", hits, found)
		}
		got := eval[string](b, fmt.Sprintf(`(%s)(document.querySelector('#search-results .search-hit .text'))`, domOf))
		if want := "the <strong><mark>zanzibar</mark></strong> plan <code.inline-code>zz</code>"; got != want {
			t.Errorf("the result shows as %q, want %q", got, want)
		}
		b.step("Escape", chromedp.KeyEvent("\x1b"))
		b.waitFor("the dialog closed", `!document.getElementById('dlg-search').open`)
	})

	t.Run("xss", func(t *testing.T) {
		b.t = t
		evil := []struct{ text, want string }{
			{"*<img src=x onerror=alert(1)>*", "<strong><img src=x onerror=alert(1)></strong>"},
			{"`<script>alert(2)</script>`", "<code.inline-code><script>alert(2)</script></code>"},
			{"<javascript:alert(3)|click>", "<javascript:alert(3)|click>"},
			{"<data:text/html,<script>alert(4)</script>|x>", "<data:text/html,<script>alert(4)</script>|x>"},
			{"_<svg onload=alert(5)>_", "<em><svg onload=alert(5)></em>"},
			{"```<iframe src=javascript:alert(6)></iframe>```", "<pre.code-block><code><iframe src=javascript:alert(6)></iframe></code></pre>"},
			{"&gt; <img src=x onerror=alert(7)>", "<blockquote.quote><img src=x onerror=alert(7)></blockquote>"},
			{"<https://example.com|<img src=x onerror=alert(8)>>", "<a https://example.com/><img src=x onerror=alert(8)</a>>"},
			{":tada:<img src=x onerror=alert(9)>", "<span.emoji>🎉</span><img src=x onerror=alert(9)>"},
			{`www.example.com/"><img src=x onerror=alert(10)>`, `<a https://www.example.com/>www.example.com/</a>"><img src=x onerror=alert(10)>`},
			{"- <JAVASCRIPT:alert(11)> and ~[x](javascript:alert(12))~", "<ul.list><li><JAVASCRIPT:alert(11)> and <del>[x](javascript:alert(12))</del></li></ul>"},
			{"&lt;img src=x onerror=alert(13)&gt; *&lt;b&gt;*", "<img src=x onerror=alert(13)> <strong><b></strong>"},
		}
		eval[bool](b, `(window.__alerted = false, window.alert = () => { window.__alerted = true; }, true)`)
		var tss []string
		for _, e := range evil {
			tss = append(tss, alice.post(plaza, e.text))
		}
		for i, e := range evil {
			if got := shownDOM(b, "#messages", tss[i]); got != e.want {
				t.Errorf("%q shows as\n%q, want\n%q", e.text, got, e.want)
			}
		}
		made := eval[[]string](b, `[...document.querySelectorAll('#messages .text *')].filter(e =>
			!['a', 'span', 'strong', 'em', 'del', 'code', 'pre', 'blockquote', 'ul', 'ol', 'li', 'mark'].includes(e.localName) ||
			[...e.attributes].some(a => /^on/i.test(a.name) || a.name === 'src' || a.name === 'style')).map(e => e.outerHTML)`)
		if len(made) != 0 {
			t.Errorf("elements made from message text: %q", made)
		}
		if n := eval[[]string](b, `[...document.querySelectorAll('#messages .text a')].map(a => a.href).filter(h => !/^(https?|mailto):/.test(h) && !h.startsWith(location.origin))`); len(n) != 0 {
			t.Errorf("links to %q, want http(s) and mailto only", n)
		}
		if eval[bool](b, `window.__alerted`) {
			t.Error("a script from a message ran")
		}
		if d := dialogs(); len(d) != 0 {
			t.Errorf("dialogs opened: %s", strings.Join(d, "; "))
		}
	})
}
