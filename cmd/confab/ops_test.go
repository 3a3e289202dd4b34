package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Shutting down in the middle of a stream of posts loses no message that
// was acknowledged: after a restart on the same data, history has them all.
func TestShutdownLosesNoAcknowledgedMessage(t *testing.T) {
	dir := t.TempDir()
	m := MustRunMain(t, func(m *Main) { m.Config.DataDir = dir; m.Config.SQLiteSync = "full" })
	alice := signup(t, m, "acme", "alice")
	ch := alice.createChannel("plaza", false)

	var (
		mu     sync.Mutex
		acked  = map[string]bool{}
		count  atomic.Int64
		wg     sync.WaitGroup
		client = &http.Client{Timeout: 10 * time.Second}
	)
	halfway := make(chan struct{})
	var once sync.Once
	for p := 0; p < 8; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			for i := 0; i < 10000; i++ {
				body := fmt.Sprintf("channel=%s&text=p%d-%d", ch, p, i)
				req, _ := http.NewRequest("POST", m.URL()+"/api/chat.postMessage", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Authorization", "Bearer "+alice.token)
				resp, err := client.Do(req)
				if err != nil {
					return // the server is gone
				}
				raw, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 && strings.Contains(string(raw), `"ok":true`) {
					mu.Lock()
					acked[fmt.Sprintf("p%d-%d", p, i)] = true
					mu.Unlock()
					if count.Add(1) == 200 {
						once.Do(func() { close(halfway) })
					}
				} else if resp.StatusCode != 200 {
					return
				}
			}
		}(p)
	}
	select {
	case <-halfway:
	case <-time.After(30 * time.Second):
		t.Fatal("posters made no progress")
	}
	if err := m.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	wg.Wait()

	again := MustRunMain(t, func(m *Main) { m.Config.DataDir = dir })
	alice.base = again.URL()
	stored := map[string]bool{}
	cursor := ""
	for {
		out := alice.must("conversations.history", obj{"channel": ch, "limit": 1000, "cursor": cursor})
		for _, raw := range out["messages"].([]any) {
			stored[raw.(obj)["text"].(string)] = true
		}
		if cursor = out["response_metadata"].(obj)["next_cursor"].(string); cursor == "" {
			break
		}
	}
	for text := range acked {
		if !stored[text] {
			t.Errorf("acknowledged message %q lost across shutdown", text)
		}
	}
	t.Logf("%d acknowledged, %d stored", len(acked), len(stored))
}

// /metrics exposes what an operator watches.
// The profiler is off by default and, when asked for, served on its own
// address only.
func TestPprofListen(t *testing.T) {
	m := MustRunMain(t, func(m *Main) { m.Config.PprofListen = "127.0.0.1:0" })
	resp, err := http.Get("http://" + m.pprofAddr + "/debug/pprof/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("pprof cmdline: status %d", resp.StatusCode)
	}
	for _, base := range []string{m.URL(), MustRunMain(t).URL()} {
		resp, err := http.Get(base + "/debug/pprof/cmdline")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Fatalf("the public listener serves the profiler: status %d", resp.StatusCode)
		}
	}
}

func TestMetricsAndHealth(t *testing.T) {
	m := MustRunMain(t)
	alice := signup(t, m, "acme", "alice")
	ch := alice.createChannel("plaza", false)
	conn := alice.connect()
	alice.post(ch, "counted")
	conn.next(isMessage("counted"))

	resp, err := http.Get(m.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		"confab_gateway_connections 1",
		"confab_messages_posted_total 1",
		"confab_delivery_latency_seconds_count",
		"confab_gateway_slow_consumer_disconnects_total 0",
		`confab_api_requests_total{error="",method="chat.postMessage"} 1`,
		// The listener's budget: nothing short on an idle test server.
		"confab_http_idle_closed_total 0",
		"confab_accept_exhausted_total 0",
		"confab_descriptors_short 0",
		"confab_http_idle_connections",
		"process_resident_memory_bytes",
		"go_goroutines",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	resp, err = http.Get(m.URL() + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz = %v, %v", resp, err)
	}
	resp.Body.Close()
}
