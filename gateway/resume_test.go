package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confab/confab"
	"github.com/confab/confab/chat"
)

// resumeSSE reconnects as a browser's EventSource does: to the spent
// ticket's URL, naming the last id it got. It returns the stream and
// whether its hello says it resumed.
func (s *testServer) resumeSSE(t *testing.T, lastID string) (*sseClient, bool) {
	t.Helper()
	c := s.openSSE(t, "ticket-spent", http.Header{"Last-Event-ID": {lastID}})
	if c.resp.StatusCode != http.StatusOK {
		t.Fatalf("resume after %q: %s", lastID, c.resp.Status)
	}
	var hello struct {
		Type    string `json:"type"`
		Stream  string `json:"stream"`
		Resumed *bool  `json:"resumed"`
	}
	if got := c.next(); json.Unmarshal([]byte(got), &hello) != nil || hello.Type != "hello" || hello.Stream == "" || hello.Resumed == nil {
		t.Fatalf("first event = %s, want hello saying whether it resumed", got)
	}
	c.stream = hello.Stream
	return c, *hello.Resumed
}

// waitID reads the id that follows the events read so far: the one a
// browser would resume from.
func (c *sseClient) waitID() string {
	c.t.Helper()
	deadline := time.After(waitFor)
	for {
		select {
		case it, ok := <-c.items:
			if !ok {
				c.t.Fatal("the stream ended")
			}
			if it.id != "" && it.data == "" {
				return it.id
			}
			if !it.comment {
				c.t.Fatalf("got %s, want only an id", it.data)
			}
		case <-deadline:
			c.t.Fatal("no id")
		}
	}
}

// drop ends the stream as a network would, and waits until the gateway has
// let it go.
func (s *testServer) drop(t *testing.T, c *sseClient) {
	t.Helper()
	c.resp.Body.Close()
	deadline := time.Now().Add(waitFor)
	for s.g.Conns() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the dropped stream is still open")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func tenChannels() []string {
	chans := make([]string, 10)
	for i := range chans {
		chans[i] = fmt.Sprintf("C%d", i+1)
	}
	return chans
}

// A browser that reconnects with its Last-Event-ID gets, once and in
// order, the 1,000 messages its ten channels had while it was away: its
// topics stayed subscribed for it, and the ring kept them.
func TestSSEResume(t *testing.T) {
	chans := tenChannels()
	s := MustServe(t, Config{}, &fakeChat{UserChannelsFn: channelsOf(map[string][]string{"U1": chans})})
	a := s.mustSSE(t, "U1")
	for _, ch := range chans {
		frame := fmt.Sprintf(`{"type":"message","channel":%q,"text":"before"}`, ch)
		s.bus.publish("T1.c."+ch, pub(frame))
		if got := a.next(); got != frame {
			t.Fatalf("got %s, want %s", got, frame)
		}
	}
	last := a.waitID()
	s.drop(t, a)

	var want []string
	for i := range 1000 {
		ch := chans[i%len(chans)]
		frame := fmt.Sprintf(`{"type":"message","channel":%q,"n":%d}`, ch, i)
		if !s.bus.publish("T1.c."+ch, pub(frame)) {
			t.Fatalf("%s was not kept subscribed for the stream to resume", ch)
		}
		want = append(want, frame)
	}
	// Some come as the stream registers, after it joined its topics and
	// before the replay: queued, and in the ring too.
	during := make(chan []string, 1)
	s.g.beforeSettle = func() {
		var frames []string
		for i := range 5 {
			frame := fmt.Sprintf(`{"type":"message","channel":"C1","during":%d}`, i)
			s.bus.publish("T1.c.C1", pub(frame))
			frames = append(frames, frame)
		}
		during <- frames
	}
	b, resumed := s.resumeSSE(t, last)
	if !resumed {
		t.Fatal("hello says resumed false, want true")
	}
	want = append(want, <-during...)
	for i, w := range want {
		if got := b.next(); got != w {
			t.Fatalf("event %d after resuming = %s, want %s", i, got, w)
		}
	}
	b.quiet(50 * time.Millisecond)
	after := `{"type":"message","channel":"C3","text":"after"}`
	s.bus.publish("T1.c.C3", pub(after))
	if got := b.next(); got != after {
		t.Fatalf("got %s, want %s", got, after)
	}
	b.quiet(50 * time.Millisecond)
}

