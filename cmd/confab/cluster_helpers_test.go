package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/confab/confab"
	"github.com/confab/confab/internal/cmdtest"
	"github.com/confab/confab/internal/pgtest"
	"github.com/confab/confab/internal/redistest"
	"github.com/confab/confab/internal/rtmclient"
	"github.com/confab/confab/pocket"
	"github.com/confab/confab/redis"
	goredis "github.com/redis/go-redis/v9"
)

// The cluster tests run the real binary as separate processes: PostgreSQL,
// one redis-server per pocket, API processes and gateway processes, all on
// 127.0.0.1, and kill some of them.

// confabBinary builds cmd/confab once per test run.
func confabBinary(tb testing.TB) string {
	tb.Helper()
	return cmdtest.Build(tb, "github.com/confab/confab/cmd/confab")
}

// cluster is a multi-process confab.
type cluster struct {
	t        *testing.T
	bin, dir string
	dsn      string
	pockets  string // pocket file
	secret   string
	redis    map[string]*redistest.Server // by pocket
	apis     []*proc
	gateways []*proc

	pocketDSN map[string]string // the PostgreSQL of the pockets that have their own
}

// proc is one confab process.
type proc struct {
	role, pocket, addr string
	cmd                *exec.Cmd
	log                string
	exited             <-chan struct{}
}

func (p *proc) URL() string { return "http://" + p.addr }

// wsBase is the base WebSocket URL a gateway announces.
func (p *proc) wsBase() string { return "ws://" + p.addr + "/" }

// clusterOption changes what startCluster starts.
type clusterOption func(*clusterOptions)

type clusterOptions struct {
	ownPostgres []string // pockets with a PostgreSQL database of their own
}

// withPocketPostgres gives the named pockets a PostgreSQL database of their
// own (on the cluster's PostgreSQL server), in c.pocketDSN.
func withPocketPostgres(pockets ...string) clusterOption {
	return func(o *clusterOptions) { o.ownPostgres = append(o.ownPostgres, pockets...) }
}

