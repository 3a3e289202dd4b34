package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestBenchPercentile(t *testing.T) {
	ten := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	thousand := make([]time.Duration, 1000)
	for i := range thousand {
		thousand[i] = time.Duration(i + 1)
	}
	tests := []struct {
		sorted []time.Duration
		q      float64
		want   time.Duration
	}{
		{nil, 0.5, 0},
		{[]time.Duration{7}, 0, 7},
		{[]time.Duration{7}, 0.5, 7},
		{[]time.Duration{7}, 1, 7},
		{ten, 0, 1},
		{ten, 0.1, 1},
		{ten, 0.11, 2},
		{ten, 0.5, 5},
		{ten, 0.51, 6},
		{ten, 0.99, 10},
		{ten, 1, 10},
		{thousand, 0.5, 500},
		{thousand, 0.99, 990},
		{thousand, 0.999, 999},
		{thousand, 1, 1000},
	}
	for _, tt := range tests {
		if got := Percentile(tt.sorted, tt.q); got != tt.want {
			t.Errorf("Percentile(%d samples, %v) = %v, want %v", len(tt.sorted), tt.q, got, tt.want)
		}
	}
}

func TestBenchSummarize(t *testing.T) {
	ds := []time.Duration{4 * time.Millisecond, 1 * time.Millisecond, 3 * time.Millisecond, 2 * time.Millisecond}
	got := Summarize(ds)
	want := Latency{Count: 4, MeanMs: 2.5, P50Ms: 2, P99Ms: 4, P999Ms: 4, MaxMs: 4}
	if got != want {
		t.Errorf("Summarize = %+v, want %+v", got, want)
	}
	if got := Summarize(nil); got != (Latency{}) {
		t.Errorf("Summarize(nil) = %+v, want zero", got)
	}
}

func TestBenchParseMetrics(t *testing.T) {
	text := `# HELP go_goroutines Number of goroutines.
# TYPE go_goroutines gauge
go_goroutines 42
process_resident_memory_bytes 1.2345e+07
confab_gateway_connections{shard="0"} 3
confab_gateway_connections{shard="1",x="a}b"} 4 1700000000000
broken{ 5
not_a_number NaNx
`
	got, err := parseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]float64{"go_goroutines": 42, "process_resident_memory_bytes": 12345000, "confab_gateway_connections": 7} {
		if got[name] != want {
			t.Errorf("parseMetrics()[%q] = %v, want %v", name, got[name], want)
		}
	}
	if _, ok := got["not_a_number"]; ok {
		t.Errorf("parseMetrics kept a malformed sample: %v", got)
	}
}

func TestBenchParseFanout(t *testing.T) {
	tests := []struct {
		frame     string
		index, ns int64
		ok        bool
	}{
		{`{"type":"message","channel":"C1","text":"fo 12 1700000000123456789","seq":3}`, 12, 1700000000123456789, true},
		{`{"type":"message","text":"fo 0 5"}`, 0, 5, true},
		{`{"type":"message","text":"fo 12"}`, 0, 0, false},
		{`{"type":"message","text":"fo x 5"}`, 0, 0, false},
		{`{"type":"message","text":"fo  5"}`, 0, 0, false},
		{`{"type":"message","text":"fo 1 99999999999999999999999"}`, 0, 0, false},
		{`{"type":"hello"}`, 0, 0, false},
		{`{"type":"message","text":"fo 3 4`, 0, 0, false},
	}
	for _, tt := range tests {
		i, ns, ok := parseFanout([]byte(tt.frame))
		if i != tt.index || ns != tt.ns || ok != tt.ok {
			t.Errorf("parseFanout(%q) = %d, %d, %v, want %d, %d, %v", tt.frame, i, ns, ok, tt.index, tt.ns, tt.ok)
		}
	}
}

