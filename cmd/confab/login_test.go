package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"
)

// fromAddress returns an HTTP client whose connections come from the
// loopback address 127.0.0.<n> (Linux answers on all of 127/8), so that the
// server's per-IP limit sees n as a client of its own.
func fromAddress(tb testing.TB, n int) *http.Client {
	tb.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second}
	if runtime.GOOS == "linux" {
		d.LocalAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(n))}
	}
	tr := &http.Transport{DialContext: d.DialContext}
	tb.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// login calls auth.login through hc and returns the status, the Slack
// answer ("ok" or the error) and the Retry-After header.
func login(tb testing.TB, hc *http.Client, m *Main, team, name, password string) (int, string, string) {
	tb.Helper()
	body, _ := json.Marshal(obj{"team": team, "name": name, "password": password})
	req, err := http.NewRequest("POST", m.URL()+"/api/auth.login", bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		tb.Errorf("auth.login: %v", err)
		return 0, "", ""
	}
	defer resp.Body.Close()
	var out obj
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		tb.Errorf("auth.login: status %d: %v", resp.StatusCode, err)
		return resp.StatusCode, "", ""
	}
	answer := "ok"
	if out["ok"] != true {
		answer = fmt.Sprint(out["error"])
	}
	return resp.StatusCode, answer, resp.Header.Get("Retry-After")
}

// The probe of the issue: many password guesses for one account from ten
// addresses, each well within its per-IP limit. Past the account's free
// failures the guesses are refused as ratelimited without being evaluated,
// the right password too until the backoff has passed; alice's token works
// throughout, and once the backoff is over she logs in.
func TestLoginProbeIsThrottledPerAccount(t *testing.T) {
	m := MustRunMain(t, func(m *Main) {
		m.Config.AuthRateLimit = 100000 // the per-address limit stays out of the way
		m.Config.AuthRateBurst = 100000
		m.Config.LoginFreeFailures = 5
		m.Config.LoginBackoff = 2 * time.Second // long enough that the right password comes within it
		m.Config.LoginMaxBackoff = 2 * time.Second
	})
	alice := signup(t, m, "acme", "alice")
	const addresses, perAddress = 10, 25

	var (
		mu      sync.Mutex
		answers = map[string]int{}
		wg      sync.WaitGroup
	)
	start := time.Now()
	for a := range addresses {
		hc := fromAddress(t, 2+a)
		wg.Go(func() {
			for i := range perAddress {
				status, answer, retry := login(t, hc, m, "acme", "alice", "guess-"+strconv.Itoa(a)+"-"+strconv.Itoa(i))
				if answer == "ratelimited" {
					if s, err := strconv.Atoi(retry); status != 429 || err != nil || s < 1 {
						t.Errorf("ratelimited with status %d, Retry-After %q", status, retry)
					}
				}
				mu.Lock()
				answers[answer]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	t.Logf("%d guesses from %d addresses in %v: %v", addresses*perAddress, addresses, took, answers)
	if answers["ok"] != 0 || answers["invalid_auth"]+answers["ratelimited"] != addresses*perAddress {
		t.Fatalf("answers %v, want only invalid_auth and ratelimited", answers)
	}
	if answers["ratelimited"] < addresses*perAddress*4/5 {
		t.Fatalf("%d of %d guesses evaluated (%v): the account is not throttled", answers["invalid_auth"], addresses*perAddress, answers)
	}

	hc := fromAddress(t, 20)
	if status, answer, retry := login(t, hc, m, "acme", "alice", "correct horse alice"); answer != "ratelimited" || status != 429 || retry == "" {
		t.Fatalf("the right password during the backoff: %d %q Retry-After %q, want 429 ratelimited", status, answer, retry)
	}
	alice.must("auth.test", nil) // her session is not locked out

	// The backoff passes: the right password works. Refused attempts do
	// not lengthen it, so asking again until then is fair.
	deadline := time.After(10 * time.Second)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		_, answer, _ := login(t, hc, m, "acme", "alice", "correct horse alice")
		if answer == "ok" {
			break
		}
		if answer != "ratelimited" {
			t.Fatalf("the right password after the guesses answered %q", answer)
		}
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatal("the right password still refused 10 s after the guesses")
		}
	}
	alice.must("auth.test", nil)
}
