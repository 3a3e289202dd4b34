package events

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Slack's worked example in "Verifying requests from Slack".
const (
	docSecret = "8f742231b10e8888abcd99yyyzzz85a5"
	docTS     = 1531420618
	docBody   = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	docSig    = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
)

func TestSignSlackExample(t *testing.T) {
	if got := Sign(docSecret, docTS, []byte(docBody)); got != docSig {
		t.Fatalf("Sign = %s, want Slack's %s", got, docSig)
	}
	// Every part is signed: the secret, the timestamp and each byte of the body.
	for name, got := range map[string]string{
		"secret": Sign(docSecret+"x", docTS, []byte(docBody)),
		"ts":     Sign(docSecret, docTS+1, []byte(docBody)),
		"body":   Sign(docSecret, docTS, []byte(docBody+" ")),
	} {
		if got == docSig {
			t.Errorf("another %s, same signature", name)
		}
	}
}

func TestRetryDelay(t *testing.T) {
	for n, want := range map[int]time.Duration{
		-1: 0, 0: 0, 1: time.Second, 2: time.Minute, 3: 5 * time.Minute, 4: 5 * time.Minute, 1000: 5 * time.Minute,
	} {
		if got := RetryDelay(n); got != want {
			t.Errorf("RetryDelay(%d) = %v, want %v", n, got, want)
		}
	}
	fast := RetrySchedule{time.Millisecond, 2 * time.Millisecond}
	if got := fast.Delay(5); got != 2*time.Millisecond {
		t.Errorf("Delay past the schedule = %v, want its last entry", got)
	}
	if got := (RetrySchedule{}).Delay(3); got != 0 {
		t.Errorf("empty schedule: Delay = %v", got)
	}
}

// recorder is an app's endpoint that keeps what it was sent and answers
// with answer.
type recorder struct {
	mu     sync.Mutex
	reqs   []*http.Request
	bodies [][]byte
	answer http.HandlerFunc
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec.mu.Lock()
	rec.reqs = append(rec.reqs, r)
	rec.bodies = append(rec.bodies, body)
	rec.mu.Unlock()
	if rec.answer != nil {
		rec.answer(w, r)
	}
}

func (rec *recorder) last(t *testing.T) (*http.Request, []byte) {
	t.Helper()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.reqs) == 0 {
		t.Fatal("the app got no request")
	}
	return rec.reqs[len(rec.reqs)-1], rec.bodies[len(rec.bodies)-1]
}

func (rec *recorder) count() int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return len(rec.reqs)
}

func TestSendSignsAsSlack(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	now := time.Unix(1700000000, 0)
	w := NewWebhook(WebhookConfig{Now: func() time.Time { return now }})
	body := []byte(`{"type":"event_callback","event_id":"Ev1","event":{"type":"app_mention","text":"hi"}}`)

	res := w.Send(context.Background(), WebhookRequest{URL: srv.URL + "/slack/events?x=1", Secret: "s3cret", Body: body})
	if res.Outcome != Delivered || res.Status != 200 || res.Err != nil || res.Reason != "" {
		t.Fatalf("Send = %+v, want delivered", res)
	}
	r, got := rec.last(t)
	if r.Method != "POST" || r.URL.Path != "/slack/events" || r.URL.RawQuery != "x=1" {
		t.Errorf("request %s %s", r.Method, r.URL)
	}
	if string(got) != string(body) {
		t.Errorf("body %s, want %s", got, body)
	}
	for k, want := range map[string]string{
		"Content-Type":              "application/json",
		"User-Agent":                "Slackbot 1.0 (+https://api.slack.com/robots)",
		"X-Slack-Request-Timestamp": "1700000000",
		"X-Slack-Signature":         Sign("s3cret", 1700000000, body),
	} {
		if v := r.Header.Get(k); v != want {
			t.Errorf("%s: %q, want %q", k, v, want)
		}
	}
	for _, k := range []string{"X-Slack-Retry-Num", "X-Slack-Retry-Reason"} {
		if v, ok := r.Header[k]; ok {
			t.Errorf("first attempt has %s: %q", k, v)
		}
	}

	// A retry says which one and why, and is signed with its own time.
	now = now.Add(7 * time.Minute)
	for n, reason := range []string{"http_timeout", "http_error", "connection_failed", "http_error"} {
		res := w.Send(context.Background(), WebhookRequest{URL: srv.URL, Secret: "s3cret", Body: body, Retry: n + 1, Reason: reason})
		if res.Outcome != Delivered {
			t.Fatalf("retry %d: %+v", n+1, res)
		}
		r, _ := rec.last(t)
		if v := r.Header.Get("X-Slack-Retry-Num"); v != strconv.Itoa(n+1) {
			t.Errorf("X-Slack-Retry-Num %q, want %d", v, n+1)
		}
		if v := r.Header.Get("X-Slack-Retry-Reason"); v != reason {
			t.Errorf("X-Slack-Retry-Reason %q, want %q", v, reason)
		}
		if v := r.Header.Get("X-Slack-Signature"); v != Sign("s3cret", now.Unix(), body) {
			t.Errorf("retry signature %q is not of the retry's time", v)
		}
	}
}

