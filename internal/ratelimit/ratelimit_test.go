package ratelimit

import (
	"strconv"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

func TestBounded(t *testing.T) {
	l := New[string](Config{Rate: rate.Every(time.Hour), Burst: 1, MaxKeys: 10})
	for i := 0; i < 1000; i++ {
		if got := l.Wait("k" + strconv.Itoa(i)); got != 0 {
			t.Fatalf("first request of a new key waits %v", got)
		}
		if n := l.Len(); n > 10 {
			t.Fatalf("after %d keys the map holds %d buckets, max 10", i+1, n)
		}
	}
	if got := l.Wait("k999"); got < time.Minute {
		t.Errorf("second request of a kept key: wait %v, want about an hour", got)
	}
}

func TestSweepIdle(t *testing.T) {
	// A burst refills in a nanosecond: every bucket is idle at once, so the
	// sweep empties the map instead of evicting arbitrary keys.
	l := New[string](Config{Rate: rate.Limit(1e9), Burst: 1, MaxKeys: 3})
	for _, k := range []string{"a", "b", "c"} {
		l.Wait(k)
	}
	l.Wait("d")
	if n := l.Len(); n != 1 {
		t.Errorf("after the sweep the map holds %d buckets, want 1", n)
	}
}

func TestInf(t *testing.T) {
	l := New[int](Config{Rate: rate.Inf, MaxKeys: 1})
	for i := 0; i < 100; i++ {
		if got := l.Wait(i); got != 0 {
			t.Fatalf("rate.Inf waits %v", got)
		}
	}
	if n := l.Len(); n != 0 {
		t.Errorf("rate.Inf keeps %d buckets", n)
	}
}

// TestBurstThenRate: a key gets its burst at once, then is refused; a
// refusal takes nothing from the bucket.
func TestBurstThenRate(t *testing.T) {
	l := New[uint64](Config{Rate: rate.Every(time.Hour), Burst: 5})
	for i := range 5 {
		if got := l.Wait(7); got != 0 {
			t.Fatalf("request %d of the burst waits %v", i+1, got)
		}
	}
	for range 3 {
		if got := l.Wait(7); got <= 0 {
			t.Fatalf("request past the burst waits %v, want > 0", got)
		}
	}
	if got := l.Wait(8); got != 0 {
		t.Errorf("another key waits %v: buckets are per key", got)
	}
	if got := New[int](Config{Rate: 0, Burst: 0}).Wait(1); got != Never {
		t.Errorf("zero rate and burst: wait %v, want Never", got)
	}
}
