package gateway

import "github.com/prometheus/client_golang/prometheus"

// metrics are always collected; they are registered only when
// Config.Registerer is set. Deliveries are counted once per publication
// (added by recipient count) and latency observed once per socket write, so
// that fanout does not contend on shared counters per recipient.
type metrics struct {
	connections    prometheus.Gauge
	deliveries     prometheus.Counter
	slowDisconnect prometheus.Counter
	// stalledDisconnect counts the slow consumers closed because their
	// socket took nothing for NoProgressTimeout (a part of slowDisconnect).
	stalledDisconnect prometheus.Counter
	// handshakesRefused counts the handshakes the quotas refused, by
	// reason (quota.go).
	handshakesRefused *prometheus.CounterVec
	latency           prometheus.Histogram
	framesReceived    prometheus.Counter
	// framesLimited and revoked: the session's limits (session.go).
	framesLimited prometheus.Counter
	revoked       prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "confab_gateway_connections",
			Help: "Open RTM connections on this gateway.",
		}),
		deliveries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "confab_gateway_deliveries_total",
			Help: "Frames enqueued to local connections from bus publications.",
		}),
		slowDisconnect: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "confab_gateway_slow_consumer_disconnects_total",
			Help: "Connections closed as slow consumers: their outbound queue exceeded its limit, or their socket took nothing for the no-progress timeout.",
		}),
		stalledDisconnect: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "confab_gateway_stalled_disconnects_total",
			Help: "Slow consumers closed because their socket took no byte for the no-progress timeout while frames waited (included in confab_gateway_slow_consumer_disconnects_total).",
		}),
		handshakesRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "confab_gateway_handshakes_refused_total",
			Help: "WebSocket handshakes refused with 429 before the upgrade, by reason: handshake_rate (the address's handshakes a second), addr_conns (its open connections), user_conns (the user's).",
		}, []string{"reason"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "confab_delivery_latency_seconds",
			Help:    "From publication to the socket write, for the oldest publication of each write.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}),
		framesReceived: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "confab_gateway_frames_received_total",
			Help: "Client data frames received.",
		}),
		framesLimited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "confab_gateway_frames_ratelimited_total",
			Help: "Client text frames refused for their token's rate limit.",
		}),
		revoked: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "confab_gateway_revoked_disconnects_total",
			Help: "Connections closed because the token they were opened under was revoked.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.connections, m.deliveries, m.slowDisconnect, m.stalledDisconnect, m.handshakesRefused, m.latency, m.framesReceived, m.framesLimited, m.revoked)
	}
	return m
}
