package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, method, path string, hdr map[string]string) *http.Response {
	t.Helper()
	r := httptest.NewRequest(method, path, nil)
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

func TestHandlerServesTheClient(t *testing.T) {
	h := Handler()
	tests := []struct {
		method, path string
		status       int
		ctype        string
		contains     string
	}{
		{"GET", "/", 200, "text/html; charset=utf-8", `<script type="module" src="/app.js"></script>`},
		{"HEAD", "/", 200, "text/html; charset=utf-8", ""},
		{"GET", "/app.js", 200, "text/javascript; charset=utf-8", "textContent"},
		{"GET", "/rtm.js", 200, "text/javascript; charset=utf-8", "client.catchup"},
		{"GET", "/app.css", 200, "text/css; charset=utf-8", ".sidebar"},
		{"GET", "/favicon.svg", 200, "image/svg+xml", "<svg"},
		{"GET", "/index.html", 404, "", ""},
		{"GET", "/nope.js", 404, "", ""},
		{"GET", "/static/app.js", 404, "", ""},
		{"POST", "/", 405, "", ""},
	}
	for _, tt := range tests {
		resp := get(t, h, tt.method, tt.path, nil)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != tt.status {
			t.Errorf("%s %s = %d, want %d", tt.method, tt.path, resp.StatusCode, tt.status)
			continue
		}
		if csp := resp.Header.Get("Content-Security-Policy"); csp != ContentSecurityPolicy {
			t.Errorf("%s %s: Content-Security-Policy %q, want %q", tt.method, tt.path, csp, ContentSecurityPolicy)
		}
		if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s %s: X-Content-Type-Options %q, want nosniff", tt.method, tt.path, got)
		}
		if tt.status != 200 {
			continue
		}
		if got := resp.Header.Get("Content-Type"); got != tt.ctype {
			t.Errorf("%s %s: Content-Type %q, want %q", tt.method, tt.path, got, tt.ctype)
		}
		if got := resp.Header.Get("Cache-Control"); got != "no-cache" {
			t.Errorf("%s %s: Cache-Control %q, want no-cache", tt.method, tt.path, got)
		}
		if tt.method == "HEAD" && len(body) != 0 {
			t.Errorf("HEAD %s sent a body of %d bytes", tt.path, len(body))
		}
		if !bytes.Contains(body, []byte(tt.contains)) {
			t.Errorf("%s %s: body does not contain %q", tt.method, tt.path, tt.contains)
		}
	}
}

// The policy forbids inline script and allows WebSockets; the page has no
// inline script or style attribute that the policy would block.
func TestPolicyAndPageAgree(t *testing.T) {
	for _, want := range []string{"script-src 'self'", "connect-src 'self' ws: wss:", "frame-ancestors 'none'", "default-src 'none'"} {
		if !strings.Contains(ContentSecurityPolicy, want) {
			t.Errorf("policy %q lacks %q", ContentSecurityPolicy, want)
		}
	}
	if strings.Contains(ContentSecurityPolicy, "unsafe-") {
		t.Errorf("policy %q allows unsafe sources", ContentSecurityPolicy)
	}
	page, err := static.ReadFile("static/index.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<script>", " style=", " onclick=", " onload=", "javascript:"} {
		if bytes.Contains(page, []byte(bad)) {
			t.Errorf("index.html contains %q, which the policy blocks", bad)
		}
	}
}

func TestHandlerRevalidatesAndCompresses(t *testing.T) {
	h := Handler()
	first := get(t, h, "GET", "/app.js", nil)
	etag := first.Header.Get("ETag")
	if !strings.HasPrefix(etag, `"`) || len(etag) < 10 {
		t.Fatalf("ETag %q, want a strong quoted tag", etag)
	}
	plain, _ := io.ReadAll(first.Body)

	tests := []struct {
		name, inm string
		status    int
	}{
		{"same tag", etag, 304},
		{"weak form", "W/" + etag, 304},
		{"in a list", `"x", ` + etag, 304},
		{"other tag", `"other"`, 200},
	}
	for _, tt := range tests {
		if got := get(t, h, "GET", "/app.js", map[string]string{"If-None-Match": tt.inm}).StatusCode; got != tt.status {
			t.Errorf("%s: If-None-Match %q = %d, want %d", tt.name, tt.inm, got, tt.status)
		}
	}

	gz := get(t, h, "GET", "/app.js", map[string]string{"Accept-Encoding": "br, gzip"})
	if gz.Header.Get("Content-Encoding") != "gzip" || gz.Header.Get("Vary") != "Accept-Encoding" {
		t.Fatalf("Accept-Encoding gzip: Content-Encoding %q Vary %q, want gzip and Accept-Encoding", gz.Header.Get("Content-Encoding"), gz.Header.Get("Vary"))
	}
	zr, err := gzip.NewReader(gz.Body)
	if err != nil {
		t.Fatal(err)
	}
	unzipped, _ := io.ReadAll(zr)
	if !bytes.Equal(unzipped, plain) {
		t.Fatal("gzip body differs from the file")
	}
	if got := get(t, h, "GET", "/app.js", map[string]string{"Accept-Encoding": "gzip;q=0"}).Header.Get("Content-Encoding"); got != "" {
		t.Fatalf("gzip;q=0 got Content-Encoding %q, want none", got)
	}
}

// TestModulesPreloaded: index.html preloads every module of the client
// beside app.js, so that a module is not fetched only once the one that
// imports it has been read (a round trip per level of imports).
func TestModulesPreloaded(t *testing.T) {
	index, err := static.ReadFile("static/index.html")
	if err != nil {
		t.Fatal(err)
	}
	entries, err := static.ReadDir("static")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".js") || name == "app.js" {
			continue
		}
		if !strings.Contains(string(index), `<link rel="modulepreload" href="/`+name+`">`) {
			t.Errorf("index.html does not preload %s", name)
		}
	}
}
