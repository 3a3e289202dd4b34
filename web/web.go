package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
)

//go:embed static
var static embed.FS

// ContentSecurityPolicy is sent with every answer. Scripts, styles, images
// and fonts come from this origin only; no inline script or style
// attribute runs; the page may call the API and open WebSockets to this
// origin (and to a gateway on another host of the deployment, hence ws:
// and wss:); nothing may frame it.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data:; font-src 'self'; connect-src 'self' ws: wss:; manifest-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// file is one embedded file, ready to serve.
type file struct {
	body  []byte
	gz    []byte // nil when compressing does not pay
	etag  string // strong, quoted
	ctype string
}

type handler struct {
	files map[string]*file // by URL path: "/app.js", and "/v/<version>/app.js"
}

// Handler serves the client: "/" is index.html, and so is "/claim" (the
// page a claim link opens, its token in the fragment), "/<name>" a file of the
// client, revalidated at each use, and "/v/<version>/<name>" the same file
// cached for good: index.html names the files so, and the modules' own
// relative imports resolve under the same prefix. The version is a digest
// of every file but index.html, so a new build's page asks for new URLs
// and a reload of an unchanged one fetches nothing but the page. Anything
// else is 404; methods other than GET and HEAD are 405.
func Handler() http.Handler {
	sub, err := fs.Sub(static, "static")
	if err == nil {
		var h *handler
		if h, err = newHandler(sub); err == nil {
			return h
		}
	}
	panic("web: reading the embedded client: " + err.Error()) // the embed is part of the binary
}

// newHandler reads and prepares the files of fsys (index.html among them).
func newHandler(fsys fs.FS) (*handler, error) {
	h := &handler{files: map[string]*file{}}
	var names []string // sorted: WalkDir's order
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		h.files["/"+p] = newFile(p, body)
		if p != "index.html" {
			names = append(names, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	index := h.files["/index.html"]
	if index == nil {
		return nil, fmt.Errorf("no index.html")
	}
	sum := sha256.New()
	for _, p := range names {
		fmt.Fprintf(sum, "%s %s\n", p, h.files["/"+p].etag)
	}
	prefix := "/v/" + hex.EncodeToString(sum.Sum(nil)[:6]) + "/"
	page := string(index.body)
	for _, p := range names {
		h.files[prefix+p] = h.files["/"+p]
		for _, attr := range []string{`src="/`, `href="/`} {
			page = strings.ReplaceAll(page, attr+p+`"`, attr+prefix[1:]+p+`"`)
		}
	}
	h.files["/"] = newFile("index.html", []byte(page))
	// The page of a claim link (confab import slack, confab admin user
	// claim): the client shows its claim form there.
	h.files["/claim"] = h.files["/"]
	return h, nil
}

// newFile prepares the body of the file named name for serving.
func newFile(name string, body []byte) *file {
	sum := sha256.Sum256(body)
	f := &file{body: body, etag: `"` + hex.EncodeToString(sum[:12]) + `"`, ctype: mime.TypeByExtension(path.Ext(name))}
	if f.ctype == "" {
		f.ctype = "application/octet-stream"
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(body)
	zw.Close()
	if buf.Len() < len(body)*9/10 {
		f.gz = buf.Bytes()
	}
	return f
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", ContentSecurityPolicy)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hd.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	f := h.files[r.URL.Path]
	if f == nil || r.URL.Path == "/index.html" {
		http.NotFound(w, r)
		return
	}
	// A versioned file never changes: the browser keeps it without asking
	// again. Any other is revalidated at each use; an unchanged one costs a
	// 304 without a body.
	if strings.HasPrefix(r.URL.Path, "/v/") {
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hd.Set("Cache-Control", "no-cache")
	}
	hd.Set("ETag", f.etag)
	hd.Set("Vary", "Accept-Encoding")
	if etagMatch(r.Header.Get("If-None-Match"), f.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := f.body
	if f.gz != nil && acceptsGzip(r.Header.Get("Accept-Encoding")) {
		body = f.gz
		hd.Set("Content-Encoding", "gzip")
	}
	hd.Set("Content-Type", f.ctype)
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		w.Write(body)
	}
}

// etagMatch reports whether an If-None-Match header names etag (weak
// comparison, as RFC 9110 asks for If-None-Match).
func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}
