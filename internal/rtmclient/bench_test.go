package rtmclient

import (
	"context"
	"fmt"
	"testing"

	"github.com/valyala/fastjson"
)

// BenchmarkLiveEvent is what a client spends on each live message: parse,
// decode, apply. A storm bench worker runs thousands of clients, and their
// live traffic competes with the reconnections it measures.
func BenchmarkLiveEvent(b *testing.B) {
	c := New(Config{})
	held := heldEvents{}
	frames := make([][]byte, 1000)
	for i := range frames {
		frames[i] = fmt.Appendf(nil, `{"type":"message","channel":"C0123456789","user":"U0123456789","text":"storm message %d of the bench","ts":"1764242312.%06d","seq":%d}`, i, i+1, i+1)
	}
	var p fastjson.Parser
	b.ReportAllocs()
	for i := range b.N {
		if i%len(frames) == 0 {
			c = New(Config{}) // a fresh view, so that every seq is new
		}
		v, err := p.ParseBytes(frames[i%len(frames)])
		if err != nil {
			b.Fatal(err)
		}
		e := decodeEvent(v)
		if err := c.applyLive(context.Background(), e, held); err != nil {
			b.Fatal(err)
		}
	}
}
