package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
)

// A client that never reads is disconnected once its bounded queue is
// full, while the others keep receiving every message.
func TestSlowConsumerIsDisconnected(t *testing.T) {
	m := MustRunMain(t, func(m *Main) { m.Config.SendQueueBytes = 64 << 10 })
	alice := signup(t, m, "acme", "alice")
	bob := signup(t, m, "acme", "bob")
	sloth := signup(t, m, "acme", "sloth")
	ch := alice.createChannel("plaza", false)
	bob.must("conversations.join", obj{"channel": ch})
	sloth.must("conversations.join", obj{"channel": ch})

	fast := bob.connect()
	// The slow client dials, reads hello, then never reads again, with a
	// small receive buffer so the kernel does not absorb much.
	url := sloth.must("rtm.connect", nil)["url"].(string)
	dialer := *websocket.DefaultDialer
	dialer.NetDial = func(network, addr string) (net.Conn, error) {
		c, err := net.Dial(network, addr)
		if err == nil {
			c.(*net.TCPConn).SetReadBuffer(4096)
		}
		return c, err
	}
	slow, _, err := dialer.Dial(url, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer slow.Close()
	if _, hello, err := slow.ReadMessage(); err != nil || !strings.Contains(string(hello), "hello") {
		t.Fatalf("hello: %q %v", hello, err)
	}

	big := strings.Repeat("x", 30000)
	posted := 0
	for posted < 400 && slowDisconnects(t, m) == 0 {
		alice.post(ch, fmt.Sprintf("%d %s", posted, big))
		posted++
	}
	if slowDisconnects(t, m) != 1 {
		t.Fatalf("no slow-consumer disconnect after %d messages of 30 KB", posted)
	}
	for i := 0; i < posted; i++ {
		prefix := fmt.Sprintf("%d ", i)
		fast.next(func(f obj) bool { return f["type"] == "message" && strings.HasPrefix(f["text"].(string), prefix) })
	}
	// The slow connection was closed by the server: reading what is left
	// ends in an error, not a hang.
	for {
		if _, _, err := slow.ReadMessage(); err != nil {
			break
		}
	}
}

var slowMetric = regexp.MustCompile(`(?m)^confab_gateway_slow_consumer_disconnects_total (\d+)`)

func slowDisconnects(t *testing.T, m *Main) int {
	t.Helper()
	resp, err := http.Get(m.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	match := slowMetric.FindSubmatch(body)
	if match == nil {
		t.Fatalf("metric confab_gateway_slow_consumer_disconnects_total missing from /metrics")
	}
	n, _ := strconv.Atoi(string(match[1]))
	return n
}
