package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/confab/confab/internal/rtmclient"
	"github.com/jackc/pgx/v5"
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

// channelWithFollowers makes alice of workspace alpha, her #plaza, and n
// members of it, each followed by an rtmclient connected through the API
// processes in turn.
func channelWithFollowers(c *cluster, n int) (alice *client, ch string, clients []*rtmclient.Client) {
	c.t.Helper()
	alice = c.user("alpha", "alice", c.api(0))
	ch = alice.createChannel("plaza", false)
	for i := 0; i < n; i++ {
		u := c.user("alpha", fmt.Sprintf("user%d", i), c.api(i))
		u.must("conversations.join", obj{"channel": ch})
		clients = append(clients, c.follow(u, c.api(i)))
	}
	return alice, ch, clients
}

// Clients of a workspace spread over its pocket's gateways all receive
// every message of their channels, and one pocket's traffic never reaches
// another pocket's Redis.
func TestClusterDeliversWithinPockets(t *testing.T) {
	c := startCluster(t, 2, 2)
	alice, ch, clients := channelWithFollowers(c, 16)
	gateways := map[string]int{}
	for _, rc := range clients {
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
	betaCh := beta.createChannel("plaza", false)
	betaClient := c.follow(beta, c.api(0))

	// The topics of a workspace are "<workspace id>.<kind>.<id>", after
	// the bus's prefix.
	pocketA, pocketB := c.watchTopics("a"), c.watchTopics("b")
	of := func(topics []string, team string) (n int) {
		for _, tp := range topics {
			if strings.Contains(tp, team+".") {
				n++
			}
		}
		return n
	}
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
	if onB := pocketB.topics(); of(onB, alice.teamID) != 0 {
		t.Fatalf("pocket b's Redis carried pocket a's workspace: %v", onB)
	}
	if n := of(pocketA.topics(), alice.teamID); n < 50 {
		t.Fatalf("pocket a's Redis carried %d publishes of its workspace for 50 messages", n)
	}

	betaWant := map[string]bool{}
	for i := 0; i < 20; i++ {
		text := fmt.Sprintf("beta %d", i)
		betaWant[text] = true
		beta.post(betaCh, text)
	}
	waitForAll(c, []*rtmclient.Client{betaClient}, betaCh, betaWant)
	if onA := pocketA.topics(); of(onA, beta.teamID) != 0 {
		t.Fatalf("pocket a's Redis carried pocket b's workspace: %v", onA)
	}
	if n := of(pocketB.topics(), beta.teamID); n < 20 {
		t.Fatalf("pocket b's Redis carried %d publishes of its workspace for 20 messages", n)
	}
}

// poster posts texts through the cluster's API processes, round robin.
type poster struct {
	c    *cluster
	user *client
	ch   string
	n    int
	want map[string]bool
}

// post posts one message; it may run on a goroutine of its own, so it
// reports failure rather than ending the test.
func (p *poster) post(text string) error {
	u := *p.user
	u.base = p.c.api(p.n).URL()
	p.n++
	status, out, err := u.try("chat.postMessage", obj{"channel": p.ch, "text": text})
	if err == nil && (status != 200 || out["ok"] != true) {
		err = fmt.Errorf("chat.postMessage = %d %v", status, out)
	}
	if err != nil {
		return err
	}
	p.want[text] = true
	return nil
}

// mustPost is post on the test's goroutine.
func (p *poster) mustPost(text string) {
	p.c.t.Helper()
	if err := p.post(text); err != nil {
		p.c.t.Fatal(err)
	}
}

// A gateway killed with SIGKILL while messages are posted: its clients
// come back through rtm.connect to a surviving gateway and, with
// client.catchup, end with every message exactly once.
func TestClusterGatewayKill(t *testing.T) {
	c := startCluster(t, 2, 2)
	alice, ch, clients := channelWithFollowers(c, 12)
	victim := c.gateways[0] // pocket a
	var onVictim []*rtmclient.Client
	for _, rc := range clients {
		if rc.Stats().Gateway == victim.wsBase() {
			onVictim = append(onVictim, rc)
		}
	}
	if len(onVictim) == 0 {
		t.Fatalf("no client on gateway %s: nothing to show", victim.addr)
	}

	// Post 200 messages; kill the gateway once 50 are acknowledged.
	p := &poster{c: c, user: alice, ch: ch, want: map[string]bool{}}
	fifty, posted := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(posted)
		for i := 0; i < 200; i++ {
			if err := p.post(fmt.Sprintf("message %d", i)); err != nil {
				t.Error(err)
			}
			if i == 49 {
				close(fifty)
			}
		}
	}()
	<-fifty
	killed := time.Now()
	victim.kill(t)
	// Its registry entry lives on for seconds, but the API processes probe
	// the gateways: rtm.connect sends no one to the dead one soon after.
	time.Sleep(3 * gatewayProbeEvery)
	for i := range 20 {
		if url := alice.must("rtm.connect", nil)["url"].(string); strings.HasPrefix(url, victim.wsBase()) {
			t.Fatalf("rtm.connect %d, %v after the kill: sent to the killed gateway", i+1, time.Since(killed).Round(time.Millisecond))
		}
	}
	<-posted
	waitForAll(c, clients, ch, p.want)
	var slowest time.Duration
	for _, rc := range onVictim {
		st := rc.Stats()
		if st.Connects < 2 || st.Gateway == victim.wsBase() {
			t.Fatalf("a client of the killed gateway did not move: %+v", st)
		}
		slowest = max(slowest, st.LastConnected.Sub(killed))
	}
	t.Logf("gateway kill: %d of %d clients moved to the survivor, the last one %v after the kill; %d messages, each shown once by every client",
		len(onVictim), len(clients), slowest.Round(time.Millisecond), len(p.want))
}