func TestBenchForEach(t *testing.T) {
	var calls, running, peak atomic.Int64
	err := forEach(context.Background(), 100, 4, func(ctx context.Context, i int) error {
		n := running.Add(1)
		defer running.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		calls.Add(1)
		return nil
	})
	if err != nil || calls.Load() != 100 || peak.Load() > 4 {
		t.Errorf("forEach = %v after %d calls, peak %d, want nil, 100 calls, peak ≤ 4", err, calls.Load(), peak.Load())
	}

	boom := errors.New("boom")
	calls.Store(0)
	err = forEach(context.Background(), 1000, 2, func(ctx context.Context, i int) error {
		calls.Add(1)
		if i == 3 {
			return boom
		}
		if i > 3 {
			// Wait for the failure to cancel: a worker descheduled
			// between taking 3 and failing it must not let the other
			// run through the rest meanwhile (a loaded machine did).
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
		return nil
	})
	if !errors.Is(err, boom) || calls.Load() >= 1000 {
		t.Errorf("forEach with a failing call = %v after %d calls, want boom and an early stop", err, calls.Load())
	}
}

func TestBenchConfigValidate(t *testing.T) {
	tests := []struct {
		cfg  Config
		want string // substring of the error; "" for none
	}{
		{Config{Scenario: "send", URL: "http://127.0.0.1:8080"}, ""},
		{Config{Scenario: "send", URL: "127.0.0.1:8080"}, "url"},
		{Config{Scenario: "idle", URL: "http://x", Clients: MaxConnections + 1}, ""}, // spread over 2 workers
		{Config{Scenario: "idle", URL: "http://x", Clients: MaxConnections + 1, Procs: 1}, "-procs"},
		{Config{Scenario: "fanout", URL: "http://x", Clients: 3 * MaxConnections, Procs: 2}, "-procs"},
		{Config{Scenario: "send", URL: "http://x", Procs: 2}, "only idle and fanout"},
		{Config{Scenario: "storm", URL: "http://x", Clients: MaxStormClients + 1}, "-procs 2"},
		{Config{Scenario: "storm", URL: "http://x", Clients: MaxStormClients + 1, Procs: 2}, ""},
		{Config{Scenario: "storm", URL: "http://x", Clients: 19000, Procs: 3}, ""},
		{Config{Scenario: "storm", URL: "http://x", Clients: 2*MaxStormClients + 1, Procs: 2}, "-procs 3"},
		{Config{Scenario: "idle", URL: "http://x", Procs: MaxProcs + 1}, "at most"},
		{Config{Scenario: "fanout", URL: "http://x", Clients: 10, Users: 11}, "users"},
		{Config{Scenario: "fanout", URL: "http://x", Clients: 10000, Users: 10000, Channels: 1000, UserChannels: 10}, ""},
		{Config{Scenario: "fanout", URL: "http://x", Clients: 10, Channels: 4, UserChannels: 5}, "user channels 5: more than channels 4"},
		{Config{Scenario: "fanout", URL: "http://x", Clients: 10, Users: 2, Channels: 5, UserChannels: 2}, "no member"},
		{Config{Scenario: "history", URL: "http://x", PageSize: 1001}, "1000"},
		{Config{Scenario: "history", URL: "http://x", Depth: 10, PageSize: 50}, "depth"},
	}
	for _, tt := range tests {
		err := tt.cfg.withDefaults().validate()
		if (err == nil) != (tt.want == "") || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("validate(%+v) = %v, want %q", tt.cfg, err, tt.want)
		}
	}
	if _, err := Run(context.Background(), Config{Scenario: "tornado", URL: "http://127.0.0.1:1"}); err == nil || !strings.Contains(err.Error(), "unknown scenario") {
		t.Errorf("Run(tornado) = %v, want unknown scenario", err)
	}
}

func TestBenchReportOutput(t *testing.T) {
	rep := &Report{Scenario: "fanout", URL: "http://127.0.0.1:8080", Team: "bench-x",
		Fanout: &FanoutResult{Subscribers: 10, Posted: 5, Expected: 50, Deliveries: 49, Missing: 1, Latency: Latency{Count: 49, P50Ms: 1.5, P99Ms: 3, MaxMs: 4}}}
	rep.problem("%d of %d deliveries missing", 1, 50)

	var table bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"scenario      fanout", "missing       1", "p50 1.50ms", "FAIL          1 of 50 deliveries missing"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}

	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatalf("JSON %s does not decode: %v", js.String(), err)
	}
	if back.Fanout == nil || back.Fanout.Missing != 1 || back.Fanout.Latency.P50Ms != 1.5 || back.OK() || back.Send != nil {
		t.Errorf("JSON round trip = %+v (fanout %+v)", back, back.Fanout)
	}
}

