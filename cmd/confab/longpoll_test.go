package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// poller is a long-polling client: its key and its checkpoints, and the
// (channel, seq) of every message it was given.
type poller struct {
	t    *testing.T
	base string // the gateway's http://host
	key  string
	seqs map[string]int64
	seen map[string]int // "<channel>/<seq>" → times given
	text map[string]int // message text → times given
}

// pollOnce sends one poll (the first to the URL of rtm.connect's
// poll_url) and applies its answer as a client does, keeping the
// highest seq of each channel.
func (p *poller) pollOnce(first string, timeout string) []obj {
	p.t.Helper()
	cps, _ := json.Marshal(p.seqs)
	form := url.Values{"checkpoints": {string(cps)}, "timeout": {timeout}}
	u := first
	if u == "" {
		u = p.base + "/rtm/poll"
		form.Set("key", p.key)
	}
	resp, err := http.PostForm(u, form)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	var a struct {
		OK     bool   `json:"ok"`
		Error  string `json:"error"`
		Key    string `json:"key"`
		Events []obj  `json:"events"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil || !a.OK || a.Key == "" {
		p.t.Fatalf("poll: %s %+v %v", resp.Status, a, err)
	}
	p.key = a.Key
	for _, ev := range a.Events {
		seq, ok := ev["seq"].(float64)
		ch, _ := ev["channel"].(string)
		if !ok || ch == "" {
			continue
		}
		p.seen[fmt.Sprintf("%s/%d", ch, int64(seq))]++
		if int64(seq) <= p.seqs[ch] {
			continue // applied already: the client drops it
		}
		p.seqs[ch] = int64(seq)
		if ev["type"] == "message" {
			text, _ := ev["text"].(string)
			p.text[text]++
		}
	}
	return a.Events
}

// A long-polling client away while 1,000 messages are posted in 10
// channels resumes from its checkpoints: its next polls answer at once
// with every message, once each, in seq order per channel, and then it
// is held again and gets the next message live.
func TestLongPollResume(t *testing.T) {
	m := MustRunMain(t)
	alice := signup(t, m, "acme", "alice")
	bob := signup(t, m, "acme", "bob")
	var channels []string
	for i := range 10 {
		ch := alice.createChannel(fmt.Sprintf("room-%d", i), false)
		bob.must("conversations.join", obj{"channel": ch})
		channels = append(channels, ch)
	}
	out := bob.must("rtm.connect", nil)
	pollURL, _ := out["poll_url"].(string)
	if !strings.Contains(pollURL, "/rtm/poll/") {
		t.Fatalf("poll_url %q", pollURL)
	}
	p := &poller{t: t, base: pollURL[:strings.Index(pollURL, "/rtm/poll/")], seqs: map[string]int64{}, seen: map[string]int{}, text: map[string]int{}}
	evs := p.pollOnce(pollURL, "0")
	if len(evs) == 0 || evs[0]["type"] != "hello" {
		t.Fatalf("first answer %v, want hello first", evs)
	}
	for len(p.pollOnce("", "0")) > 0 { // from the channels' start: the joins
	}
	before, texts := len(p.seen), len(p.text)

	// No poll is held while alice posts.
	var wg sync.WaitGroup
	for i, ch := range channels {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 100 {
				alice.post(ch, fmt.Sprintf("m%d-%d", i, j))
			}
		}()
	}
	wg.Wait()

	for polls := 0; ; polls++ {
		if polls > 50 {
			t.Fatal("still catching up after 50 polls")
		}
		if len(p.pollOnce("", "0")) == 0 {
			break
		}
	}
	for i := range channels {
		for j := range 100 {
			if n := p.text[fmt.Sprintf("m%d-%d", i, j)]; n != 1 {
				t.Fatalf("message m%d-%d given %d times, want once", i, j, n)
			}
		}
	}
	if n := len(p.text) - texts; n != 1000 {
		t.Fatalf("%d messages, want 1,000", n)
	}
	for k, n := range p.seen {
		if n != 1 {
			t.Fatalf("%s given %d times, want once", k, n)
		}
	}
	if got := len(p.seen) - before; got != 1000 {
		t.Fatalf("%d new (channel, seq), want 1,000", got)
	}

	// Caught up: the next poll is held, and answered by the next post.
	done := make(chan []obj, 1)
	go func() { done <- p.pollOnce("", "25") }()
	time.Sleep(200 * time.Millisecond)
	select {
	case evs := <-done:
		t.Fatalf("answered %v, want the poll held", evs)
	default:
	}
	alice.post(channels[3], "live")
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the held poll was not answered by a post")
	}
	if p.text["live"] != 1 {
		t.Fatalf("the live message given %d times", p.text["live"])
	}
}
