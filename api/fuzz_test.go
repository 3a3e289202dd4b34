package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/confab/confab/api"
)

var fuzzContentTypes = []string{
	"application/json",
	"application/x-www-form-urlencoded",
	"multipart/form-data; boundary=zz",
	"",
	"text/plain",
}

// FuzzRequest sends arbitrary bodies to every method: the server must answer
// 200 with a JSON object carrying a boolean ok, never panic or hang.
func FuzzRequest(f *testing.F) {
	seeds := []string{
		`{"channel":"CGENERAL","text":"hi"}`,
		`{"checkpoints":{"C1":5},"limit":"10"}`,
		`{"users":["UBOB",1],"is_private":true}`,
		`channel=C1&text=hi&limit=5&types=im,mpim`,
		`checkpoints=%7B%22C1%22%3A1%7D&inclusive=1`,
		"--zz\r\nContent-Disposition: form-data; name=\"channel\"\r\n\r\nC1\r\n--zz--\r\n",
		`{"limit":1e400}`,
		`{"":null}`,
		"\xff\xfe",
	}
	for i, s := range seeds {
		for m := range allMethods {
			f.Add(uint8(m), uint8(i), []byte(s))
		}
	}
	srv := MustServer(f, stocked(), api.Config{MaxBodyBytes: 4096})
	f.Fuzz(func(t *testing.T, m, ct uint8, body []byte) {
		method := allMethods[int(m)%len(allMethods)]
		req := httptest.NewRequest(http.MethodPost, "/api/"+method, bytes.NewReader(body))
		if c := fuzzContentTypes[int(ct)%len(fuzzContentTypes)]; c != "" {
			req.Header.Set("Content-Type", c)
		}
		req.Header.Set("Authorization", "Bearer "+goodToken)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s %q: status %d %s", method, body, rec.Code, rec.Body)
		}
		var a map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
			t.Fatalf("%s %q: answer %q: %v", method, body, rec.Body, err)
		}
		if _, ok := a["ok"].(bool); !ok {
			t.Fatalf("%s %q: answer %q without ok", method, body, rec.Body)
		}
	})
}
