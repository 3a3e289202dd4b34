package api_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/confab/confab"
	"github.com/confab/confab/api"
	"github.com/confab/confab/chat"
	"golang.org/x/time/rate"
)

var _ api.Service = (*fake)(nil)

// MustServer returns an api.Server over f with rate limits off unless cfg
// sets them.
func MustServer(tb testing.TB, f *fake, cfg api.Config) *api.Server {
	tb.Helper()
	cfg.Chat = f
	if cfg.RateLimit == 0 {
		cfg.RateLimit = rate.Inf
	}
	if cfg.AuthRateLimit == 0 {
		cfg.AuthRateLimit = rate.Inf
	}
	return api.New(cfg)
}

type answer struct {
	status int
	header http.Header
	raw    string
	body   map[string]any
}

// serve runs req against h and decodes the JSON answer, failing the test if
// the answer is not a JSON object with a boolean "ok".
func serve(tb testing.TB, h http.Handler, req *http.Request) answer {
	tb.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	a := answer{status: rec.Code, header: rec.Header(), raw: rec.Body.String()}
	if ct := a.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		tb.Fatalf("%s %s: Content-Type = %q", req.Method, req.URL, ct)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &a.body); err != nil {
		tb.Fatalf("%s %s: answer %q is not a JSON object: %v", req.Method, req.URL, a.raw, err)
	}
	if _, ok := a.body["ok"].(bool); !ok {
		tb.Fatalf("%s %s: answer %q has no boolean ok", req.Method, req.URL, a.raw)
	}
	return a
}

// form posts form values to /api/method with the good token as Bearer.
func form(tb testing.TB, h http.Handler, method string, v url.Values) answer {
	tb.Helper()
	req := httptest.NewRequest(http.MethodPost, "/api/"+method, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+goodToken)
	return serve(tb, h, req)
}

// jsonBody posts body as JSON to /api/method with the good token as Bearer.
func jsonBody(tb testing.TB, h http.Handler, method, body string) answer {
	tb.Helper()
	req := httptest.NewRequest(http.MethodPost, "/api/"+method, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+goodToken)
	return serve(tb, h, req)
}

func (a answer) wantOK(tb testing.TB) answer {
	tb.Helper()
	if a.status != http.StatusOK || a.body["ok"] != true {
		tb.Fatalf("answer %d %s, want 200 ok:true", a.status, a.raw)
	}
	return a
}

func (a answer) wantError(tb testing.TB, status int, code string) {
	tb.Helper()
	if a.status != status || a.body["ok"] != false || a.body["error"] != code {
		tb.Fatalf("answer %d %s, want %d error %q", a.status, a.raw, status, code)
	}
}

func multipartBody(tb testing.TB, v url.Values) (string, *bytes.Buffer) {
	tb.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, vs := range v {
		if err := mw.WriteField(k, vs[0]); err != nil {
			tb.Fatal(err)
		}
	}
	fw, err := mw.CreateFormFile("file", "x.txt") // file parts are ignored
	if err != nil {
		tb.Fatal(err)
	}
	fw.Write([]byte("channel=CEVIL"))
	if err := mw.Close(); err != nil {
		tb.Fatal(err)
	}
	return mw.FormDataContentType(), &b
}

