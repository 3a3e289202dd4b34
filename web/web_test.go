package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
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
		{"GET", "/", 200, "text/html; charset=utf-8", `<script type="module" src="/v/`},
		{"HEAD", "/", 200, "text/html; charset=utf-8", ""},
		{"GET", "/claim", 200, "text/html; charset=utf-8", `id="claim-form"`},
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

// TestVersionedFiles: the page names every file under the build's
// version, and those URLs are cached for good, so that a reload fetches
// only the page; a changed file changes the version, so a new build's
// page never gets an old file from a cache.
func TestVersionedFiles(t *testing.T) {
	h := Handler()
	page, _ := io.ReadAll(get(t, h, "GET", "/", nil).Body)
	refs := regexp.MustCompile(`(?:src|href)="(/[^"]*)"`).FindAllStringSubmatch(string(page), -1)
	if len(refs) < 10 {
		t.Fatalf("the page names %d files, want the stylesheet, the icon and every module", len(refs))
	}
	for _, ref := range refs {
		u := ref[1]
		if !strings.HasPrefix(u, "/v/") {
			t.Errorf("the page names %s, not versioned", u)
			continue
		}
		resp := get(t, h, "GET", u, nil)
		if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
			t.Errorf("GET %s = %d, Cache-Control %q; want 200, cached for good", u, resp.StatusCode, resp.Header.Get("Cache-Control"))
		}
	}
	// A module's relative import resolves under the same version.
	version := regexp.MustCompile(`/v/[0-9a-f]+/`).FindString(string(page))
	if resp := get(t, h, "GET", version+"emoji.js", nil); resp.StatusCode != 200 {
		t.Errorf("GET %semoji.js (text.js's import) = %d, want 200", version, resp.StatusCode)
	}
	for _, u := range []string{"/v/000000000000/app.js", version + "index.html", version, "/v/"} {
		if resp := get(t, h, "GET", u, nil); resp.StatusCode != 404 {
			t.Errorf("GET %s = %d, want 404", u, resp.StatusCode)
		}
	}

	versionOf := func(files fstest.MapFS) string {
		t.Helper()
		h, err := newHandler(files)
		if err != nil {
			t.Fatal(err)
		}
		page := string(h.files["/"].body)
		if !strings.Contains(page, `src="/v/`) || !strings.Contains(page, `href="/v/`) {
			t.Fatalf("page %q: the files are not versioned", page)
		}
		return regexp.MustCompile(`/v/[0-9a-f]+/`).FindString(page)
	}
	build := func(b string) fstest.MapFS {
		return fstest.MapFS{
			"index.html": {Data: []byte(`<link href="/a.css"><script src="/a.js"></script>`)},
			"a.js":       {Data: []byte(`import "./b.js";`)},
			"b.js":       {Data: []byte(b)},
			"a.css":      {Data: []byte(`p{}`)},
		}
	}
	one, same, other := versionOf(build("1")), versionOf(build("1")), versionOf(build("2"))
	if one != same {
		t.Errorf("the same files give versions %s and %s", one, same)
	}
	if one == other {
		t.Errorf("a changed module kept the version %s", one)
	}
}
