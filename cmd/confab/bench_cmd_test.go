package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/confab/confab/bench"
)

// TestBenchScenarios runs each "confab bench" scenario with tiny parameters
// against an in-process server and checks that the JSON report is sane.
func TestBenchScenarios(t *testing.T) {
	m := MustRunMain(t)
	tests := []struct {
		args  []string
		check func(t *testing.T, rep *bench.Report)
	}{
		{[]string{"send", "-posters", "4", "-channels", "2", "-duration", "300ms", "-messages", "200"}, func(t *testing.T, rep *bench.Report) {
			s := rep.Send
			if s == nil || s.Messages == 0 || s.Messages > 200 || s.Errors != 0 || s.PerSecond <= 0 {
				t.Fatalf("send = %+v, want 1–200 messages, no errors, a rate", s)
			}
			wantOrdered(t, "latency", s.Latency, int(s.Messages))
		}},
		{[]string{"fanout", "-clients", "20", "-users", "5", "-rate", "200", "-messages", "40"}, func(t *testing.T, rep *bench.Report) {
			f := rep.Fanout
			if f == nil || f.Posted != 40 || f.Expected != 800 || f.Deliveries != 800 || f.Missing != 0 || f.Duplicates != 0 || f.Disconnects != 0 || f.DeliveriesPerSecond <= 0 {
				t.Fatalf("fanout = %+v, want 40 posts × 20 subscribers delivered once each", f)
			}
			wantOrdered(t, "post→deliver", f.Latency, 800)
			wantOrdered(t, "post", f.PostLatency, 40)
		}},
		{[]string{"history", "-depth", "300", "-page", "50", "-reads", "10", "-posters", "4"}, func(t *testing.T, rep *bench.Report) {
			h := rep.History
			if h == nil || h.WalkMessages < 300 || h.WalkPages < 6 || h.DeepestMessages == 0 || h.Ratio <= 0 || h.FillPerSecond <= 0 {
				t.Fatalf("history = %+v, want 300 messages over ≥ 6 pages and a ratio", h)
			}
			wantOrdered(t, "newest", h.Newest, 10)
			wantOrdered(t, "deepest", h.Deepest, 10)
		}},
		{[]string{"idle", "-clients", "30", "-users", "5", "-channels", "3", "-duration", "50ms"}, func(t *testing.T, rep *bench.Report) {
			i := rep.Idle
			if i == nil || i.Dropped != 0 || i.ConnectPerSecond <= 0 || i.After.Connections-i.Before.Connections != 30 || i.GoroutinesPerConnection <= 0 || i.After.RSSBytes <= 0 {
				t.Fatalf("idle = %+v, want 30 more server connections, goroutines per connection, RSS", i)
			}
			wantOrdered(t, "connect", i.Connect, 30)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.args[0], func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var stdout, stderr bytes.Buffer
			args := append(tt.args, "-url", m.URL(), "-json", "-quiet", "-timeout", "25s")
			if err := benchMain(ctx, args, &stdout, &stderr); err != nil {
				t.Fatalf("confab bench %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
			}
			var rep bench.Report
			if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
				t.Fatalf("output %q is not a JSON report: %v", stdout.String(), err)
			}
			if rep.Scenario != tt.args[0] || !rep.OK() || !strings.HasPrefix(rep.Team, "bench-") || rep.Seconds <= 0 {
				t.Fatalf("report = %+v, want scenario %s, no problems, a bench- workspace", rep, tt.args[0])
			}
			tt.check(t, &rep)
		})
	}
}

// wantOrdered checks a latency summary of n samples: 0 < p50 ≤ p99 ≤ p99.9 ≤ max.
func wantOrdered(t *testing.T, name string, l bench.Latency, n int) {
	t.Helper()
	if l.Count != n || l.P50Ms <= 0 || l.P50Ms > l.P99Ms || l.P99Ms > l.P999Ms || l.P999Ms > l.MaxMs {
		t.Errorf("%s latency = %+v, want %d samples with 0 < p50 ≤ p99 ≤ p99.9 ≤ max", name, l, n)
	}
}

// TestBenchTable checks the default output is an aligned table that names
// the result.
func TestBenchTable(t *testing.T) {
	m := MustRunMain(t)
	var stdout, stderr bytes.Buffer
	err := benchMain(context.Background(), []string{"send", "-url", m.URL(), "-posters", "2", "-messages", "20", "-quiet"}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("bench send: %v\n%s", err, stderr.String())
	}
	for _, want := range []string{"scenario    send", "messages    20", "errors      0", "result      PASS"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, stdout.String())
		}
	}
}

func TestBenchBadArgs(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "name a scenario"},
		{[]string{"storm"}, "unknown scenario"},
		{[]string{"send", "extra"}, "unexpected arguments"},
		{[]string{"idle", "-clients", "20000"}, "at most 15000"},
		{[]string{"send", "-url", "http://127.0.0.1:1", "-timeout", "5s", "-quiet"}, "connect"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		err := benchMain(context.Background(), tt.args, &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("confab bench %q = %v, want an error with %q", tt.args, err, tt.want)
		}
	}
}
