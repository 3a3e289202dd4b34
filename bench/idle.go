package bench

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/gorilla/websocket"
)

// IdleResult is the outcome of the idle scenario.
type IdleResult struct {
	Clients  int `json:"clients"`
	Users    int `json:"users"`
	Channels int `json:"channels"` // each user is in every one
	// ConnectSeconds is the time to open every connection (rtm.connect,
	// dial, hello), Parallel at a time.
	ConnectSeconds   float64 `json:"connect_seconds"`
	ConnectPerSecond float64 `json:"connects_per_s"`
	Connect          Latency `json:"connect"` // one connection's rtm.connect → hello
	HoldSeconds      float64 `json:"hold_seconds"`
	// Before is read once the workspace is set up, After once every
	// connection has been held open for HoldSeconds.
	Before ServerMetrics `json:"before"`
	After  ServerMetrics `json:"after"`
	// Per connection: (After − Before) / Clients.
	RSSPerConnection        float64 `json:"rss_bytes_per_conn"`
	GoroutinesPerConnection float64 `json:"goroutines_per_conn"`
	// Dropped counts connections that ended while held.
	Dropped int `json:"dropped"`
}

// idle opens Clients connections of Users users who are each in Channels
// channels, holds them for Duration and reads the server's cost of them.
func (r *run) idle(ctx context.Context) error {
	start := time.Now()
	ws, err := r.setup(ctx, r.cfg.Users)
	if err != nil {
		return err
	}
	channels := make([]string, r.cfg.Channels)
	for i := range channels {
		if channels[i], err = r.api.createChannel(ctx, ws.users[0].Token, fmt.Sprintf("idle-%d", i)); err != nil {
			return err
		}
	}
	if err := r.api.joinAll(ctx, ws.users[1:], channels, r.cfg.Parallel); err != nil {
		return err
	}
	res := &IdleResult{Clients: r.cfg.Clients, Users: len(ws.users), Channels: len(channels)}
	r.rep.Idle = res
	if res.Before, err = r.api.scrapeMetrics(ctx, r.cfg.MetricsURLs); err != nil {
		return err
	}
	r.setupDone(start)

	r.log.Info("connecting", "clients", r.cfg.Clients, "procs", max(r.cfg.Procs, 1))
	tokens := make([]string, len(ws.users))
	for i, u := range ws.users {
		tokens[i] = u.Token
	}
	begin := time.Now()
	fl, connect, err := r.openFleet(ctx, shareJob{Kind: "idle", SSE: r.sse(), Tokens: tokens, Clients: r.cfg.Clients})
	if err != nil {
		return err
	}
	defer fl.close()
	elapsed := time.Since(begin)
	res.ConnectSeconds = elapsed.Seconds()
	res.ConnectPerSecond = perSecond(int64(r.cfg.Clients), elapsed)
	res.Connect = connect.Summary()

	r.log.Info("holding", "duration", r.cfg.Duration)
	hold := time.NewTimer(r.cfg.Duration)
	defer hold.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-hold.C:
	}
	res.HoldSeconds = r.cfg.Duration.Seconds()
	if res.After, err = r.api.scrapeMetrics(ctx, r.cfg.MetricsURLs); err != nil {
		return err
	}
	out, err := fl.finish(ctx, shareFinish{})
	if err != nil {
		return err
	}
	res.Dropped = out.Dropped
	n := float64(r.cfg.Clients)
	res.RSSPerConnection = (res.After.RSSBytes - res.Before.RSSBytes) / n
	res.GoroutinesPerConnection = (res.After.Goroutines - res.Before.Goroutines) / n
	if res.Dropped > 0 {
		r.rep.problem("%d connections dropped while idle", res.Dropped)
	}
	if got := res.After.Connections - res.Before.Connections; got < n-float64(res.Dropped) {
		r.rep.problem("the server counts %.0f more connections, %d were opened (in a cluster, list every gateway's metrics URL)", got, r.cfg.Clients)
	}
	return nil
}

// idleConn is a held connection whose reader discards what arrives (and so
// answers the server's pings): a WebSocket (conn), or a Server-Sent Events
// stream (stream).
type idleConn struct {
	conn   *websocket.Conn
	stream *frameConn
	done   chan struct{} // closed when the reader returns
}

func (c *idleConn) discard() {
	defer close(c.done)
	if c.stream != nil {
		for {
			if _, err := c.stream.next(); err != nil {
				return
			}
		}
	}
	for {
		_, rd, err := c.conn.NextReader()
		if err != nil {
			return
		}
		if _, err := io.Copy(io.Discard, rd); err != nil {
			return
		}
	}
}

// closeIdle closes every connection and waits for its reader.
func closeIdle(conns []*idleConn) {
	for _, c := range conns {
		switch {
		case c == nil:
		case c.stream != nil:
			c.stream.close()
		default:
			c.conn.Close()
		}
	}
	for _, c := range conns {
		if c != nil {
			<-c.done
		}
	}
}
