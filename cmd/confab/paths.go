package main

import (
	"net/http"
	"strings"
)

// noRedirects answers 404 itself for the requests that http.ServeMux
// would redirect: a path that is not clean ("/api//auth.test",
// "/api/../healthz", "/a/./b") and a subtree's root without its slash
// ("/api", "/rtm"). The API never redirects: a Slack client that follows
// a redirect would resend a POST as a GET, or its token to another path.
func noRedirects(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if !cleanPath(p) || p == "/api" || p == "/rtm" {
			notFound(w, strings.HasPrefix(p, "/api"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// cleanPath reports whether p is absolute and has no empty, "." or ".."
// segment but for a final slash: what ServeMux serves without redirecting.
func cleanPath(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	segs := strings.Split(p[1:], "/")
	for i, seg := range segs {
		last := i == len(segs)-1
		if seg == "." || seg == ".." || (seg == "" && !last) {
			return false
		}
	}
	return true
}

// notFound answers 404 in the API's shape for /api paths, plain otherwise.
func notFound(w http.ResponseWriter, api bool) {
	if !api {
		http.NotFound(w, nil)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	w.Write([]byte(`{"ok":false,"error":"unknown_method"}`))
}
