package postgres

import "github.com/prometheus/client_golang/prometheus"

// Collectors returns the store's metrics (confab_store_queries_total, one
// query per call of a store method; Ping is not counted) for the process
// to register. Each DB has its own.
func (db *DB) Collectors() []prometheus.Collector { return db.queries.Collectors() }
