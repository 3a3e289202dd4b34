package events

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/confab/confab/internal/nodetest"
)

// verdict is what testdata/node/verify-server.js prints of a request.
type verdict struct {
	Verdict string            `json:"verdict"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
}

func waitVerdict(t *testing.T, p *nodetest.Proc) verdict {
	t.Helper()
	var v verdict
	if err := json.Unmarshal([]byte(p.Wait("VERIFY ")), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// What confab signs, Bolt's own verifySlackRequest accepts; a tampered
// body, a stale timestamp or another secret it refuses.
func TestBoltVerifiesSignature(t *testing.T) {
	const secret = "8f742231b10e8888abcd99yyyzzz85a5"
	p := nodetest.Run(t, "verify-server.js", map[string]string{"SLACK_SIGNING_SECRET": secret})
	url := "http://127.0.0.1:" + p.Wait("LISTENING ") + "/slack/events"
	ctx := context.Background()
	body := []byte(`{"type":"event_callback","team_id":"T1","api_app_id":"A1","event_id":"Ev1","event_time":1700000000,` +
		`"event":{"type":"app_mention","user":"U1","text":"<@U2> héllo 👋 \"quoted\" \\ ` + "\u2028" + ` \u00e9","ts":"1700000000.000100","channel":"C1"}}`)

	w := NewWebhook(WebhookConfig{})
	if res := w.Send(ctx, WebhookRequest{URL: url, Secret: secret, Body: body}); res.Outcome != Delivered {
		t.Fatalf("Send = %+v", res)
	}
	v := waitVerdict(t, p)
	if v.Verdict != "ok" || v.Body != string(body) {
		t.Fatalf("Bolt's verdict %+v", v)
	}
	if v.Headers["content-type"] != "application/json" || v.Headers["user-agent"] != WebhookUserAgent || v.Headers["x-slack-retry-num"] != "" {
		t.Errorf("headers as Node saw them: %v", v.Headers)
	}

	if res := w.Send(ctx, WebhookRequest{URL: url, Secret: secret, Body: body, Retry: 3, Reason: ReasonTimeout}); res.Outcome != Delivered {
		t.Fatalf("retry: Send = %+v", res)
	}
	if v := waitVerdict(t, p); v.Verdict != "ok" || v.Headers["x-slack-retry-num"] != "3" || v.Headers["x-slack-retry-reason"] != "http_timeout" {
		t.Errorf("retry: %+v", v)
	}

	// A body changed after signing.
	ts := time.Now().Unix()
	req, _ := http.NewRequest("POST", url, bytes.NewReader(bytes.Replace(body, []byte("U1"), []byte("U9"), 1)))
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(secret, ts, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if v := waitVerdict(t, p); resp.StatusCode != 401 || !strings.Contains(v.Verdict, "signature mismatch") {
		t.Errorf("tampered body: %d %q", resp.StatusCode, v.Verdict)
	}

	// Signed six minutes ago: past Bolt's five.
	stale := NewWebhook(WebhookConfig{Now: func() time.Time { return time.Now().Add(-6 * time.Minute) }})
	if res := stale.Send(ctx, WebhookRequest{URL: url, Secret: secret, Body: body}); res.Outcome != RetryLater || res.Status != 401 || res.Reason != ReasonHTTPError {
		t.Errorf("stale: Send = %+v", res)
	}
	if v := waitVerdict(t, p); !strings.Contains(v.Verdict, "stale") {
		t.Errorf("stale: %q", v.Verdict)
	}

	if res := w.Send(ctx, WebhookRequest{URL: url, Secret: "another app's secret", Body: body}); res.Outcome != RetryLater || res.Status != 401 {
		t.Errorf("other secret: Send = %+v", res)
	}
	if v := waitVerdict(t, p); !strings.Contains(v.Verdict, "signature mismatch") {
		t.Errorf("other secret: %q", v.Verdict)
	}
}

// Bolt's tutorial app over HTTP takes what Webhook sends: it passes the
// url_verification handshake, gets its app_mention, and answers "hello"
// through the Web API at SLACK_API_URL.
func TestBoltHTTPApp(t *testing.T) {
	const secret, token = "app-signing-secret", "xoxb-1-test"
	posted := make(chan map[string]string, 4)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("Authorization") != "Bearer "+token {
			io.WriteString(w, `{"ok":false,"error":"invalid_auth"}`)
			return
		}
		switch r.URL.Path {
		case "/api/auth.test":
			io.WriteString(w, `{"ok":true,"url":"http://confab/","team":"T","user":"bot","team_id":"T1","user_id":"UBOT","bot_id":"B1","is_enterprise_install":false}`)
		case "/api/chat.postMessage":
			r.ParseForm()
			posted <- map[string]string{"channel": r.Form.Get("channel"), "text": r.Form.Get("text"), "thread_ts": r.Form.Get("thread_ts")}
			io.WriteString(w, `{"ok":true,"channel":"C1","ts":"1700000001.000200"}`)
		default:
			io.WriteString(w, `{"ok":false,"error":"unknown_method"}`)
		}
	}))
	defer api.Close()

	p := nodetest.Run(t, "bolt-http.js", map[string]string{
		"SLACK_BOT_TOKEN": token, "SLACK_SIGNING_SECRET": secret, "SLACK_API_URL": api.URL + "/api/", "PORT": "0",
	})
	url := "http://127.0.0.1:" + p.Wait("READY ") + "/slack/events"
	ctx := context.Background()
	w := NewWebhook(WebhookConfig{})

	if err := w.VerifyURL(ctx, url, secret, "verification-token"); err != nil {
		t.Fatalf("VerifyURL with Bolt: %v", err)
	}

	envelope := func(id string, event string) []byte {
		return []byte(`{"token":"verification-token","team_id":"T1","api_app_id":"A1","type":"event_callback","event_id":"` + id +
			`","event_time":1700000000,"authorizations":[{"team_id":"T1","user_id":"UBOT","is_bot":true}],"event":` + event + `}`)
	}
	mention := `{"type":"app_mention","user":"U2","text":"<@UBOT> status?","ts":"1700000000.000100","channel":"C1","event_ts":"1700000000.000100"}`
	if res := w.Send(ctx, WebhookRequest{URL: url, Secret: secret, Body: envelope("Ev1", mention)}); res.Outcome != Delivered {
		t.Fatalf("app_mention: %+v", res)
	}
	var ev map[string]any
	if err := json.Unmarshal([]byte(p.Wait("EVENT ")), &ev); err != nil || ev["text"] != "<@UBOT> status?" || ev["user"] != "U2" {
		t.Errorf("Bolt's app_mention: %v %v", ev, err)
	}

	hello := `{"type":"message","channel_type":"channel","user":"U2","text":"hello there","ts":"1700000000.000300","channel":"C1","event_ts":"1700000000.000300"}`
	if res := w.Send(ctx, WebhookRequest{URL: url, Secret: secret, Body: envelope("Ev2", hello)}); res.Outcome != Delivered {
		t.Fatalf("message: %+v", res)
	}
	select {
	case got := <-posted:
		want := map[string]string{"channel": "C1", "text": "Hey there <@U2>!", "thread_ts": "1700000000.000300"}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("the app's reply: %s = %q, want %q", k, got[k], v)
			}
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the app did not answer hello")
	}

	// Bolt refuses what is not signed with its secret: 401, retried later.
	if res := w.Send(ctx, WebhookRequest{URL: url, Secret: "wrong", Body: envelope("Ev3", mention)}); res.Outcome != RetryLater || res.Status != 401 {
		t.Errorf("wrong secret: %+v", res)
	}
	if err := w.VerifyURL(ctx, url, "wrong", "verification-token"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("VerifyURL with the wrong secret: %v", err)
	}
}
