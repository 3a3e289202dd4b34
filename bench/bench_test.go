package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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
		{Config{Scenario: "idle", URL: "http://x", Clients: MaxConnections + 1}, "child processes"},
		{Config{Scenario: "fanout", URL: "http://x", Clients: 10, Users: 11}, "users"},
		{Config{Scenario: "history", URL: "http://x", PageSize: 1001}, "1000"},
		{Config{Scenario: "history", URL: "http://x", Depth: 10, PageSize: 50}, "depth"},
	}
	for _, tt := range tests {
		err := tt.cfg.withDefaults().validate()
		if (err == nil) != (tt.want == "") || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("validate(%+v) = %v, want %q", tt.cfg, err, tt.want)
		}
	}
	if _, err := Run(context.Background(), Config{Scenario: "storm", URL: "http://127.0.0.1:1"}); err == nil || !strings.Contains(err.Error(), "unknown scenario") {
		t.Errorf("Run(storm) = %v, want unknown scenario", err)
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