func TestBenchHistogram(t *testing.T) {
	var a, b Histogram
	for i := 1; i <= 500; i++ {
		a.Add(time.Duration(i) * time.Millisecond)
	}
	for i := 501; i <= 1000; i++ {
		b.Add(time.Duration(i) * time.Millisecond)
	}
	a.Merge(b)
	// Through JSON, as workers send it.
	js, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	var h Histogram
	if err := json.Unmarshal(js, &h); err != nil {
		t.Fatal(err)
	}
	got := h.Summary()
	within := func(name string, got, want float64) {
		if got < want || got > want*1.01 {
			t.Errorf("%s = %v, want %v to %v", name, got, want, want*1.01)
		}
	}
	if got.Count != 1000 || got.MaxMs != 1000 || got.MeanMs != 500.5 {
		t.Errorf("summary = %+v, want count 1000, max 1000, mean 500.5", got)
	}
	within("p50", got.P50Ms, 500)
	within("p99", got.P99Ms, 990)
	within("p99.9", got.P999Ms, 999)
	if got.P999Ms > got.MaxMs {
		t.Errorf("p99.9 %v above max %v", got.P999Ms, got.MaxMs)
	}
	var empty Histogram
	if empty.Summary() != (Latency{}) {
		t.Errorf("empty summary = %+v", empty.Summary())
	}
	var tiny Histogram
	tiny.Add(0)
	if s := tiny.Summary(); s.Count != 1 || s.P50Ms != 0 {
		t.Errorf("summary of one 0 = %+v", s)
	}
}

// TestBenchWorkerProtocol drives Worker through its stdin and stdout: a
// job it cannot carry out is answered with an error line, and a parent
// that goes away before finish ends it.
func TestBenchWorkerProtocol(t *testing.T) {
	tests := []struct {
		in   string
		open bool // stdin stays open after the job
		want string
	}{
		{"not json", false, "reading the job"},
		{`{"kind":"idle","url":"http://127.0.0.1:1","tokens":["t"],"clients":1,"parallel":1}`, true, "connection 0"},
		{`{"kind":"warp","url":"http://127.0.0.1:1","tokens":["t"],"clients":1,"parallel":1}`, true, "unknown kind"},
		{`{"kind":"idle","url":"http://127.0.0.1:1","source":"nowhere","tokens":["t"],"clients":1,"parallel":1}`, true, "not an IP"},
		{`{"kind":"idle","url":"http://127.0.0.1:1","tokens":[],"clients":0,"parallel":1}`, true, "no tokens"},
		// No connections to open; the parent's stdin ends before finish.
		{`{"kind":"idle","url":"http://127.0.0.1:1","tokens":["t"],"clients":0,"parallel":1}`, false, "parent went away"},
		{`{"kind":"storm","url":"http://127.0.0.1:1","source":"nowhere","tokens":["t"],"clients":1,"parallel":1}`, true, "not an IP"},
		{`{"kind":"storm","url":"http://127.0.0.1:1","tokens":[],"clients":1,"parallel":1}`, true, "no tokens"},
		{`{"kind":"storm","url":"http://127.0.0.1:1","tokens":["t"],"clients":0,"parallel":1}`, false, "parent went away"},
		{`{"kind":"storm","url":"http://127.0.0.1:1","tokens":["t"],"clients":0,"parallel":1}{"finish":{}}`, true, "want drop"},
	}
	for _, tt := range tests {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		var in io.Reader = strings.NewReader(tt.in)
		pr, pw := io.Pipe()
		if tt.open {
			in = io.MultiReader(in, pr)
		}
		var out bytes.Buffer
		err := Worker(ctx, in, &out)
		cancel()
		pw.Close()
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		var msg workerMsg
		if jerr := json.Unmarshal([]byte(lines[len(lines)-1]), &msg); err == nil || jerr != nil || !strings.Contains(msg.Error, tt.want) {
			t.Errorf("Worker(%.40q) = %v, wrote %q, want an error line with %q", tt.in, err, out.String(), tt.want)
		}
	}
}

