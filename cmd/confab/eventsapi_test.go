package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/confab/confab/events"
)

// httpApp is an Events API app: it answers url_verification, checks every
// request's signature, and records what it receives; answer decides the
// status of an event_callback.
type httpApp struct {
	t      *testing.T
	srv    *httptest.Server
	answer func(text string, retry int) (status int, noRetry bool)

	mu       sync.Mutex
	secret   string
	verified int
	got      []httpEvent
	bad      []string
}

type httpEvent struct {
	id, text, reason string
	retry            int
}

func newHTTPApp(t *testing.T) *httpApp {
	a := &httpApp{t: t, answer: func(string, int) (int, bool) { return 200, false }}
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *httpApp) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	ts, _ := strconv.ParseInt(r.Header.Get(events.HeaderTimestamp), 10, 64)
	a.mu.Lock()
	secret := a.secret
	a.mu.Unlock()
	if r.Header.Get(events.HeaderSignature) != events.Sign(secret, ts, body) || time.Since(time.Unix(ts, 0)).Abs() > 5*time.Minute {
		a.mu.Lock()
		a.bad = append(a.bad, string(body))
		a.mu.Unlock()
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var cb struct {
		Type      string `json:"type"`
		Challenge string `json:"challenge"`
		EventID   string `json:"event_id"`
		Event     struct {
			Text string `json:"text"`
		} `json:"event"`
	}
	if err := json.Unmarshal(body, &cb); err != nil {
		http.Error(w, "not JSON", http.StatusBadRequest)
		return
	}
	if cb.Type == "url_verification" {
		a.mu.Lock()
		a.verified++
		a.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"challenge": cb.Challenge}) //nolint:errcheck // test server
		return
	}
	retry, _ := strconv.Atoi(r.Header.Get(events.HeaderRetryNum))
	a.mu.Lock()
	a.got = append(a.got, httpEvent{id: cb.EventID, text: cb.Event.Text, retry: retry, reason: r.Header.Get(events.HeaderRetryReason)})
	a.mu.Unlock()
	status, noRetry := a.answer(cb.Event.Text, retry)
	if noRetry {
		w.Header().Set(events.HeaderNoRetry, "1")
	}
	w.WriteHeader(status)
}

// install creates the app from a manifest whose request_url is a's, as
// the workspace's owner, keeps its signing secret, and invites its bot to
// channel.
func (a *httpApp) install(owner *client, name, channel string) {
	a.t.Helper()
	created := owner.must("apps.manifest.create", obj{"manifest": obj{
		"display_information": obj{"name": name},
		"features":            obj{"bot_user": obj{"display_name": name}},
		"settings": obj{"event_subscriptions": obj{"request_url": a.srv.URL + "/slack/events",
			"bot_events": []string{"message.channels"}}},
	}})
	a.mu.Lock()
	a.secret = created["credentials"].(obj)["signing_secret"].(string)
	a.mu.Unlock()
	owner.must("conversations.invite", obj{"channel": channel, "users": created["bot_user_id"]})
}

func (a *httpApp) events() []httpEvent {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]httpEvent(nil), a.got...)
}

// An app with a request URL (and no Socket Mode) gets its events POSTed
// there as Slack sends them: its URL answers url_verification first; every
// request is signed with its signing secret; a failed delivery comes again
// with X-Slack-Retry-Num and X-Slack-Retry-Reason, before the channel's
// next event; X-Slack-No-Retry: 1 is honoured.
func TestEventsAPIOverHTTP(t *testing.T) {
	m := MustRunMain(t, func(m *Main) {
		m.TuneEvents = func(c *events.Config) { c.RetrySchedule = events.RetrySchedule{200 * time.Millisecond} }
	})
	alice := signup(t, m, "acme", "alice")
	general := alice.createChannel("plaza", false)
	app := newHTTPApp(t)
	app.answer = func(text string, retry int) (int, bool) {
		switch {
		case text == "fails once" && retry == 0:
			return http.StatusInternalServerError, false
		case text == "refused":
			return http.StatusServiceUnavailable, true
		}
		return http.StatusOK, false
	}
	app.install(alice, "Hooked", general)

	for _, text := range []string{"fails once", "refused", "fine"} {
		alice.post(general, text)
	}
	deadline := time.Now().Add(waitFor)
	var got []httpEvent
	for {
		got = app.events()
		if len(got) >= 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("app received %+v", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // a retry of "refused" would come by now
	got = app.events()
	if len(got) != 4 {
		t.Fatalf("app received %+v; want 4 requests", got)
	}
	if got[0].text != "fails once" || got[0].retry != 0 || got[1].text != "fails once" || got[1].retry != 1 ||
		got[1].reason != "http_error" || got[1].id != got[0].id {
		t.Errorf("first two requests %+v; want the failed event, then its retry 1 (http_error), same event_id", got[:2])
	}
	if got[2].text != "refused" || got[3].text != "fine" || got[2].retry != 0 || got[3].retry != 0 {
		t.Errorf("then %+v; want refused once (X-Slack-No-Retry) then fine", got[2:])
	}
	app.mu.Lock()
	defer app.mu.Unlock()
	if app.verified != 1 || len(app.bad) != 0 {
		t.Errorf("url_verification %d times, %d badly signed requests; want 1 and 0", app.verified, len(app.bad))
	}
}

// A delivery is retried for as long as the retention window and no
// longer: an event an app's URL refused that long is given up, and the
// channel's next events go on.
func TestEventsAPIGivesUpAfterRetention(t *testing.T) {
	m := MustRunMain(t, func(m *Main) {
		m.TuneEvents = func(c *events.Config) {
			c.RetrySchedule = events.RetrySchedule{100 * time.Millisecond}
			c.Retention = 2 * time.Second
		}
	})
	alice := signup(t, m, "acme", "alice")
	general := alice.createChannel("plaza", false)
	app := newHTTPApp(t)
	var refuse sync.Mutex
	refusing := true
	app.answer = func(string, int) (int, bool) {
		refuse.Lock()
		defer refuse.Unlock()
		if refusing {
			return http.StatusInternalServerError, false
		}
		return http.StatusOK, false
	}
	app.install(alice, "Flaky", general)
	alice.post(general, "doomed")
	time.Sleep(3 * time.Second) // refused, retried, given up
	refuse.Lock()
	refusing = false
	refuse.Unlock()
	alice.post(general, "fresh")
	count := func(text string) (n int) {
		for _, e := range app.events() {
			if e.text == text {
				n++
			}
		}
		return n
	}
	deadline := time.Now().Add(waitFor)
	for count("fresh") == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the next event never came: %+v", app.events())
		}
		time.Sleep(20 * time.Millisecond)
	}
	doomed := count("doomed")
	time.Sleep(500 * time.Millisecond)
	if doomed < 3 || count("doomed") != doomed || count("fresh") != 1 {
		t.Fatalf("doomed tried %d then %d times, fresh %d; want several, then no more, and fresh once", doomed, count("doomed"), count("fresh"))
	}
}
