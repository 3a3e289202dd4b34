package sqlite

import "github.com/prometheus/client_golang/prometheus"

// queries counts the store's operations: each call of a store method is one
// query, labelled read or write and by the method's name (a bounded set).
// A query may run several SQL statements (FindMessages with its reactions,
// a write with its counters); Ping is not counted.
type queries struct {
	vec *prometheus.CounterVec
}

func newQueries() queries {
	return queries{vec: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "confab_store_queries_total",
		Help: "Store queries run, by op (read or write) and store method.",
	}, []string{"op", "method"})}
}

func (q queries) read(method string)  { q.vec.WithLabelValues("read", method).Inc() }
func (q queries) write(method string) { q.vec.WithLabelValues("write", method).Inc() }

// Collectors returns the store's metrics (confab_store_queries_total) for
// the process to register. Each DB has its own.
func (db *DB) Collectors() []prometheus.Collector {
	return []prometheus.Collector{db.queries.vec}
}
