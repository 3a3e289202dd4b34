// Package querycount counts a store's queries for /metrics: each call of a
// store method is one query, labelled read or write and by the method's
// name (a bounded set). A query may run several SQL statements (a page of
// messages with its reactions, a write with its counters).
//
// A Counter is safe for concurrent use.
package querycount

import "github.com/prometheus/client_golang/prometheus"

// Collected is a store whose queries are counted (sqlite.DB, postgres.DB,
// pocket.Store): an optional capability, found by type assertion, of
// whatever holds a confab.Store. The process registers its Collectors.
type Collected interface {
	Collectors() []prometheus.Collector
}

// Counter is one store's confab_store_queries_total.
type Counter struct {
	vec *prometheus.CounterVec
}

// New returns a Counter at zero.
func New() Counter {
	return Counter{vec: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "confab_store_queries_total",
		Help: "Store queries run, by op (read or write) and store method.",
	}, []string{"op", "method"})}
}

// Read counts a read by method.
func (c Counter) Read(method string) { c.vec.WithLabelValues("read", method).Inc() }

// Write counts a write by method.
func (c Counter) Write(method string) { c.vec.WithLabelValues("write", method).Inc() }

// Collectors returns the counter for the process to register.
func (c Counter) Collectors() []prometheus.Collector { return []prometheus.Collector{c.vec} }
