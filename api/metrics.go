package api

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the request counters. The method label is a known method name
// or "unknown", and the error label a Slack error string ("" when ok), so the
// number of series is bounded.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	return &metrics{
		requests: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "confab_api_requests_total",
			Help: "API requests by method and Slack error (\"\" when ok).",
		}, []string{"method", "error"})),
		duration: register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "confab_api_request_duration_seconds",
			Help:    "API request latency by method.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method"})),
	}
}

// register registers c, or returns the identical collector registered
// before (two Servers on one registry share their metrics).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if prev, ok := are.ExistingCollector.(C); ok {
				return prev
			}
		}
		panic("api: registering metrics: " + err.Error())
	}
	return c
}

func (m *metrics) observe(method, errCode string, d time.Duration) {
	m.requests.WithLabelValues(method, errCode).Inc()
	m.duration.WithLabelValues(method).Observe(d.Seconds())
}
