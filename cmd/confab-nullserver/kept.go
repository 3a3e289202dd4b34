package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"

	"github.com/valyala/fasthttp"
)

// keptAnswer is the first answer the upstream gave for the method.
type keptAnswer struct {
	mu   sync.Mutex
	body []byte // guarded by mu; nil until kept
}

// get returns the kept answer, asking the upstream with ask (once, the
// first time) for it. Only a 200 answer is kept.
func (k *keptAnswer) get(ask func() (*http.Response, error)) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.body != nil {
		return k.body, nil
	}
	resp, err := ask()
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("upstream answered %s: %s", resp.Status, b)
	}
	k.body = b
	return b, nil
}

// serveFast is the fasthttp engine: the same as ServeHTTP.
func (n *null) serveFast(l net.Listener) error {
	// As many connections to the upstream as the bench opens to us (its
	// readers' set-up calls come at once); fasthttp's default is 512.
	up := &fasthttp.HostClient{Addr: n.upstream.Host, MaxConns: 1 << 16}
	s := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) != n.path {
			if err := up.Do(&ctx.Request, &ctx.Response); err != nil {
				ctx.Error(err.Error(), http.StatusBadGateway)
			}
			return
		}
		b, err := n.kept.get(func() (*http.Response, error) {
			out, err := http.NewRequest(string(ctx.Method()), n.upstream.String()+string(ctx.RequestURI()), bytes.NewReader(ctx.PostBody()))
			if err != nil {
				return nil, err
			}
			for k, v := range ctx.Request.Header.All() {
				out.Header.Add(string(k), string(v))
			}
			return http.DefaultTransport.RoundTrip(out)
		})
		if err != nil {
			ctx.Error(err.Error(), http.StatusBadGateway)
			return
		}
		ctx.SetContentType(answerType)
		ctx.SetBody(b)
	}}
	return s.Serve(l)
}
