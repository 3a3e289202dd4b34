package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// openStream opens a Server-Sent Events stream and returns what reads its
// next event, decoded.
func openStream(t *testing.T, url string) (next func() obj) {
	t.Helper()
	s, resp := readStream(t, url, "")
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream; charset=utf-8" {
		t.Fatalf("the stream: %s", ct)
	}
	return func() obj {
		t.Helper()
		return s.next(t)
	}
}

// rtm.connect hands out the Server-Sent Events stream beside the
// WebSocket, for the same gateway and ticket: whichever is opened first
// takes the ticket. The stream carries hello, then a message posted over
// the Web API, as the WebSocket would.
func TestSSEThroughRTMConnect(t *testing.T) {
	m := MustRunMain(t)
	alice := signup(t, m, "acme", "alice")
	bob := signup(t, m, "acme", "bob")
	plaza := alice.createChannel("plaza", false)
	bob.must("conversations.join", obj{"channel": plaza})

	out := bob.must("rtm.connect", nil)
	wsURL, sseURL := out["url"].(string), out["sse_url"].(string)
	ticket := wsURL[strings.LastIndexByte(wsURL, '/')+1:]
	if want := "http" + strings.TrimPrefix(strings.TrimSuffix(wsURL, ticket), "ws") + "sse/" + ticket; sseURL != want {
		t.Fatalf("sse_url = %s, want %s", sseURL, want)
	}
	next := openStream(t, sseURL)
	if f := next(); f["type"] != "hello" {
		t.Fatalf("first event %v, want hello", f)
	}
	ts := alice.post(plaza, "over the stream")
	for {
		f := next()
		if f["type"] == "message" && f["subtype"] != "channel_join" { // bob's join may come late, through the outbox
			if f["text"] != "over the stream" || f["ts"] != ts || f["channel"] != plaza || f["seq"] == nil {
				t.Fatalf("message event %v, want alice's at %s with its seq", f, ts)
			}
			break
		}
	}

	// The ticket is spent: the WebSocket of the same ticket is refused,
	// and the stream of a ticket the WebSocket took.
	if _, resp, err := websocket.DefaultDialer.Dial(wsURL, nil); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the WebSocket of the stream's ticket: %v, want 401", err)
	}
	out = bob.must("rtm.connect", nil)
	conn, _, err := websocket.DefaultDialer.Dial(out["url"].(string), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	again, err := http.Get(out["sse_url"].(string))
	if err != nil {
		t.Fatal(err)
	}
	again.Body.Close()
	if again.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the stream of the WebSocket's ticket: %s, want 401", again.Status)
	}
}

// conversations.typing is the RTM typing frame over HTTP, for a client on
// Server-Sent Events: the conversation's members get user_typing, and
// only a member may say so.
func TestTypingOverHTTP(t *testing.T) {
	m := MustRunMain(t)
	alice := signup(t, m, "acme", "alice")
	bob := signup(t, m, "acme", "bob")
	carol := signup(t, m, "acme", "carol")
	secret := alice.createChannel("secret", true)
	alice.must("conversations.invite", obj{"channel": secret, "users": bob.userID})

	conn := bob.connect()
	alice.must("conversations.typing", obj{"channel": secret})
	if f := conn.next(isType("user_typing")); f["channel"] != secret || f["user"] != alice.userID {
		t.Fatalf("user_typing %v, want alice in %s", f, secret)
	}
	carol.fails("conversations.typing", obj{"channel": secret}, "channel_not_found")
	carol.fails("conversations.typing", obj{}, "invalid_arguments")
}

// rtm.presenceSub is the RTM presence_sub frame over HTTP: the caller's
// stream, named by its hello, gets the presence changes of the users it
// names.
func TestPresenceSubOverHTTP(t *testing.T) {
	m := MustRunMain(t)
	alice := signup(t, m, "acme", "alice")
	bob := signup(t, m, "acme", "bob")
	next := openStream(t, bob.must("rtm.connect", nil)["sse_url"].(string))
	hello := next()
	stream, _ := hello["stream"].(string)
	if hello["type"] != "hello" || stream == "" {
		t.Fatalf("hello %v, want the stream's id", hello)
	}
	bob.must("rtm.presenceSub", obj{"stream": stream, "ids": alice.userID})
	alice.connect() // active
	// The subscription reaches the gateway through the bus: flip alice
	// until her change arrives after it.
	deadline := time.Now().Add(10 * time.Second)
	var f obj
	for away := true; f == nil || f["type"] != "presence_change" || f["user"] != alice.userID; away = !away {
		if time.Now().After(deadline) {
			t.Fatalf("no presence_change of alice on bob's stream, but %v", f)
		}
		alice.must("users.setPresence", obj{"presence": map[bool]string{true: "away", false: "auto"}[away]})
		f = next()
	}
	bob.fails("rtm.presenceSub", obj{"stream": "bad stream id", "ids": alice.userID}, "invalid_stream")
	bob.fails("rtm.presenceSub", obj{"ids": alice.userID}, "invalid_arguments")
}

