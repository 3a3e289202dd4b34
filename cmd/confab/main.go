// Command confab is the confab chat server.
//
//	confab serve                      the whole server in one process (SQLite + in-process pub/sub)
//	confab api                        an HTTP API process of a cluster (PostgreSQL + Redis pockets)
//	confab gateway                    a WebSocket gateway process of one pocket
//	confab admin user create …        add a user (and its workspace if new)
//	confab admin app create …         install an app from a manifest (JSON or YAML)
//	confab admin app list …           list a workspace's apps
//	confab import slack --dry-run …   check a Slack export and summarize it
//	confab export slack …             export a workspace in Slack's format
//
// Run "confab <command> -h" for a command's flags. The load generator is a
// command of its own, confab-bench.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	// Users' time zones (users.info's tz_offset) whatever the machine has
	// in /usr/share/zoneinfo.
	_ "time/tzdata"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "confab:", err)
		}
		os.Exit(1)
	}
}

const usage = `usage: confab <command> [flags]

commands:
  serve                 run the server: HTTP API, WebSocket gateway, embedded SQLite
  api                   run an HTTP API process of a cluster (PostgreSQL, Redis pockets)
  gateway               run a WebSocket gateway process of one pocket
  admin user create     create a user (and its workspace if new)
  admin app create      install an app from a manifest in a workspace, printing its tokens
  admin app list        list the apps of a workspace
  import slack          import a Slack workspace export into a workspace (--dry-run: check it only)
  export slack          export a workspace in Slack's export format (its owner's token)
`

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return flag.ErrHelp
	}
	switch args[0] {
	case roleServe, roleAPI, roleGateway:
		m := NewMain()
		m.Role = args[0]
		if err := m.Config.ParseFlags("confab "+args[0], args[1:]); err != nil {
			return err
		}
		if err := m.Run(ctx); err != nil {
			return err
		}
		<-ctx.Done()
		m.Logger.Info("shutting down")
		return m.Close()
	case "admin":
		return runAdmin(ctx, args[1:])
	case "import":
		return runImport(ctx, args[1:], os.Stdout, os.Stderr)
	case "export":
		return runExport(ctx, args[1:], os.Stdout, os.Stderr)
	case "help", "-h", "--help":
		fmt.Fprint(os.Stdout, usage)
		return nil
	default:
		fmt.Fprint(os.Stderr, usage)
		return fmt.Errorf("unknown command %q", strings.Join(args[:1], ""))
	}
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	err := l.UnmarshalText([]byte(s))
	if err != nil {
		return l, fmt.Errorf("log-level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

func newLogger(cfg Config) *slog.Logger {
	level, _ := parseLevel(cfg.LogLevel) // validated
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}
