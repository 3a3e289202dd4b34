// Command confab-nullserver is a server that does no work, put in front of
// a confab to measure what this machine and the bench's clients reach at
// best: the floor under a scenario's figures.
//
//	go run ./cmd/confab-nullserver -upstream http://127.0.0.1:8080 -method conversations.history [-engine fasthttp]
//
// Every request is passed on to the upstream confab, except those for the
// Web API method -method: the first of them is passed on and its answer
// kept, and every later one is answered with those bytes at once, whatever
// it asks. Run confab-bench against it (scripts/bench-floor.sh does): the
// bench sets up its workspace through the real server, and the scenario's
// measured calls cost the server nothing but HTTP. -engine says which HTTP
// server answers: net/http (what confab serves with) or fasthttp.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to serve on; the address taken is printed")
	upstream := flag.String("upstream", "", "the confab to pass requests on to, as http://host:port")
	method := flag.String("method", "", "the Web API method answered from the kept answer, as chat.postMessage")
	engine := flag.String("engine", "nethttp", "the HTTP server: nethttp or fasthttp")
	flag.Parse()
	u, err := url.Parse(*upstream)
	if err != nil || u.Scheme != "http" || u.Host == "" || *method == "" {
		fmt.Fprintln(os.Stderr, "usage: confab-nullserver -upstream http://host:port -method <method> [-engine nethttp|fasthttp] [-listen addr]")
		os.Exit(2)
	}
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(l.Addr())
	n := newNull(u, "/api/"+*method)
	switch *engine {
	case "nethttp":
		err = http.Serve(l, n)
	case "fasthttp":
		err = n.serveFast(l)
	default:
		err = fmt.Errorf("unknown engine %q", *engine)
	}
	log.Fatal(err)
}

// null answers path from its kept answer and passes everything else on.
type null struct {
	upstream *url.URL
	path     string
	proxy    *httputil.ReverseProxy
	kept     *keptAnswer
}

func newNull(upstream *url.URL, path string) *null {
	return &null{upstream: upstream, path: path, proxy: httputil.NewSingleHostReverseProxy(upstream), kept: &keptAnswer{}}
}

// ServeHTTP is the net/http engine.
func (n *null) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != n.path {
		n.proxy.ServeHTTP(w, r)
		return
	}
	b, err := n.kept.get(func() (*http.Response, error) {
		out := r.Clone(r.Context())
		out.URL.Scheme, out.URL.Host, out.RequestURI = n.upstream.Scheme, n.upstream.Host, ""
		return http.DefaultTransport.RoundTrip(out)
	})
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	h := w.Header()
	h.Set("Content-Type", answerType)
	h.Set("Content-Length", fmt.Sprint(len(b)))
	w.Write(b)
}

// answerType is the Content-Type of confab's answers.
const answerType = "application/json; charset=utf-8"
