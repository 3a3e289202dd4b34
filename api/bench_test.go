package api_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/confab/confab/api"
)

// TestConcurrent drives many tokens through a small limiter map from
// several goroutines, for the race detector.
func TestConcurrent(t *testing.T) {
	srv := MustServer(t, stocked(), api.Config{RateLimit: 1000, RateBurst: 10, MaxLimiters: 5})
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				req := httptest.NewRequest("POST", "/api/auth.test", nil)
				req.Header.Set("Authorization", "Bearer xoxp-"+strconv.Itoa(g*1000+i%7))
				rec := httptest.NewRecorder()
				srv.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK && rec.Code != http.StatusTooManyRequests {
					errs <- rec.Body.String()
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("unexpected answer %s", e)
	}
}

func benchmarkMethod(b *testing.B, method string, args url.Values) {
	srv := MustServer(b, stocked(), api.Config{})
	body := args.Encode()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest("POST", "/api/"+method, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+goodToken)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}

func BenchmarkPostMessage(b *testing.B) {
	benchmarkMethod(b, "chat.postMessage", url.Values{"channel": {"CGENERAL"}, "text": {"hello <@UBOB>"}})
}

func BenchmarkHistory(b *testing.B) {
	benchmarkMethod(b, "conversations.history", url.Values{"channel": {"CGENERAL"}, "limit": {"100"}})
}

func BenchmarkPostMessageRateLimited(b *testing.B) {
	srv := MustServer(b, stocked(), api.Config{RateLimit: 1e9, RateBurst: 1e9})
	body := url.Values{"channel": {"CGENERAL"}, "text": {"hello"}}.Encode()
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("POST", "/api/chat.postMessage", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+goodToken)
		srv.ServeHTTP(httptest.NewRecorder(), req)
	}
}