func TestSendFailures(t *testing.T) {
	status := func(code int, h ...string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			for i := 0; i+1 < len(h); i += 2 {
				w.Header().Set(h[i], h[i+1])
			}
			w.WriteHeader(code)
		}
	}
	slow := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}
	huge := func(w http.ResponseWriter, r *http.Request) {
		chunk := strings.Repeat("x", 1<<20)
		for range 64 {
			if _, err := io.WriteString(w, chunk); err != nil {
				return
			}
		}
	}
	for _, tc := range []struct {
		name    string
		answer  http.HandlerFunc
		outcome Outcome
		reason  string
		status  int
	}{
		{"500", status(500), RetryLater, "http_error", 500},
		{"404", status(404), RetryLater, "http_error", 404},
		{"429", status(429, "Retry-After", "10"), RetryLater, "http_error", 429},
		{"no retry", status(500, "X-Slack-No-Retry", "1"), NoRetry, "http_error", 500},
		{"no retry on a 2xx is delivered", status(200, "X-Slack-No-Retry", "1"), Delivered, "", 200},
		{"no retry other than 1", status(503, "X-Slack-No-Retry", "0"), RetryLater, "http_error", 503},
		{"202", status(202), Delivered, "", 202},
		{"redirect not followed", status(302, "Location", "/elsewhere"), RetryLater, "too_many_redirects", 302},
		{"timeout", slow, RetryLater, "http_timeout", 0},
		{"huge answer read only in part", huge, Delivered, "", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{answer: tc.answer}
			srv := httptest.NewServer(rec)
			defer srv.Close()
			w := NewWebhook(WebhookConfig{Timeout: time.Second})
			start := time.Now()
			res := w.Send(context.Background(), WebhookRequest{URL: srv.URL + "/slack/events", Secret: "s", Body: []byte(`{}`)})
			if res.Outcome != tc.outcome || res.Reason != tc.reason || res.Status != tc.status {
				t.Fatalf("Send = %+v, want %v %q %d", res, tc.outcome, tc.reason, tc.status)
			}
			if (res.Err == nil) != (tc.outcome == Delivered) {
				t.Errorf("Err = %v with outcome %v", res.Err, res.Outcome)
			}
			if d := time.Since(start); d > 4*time.Second {
				t.Errorf("took %v with a 1s timeout", d)
			}
			if n := rec.count(); n != 1 {
				t.Errorf("the app got %d requests, want 1 (redirects not followed)", n)
			}
		})
	}
}