// Streams dropped again and again while two publishers post to ten
// channels: what the client kept up to each last id, and what each
// resumption replayed, is every message once, in order per channel.
func TestSSEResumeWhilePosting(t *testing.T) {
	chans := tenChannels()
	s := MustServe(t, Config{}, &fakeChat{UserChannelsFn: channelsOf(map[string][]string{"U1": chans})})
	const perChannel = 300
	c := s.mustSSE(t, "U1")

	var wg sync.WaitGroup
	var lost atomic.Int32
	for p := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range perChannel {
				for _, ch := range chans[p*5 : p*5+5] {
					frame := fmt.Sprintf(`{"type":"message","channel":%q,"n":%d}`, ch, n)
					if !s.bus.publish("T1.c."+ch, pub(frame)) {
						lost.Add(1)
					}
				}
				if n%2 == 0 {
					time.Sleep(time.Millisecond)
				}
			}
		}()
	}

	seen := map[string][]int{}
	var kept, pending []string // kept: up to the last id; pending: after it
	keep := func() {
		kept = append(kept, pending...)
		pending = pending[:0]
	}
	total, last := 0, ""
	deadline := time.After(30 * time.Second)
	for drops := 0; total < perChannel*len(chans); {
		select {
		case it, ok := <-c.items:
			if !ok {
				t.Fatal("the stream ended")
			}
			if it.id != "" {
				last = it.id
			}
			switch {
			case it.comment && it.id != "":
				keep()
			case !it.comment:
				pending = append(pending, it.data)
				if it.id != "" {
					keep()
				}
				total = len(kept) + len(pending)
			}
			if drops < 3 && total > (drops+1)*perChannel*len(chans)/4 {
				// Cut: what came after the last id is not the client's.
				drops++
				c.resp.Body.Close()
				pending = pending[:0]
				var resumed bool
				if c, resumed = s.resumeSSE(t, last); !resumed {
					t.Fatalf("drop %d: not resumed", drops)
				}
				total = len(kept)
			}
		case <-deadline:
			t.Fatalf("got %d of %d messages", total, perChannel*len(chans))
		}
	}
	wg.Wait()
	if n := lost.Load(); n != 0 {
		t.Fatalf("%d publications found their topic unsubscribed", n)
	}
	keep()
	for _, data := range kept {
		var m struct {
			Channel string `json:"channel"`
			N       int    `json:"n"`
		}
		if err := json.Unmarshal([]byte(data), &m); err != nil {
			t.Fatalf("%s: %v", data, err)
		}
		seen[m.Channel] = append(seen[m.Channel], m.N)
	}
	for _, ch := range chans {
		got := seen[ch]
		for i, n := range got {
			if n != i {
				t.Fatalf("%s: message %d is n=%d (%d in all), want every message once in order", ch, i, n, len(got))
			}
		}
		if len(got) != perChannel {
			t.Fatalf("%s: %d messages, want %d", ch, len(got), perChannel)
		}
	}
	c.quiet(50 * time.Millisecond)
}

