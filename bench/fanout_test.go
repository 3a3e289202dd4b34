package bench

import (
	"context"
	"os"
	"testing"
	"time"
)

// Fanout over several channels: each subscriber gets exactly the posts of
// its own channel (post i goes to channel i mod Channels), in this process
// and spread over two workers.
func TestBenchFanoutChannels(t *testing.T) {
	const clients, channels, users, posts = 40, 4, 8, 20
	for _, procs := range []int{0, 2} {
		t.Run(map[int]string{0: "local", 2: "spread"}[procs], func(t *testing.T) {
			srv := mustServe(t)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cfg := Config{
				Scenario: "fanout", URL: srv.URL, Clients: clients, Users: users, Channels: channels,
				Rate: 100, Messages: posts, Procs: procs, Timeout: 50 * time.Second,
				WorkerCommand: []string{os.Args[0], workerArg}, WorkerStderr: testWriter{t},
			}
			rep, err := Run(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			f := rep.Fanout
			if !rep.OK() || f == nil {
				t.Fatalf("report problems %v, fanout %+v", rep.Problems, f)
			}
			// Each subscriber's channel gets a quarter of the posts.
			want := int64(posts * clients / channels)
			if f.Channels != channels || f.Posted != posts || f.Expected != want || f.Deliveries != want || f.Missing != 0 || f.Duplicates != 0 || f.Misrouted != 0 {
				t.Fatalf("fanout %+v; want %d channels, %d posted, %d deliveries expected and made, none missing or doubled",
					f, channels, posts, want)
			}
		})
	}
}