// Redis restarts while messages are posted: no acknowledged message is
// lost. Publications refused while Redis was down are retried once it is
// back, so clients end complete with nothing posted after the restart (and
// any event still missed shows as a seq gap that client.catchup fills).
func TestClusterRedisRestart(t *testing.T) {
	c := startCluster(t, 2, 2)
	alice, ch, clients := channelWithFollowers(c, 6)
	p := &poster{c: c, user: alice, ch: ch, want: map[string]bool{}}
	for i := 0; i < 50; i++ {
		p.mustPost(fmt.Sprintf("before %d", i))
	}
	c.redis["a"].Stop(t)
	for i := 0; i < 50; i++ {
		p.mustPost(fmt.Sprintf("during %d", i)) // acknowledged: saved, though no one hears of it live
	}
	c.redis["a"].Restart(t)
	waitForAll(c, clients, ch, p.want)
	p.mustPost("after the restart")
	waitForAll(c, clients, ch, p.want)
	gaps := 0
	for _, rc := range clients {
		gaps += rc.Stats().Gaps
	}
	t.Logf("redis restart: %d messages acknowledged (50 while Redis was down), every client shows each once; %d seq gaps filled by catch-up", len(p.want), gaps)
}

// Presence works across gateways: Alice on one gateway sees Bob, on the
// other, go active, sees him type, and sees him go away once his gateway is
// killed.
func TestClusterPresenceAcrossGateways(t *testing.T) {
	c := startCluster(t, 1, 2)
	alice := c.user("alpha", "alice", c.api(0))
	bob := c.user("alpha", "bob", c.api(0))
	ch := alice.createChannel("plaza", false)
	bob.must("conversations.join", obj{"channel": ch})

	aliceConn := alice.connect()
	aliceGateway := aliceConn.conn.RemoteAddr().String()
	aliceConn.send(obj{"type": "presence_sub", "ids": []string{bob.userID}})
	aliceConn.send(obj{"id": 1, "type": "ping"})
	aliceConn.next(isType("pong"))

	// The balancer sends Bob to the less loaded gateway once Alice's
	// gateway has announced her connection; ask until it does.
	var bobConn *rtm
	c.eventually("bob on the other gateway", func() bool {
		r := bob.connect()
		if r.conn.RemoteAddr().String() != aliceGateway {
			bobConn = r
			return true
		}
		r.conn.Close()
		return false
	})
	if f := aliceConn.next(func(f obj) bool { return f["type"] == "presence_change" && f["presence"] == "active" }); f["user"] != bob.userID {
		t.Fatalf("presence_change %v, want bob active", f)
	}
	bobConn.send(obj{"id": 2, "type": "typing", "channel": ch})
	if f := aliceConn.next(isType("user_typing")); f["user"] != bob.userID {
		t.Fatalf("user_typing %v, want bob", f)
	}
	var bobGateway *proc
	for _, g := range c.gateways {
		if g.addr == bobConn.conn.RemoteAddr().String() {
			bobGateway = g
		}
	}
	killed := time.Now()
	bobGateway.kill(t)
	if f := aliceConn.next(func(f obj) bool { return f["type"] == "presence_change" && f["presence"] == "away" }); f["user"] != bob.userID {
		t.Fatalf("presence_change %v, want bob away", f)
	}
	t.Logf("bob went away %v after his gateway was killed (presence TTL 3s)", time.Since(killed).Round(time.Millisecond))
	if p := alice.must("users.getPresence", obj{"user": bob.userID}); p["presence"] != "away" {
		t.Fatalf("getPresence = %v, want away", p)
	}
}

