package rtmclient

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// message is the RTM event of message seq in C1.
func message(seq int) string {
	return fmt.Sprintf(`{"type":"message","channel":"C1","seq":%d,"ts":"1700000000.%06d","user":"U1","text":"m%d"}`, seq, seq, seq)
}

// gapServer sends, after hello, the frames a test pushes, and answers
// client.catchup for C1 from every message up to catchUpTo.
type gapServer struct {
	*httptest.Server
	frames    chan string
	catchUpTo int

	mu       sync.Mutex
	catchUps []map[string]int64 // guarded by mu: each client.catchup's checkpoints
}

func newGapServer(t *testing.T, catchUpTo int) *gapServer {
	g := &gapServer{frames: make(chan string, 16), catchUpTo: catchUpTo}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/rtm.connect", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"ok":true,"url":%q}`, "ws"+strings.TrimPrefix(g.URL, "http")+"/rtm/TICKET")
	})
	mux.HandleFunc("/api/client.catchup", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Checkpoints map[string]int64 `json:"checkpoints"`
		}
		json.NewDecoder(r.Body).Decode(&in)
		g.mu.Lock()
		g.catchUps = append(g.catchUps, in.Checkpoints)
		g.mu.Unlock()
		var events []string
		if cp, ok := in.Checkpoints["C1"]; ok {
			for seq := int(cp) + 1; seq <= g.catchUpTo; seq++ {
				events = append(events, message(seq))
			}
		}
		fmt.Fprintf(w, `{"ok":true,"channels":[{"channel":"C1","events":[%s],"has_more":false}]}`, strings.Join(events, ","))
	})
	up := websocket.Upgrader{}
	mux.HandleFunc("/rtm/", func(w http.ResponseWriter, r *http.Request) {
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer conn.Close()
		conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"hello"}`))
		for f := range g.frames {
			if conn.WriteMessage(websocket.TextMessage, []byte(f)) != nil {
				return
			}
		}
	})
	g.Server = httptest.NewServer(mux)
	t.Cleanup(func() {
		close(g.frames)
		g.Close()
	})
	return g
}

func (g *gapServer) catchUpCount() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.catchUps)
}

// runClient runs a client against url until the test ends and waits for
// its first hello.
func runClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	c := New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	select {
	case <-c.Connected():
	case <-time.After(10 * time.Second):
		t.Fatalf("not connected: %s", c.Stats().LastError)
	}
	return c
}

// waitCheckpoint waits until the client applied C1 up to seq.
func waitCheckpoint(t *testing.T, c *Client, seq int64) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for c.Checkpoint("C1") < seq {
		select {
		case <-deadline:
			t.Fatalf("checkpoint %d, want %d: %+v", c.Checkpoint("C1"), seq, c.Stats())
		case <-tick.C:
		}
	}
}

// Live events that arrive out of order within GapWait are put in order
// without a catch-up; a gap that outlives GapWait is caught up once.
func TestLiveEventsReorderedWithinGapWait(t *testing.T) {
	g := newGapServer(t, 6)
	c := runClient(t, Config{API: g.URL, Token: "xoxp-test", GapWait: time.Hour})
	for _, seq := range []int{1, 3, 2, 4} {
		g.frames <- message(seq)
	}
	waitCheckpoint(t, c, 4)
	if n := g.catchUpCount(); n != 1 {
		t.Fatalf("%d catch-ups, want only the one after hello (3 came before 2, within GapWait)", n)
	}
	if st := c.Stats(); st.Gaps != 0 || st.Reordered != 1 {
		t.Fatalf("stats %+v, want 0 gaps and 1 reordered event", st)
	}
	var texts []string
	for _, m := range c.Messages("C1") {
		texts = append(texts, m.Text)
	}
	if got := strings.Join(texts, " "); got != "m1 m2 m3 m4" {
		t.Fatalf("messages %q", got)
	}
}

func TestGapCaughtUpAfterGapWait(t *testing.T) {
	g := newGapServer(t, 6)
	c := runClient(t, Config{API: g.URL, Token: "xoxp-test", GapWait: 50 * time.Millisecond})
	g.frames <- message(1)
	g.frames <- message(3) // 2 never comes live
	waitCheckpoint(t, c, 6)
	if st := c.Stats(); st.Gaps != 1 {
		t.Fatalf("stats %+v, want 1 gap", st)
	}
	g.mu.Lock()
	last := g.catchUps[len(g.catchUps)-1]
	g.mu.Unlock()
	if len(last) != 1 || last["C1"] != 1 {
		t.Fatalf("the gap's catch-up asked for %v, want C1 from 1", last)
	}
	if n := len(c.Messages("C1")); n != 6 {
		t.Fatalf("%d messages, want 6", n)
	}
}