func TestSendConnectionFailures(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	tlsApp := &recorder{}
	tlsSrv := httptest.NewUnstartedServer(tlsApp)
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	tlsSrv.StartTLS()                                   // with a certificate nobody trusts
	defer tlsSrv.Close()
	local := &recorder{}
	localSrv := httptest.NewServer(local)
	defer localSrv.Close()

	for _, tc := range []struct {
		name, url string
		cfg       WebhookConfig
		reason    string
	}{
		{"refused", closed.URL, WebhookConfig{}, "connection_failed"},
		{"bad certificate", tlsSrv.URL, WebhookConfig{}, "ssl_error"},
		{"not http", "ftp://127.0.0.1/x", WebhookConfig{}, "connection_failed"},
		{"relative", "/slack/events", WebhookConfig{}, "connection_failed"},
		{"credentials in the URL", "http://u:p@127.0.0.1/", WebhookConfig{}, "connection_failed"},
		{"loopback denied", localSrv.URL, WebhookConfig{DenyPrivate: true}, "connection_failed"},
		{"localhost denied", strings.Replace(localSrv.URL, "127.0.0.1", "localhost", 1), WebhookConfig{DenyPrivate: true}, "connection_failed"},
		{"IPv4-mapped loopback denied", strings.Replace(localSrv.URL, "127.0.0.1", "[::ffff:127.0.0.1]", 1), WebhookConfig{DenyPrivate: true}, "connection_failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Timeout = 10 * time.Second // none should wait: each fails at once
			res := NewWebhook(tc.cfg).Send(context.Background(), WebhookRequest{URL: tc.url, Secret: "s", Body: []byte(`{}`)})
			if res.Outcome != RetryLater || res.Reason != tc.reason || res.Err == nil {
				t.Fatalf("Send = %+v, want retry later with %s", res, tc.reason)
			}
		})
	}
	if tlsApp.count() != 0 || local.count() != 0 {
		t.Errorf("requests reached apps that should not have been reached: tls %d, denied %d", tlsApp.count(), local.count())
	}
	// Allowed by default: the loopback app is reached.
	if res := NewWebhook(WebhookConfig{}).Send(context.Background(), WebhookRequest{URL: localSrv.URL, Body: []byte(`{}`)}); res.Outcome != Delivered {
		t.Errorf("loopback with the default config: %+v", res)
	}
}

// The addresses DenyPrivate refuses, checked without dialling any.
func TestDenyPrivate(t *testing.T) {
	for addr, denied := range map[string]bool{
		"127.0.0.1:80": true, "127.8.9.10:80": true, "[::1]:80": true, "[::ffff:127.0.0.1]:80": true,
		"10.1.2.3:80": true, "172.16.0.1:443": true, "192.168.1.1:80": true, "[fd00::1]:80": true,
		"169.254.169.254:80": true, "[fe80::1]:80": true, "100.64.0.1:80": true,
		"0.0.0.0:80": true, "[::]:80": true, "224.0.0.1:80": true, "[ff02::1]:80": true,
		"8.8.8.8:443": false, "[2001:4860:4860::8888]:443": false, "100.128.0.1:80": false, "172.32.0.1:80": false,
		"not an address": true,
	} {
		err := denyPrivate("tcp", addr, nil)
		if (err != nil) != denied {
			t.Errorf("%s: %v, want denied %v", addr, err, denied)
		}
	}
}

func TestSendErrorHidesQuery(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	res := NewWebhook(WebhookConfig{}).Send(context.Background(), WebhookRequest{URL: closed.URL + "/hook?key=SECRETKEY", Body: []byte(`{}`)})
	if res.Err == nil || strings.Contains(res.Err.Error(), "SECRETKEY") {
		t.Errorf("Err = %v, want one without the URL's query", res.Err)
	}
}

func TestSendCancelled(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body) // then the server notices the client leave
		<-r.Context().Done()
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	res := NewWebhook(WebhookConfig{}).Send(ctx, WebhookRequest{URL: srv.URL, Body: []byte(`{}`)})
	if res.Outcome != RetryLater || res.Reason != "" || !errors.Is(res.Err, context.Canceled) {
		t.Errorf("Send = %+v, want retry later with no reason (not the app's failure)", res)
	}
}

