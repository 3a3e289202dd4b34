package pocket

import (
	"github.com/confab/confab/internal/querycount"
	"github.com/prometheus/client_golang/prometheus"
)

// Collectors returns the metrics of the open databases that have any, each
// labelled with its database: db="directory" or db="pocket:<name>".
func (s *Store) Collectors() []prometheus.Collector {
	var out []prometheus.Collector
	for _, r := range s.all {
		c, ok := r.db.(querycount.Collected)
		if !ok {
			continue
		}
		db := "directory"
		if r.pocket != "" {
			db = "pocket:" + r.pocket
		}
		for _, col := range c.Collectors() {
			out = append(out, prometheus.WrapCollectorWith(prometheus.Labels{"db": db}, col))
		}
	}
	return out
}
