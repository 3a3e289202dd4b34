package main

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
)

// TestNullAnswersTheMethodFromItsFirstAnswer: with either engine, the
// method's first request reaches the upstream and every later one is
// answered with that answer without reaching it; other paths are passed
// on every time, and a failed answer is not kept.
func TestNullAnswersTheMethodFromItsFirstAnswer(t *testing.T) {
	for _, engine := range []string{"nethttp", "fasthttp"} {
		t.Run(engine, func(t *testing.T) {
			var methodCalls, otherCalls atomic.Int32
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				switch r.URL.Path {
				case "/api/conversations.history":
					if methodCalls.Add(1) == 1 {
						http.Error(w, "busy", http.StatusServiceUnavailable)
						return
					}
					io.WriteString(w, `{"ok":true,"asked":"`+r.Header.Get("Authorization")+" "+string(body)+`"}`)
				default:
					otherCalls.Add(1)
					io.WriteString(w, "passed on "+r.URL.Path)
				}
			}))
			defer up.Close()
			u, _ := url.Parse(up.URL)
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			n := newNull(u, "/api/conversations.history")
			if engine == "nethttp" {
				go http.Serve(l, n)
			} else {
				go n.serveFast(l)
			}
			defer l.Close()
			base := "http://" + l.Addr().String()
			post := func(path, token, body string) (int, string) {
				t.Helper()
				req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
				req.Header.Set("Authorization", token)
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b)
			}
			if code, _ := post("/api/conversations.history", "Bearer a", "channel=C1"); code != http.StatusBadGateway {
				t.Errorf("upstream failing: status %d, want 502", code)
			}
			want := `{"ok":true,"asked":"Bearer b channel=C2"}`
			for i, token := range []string{"Bearer b", "Bearer c", "Bearer d"} {
				if code, body := post("/api/conversations.history", token, "channel=C2"); code != http.StatusOK || body != want {
					t.Errorf("request %d: %d %q, want 200 %q", i+1, code, body, want)
				}
			}
			for range 2 {
				if _, body := post("/api/auth.test", "Bearer b", ""); body != "passed on /api/auth.test" {
					t.Errorf("other method: %q, want it passed on", body)
				}
			}
			if methodCalls.Load() != 2 || otherCalls.Load() != 2 {
				t.Errorf("upstream saw the method %d times and others %d; want 2 (the failed answer, then the kept one) and 2",
					methodCalls.Load(), otherCalls.Load())
			}
		})
	}
}
