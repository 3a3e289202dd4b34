package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// healthWriteEvery bounds how often /healthz writes to the store: the
// answer of a write check serves the health checks of the next second, so
// that load balancers polling every node cost the store one 64 KiB commit
// a second, not one per check.
const healthWriteEvery = time.Second

// healthz is GET /healthz, what a load balancer needs to know: 200 while
// the store can be read and written, 503 otherwise (store_unavailable: it
// does not answer; store_unwritable: it answers but a write fails, as on a
// full disk — every post would fail there, so the node should take none).
type healthz struct {
	// immutable after construction
	store store
	log   *slog.Logger

	mu      sync.Mutex // held across a write check, so that checks share one
	checked time.Time  // guarded by mu: when the last write check ended
	wrote   error      // guarded by mu: its result
}

func (h *healthz) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if err := h.store.Ping(ctx); err != nil {
		h.fail(w, "store_unavailable", err)
		return
	}
	if err := h.write(ctx); err != nil {
		h.fail(w, "store_unwritable", err)
		return
	}
	fmt.Fprint(w, `{"ok":true}`)
}

// write returns the result of a write check no older than
// healthWriteEvery, making one if there is none.
func (h *healthz) write(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if time.Since(h.checked) < healthWriteEvery {
		return h.wrote
	}
	err := h.store.PingWrite(ctx)
	if ctx.Err() != nil {
		return err // this caller gave up: the next one checks again
	}
	h.checked, h.wrote = time.Now(), err
	return err
}

func (h *healthz) fail(w http.ResponseWriter, code string, err error) {
	h.log.Warn("health check failed", "err", err)
	w.WriteHeader(http.StatusServiceUnavailable)
	fmt.Fprintf(w, `{"ok":false,"error":%q}`, code)
}
