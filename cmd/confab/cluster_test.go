package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/confab/confab/internal/rtmclient"
)

// waitForAll waits until every client shows exactly the wanted texts in a
// channel, each once, and never re-showed one.
func waitForAll(c *cluster, clients []*rtmclient.Client, channel string, want map[string]bool) {
	c.t.Helper()
	for i, rc := range clients {
		c.eventually(fmt.Sprintf("client %d to show all %d messages", i, len(want)), func() bool {
			return len(rc.Messages(channel)) >= len(want)
		})
		seen := map[string]bool{}
		for _, m := range rc.Messages(channel) {
			if !want[m.Text] || seen[m.Text] {
				c.t.Fatalf("client %d shows %q (unexpected or twice)", i, m.Text)
			}
			seen[m.Text] = true
		}
		if len(seen) != len(want) {
			c.t.Fatalf("client %d shows %d messages, want %d", i, len(seen), len(want))
		}
		if st := rc.Stats(); st.Reshown != 0 {
			c.t.Fatalf("client %d showed %d messages a second time: %+v", i, st.Reshown, st)
		}
	}
}

// Clients of a workspace spread over its pocket's gateways all receive
// every message of their channels, and one pocket's traffic never reaches
// another pocket's Redis.
func TestClusterDeliversWithinPockets(t *testing.T) {
	c := startCluster(t, 2, 2)
	alice := c.user("alpha", "alice", c.api(0))
	ch := alice.createChannel("general", false)
	var clients []*rtmclient.Client
	gateways := map[string]int{}
	for i := 0; i < 16; i++ {
		u := c.user("alpha", fmt.Sprintf("user%d", i), c.api(i))
		u.must("conversations.join", obj{"channel": ch})
		rc := c.follow(u, c.api(i))
		clients = append(clients, rc)
		gateways[rc.Stats().Gateway]++
	}
	if len(gateways) != 2 {
		t.Fatalf("16 clients of pocket a landed on %v, want both of its gateways", gateways)
	}
	for url := range gateways {
		for _, g := range c.gateways {
			if g.wsBase() == url && g.pocket != "a" {
				t.Fatalf("a client of pocket a was sent to gateway %s of pocket %s", url, g.pocket)
			}
		}
	}

	beta := c.user("beta", "bob", c.api(1))
	betaCh := beta.createChannel("general", false)
	betaClient := c.follow(beta, c.api(0))

	aBefore, bBefore := c.publishes("a"), c.publishes("b")
	want := map[string]bool{}
	start := time.Now()
	for i := 0; i < 50; i++ {
		text := fmt.Sprintf("alpha %d", i)
		want[text] = true
		poster := *alice
		poster.base = c.api(i).URL()
		poster.post(ch, text)
	}
	waitForAll(c, clients, ch, want)
	t.Logf("50 messages to 16 clients over 2 gateways: %d deliveries in %v", 50*16, time.Since(start))
	if n := c.publishes("b") - bBefore; n != 0 {
		t.Fatalf("pocket b's Redis served %d publishes during pocket a's traffic", n)
	}
	if n := c.publishes("a") - aBefore; n < 50 {
		t.Fatalf("pocket a's Redis served %d publishes for 50 messages", n)
	}

	aBefore = c.publishes("a")
	betaWant := map[string]bool{}
	for i := 0; i < 20; i++ {
		text := fmt.Sprintf("beta %d", i)
		betaWant[text] = true
		beta.post(betaCh, text)
	}
	waitForAll(c, []*rtmclient.Client{betaClient}, betaCh, betaWant)
	if n := c.publishes("a") - aBefore; n != 0 {
		t.Fatalf("pocket a's Redis served %d publishes during pocket b's traffic", n)
	}
}
