package bench

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"
)

// Fanout over several channels: each subscriber gets exactly the posts of
// its user's channels (post i goes to channel i mod Channels; a user is in
// UserChannels of them), in this process and spread over two workers.
func TestBenchFanoutChannels(t *testing.T) {
	const clients, channels, users, posts = 40, 4, 8, 20
	for _, procs := range []int{0, 2} {
		for _, userChannels := range []int{1, 2} {
			name := fmt.Sprintf("%s/%d-of-%d", map[int]string{0: "local", 2: "spread"}[procs], userChannels, channels)
			t.Run(name, func(t *testing.T) {
				srv := mustServe(t)
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				defer cancel()
				cfg := Config{
					Scenario: "fanout", URL: srv.URL, Clients: clients, Users: users, Channels: channels, UserChannels: userChannels,
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
				// Each of a user's channels gets a quarter of the posts.
				want := int64(posts * clients * userChannels / channels)
				if f.Channels != channels || f.UserChannels != userChannels || f.Posted != posts || f.Expected != want ||
					f.Deliveries != want || f.Missing != 0 || f.Duplicates != 0 || f.Misrouted != 0 {
					t.Fatalf("fanout %+v; want %d channels, %d posted, %d deliveries expected and made, none missing or doubled",
						f, channels, posts, want)
				}
			})
		}
	}
}

// A user is in exactly the channels userChannel lists, and every channel
// of a run with Users×UserChannels a multiple of Channels has the same
// number of members.
func TestFanoutPlacement(t *testing.T) {
	for _, c := range []struct{ users, channels, per int }{{8, 4, 1}, {8, 4, 2}, {10000, 1000, 10}, {7, 5, 3}} {
		j := shareJob{Channels: c.channels, UserChannels: c.per}
		members := make([]int, c.channels)
		for u := range c.users {
			listed := map[int]bool{}
			for k := range c.per {
				listed[j.userChannel(u, k)] = true
			}
			if len(listed) != c.per {
				t.Fatalf("%+v: user %d listed in %d distinct channels, want %d", c, u, len(listed), c.per)
			}
			for ch := range c.channels {
				if j.inChannel(u, ch) != listed[ch] {
					t.Fatalf("%+v: user %d channel %d: inChannel %v, listed %v", c, u, ch, j.inChannel(u, ch), listed[ch])
				}
				if listed[ch] {
					members[ch]++
				}
			}
		}
		if c.users*c.per%c.channels == 0 {
			for ch, n := range members {
				if n != c.users*c.per/c.channels {
					t.Fatalf("%+v: channel %d has %d members, want %d", c, ch, n, c.users*c.per/c.channels)
				}
			}
		}
	}
}
