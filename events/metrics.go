package events

import "github.com/prometheus/client_golang/prometheus"

// metrics are the event delivery's counters.
type metrics struct {
	delivered prometheus.Counter
	retried   prometheus.Counter
	conns     prometheus.Gauge
	expired   prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		delivered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "confab_app_events_sent_total",
			Help: "Events sent to apps for the first time (by this process).",
		}),
		retried: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "confab_app_events_retried_total",
			Help: "Events sent to apps again, unacknowledged in time or on a connection that went.",
		}),
		expired: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "confab_app_events_expired_total",
			Help: "Events given up after being retried for longer than the retention window.",
		}),
		conns: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "confab_app_socket_connections",
			Help: "Open Socket Mode connections of apps.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.delivered, m.retried, m.conns, m.expired)
	}
	return m
}

func (m *metrics) sent(attempt int) {
	if attempt == 0 {
		m.delivered.Inc()
	} else {
		m.retried.Inc()
	}
}
