package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/confab/confab/slackexport"
)

const exportUsage = `usage: confab export slack --url URL --token TOKEN OUT.zip

Exports the workspace at URL, whose owner TOKEN is, in Slack's export
format — users.json, channels.json, groups.json, dms.json, mpims.json
and a folder of day files per conversation — which Slack's importer and
"confab import slack" read. It pages everything through the server's
Web API and writes as it goes; OUT.zip appears only once complete.`

// exportPage is how many items one call of admin.export.* asks for.
const exportPage = 1000

// runExport runs "confab export": the export of a workspace in Slack's
// format. The summary goes to stdout, progress to stderr.
func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "slack" {
		return errors.New(exportUsage)
	}
	fs := flag.NewFlagSet("confab export slack", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, exportUsage); fs.PrintDefaults() }
	base := fs.String("url", "", "the confab server to export from, e.g. https://chat.example.com (CONFAB_URL)")
	token := fs.String("token", "", "a token of the workspace's owner (CONFAB_TOKEN)")
	if err := applyEnv(fs, os.Getenv); err != nil {
		return err
	}
	files, err := parseFiles(fs, args[1:])
	if err != nil {
		return err
	}
	if len(files) != 1 || *base == "" || *token == "" {
		return errors.New(exportUsage)
	}
	out := files[0]
	who, err := whoIs(ctx, *base, *token)
	if err != nil {
		return fmt.Errorf("export slack: %w", err)
	}
	if !who.owner {
		return fmt.Errorf("export slack: the token is %s's (%s), who does not own workspace %s: an export needs its owner's", who.user, who.userID, who.team)
	}
	fmt.Fprintf(stdout, "token: %s (%s), the owner of workspace %s at %s: may export\n", who.user, who.userID, who.team, *base)

	// The zip is written to a temporary file beside out and renamed once
	// complete: a failed run leaves nothing that looks like an export.
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*.partial")
	if err != nil {
		return fmt.Errorf("export slack: %w", err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	api, _ := apiURL(*base)
	p := newProgress(stderr)
	p.verb = "exported"
	e := &exporter{api: api, token: *token, x: slackexport.NewWriter(tmp), p: p,
		sum: &importSummary{skipped: map[string]int{}, progress: p, stderr: stderr}}
	if err := e.run(ctx); err != nil {
		return fmt.Errorf("export slack: %w", err)
	}
	if err := errors.Join(e.x.Close(), tmp.Sync(), tmp.Close()); err != nil {
		return fmt.Errorf("export slack: %w", err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return fmt.Errorf("export slack: %w", err)
	}
	done = true
	fmt.Fprintf(stdout, "export of %s to %s\n", *base, out)
	e.sum.printCounts(stdout, "none (confab keeps no files: an imported file is a line of its message's text)")
	return nil
}

// exporter pages a workspace from the server's admin.export.* methods and
// writes it, as it comes, to an export.
type exporter struct {
	api, token string
	x          *slackexport.Writer
	p          *progress
	sum        *importSummary
}

// run writes the users, then the conversations kind by kind (a manifest
// each), then each conversation's messages. What it holds is a page, and
// of each conversation its id, kind and name.
func (e *exporter) run(ctx context.Context) error {
	s := e.sum
	for cursor := ""; ; {
		var r struct {
			Users []slackexport.User `json:"users"`
			pageMeta
		}
		if err := callAPI(ctx, e.api, e.token, "admin.export.users", map[string]any{"cursor": cursor, "limit": exportPage}, &r); err != nil {
			return err
		}
		for i := range r.Users {
			u := &r.Users[i]
			if err := e.x.WriteUser(u); err != nil {
				return err
			}
			s.users++
			if u.Deleted {
				s.deleted++
			}
			if u.IsBot {
				s.bots++
			}
		}
		if cursor = r.Meta.NextCursor; cursor == "" {
			break
		}
	}

	var convs []slackexport.Conversation
	for k, types := range [...]string{slackexport.Public: "public_channel", slackexport.Private: "private_channel",
		slackexport.DM: "im", slackexport.MPIM: "mpim"} {
		for cursor := ""; ; {
			var r struct {
				Conversations []slackexport.Conversation `json:"conversations"`
				pageMeta
			}
			if err := callAPI(ctx, e.api, e.token, "admin.export.conversations",
				map[string]any{"types": types, "cursor": cursor, "limit": exportPage}, &r); err != nil {
				return err
			}
			for i := range r.Conversations {
				c := &r.Conversations[i]
				c.Kind = slackexport.Kind(k)
				if err := e.x.WriteConversation(c); err != nil {
					return err
				}
				s.kinds[c.Kind]++
				if c.IsArchived {
					s.archived++
				}
				if c.IsGeneral {
					s.general = append(s.general, "#"+c.Name)
				}
				convs = append(convs, slackexport.Conversation{Kind: c.Kind, ID: c.ID, Name: c.Name})
			}
			if cursor = r.Meta.NextCursor; cursor == "" {
				break
			}
		}
	}

	for i := range convs {
		c := &convs[i]
		e.p.conversation(i+1, len(convs), c)
		day := ""
		for cursor := ""; ; {
			var r struct {
				Messages []slackexport.Message `json:"messages"`
				pageMeta
			}
			if err := callAPI(ctx, e.api, e.token, "admin.export.messages",
				map[string]any{"channel": c.ID, "cursor": cursor, "limit": exportPage}, &r); err != nil {
				return err
			}
			for j := range r.Messages {
				m := &r.Messages[j]
				if err := e.x.WriteMessage(c, m); err != nil {
					return fmt.Errorf("conversation %s: %w", c.ID, err)
				}
				if ts, err := slackexport.ParseTS(m.TS); err == nil {
					if d := time.UnixMicro(ts).UTC().Format(time.DateOnly); d != day {
						day = d
						s.dayFiles++
					}
				}
				s.count(m)
				if s.messages%1000 == 0 {
					e.p.tick(s.messages)
				}
			}
			if cursor = r.Meta.NextCursor; cursor == "" {
				break
			}
		}
	}
	e.p.done(s.messages)
	return nil
}

// pageMeta is a paged answer's response_metadata.
type pageMeta struct {
	Meta struct {
		NextCursor string `json:"next_cursor"`
	} `json:"response_metadata"`
}