// startCluster starts PostgreSQL, a Redis per pocket ("a" holds workspace
// "alpha" and is the default, "b" holds "beta"), apis API processes and
// perPocket gateways in each pocket.
func startCluster(t *testing.T, apis, perPocket int, opts ...clusterOption) *cluster {
	t.Helper()
	var o clusterOptions
	for _, opt := range opts {
		opt(&o)
	}
	c := &cluster{
		t: t, bin: confabBinary(t), dir: t.TempDir(), secret: "cluster-test-ticket-secret",
		redis: map[string]*redistest.Server{}, pocketDSN: map[string]string{},
	}
	pg := pgtest.Start(t)
	c.dsn = pg.NewDatabase(t)
	for _, name := range o.ownPostgres {
		c.pocketDSN[name] = pg.NewDatabase(t)
	}
	for _, name := range []string{"a", "b"} {
		c.redis[name] = redistest.Start(t)
	}
	c.pockets = filepath.Join(c.dir, "pockets.toml")
	postgresLine := func(name string) string {
		if dsn, ok := c.pocketDSN[name]; ok {
			return fmt.Sprintf("postgres = %q\n", dsn)
		}
		return ""
	}
	file := fmt.Sprintf("[[pocket]]\nname = \"a\"\nredis = %q\nworkspaces = [\"alpha\"]\ndefault = true\n%s\n"+
		"[[pocket]]\nname = \"b\"\nredis = %q\nworkspaces = [\"beta\"]\n%s",
		c.redis["a"].Addr(), postgresLine("a"), c.redis["b"].Addr(), postgresLine("b"))
	if err := os.WriteFile(c.pockets, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < apis; i++ {
		c.apis = append(c.apis, c.start(roleAPI, ""))
	}
	for _, name := range []string{"a", "b"} {
		for i := 0; i < perPocket; i++ {
			c.gateways = append(c.gateways, c.start(roleGateway, name))
		}
	}
	// Wait until every gateway is in its pocket's registry.
	for _, name := range []string{"a", "b"} {
		want := 0
		for _, g := range c.gateways {
			if g.pocket == name {
				want++
			}
		}
		c.eventually(fmt.Sprintf("%d gateways registered in pocket %s", want, name), func() bool {
			return len(c.registered(name)) == want
		})
	}
	return c
}

// start launches one process and waits for its health check.
func (c *cluster) start(role, pocket string) *proc {
	c.t.Helper()
	p, err := cmdtest.Start(c.t, cmdtest.Config{
		Bin: c.bin, Name: strings.TrimSpace(role + " " + pocket), LogDir: c.dir, Env: []string{"CONFAB_DATA=" + c.dir},
		Args: func(addr string) []string {
			args := []string{role, "-listen", addr, "-postgres", c.dsn, "-pockets", c.pockets, "-ticket-secret", c.secret,
				"-presence-ttl", "3s", "-log-level", "warn", "-password-cost", "4", "-rate-limit", "100000", "-rate-burst", "100000",
				"-auth-rate-limit", "100000", "-shutdown-grace", "5s"}
			if role == roleGateway {
				args = append(args, "-pocket", pocket, "-public-url", "ws://"+addr)
			}
			return args
		},
	})
	if err != nil {
		c.t.Fatalf("start %s: %v", role, err)
	}
	return &proc{role: role, pocket: pocket, addr: p.Addr, cmd: p.Cmd, log: p.Log, exited: p.Exited}
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill(t *testing.T) {
	t.Helper()
	p.cmd.Process.Kill()
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s %s did not die", p.role, p.addr)
	}
}

// registered lists the gateways live in a pocket's registry, as
// rtm.connect sees them.
func (c *cluster) registered(name string) []confab.Gateway {
	rdb := goredis.NewClient(&goredis.Options{Addr: c.redis[name].Addr(), Protocol: 2})
	defer rdb.Close()
	live, err := redis.NewRegistry(redis.RegistryConfig{Client: rdb, Prefix: pocketPrefix(&pocket.Pocket{Name: name})}).Live(context.Background())
	if err != nil {
		c.t.Logf("registry of pocket %s: %v", name, err)
	}
	return live
}

// topicWatch records the topics published on a pocket's Redis.
type topicWatch struct {
	c  *cluster
	rc *goredis.Client
	ps *goredis.PubSub
}

// watchTopics starts recording the topics published on pocket's Redis.
func (c *cluster) watchTopics(pocket string) *topicWatch {
	c.t.Helper()
	rc := goredis.NewClient(&goredis.Options{Addr: c.redis[pocket].Addr(), Protocol: 2})
	ps := rc.PSubscribe(context.Background(), "*")
	if _, err := ps.Receive(context.Background()); err != nil {
		c.t.Fatalf("PSUBSCRIBE * on pocket %s: %v", pocket, err)
	}
	c.t.Cleanup(func() {
		ps.Close()
		rc.Close()
	})
	return &topicWatch{c: c, rc: rc, ps: ps}
}

// topics returns the topics published since the watch began or since the
// last call, every publish made before this call included: it publishes a
// marker and reads up to it (Redis delivers one subscriber's messages in
// the order the publishes ran).
func (w *topicWatch) topics() []string {
	w.c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	marker := fmt.Sprintf("test.marker.%d", time.Now().UnixNano())
	if err := w.rc.Publish(ctx, marker, "").Err(); err != nil {
		w.c.t.Fatalf("PUBLISH marker: %v", err)
	}
	var seen []string
	for {
		m, err := w.ps.ReceiveMessage(ctx)
		if err != nil {
			w.c.t.Fatalf("reading the topics published: %v", err)
		}
		if m.Channel == marker {
			return seen
		}
		seen = append(seen, m.Channel)
	}
}

// eventually polls cond until it holds, failing the test after 60 s.
func (c *cluster) eventually(what string, cond func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

// api returns the i-th API process, round robin.
func (c *cluster) api(i int) *proc { return c.apis[i%len(c.apis)] }

// user signs a user up through an API process.
func (c *cluster) user(team, name string, api *proc) *client {
	c.t.Helper()
	return signupAt(c.t, api.URL(), team, name)
}

// follow runs an rtmclient for cl until the test ends, and waits for its
// first hello.
func (c *cluster) follow(cl *client, api *proc) *rtmclient.Client {
	c.t.Helper()
	rc := rtmclient.New(rtmclient.Config{API: api.URL(), Token: cl.token})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		rc.Run(ctx)
	}()
	c.t.Cleanup(func() {
		cancel()
		<-done
	})
	select {
	case <-rc.Connected():
	case <-time.After(30 * time.Second):
		c.t.Fatalf("%s never connected: %+v", cl.name, rc.Stats())
	}
	return rc
}
