package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// ServerMetrics are the figures idle reads from the server's /metrics,
// summed over every metrics URL (the processes of a cluster).
type ServerMetrics struct {
	RSSBytes    float64 `json:"rss_bytes"`   // process_resident_memory_bytes
	Goroutines  float64 `json:"goroutines"`  // go_goroutines
	Connections float64 `json:"connections"` // confab_gateway_connections
}

// fetchMetrics returns the server's Prometheus text exposition.
func (a *api) fetchMetrics(ctx context.Context, metricsURL string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", metricsURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("metrics: %s: HTTP %d", metricsURL, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return body, nil
}

// scrapeSum reads the metrics of every URL and adds them up: with only ""
// each metric's samples summed, with only a metric's name its samples per
// series (see parseSeries). A cluster's figure is the sum over the
// processes that serve it: the connections over its gateways, the store
// queries over its API processes. need, when not "", is a metric every URL
// must expose, so that a wrong URL fails instead of counting as zero.
func (a *api) scrapeSum(ctx context.Context, metricsURLs []string, only, need string) (map[string]float64, error) {
	sum := map[string]float64{}
	for _, u := range metricsURLs {
		body, err := a.fetchMetrics(ctx, u)
		if err != nil {
			return nil, err
		}
		m, err := parseSeries(bytes.NewReader(body), only)
		if err != nil {
			return nil, fmt.Errorf("metrics: %s: %w", u, err)
		}
		if _, ok := m[need]; need != "" && !ok {
			return nil, fmt.Errorf("metrics: %s has no %s", u, need)
		}
		for k, v := range m {
			sum[k] += v
		}
	}
	return sum, nil
}

// scrapeMetrics reads the figures idle reports, summed over the URLs.
func (a *api) scrapeMetrics(ctx context.Context, metricsURLs []string) (ServerMetrics, error) {
	m, err := a.scrapeSum(ctx, metricsURLs, "", "process_resident_memory_bytes")
	if err != nil {
		return ServerMetrics{}, err
	}
	return ServerMetrics{
		RSSBytes:    m["process_resident_memory_bytes"],
		Goroutines:  m["go_goroutines"],
		Connections: m["confab_gateway_connections"],
	}, nil
}

// parseMetrics reads Prometheus text format into name → value, summing the
// samples of a name over its label sets. Comments and malformed lines are
// skipped.
func parseMetrics(r io.Reader) (map[string]float64, error) {
	return parseSeries(r, "")
}

// parseSeries is parseMetrics, but when only is not empty it keeps only
// that metric's samples, each under its series ("name{labels}") instead of
// summed.
func parseSeries(r io.Reader, only string) (map[string]float64, error) {
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest := line, ""
		if i := strings.IndexAny(line, "{ "); i >= 0 {
			name, rest = line[:i], line[i:]
		}
		if only != "" && name != only {
			continue
		}
		key := name
		if strings.HasPrefix(rest, "{") {
			j := strings.LastIndexByte(rest, '}')
			if j < 0 {
				continue
			}
			if only != "" {
				key = name + rest[:j+1]
			}
			rest = rest[j+1:]
		}
		fields := strings.Fields(rest) // value [timestamp]
		if len(fields) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			continue
		}
		out[key] += v
	}
	return out, sc.Err()
}
