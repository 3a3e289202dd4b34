package bench

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/valyala/fasthttp"
)

// conn is one keep-alive HTTP/1.1 connection to the Web API, used by one
// goroutine: the measured loops (send's posters, hot's readers, history's
// reads and fill) each own one.
//
// Why fasthttp and not net/http's client for them: net/http's Transport
// hands every request to a writer goroutine and every answer back from a
// reader goroutine, and builds a Request and its Header per call. With
// encoding/json that made the bench spend ~100 CPU-µs per
// chat.postMessage, about what the server spends, so on two shared cores
// send measured the bench as much as the server. fasthttp writes and reads
// in the calling goroutine, into a request and a response that a conn
// reuses; fastjson reads the envelope (parseEnvelope).
//
// Each conn has its own fasthttp.HostClient limited to one connection, so
// that the connection is the caller's as before (hot opens its readers'
// connections before releasing them). fasthttp replaces a connection that
// failed on the next call. Nothing is retried: a post that failed is
// counted as failed.
type conn struct {
	hc   *fasthttp.HostClient
	req  fasthttp.Request
	resp fasthttp.Response
	form []byte // post's form being built
}

// callTimeout bounds one call on a conn: a round of 15,000 hot readers may
// queue at the server for a while.
const callTimeout = 60 * time.Second

// callDeadline is when a call made now ends at the latest: ctx's deadline,
// or callTimeout from now.
func callDeadline(ctx context.Context) time.Time {
	deadline := time.Now().Add(callTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	return deadline
}

// maxAnswer bounds an answer's body.
const maxAnswer = 32 << 20

func (a *api) newConn() *conn {
	c := &conn{hc: &fasthttp.HostClient{
		Addr:                      fasthttp.AddMissingPort(a.host, a.tls),
		IsTLS:                     a.tls, // TLS checks the name in Addr
		Dial:                      func(addr string) (net.Conn, error) { return a.dialer.Dial("tcp", addr) },
		MaxConns:                  1,
		MaxIdemponentCallAttempts: 1,
		// Between hot's rounds a reader's connection idles while the
		// others are read; it must still be open for the next round.
		MaxIdleConnDuration: callTimeout,
		MaxResponseBodySize: maxAnswer,
		// The paths are /api/<method>: nothing to normalize, per call.
		DisablePathNormalizing: true,
	}}
	c.req.Header.SetMethod(fasthttp.MethodPost)
	c.req.Header.SetHost(a.host)
	c.req.Header.SetContentType("application/x-www-form-urlencoded")
	return c
}

// close closes the connection, if open.
func (c *conn) close() { c.hc.CloseIdleConnections() }

// do posts form (URL-encoded) to /api/<method> as token's user ("" for
// none). The answer stays in c.resp until the next call; check reads it.
// A call waits until ctx's deadline at most, and callTimeout.
func (c *conn) do(ctx context.Context, token, method string, form []byte) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	deadline := callDeadline(ctx)
	c.req.URI().SetPath("/api/" + method)
	c.req.Header.Del(fasthttp.HeaderAuthorization)
	if token != "" {
		c.req.Header.Set(fasthttp.HeaderAuthorization, "Bearer "+token)
	}
	c.req.SetBodyRaw(form)
	err := c.hc.DoDeadline(&c.req, &c.resp, deadline)
	c.req.SetBodyRaw(nil) // form is the caller's
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return fmt.Errorf("%s: %w", method, err)
	}
	return nil
}

// check reads the envelope of the latest answer, to method: a 429 or an
// ok:false answer is an *apiError.
func (c *conn) check(method string) (envelope, error) {
	return checkAnswer(method, c.resp.StatusCode(), string(c.resp.Header.Peek(fasthttp.HeaderRetryAfter)), c.resp.Body())
}

// call is do then check.
func (c *conn) call(ctx context.Context, token, method string, form []byte) (envelope, error) {
	if err := c.do(ctx, token, method, form); err != nil {
		return envelope{}, err
	}
	return c.check(method)
}

// post calls chat.postMessage and returns its round trip: from just before
// the request is written to the answer's last byte.
func (c *conn) post(ctx context.Context, token, channel, text string) (time.Duration, error) {
	c.form = append(c.form[:0], "channel="...)
	c.form = append(c.form, url.QueryEscape(channel)...)
	c.form = append(c.form, "&text="...)
	c.form = append(c.form, url.QueryEscape(text)...)
	start := time.Now()
	err := c.do(ctx, token, "chat.postMessage", c.form)
	d := time.Since(start)
	if err != nil {
		return d, err
	}
	_, err = c.check("chat.postMessage")
	return d, err
}

// rtmCaller makes the Web API calls of a storm share's rtmclients
// (rtm.connect and client.catchup on every reconnect) over fasthttp, for
// the reasons above: with net/http's Transport each call cost its client
// ~100 µs and two goroutines per pooled connection, and a share holds
// thousands of clients whose reconnections, on the server's two cores, are
// what the storm measures. One HostClient keeps up to conns connections
// alive, one per client, so that a storm does not churn connections into
// TIME_WAIT.
type rtmCaller struct{ hc *fasthttp.HostClient }

func newRTMCaller(base string, dial func(ctx context.Context, network, addr string) (net.Conn, error), conns int) (*rtmCaller, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	tls := u.Scheme == "https"
	return &rtmCaller{hc: &fasthttp.HostClient{
		Addr:     fasthttp.AddMissingPort(u.Host, tls),
		IsTLS:    tls,
		Dial:     func(addr string) (net.Conn, error) { return dial(context.Background(), "tcp", addr) },
		MaxConns: conns,
		// The connection used last, not the one idle longest (FIFO, the
		// default): the server's descriptor budget closes the longest-idle
		// connections first.
		ConnPoolStrategy: fasthttp.LIFO,
		// A call that met a connection the server closed while idle is
		// not sent again here: rtmclient sends it once more, then starts
		// the session over after its backoff. Retrying up to 4 times here
		// (fasthttp finds a closed idle connection only when it uses it,
		// and the server closes thousands at once when its descriptors run
		// short) brought most clients back sooner but left a few behind a
		// full accept queue for 30 s more: the last of 19,000 after 51.5,
		// 16.2 and 51.1 s, against 19.4–23.7 s in five runs without.
		MaxIdemponentCallAttempts: 1,
		MaxIdleConnDuration:       30 * time.Second,
		MaxResponseBodySize:       maxAnswer,
		DisablePathNormalizing:    true,
	}}, nil
}

// Call implements rtmclient.Caller. fasthttp takes no context: a call ends
// at ctx's deadline at most, and after callTimeout.
func (c *rtmCaller) Call(ctx context.Context, url, token string, body []byte, read func(int, []byte)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	deadline := callDeadline(ctx)
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(url)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType("application/json")
	req.Header.Set(fasthttp.HeaderAuthorization, "Bearer "+token)
	req.SetBodyRaw(body)
	if err := c.hc.DoDeadline(req, resp, deadline); err != nil {
		return err
	}
	read(resp.StatusCode(), resp.Body())
	return nil
}

// close closes the idle connections.
func (c *rtmCaller) close() { c.hc.CloseIdleConnections() }
