package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// pollConn is a fanout subscriber's long-poll (rtm.connect's poll_url, see
// docs/api.md "RTM over long-polling"), read through a frameConn: next
// hands out the events of one answer after another, and when they are all
// out it sends the next poll — a POST of its own on a connection of its
// own, written and read by hand as dialSSE's GET is (the gateway answers
// one poll per connection) — with the key of the last answer and its
// checkpoints. As a client must, it drops a (channel, seq) it was given
// already (an answer's catch-up and its live events may overlap), and its
// checkpoint in a channel is the seq up to which it has every one (a
// fanout channel's seqs follow one another), so that an event published
// out of order is caught up rather than skipped.
type pollConn struct {
	dial   func(ctx context.Context, network, addr string) (net.Conn, error)
	host   string // the gateway's host:port
	path   string // the next poll's: the first's names the ticket
	key    string
	seqs   map[string]int64              // the checkpoints
	ahead  map[string]map[int64]struct{} // seqs given past the checkpoint
	events []json.RawMessage
	br     *bufio.Reader // reused across polls

	mu     sync.Mutex
	tcp    net.Conn // the poll in flight, for close
	closed bool
}

// pollHold is how long (s) the gateway may hold a poll.
const pollHold = 25

// errStreamClosed is the end of a poll stream: its close event, or close.
var errStreamClosed = errors.New("poll stream closed")

// dialPoll starts the long-poll at pollURL (http://, from rtm.connect's
// poll_url) with dial and returns it once hello has arrived and the
// catch-up of the user's channels from their start is over (polls with
// timeout 0 until one brings nothing), so that its later polls carry only
// what is new.
func dialPoll(ctx context.Context, dial func(ctx context.Context, network, addr string) (net.Conn, error), pollURL string) (*frameConn, error) {
	u, err := url.Parse(pollURL)
	if err != nil || u.Scheme != "http" {
		return nil, fmt.Errorf("poll URL %q: want http://", pollURL)
	}
	p := &pollConn{dial: dial, host: u.Host, path: u.RequestURI(), seqs: map[string]int64{}, ahead: map[string]map[int64]struct{}{}}
	c := &frameConn{at: time.Now(), poll: p}
	if err := p.do(ctx, c, 0); err != nil {
		return nil, fmt.Errorf("first poll: %w", err)
	}
	if len(p.events) == 0 {
		return nil, errors.New("first poll: no hello")
	}
	if err := checkHello(p.events[0]); err != nil {
		return nil, err
	}
	for polls := 0; len(p.events) > 0; polls++ {
		if polls == 100 {
			return nil, errors.New("still catching up after 100 polls")
		}
		p.events = p.events[:0]
		if err := p.do(ctx, c, 0); err != nil {
			return nil, fmt.Errorf("catching up: %w", err)
		}
	}
	// The channels' past may have holes (a catch-up's are not gaps): the
	// checkpoints start from the highest seq given.
	for ch, ahead := range p.ahead {
		for seq := range ahead {
			p.seqs[ch] = max(p.seqs[ch], seq)
		}
		delete(p.ahead, ch)
	}
	return c, nil
}

// nextPolled is frameConn.next of a poll stream.
func (c *frameConn) nextPolled() ([]byte, error) {
	p := c.poll
	for len(p.events) == 0 {
		if err := p.do(context.Background(), c, pollHold); err != nil {
			return nil, err
		}
	}
	ev := p.events[0]
	p.events = p.events[1:]
	if bytes.HasPrefix(ev, []byte(`{"type":"close"`)) {
		return nil, errStreamClosed
	}
	return ev, nil
}

// do sends one poll, held up to timeout seconds, and keeps its answer's
// key and events; c.at is when the answer had arrived.
func (p *pollConn) do(ctx context.Context, c *frameConn, timeout int) error {
	cps, _ := json.Marshal(p.seqs)
	form := url.Values{"checkpoints": {string(cps)}, "timeout": {strconv.Itoa(timeout)}}
	if p.key != "" {
		form.Set("key", p.key)
	}
	body := form.Encode()
	nc, err := p.dial(ctx, "tcp", p.host)
	if err != nil {
		return fmt.Errorf("dial gateway: %w", err)
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		nc.Close()
		return errStreamClosed
	}
	p.tcp = nc
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.tcp = nil
		p.mu.Unlock()
		nc.Close()
	}()
	nc.SetDeadline(time.Now().Add(time.Duration(timeout)*time.Second + 15*time.Second))
	if _, err := fmt.Fprintf(nc, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n%s",
		p.path, p.host, len(body), body); err != nil {
		return err
	}
	if p.br == nil {
		p.br = bufio.NewReaderSize(nc, frameBuffer)
	} else {
		p.br.Reset(nc)
	}
	resp, err := http.ReadResponse(p.br, nil)
	if err != nil {
		return err
	}
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	c.at = time.Now()
	var a struct {
		OK     bool              `json:"ok"`
		Error  string            `json:"error"`
		Key    string            `json:"key"`
		Events []json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(raw, &a); err != nil || !a.OK {
		return fmt.Errorf("poll: %s %.200s", resp.Status, bytes.TrimSpace(raw))
	}
	p.key, p.events = a.Key, a.Events[:0]
	for _, ev := range a.Events {
		if p.fresh(ev) {
			p.events = append(p.events, ev)
		}
	}
	if i := strings.LastIndex(p.path, "/rtm/poll/"); i >= 0 {
		p.path = p.path[:i] + "/rtm/poll"
	}
	return nil
}

// fresh reports whether ev was not given before, and records it: the
// next poll's checkpoints.
func (p *pollConn) fresh(ev json.RawMessage) bool {
	var e struct {
		Channel string `json:"channel"`
		Seq     int64  `json:"seq"`
	}
	if json.Unmarshal(ev, &e) != nil || e.Channel == "" || e.Seq == 0 {
		return true
	}
	cp, ok := p.seqs[e.Channel]
	if !ok { // the first of the channel: the catch-up from its start begins here
		cp = e.Seq - 1
	}
	ahead := p.ahead[e.Channel]
	if _, seen := ahead[e.Seq]; seen || e.Seq <= cp {
		return false
	}
	if ahead == nil {
		ahead = map[int64]struct{}{}
		p.ahead[e.Channel] = ahead
	}
	ahead[e.Seq] = struct{}{}
	for {
		if _, ok := ahead[cp+1]; !ok {
			break
		}
		cp++
		delete(ahead, cp)
	}
	p.seqs[e.Channel] = cp
	return true
}

// close ends the stream: the poll in flight fails, and no other starts.
func (p *pollConn) close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	if p.tcp != nil {
		p.tcp.Close()
	}
	return nil
}

// processCPU returns the CPU time (user and system) the process pid has
// used, from /proc/<pid>/stat; false where that cannot be read.
func processCPU(pid int) (time.Duration, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// The command may hold spaces and parentheses: the fields start after
	// the last ')'. utime and stime are fields 14 and 15, in clock ticks
	// (USER_HZ, 100 on Linux).
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(ut+st) * (time.Second / 100), true
}
