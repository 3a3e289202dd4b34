package bench

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	timerate "golang.org/x/time/rate"

	webapi "github.com/confab/confab/api"
	"github.com/confab/confab/chat"
	"github.com/confab/confab/gateway"
	"github.com/confab/confab/pubsub/memory"
	"github.com/confab/confab/store/sqlite"
)

// workerArg makes the test binary a bench worker: a spread run in a test
// starts os.Args[0] workerArg as its workers (Config.WorkerCommand).
const workerArg = "confab-bench-worker"

func TestMain(m *testing.M) {
	if slices.Contains(os.Args[1:], workerArg) {
		if err := Worker(context.Background(), os.Stdin, os.Stdout); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// testServer is a confab in this process (SQLite, in-process bus, Web API
// and gateway on one listener, as "confab serve" wires them), reached
// through a proxy that records where connections come from and can cut
// them.
type testServer struct {
	URL   string // the proxy's
	proxy *dropProxy
	// Direct is the server's own URL, without the proxy (whose buffers
	// would hide a client that stops reading); it also serves /metrics.
	Direct string
}

// mustServe starts a testServer; it stops at the end of the test.
func mustServe(t *testing.T) *testServer { return mustServeTuned(t, nil) }

// mustServeTuned is mustServe with the gateway's configuration changed by
// tune (when not nil).
func mustServeTuned(t *testing.T, tune func(*gateway.Config)) *testServer {
	t.Helper()
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	db, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(t.TempDir(), "confab.db"), Sync: "normal", Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	broker := memory.NewBroker()
	bus := broker.Open(memory.Config{Logger: log})
	svc := chat.New(chat.Config{Store: db, Bus: bus, Logger: log, PasswordCost: 4, Access: chat.ExactAccess()})
	reg := prometheus.NewRegistry()
	gcfg := gateway.Config{Chat: svc, Logger: log, Registerer: reg, OpenBus: func(h func(topic string, payload []byte)) (gateway.Bus, error) {
		return broker.Open(memory.Config{Handler: h, Logger: log}), nil
	}}
	if tune != nil {
		tune(&gcfg)
	}
	gw, err := gateway.New(gcfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/api/", webapi.New(webapi.Config{Chat: svc, Logger: log, RateLimit: timerate.Inf, AuthRateLimit: timerate.Inf}))
	mux.Handle("/rtm/", gw)
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	proxy, err := startDropProxy(ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		proxy.close()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("http shutdown: %v", err)
		}
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
		gw.Shutdown(ctx)
		svc.Close()
		bus.Close()
		if err := db.Close(); err != nil {
			t.Errorf("store close: %v", err)
		}
	})
	return &testServer{URL: "http://" + proxy.ln.Addr().String(), proxy: proxy, Direct: "http://" + ln.Addr().String()}
}

// dropProxy relays TCP connections to a server, counts them by the
// client's IP and can cut them, as a killed server or a broken network
// would: both the client and the server see their connection end. (The
// server itself cannot be made to drop them from outside: the gateway
// detaches its sockets from the net.Conn it accepted.)
type dropProxy struct {
	ln       net.Listener
	target   string
	wg       sync.WaitGroup
	mu       sync.Mutex
	bySource map[string]int          // guarded by mu
	pairs    map[*proxyPair]struct{} // guarded by mu
}

type proxyPair struct {
	src        string // the client's IP
	client, up net.Conn
	once       sync.Once
}

func (p *proxyPair) close() {
	p.once.Do(func() {
		p.client.Close()
		p.up.Close()
	})
}

func startDropProxy(target string) (*dropProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &dropProxy{ln: ln, target: target, bySource: map[string]int{}, pairs: map[*proxyPair]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

func (p *dropProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		pair := &proxyPair{src: c.RemoteAddr().(*net.TCPAddr).IP.String(), client: c, up: up}
		p.mu.Lock()
		p.bySource[pair.src]++
		p.pairs[pair] = struct{}{}
		p.mu.Unlock()
		relay := func(dst, src net.Conn) {
			defer p.wg.Done()
			io.Copy(dst, src)
			pair.close()
			p.mu.Lock()
			delete(p.pairs, pair)
			p.mu.Unlock()
		}
		p.wg.Add(2)
		go relay(up, c)
		go relay(c, up)
	}
}

// sources returns the count of accepted connections per client IP.
func (p *dropProxy) sources() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]int{}
	for ip, n := range p.bySource {
		out[ip] = n
	}
	return out
}

