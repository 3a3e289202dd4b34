package bench

import (
	"bytes"
	"testing"

	"github.com/confab/confab/slackexport"
)

// TestWriteSlackExport: a small export of the made-up shape reads back
// whole, without a problem: every message, in its channel, threads
// replying to an earlier parent, reactions and mentions of members.
func TestWriteSlackExport(t *testing.T) {
	var buf bytes.Buffer
	spec := ExportSpec{Messages: 2000, Channels: 5, Users: 60, Days: 3, Seed: 7}
	n, err := WriteSlackExport(&buf, spec)
	if err != nil {
		t.Fatal(err)
	}
	if n.Messages != spec.Messages || n.Replies == 0 || n.Reactions == 0 || n.Mentions == 0 {
		t.Fatalf("counts %+v: want %d messages with replies, reactions and mentions", n, spec.Messages)
	}
	x, err := slackexport.Open(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if len(x.Problems) > 0 {
		t.Fatalf("problems: %v", x.Problems)
	}
	if len(x.Users) != spec.Users || len(x.Conversations) != spec.Channels {
		t.Fatalf("%d users, %d conversations", len(x.Users), len(x.Conversations))
	}
	var msgs, replies, reactions int
	for i := range x.Conversations {
		c := &x.Conversations[i]
		if i == 0 && (!c.IsGeneral || len(c.Members) != spec.Users) {
			t.Errorf("first channel %s: general %v, %d members", c.Name, c.IsGeneral, len(c.Members))
		}
		if x.Days(c) < spec.Days {
			t.Errorf("%s: %d day files, want %d or more", c.Name, x.Days(c), spec.Days)
		}
		for m, err := range x.Messages(c) {
			if err != nil {
				t.Fatalf("%s: %v", c.Name, err)
			}
			msgs++
			if m.IsReply() {
				replies++
			}
			for _, r := range m.Reactions {
				reactions += len(r.Users)
			}
		}
	}
	if msgs != n.Messages || replies != n.Replies || reactions != n.Reactions {
		t.Errorf("read %d messages, %d replies, %d reactions; wrote %+v", msgs, replies, reactions, n)
	}
	var again bytes.Buffer
	if _, err := WriteSlackExport(&again, spec); err != nil || !bytes.Equal(again.Bytes(), buf.Bytes()) {
		t.Errorf("the same spec wrote another export (%v)", err)
	}
}