// sseEvents reads a stream as a browser's EventSource does: its events'
// data, decoded, and its ids (what the browser names in Last-Event-ID),
// in the order they come.
type sseEvents struct {
	items chan sseItem
}

// sseItem is an event's data, decoded, or an id.
type sseItem struct {
	f  obj
	id string
}

func readStream(t *testing.T, url, lastID string) (*sseEvents, *http.Response) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the stream: %s", resp.Status)
	}
	s := &sseEvents{items: make(chan sseItem, 4096)}
	go func() {
		defer close(s.items)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if id, ok := strings.CutPrefix(line, "id: "); ok {
				s.items <- sseItem{id: id}
			}
			if data, ok := strings.CutPrefix(line, "data: "); ok {
				var f obj
				if json.Unmarshal([]byte(data), &f) == nil {
					s.items <- sseItem{f: f}
				}
			}
		}
	}()
	return s, resp
}

// take returns the next item.
func (s *sseEvents) take(t *testing.T) sseItem {
	t.Helper()
	select {
	case it, ok := <-s.items:
		if !ok {
			t.Fatal("the stream ended")
		}
		return it
	case <-time.After(10 * time.Second):
		t.Fatal("nothing came")
	}
	return sseItem{}
}

// next returns the next event, past ids.
func (s *sseEvents) next(t *testing.T) obj {
	t.Helper()
	for {
		if it := s.take(t); it.f != nil {
			return it.f
		}
	}
}

// nextID returns the next id, past events: after the events read, the one
// a browser would resume from.
func (s *sseEvents) nextID(t *testing.T) string {
	t.Helper()
	for {
		if it := s.take(t); it.id != "" {
			return it.id
		}
	}
}

// A stream that drops resumes from its Last-Event-ID, as a browser
// reconnects by itself to its URL (its ticket spent): the 1,000 messages
// posted to its ten channels meanwhile come once each, and nothing else
// — no hello of a new connection to catch up from.
func TestSSEResumeAfterAThousand(t *testing.T) {
	m := MustRunMain(t)
	alice := signup(t, m, "acme", "alice")
	bob := signup(t, m, "acme", "bob")
	var chans []string
	for i := range 10 {
		ch := alice.createChannel(fmt.Sprintf("room-%d", i), false)
		bob.must("conversations.join", obj{"channel": ch})
		chans = append(chans, ch)
	}
	url := bob.must("rtm.connect", nil)["sse_url"].(string)
	s, resp := readStream(t, url, "")
	if f := s.next(t); f["type"] != "hello" || f["resumed"] != false {
		t.Fatalf("first event %v, want hello, not resumed", f)
	}
	alice.post(chans[0], "before the drop")
	for f := s.next(t); f["text"] != "before the drop"; f = s.next(t) {
	}
	last := s.nextID(t)
	resp.Body.Close()

	want := map[string]bool{}
	for i := range 1000 {
		ch := chans[i%len(chans)]
		ts := alice.post(ch, fmt.Sprintf("while away %d", i))
		want[ch+"/"+ts] = true
	}
	s, _ = readStream(t, url, last)
	if f := s.next(t); f["type"] != "hello" || f["resumed"] != true {
		t.Fatalf("first event %v, want hello, resumed", f)
	}
	got := map[string]bool{}
	seqs := map[string]float64{}
	for len(got) < len(want) {
		f := s.next(t)
		if f["type"] != "message" || f["subtype"] == "channel_join" {
			continue // bob's joins, published after their answer, may come late
		}
		ch, ts := f["channel"].(string), f["ts"].(string)
		key := ch + "/" + ts
		if !want[key] || got[key] {
			t.Fatalf("message %v: not one of those posted while away, or twice", f)
		}
		if seq := f["seq"].(float64); seq <= seqs[ch] {
			t.Fatalf("%s: seq %v after %v", ch, seq, seqs[ch])
		}
		seqs[ch] = f["seq"].(float64)
		got[key] = true
	}
	for {
		select {
		case it := <-s.items:
			if it.f["type"] == "message" && it.f["subtype"] != "channel_join" {
				t.Fatalf("more after the 1,000: %v", it.f)
			}
			continue
		case <-time.After(200 * time.Millisecond):
		}
		break
	}
}
