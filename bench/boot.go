package bench

import (
	"context"
	"fmt"
	"net/url"
	"time"
)

// BootResult is the outcome of the boot scenario.
type BootResult struct {
	Users    int `json:"users"`    // in the workspace
	Channels int `json:"channels"` // the booting user is in
	// Bytes is the size of a client.boot answer; BootChannels how many
	// conversations it listed.
	Bytes        int     `json:"bytes"`
	BootChannels int     `json:"boot_channels"`
	Reads        int     `json:"reads"`
	Latency      Latency `json:"latency"`
}

// boot signs up a workspace of Users users, has its owner create Channels
// channels with one message each, then times Reads sequential client.boot
// calls of the owner.
func (r *run) boot(ctx context.Context) error {
	start := time.Now()
	ws, err := r.setup(ctx, r.cfg.Users)
	if err != nil {
		return err
	}
	owner := ws.users[0]
	r.log.Info("creating channels", "channels", r.cfg.Channels)
	channels := make([]string, r.cfg.Channels)
	err = forEach(ctx, len(channels), r.cfg.Parallel, func(ctx context.Context, i int) error {
		id, err := r.api.createChannel(ctx, owner.Token, fmt.Sprintf("boot-%d", i))
		if err != nil {
			return err
		}
		channels[i] = id
		return r.api.setupCall(ctx, owner.Token, "chat.postMessage", url.Values{"channel": {id}, "text": {fmt.Sprintf("boot %d", i)}}, nil)
	})
	if err != nil {
		return err
	}
	res := &BootResult{Users: len(ws.users), Channels: len(channels), Reads: r.cfg.Reads}
	r.rep.Boot = res
	r.setupDone(start)

	r.log.Info("timing client.boot", "reads", r.cfg.Reads)
	lat := make([]time.Duration, 0, r.cfg.Reads)
	latest := 0 // conversations of the last answer with a latest message
	for range r.cfg.Reads {
		var out struct {
			Channels []struct {
				ID     string `json:"id"`
				Latest *struct {
					TS string `json:"ts"`
				} `json:"latest"`
			} `json:"channels"`
		}
		t := time.Now()
		body, err := r.api.callBody(ctx, owner.Token, "client.boot", nil, &out)
		if err != nil {
			return err
		}
		lat = append(lat, time.Since(t))
		res.Bytes, res.BootChannels = len(body), len(out.Channels)
		latest = 0
		for _, c := range out.Channels {
			if c.Latest != nil && c.Latest.TS != "" {
				latest++
			}
		}
	}
	res.Latency = Summarize(lat)
	if res.BootChannels < res.Channels {
		r.rep.problem("client.boot lists %d conversations, the user is in %d channels", res.BootChannels, res.Channels)
	}
	if len(lat) > 0 && latest < res.Channels {
		r.rep.problem("client.boot shows the latest message of %d conversations, each of the %d channels has one", latest, res.Channels)
	}
	return nil
}
