package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/confab/confab"
)

// shownMsg is one message of the open conversation as the DOM shows it.
type shownMsg struct {
	Text string `json:"text"`
	TS   string `json:"ts"`
	Seq  string `json:"seq"`
	User string `json:"user"`
}

// shownMessages lists the messages of the open conversation in DOM order.
func shownMessages(b *tab) []shownMsg {
	b.t.Helper()
	return eval[[]shownMsg](b, `[...document.querySelectorAll('#messages .msg')].map(e => ({
		text: (e.querySelector('.text')?.textContent || '').replace(/ \(edited\)$/, ''),
		ts: e.dataset.ts || '', seq: e.dataset.seq || '', user: e.dataset.user || ''}))`)
}

// checkShownOnce checks that each of want is shown exactly once, in that
// order, with the given seqs, and that no seq is shown twice.
func checkShownOnce(t *testing.T, got []shownMsg, want []string, wantSeq []int64) {
	t.Helper()
	count := map[string]int{}
	var order []string
	var seqs []int64
	seen := map[string]bool{}
	for _, m := range got {
		count[m.Text]++
		if m.Seq != "" {
			if seen[m.Seq] {
				t.Errorf("seq %s shown twice in %+v", m.Seq, got)
			}
			seen[m.Seq] = true
		}
		if slices.Contains(want, m.Text) {
			order = append(order, m.Text)
			n, _ := strconv.ParseInt(m.Seq, 10, 64)
			seqs = append(seqs, n)
		}
	}
	for _, w := range want {
		if count[w] != 1 {
			t.Errorf("%q shown %d times, want once (page shows %+v)", w, count[w], got)
		}
	}
	if !slices.Equal(order, want) {
		t.Errorf("messages shown in the order %q, want %q", order, want)
	}
	if !slices.Equal(seqs, wantSeq) {
		t.Errorf("seqs shown %v for %q, want %v", seqs, want, wantSeq)
	}
}

// Bob has #plaza open, live. A message is stored without being
// published (as if its live event was lost), so Bob does not see it. When
// Alice's next message arrives live with a seq two above Bob's, his client
// sees the jump, calls client.catchup for the channel and shows both
// messages once each, in order, without a reload; a further live message
// adds no duplicate.
func TestWebSeqJumpCatchesUp(t *testing.T) {
	m, alice, general, b, last := bobWatchingGeneral(t, "before the gap")

	// Stored, never published: no live event carries it.
	ctx, cancel := context.WithTimeout(t.Context(), browserStep)
	defer cancel()
	missed := &confab.Message{ChannelID: general, UserID: alice.userID, Text: "missed live", TS: time.Now().UnixMicro()}
	if created, err := m.store.CreateMessage(ctx, missed); err != nil || !created {
		t.Fatalf("CreateMessage = %v, %v; want created", created, err)
	}
	if missed.Seq != last+1 {
		t.Fatalf("the unpublished message took seq %d, want %d", missed.Seq, last+1)
	}
	if eval[bool](b, hasText("missed live")) {
		t.Fatal("the unpublished message is shown before any jump in seq")
	}
	if n := eval[int](b, `window.__catchups.length`); n != 0 {
		t.Fatalf("the client called client.catchup %d times before any jump in seq, want 0", n)
	}

	// The next live event jumps by two: the client must catch up.
	alice.post(general, "after the gap")
	b.waitFor("both messages after the jump", hasText("missed live")+" && "+hasText("after the gap"))
	want := []string{"before the gap", "missed live", "after the gap"}
	checkShownOnce(t, shownMessages(b), want, []int64{last, last + 1, last + 2})
	for _, msg := range shownMessages(b) {
		if msg.Text == "missed live" && msg.User != alice.userID {
			t.Errorf("the caught-up message shows as from %q, want alice (%s)", msg.User, alice.userID)
		}
	}
	if ok := eval[bool](b, `Array.isArray(window.__catchups)`); !ok {
		t.Fatal("the page reloaded to show the missed message, want a catch-up in place")
	}
	calls := eval[[]map[string]float64](b, `window.__catchups`)
	if len(calls) == 0 {
		t.Fatal("the missed message is shown but the client never called client.catchup")
	}
	if cp, ok := calls[0][general]; !ok || int64(cp) != last {
		t.Errorf("first client.catchup after the jump sent checkpoints %v, want %s at %d", calls[0], general, last)
	}
	b.waitFor("checkpoint past the jump", fmt.Sprintf(`window.confabDebug.state().seqs[%q] === %d && window.confabDebug.state().live`, general, last+2))

	// Live again, in order: nothing shows twice and no catch-up is needed.
	alice.post(general, "after the catch-up")
	b.waitFor("live after the catch-up", hasText("after the catch-up"))
	want = append(want, "after the catch-up")
	checkShownOnce(t, shownMessages(b), want, []int64{last, last + 1, last + 2, last + 3})
	if got := int64(eval[float64](b, fmt.Sprintf(`window.confabDebug.state().seqs[%q]`, general))); got != last+3 {
		t.Errorf("Bob's checkpoint of general is %d, want %d", got, last+3)
	}
	if n := eval[int](b, `window.__catchups.length`); n != len(calls) {
		t.Errorf("an in-order live message caused %d more client.catchup calls, want none", n-len(calls))
	}
}