// When the ring no longer holds what a stream missed, or its topics were
// let go, or the id is another process's, the stream starts anew and says
// so (resumed false: the client catches up from its checkpoints); an id
// that admits nobody is refused.
func TestSSEResumeRefused(t *testing.T) {
	ch := &fakeChat{UserChannelsFn: channelsOf(map[string][]string{"U1": {"C1"}})}
	t.Run("hold over", func(t *testing.T) {
		s := MustServe(t, Config{ResumeHold: 20 * time.Millisecond}, ch)
		a := s.mustSSE(t, "U1")
		s.bus.publish("T1.c.C1", pub(`{"n":1}`))
		a.next()
		last := a.waitID()
		s.drop(t, a)
		s.bus.waitSubscribed(t, "T1.c.C1", false)
		if b, resumed := s.resumeSSE(t, last); resumed {
			t.Fatalf("resumed after its topics were let go: %s", b.next())
		}
	})
	t.Run("ring overrun", func(t *testing.T) {
		s := MustServe(t, Config{ResumeFrames: 8}, ch)
		a := s.mustSSE(t, "U1")
		s.bus.publish("T1.c.C1", pub(`{"n":1}`))
		a.next()
		last := a.waitID()
		s.drop(t, a)
		for range 20 {
			s.bus.publish("T1.c.C1", pub(`{"n":2}`))
		}
		b, resumed := s.resumeSSE(t, last)
		if resumed {
			t.Fatal("resumed past what the ring holds")
		}
		b.quiet(50 * time.Millisecond)
	})
	t.Run("another process", func(t *testing.T) {
		s := MustServe(t, Config{}, ch)
		a := s.mustSSE(t, "U1")
		last := a.waitID()
		pos, rest, _ := strings.Cut(last, ".")
		_, key, _ := strings.Cut(rest, ".")
		if _, resumed := s.resumeSSE(t, pos+".elsewhere."+key); resumed {
			t.Fatal("resumed from another gateway's position")
		}
	})
	t.Run("refused", func(t *testing.T) {
		revoked := atomic.Bool{}
		s := MustServe(t, Config{}, &fakeChat{
			UserChannelsFn: channelsOf(map[string][]string{"U1": {"C1"}}),
			CheckAdmissionFn: func(_ context.Context, a *chat.Admission) error {
				if revoked.Load() {
					return confab.ErrInvalidAuth
				}
				return nil
			},
		})
		a := s.mustSSE(t, "U1")
		last := a.waitID()
		revoked.Store(true)
		s.bus.publish("T1.u.U1", confab.Publication{Op: confab.OpRevoke, Session: sessionOf("ticket-U1")})
		a.closed()
		for _, id := range []string{last, "1", "x.y.z", "0.gw.key-U1~1", strings.Repeat("9", 30) + ".gw.k"} {
			c := s.openSSE(t, "ticket-spent", http.Header{"Last-Event-ID": {id}})
			var body struct {
				OK    bool   `json:"ok"`
				Error string `json:"error"`
			}
			if c.resp.StatusCode != http.StatusUnauthorized || json.NewDecoder(c.resp.Body).Decode(&body) != nil || body.Error != "invalid_auth" {
				t.Errorf("Last-Event-ID %q: %s %+v, want 401 invalid_auth", id, c.resp.Status, body)
			}
		}
	})
}

// A stream's id is the watermark, never behind an id it sent; when a frame
// it wrote is past it, its next write is the id alone, caught up.
func TestStreamIDs(t *testing.T) {
	s := &stream{tail: "gw.key", floor: 3}
	frame := func(pos uint64) *wireFrame { return &wireFrame{pos: pos} }
	for _, step := range []struct {
		w      uint64
		batch  []*wireFrame
		want   string
		behind bool
	}{
		{1, []*wireFrame{frame(0)}, "id: 3.gw.key\n\n", false}, // hello: the floor
		{5, []*wireFrame{frame(4), frame(5)}, "id: 5.gw.key\n\n", false},
		{5, []*wireFrame{frame(0)}, "", false}, // a heartbeat: no news
		{6, []*wireFrame{frame(8), frame(7)}, "id: 6.gw.key\n\n", true},
		{9, nil, "id: 9.gw.key\n\n", false},    // the id alone, caught up
		{4, []*wireFrame{frame(0)}, "", false}, // never back
	} {
		got := string(s.idAfter(step.w, step.batch))
		if got != step.want || s.behind != step.behind {
			t.Fatalf("idAfter(%d, …) = %q behind %v, want %q behind %v", step.w, got, s.behind, step.want, step.behind)
		}
	}
}
