package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestHotChannel: a thousand clients read the newest page of one channel at
// the same moment (a viral announcement). Every one gets the same, right
// page, and the reads that arrived together were served by a handful of
// store queries (chat/coalesce.go), as /metrics shows.
func TestHotChannel(t *testing.T) {
	if testing.Short() {
		t.Skip("a thousand clients")
	}
	const (
		readers  = 1000
		users    = 100 // readers share their users' tokens, ten each
		messages = 300
		pageSize = 100
	)
	m := MustRunMain(t)
	alice := signup(t, m, "acme", "alice")
	ch := alice.createChannel("announcements", false)
	for i := range messages {
		alice.post(ch, fmt.Sprintf("announcement %d", i+1))
	}
	tokens := make([]string, users)
	for i := range tokens {
		tokens[i] = signup(t, m, "acme", fmt.Sprintf("reader%d", i)).token
	}

	tr := &http.Transport{MaxIdleConns: readers, MaxIdleConnsPerHost: readers, MaxConnsPerHost: 0}
	t.Cleanup(tr.CloseIdleConnections)
	hc := &http.Client{Transport: tr, Timeout: time.Minute}
	body, err := json.Marshal(obj{"channel": ch, "limit": pageSize})
	if err != nil {
		t.Fatal(err)
	}
	read := func(token, method string, body []byte) (hotAnswer, error) {
		req, err := http.NewRequest("POST", m.URL()+"/api/"+method, bytes.NewReader(body))
		if err != nil {
			return hotAnswer{}, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := hc.Do(req)
		if err != nil {
			return hotAnswer{}, err
		}
		defer resp.Body.Close()
		raw, err := io.ReadAll(resp.Body)
		if err != nil {
			return hotAnswer{}, err
		}
		var a hotAnswer
		if err := json.Unmarshal(raw, &a); err != nil || resp.StatusCode != 200 || !a.OK {
			return a, fmt.Errorf("%s: status %d, body %.200q: %v", method, resp.StatusCode, raw, err)
		}
		return a, nil
	}

	// Open the clients' connections first (a thousand concurrent cheap
	// calls), so that the burst measures the server, not TCP handshakes.
	burst(t, readers, func(i int) error {
		_, err := read(tokens[i%users], "auth.test", nil)
		return err
	})

	before := scrapeStoreQueries(t, m)
	answers := make([]hotAnswer, readers)
	took := make([]time.Duration, readers)
	start := time.Now()
	burst(t, readers, func(i int) error {
		t0 := time.Now()
		a, err := read(tokens[i%users], "conversations.history", body)
		took[i], answers[i] = time.Since(t0), a
		return err
	})
	wall := time.Since(start)
	after := scrapeStoreQueries(t, m)

	// Every reader got the newest page: seqs 300 down to 201, the same
	// texts, more to read, the same cursor.
	want := answers[0]
	if len(want.Messages) != pageSize || !want.HasMore || want.Meta.NextCursor == "" {
		t.Fatalf("page: %d messages, has_more %v, cursor %q; want %d, true, a cursor",
			len(want.Messages), want.HasMore, want.Meta.NextCursor, pageSize)
	}
	for j, msg := range want.Messages {
		if seq := int64(messages - j); msg.Seq != seq || msg.Text != fmt.Sprintf("announcement %d", seq) {
			t.Fatalf("page[%d] = seq %d %q, want seq %d", j, msg.Seq, msg.Text, seq)
		}
	}
	for i, a := range answers {
		if !slices.Equal(a.Messages, want.Messages) || a.HasMore != want.HasMore || a.Meta != want.Meta {
			t.Fatalf("reader %d got another page than reader 0", i)
		}
	}

	delta := func(key string) float64 { return after[key] - before[key] }
	finds := delta("read FindMessages")
	// The events manager lists the apps once a second whatever the
	// traffic (events.DefaultScanInterval): those reads are not the
	// requests' cost, and a burst slowed by a busy machine spans more of
	// them.
	background := map[string]bool{"FindApps": true}
	var reads, others float64
	var otherKeys []string
	for key := range after {
		if op, method, _ := strings.Cut(key, " "); op == "read" && !background[method] {
			reads += delta(key)
			if method != "FindMessages" && delta(key) > 0 {
				others += delta(key)
				otherKeys = append(otherKeys, fmt.Sprintf("%s %.0f", method, delta(key)))
			}
		}
	}
	slices.Sort(otherKeys)
	slices.Sort(took)
	pct := func(p float64) time.Duration { return took[min(len(took)-1, int(p*float64(len(took))))] }
	t.Logf("%d simultaneous readers of one page: wall %v, latency p50 %v p90 %v p99 %v max %v",
		readers, wall.Round(time.Millisecond), pct(0.50).Round(time.Microsecond), pct(0.90).Round(time.Microsecond),
		pct(0.99).Round(time.Microsecond), took[len(took)-1].Round(time.Microsecond))
	t.Logf("store reads: %.0f FindMessages for %d reads of the page; %.0f reads in all (%.0f authentication and authorization: %.1f per request: %v)",
		finds, readers, reads, others, others/readers, otherKeys)
	if finds < 1 || finds > 10 {
		t.Errorf("%d simultaneous reads of one page ran FindMessages %.0f times, want 1 to 10", readers, finds)
	}
	// Issue 5's target counts every query: the readers' tokens were seen
	// a moment ago (auth.test), so authentication and authorization come
	// from the access cache.
	if reads > 10 {
		t.Errorf("%d simultaneous reads of one page cost %.0f store queries in all, want at most 10", readers, reads)
	}
	if delta("write CreateMessage") != 0 {
		t.Errorf("reads wrote messages")
	}
}

// hotAnswer is what TestHotChannel compares of conversations.history.
type hotAnswer struct {
	OK       bool `json:"ok"`
	Messages []struct {
		Seq  int64  `json:"seq"`
		TS   string `json:"ts"`
		Text string `json:"text"`
		User string `json:"user"`
	} `json:"messages"`
	HasMore bool `json:"has_more"`
	Meta    struct {
		NextCursor string `json:"next_cursor"`
	} `json:"response_metadata"`
}

// burst runs f(0..n-1) in n goroutines released together, and fails the
// test with the first error.
func burst(t *testing.T, n int, f func(i int) error) {
	t.Helper()
	var (
		ready, done sync.WaitGroup
		errs        = make(chan error, n)
		gate        = make(chan struct{})
	)
	for i := range n {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-gate
			if err := f(i); err != nil {
				errs <- err
			}
		}()
	}
	ready.Wait()
	close(gate)
	done.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.Fatalf("%v (and %d more errors)", err, len(errs))
	}
}

// scrapeStoreQueries reads confab_store_queries_total from /metrics, by
// "op method".
func scrapeStoreQueries(t *testing.T, m *Main) map[string]float64 {
	t.Helper()
	resp, err := httpClient.Get(m.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "confab_store_queries_total{")
		if !ok {
			continue
		}
		labels, value, ok := strings.Cut(line, "} ")
		if !ok {
			t.Fatalf("metric line %q", sc.Text())
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", sc.Text(), err)
		}
		l := map[string]string{}
		for _, kv := range strings.Split(labels, ",") {
			k, v, _ := strings.Cut(kv, "=")
			l[k] = strings.Trim(v, `"`)
		}
		out[l["op"]+" "+l["method"]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatal("/metrics has no confab_store_queries_total")
	}
	return out
}