func TestParsePostMessage(t *testing.T) {
	want := chat.PostParams{Channel: "CGENERAL", Text: "hi <@UBOB> & co", ThreadTS: "1700000000.000001", ClientMsgID: "m1"}
	vals := url.Values{"channel": {want.Channel}, "text": {want.Text}, "thread_ts": {want.ThreadTS}, "client_msg_id": {want.ClientMsgID}}
	withToken := url.Values{"token": {goodToken}}
	for k, v := range vals {
		withToken[k] = v
	}
	jsonArgs, _ := json.Marshal(map[string]string{"channel": want.Channel, "text": want.Text, "thread_ts": want.ThreadTS, "client_msg_id": want.ClientMsgID})
	jsonWithToken, _ := json.Marshal(map[string]string{"token": goodToken, "channel": want.Channel, "text": want.Text, "thread_ts": want.ThreadTS, "client_msg_id": want.ClientMsgID})

	tests := []struct {
		name string
		req  func() *http.Request
	}{
		{"form with bearer", func() *http.Request {
			r := httptest.NewRequest("POST", "/api/chat.postMessage", strings.NewReader(vals.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Header.Set("Authorization", "Bearer "+goodToken)
			return r
		}},
		{"form with token field and charset", func() *http.Request {
			r := httptest.NewRequest("POST", "/api/chat.postMessage", strings.NewReader(withToken.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
			return r
		}},
		{"form without content type", func() *http.Request {
			return httptest.NewRequest("POST", "/api/chat.postMessage", strings.NewReader(withToken.Encode()))
		}},
		{"json with bearer", func() *http.Request {
			r := httptest.NewRequest("POST", "/api/chat.postMessage", bytes.NewReader(jsonArgs))
			r.Header.Set("Content-Type", "application/json; charset=utf-8")
			r.Header.Set("Authorization", "bearer "+goodToken)
			return r
		}},
		{"json with token field", func() *http.Request {
			r := httptest.NewRequest("POST", "/api/chat.postMessage", bytes.NewReader(jsonWithToken))
			r.Header.Set("Content-Type", "application/json")
			return r
		}},
		{"get with query", func() *http.Request {
			return httptest.NewRequest("GET", "/api/chat.postMessage?"+withToken.Encode(), nil)
		}},
		{"post with query and empty body", func() *http.Request {
			return httptest.NewRequest("POST", "/api/chat.postMessage?"+withToken.Encode(), nil)
		}},
		{"body wins over query", func() *http.Request {
			q := url.Values{"channel": {"CQUERY"}, "text": {"query text"}}
			r := httptest.NewRequest("POST", "/api/chat.postMessage?"+q.Encode(), strings.NewReader(withToken.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}},
		{"multipart", func() *http.Request {
			ct, body := multipartBody(t, withToken)
			r := httptest.NewRequest("POST", "/api/chat.postMessage", body)
			r.Header.Set("Content-Type", ct)
			return r
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := stocked()
			var got chat.PostParams
			var gotUser *confab.User
			f.PostMessageFn = func(_ context.Context, u *confab.User, p chat.PostParams) (*confab.Message, error) {
				got, gotUser = p, u
				return sampleMessage(p.Text), nil
			}
			a := serve(t, MustServer(t, f, api.Config{}), tt.req()).wantOK(t)
			if got != want {
				t.Errorf("PostParams = %+v, want %+v", got, want)
			}
			if gotUser != alice {
				t.Errorf("caller = %v, want alice", gotUser)
			}
			if !strings.Contains(a.raw, `"text":"hi <@UBOB> & co"`) {
				t.Errorf("answer %s does not carry the text unescaped", a.raw)
			}
		})
	}
}

func TestParseTypedValues(t *testing.T) {
	tests := []struct {
		name, ct, body string
		want           chat.HistoryParams
	}{
		{"json typed", "application/json", `{"channel":"C1","limit":50,"inclusive":true,"latest":"1.5","oldest":null,"cursor":"cur"}`,
			chat.HistoryParams{Channel: "C1", Limit: 50, Inclusive: true, Latest: "1.5", Cursor: "cur"}},
		{"json strings", "application/json", `{"channel":"C1","limit":"50","inclusive":"1"}`,
			chat.HistoryParams{Channel: "C1", Limit: 50, Inclusive: true}},
		{"json number bool", "application/json", `{"channel":"C1","inclusive":0}`,
			chat.HistoryParams{Channel: "C1", Limit: 100}},
		{"form", "application/x-www-form-urlencoded", `channel=C1&limit=7&inclusive=true&oldest=2`,
			chat.HistoryParams{Channel: "C1", Limit: 7, Inclusive: true, Oldest: "2"}},
		{"limit zero is default", "application/x-www-form-urlencoded", `channel=C1&limit=0&inclusive=false`,
			chat.HistoryParams{Channel: "C1", Limit: 100}},
		{"limit clamped", "application/x-www-form-urlencoded", `channel=C1&limit=5000`,
			chat.HistoryParams{Channel: "C1", Limit: 1000}},
		{"limit huge clamped", "application/json", `{"channel":"C1","limit":99999999999999999999999}`,
			chat.HistoryParams{Channel: "C1", Limit: 1000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := stocked()
			var got chat.HistoryParams
			f.HistoryFn = func(_ context.Context, _ *confab.User, p chat.HistoryParams) (*chat.Page, error) {
				got = p
				return &chat.Page{}, nil
			}
			req := httptest.NewRequest("POST", "/api/conversations.history", strings.NewReader(tt.body))
			req.Header.Set("Content-Type", tt.ct)
			req.Header.Set("Authorization", "Bearer "+goodToken)
			serve(t, MustServer(t, f, api.Config{}), req).wantOK(t)
			if got != tt.want {
				t.Errorf("HistoryParams = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseUsersAndPrefs(t *testing.T) {
	usersTests := []struct {
		name, ct, body string
		want           []string
	}{
		{"comma form", "application/x-www-form-urlencoded", "users=UBOB,%20UCAROL,,UBOB", []string{"UBOB", "UCAROL"}},
		{"comma json", "application/json", `{"users":"UBOB,UCAROL"}`, []string{"UBOB", "UCAROL"}},
		{"array json", "application/json", `{"users":["UBOB","UCAROL"]}`, []string{"UBOB", "UCAROL"}},
		{"array in form", "application/x-www-form-urlencoded", `users=["UBOB"]`, []string{"UBOB"}},
	}
	for _, tt := range usersTests {
		t.Run(tt.name, func(t *testing.T) {
			f := stocked()
			var got []string
			f.OpenConversationFn = func(_ context.Context, _ *confab.User, users []string) (*confab.ChannelView, bool, error) {
				got = users
				return sampleDM(), false, nil
			}
			req := httptest.NewRequest("POST", "/api/conversations.open", strings.NewReader(tt.body))
			req.Header.Set("Content-Type", tt.ct)
			req.Header.Set("Authorization", "Bearer "+goodToken)
			serve(t, MustServer(t, f, api.Config{}), req).wantOK(t)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("users = %q, want %q", got, tt.want)
			}
		})
	}

	tru, fal := true, false
	prefsTests := []struct {
		body string
		want chat.PrefsUpdate
	}{
		{`{"channel":"C1","is_muted":true}`, chat.PrefsUpdate{IsMuted: &tru}},
		{`{"channel":"C1","is_starred":"0"}`, chat.PrefsUpdate{IsStarred: &fal}},
		{`{"channel":"C1","is_muted":false,"is_starred":1}`, chat.PrefsUpdate{IsMuted: &fal, IsStarred: &tru}},
		{`{"channel":"C1"}`, chat.PrefsUpdate{}},
	}
	for _, tt := range prefsTests {
		f := stocked()
		var got chat.PrefsUpdate
		f.SetPrefsFn = func(_ context.Context, _ *confab.User, _ string, p chat.PrefsUpdate) error {
			got = p
			return nil
		}
		jsonBody(t, MustServer(t, f, api.Config{}), "conversations.setPrefs", tt.body).wantOK(t)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("setPrefs(%s) = %s, want %s", tt.body, prefs(got), prefs(tt.want))
		}
	}
}

func prefs(p chat.PrefsUpdate) string {
	s := func(b *bool) string {
		if b == nil {
			return "nil"
		}
		return strconv.FormatBool(*b)
	}
	return "{muted:" + s(p.IsMuted) + " starred:" + s(p.IsStarred) + "}"
}

func TestListTypes(t *testing.T) {
	tests := []struct {
		types string
		want  []string
		err   string
	}{
		{"", []string{confab.KindPublic}, ""},
		{"public_channel,private_channel", []string{confab.KindPublic, confab.KindPrivate}, ""},
		{"im, mpim", []string{confab.KindDM, confab.KindGroupDM}, ""},
		{"public_channel,bogus", nil, "invalid_arguments"},
	}
	for _, tt := range tests {
		f := stocked()
		var got chat.ListChannelsParams
		f.ListChannelsFn = func(_ context.Context, _ *confab.User, p chat.ListChannelsParams) ([]*confab.ChannelView, string, error) {
			got = p
			return nil, "", nil
		}
		a := form(t, MustServer(t, f, api.Config{}), "conversations.list", url.Values{"types": {tt.types}, "exclude_archived": {"true"}, "cursor": {"c"}})
		if tt.err != "" {
			a.wantError(t, 200, tt.err)
			continue
		}
		a.wantOK(t)
		if !reflect.DeepEqual(got.Types, tt.want) || !got.ExcludeArchived || got.Cursor != "c" || got.Limit != 100 {
			t.Errorf("types %q: params = %+v, want types %q", tt.types, got, tt.want)
		}
		if a.raw != `{"ok":true,"channels":[],"response_metadata":{"next_cursor":""}}`+"\n" {
			t.Errorf("empty list answer = %s", a.raw)
		}
	}
}

func TestCheckpoints(t *testing.T) {
	tests := []struct {
		name, ct, body string
		want           map[string]int64 // nil: invalid_arguments
	}{
		{"json object", "application/json", `{"checkpoints":{"C1":5,"D2":0},"limit":10}`, map[string]int64{"C1": 5, "D2": 0}},
		{"json string", "application/json", `{"checkpoints":"{\"C1\":5}"}`, map[string]int64{"C1": 5}},
		{"form string", "application/x-www-form-urlencoded", "checkpoints=" + url.QueryEscape(`{"C1":5,"G3":"9"}`), map[string]int64{"C1": 5, "G3": 9}},
		{"absent", "application/x-www-form-urlencoded", "limit=3", map[string]int64{}},
		{"empty object", "application/json", `{"checkpoints":{}}`, map[string]int64{}},
		{"junk", "application/x-www-form-urlencoded", "checkpoints=junk", nil},
		{"array", "application/json", `{"checkpoints":[1,2]}`, nil},
		{"negative", "application/json", `{"checkpoints":{"C1":-1}}`, nil},
		{"fraction", "application/json", `{"checkpoints":{"C1":1.5}}`, nil},
		{"word", "application/json", `{"checkpoints":{"C1":"x"}}`, nil},
		{"nested", "application/json", `{"checkpoints":{"C1":{"a":1}}}`, nil},
		{"null seq", "application/json", `{"checkpoints":{"C1":null}}`, nil},
		{"number", "application/json", `{"checkpoints":5}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := stocked()
			var got map[string]int64
			f.CatchUpFn = func(_ context.Context, _ *confab.User, cps map[string]int64, _ int) ([]chat.CatchUpChannel, error) {
				got = cps
				return nil, nil
			}
			req := httptest.NewRequest("POST", "/api/client.catchup", strings.NewReader(tt.body))
			req.Header.Set("Content-Type", tt.ct)
			req.Header.Set("Authorization", "Bearer "+goodToken)
			a := serve(t, MustServer(t, f, api.Config{}), req)
			if tt.want == nil {
				a.wantError(t, 200, "invalid_arguments")
				if got != nil {
					t.Errorf("CatchUp called with %v", got)
				}
				return
			}
			a.wantOK(t)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("checkpoints = %v, want %v", got, tt.want)
			}
			if a.raw != `{"ok":true,"channels":[]}`+"\n" {
				t.Errorf("empty catchup answer = %s", a.raw)
			}
		})
	}
}

// TestAnswerShapes calls every method with the stocked fake and checks the
// keys and a few values of each answer.
func TestAnswerShapes(t *testing.T) {
	tests := []struct {
		method string
		args   url.Values
		want   map[string]any // key → value; nil value: only present
	}{
		{"auth.signup", url.Values{"team": {"acme"}, "name": {"alice"}, "password": {"hunter22"}},
			map[string]any{"token": "xoxp-new", "user_id": "UALICE", "team_id": "TTEAM", "user": "alice", "team": "Acme"}},
		{"auth.login", url.Values{"team": {"acme"}, "name": {"alice"}, "password": {"hunter22"}},
			map[string]any{"token": "xoxp-login", "user_id": "UALICE", "team_id": "TTEAM"}},
		{"auth.test", nil, map[string]any{"url": "http://example.com/", "team": "Acme", "user": "alice", "team_id": "TTEAM", "user_id": "UALICE"}},
		{"auth.revoke", nil, map[string]any{"revoked": true}},
		{"auth.revoke", url.Values{"test": {"1"}}, map[string]any{"revoked": false}},
		{"conversations.create", url.Values{"name": {"random"}, "is_private": {"true"}},
			map[string]any{"channel.id": "CGENERAL", "channel.name": "random", "channel.is_private": true, "channel.is_group": true}},
		{"conversations.join", url.Values{"channel": {"CGENERAL"}}, map[string]any{"channel.id": "CGENERAL", "already_in_channel": true}},
		{"conversations.leave", url.Values{"channel": {"CGENERAL"}}, map[string]any{"not_in_channel": true}},
		{"conversations.invite", url.Values{"channel": {"CGENERAL"}, "users": {"UBOB"}}, map[string]any{"channel.id": "CGENERAL"}},
		{"conversations.open", url.Values{"users": {"UBOB"}},
			map[string]any{"channel.id": "DALICEBOB", "channel.is_im": true, "channel.user": "UBOB", "already_open": true, "no_op": true}},
		{"conversations.list", nil, map[string]any{"channels.0.id": "CGENERAL", "response_metadata.next_cursor": "next-channels"}},
		{"conversations.info", url.Values{"channel": {"CGENERAL"}},
			map[string]any{"channel.id": "CGENERAL", "channel.name": "general", "channel.is_channel": true, "channel.is_member": true,
				"channel.topic.value": "the topic", "channel.topic.last_set": 1700000000.0, "channel.num_members": 2.0,
				"channel.last_read": "1700000000.000123", "channel.unread_count": 2.0, "channel.latest_seq": 7.0, "channel.created": 1700000000.0}},
		{"conversations.members", url.Values{"channel": {"CGENERAL"}}, map[string]any{"members.1": "UBOB", "response_metadata.next_cursor": ""}},
		{"conversations.history", url.Values{"channel": {"CGENERAL"}},
			map[string]any{"messages.0.text": "newest", "messages.0.ts": "1700000000.000123", "messages.0.type": "message", "messages.0.user": "UALICE",
				"messages.0.reactions.0.name": "tada", "messages.0.reactions.0.count": 1.0, "messages.1.text": "older",
				"has_more": true, "pin_count": 0.0, "response_metadata.next_cursor": "next-history"}},
		{"conversations.replies", url.Values{"channel": {"CGENERAL"}, "ts": {"1700000000.000123"}},
			map[string]any{"messages.0.text": "parent", "has_more": false, "response_metadata.next_cursor": ""}},
		{"conversations.mark", url.Values{"channel": {"CGENERAL"}, "ts": {"1700000000.000123"}}, map[string]any{}},
		{"conversations.setTopic", url.Values{"channel": {"CGENERAL"}, "topic": {"new topic"}}, map[string]any{"channel.topic.value": "new topic"}},
		{"conversations.setPurpose", url.Values{"channel": {"CGENERAL"}, "purpose": {"why"}}, map[string]any{"channel.purpose.value": "why"}},
		{"conversations.archive", url.Values{"channel": {"CGENERAL"}}, map[string]any{}},
		{"conversations.setPrefs", url.Values{"channel": {"CGENERAL"}, "is_muted": {"1"}}, map[string]any{}},
		{"chat.postMessage", url.Values{"channel": {"CGENERAL"}, "text": {"hello"}},
			map[string]any{"channel": "CGENERAL", "ts": "1700000000.000123", "message.text": "hello", "message.seq": 8.0, "message.user": "UALICE"}},
		{"chat.update", url.Values{"channel": {"CGENERAL"}, "ts": {"1700000000.000123"}, "text": {"edited"}},
			map[string]any{"channel": "CGENERAL", "ts": "1700000000.000123", "text": "edited", "message.text": "edited", "message.edited.ts": "1700000000.000124"}},
		{"chat.delete", url.Values{"channel": {"CGENERAL"}, "ts": {"1700000000.000123"}}, map[string]any{"channel": "CGENERAL", "ts": "1700000000.000123"}},
		{"reactions.add", url.Values{"channel": {"CGENERAL"}, "timestamp": {"1700000000.000123"}, "name": {"tada"}}, map[string]any{}},
		{"reactions.remove", url.Values{"channel": {"CGENERAL"}, "ts": {"1700000000.000123"}, "name": {"tada"}}, map[string]any{}},
		{"users.list", nil, map[string]any{"members.0.id": "UALICE", "members.0.profile.display_name": "al", "members.1.name": "bob",
			"response_metadata.next_cursor": "next-users"}},
		{"users.info", url.Values{"user": {"UBOB"}}, map[string]any{"user.id": "UBOB", "user.team_id": "TTEAM", "user.name": "bob",
			"user.deleted": false, "user.is_bot": false, "user.real_name": "", "user.profile.real_name": ""}},
		{"users.info", url.Values{"user": {"UALICE"}}, map[string]any{"user.id": "UALICE", "user.is_owner": true, "user.is_admin": true, "user.is_primary_owner": true}},
		{"users.getPresence", url.Values{"user": {"UBOB"}}, map[string]any{"presence": "active"}},
		{"users.setPresence", url.Values{"presence": {"away"}}, map[string]any{}},
		{"client.boot", nil, map[string]any{"self.id": "UALICE", "team.id": "TTEAM", "team.domain": "acme", "channels.0.id": "CGENERAL",
			"channels.0.latest.text": "latest", "channels.0.is_muted": false, "channels.0.is_starred": false, "channels.0.unread_count": 2.0,
			"channels.1.id": "DALICEBOB"}},
		{"client.catchup", url.Values{"checkpoints": {`{"CGENERAL":3}`}},
			map[string]any{"channels.0.channel": "CGENERAL", "channels.0.has_more": false, "channels.0.events.0.text": "missed", "channels.0.events.0.seq": 8.0,
				"channels.0.mention_count": 2.0}},
		{"rtm.connect", nil, map[string]any{"url": "ws://example.com/rtm/TICKET1", "self.id": "UALICE", "self.name": "alice",
			"team.id": "TTEAM", "team.name": "Acme", "team.domain": "acme"}},
	}
	srv := MustServer(t, stocked(), api.Config{})
	seen := map[string]bool{}
	for _, tt := range tests {
		seen[tt.method] = true
		a := form(t, srv, tt.method, tt.args).wantOK(t)
		for path, want := range tt.want {
			got, found := lookup(a.body, path)
			if !found {
				t.Errorf("%s: no %s in %s", tt.method, path, a.raw)
			} else if want != nil && !reflect.DeepEqual(got, want) {
				t.Errorf("%s: %s = %#v, want %#v", tt.method, path, got, want)
			}
		}
	}
	for _, m := range allMethods {
		if !seen[m] {
			t.Errorf("method %s has no shape test", m)
		}
	}
}

// allMethods are the Web API methods the server must know.
var allMethods = []string{
	"auth.signup", "auth.login", "auth.test", "auth.revoke",
	"conversations.create", "conversations.join", "conversations.leave", "conversations.invite", "conversations.open",
	"conversations.list", "conversations.info", "conversations.members", "conversations.history", "conversations.replies",
	"conversations.mark", "conversations.setTopic", "conversations.setPurpose", "conversations.archive", "conversations.setPrefs",
	"chat.postMessage", "chat.update", "chat.delete", "reactions.add", "reactions.remove",
	"users.list", "users.info", "users.getPresence", "users.setPresence",
	"client.boot", "client.catchup", "rtm.connect",
}

// lookup follows a dotted path ("channels.0.id") into decoded JSON.
func lookup(v any, path string) (any, bool) {
	for _, p := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			var found bool
			if v, found = x[p]; !found {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

func TestOmittedFlags(t *testing.T) {
	f := stocked()
	f.JoinChannelFn = func(context.Context, *confab.User, string) (*confab.ChannelView, bool, error) {
		return sampleView(), false, nil
	}
	f.LeaveChannelFn = func(context.Context, *confab.User, string) (bool, error) { return false, nil }
	srv := MustServer(t, f, api.Config{})
	if a := form(t, srv, "conversations.join", url.Values{"channel": {"C1"}}).wantOK(t); a.body["already_in_channel"] != nil {
		t.Errorf("join answer %s has already_in_channel", a.raw)
	}
	if a := form(t, srv, "conversations.leave", url.Values{"channel": {"C1"}}).wantOK(t); a.raw != `{"ok":true}`+"\n" {
		t.Errorf("leave answer = %s, want {\"ok\":true}", a.raw)
	}
}

func TestReactionArgs(t *testing.T) {
	f := stocked()
	var got []string
	f.AddReactionFn = func(_ context.Context, _ *confab.User, ch, ts, name string) error {
		got = []string{ch, ts, name}
		return nil
	}
	form(t, MustServer(t, f, api.Config{}), "reactions.add", url.Values{"channel": {"C1"}, "timestamp": {"1.000001"}, "name": {":thumbsup:"}}).wantOK(t)
	if want := []string{"C1", "1.000001", "thumbsup"}; !reflect.DeepEqual(got, want) {
		t.Errorf("AddReaction args = %q, want %q", got, want)
	}
}

func TestGetPresenceDefaultsToCaller(t *testing.T) {
	f := stocked()
	var got string
	f.GetPresenceFn = func(_ context.Context, _ *confab.User, id string) (string, error) {
		got = id
		return confab.PresenceAway, nil
	}
	form(t, MustServer(t, f, api.Config{}), "users.getPresence", nil).wantOK(t)
	if got != alice.ID {
		t.Errorf("GetPresence(%q), want the caller %q", got, alice.ID)
	}
}

func TestErrorMapping(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
		code   string
	}{
		{"not found", confab.ErrChannelNotFound, 200, "channel_not_found"},
		{"wrapped not found", fmt.Errorf("post: %w", confab.ErrNotInChannel), 200, "not_in_channel"},
		{"conflict", confab.ErrNameTaken, 200, "name_taken"},
		{"invalid", confab.Errorf(confab.EINVALID, "msg_too_long"), 200, "msg_too_long"},
		{"forbidden", confab.Errorf(confab.EFORBIDDEN, "cant_delete_message"), 200, "cant_delete_message"},
		{"rate limit", confab.Errorf(confab.ERATELIMIT, "ratelimited"), 429, "ratelimited"},
		{"internal", confab.Errorf(confab.EINTERNAL, "secret detail"), 500, "internal_error"},
		{"unavailable", &confab.Error{Code: confab.EUNAVAILABLE, Message: "no_gateway"}, 503, "no_gateway"},
		{"plain error", errors.New("disk on fire: secret detail"), 500, "internal_error"},
		{"no message", &confab.Error{Code: confab.EINVALID}, 200, "invalid_arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			f := stocked()
			f.PostMessageFn = func(context.Context, *confab.User, chat.PostParams) (*confab.Message, error) { return nil, tt.err }
			srv := MustServer(t, f, api.Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			a := form(t, srv, "chat.postMessage", url.Values{"channel": {"C1"}, "text": {"x"}})
			a.wantError(t, tt.status, tt.code)
			if strings.Contains(a.raw, "secret") {
				t.Errorf("answer %s leaks the internal detail", a.raw)
			}
			if tt.status == 500 && !strings.Contains(logs.String(), "secret detail") {
				t.Errorf("log %q lacks the internal detail", logs.String())
			}
			if tt.status == 429 && a.header.Get("Retry-After") == "" {
				t.Errorf("429 without Retry-After")
			}
		})
	}
}

func TestRequestErrors(t *testing.T) {
	big := "channel=C1&text=" + strings.Repeat("x", 2000)
	tests := []struct {
		name, httpMethod, path, ct, auth, body string
		code                                   string
	}{
		{"unknown method", "POST", "/api/chat.nope", "", "", "", "unknown_method"},
		{"unknown method authed", "POST", "/api/chat.nope", "", "Bearer " + goodToken, "", "unknown_method"},
		{"no method", "GET", "/api/", "", "", "", "unknown_method"},
		{"outside api", "GET", "/elsewhere", "", "", "", "unknown_method"},
		{"no token", "POST", "/api/auth.test", "", "", "", "not_authed"},
		{"empty bearer", "POST", "/api/auth.test", "", "Bearer ", "", "not_authed"},
		{"basic auth", "POST", "/api/auth.test", "", "Basic dXNlcjpwYXNz", "", "not_authed"},
		{"bad token", "POST", "/api/auth.test", "", "Bearer xoxp-bad", "", "invalid_auth"},
		{"bad token field", "POST", "/api/auth.test", "application/x-www-form-urlencoded", "", "token=xoxp-bad", "invalid_auth"},
		{"huge token", "POST", "/api/auth.test", "", "Bearer " + strings.Repeat("t", 5000), "", "invalid_auth"},
		{"malformed json", "POST", "/api/chat.postMessage", "application/json", "Bearer " + goodToken, `{"channel":`, "invalid_arguments"},
		{"json array", "POST", "/api/chat.postMessage", "application/json", "Bearer " + goodToken, `["channel"]`, "invalid_arguments"},
		{"json string", "POST", "/api/chat.postMessage", "application/json", "Bearer " + goodToken, `"channel"`, "invalid_arguments"},
		{"json null", "POST", "/api/chat.postMessage", "application/json", "Bearer " + goodToken, `null`, "invalid_arguments"},
		{"json trailing junk", "POST", "/api/chat.postMessage", "application/json", "Bearer " + goodToken, `{"channel":"C1"} x`, "invalid_arguments"},
		{"malformed form", "POST", "/api/chat.postMessage", "application/x-www-form-urlencoded", "Bearer " + goodToken, "channel=%zz", "invalid_arguments"},
		{"malformed query", "GET", "/api/chat.postMessage?channel=%zz", "", "Bearer " + goodToken, "", "invalid_arguments"},
		{"multipart without boundary", "POST", "/api/chat.postMessage", "multipart/form-data", "Bearer " + goodToken, "--x\r\n", "invalid_arguments"},
		{"broken multipart", "POST", "/api/chat.postMessage", "multipart/form-data; boundary=zz", "Bearer " + goodToken, "--zz\r\nnot a header\r\n", "invalid_arguments"},
		{"unsupported type", "POST", "/api/chat.postMessage", "text/xml", "Bearer " + goodToken, "<channel/>", "invalid_arguments"},
		{"bad content type", "POST", "/api/chat.postMessage", "a/b; ;;=", "Bearer " + goodToken, "channel=C1", "invalid_arguments"},
		{"oversize body", "POST", "/api/chat.postMessage", "application/x-www-form-urlencoded", "Bearer " + goodToken, big, "invalid_arguments"},
		{"bad limit", "POST", "/api/conversations.history", "application/x-www-form-urlencoded", "Bearer " + goodToken, "channel=C1&limit=ten", "invalid_arguments"},
		{"negative limit", "POST", "/api/conversations.history", "application/x-www-form-urlencoded", "Bearer " + goodToken, "channel=C1&limit=-5", "invalid_arguments"},
		{"float limit", "POST", "/api/users.list", "application/json", "Bearer " + goodToken, `{"limit":1.5}`, "invalid_arguments"},
		{"bad bool", "POST", "/api/conversations.create", "application/x-www-form-urlencoded", "Bearer " + goodToken, "name=x&is_private=maybe", "invalid_arguments"},
		{"missing channel", "POST", "/api/chat.postMessage", "application/x-www-form-urlencoded", "Bearer " + goodToken, "text=hi", "invalid_arguments"},
		{"missing ts", "POST", "/api/conversations.replies", "application/x-www-form-urlencoded", "Bearer " + goodToken, "channel=C1", "invalid_arguments"},
		{"missing name", "POST", "/api/reactions.add", "application/x-www-form-urlencoded", "Bearer " + goodToken, "channel=C1&timestamp=1.1", "invalid_arguments"},
		{"missing timestamp", "POST", "/api/reactions.remove", "application/x-www-form-urlencoded", "Bearer " + goodToken, "channel=C1&name=x", "invalid_arguments"},
		{"empty users", "POST", "/api/conversations.open", "application/x-www-form-urlencoded", "Bearer " + goodToken, "users=%20,%20", "invalid_arguments"},
		{"bad users array", "POST", "/api/conversations.invite", "application/json", "Bearer " + goodToken, `{"channel":"C1","users":[1,2]}`, "invalid_arguments"},
		{"missing user", "POST", "/api/users.info", "", "Bearer " + goodToken, "", "invalid_arguments"},
		{"missing password", "POST", "/api/auth.login", "application/x-www-form-urlencoded", "", "team=acme&name=alice", "invalid_arguments"},
		{"missing presence", "POST", "/api/users.setPresence", "", "Bearer " + goodToken, "", "invalid_arguments"},
	}
	f := stocked()
	calls := 0
	f.PostMessageFn = func(_ context.Context, _ *confab.User, p chat.PostParams) (*confab.Message, error) {
		calls++
		return sampleMessage(p.Text), nil
	}
	srv := MustServer(t, f, api.Config{MaxBodyBytes: 1000})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.httpMethod, "/", strings.NewReader(tt.body))
			req.URL, _ = url.Parse(tt.path)
			if tt.ct != "" {
				req.Header.Set("Content-Type", tt.ct)
			}
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			serve(t, srv, req).wantError(t, 200, tt.code)
		})
	}
	if calls != 0 {
		t.Errorf("PostMessage called %d times by failed requests", calls)
	}
}

func TestRateLimitPerToken(t *testing.T) {
	f := stocked()
	srv := MustServer(t, f, api.Config{RateLimit: rate.Every(time.Hour), RateBurst: 2})
	for i := 0; i < 2; i++ {
		form(t, srv, "auth.test", nil).wantOK(t)
	}
	a := form(t, srv, "auth.test", nil)
	a.wantError(t, 429, "ratelimited")
	retry, err := strconv.Atoi(a.header.Get("Retry-After"))
	if err != nil || retry < 1 || retry > 3600 {
		t.Errorf("Retry-After = %q, want whole seconds in [1,3600]", a.header.Get("Retry-After"))
	}
	// Another token has its own bucket: it reaches authentication.
	req := httptest.NewRequest("POST", "/api/auth.test", nil)
	req.Header.Set("Authorization", "Bearer xoxp-other")
	serve(t, srv, req).wantError(t, 200, "invalid_auth")
}

func TestRateLimitAuthPerIP(t *testing.T) {
	srv := MustServer(t, stocked(), api.Config{AuthRateLimit: rate.Every(time.Hour), AuthRateBurst: 1})
	login := func(remote string) answer {
		req := httptest.NewRequest("POST", "/api/auth.login", strings.NewReader("team=acme&name=alice&password=hunter22"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.RemoteAddr = remote
		return serve(t, srv, req)
	}
	login("192.0.2.1:1000").wantOK(t)
	a := login("192.0.2.1:2000") // same IP, other port
	a.wantError(t, 429, "ratelimited")
	if a.header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	login("192.0.2.2:1000").wantOK(t)
	// Token methods are not limited per IP.
	for i := 0; i < 3; i++ {
		form(t, srv, "auth.test", nil).wantOK(t)
	}
}

func TestRTMURL(t *testing.T) {
	srv := MustServer(t, stocked(), api.Config{})
	req := httptest.NewRequest("POST", "https://chat.example.org/api/rtm.connect", nil)
	req.TLS = &tls.ConnectionState{}
	req.Header.Set("Authorization", "Bearer "+goodToken)
	if a := serve(t, srv, req).wantOK(t); a.body["url"] != "wss://chat.example.org/rtm/TICKET1" {
		t.Errorf("url = %v, want wss://chat.example.org/rtm/TICKET1", a.body["url"])
	}

	custom := MustServer(t, stocked(), api.Config{RTMURL: func(_ *http.Request, ticket string) string {
		return "wss://gw7.example.org/rtm/" + ticket
	}})
	if a := form(t, custom, "rtm.connect", nil).wantOK(t); a.body["url"] != "wss://gw7.example.org/rtm/TICKET1" {
		t.Errorf("url = %v, want the custom one", a.body["url"])
	}

	// A ticket for a gateway the balancer chose carries that gateway's URL.
	picked := stocked()
	picked.IssueTicketFn = func(context.Context, *confab.User, string) (*confab.Ticket, error) {
		return &confab.Ticket{Value: "TICKET2", Expires: 1, GatewayURL: "ws://127.0.0.1:9003/"}, nil
	}
	if a := form(t, MustServer(t, picked, api.Config{}), "rtm.connect", nil).wantOK(t); a.body["url"] != "ws://127.0.0.1:9003/rtm/TICKET2" {
		t.Errorf("url = %v, want the chosen gateway's", a.body["url"])
	}

	// A ticket with a slot tells the client when to dial.
	paced := stocked()
	paced.IssueTicketFn = func(context.Context, *confab.User, string) (*confab.Ticket, error) {
		return &confab.Ticket{Value: "TICKET3", Expires: 1, Wait: 1500 * time.Millisecond}, nil
	}
	if a := form(t, MustServer(t, paced, api.Config{}), "rtm.connect", nil).wantOK(t); a.body["dial_after_ms"] != 1500.0 {
		t.Errorf("dial_after_ms = %v, want 1500", a.body["dial_after_ms"])
	}
}

func TestNeverRedirectsAndHead(t *testing.T) {
	srv := MustServer(t, stocked(), api.Config{})
	for _, p := range []string{"/api//auth.test", "/api/../api/auth.test", "/api/auth.test/"} {
		req := httptest.NewRequest("GET", "/", nil)
		req.URL.Path = p
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code >= 300 && rec.Code < 400 {
			t.Errorf("GET %s redirected: %d", p, rec.Code)
		}
	}
	req := httptest.NewRequest("HEAD", "/api/auth.test", nil)
	req.Header.Set("Authorization", "Bearer "+goodToken)
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	if rec.Code != 200 || rec.Body.Len() != 0 {
		t.Errorf("HEAD = %d with %d bytes, want 200 without a body", rec.Code, rec.Body.Len())
	}
}

func TestBodyReadError(t *testing.T) {
	srv := MustServer(t, stocked(), api.Config{})
	req := httptest.NewRequest("POST", "/api/auth.test", io.NopCloser(errReader{}))
	req.Header.Set("Authorization", "Bearer "+goodToken)
	serve(t, srv, req).wantError(t, 200, "invalid_arguments")
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

// TestNilResults: a service that answers neither a result nor an error is a
// bug; the API answers 500 internal_error instead of crashing.
func TestNilResults(t *testing.T) {
	f := &fake{}
	fv := reflect.ValueOf(f).Elem()
	for i := 0; i < fv.NumField(); i++ {
		fn := fv.Field(i)
		fn.Set(reflect.MakeFunc(fn.Type(), func([]reflect.Value) []reflect.Value {
			out := make([]reflect.Value, fn.Type().NumOut())
			for j := range out {
				out[j] = reflect.Zero(fn.Type().Out(j))
			}
			return out
		}))
	}
	f.AuthenticateFn = func(context.Context, string) (*confab.User, error) { return alice, nil }
	srv := MustServer(t, f, api.Config{})
	args := url.Values{"channel": {"C1"}, "ts": {"1.1"}, "timestamp": {"1.1"}, "name": {"x"}, "users": {"UBOB"},
		"user": {"UBOB"}, "presence": {"away"}, "team": {"acme"}, "password": {"pw"}}
	returnsOnlyError := map[string]bool{"auth.revoke": true, "conversations.leave": true, "conversations.mark": true,
		"conversations.archive": true, "conversations.setPrefs": true, "reactions.add": true, "reactions.remove": true,
		"users.setPresence": true, "users.getPresence": true, "conversations.list": true, "conversations.members": true,
		"users.list": true, "client.catchup": true}
	for _, m := range allMethods {
		a := form(t, srv, m, args)
		if returnsOnlyError[m] {
			a.wantOK(t)
		} else {
			a.wantError(t, 500, "internal_error")
		}
	}
}

func TestOpenByChannel(t *testing.T) {
	f := stocked()
	var got string
	f.ChannelInfoFn = func(_ context.Context, _ *confab.User, ch string) (*confab.ChannelView, error) {
		got = ch
		return sampleDM(), nil
	}
	a := form(t, MustServer(t, f, api.Config{}), "conversations.open", url.Values{"channel": {"DALICEBOB"}}).wantOK(t)
	if got != "DALICEBOB" || a.body["already_open"] != true {
		t.Errorf("open by channel: ChannelInfo(%q), answer %s", got, a.raw)
	}
}

// Readers served the same shared page get one encoding of it: the second
// answer is the first one's bytes, even though its Page (a new value over
// the same shared messages) would encode differently if encoded again.
func TestSharedPageEncodedOnce(t *testing.T) {
	f := stocked()
	memo := new(chat.Memo)
	calls := 0
	f.HistoryFn = func(context.Context, *confab.User, chat.HistoryParams) (*chat.Page, error) {
		calls++
		return &chat.Page{Messages: []*confab.Message{sampleMessage(fmt.Sprintf("call %d", calls))}, Memo: memo}, nil
	}
	h := MustServer(t, f, api.Config{})
	first := form(t, h, "conversations.history", url.Values{"channel": {"CGENERAL"}}).wantOK(t)
	second := form(t, h, "conversations.history", url.Values{"channel": {"CGENERAL"}}).wantOK(t)
	if !strings.Contains(first.raw, `"text":"call 1"`) {
		t.Fatalf("first answer %s", first.raw)
	}
	if second.raw != first.raw {
		t.Fatalf("a page shared through one Memo was encoded twice:\n%s\n%s", first.raw, second.raw)
	}
	memo2 := new(chat.Memo) // another shared page: its own encoding
	f.HistoryFn = func(context.Context, *confab.User, chat.HistoryParams) (*chat.Page, error) {
		return &chat.Page{Messages: []*confab.Message{sampleMessage("other")}, Memo: memo2}, nil
	}
	if third := form(t, h, "conversations.history", url.Values{"channel": {"CGENERAL"}}).wantOK(t); !strings.Contains(third.raw, `"text":"other"`) {
		t.Fatalf("third answer %s", third.raw)
	}
}

// A catch-up shared by several clients (chat.CatchUpChannel.Memo) is
// encoded once: the second client gets the same bytes from the Memo, and
// the answer is the one encoding/json gives for the unshared catch-up.
func TestCatchUpSharedEncodedOnce(t *testing.T) {
	events := []json.RawMessage{confab.MessageEvent(sampleMessage("missed")), confab.MessageEvent(sampleMessage("also missed"))}
	memo := new(chat.Memo)
	f := stocked()
	shared := true
	f.CatchUpFn = func(context.Context, *confab.User, map[string]int64, int) ([]chat.CatchUpChannel, error) {
		cc := []chat.CatchUpChannel{{Channel: "CGENERAL", Events: events, HasMore: true}, {Channel: "CRANDOM", Events: events[:1]}}
		if shared {
			cc[0].Memo = memo
		}
		return cc, nil
	}
	srv := MustServer(t, f, api.Config{})
	call := func() string {
		req := httptest.NewRequest("POST", "/api/client.catchup", strings.NewReader(`{"checkpoints":{"CGENERAL":1}}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+goodToken)
		a := serve(t, srv, req)
		a.wantOK(t)
		return a.raw
	}
	first := call()
	cached, _ := memo.Do(func() any { return nil }).([]byte)
	if !strings.HasPrefix(string(cached), `{"channel":"CGENERAL","events":[`) {
		t.Fatalf("the Memo holds %q, want the channel's encoding", cached)
	}
	if second := call(); second != first {
		t.Fatalf("second answer %s, first %s", second, first)
	}
	shared = false
	if unshared := call(); unshared != first {
		t.Fatalf("unshared answer %s\nshared answer %s", unshared, first)
	}
	var got struct {
		OK       bool
		Channels []struct {
			Channel string
			Events  []json.RawMessage
			HasMore bool `json:"has_more"`
		}
	}
	if err := json.Unmarshal([]byte(first), &got); err != nil || !got.OK || len(got.Channels) != 2 ||
		len(got.Channels[0].Events) != 2 || !got.Channels[0].HasMore || len(got.Channels[1].Events) != 1 {
		t.Fatalf("answer %s (%v)", first, err)
	}
}

// Each caller of a shared catch-up gets their own mention_count: the
// shared encoding (the Memo) holds none, and the count is added to each
// caller's copy.
func TestCatchUpMentionCountPerCaller(t *testing.T) {
	events := []json.RawMessage{confab.MessageEvent(sampleMessage("missed"))}
	memo := new(chat.Memo)
	f := stocked()
	var count int64
	f.CatchUpFn = func(context.Context, *confab.User, map[string]int64, int) ([]chat.CatchUpChannel, error) {
		count += 2
		return []chat.CatchUpChannel{{Channel: "CGENERAL", Events: events, Memo: memo, MentionCount: count}}, nil
	}
	srv := MustServer(t, f, api.Config{})
	for _, want := range []float64{2, 4} {
		a := form(t, srv, "client.catchup", url.Values{"checkpoints": {`{"CGENERAL":1}`}}).wantOK(t)
		if got, _ := lookup(a.body, "channels.0.mention_count"); got != want {
			t.Errorf("mention_count = %v, want %v in %s", got, want, a.raw)
		}
		if got, _ := lookup(a.body, "channels.0.events.0.text"); got != "missed" {
			t.Errorf("events = %s", a.raw)
		}
	}
	cached, _ := memo.Do(func() any { return nil }).([]byte)
	if strings.Contains(string(cached), "mention_count") {
		t.Fatalf("the shared encoding %s holds a caller's mention_count", cached)
	}
}

// An answer of any size goes with its Content-Length, not chunked: a page
// of history is ~13 KB, and net/http chunks what a handler writes past its
// 2 KB buffer unless the length is set.
func TestLargeAnswerHasContentLength(t *testing.T) {
	f := stocked()
	f.HistoryFn = func(context.Context, *confab.User, chat.HistoryParams) (*chat.Page, error) {
		var msgs []*confab.Message
		for i := range 100 {
			msgs = append(msgs, sampleMessage(fmt.Sprintf("message %d %s", i, strings.Repeat("x", 100))))
		}
		return &chat.Page{Messages: msgs}, nil
	}
	srv := httptest.NewServer(MustServer(t, f, api.Config{}))
	t.Cleanup(srv.Close)
	for _, method := range []string{http.MethodPost, http.MethodHead} {
		req, err := http.NewRequest(method, srv.URL+"/api/conversations.history?channel=CGENERAL", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+goodToken)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.TransferEncoding) != 0 || resp.ContentLength < 10_000 {
			t.Fatalf("%s: Transfer-Encoding %v, Content-Length %d; want the length of a ~13 KB page, not chunked",
				method, resp.TransferEncoding, resp.ContentLength)
		}
		if method == http.MethodPost && int64(len(body)) != resp.ContentLength {
			t.Fatalf("body of %d bytes, Content-Length %d", len(body), resp.ContentLength)
		}
	}
}
