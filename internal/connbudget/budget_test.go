package connbudget

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain runs the test binary as a server with a small open-file limit
// when CONNBUDGET_SERVE is set (see startServer): a process's descriptors
// are its own, so the limit cannot be tried on the test process, whose
// clients use descriptors too.
func TestMain(m *testing.M) {
	if mode := os.Getenv("CONNBUDGET_SERVE"); mode != "" {
		serve(mode)
		return
	}
	os.Exit(m.Run())
}

// serveLimit is the open-file limit of a server started by startServer.
const serveLimit = 64

// serve is the server process: it lowers its open-file limit to
// serveLimit, prints its address and serves GET /n (the budget's counters)
// and anything else with "ok" until stdin closes. mode "watermark" keeps
// the default reserve; "emfile" a reserve as large as the limit, so that
// only a failed accept closes idle connections.
func serve(mode string) {
	lim := syscall.Rlimit{Cur: serveLimit, Max: serveLimit}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		fmt.Println("setrlimit:", err)
		os.Exit(1)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("listen:", err)
		os.Exit(1)
	}
	cfg := Config{Reserve: 16, Shed: 8}
	if mode == "emfile" {
		cfg.Reserve = serveLimit
	}
	b := New(cfg)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/n" {
			fmt.Fprintf(w, "%d %d %d", b.Closed(), b.Exhausted(), b.Idle())
			return
		}
		io.WriteString(w, "ok")
	})}
	b.Attach(srv)
	l = b.Listener(l)
	fmt.Println(l.Addr())
	go srv.Serve(l)
	io.Copy(io.Discard, os.Stdin)
}

// startServer starts a server process (serve) and returns its address.
func startServer(t *testing.T, mode string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CONNBUDGET_SERVE="+mode)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimSpace(line)
	if _, _, err := net.SplitHostPort(addr); err != nil {
		t.Fatalf("server: %s", line)
	}
	return addr
}

