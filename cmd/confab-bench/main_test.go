package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/confab/confab/bench"
	"github.com/confab/confab/internal/cmdtest"
)

// mustServe starts "confab serve", built from cmd/confab, on a free
// 127.0.0.1 port with a temp SQLite database and limits that do not
// throttle the bench (those cmd/confab's in-process test servers get), and
// stops it when the test ends.
func mustServe(t *testing.T) *cmdtest.Proc {
	t.Helper()
	bin := cmdtest.Build(t, "github.com/confab/confab/cmd/confab")
	data := t.TempDir()
	p, err := cmdtest.Start(t, cmdtest.Config{Bin: bin, Args: func(addr string) []string {
		return []string{"serve", "-listen", addr, "-data", data, "-sqlite-sync", "normal", "-password-cost", "4",
			"-rate-limit", "100000", "-rate-burst", "100000", "-auth-rate-limit", "100000", "-log-level", "warn",
			"-max-conns-per-user", "0", "-max-conns-per-addr", "0", "-handshake-rate", "0"}
	}})
	if err != nil {
		t.Fatalf("confab serve: %v", err)
	}
	return p
}

// TestBenchScenarios runs each confab-bench scenario with tiny parameters
// against a confab and checks that the JSON report is sane.
func TestBenchScenarios(t *testing.T) {
	m := mustServe(t)
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
		{[]string{"fanout", "-transport", "sse", "-clients", "20", "-users", "5", "-rate", "200", "-messages", "40"}, func(t *testing.T, rep *bench.Report) {
			f := rep.Fanout
			if rep.Transport != "sse" || f == nil || f.Posted != 40 || f.Deliveries != 800 || f.Missing != 0 || f.Duplicates != 0 || f.Disconnects != 0 {
				t.Fatalf("fanout over SSE = %s %+v, want 40 posts × 20 streams delivered once each", rep.Transport, f)
			}
			wantOrdered(t, "post→deliver", f.Latency, 800)
		}},
		{[]string{"fanout", "-transport", "poll", "-clients", "20", "-users", "5", "-rate", "200", "-messages", "40", "-server-pid", strconv.Itoa(m.Cmd.Process.Pid)}, func(t *testing.T, rep *bench.Report) {
			f := rep.Fanout
			if rep.Transport != "poll" || f == nil || f.Posted != 40 || f.Deliveries != 800 || f.Missing != 0 || f.Duplicates != 0 || f.Disconnects != 0 {
				t.Fatalf("fanout by long-polling = %s %+v, want 40 posts × 20 pollers delivered once each", rep.Transport, f)
			}
			if f.ServerCPUSeconds <= 0 || f.ServerCPUPerDelivery <= 0 {
				t.Fatalf("server CPU %v s, %v µs a delivery: want both measured", f.ServerCPUSeconds, f.ServerCPUPerDelivery)
			}
			wantOrdered(t, "post→deliver", f.Latency, 800)
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
		{[]string{"idle", "-transport", "sse", "-clients", "30", "-users", "5", "-channels", "3", "-duration", "50ms"}, func(t *testing.T, rep *bench.Report) {
			i := rep.Idle
			if rep.Transport != "sse" || i == nil || i.Dropped != 0 || i.After.Connections-i.Before.Connections != 30 || i.After.RSSBytes <= 0 {
				t.Fatalf("idle over SSE = %s %+v, want 30 more server connections, RSS", rep.Transport, i)
			}
			wantOrdered(t, "connect", i.Connect, 30)
		}},
		{[]string{"storm", "-clients", "20", "-users", "5", "-rate", "200", "-drop-after", "100ms", "-settle", "100ms"}, func(t *testing.T, rep *bench.Report) {
			s := rep.Storm
			if s == nil || s.Mode != "drop" || s.Posted == 0 || s.Lost != 0 || s.Duplicated != 0 || s.NotRecovered != 0 || s.RecoverSeconds <= 0 || s.SettleSeconds < s.RecoverSeconds || s.CatchUps < 40 {
				t.Fatalf("storm = %+v, want 20 clients back, nothing lost or shown twice, ≥ 2 catch-ups each", s)
			}
			wantOrdered(t, "reconnect", s.Reconnect, 20)
		}},
		{[]string{"boot", "-users", "5", "-channels", "12", "-reads", "10"}, func(t *testing.T, rep *bench.Report) {
			b := rep.Boot
			if b == nil || b.Users != 5 || b.Channels != 12 || b.BootChannels < 12 || b.Bytes < 12*50 {
				t.Fatalf("boot = %+v, want 5 users, 12 channels listed by client.boot", b)
			}
			wantOrdered(t, "client.boot", b.Latency, 10)
		}},
		{[]string{"hot", "-clients", "40", "-users", "3", "-page", "20", "-rounds", "2"}, func(t *testing.T, rep *bench.Report) {
			h := rep.Hot
			if h == nil || h.Readers != 40 || h.Users != 3 || len(h.Rounds) != 2 {
				t.Fatalf("hot = %+v, want 40 readers of 3 users, 2 rounds", h)
			}
			for _, rd := range h.Rounds {
				if rd.Errors != 0 || rd.Seconds <= 0 || (h.QueriesAvailable && rd.Queries < 0) || (!h.QueriesAvailable && rd.Queries != -1) {
					t.Errorf("round = %+v (queries available %v), want no errors", rd, h.QueriesAvailable)
				}
				wantOrdered(t, "read", rd.Latency, 40)
			}
		}},
		{[]string{"apps", "-channels", "3", "-rate", "100", "-duration", "1s", "-away", "1s"}, func(t *testing.T, rep *bench.Report) {
			a := rep.Apps
			if a == nil || a.Channels != 3 || a.Without.Posted != 100 || a.With.Posted != 100 || a.AwayPosts != 100 || a.Posted != 300 ||
				a.Received != 300 || a.Lost != 0 || a.Duplicated != 0 || a.Misrouted != 0 || a.Events == 0 || a.EventsPerSecond <= 0 ||
				a.Backlog < 100 || a.CatchUpSeconds <= 0 || a.Ratio <= 0 {
				t.Fatalf("apps = %+v, want 100 posts a phase, all 300 since the install received once, a catch-up of ≥ 100", a)
			}
			wantOrdered(t, "post→event", a.Latency, int(a.Events))
			wantOrdered(t, "post without", a.Without.Latency, 100)
			wantOrdered(t, "post with", a.With.Latency, 100)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.args[0], func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var stdout, stderr bytes.Buffer
			args := append(tt.args, "-url", m.URL(), "-json", "-quiet", "-timeout", "25s")
			if err := benchMain(ctx, args, &stdout, &stderr); err != nil {
				t.Fatalf("confab-bench %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
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

// TestBenchSearch loads a tiny search workspace, has confab-bench start
// confab on it and time every query pattern; a second run on the same
// data directory reuses the load.
func TestBenchSearch(t *testing.T) {
	bin := cmdtest.Build(t, "github.com/confab/confab/cmd/confab")
	data := t.TempDir()
	run := func(asJSON bool) string {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		args := []string{"search", "-messages", "3000", "-channels", "40", "-users", "20", "-reads", "5",
			"-data", data, "-confab", bin, "-quiet", "-timeout", "55s"}
		if asJSON {
			args = append(args, "-json")
		}
		var stdout, stderr bytes.Buffer
		if err := benchMain(ctx, args, &stdout, &stderr); err != nil {
			t.Fatalf("confab-bench %s: %v\n%s\n%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
		}
		return stdout.String()
	}
	var rep bench.Report
	if err := json.Unmarshal([]byte(run(true)), &rep); err != nil {
		t.Fatal(err)
	}
	s := rep.Search
	if !rep.OK() || s == nil || !s.Loaded || s.Messages != 3000 || s.Channels != 40 || s.Users != 20 || s.ReaderIn != 4 || s.LoadPerSecond <= 0 {
		t.Fatalf("search = %+v (problems %v), want 3,000 messages loaded in 40 conversations, the reader in 4", s, rep.Problems)
	}
	if d := s.Disk; d.Bytes <= 0 || d.BytesWithout <= 0 || d.BytesWithout >= d.Bytes || d.PerMessage <= d.PerMessageWithout || len(d.Objects) == 0 {
		t.Errorf("disk = %+v, want a database larger with its search index than without, and the index's tables", d)
	}
	names := map[string]bool{}
	for _, p := range s.Patterns {
		names[p.Name] = true
		if p.MaxTotal == 0 || p.Example == "" {
			t.Errorf("pattern %+v found nothing", p)
		}
		wantOrdered(t, p.Name, p.Latency, 5)
	}
	for _, want := range []string{"word, common", "word, medium", "word, rare", "phrase", "word, CJK", "from:", "in:", "after: before: + word", "during: + word"} {
		if !names[want] {
			t.Errorf("no pattern %q in %v", want, names)
		}
	}
	// Again on the same directory: the load is reused, and the table
	// prints every pattern.
	table := run(false)
	for _, want := range []string{"an earlier run's", "disk without index", "word, rare", "in: + word"} {
		if !strings.Contains(table, want) {
			t.Errorf("second run's table lacks %q:\n%s", want, table)
		}
	}
	if !strings.Contains(table, "\nresult ") || !strings.HasSuffix(strings.TrimSpace(table), "PASS") {
		t.Errorf("second run's table does not end in PASS:\n%s", table)
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
	m := mustServe(t)
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

// TestBenchAppsTable checks that the apps table prints its figures, and
// no event lost or duplicated.
func TestBenchAppsTable(t *testing.T) {
	m := mustServe(t)
	var stdout, stderr bytes.Buffer
	err := benchMain(context.Background(), []string{"apps", "-url", m.URL(), "-channels", "2", "-rate", "50", "-duration", "1s", "-away", "1s", "-quiet"}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("bench apps: %v\n%s", err, stderr.String())
	}
	rows := map[string]string{}
	for _, line := range strings.Split(stdout.String(), "\n") {
		if name, value, ok := strings.Cut(line, "  "); ok {
			rows[name] = strings.TrimSpace(value)
		}
	}
	for name, want := range map[string]string{"lost": "0", "duplicated": "0", "misrouted": "0", "result": "PASS"} {
		if rows[name] != want {
			t.Errorf("row %q = %q, want %q:\n%s", name, rows[name], want, stdout.String())
		}
	}
	for _, name := range []string{"without app", "with app", "with/without", "events/s", "post→event", "away", "reconnect", "caught up"} {
		if rows[name] == "" {
			t.Errorf("no row %q:\n%s", name, stdout.String())
		}
	}
}

func TestBenchBadArgs(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "name a scenario"},
		{[]string{"tornado"}, "unknown scenario"},
		{[]string{"storm", "-clients", "8000"}, "at most 7500"},
		{[]string{"send", "extra"}, "unexpected arguments"},
		{[]string{"idle", "-clients", "20000", "-procs", "1"}, "at most 15000"},
		{[]string{"send", "-procs", "2"}, "only idle and fanout"},
		{[]string{"send", "-transport", "sse"}, "only idle and fanout open"},
		{[]string{"idle", "-transport", "carrier-pigeon"}, "want websocket, sse or poll"},
		{[]string{"idle", "-transport", "poll"}, "only fanout long-polls"},
		{[]string{"idle", "-metrics-url", "http://127.0.0.1:1/metrics,127.0.0.1:2/metrics"}, `metrics url "127.0.0.1:2/metrics"`},
		{[]string{"send", "-url", "http://127.0.0.1:1", "-timeout", "5s", "-quiet"}, "connect"},
		{[]string{"search", "-channels", "5"}, "at least 10 channels"},
		{[]string{"search", "-page", "101"}, "at most 100"},
		{[]string{"send", "-data", "/tmp/x"}, "only search"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		err := benchMain(context.Background(), tt.args, &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("confab-bench %q = %v, want an error with %q", tt.args, err, tt.want)
		}
	}
}

// TestBenchSpread runs idle and fanout spread over two worker processes:
// the confab-bench binary runs "confab-bench … -procs 2" against a confab,
// and the merged report must count every connection and delivery.
func TestBenchSpread(t *testing.T) {
	bin := cmdtest.Build(t, "github.com/confab/confab/cmd/confab-bench")
	m := mustServe(t)
	tests := []struct {
		args  []string
		check func(t *testing.T, rep *bench.Report)
	}{
		{[]string{"idle", "-clients", "30", "-users", "5", "-channels", "2", "-duration", "50ms"}, func(t *testing.T, rep *bench.Report) {
			i := rep.Idle
			if i == nil || i.Dropped != 0 || i.After.Connections-i.Before.Connections != 30 {
				t.Fatalf("idle = %+v, want 30 more server connections", i)
			}
			wantOrdered(t, "connect", i.Connect, 30)
		}},
		{[]string{"fanout", "-clients", "21", "-users", "4", "-rate", "200", "-messages", "30"}, func(t *testing.T, rep *bench.Report) {
			f := rep.Fanout
			if f == nil || f.Posted != 30 || f.Expected != 630 || f.Deliveries != 630 || f.Missing != 0 || f.Duplicates != 0 || f.Disconnects != 0 {
				t.Fatalf("fanout = %+v, want 30 posts × 21 subscribers delivered once each", f)
			}
			wantOrdered(t, "post→deliver", f.Latency, 630)
		}},
		{[]string{"fanout", "-transport", "sse", "-clients", "21", "-users", "4", "-rate", "200", "-messages", "30"}, func(t *testing.T, rep *bench.Report) {
			f := rep.Fanout
			if rep.Transport != "sse" || f == nil || f.Deliveries != 630 || f.Missing != 0 || f.Duplicates != 0 || f.Disconnects != 0 {
				t.Fatalf("fanout over SSE = %s %+v, want 30 posts × 21 streams delivered once each", rep.Transport, f)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.args[0], func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			args := append(tt.args, "-procs", "2", "-url", m.URL(), "-json", "-timeout", "50s")
			cmd := exec.CommandContext(ctx, bin, args...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("confab-bench %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
			}
			var rep bench.Report
			if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
				t.Fatalf("output %q is not a JSON report: %v", stdout.String(), err)
			}
			if !rep.OK() {
				t.Fatalf("report has problems: %v", rep.Problems)
			}
			// Each worker says where it dials from.
			for _, src := range []string{"source=127.0.0.2", "source=127.0.0.3"} {
				if !strings.Contains(stderr.String(), src) {
					t.Errorf("progress lacks %q:\n%s", src, stderr.String())
				}
			}
			tt.check(t, &rep)
		})
	}
}
