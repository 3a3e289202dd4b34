package bench

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/confab/confab/gateway"
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

// Stuck connections (-stuck) that read nothing after hello, during posts
// that overflow their socket's buffers and the queue's limit: the server
// closes every one as a slow consumer (seen on their sockets and in its
// counter), and the subscribers, of the same users, still get every post
// and stay connected; in this process and spread over two workers.
func TestBenchFanoutStuck(t *testing.T) {
	const clients, users, stuck, posts, size = 10, 5, 6, 100, 4000
	for _, procs := range []int{0, 2} {
		t.Run(map[int]string{0: "local", 2: "spread"}[procs], func(t *testing.T) {
			// A stuck socket takes ~48 KiB (both buffers, doubled by the
			// kernel) and its queue 128 KiB of the 400 KB posted.
			srv := mustServeTuned(t, func(c *gateway.Config) {
				c.MaxQueueBytes, c.SendBufferBytes = 128<<10, 16<<10
			})
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cfg := Config{
				Scenario: "fanout", URL: srv.Direct, Clients: clients, Users: users, Stuck: stuck, Size: size,
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
			if want := int64(posts * clients); f.Posted != posts || f.Deliveries != want || f.Missing != 0 || f.Disconnects != 0 {
				t.Fatalf("fanout %+v; want all %d deliveries to the subscribers and none cut", f, want)
			}
			if f.Stuck != stuck || f.SlowConsumers != stuck || f.Stalled != 0 {
				t.Fatalf("fanout %+v; want %d stuck connections, each closed by the server as a slow consumer over the queue", f, stuck)
			}
			if f.StuckChecked > 0 && (f.StuckChecked != stuck || f.StuckClosed != stuck) {
				t.Fatalf("fanout %+v; want all %d stuck sockets seen closed", f, stuck)
			}
		})
	}
}

// The send time of a padded post (Config.Size) is read as that of a bare one.
func TestParseFanoutPadded(t *testing.T) {
	for _, frame := range []string{`{"text":"fo 7 123456789"}`, `{"text":"fo 7 123456789 xxxxxxxx"}`} {
		i, sent, ok := parseFanout([]byte(frame))
		if !ok || i != 7 || sent != 123456789 {
			t.Errorf("parseFanout(%s) = %d, %d, %v; want 7, 123456789, true", frame, i, sent, ok)
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
