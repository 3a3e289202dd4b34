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

// ServerMetrics are the figures idle reads from the server's /metrics.
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

// scrapeMetrics reads the server's figures idle reports.
func (a *api) scrapeMetrics(ctx context.Context, metricsURL string) (ServerMetrics, error) {
	body, err := a.fetchMetrics(ctx, metricsURL)
	if err != nil {
		return ServerMetrics{}, err
	}
	m, err := parseMetrics(bytes.NewReader(body))
	if err != nil {
		return ServerMetrics{}, fmt.Errorf("metrics: %w", err)
	}
	out := ServerMetrics{
		RSSBytes:    m["process_resident_memory_bytes"],
		Goroutines:  m["go_goroutines"],
		Connections: m["confab_gateway_connections"],
	}
	if _, ok := m["process_resident_memory_bytes"]; !ok {
		return out, fmt.Errorf("metrics: %s has no process_resident_memory_bytes", metricsURL)
	}
	return out, nil
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
