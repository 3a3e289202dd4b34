package gateway

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/confab/confab"
	"github.com/confab/confab/chat"
)

// CatchUp answers from CatchUpFn; by default nothing was missed.
func (f *fakeChat) CatchUp(ctx context.Context, u *confab.User, checkpoints map[string]int64, limit int) ([]chat.CatchUpChannel, error) {
	if f.CatchUpFn != nil {
		return f.CatchUpFn(ctx, u, checkpoints)
	}
	return nil, nil
}

// polled is a poll's answer.
type polled struct {
	status int
	header http.Header
	close  bool              // Connection: close
	OK     bool              `json:"ok"`
	Error  string            `json:"error"`
	Key    string            `json:"key"`
	Events []json.RawMessage `json:"events"`
}

// types lists the answer's events by type.
func (p polled) types() []string {
	var out []string
	for _, ev := range p.Events {
		var e struct{ Type string }
		json.Unmarshal(ev, &e)
		out = append(out, e.Type)
	}
	return out
}

// poll sends a poll to path (pollPrefix, or it and a ticket) with form,
// and returns a channel that gets its answer.
func (s *testServer) poll(t *testing.T, path string, form url.Values) <-chan polled {
	t.Helper()
	out := make(chan polled, 1)
	go func() {
		resp, err := http.Post(s.srv.URL+path, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
		if err != nil {
			t.Errorf("poll: %v", err)
			out <- polled{}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		p := polled{status: resp.StatusCode, header: resp.Header, close: resp.Close}
		if err := json.Unmarshal(b, &p); err != nil {
			t.Errorf("poll answer %q: %v", b, err)
		}
		out <- p
	}()
	return out
}

// answer waits for a poll's answer.
func answer(t *testing.T, ch <-chan polled) polled {
	t.Helper()
	select {
	case p := <-ch:
		return p
	case <-time.After(waitFor):
		t.Fatal("timed out waiting for the poll's answer")
	}
	return polled{}
}

// unanswered checks that a poll gets no answer for a while.
func unanswered(t *testing.T, ch <-chan polled, d time.Duration) {
	t.Helper()
	select {
	case p := <-ch:
		t.Fatalf("answered %d %v, want the poll held", p.status, p.types())
	case <-time.After(d):
	}
}

// firstPoll redeems user's ticket and returns its answer, hello first.
func (s *testServer) firstPoll(t *testing.T, user string) (key, stream string) {
	t.Helper()
	p := answer(t, s.poll(t, pollPrefix+"/ticket-"+user, url.Values{"timeout": {"0"}}))
	var hello struct{ Type, Stream string }
	if p.status != http.StatusOK || !p.OK || len(p.Events) == 0 || json.Unmarshal(p.Events[0], &hello) != nil || hello.Type != "hello" || hello.Stream == "" {
		t.Fatalf("first poll of %s: %d %+v, want hello with a stream id", user, p.status, p)
	}
	if p.Key == "" || !strings.HasPrefix(p.Key, hello.Stream+"~") {
		t.Fatalf("key %q, want one of stream %s", p.Key, hello.Stream)
	}
	return p.Key, hello.Stream
}

// held waits until n polls wait in the poller.
func (s *testServer) held(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		got := 0
		s.g.eachConn(func(c *conn) {
			if c.poll == nil {
				return
			}
			c.mu.Lock()
			// Without a poller a held poll has a reader goroutine.
			if c.poll.ready && (c.state() == statePolled || noPoller && c.state() == stateReading) && c.closeErr == nil {
				got++
			}
			c.mu.Unlock()
		})
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d polls held, want %d", got, n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// The first poll answers at once with the stream's hello and a key; a
// poll with the key waits, with no goroutine of its own, for the first
// event of its user's channels and is answered with it, as one response
// with a length on a connection that then closes.
func TestPollHeldUntilAnEvent(t *testing.T) {
	s := MustServe(t, Config{}, &fakeChat{
		UserChannelsFn: channelsOf(map[string][]string{"U1": {"C1"}}),
	})
	key, _ := s.firstPoll(t, "U1")
	p := s.poll(t, pollPrefix, url.Values{"key": {key}})
	s.held(t, 1)
	unanswered(t, p, 50*time.Millisecond)
	s.g.HandlePublication("T1.c.C2", marshal(pub(`{"type":"message","channel":"C2"}`)))
	unanswered(t, p, 50*time.Millisecond)
	frame := `{"type":"message","channel":"C1","text":"hi","seq":4}`
	if !s.bus.publish("T1.c.C1", pub(frame)) {
		t.Fatal("T1.c.C1 not subscribed")
	}
	got := answer(t, p)
	if got.status != http.StatusOK || len(got.Events) != 1 || string(got.Events[0]) != frame {
		t.Fatalf("answer %d %s, want the frame", got.status, got.Events)
	}
	if got.Key == "" || !strings.HasPrefix(got.Key, strings.SplitN(key, "~", 2)[0]+"~") {
		t.Fatalf("key %q, want one of the same stream as %q", got.Key, key)
	}
	if !got.close {
		t.Error("no Connection: close: one poll per connection")
	}
	for k, want := range map[string]string{"Cache-Control": "no-store", "Content-Type": "application/json; charset=utf-8"} {
		if v := got.header.Get(k); v != want {
			t.Errorf("%s: %q, want %q", k, v, want)
		}
	}
	if got.header.Get("Content-Length") == "" {
		t.Error("no Content-Length: a buffering proxy would wait for the end")
	}
	deadline := time.Now().Add(waitFor)
	for s.g.Conns() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("Conns() = %d after the answer, want 0", s.g.Conns())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// A poll with nothing to say is answered with no events at its timeout;
// timeout 0 answers at once.
func TestPollTimeout(t *testing.T) {
	s := MustServe(t, Config{PingInterval: 40 * time.Millisecond}, &fakeChat{})
	key, _ := s.firstPoll(t, "U1")
	start := time.Now()
	p := answer(t, s.poll(t, pollPrefix, url.Values{"key": {key}, "timeout": {"0.3"}}))
	if took := time.Since(start); p.status != http.StatusOK || !p.OK || len(p.Events) != 0 || took < 300*time.Millisecond {
		t.Fatalf("answer %d %v after %v, want no events after 300ms", p.status, p.types(), took)
	}
	start = time.Now()
	p = answer(t, s.poll(t, pollPrefix, url.Values{"key": {p.Key}, "timeout": {"0"}}))
	if took := time.Since(start); !p.OK || len(p.Events) != 0 || took > 250*time.Millisecond {
		t.Fatalf("timeout 0: %v after %v, want nothing at once", p.types(), took)
	}
}

// A poll catches up from its checkpoints before it waits: missed events
// answer it at once, with anything queued since it registered after them.
func TestPollCatchUp(t *testing.T) {
	var got atomic.Value
	missed := json.RawMessage(`{"type":"message","channel":"C1","seq":3}`)
	s := MustServe(t, Config{}, &fakeChat{
		UserChannelsFn: channelsOf(map[string][]string{"U1": {"C1"}}),
		CatchUpFn: func(_ context.Context, _ *confab.User, cps map[string]int64) ([]chat.CatchUpChannel, error) {
			got.Store(cps)
			if cps["C1"] < 3 {
				return []chat.CatchUpChannel{{Channel: "C1", Events: []json.RawMessage{missed}}}, nil
			}
			return nil, nil
		},
	})
	key, _ := s.firstPoll(t, "U1")
	p := answer(t, s.poll(t, pollPrefix, url.Values{"key": {key}, "checkpoints": {`{"C1":2}`}}))
	if len(p.Events) != 1 || string(p.Events[0]) != string(missed) {
		t.Fatalf("answer %s, want the missed event", p.Events)
	}
	if cps := got.Load().(map[string]int64); cps["C1"] != 2 || len(cps) != 1 {
		t.Fatalf("caught up from %v", cps)
	}
	held := s.poll(t, pollPrefix, url.Values{"key": {p.Key}, "checkpoints": {`{"C1":"3"}`}})
	s.held(t, 1)
	unanswered(t, held, 30*time.Millisecond)
	s.bus.publish("T1.c.C1", pub(`{"type":"message","channel":"C1","seq":4}`))
	if p := answer(t, held); len(p.Events) != 1 {
		t.Fatalf("answer %s, want seq 4", p.Events)
	}
}

// A held poll ends as a stream does, with a last close event: goodbye and
// 1001 at shutdown, 4101 when its session is revoked (after which its key
// opens nothing).
func TestPollClose(t *testing.T) {
	var revoked atomic.Bool
	s := MustServe(t, Config{}, &fakeChat{
		CheckAdmissionFn: func(_ context.Context, a *chat.Admission) error {
			if revoked.Load() && a.Session == sessionOf("ticket-U1") {
				return confab.ErrInvalidAuth
			}
			return nil
		},
	})
	key, _ := s.firstPoll(t, "U1")
	keyB, _ := s.firstPoll(t, "U1~b")
	p, kept := s.poll(t, pollPrefix, url.Values{"key": {key}}), s.poll(t, pollPrefix, url.Values{"key": {keyB}})
	s.held(t, 2)
	revoked.Store(true)
	s.bus.publish("T1.u.U1", confab.Publication{Op: confab.OpRevoke, Session: sessionOf("ticket-U1")})
	if code, reason := closeEvent(t, answer(t, p)); code != int(closeRevoked) || reason != "token_revoked" {
		t.Fatalf("closed with %d %q, want %d", code, reason, closeRevoked)
	}
	unanswered(t, kept, 50*time.Millisecond)
	if again := answer(t, s.poll(t, pollPrefix, url.Values{"key": {key}})); again.status != http.StatusUnauthorized || again.Error != "invalid_auth" {
		t.Fatalf("the revoked key: %d %q, want 401 invalid_auth", again.status, again.Error)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- s.g.Shutdown(ctx) }()
	last := answer(t, kept)
	if ty := last.types(); len(ty) != 2 || ty[0] != "goodbye" {
		t.Fatalf("events at shutdown %v, want goodbye then close", ty)
	}
	if code, _ := closeEvent(t, last); code != int(ws.StatusGoingAway) {
		t.Fatalf("closed with %d at shutdown, want 1001", code)
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

// closeEvent is the code and reason of an answer's last event, a close.
func closeEvent(t *testing.T, p polled) (int, string) {
	t.Helper()
	if len(p.Events) == 0 {
		t.Fatalf("answer %d %q with no events, want a close", p.status, p.Error)
	}
	var cl struct {
		Type   string
		Code   int
		Reason string
	}
	if json.Unmarshal(p.Events[len(p.Events)-1], &cl); cl.Type != "close" {
		t.Fatalf("last event %s, want a close", p.Events[len(p.Events)-1])
	}
	return cl.Code, cl.Reason
}

// A held poll takes its places in the quotas like a WebSocket, and gives
// them back with its answer.
func TestPollQuotas(t *testing.T) {
	s := MustServe(t, Config{MaxConnsPerUser: 1}, &fakeChat{
		UserChannelsFn: channelsOf(map[string][]string{"U1": {"C1"}}),
	})
	key, _ := s.firstPoll(t, "U1")
	p := s.poll(t, pollPrefix, url.Values{"key": {key}})
	s.held(t, 1)
	if again := answer(t, s.poll(t, pollPrefix, url.Values{"key": {key}})); again.status != http.StatusTooManyRequests || again.Error != "too_many_connections" {
		t.Fatalf("a second poll: %d %q, want 429 too_many_connections", again.status, again.Error)
	}
	if _, resp, err := s.dial(t, "ticket-U1", nil); err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a WebSocket beside the poll: %v, want 429", err)
	}
	s.bus.publish("T1.c.C1", pub(`{"type":"message","channel":"C1"}`))
	got := answer(t, p)
	p = s.poll(t, pollPrefix, url.Values{"key": {got.Key}, "timeout": {"0"}})
	if again := answer(t, p); again.status != http.StatusOK {
		t.Fatalf("a poll after the answer: %d %q", again.status, again.Error)
	}
}

// Leaving a channel narrows the stream's polls: channel_left answers the
// held one, and the channel's events reach none after; its bus
// subscription, held between polls, ends with its hold.
func TestPollLeave(t *testing.T) {
	grace := pollGrace
	t.Cleanup(func() { pollGrace = grace }) // after the gateway's shutdown
	pollGrace = 200 * time.Millisecond
	var mu sync.Mutex
	channels := map[string][]string{"U1": {"C1", "C9"}}
	s := MustServe(t, Config{}, &fakeChat{
		UserChannelsFn: func(_ context.Context, id string) ([]string, error) {
			mu.Lock()
			defer mu.Unlock()
			return channels[id], nil
		},
	})
	key, _ := s.firstPoll(t, "U1")
	p := s.poll(t, pollPrefix, url.Values{"key": {key}})
	s.held(t, 1)
	mu.Lock()
	channels["U1"] = []string{"C1"}
	mu.Unlock()
	s.bus.publish("T1.u.U1", confab.Publication{Op: confab.OpLeave, Channel: "C9", Frame: confab.ChannelLeftEvent("C9")})
	if got := answer(t, p); len(got.types()) != 1 || got.types()[0] != "channel_left" {
		t.Fatalf("answer %v, want channel_left", got.types())
	} else {
		key = got.Key
	}
	p = s.poll(t, pollPrefix, url.Values{"key": {key}})
	s.held(t, 1)
	s.bus.waitSubscribed(t, "T1.c.C9", false)
	s.g.HandlePublication("T1.c.C9", marshal(pub(`{"type":"message","channel":"C9"}`)))
	unanswered(t, p, 50*time.Millisecond)
	other := `{"type":"message","channel":"C1","text":"still here"}`
	s.bus.publish("T1.c.C1", pub(other))
	if got := answer(t, p); len(got.Events) != 1 || string(got.Events[0]) != other {
		t.Fatalf("answer %s after leaving C9, want only %s", got.Events, other)
	}
}

// The polls of one client are one presence: connected with the first,
// disconnected only once none was held for the grace; between two polls
// the bus subscriptions stay, so a presence subscription that names the
// stream then still reaches its next poll.
func TestPollStream(t *testing.T) {
	grace := pollGrace
	t.Cleanup(func() { pollGrace = grace }) // after the gateway's shutdown
	pollGrace = 200 * time.Millisecond
	var connected, disconnected atomic.Int32
	s := MustServe(t, Config{PingInterval: 40 * time.Millisecond}, &fakeChat{
		UserChannelsFn: channelsOf(map[string][]string{"U1": {"C1"}}),
		ConnectedFn:    func(context.Context, *confab.User) { connected.Add(1) },
		DisconnectedFn: func(context.Context, *confab.User) { disconnected.Add(1) },
	})
	key, stream := s.firstPoll(t, "U1")
	for range 3 {
		p := answer(t, s.poll(t, pollPrefix, url.Values{"key": {key}, "timeout": {"0"}}))
		if len(p.Events) != 0 {
			t.Fatalf("a later poll: %v, want no second hello", p.types())
		}
		key = p.Key
	}
	if c, d := connected.Load(), disconnected.Load(); c != 1 || d != 0 {
		t.Fatalf("after four polls: %d connected, %d disconnected; want 1, 0", c, d)
	}
	if sub, unsub := s.bus.calls("T1.c.C1"); sub != 1 || unsub != 0 {
		t.Fatalf("C1 subscribed %d, unsubscribed %d times over four polls; want once, never", sub, unsub)
	}
	// Between polls: the stream is named, and its next poll watches U2.
	ids, _ := json.Marshal([]string{"U2"})
	s.bus.publish("T1.u.U1", confab.Publication{Op: confab.OpPresenceSub, Channel: stream, Frame: ids})
	p := s.poll(t, pollPrefix, url.Values{"key": {key}})
	s.held(t, 1)
	s.bus.waitSubscribed(t, "T1.p.U2", true)
	frame := `{"type":"presence_change","user":"U2","presence":"away"}`
	s.bus.publish("T1.p.U2", pub(frame))
	if got := answer(t, p); len(got.Events) != 1 || string(got.Events[0]) != frame {
		t.Fatalf("answer %s, want %s", got.Events, frame)
	}
	// No poll for the grace: the stream ends.
	s.bus.waitSubscribed(t, "T1.c.C1", false)
	deadline := time.Now().Add(waitFor)
	for disconnected.Load() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("not disconnected after the grace")
		}
		time.Sleep(5 * time.Millisecond)
	}
	s.bus.waitSubscribed(t, "T1.u.U1", false)
	// A key whose stream ended starts another, with its own hello.
	p2 := answer(t, s.poll(t, pollPrefix, url.Values{"key": {key}, "timeout": {"0"}}))
	if ty := p2.types(); len(ty) != 1 || ty[0] != "hello" || connected.Load() != 2 {
		t.Fatalf("a poll after the stream ended: %v, %d connected; want a new hello", ty, connected.Load())
	}
}

// A poll's bad requests get Slack errors before anything is held.
func TestPollRefusals(t *testing.T) {
	s := MustServe(t, Config{}, &fakeChat{})
	key, _ := s.firstPoll(t, "U1")
	if p := answer(t, s.poll(t, pollPrefix+"/ticket-U1", nil)); p.status != http.StatusOK {
		t.Fatalf("another ticket: %d", p.status)
	}
	for _, tc := range []struct {
		path   string
		form   url.Values
		status int
		err    string
	}{
		{pollPrefix, nil, 401, "invalid_auth"},
		{pollPrefix, url.Values{"key": {"nope"}}, 401, "invalid_auth"},
		{pollPrefix + "/not-a-ticket", nil, 401, "invalid_auth"},
		{pollPrefix, url.Values{"key": {key}, "checkpoints": {"[1]"}}, 400, "invalid_arguments"},
		{pollPrefix, url.Values{"key": {key}, "checkpoints": {`{"C1":-1}`}}, 400, "invalid_arguments"},
		{pollPrefix, url.Values{"key": {key}, "timeout": {"soon"}}, 400, "invalid_arguments"},
		{pollPrefix, url.Values{"key": {key}, "timeout": {"-1"}}, 400, "invalid_arguments"},
	} {
		p := answer(t, s.poll(t, tc.path, tc.form))
		if p.status != tc.status || p.OK || p.Error != tc.err {
			t.Errorf("%s %v: %d %q, want %d %q", tc.path, tc.form, p.status, p.Error, tc.status, tc.err)
		}
	}
	resp, err := http.Get(s.srv.URL + pollPrefix)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != http.MethodPost {
		t.Fatalf("GET: %s, Allow %q; want 405, POST", resp.Status, resp.Header.Get("Allow"))
	}
	// A JSON body works as a form does.
	req, _ := http.NewRequest(http.MethodPost, s.srv.URL+pollPrefix, strings.NewReader(`{"key":"`+key+`","checkpoints":{"C1":1},"timeout":0}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var p polled
	json.NewDecoder(resp.Body).Decode(&p)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !p.OK || p.Key == "" {
		t.Fatalf("a JSON poll: %s %+v", resp.Status, p)
	}
}

// Where there is no poller a held poll has a reader goroutine, and is
// answered all the same.
func TestPollWithoutPoller(t *testing.T) {
	noPoller = true
	t.Cleanup(func() { noPoller = false })
	for _, tc := range []struct {
		name string
		f    func(*testing.T)
	}{
		{"HeldUntilAnEvent", TestPollHeldUntilAnEvent},
		{"Timeout", TestPollTimeout},
		{"Close", TestPollClose},
	} {
		t.Run(tc.name, tc.f)
	}
}

// Events published between a poll's registration and its catch-up's read
// are both queued and caught up: the answer gives each once. A channel
// whose catch-up has more gives none of its queued events (the next
// poll's catch-up brings them, in order); a channel the catch-up did
// not give keeps its queued events.
func TestPollCatchUpOnce(t *testing.T) {
	var s *testServer
	c1 := json.RawMessage(`{"type":"message","channel":"C1","seq":3}`)
	c2 := json.RawMessage(`{"type":"message","channel":"C2","seq":5}`)
	c3 := json.RawMessage(`{"type":"message","channel":"C3","seq":1}`)
	var once sync.Once
	s = MustServe(t, Config{}, &fakeChat{
		UserChannelsFn: channelsOf(map[string][]string{"U1": {"C1", "C2", "C3"}}),
		CatchUpFn: func(_ context.Context, _ *confab.User, cps map[string]int64) ([]chat.CatchUpChannel, error) {
			if cps["C1"] != 2 {
				return nil, nil
			}
			// Committed and published while the catch-up reads.
			once.Do(func() {
				for _, p := range []struct {
					topic string
					ev    json.RawMessage
				}{{"T1.c.C1", c1}, {"T1.c.C2", c2}, {"T1.c.C2", json.RawMessage(`{"type":"message","channel":"C2","seq":6}`)}, {"T1.c.C3", c3}} {
					if !s.bus.publish(p.topic, pub(string(p.ev))) {
						t.Errorf("%s is not subscribed", p.topic)
					}
				}
				time.Sleep(200 * time.Millisecond) // delivered to the poll's queue
			})
			return []chat.CatchUpChannel{
				{Channel: "C1", Events: []json.RawMessage{c1}},
				{Channel: "C2", Events: []json.RawMessage{c2}, HasMore: true},
			}, nil
		},
	})
	key, _ := s.firstPoll(t, "U1")
	p := answer(t, s.poll(t, pollPrefix, url.Values{"key": {key}, "checkpoints": {`{"C1":2,"C2":4,"C3":0}`}}))
	var got []string
	for _, ev := range p.Events {
		got = append(got, string(ev))
	}
	if want := []string{string(c1), string(c2), string(c3)}; !slices.Equal(got, want) {
		t.Fatalf("answer %q, want %q: each event once, C2's beyond its catch-up left for the next poll", got, want)
	}
}
