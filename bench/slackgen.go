package bench

import (
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/confab/confab/slackexport"
)

// ExportSpec is the shape of a made-up Slack export (WriteSlackExport).
type ExportSpec struct {
	Messages int // in all, spread evenly over the channels
	Channels int // public channels; the first is the general channel
	Users    int
	Days     int    // each channel's messages span this many days
	Seed     uint64 // the same spec and seed write the same export
}

// ExportCounts is what WriteSlackExport wrote.
type ExportCounts struct {
	Messages  int `json:"messages"`
	Replies   int `json:"replies"`   // of them, replies in threads
	Reactions int `json:"reactions"` // a user's reaction each
	Mentions  int `json:"mentions"`  // messages mentioning someone
}

// exportMembers is how many users a channel other than the general one
// has: a sample of the workspace, as in a real team.
const exportMembers = 50

// WriteSlackExport writes a Slack export (a zip, as Slack's "Export data"
// makes it) of spec's size to w: users, public channels with members, and
// each channel's messages over spec.Days days, of which about a third are
// replies in threads, a sixth carry reactions and a tenth mention a user.
// It streams: the memory does not grow with the size.
func WriteSlackExport(w io.Writer, spec ExportSpec) (ExportCounts, error) {
	var n ExportCounts
	if spec.Channels < 1 || spec.Users < 1 || spec.Messages < 0 || spec.Days < 1 {
		return n, fmt.Errorf("export of %d messages, %d channels, %d users over %d days: want channels, users and days ≥ 1",
			spec.Messages, spec.Channels, spec.Users, spec.Days)
	}
	rng := rand.New(rand.NewPCG(spec.Seed, 0x5eed))
	users := make([]slackexport.User, spec.Users)
	for i := range users {
		users[i] = slackexport.User{ID: fmt.Sprintf("U%06d", i), Name: fmt.Sprintf("user%d", i),
			RealName: fmt.Sprintf("User %d", i), Profile: slackexport.Profile{
				RealName: fmt.Sprintf("User %d", i), Email: fmt.Sprintf("user%d@export.example", i)}}
	}
	start := time.Date(2020, 1, 6, 9, 0, 0, 0, time.UTC).Unix()
	convs := make([]slackexport.Conversation, spec.Channels)
	for i := range convs {
		c := &convs[i]
		c.Kind, c.ID, c.Name, c.Created = slackexport.Public, fmt.Sprintf("C%06d", i), fmt.Sprintf("channel-%d", i), start
		c.Creator = users[0].ID
		if i == 0 {
			c.Name, c.IsGeneral = "general", true
			for _, u := range users {
				c.Members = append(c.Members, u.ID)
			}
			continue
		}
		for _, j := range rng.Perm(spec.Users)[:min(exportMembers, spec.Users)] {
			c.Members = append(c.Members, users[j].ID)
		}
	}
	x := slackexport.NewWriter(w)
	if err := x.WriteUsers(users); err != nil {
		return n, err
	}
	if err := x.WriteConversations(convs); err != nil {
		return n, err
	}
	span := int64(spec.Days) * 86400 * 1_000_000
	for i := range convs {
		c := &convs[i]
		count := spec.Messages / spec.Channels
		if i < spec.Messages%spec.Channels {
			count++
		}
		if count == 0 {
			continue
		}
		step := max(span/int64(count), 2)
		type thread struct {
			ts   string
			left int
		}
		var open []thread
		ts := start*1_000_000 + int64(i)
		for range count {
			ts += step/2 + rng.Int64N(step)
			m := &slackexport.Message{Type: "message", User: c.Members[rng.IntN(len(c.Members))], TS: slackexport.FormatTS(ts)}
			if len(open) > 0 && rng.IntN(3) == 0 {
				k := rng.IntN(len(open))
				m.ThreadTS, m.ParentUserID = open[k].ts, c.Members[0]
				if open[k].left--; open[k].left == 0 {
					open = append(open[:k], open[k+1:]...)
				}
				n.Replies++
			} else if rng.IntN(8) == 0 && len(open) < 20 {
				m.ThreadTS = m.TS
				open = append(open, thread{ts: m.TS, left: 1 + rng.IntN(8)})
			}
			var text strings.Builder
			for w := range 4 + rng.IntN(20) {
				if w > 0 {
					text.WriteByte(' ')
				}
				text.WriteString(exportWords[rng.IntN(len(exportWords))])
			}
			if rng.IntN(10) == 0 {
				fmt.Fprintf(&text, " <@%s>", c.Members[rng.IntN(len(c.Members))])
				n.Mentions++
			}
			m.Text = text.String()
			if rng.IntN(6) == 0 {
				for _, name := range exportEmoji[:1+rng.IntN(2)] {
					r := slackexport.Reaction{Name: name}
					for _, j := range rng.Perm(len(c.Members))[:1+rng.IntN(min(3, len(c.Members)))] {
						r.Users = append(r.Users, c.Members[j])
					}
					r.Count = len(r.Users)
					n.Reactions += r.Count
					m.Reactions = append(m.Reactions, r)
				}
			}
			if err := x.WriteMessage(c, m); err != nil {
				return n, err
			}
			n.Messages++
		}
	}
	return n, x.Close()
}

var exportWords = strings.Fields(`the a to and of we it is for on this that in be with I you deploy
	review build release meeting lunch tomorrow today ticket bug fix merge branch test server
	database latency customer design draft plan sprint retro standup incident alert dashboard
	migration schema index query cache queue worker config rollout rollback staging production
	budget report quarter roadmap hiring onboarding docs wiki feedback question answer thanks
	please maybe later soon agreed blocked done waiting shipped broken flaky green red kubernetes
	postgres sqlite golang frontend backend mobile android ios browser network proxy certificate`)

var exportEmoji = []string{"thumbsup", "eyes", "tada", "heart", "white_check_mark", "joy"}