func TestBenchIsLoopback(t *testing.T) {
	for u, want := range map[string]bool{
		"http://127.0.0.1:8080": true, "http://localhost:80": true, "http://[::1]:8080": true, "http://127.9.9.9": true,
		"http://10.0.0.5:8080": false, "http://example.com": false, "://bad": false,
	} {
		if got := isLoopback(u); got != want {
			t.Errorf("isLoopback(%q) = %v, want %v", u, got, want)
		}
	}
}

func TestBenchQueriesBetween(t *testing.T) {
	before := map[string]float64{`confab_store_queries_total{op="history"}`: 10, `confab_store_queries_total{op="post"}`: 5}
	after := map[string]float64{`confab_store_queries_total{op="history"}`: 14, `confab_store_queries_total{op="post"}`: 5, `confab_store_queries_total{op="boot"}`: 2}
	total, by, ok := queriesBetween(before, after)
	want := map[string]float64{`confab_store_queries_total{op="history"}`: 4, `confab_store_queries_total{op="boot"}`: 2}
	if !ok || total != 6 || len(by) != len(want) {
		t.Fatalf("queriesBetween = %v, %v, %v, want 6, %v, true", total, by, ok, want)
	}
	for k, v := range want {
		if by[k] != v {
			t.Errorf("by[%s] = %v, want %v", k, by[k], v)
		}
	}
	if total, by, ok := queriesBetween(map[string]float64{}, map[string]float64{}); ok || total != -1 || by != nil {
		t.Errorf("queriesBetween without the counter = %v, %v, %v, want -1, nil, false", total, by, ok)
	}
}

// TestBenchScrapeSum reads the metrics of two processes, as of a cluster's
// gateways or API processes: idle's figures and hot's query series are
// their sums, and a URL without the figure idle needs is an error.
func TestBenchScrapeSum(t *testing.T) {
	serve := func(text string) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, text)
		}))
		t.Cleanup(srv.Close)
		return srv.URL + "/metrics"
	}
	one := serve("process_resident_memory_bytes 1000\ngo_goroutines 10\nconfab_gateway_connections{shard=\"0\"} 3\nconfab_gateway_connections{shard=\"1\"} 4\n" +
		"confab_store_queries_total{op=\"history\"} 2\n")
	two := serve("process_resident_memory_bytes 500\ngo_goroutines 7\nconfab_gateway_connections{shard=\"0\"} 5\n" +
		"confab_store_queries_total{op=\"history\"} 3\nconfab_store_queries_total{op=\"boot\"} 1\n")
	none := serve("go_goroutines 1\n")
	a := newAPI("http://127.0.0.1:1", 4)
	defer a.close()
	ctx := context.Background()

	m, err := a.scrapeMetrics(ctx, []string{one, two})
	if err != nil {
		t.Fatal(err)
	}
	if want := (ServerMetrics{RSSBytes: 1500, Goroutines: 17, Connections: 12}); m != want {
		t.Errorf("scrapeMetrics(one, two) = %+v, want %+v", m, want)
	}
	series, err := a.scrapeSum(ctx, []string{one, two}, StoreQueriesMetric, "")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{`confab_store_queries_total{op="history"}`: 5, `confab_store_queries_total{op="boot"}`: 1}
	if !maps.Equal(series, want) {
		t.Errorf("scrapeSum(one, two, %s) = %v, want %v", StoreQueriesMetric, series, want)
	}
	if _, err := a.scrapeMetrics(ctx, []string{one, none}); err == nil || !strings.Contains(err.Error(), none) {
		t.Errorf("scrapeMetrics(one, none) = %v, want an error naming %s", err, none)
	}
}

