package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestCleanPath(t *testing.T) {
	for p, want := range map[string]bool{
		"/": true, "/api/auth.test": true, "/rtm/": true, "/rtm/abc.def": true, "/static/app.js": true,
		"": false, "api": false, "/api//auth.test": false, "//api/auth.test": false, "/api/../healthz": false,
		"/api/./auth.test": false, "/a/.": false, "/a/..": false, "/api/auth.test/..": false,
	} {
		if got := cleanPath(p); got != want {
			t.Errorf("cleanPath(%q) = %v, want %v", p, got, want)
		}
	}
}

// The server never redirects: paths that ServeMux would send elsewhere
// with a 301 or 307 are answered 404, in the API's shape under /api.
func TestNoRedirects(t *testing.T) {
	m := MustRunMain(t)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tc := range []struct {
		method, path string
		json         bool
	}{
		{"POST", "/api//auth.test", true},
		{"GET", "/api/../healthz", false},
		{"GET", "/api/./auth.test", true},
		{"GET", "/api", true},
		{"GET", "/rtm", false},
		{"GET", "//healthz", false},
	} {
		req, err := http.NewRequest(tc.method, m.URL()+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.URL.Path = tc.path // as sent, not cleaned
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", tc.method, tc.path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Location") != "" {
			t.Errorf("%s %s = %d (Location %q), want 404 and no redirect", tc.method, tc.path, resp.StatusCode, resp.Header.Get("Location"))
		}
		if tc.json && !strings.Contains(string(body), `"error":"unknown_method"`) {
			t.Errorf("%s %s body = %s, want unknown_method", tc.method, tc.path, body)
		}
	}
	// The clean paths still work.
	resp, err := client.Get(m.URL() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /healthz = %d", resp.StatusCode)
	}
}
