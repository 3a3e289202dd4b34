// Command confab-bench is confab's load generator: it measures a running
// confab through its public API (see package bench for the scenarios).
//
//	confab-bench <scenario> [flags]   send, fanout, history, idle, storm, boot, hot, apps, search
//
// Run "confab-bench -h" for the scenarios and flags. It is a program of
// its own so that the server's binary does not carry the bench's clients.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/confab/confab/bench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := benchMain(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "confab-bench:", err)
		}
		os.Exit(1)
	}
}

const benchUsage = `usage: confab-bench <scenario> [flags]

Measures a running confab through its public API. Each run signs up its own
workspace ("bench-<random>"), users and channels. Start the server with
generous limits for the bench's tokens and sign-ups, e.g.:

  confab serve -rate-limit 1000000 -rate-burst 1000000 -auth-rate-limit 1000 -max-conns-per-user 0 -max-conns-per-addr 0 -handshake-rate 0

scenarios:
  send      -posters concurrent chat.postMessage callers (64) over -channels (8)
            for -duration (10s) or -messages: durable msgs/s, latency percentiles
  fanout    -clients RTM subscribers (100) of -users users in one channel, or
            split over -channels channels (user j in channel j mod -channels;
            1,000 channels of 100: -clients 100000 -users 100000 -channels
            1000); a publisher posts at -rate (100/s) for -duration (10s) or
            -messages, round-robin over the channels: deliveries/s,
            post→deliver p50/p99/p99.9/max, missing, duplicate and misrouted
            deliveries (any makes the command fail). -size pads each post's
            text to that many bytes; -stuck N opens N more connections of
            the same users (spread like the subscribers) that read hello and
            then nothing, with a 4 KiB receive buffer: how many of them the
            server closed (seen on their sockets, and its slow-consumer
            counters from -metrics-url), while every subscriber must still
            get every post and stay connected
  history   fill one channel to -depth (100000; issue 5's 1,000,000 takes a
            while) with -posters (32), page back to the first message with
            cursors (-page 100), then time -reads (200) reads of the newest and
            of the deepest page
  idle      -clients RTM connections (1000) of -users users, each user in
            -channels channels (10), held -duration (2s): server RSS and
            goroutines per connection (from /metrics, summed over every
            -metrics-url: in a cluster, the gateways'), connect rate
  storm     -clients rtmclient clients (1000; 7500 per process, more with -procs) of -users users in
            one channel; a publisher posts at -rate (100/s); after -drop-after
            (1s) the bench closes every client's WebSocket at once; the clients
            reconnect and catch up (connect, hold, client.catchup, dedupe by
            seq) while posts go on for -settle (1s) more: reconnect p50/p99/max,
            time until all recovered and all settled, lost and duplicated
            posts (any makes the command fail). To measure a gateway kill,
            run the cluster (scripts/cluster.sh), start "confab-bench storm
            -wait-for-drop" and kill a gateway yourself: the bench waits (up
            to 5m) for connections to drop instead of dropping them, and the
            drop is over once every connection went or no other went for 2s;
            reconnect and recovery times are over the dropped clients, lost
            and duplicated posts over all
  boot      a workspace of -users users (2000), its owner in -channels channels
            (200) with a message each: client.boot size in bytes and latency
            over -reads (200) calls. Sign-ups are bcrypt-bound: issue 5's
            30000-user workspace is "-users 30000", which takes minutes unless
            the server runs with a low -password-cost (e.g. 4)
  hot       -clients readers (1000) of -users users (10), each with its own
            HTTP connection, released together to read the newest page (-page
            100) of one channel, -rounds (3) times: latency p50/p99/max and
            the store queries that served each round, from /metrics
            confab_store_queries_total (per label set, summed over every
            -metrics-url: in a cluster, the API processes'; "unavailable" if
            the server does not expose it)
  apps      one Socket Mode app subscribed to message.channels, its bot in
            -channels channels (100), one user posting at -rate (1000/s)
            round-robin over them: for -duration (10s) before the app is
            installed (the baseline), for -duration with the app connected,
            acknowledging each envelope at once (events/s, post→event
            p50/p99), for -away (10s) with the app stopped (its socket
            closed), then for -duration more while it reconnects: time from
            the reconnect until every event of the posts so far has arrived,
            and lost, duplicated and misrouted events over every post since
            the install (any makes the command fail); posts/s and the
            server's CPU per post (process_cpu_seconds_total from
            -metrics-url) with the app over without
  search    loads a made-up workspace of -messages messages (1,000,000) in
            -channels conversations (1000: public, archived, private, DMs,
            group DMs) of -users users (500), the reader in a tenth of them,
            into confab's SQLite database in -data (default a temporary
            directory) or into -postgres, offline, through the store's own
            CreateMessage (indexed as the server indexes), then starts
            -confab serve on it (not -url) and times -reads (200) first
            pages (-page 20) of search.messages per query pattern (common,
            medium and rare words, a phrase, diacritics, CJK, from:, in:,
            after:/before:, during:, newest first): p50/p99/max, and the
            database's bytes per message with and without the search
            index. A later run on the same -data reuses the load. Build
            confab-bench and confab with -tags sqlite_fts5

confab-bench slackexport -o FILE [-messages 1000000] [-channels 200] [-users 2000]
[-days 30] writes a made-up Slack export of that size (threads, reactions,
mentions) for "confab import slack"; scripts/bench-import.sh times its import.

One process opens at most 15000 connections (the open-file limit is 20000).
idle, fanout and storm spread their connections over -procs worker processes
(child processes of this command, killed with it), worker i dialing from
loopback source address 127.0.0.(2+i) when the server is on loopback; -procs 0
(the default) spreads only idle and fanout runs of more than 15000 clients
(storm spreads only when -procs is given). Latency percentiles of
spread runs are merged from histograms, within 1%. The command exits non-zero
when a run has problems (lost or duplicated deliveries, failed requests,
dropped connections).

flags (0 means the scenario's default):
`

