package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkPostMessage measures durable chat.postMessage over HTTP on the
// embedded default (SQLite, synchronous=full, group commit), with 64
// concurrent posters spread over 8 channels. It reports messages/s.
//
//	go test -tags sqlite_fts5 -run XXX -bench PostMessage -benchtime 5000x ./cmd/confab/
func BenchmarkPostMessage(b *testing.B) {
	m := MustRunMain(b, func(m *Main) {
		m.Config.SQLiteSync = "full"
		m.Config.PasswordCost = 4
	})
	alice := signup(b, m, "bench", "alice")
	var channels []string
	for i := 0; i < 8; i++ {
		channels = append(channels, alice.createChannel(fmt.Sprintf("bench-%d", i), false))
	}
	transport := &http.Transport{MaxIdleConnsPerHost: 128, MaxConnsPerHost: 128}
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	defer transport.CloseIdleConnections()
	endpoint := m.URL() + "/api/chat.postMessage"
	var n atomic.Int64

	b.SetParallelism(32) // 64 posters on 2 CPUs
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			form := url.Values{"channel": {channels[i%int64(len(channels))]}, "text": {fmt.Sprintf("message %d", i)}}
			req, _ := http.NewRequest("POST", endpoint, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Authorization", "Bearer "+alice.token)
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(n.Load())/time.Since(start).Seconds(), "msgs/s")
}