func TestVerifyURL(t *testing.T) {
	type handshake struct {
		Token     string `json:"token"`
		Challenge string `json:"challenge"`
		Type      string `json:"type"`
	}
	// answer builds an app that answers the handshake in its own way.
	answer := func(reply func(w http.ResponseWriter, challenge string)) *recorder {
		return &recorder{answer: func(w http.ResponseWriter, r *http.Request) {
			var h handshake
			if err := json.NewDecoder(r.Body).Decode(&h); err != nil {
				http.Error(w, "bad json", 400)
				return
			}
			reply(w, h.Challenge)
		}}
	}
	for _, tc := range []struct {
		name  string
		reply func(w http.ResponseWriter, challenge string)
		err   string // "" for success, else a part of the error
	}{
		{"plain text", func(w http.ResponseWriter, c string) {
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, c)
		}, ""},
		{"plain text with a newline", func(w http.ResponseWriter, c string) { io.WriteString(w, c+"\n") }, ""},
		{"form", func(w http.ResponseWriter, c string) {
			w.Header().Set("Content-Type", "application/x-www-form-urlencoded")
			io.WriteString(w, "challenge="+c)
		}, ""},
		{"json", func(w http.ResponseWriter, c string) {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]string{"challenge": c})
		}, ""},
		{"wrong echo", func(w http.ResponseWriter, c string) { io.WriteString(w, `{"challenge":"not-it"}`) }, `without the challenge: "{\"challenge\":\"not-it\"}"`},
		{"empty", func(w http.ResponseWriter, c string) {}, "without the challenge: an empty body"},
		{"error status", func(w http.ResponseWriter, c string) { http.Error(w, "nope", 403) }, `403 Forbidden: "nope\n"`},
		{"echo with an error status", func(w http.ResponseWriter, c string) { w.WriteHeader(500); io.WriteString(w, c) }, "500 Internal Server Error"},
		{"too long", func(w http.ResponseWriter, c string) { io.WriteString(w, c+strings.Repeat(" ", 70000)) }, "more than 65536 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := answer(tc.reply)
			srv := httptest.NewServer(rec)
			defer srv.Close()
			w := NewWebhook(WebhookConfig{Now: func() time.Time { return time.Unix(1700000000, 0) }})
			err := w.VerifyURL(context.Background(), srv.URL+"/slack/events", "sign-secret", "vtoken")
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("VerifyURL: %v", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("VerifyURL = %v, want an error with %s", err, tc.err)
			}
			r, body := rec.last(t)
			var h handshake
			if err := json.Unmarshal(body, &h); err != nil || h.Type != "url_verification" || h.Token != "vtoken" || len(h.Challenge) < 20 {
				t.Errorf("handshake body %s", body)
			}
			if r.Header.Get("Content-Type") != "application/json" || r.Header.Get("X-Slack-Signature") != Sign("sign-secret", 1700000000, body) {
				t.Errorf("handshake not signed as Slack's requests: %v", r.Header)
			}
		})
	}

	// Each handshake has its own challenge: an app cannot answer a fixed one.
	var seen []string
	rec := answer(func(w http.ResponseWriter, c string) { seen = append(seen, c); io.WriteString(w, c) })
	srv := httptest.NewServer(rec)
	defer srv.Close()
	w := NewWebhook(WebhookConfig{})
	for range 2 {
		if err := w.VerifyURL(context.Background(), srv.URL, "s", "t"); err != nil {
			t.Fatal(err)
		}
	}
	if len(seen) != 2 || seen[0] == seen[1] {
		t.Errorf("challenges %q", seen)
	}

	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	if err := w.VerifyURL(context.Background(), closed.URL, "s", "t"); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("VerifyURL of a closed port = %v", err)
	}
}