// An API process killed mid-load: every acknowledged message is in history
// afterwards, and a client_msg_id retried on the other API process is not
// duplicated.
func TestClusterAPIKill(t *testing.T) {
	c := startCluster(t, 2, 1)
	alice := c.user("alpha", "alice", c.api(1))
	ch := alice.createChannel("plaza", false)
	victim, survivor := c.apis[0], c.apis[1]

	type result struct {
		id      string
		retried bool
	}
	results := make(chan result, 1000)
	killAt := make(chan struct{})
	var acked atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 60; i++ {
				id := fmt.Sprintf("w%d-m%d", w, i)
				args := obj{"channel": ch, "text": id, "client_msg_id": id}
				// First through the victim; on any failure (it died under
				// the request, or was gone already) retry on the survivor
				// with the same client_msg_id.
				u := *alice
				u.base = victim.URL()
				status, out, err := u.try("chat.postMessage", args)
				retried := false
				if err != nil || status != 200 || out["ok"] != true {
					u.base = survivor.URL()
					retried = true
					if status, out, err := u.try("chat.postMessage", args); err != nil || out["ok"] != true {
						t.Errorf("retry of %s on the survivor = %d %v %v", id, status, out, err)
						return
					}
				}
				results <- result{id, retried}
				if acked.Add(1) == 150 {
					close(killAt)
				}
			}
		}(w)
	}
	<-killAt
	victim.kill(t)
	wg.Wait()
	close(results)

	ackedIDs := map[string]bool{}
	retries := 0
	for r := range results {
		ackedIDs[r.id] = true
		if r.retried {
			retries++
		}
	}
	stored := map[string]int{}
	s := *alice
	s.base = survivor.URL()
	cursor := ""
	for {
		out := s.must("conversations.history", obj{"channel": ch, "limit": 1000, "cursor": cursor})
		for _, m := range out["messages"].([]any) {
			stored[m.(obj)["client_msg_id"].(string)]++
		}
		if cursor = out["response_metadata"].(obj)["next_cursor"].(string); cursor == "" {
			break
		}
	}
	for id := range ackedIDs {
		if stored[id] != 1 {
			t.Errorf("acknowledged message %s stored %d times", id, stored[id])
		}
	}
	if retries == 0 {
		t.Fatalf("no post was retried: the kill did not land mid-load")
	}
	t.Logf("API kill: %d messages acknowledged (%d retried on the survivor), each stored once", len(ackedIDs), retries)
}

// A gateway stopped gracefully (SIGTERM) leaves its pocket's registry and
// says goodbye; its clients come back through rtm.connect to another
// gateway and miss nothing.
func TestClusterGatewayShutdown(t *testing.T) {
	c := startCluster(t, 1, 2)
	alice, ch, clients := channelWithFollowers(c, 8)
	leaving := c.gateways[0]
	var moved []*rtmclient.Client
	for _, rc := range clients {
		if rc.Stats().Gateway == leaving.wsBase() {
			moved = append(moved, rc)
		}
	}
	if len(moved) == 0 {
		t.Fatalf("no client on gateway %s: nothing to show", leaving.addr)
	}
	p := &poster{c: c, user: alice, ch: ch, want: map[string]bool{}}
	for i := 0; i < 20; i++ {
		p.mustPost(fmt.Sprintf("before %d", i))
	}
	leaving.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-leaving.exited:
	case <-time.After(30 * time.Second):
		t.Fatal("the gateway did not stop within 30 s of SIGTERM")
	}
	// It left the registry on its way out, not a TTL later.
	for _, g := range c.registered("a") {
		if g.URL == "ws://"+leaving.addr {
			t.Fatalf("a stopped gateway is still in the registry: %+v", g)
		}
	}
	for i := 0; i < 20; i++ {
		p.mustPost(fmt.Sprintf("after %d", i))
	}
	waitForAll(c, clients, ch, p.want)
	for _, rc := range moved {
		if st := rc.Stats(); st.Gateway == leaving.wsBase() || st.Connects < 2 {
			t.Fatalf("a client of the stopped gateway did not move: %+v", st)
		}
	}
	t.Logf("graceful gateway stop: %d of %d clients moved, every message shown once", len(moved), len(clients))
}