// get asks addr for path through its own keep-alive client, which keeps
// the connection open afterwards, idle, unless the server answered
// "Connection: close" (closed).
func get(addr, path string) (c *http.Client, body string, closed bool, err error) {
	c = &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	resp, err := c.Get("http://" + addr + path)
	if err != nil {
		return c, "", false, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return c, string(b), resp.Close, err
}

// counters reads the server's closed, exhausted and idle counts.
func counters(t *testing.T, addr string) (closed, exhausted, idle int) {
	t.Helper()
	c, s, _, err := get(addr, "/n")
	if err != nil {
		t.Fatal(err)
	}
	c.CloseIdleConnections()
	if _, err := fmt.Sscan(s, &closed, &exhausted, &idle); err != nil {
		t.Fatalf("counters %q: %v", s, err)
	}
	return closed, exhausted, idle
}

// clientsBeyondTheLimit opens three times the server's open-file limit of
// keep-alive connections, one after the other, each left idle after its
// request, and fails the test if any request fails. It returns how many
// answers said "Connection: close".
func clientsBeyondTheLimit(t *testing.T, addr string) (closed int) {
	t.Helper()
	var clients []*http.Client
	defer func() {
		for _, c := range clients {
			c.CloseIdleConnections()
		}
	}()
	for i := range 3 * serveLimit {
		c, body, cl, err := get(addr, "/"+strconv.Itoa(i))
		clients = append(clients, c)
		if err != nil || body != "ok" {
			t.Fatalf("request %d of %d with %d connections idle: %q, %v", i+1, 3*serveLimit, i, body, err)
		}
		if cl {
			closed++
		}
	}
	return closed
}

// TestIdleClosedBeforeDescriptorsRunOut: with the default reserve, a
// server whose idle keep-alive connections would take every descriptor
// closes the longest idle once an accepted descriptor reaches the limit
// less the reserve, and never fails an accept. Without the budget the
// connection past the limit waits in the listen queue (net/http retries
// accept with a backoff while every descriptor stays held) and its request
// times out.
//
// Under pressure the server's answers also say "Connection: close", so
// that clients do not send a request on a connection it is closing. They
// keep their connection again once descriptors are no longer short.
func TestIdleClosedBeforeDescriptorsRunOut(t *testing.T) {
	addr := startServer(t, "watermark")
	answersClosed := clientsBeyondTheLimit(t, addr)
	closed, exhausted, idle := counters(t, addr)
	if closed+answersClosed < 2*serveLimit || exhausted != 0 {
		t.Errorf("closed %d idle connections, answered %d with Connection: close, found descriptors exhausted %d times; want at least %d closed in all and never exhausted",
			closed, answersClosed, exhausted, 2*serveLimit)
	}
	if answersClosed == 0 {
		t.Error("no answer said Connection: close under pressure")
	}
	if idle > serveLimit {
		t.Errorf("%d connections idle at once, past the limit of %d", idle, serveLimit)
	}
	// The clients are gone: after pressureHold, keep-alives are back.
	time.Sleep(pressureHold + 100*time.Millisecond)
	for i := range 2 {
		c, _, cl, err := get(addr, "/after")
		c.CloseIdleConnections()
		if err != nil || (i == 1 && cl) {
			t.Errorf("request %d after the pressure: Connection: close %v, error %v; want keep-alive", i+1, cl, err)
		}
	}
}

// TestIdleClosedWhenAcceptFails: when accept fails with EMFILE all the same
// (here, a reserve as large as the limit leaves only that way), the budget
// closes idle connections and accepts again at once.
func TestIdleClosedWhenAcceptFails(t *testing.T) {
	addr := startServer(t, "emfile")
	answersClosed := clientsBeyondTheLimit(t, addr)
	closed, exhausted, _ := counters(t, addr)
	if closed+answersClosed == 0 || exhausted == 0 {
		t.Errorf("closed %d idle connections and answered %d with Connection: close after %d failed accepts; want some closed after failed accepts",
			closed, answersClosed, exhausted)
	}
}

// TestLongestIdleClosedFirst: the connections closed are the longest idle,
// and a connection serving a request is never one of them.
func TestLongestIdleClosedFirst(t *testing.T) {
	b := New(Config{Limit: 1000})
	conns := make([]net.Conn, 4)
	peers := make([]net.Conn, 4)
	for i := range conns {
		conns[i], peers[i] = net.Pipe()
		defer peers[i].Close()
		b.ConnState(conns[i], http.StateNew)
		b.ConnState(conns[i], http.StateIdle)
	}
	b.ConnState(conns[1], http.StateActive) // serving a request
	b.ConnState(conns[0], http.StateActive)
	b.ConnState(conns[0], http.StateIdle) // idle again: now the most recent
	if n := b.closeIdle(1); n != 1 {
		t.Fatalf("closed %d, want 1", n)
	}
	if n := b.closeIdle(10); n != 2 {
		t.Fatalf("closed %d, want the 2 left idle", n)
	}
	open := func(c net.Conn) bool {
		c.SetWriteDeadline(time.Now().Add(10 * time.Millisecond))
		_, err := c.Write([]byte{0})
		return os.IsTimeout(err) // a pipe's write waits for a reader
	}
	if !open(conns[1]) {
		t.Error("the connection serving a request was closed")
	}
	for _, i := range []int{0, 2, 3} {
		if open(conns[i]) {
			t.Errorf("idle connection %d still open", i)
		}
	}
	if b.Closed() != 3 || b.Idle() != 0 {
		t.Errorf("Closed %d, Idle %d; want 3, 0", b.Closed(), b.Idle())
	}
	// The order: conns[2] first (idle longest), conns[3], then conns[0].
	b2 := New(Config{Limit: 1000})
	a, pa := net.Pipe()
	c, pc := net.Pipe()
	defer pa.Close()
	defer pc.Close()
	b2.ConnState(a, http.StateIdle)
	b2.ConnState(c, http.StateIdle)
	b2.ConnState(a, http.StateActive)
	b2.ConnState(a, http.StateIdle)
	b2.closeIdle(1)
	if open(c) || !open(a) {
		t.Error("closed the connection idle more recently, not the longest idle")
	}
	b2.ConnState(a, http.StateClosed)
	if b2.Idle() != 0 {
		t.Errorf("a closed connection is still counted idle")
	}
}

// TestSilentConnectionsClosed: connections that never send a request (a
// client's HTTP pool dialed them for requests that other connections
// served) are closed once freshAge old when descriptors are short, so
// that they cannot hold the server's last descriptors until a timeout.
func TestSilentConnectionsClosed(t *testing.T) {
	addr := startServer(t, "watermark")
	var silent []net.Conn
	defer func() {
		for _, c := range silent {
			c.Close()
		}
	}()
	for range serveLimit + 16 { // more than the server can hold
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		silent = append(silent, c)
	}
	time.Sleep(freshAge + 200*time.Millisecond)
	for i := range 3 {
		c := &http.Client{Timeout: 2*freshAge + 2*time.Second}
		resp, err := c.Get("http://" + addr + "/after")
		if err != nil {
			t.Fatalf("request %d with %d silent connections open: %v", i+1, len(silent), err)
		}
		resp.Body.Close()
		c.CloseIdleConnections()
	}
	if closed, _, _ := counters(t, addr); closed == 0 {
		t.Error("no silent connection was closed")
	}
}

// TestPressureClosesOnlyTheLongestIdle: under pressure the budget closes
// the longest idle connections, Shed at a time, and no others: a client
// whose connection was left open goes on using it. (Turning the server's
// keep-alives off with SetKeepAlivesEnabled closes every idle connection
// at once: in a reconnect storm thousands of clients then found their
// pooled connection closed, and dialed again, while descriptors were short.)
func TestPressureClosesOnlyTheLongestIdle(t *testing.T) {
	addr := startServer(t, "watermark")
	var clients []*http.Client
	defer func() {
		for _, c := range clients {
			c.CloseIdleConnections()
		}
	}()
	const early = 20 // each leaves a connection idle, the first the longest
	for i := range early {
		c, body, closed, err := get(addr, "/early")
		clients = append(clients, c)
		if err != nil || body != "ok" || closed {
			t.Fatalf("request %d: %q, Connection: close %v, %v; want ok on a kept connection", i+1, body, closed, err)
		}
	}
	// More clients until an answer says Connection: close: an accepted
	// descriptor reached the mark, and the budget closed Shed (8) of the
	// longest idle.
	for i := 0; ; i++ {
		if i == serveLimit {
			t.Fatal("no answer said Connection: close")
		}
		c, body, closed, err := get(addr, "/more")
		clients = append(clients, c)
		if err != nil || body != "ok" {
			t.Fatalf("request %d past the first: %q, %v", i+1, body, err)
		}
		if closed {
			break
		}
	}
	reused := 0
	for _, c := range clients[early/2 : early] {
		var r bool
		trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { r = i.Reused }}
		req, err := http.NewRequestWithContext(httptrace.WithClientTrace(t.Context(), trace), "GET", "http://"+addr+"/again", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if r {
			reused++
		}
	}
	if reused != early/2 {
		t.Errorf("%d of the %d clients idle the shortest reused their connection under pressure; want all", reused, early/2)
	}
}
