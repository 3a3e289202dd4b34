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
	latency        prometheus.Histogram
	framesReceived prometheus.Counter
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
			Help: "Connections closed because their outbound queue exceeded its limit.",
		}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "confab_delivery_latency_seconds",
			Help:    "From publication to the socket write, for the oldest publication of each write.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}),
		framesReceived: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "confab_gateway_frames_received_total",
			Help: "Client data frames received.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.connections, m.deliveries, m.slowDisconnect, m.latency, m.framesReceived)
	}
	return m
}