// A pocket with its own PostgreSQL: pocket b's channels and messages live
// in b's database, which its API and gateway processes reach through a
// pocket.Store; users and tokens stay in the directory (-postgres), as does
// everything of pocket a.
func TestClusterPocketWithItsOwnPostgreSQL(t *testing.T) {
	c := startCluster(t, 2, 1, withPocketPostgres("b"))
	alice := c.user("alpha", "alice", c.api(0))
	alphaCh := alice.createChannel("plaza", false)
	bob := c.user("beta", "bob", c.api(1))
	carol := c.user("beta", "carol", c.api(0))
	betaCh := bob.createChannel("plaza", false)
	carol.must("conversations.join", obj{"channel": betaCh})
	clients := []*rtmclient.Client{c.follow(bob, c.api(0)), c.follow(carol, c.api(1))}

	want := map[string]bool{}
	for i := 0; i < 10; i++ {
		text := fmt.Sprintf("beta %d", i)
		want[text] = true
		poster := *bob
		poster.base = c.api(i).URL()
		poster.post(betaCh, text)
	}
	waitForAll(c, clients, betaCh, want)
	alice.post(alphaCh, "alpha 0")

	// Another API process reads pocket b's history, and knows bob's token.
	reader := *carol
	reader.base = c.api(1).URL()
	// The 10 posted, and carol's join before them.
	if msgs := reader.must("conversations.history", obj{"channel": betaCh})["messages"].([]any); len(msgs) != 11 || len(posted(msgs)) != 10 {
		t.Errorf("conversations.history(beta) has %d messages, %d posted; want carol's join and 10", len(msgs), len(posted(msgs)))
	}
	if out := reader.must("auth.test", nil); out["user_id"] != carol.userID {
		t.Errorf("auth.test = %v, want carol", out)
	}

	dir, b := c.dsn, c.pocketDSN["b"]
	for _, q := range []struct {
		what, dsn, query, arg string
		want                  int
	}{
		{"beta's messages in pocket b's database", b, "SELECT count(*) FROM messages WHERE channel_id = $1", betaCh, 11},
		{"beta's messages in the directory", dir, "SELECT count(*) FROM messages WHERE channel_id = $1", betaCh, 0},
		{"beta's channels in the directory", dir, "SELECT count(*) FROM channels WHERE workspace_id = $1", bob.teamID, 0},
		{"alpha's messages in the directory", dir, "SELECT count(*) FROM messages WHERE channel_id = $1", alphaCh, 1},
		{"alpha's messages in pocket b's database", b, "SELECT count(*) FROM messages WHERE channel_id = $1", alphaCh, 0},
		{"beta's users in the directory", dir, "SELECT count(*) FROM users WHERE workspace_id = $1 AND name IN ('bob', 'carol')", bob.teamID, 2},
		{"beta's tokens in pocket b's database", b, "SELECT count(*) FROM tokens t JOIN users u ON u.id = t.user_id WHERE u.workspace_id = $1", bob.teamID, 0},
		{"beta's tokens in the directory", dir, "SELECT count(*) FROM tokens t JOIN users u ON u.id = t.user_id WHERE u.workspace_id = $1", bob.teamID, 2},
	} {
		if got := countRows(t, q.dsn, q.query, q.arg); got != q.want {
			t.Errorf("%s: %d rows, want %d", q.what, got, q.want)
		}
	}
}

// countRows runs a count query with one argument on a database directly.
func countRows(t *testing.T, dsn, query, arg string) int {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(t.Context(), query, arg).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// Every API process runs a scheduler: racing over the same due messages,
// they post each once, in the channel's pocket's database, while the
// schedule is kept in the directory.
func TestClusterScheduledMessagesPostedOnce(t *testing.T) {
	c := startCluster(t, 3, 0, withPocketPostgres("b"))
	bob := c.user("beta", "bob", c.api(0))
	ch := bob.createChannel("plaza", false)
	postAt := time.Now().Unix() + 2
	const n = 20
	for i := 0; i < n; i++ {
		scheduler := *bob
		scheduler.base = c.api(i).URL()
		scheduler.must("chat.scheduleMessage", obj{"channel": ch, "text": fmt.Sprintf("later %d", i), "post_at": postAt})
	}
	if got := countRows(t, c.dsn, "SELECT count(*) FROM scheduled_messages WHERE channel_id = $1", ch); got != n {
		t.Fatalf("%d scheduled messages in the directory, want %d", got, n)
	}
	history := func() []any {
		return bob.must("conversations.history", obj{"channel": ch, "limit": 1000})["messages"].([]any)
	}
	c.eventually(fmt.Sprintf("%d scheduled messages posted", n), func() bool { return len(history()) >= n })
	time.Sleep(2 * schedulerInterval)
	seen := map[string]int{}
	for _, m := range history() {
		seen[m.(obj)["text"].(string)]++
	}
	for i := 0; i < n; i++ {
		if text := fmt.Sprintf("later %d", i); seen[text] != 1 {
			t.Errorf("%q posted %d times, want once", text, seen[text])
		}
	}
	if got := countRows(t, c.pocketDSN["b"], "SELECT count(*) FROM messages WHERE channel_id = $1", ch); got != n {
		t.Errorf("%d messages in pocket b's database, want %d", got, n)
	}
	if got := countRows(t, c.dsn, "SELECT count(*) FROM scheduled_messages WHERE channel_id = $1", ch); got != 0 {
		t.Errorf("%d scheduled messages left in the directory, want 0", got)
	}
}