// benchMain runs "confab-bench <scenario> [flags]", its report on stdout
// and its usage and progress on stderr.
func benchMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := bench.Config{}
	fs := flag.NewFlagSet("confab-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, benchUsage)
		fs.PrintDefaults()
	}
	fs.StringVar(&cfg.URL, "url", "http://127.0.0.1:8080", "the server's base URL")
	fs.Func("metrics-url", "the server's Prometheus metrics (default <url>/metrics); in a cluster a comma-separated list, whose figures idle and hot add up", func(v string) error {
		cfg.MetricsURLs = strings.Split(v, ",")
		return nil
	})
	asJSON := fs.Bool("json", false, "print one JSON object instead of a table")
	quiet := fs.Bool("quiet", false, "no progress on stderr")
	fs.IntVar(&cfg.Clients, "clients", 0, "fanout subscribers (100), idle connections (1000), storm clients (1000) or hot readers (1000)")
	fs.IntVar(&cfg.Users, "users", 0, "users the connections are spread over (min(clients, 100); hot min(clients, 10)), or boot's workspace size (2000), or search's (500)")
	fs.IntVar(&cfg.Posters, "posters", 0, "concurrent posters: send (64), history fill (32)")
	fs.IntVar(&cfg.Channels, "channels", 0, "send: channels posted to (8); apps: channels posted to, with the bot in each (100); idle: channels each user is in (10); boot: the user's channels (200); fanout: channels posted to, round-robin (1); search: conversations in the workspace (1000)")
	fs.IntVar(&cfg.UserChannels, "user-channels", 0, "fanout: how many of -channels each user is in (1); -channels 1000 -user-channels 10 -users 10000 makes 1,000 channels of 100")
	fs.DurationVar(&cfg.Duration, "duration", 0, "send and fanout: how long to post (10s); idle: how long to hold (2s); apps: each posting phase (10s)")
	fs.Float64Var(&cfg.Rate, "rate", 0, "fanout and storm: posts per second (100); apps (1000)")
	fs.DurationVar(&cfg.Away, "away", 0, "apps: how long the app stays stopped while posting goes on (10s)")
	fs.IntVar(&cfg.Messages, "messages", 0, "send, fanout and storm: cap on messages posted (none); search: messages in the workspace (1000000)")
	fs.IntVar(&cfg.Size, "size", 0, "fanout: bytes of each post's text, padded, at most 40000 (unpadded, ~30)")
	fs.IntVar(&cfg.Stuck, "stuck", 0, "fanout: more connections, of the subscribers' users, that read hello and then nothing (none)")
	fs.IntVar(&cfg.Depth, "depth", 0, "history: messages in the channel (100000)")
	fs.IntVar(&cfg.PageSize, "page", 0, "history and hot: page size, at most 1000 (100); search: results per page, at most 100 (20)")
	fs.IntVar(&cfg.Reads, "reads", 0, "history: timed reads of each page (200); boot: client.boot calls (200); search: timed queries per pattern (200)")
	fs.IntVar(&cfg.Parallel, "parallel", 0, "concurrent set-up calls and connects (32)")
	fs.DurationVar(&cfg.Timeout, "timeout", 0, "cap on the whole run (10m; search 60m)")
	fs.BoolVar(&cfg.WaitForDrop, "wait-for-drop", false, "storm: wait for the connections to be dropped (kill a gateway) instead of closing them")
	fs.DurationVar(&cfg.DropAfter, "drop-after", 0, "storm: how long to publish before the drop (1s)")
	fs.DurationVar(&cfg.SettleAfter, "settle", 0, "storm: how long to go on publishing once every client is back (1s)")
	fs.IntVar(&cfg.Rounds, "rounds", 0, "hot: releases of every reader (3)")
	fs.StringVar(&cfg.DataDir, "data", "", "search: confab data directory to load into, or loaded by an earlier run with the same sizes (a temporary one)")
	fs.StringVar(&cfg.Postgres, "postgres", "", "search: PostgreSQL DSN to load into and serve from instead of SQLite")
	fs.StringVar(&cfg.Confab, "confab", "", "search: the confab binary to start on the loaded data (confab next to this program, or on PATH)")
	fs.StringVar(&cfg.Transport, "transport", "websocket", "idle and fanout: the connections' transport, websocket or sse (Server-Sent Events); fanout also poll (long-polling)")
	fs.IntVar(&cfg.ServerPID, "server-pid", 0, "fanout: the server's process id on this machine, to report its CPU time per delivery (none)")
	fs.IntVar(&cfg.Procs, "procs", 0, "idle, fanout and storm: worker processes holding the connections (idle and fanout: 1 up to 15000 clients)")

	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if err := fs.Parse(args); err != nil {
			return err
		}
		fs.Usage()
		return errors.New("name a scenario: " + strings.Join(bench.Scenarios, ", "))
	}
	if args[0] == "worker" { // hidden: a child of a spread run (bench.Config.WorkerCommand)
		return bench.Worker(ctx, os.Stdin, stdout)
	}
	if args[0] == "slackexport" {
		return writeSlackExport(args[1:], stdout, stderr)
	}
	cfg.Scenario = args[0]
	if !slices.Contains(bench.Scenarios, cfg.Scenario) {
		fs.Usage()
		return fmt.Errorf("unknown scenario %q", cfg.Scenario)
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q (flags go after the scenario)", fs.Args())
	}
	if !*quiet {
		cfg.Log = slog.New(slog.NewTextHandler(stderr, nil))
	}
	cfg.WorkerStderr = stderr
	rep, err := bench.Run(ctx, cfg)
	if err != nil {
		return err // names the scenario
	}
	if *asJSON {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteTable(stdout)
	}
	if err != nil {
		return err
	}
	if !rep.OK() {
		return fmt.Errorf("%s: %s", cfg.Scenario, strings.Join(rep.Problems, "; "))
	}
	return nil
}

// writeSlackExport runs "confab-bench slackexport": a made-up Slack export
// of the given size, written to -o.
func writeSlackExport(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("confab-bench slackexport", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "the zip to write")
	var spec bench.ExportSpec
	fs.IntVar(&spec.Messages, "messages", 1_000_000, "messages in all")
	fs.IntVar(&spec.Channels, "channels", 200, "public channels")
	fs.IntVar(&spec.Users, "users", 2000, "users")
	fs.IntVar(&spec.Days, "days", 30, "days each channel's messages span")
	fs.Uint64Var(&spec.Seed, "seed", 1, "the same seed and sizes write the same export")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("slackexport: -o FILE, and no other arguments")
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	buf := bufio.NewWriterSize(f, 1<<20)
	n, err := bench.WriteSlackExport(buf, spec)
	if err == nil {
		err = errors.Join(buf.Flush(), f.Close())
	} else {
		f.Close()
	}
	if err != nil {
		return fmt.Errorf("slackexport: %w", err)
	}
	fmt.Fprintf(stdout, "%s: %d messages (%d replies, %d reactions, %d with a mention), %d channels, %d users\n",
		*out, n.Messages, n.Replies, n.Reactions, n.Mentions, spec.Channels, spec.Users)
	return nil
}