// Bob has #plaza open, live. A message is stored without being
// published, and Alice's next message arrives live a seq past it: Bob's
// client holds it. When the stored message's event then arrives (late, out
// of order), the client shows both, in order, without calling
// client.catchup: a reordering is not a loss.
func TestWebSeqReorderedWithoutCatchUp(t *testing.T) {
	m, alice, general, b, last := bobWatchingGeneral(t, "first")
	// Long enough that the late event, not the timer, ends the wait.
	eval[bool](b, `(window.confabDebug.setGapWait(60000), true)`)

	ctx, cancel := context.WithTimeout(t.Context(), browserStep)
	defer cancel()
	late := &confab.Message{ChannelID: general, UserID: alice.userID, Text: "late", TS: time.Now().UnixMicro()}
	if created, err := m.store.CreateMessage(ctx, late); err != nil || !created || late.Seq != last+1 {
		t.Fatalf("CreateMessage = %v, %v, seq %d; want created at seq %d", created, err, late.Seq, last+1)
	}
	alice.post(general, "early")
	b.waitFor("the client holding the event past the jump", fmt.Sprintf(`window.confabDebug.state().waiting.includes(%q)`, general))
	if eval[bool](b, hasText("early")) {
		t.Fatal("the event past the jump is shown before the one it follows")
	}

	pub := confab.Publication{Op: confab.OpDeliver, Time: time.Now().UnixNano(), Frame: confab.MessageEvent(late)}
	m.Gateway.HandlePublication(confab.ChannelTopic(alice.teamID, general), pub.Marshal())
	b.waitFor("both, once the late event came", hasText("late")+" && "+hasText("early"))
	checkShownOnce(t, shownMessages(b), []string{"first", "late", "early"}, []int64{last, last + 1, last + 2})
	b.waitFor("the wait over", fmt.Sprintf(`window.confabDebug.state().waiting.length === 0 && window.confabDebug.state().seqs[%q] === %d`, general, last+2))
	if n := eval[int](b, `window.__catchups.length`); n != 0 {
		t.Errorf("the client called client.catchup %d times for a reordering, want 0", n)
	}
}

// bobWatchingGeneral starts a server and a browser in which Bob has Alice's
// #plaza open, live, with first posted and shown; it returns Bob's
// checkpoint of general then. From then on the page records its
// client.catchup calls in window.__catchups; a reload would lose the
// record, so it doubles as proof that nothing reloaded.
func bobWatchingGeneral(t *testing.T, first string) (m *Main, alice *client, general string, b *tab, last int64) {
	t.Helper()
	m = MustRunMain(t)
	browser := MustStartBrowser(t)
	alice = signup(t, m, "acme", "alice")
	bobAPI := signup(t, m, "acme", "bob")
	general = alice.createChannel("plaza", false)
	bobAPI.must("conversations.join", obj{"channel": general})

	b = newTab(t, browser, "bob", true)
	b.login(m.URL(), "acme", "bob", "correct horse bob")
	b.openChannel(general)
	alice.post(general, first)
	b.waitFor("live "+first, hasText(first))
	last = int64(eval[float64](b, fmt.Sprintf(`window.confabDebug.state().seqs[%q]`, general)))
	if last <= 0 {
		t.Fatalf("Bob's checkpoint of general is %d after a live message, want > 0", last)
	}
	eval[bool](b, `(() => {
		window.__catchups = [];
		const orig = window.fetch;
		window.fetch = (url, opts) => {
			if (String(url).endsWith('/api/client.catchup')) window.__catchups.push(JSON.parse(opts.body).checkpoints);
			return orig(url, opts);
		};
		return true;
	})()`)
	return m, alice, general, b, last
}
