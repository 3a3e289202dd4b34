package bench

import (
	"math"
	"time"
)

// histGrowth is the ratio of a Histogram bucket's upper bound to its lower
// one: percentiles read from a Histogram are within 1% of the samples'.
const histGrowth = 1.01

// Histogram counts durations in logarithmic buckets, so that the
// measurements of several processes can be merged and summarised. Count,
// sum and max are exact. The zero value is empty and ready to use.
type Histogram struct {
	Buckets map[int]int64 `json:"buckets,omitempty"` // bucket index → samples
	Count   int64         `json:"count"`
	SumNs   int64         `json:"sum_ns"`
	MaxNs   int64         `json:"max_ns"`
}

// histBucket is the index of the bucket holding d: bucket i holds
// durations in (growth^(i-1), growth^i] microseconds; bucket 0 holds
// everything up to 1 µs.
func histBucket(d time.Duration) int {
	us := float64(d) / float64(time.Microsecond)
	if us <= 1 {
		return 0
	}
	return int(math.Ceil(math.Log(us) / math.Log(histGrowth)))
}

// histUpper is bucket i's upper bound.
func histUpper(i int) time.Duration {
	return time.Duration(math.Pow(histGrowth, float64(i)) * float64(time.Microsecond))
}

// Add counts one sample.
func (h *Histogram) Add(d time.Duration) {
	if h.Buckets == nil {
		h.Buckets = map[int]int64{}
	}
	h.Buckets[histBucket(d)]++
	h.Count++
	h.SumNs += int64(d)
	h.MaxNs = max(h.MaxNs, int64(d))
}

// AddAll counts every sample of ds.
func (h *Histogram) AddAll(ds []time.Duration) {
	for _, d := range ds {
		h.Add(d)
	}
}

// Merge adds o's samples to h.
func (h *Histogram) Merge(o Histogram) {
	if h.Buckets == nil {
		h.Buckets = map[int]int64{}
	}
	for i, n := range o.Buckets {
		h.Buckets[i] += n
	}
	h.Count += o.Count
	h.SumNs += o.SumNs
	h.MaxNs = max(h.MaxNs, o.MaxNs)
}

// quantile is the nearest-rank q-quantile: the upper bound of the bucket
// holding the rank's sample, but never more than the exact maximum.
func (h *Histogram) quantile(q float64) time.Duration {
	if h.Count == 0 {
		return 0
	}
	rank := min(max(int64(math.Ceil(q*float64(h.Count))), 1), h.Count)
	lo, hi := math.MaxInt, math.MinInt
	for i := range h.Buckets {
		lo, hi = min(lo, i), max(hi, i)
	}
	var seen int64
	for i := lo; i <= hi; i++ {
		seen += h.Buckets[i]
		if seen >= rank {
			return min(histUpper(i), time.Duration(h.MaxNs))
		}
	}
	return time.Duration(h.MaxNs)
}

// Summary returns h as a Latency; its percentiles are within 1%.
func (h *Histogram) Summary() Latency {
	if h.Count == 0 {
		return Latency{}
	}
	return Latency{
		Count:  int(h.Count),
		MeanMs: ms(time.Duration(h.SumNs / h.Count)),
		P50Ms:  ms(h.quantile(0.50)),
		P99Ms:  ms(h.quantile(0.99)),
		P999Ms: ms(h.quantile(0.999)),
		MaxMs:  ms(time.Duration(h.MaxNs)),
	}
}