func TestBenchReleaseAll(t *testing.T) {
	var released atomic.Bool
	var before atomic.Int64 // calls that ran before the release
	err := releaseAll(context.Background(), 50, func(ctx context.Context, i int) error {
		if !released.Load() {
			before.Add(1)
		}
		return nil
	}, func() { released.Store(true) })
	if err != nil || before.Load() != 0 {
		t.Errorf("releaseAll = %v with %d calls before the release, want nil and 0", err, before.Load())
	}
	boom := errors.New("boom")
	if err := releaseAll(context.Background(), 5, func(ctx context.Context, i int) error {
		if i == 2 {
			return boom
		}
		return nil
	}, nil); !errors.Is(err, boom) {
		t.Errorf("releaseAll with a failing call = %v, want boom", err)
	}
}

func TestBenchErrorKind(t *testing.T) {
	tests := map[string]string{
		"dial ws://127.0.0.1:8080/rtm/abc.DEF-123: read tcp 127.0.0.2:32991->127.0.0.1:8080: i/o timeout": "dial ws://127.0.0.1:8080/rtm/…: read tcp …->127.0.0.1:8080: i/o timeout",
		"read tcp 127.0.0.3:4->127.0.0.1:8080: use of closed network connection":                          "read tcp …->127.0.0.1:8080: use of closed network connection",
		`Post "http://127.0.0.1:8080/api/client.catchup": context deadline exceeded`:                      `Post "http://127.0.0.1:8080/api/client.catchup": context deadline exceeded`,
		"": "",
	}
	for in, want := range tests {
		if got := errorKind(in); got != want {
			t.Errorf("errorKind(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBenchReportOutputStormHot(t *testing.T) {
	tests := []struct {
		rep  Report
		want []string
	}{
		{Report{Scenario: "storm", Storm: &StormResult{Clients: 5, Mode: "drop", Dropped: 5, Lost: 2, NotRecovered: 1,
			NotRecoveredErrors: map[string]int{"dial ws://x/rtm/…: refused": 1},
			SessionEnds:        map[string]int{"read: use of closed network connection": 5, "EOF": 1}}},
			[]string{"mode           drop", "lost           2", "1× dial ws://x/rtm/…: refused",
				"session ends   6 since the drop (5 dropped)", "  by           5× read: use of closed network connection"}},
		{Report{Scenario: "hot", Hot: &HotResult{Readers: 10, Rounds: []HotRound{{Queries: -1}}}},
			[]string{"round 1 queries   unavailable (no confab_store_queries_total in /metrics)"}},
		{Report{Scenario: "hot", Hot: &HotResult{Readers: 10, QueriesAvailable: true, Rounds: []HotRound{{Queries: 20,
			QueriesBySeries: map[string]float64{`confab_store_queries_total{op="read"}`: 20}}}}},
			[]string{"round 1 queries   20 (2.000 per read)", `  {op="read"}     20`}},
		{Report{Scenario: "boot", Boot: &BootResult{Users: 7, Channels: 3, BootChannels: 3, Bytes: 999}},
			[]string{"boot size        999 bytes", "channels         3 (client.boot listed 3)"}},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		if err := tt.rep.WriteTable(&b); err != nil {
			t.Fatal(err)
		}
		for _, want := range tt.want {
			if !strings.Contains(b.String(), want) {
				t.Errorf("%s table lacks %q:\n%s", tt.rep.Scenario, want, b.String())
			}
		}
	}
}

// every reports until stopped, and not after: a load's progress log ends
// with the load.
func TestEvery(t *testing.T) {
	var n atomic.Int64
	stop := every(time.Millisecond, func() { n.Add(1) })
	for deadline := time.Now().Add(5 * time.Second); n.Load() < 3; {
		if time.Now().After(deadline) {
			t.Fatalf("%d reports in 5 s at 1 ms", n.Load())
		}
		time.Sleep(time.Millisecond)
	}
	stop()
	after := n.Load()
	time.Sleep(20 * time.Millisecond)
	if got := n.Load(); got != after {
		t.Fatalf("%d reports after stop", got-after)
	}
}