// cut ends every relayed connection whose client IP matches and returns
// how many it ended.
func (p *dropProxy) cut(match func(ip string) bool) int {
	p.mu.Lock()
	var cut []*proxyPair
	for pair := range p.pairs {
		if match(pair.src) {
			cut = append(cut, pair)
		}
	}
	p.mu.Unlock()
	for _, pair := range cut {
		pair.close()
	}
	return len(cut)
}

// close stops accepting, cuts every connection and waits for the relays.
func (p *dropProxy) close() {
	p.ln.Close()
	p.cut(func(string) bool { return true })
	p.wg.Wait()
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// logRecorder is a slog handler that keeps the records' messages and
// attributes, passes them on to next and signals when a record with a
// given message arrives.
type logRecorder struct {
	next    slog.Handler
	mu      sync.Mutex
	records []map[string]string // guarded by mu; "msg" is the message
	waitMsg string
	seen    chan struct{} // closed at the first record with waitMsg
	once    sync.Once
}

func newLogRecorder(next slog.Handler, waitMsg string) *logRecorder {
	return &logRecorder{next: next, waitMsg: waitMsg, seen: make(chan struct{})}
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *logRecorder) WithGroup(string) slog.Handler            { return h }

func (h *logRecorder) Handle(ctx context.Context, r slog.Record) error {
	rec := map[string]string{"msg": r.Message}
	r.Attrs(func(a slog.Attr) bool {
		rec[a.Key] = a.Value.String()
		return true
	})
	h.mu.Lock()
	h.records = append(h.records, rec)
	h.mu.Unlock()
	if r.Message == h.waitMsg {
		h.once.Do(func() { close(h.seen) })
	}
	return h.next.Handle(ctx, r)
}

// with returns the attribute key of every record with message msg.
func (h *logRecorder) with(msg, key string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, r := range h.records {
		if r["msg"] == msg {
			out = append(out, r[key])
		}
	}
	return out
}

// TestBenchStormSpread runs storm with its clients spread over two worker
// processes (this test binary, see TestMain) against a server in this
// process: every client must come back with every acknowledged post once,
// and the clients must have dialed from the two workers' source addresses.
// In "wait" mode the test cuts the workers' connections, as a killed
// gateway would, once the bench waits for it; in "wait-one" only the
// second worker's, as a killed gateway of a cluster drops only its own
// clients: the run must end without waiting for the others, and count
// recovery over the dropped ones and losses over all.
func TestBenchStormSpread(t *testing.T) {
	const clients, procs = 300, 2
	workers := map[string]bool{"127.0.0.2": true, "127.0.0.3": true}
	for _, tt := range []struct {
		name        string
		cut         func(ip string) bool // nil: the bench drops
		wantDropped int
	}{
		{"drop", nil, clients},
		{"wait", func(ip string) bool { return workers[ip] }, clients},
		{"wait-one", func(ip string) bool { return ip == "127.0.0.3" }, clients / procs},
	} {
		wait := tt.cut != nil
		t.Run(tt.name, func(t *testing.T) {
			srv := mustServe(t)
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			logs := newLogRecorder(slog.NewTextHandler(testWriter{t}, nil), "waiting for the connections to drop")
			cfg := Config{
				Scenario: "storm", URL: srv.URL, Clients: clients, Users: 20, Procs: procs,
				Rate: 20, DropAfter: 300 * time.Millisecond, SettleAfter: 300 * time.Millisecond,
				WaitForDrop: wait, Timeout: 80 * time.Second,
				WorkerCommand: []string{os.Args[0], workerArg}, WorkerStderr: testWriter{t},
				Log: slog.New(logs),
			}
			dropped := make(chan int, 1)
			if wait {
				go func() {
					select {
					case <-logs.seen:
						n := srv.proxy.cut(tt.cut)
						t.Logf("the server side closed %d connections of the workers", n)
						dropped <- n
					case <-ctx.Done():
					}
				}()
			}
			rep, err := Run(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			s := rep.Storm
			if !rep.OK() || s == nil {
				t.Fatalf("report problems %v, storm %+v", rep.Problems, s)
			}
			mode := map[bool]string{false: "drop", true: "wait"}[wait]
			if s.Mode != mode || s.Clients != clients || s.Dropped != tt.wantDropped || s.Posted == 0 || s.Lost != 0 || s.Duplicated != 0 || s.NotRecovered != 0 ||
				s.Reconnect.Count != tt.wantDropped || s.RecoverSeconds <= 0 || s.SettleSeconds < s.RecoverSeconds || s.CatchUps < int64(clients+tt.wantDropped) {
				t.Fatalf("storm = %+v, want %d of %d clients dropped and back, nothing lost or shown twice, a catch-up per connection", s, tt.wantDropped, clients)
			}
			// Every dropped client's session ended once, at the drop; the
			// ends are counted by why, with what varies cut out.
			ends := 0
			for kind, n := range s.SessionEnds {
				ends += n
				if strings.Contains(kind, "/rtm/") && !strings.Contains(kind, "/rtm/…") {
					t.Errorf("session end kind %q keeps its ticket", kind)
				}
			}
			if ends < tt.wantDropped {
				t.Errorf("session ends %v: %d in all, want at least the %d dropped", s.SessionEnds, ends, tt.wantDropped)
			}
			if gw := "ws" + strings.TrimPrefix(srv.URL, "http") + "/"; len(s.DroppedFrom) != 1 || s.DroppedFrom[gw] != tt.wantDropped {
				t.Errorf("dropped from %v, want %d from %s", s.DroppedFrom, tt.wantDropped, gw)
			}
			if s.Reconnect.P50Ms <= 0 || s.Reconnect.P50Ms > s.Reconnect.P99Ms || s.Reconnect.P99Ms > s.Reconnect.MaxMs {
				t.Errorf("reconnect latency = %+v, want 0 < p50 ≤ p99 ≤ max", s.Reconnect)
			}
			if wait {
				select {
				case n := <-dropped:
					if n < tt.wantDropped {
						t.Errorf("the test dropped %d connections, want ≥ %d", n, tt.wantDropped)
					}
				default:
					t.Errorf("the run ended without waiting for the drop")
				}
			}

			// Two worker processes, neither of them this one, each from its
			// own source address; every client connected before the drop and
			// every dropped one after it, from one of them.
			pids := logs.with("worker started", "pid")
			if len(pids) != procs || pids[0] == pids[1] || slices.Contains(pids, strconv.Itoa(os.Getpid())) {
				t.Errorf("worker pids %v, want %d distinct child processes", pids, procs)
			}
			got := srv.proxy.sources()
			total := 0
			for ip := range workers {
				// Half the clients each: a WebSocket before the drop, one
				// after if dropped, and at least one HTTP connection.
				want := clients/procs + 1
				if tt.cut == nil || tt.cut(ip) {
					want += clients / procs
				}
				if got[ip] < want {
					t.Errorf("%d connections from %s, want ≥ %d", got[ip], ip, want)
				}
				total += got[ip]
			}
			for ip, n := range got {
				if !workers[ip] && ip != "127.0.0.1" {
					t.Errorf("%d connections from %s, want none", n, ip)
				}
			}
			if got["127.0.0.1"] >= total {
				t.Errorf("connections by source %v: most came from the bench process", got)
			}
		})
	}
}
