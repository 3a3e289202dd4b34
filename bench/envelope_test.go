package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

func TestBenchParseEnvelope(t *testing.T) {
	tests := []struct {
		body string
		want envelope
	}{
		{`{"ok":true}`, envelope{OK: true}},
		{`{}`, envelope{}},
		{`{"ok":false,"error":"not_authed"}`, envelope{Error: "not_authed"}},
		{`{"error":"a\"b\\","ok":false}`, envelope{Error: `a"b\`}},
		{`{"ok":true,"messages":[]}`, envelope{OK: true}},
		{`{"ok":true,"messages":null}`, envelope{OK: true}},
		{`{"ok":true,"channel":"C1","ts":"1.000001","message":{"text":"x","seq":3}}`, envelope{OK: true}},
		// Values that look like structure inside strings, nesting, escapes,
		// numbers and literals.
		{`{"ok":true,"messages":[{"text":"],[{\"}","seq":1},{"text":"\\","files":[{"a":[1,2,{}]}],"n":-1.5e3},` +
			`{"text":"\\\"]","edited":null,"pinned":false}],"has_more":true,"response_metadata":{"next_cursor":"x,y"}}`,
			envelope{OK: true, Messages: 3}},
		{" {\n  \"ok\" : true ,\n  \"messages\" : [ 1 , \"two\" , [3] ]\n}\n", envelope{OK: true, Messages: 3}},
	}
	for _, tt := range tests {
		got, err := parseEnvelope([]byte(tt.body))
		if err != nil || got != tt.want {
			t.Errorf("parseEnvelope(%q) = %+v, %v, want %+v", tt.body, got, err, tt.want)
		}
	}
	for _, body := range []string{
		``, `null`, `[]`, `{`, `{"ok":tru}`, `{"ok":"true"}`, `{"ok":true`, `{"ok":true,}`, `{"ok":true}x`,
		`{"ok":true,"messages":[{"a":"b"}`, `{"ok":true,"messages":[1,]}`, `{"ok":true,"messages":{}}`,
		`{"ok":true,"text":"unterminated}`, `{"ok":true,"text":"escaped quote\"}`, `{"ok" true}`,
		`<html>Bad Gateway</html>`,
	} {
		if got, err := parseEnvelope([]byte(body)); err == nil {
			t.Errorf("parseEnvelope(%q) = %+v, want an error", body, got)
		}
	}
}

// parseEnvelope agrees with encoding/json on answers encoding/json wrote,
// with messages full of quotes, backslashes, brackets and non-ASCII text.
func TestBenchParseEnvelopeAgreesWithJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pieces := []string{`"`, `\`, `\"`, `]`, `[`, `}`, `{`, `,`, `:`, `é`, "\n", `<&>`, `x`, ` `}
	text := func() string {
		var b strings.Builder
		for range rng.IntN(12) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		return b.String()
	}
	for i := range 500 {
		answer := map[string]any{"ok": rng.IntN(4) > 0, "has_more": rng.IntN(2) == 0}
		if rng.IntN(3) == 0 {
			answer["error"] = text()
		}
		if rng.IntN(5) > 0 {
			messages := make([]any, rng.IntN(30))
			for j := range messages {
				messages[j] = map[string]any{"text": text(), "seq": rng.Int64(), "ts": fmt.Sprint(rng.Float64()),
					"files": []any{map[string]any{"name": text()}, []any{}, nil, rng.IntN(2) == 0}}
			}
			answer["messages"] = messages
		}
		answer["response_metadata"] = map[string]string{"next_cursor": text()}
		body, err := json.Marshal(answer)
		if err != nil {
			t.Fatal(err)
		}
		var want struct {
			OK       bool              `json:"ok"`
			Error    string            `json:"error"`
			Messages []json.RawMessage `json:"messages"`
		}
		if err := json.Unmarshal(body, &want); err != nil {
			t.Fatal(err)
		}
		got, err := parseEnvelope(body)
		if err != nil || got != (envelope{OK: want.OK, Error: want.Error, Messages: len(want.Messages)}) {
			t.Fatalf("answer %d: parseEnvelope(%s) = %+v, %v, want ok %v, error %q, %d messages",
				i, body, got, err, want.OK, want.Error, len(want.Messages))
		}
	}
}

// readPage passes only an ok answer that holds the page size, over one
// keep-alive connection, whether the answer comes with a Content-Length or
// chunked.
func TestBenchReadPage(t *testing.T) {
	page := func(n int) string {
		msgs := make([]string, n)
		for i := range msgs {
			msgs[i] = fmt.Sprintf(`{"type":"message","text":"announcement %d","ts":"1.%06d"}`, i, i)
		}
		return `{"ok":true,"messages":[` + strings.Join(msgs, ",") + `],"has_more":false}`
	}
	answers := map[string]string{ // by channel
		"full":    page(100),
		"short":   page(99),
		"long":    page(101),
		"refused": `{"ok":false,"error":"channel_not_found"}`,
		"html":    `<html>oops</html>`,
		"big":     page(100) + strings.Repeat(" ", 64<<10), // chunked
	}
	var conns, requests atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if r.URL.Path != "/api/conversations.history" || r.Header.Get("Authorization") != "Bearer tok" || r.FormValue("limit") != "100" {
			http.Error(w, "bad request "+r.URL.String(), http.StatusBadRequest)
			return
		}
		io.WriteString(w, answers[r.FormValue("channel")])
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c := newAPI(srv.URL, 1).newConn()
	defer c.close()
	ctx := context.Background()
	var checked checkedAnswer
	for _, tt := range []struct {
		channel string
		ok      bool
	}{{"full", true}, {"short", false}, {"long", false}, {"refused", false}, {"html", false}, {"big", true}, {"full", true}} {
		form := []byte("channel=" + tt.channel + "&limit=100")
		_, err := readPage(ctx, c, "tok", form, 100, &checked)
		if (err == nil) != tt.ok {
			t.Errorf("readPage(%s) = %v, want ok %v", tt.channel, err, tt.ok)
		}
		var ae *apiError
		if tt.channel == "refused" && (!errors.As(err, &ae) || ae.Code != "channel_not_found") {
			t.Errorf("readPage(refused) = %v, want an *apiError channel_not_found", err)
		}
	}
	if conns.Load() != 1 || requests.Load() != 7 {
		t.Errorf("%d requests over %d connections, want 7 over 1", requests.Load(), conns.Load())
	}
}

// TestCheckedAnswer: an answer is the checked one only if it is byte for
// byte the same as the copy kept of the latest good one.
func TestCheckedAnswer(t *testing.T) {
	var a checkedAnswer
	good := []byte(`{"ok":true,"messages":[1,2]}`)
	if a.same(good) {
		t.Error("same before any answer was kept")
	}
	a.keep(good)
	if !a.same([]byte(`{"ok":true,"messages":[1,2]}`)) {
		t.Error("an equal answer is not the same")
	}
	for _, other := range []string{`{"ok":true,"messages":[1,3]}`, `{"ok":true,"messages":[1,2]} `, ``} {
		if a.same([]byte(other)) {
			t.Errorf("%q is the same as %s", other, good)
		}
	}
	good[len(good)-3] = '9' // the connection's buffer, reused for the next answer
	if a.same(good) || !a.same([]byte(`{"ok":true,"messages":[1,2]}`)) {
		t.Error("the kept answer changed with the buffer it was read from")
	}
}

// BenchmarkParseEnvelope reads a page of 100 messages as hot's readers do,
// against encoding/json decoding the same into a struct that keeps nothing
// of each message.
func BenchmarkParseEnvelope(b *testing.B) {
	msgs := make([]string, 100)
	for i := range msgs {
		msgs[i] = fmt.Sprintf(`{"type":"message","channel":"CRWWWTX6Q62TF","user":"U05VVM6S4RGVF","text":"announcement %d","ts":"1795757967.%06d","seq":%d}`, i, i, i)
	}
	body := []byte(`{"ok":true,"messages":[` + strings.Join(msgs, ",") + `],"has_more":true,"pin_count":0,"response_metadata":{"next_cursor":"abc"}}`)
	b.Run("fastjson", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if env, err := parseEnvelope(body); err != nil || env.Messages != 100 {
				b.Fatal(env, err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			var page struct {
				OK       bool       `json:"ok"`
				Messages []struct{} `json:"messages"`
			}
			if err := json.Unmarshal(body, &page); err != nil || len(page.Messages) != 100 {
				b.Fatal(err)
			}
		}
	})
}
