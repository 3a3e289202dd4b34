package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/confab/confab/slackexport"
)

const importUsage = `usage: confab import slack --url URL --token TOKEN [--claims FILE] [--claim-by-signup | --no-claims] EXPORT.zip
       confab import slack --dry-run EXPORT.zip

Imports a Slack workspace export into the workspace at URL, whose owner
TOKEN is: users, conversations, then messages, through the server's Web
API. Run again after an interruption, it ends with everything once.
At the end it issues a one-time link for each imported account not yet
claimed, valid 14 days, and writes "name<TAB>email<TAB>link" lines to
--claims FILE (standard output by default); a new run issues new links,
voiding the earlier ones, unless --no-claims.
--dry-run checks the export and prints what an import would bring,
writing nothing (with --url and --token it also checks the token).`

// parseFiles parses args into fs and returns the files named among
// them: flags may come after a file too (confab import slack EXPORT.zip
// --dry-run).
func parseFiles(fs *flag.FlagSet, args []string) ([]string, error) {
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if args = fs.Args(); len(args) == 0 {
			return files, nil
		}
		files, args = append(files, args[0]), args[1:]
	}
}

// runImport runs "confab import": the import of a Slack export into a
// server, or its dry run, which reads the whole export as the import does
// and counts what it would write. The summary goes to stdout; progress and
// each problem to stderr.
func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "slack" {
		return errors.New(importUsage)
	}
	fs := flag.NewFlagSet("confab import slack", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, importUsage); fs.PrintDefaults() }
	base := fs.String("url", "", "the confab server to import into, e.g. https://chat.example.com (CONFAB_URL)")
	token := fs.String("token", "", "a token of the target workspace's owner or an admin (CONFAB_TOKEN)")
	dryRun := fs.Bool("dry-run", false, "check the export and print its summary; write nothing")
	claimsTo := fs.String("claims", "-", `where to write the claim links, "name<TAB>email<TAB>link" a line (created 0600); - for standard output`)
	noClaims := fs.Bool("no-claims", false, "issue no claim links (the links sent after an earlier run stay valid)")
	bySignup := fs.Bool("claim-by-signup", false, "also let each person claim their account by signing up with its name and email, while their link is valid (see docs/import.md before using it)")
	if err := applyEnv(fs, os.Getenv); err != nil {
		return err
	}
	files, err := parseFiles(fs, args[1:])
	if err != nil {
		return err
	}
	if len(files) != 1 {
		return errors.New(importUsage)
	}
	if (*base == "") != (*token == "") {
		return errors.New("import slack: --url and --token go together")
	}
	if !*dryRun && *base == "" {
		return errors.New("import slack: --url and --token say where to import; --dry-run checks the export without writing")
	}
	if *noClaims && *bySignup {
		return errors.New("import slack: --claim-by-signup needs the claim links that --no-claims leaves out")
	}

	var w *importWriter
	if *base != "" {
		who, err := checkImporter(ctx, *base, *token)
		if err != nil {
			return fmt.Errorf("import slack: %w", err)
		}
		fmt.Fprintln(stdout, who.line)
		if !*dryRun {
			api, _ := apiURL(*base)
			w = &importWriter{api: api, token: *token}
		}
	}

	f, err := os.Open(files[0])
	if err != nil {
		return fmt.Errorf("import slack: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("import slack: %w", err)
	}
	x, err := slackexport.Open(f, st.Size())
	if err != nil {
		return fmt.Errorf("import slack: %s: %w", files[0], err)
	}
	sum, err := readExport(ctx, x, newProgress(stderr), w)
	if err != nil {
		return fmt.Errorf("import slack: %s: %w", files[0], err)
	}
	if w == nil {
		fmt.Fprintf(stdout, "dry run of %s: nothing written\n", files[0])
		sum.print(stdout)
		return nil
	}
	fmt.Fprintf(stdout, "import of %s into %s\n", files[0], *base)
	sum.print(stdout)
	w.print(stdout)
	if *noClaims {
		return nil
	}
	links, err := w.claims(ctx, *bySignup)
	if err != nil {
		return fmt.Errorf("import slack: claim links: %w", err)
	}
	return writeClaims(stdout, *claimsTo, links)
}

// writeClaims writes the claim links to the file to (stdout for "-"),
// after a line saying how many there are and until when they work.
func writeClaims(stdout io.Writer, to string, links []claimLink) error {
	valid := ""
	if len(links) > 0 {
		valid = ", valid until " + time.Unix(links[0].Expires, 0).UTC().Format("2006-01-02 15:04 MST")
	}
	var b strings.Builder
	for _, l := range links {
		fmt.Fprintf(&b, "%s\t%s\t%s\n", l.Name, l.Email, l.URL)
	}
	if to == "-" {
		fmt.Fprintf(stdout, "%-15s %d links to claim an account%s:\n%s", "claims:", len(links), valid, b.String())
		return nil
	}
	// The links are secrets: the file is the operator's only.
	if err := os.WriteFile(to, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("import slack: %w", err)
	}
	fmt.Fprintf(stdout, "%-15s %d links to claim an account%s, written to %s\n", "claims:", len(links), valid, to)
	return nil
}

// importSummary counts what an import of an export brings, and what it
// leaves out.
type importSummary struct {
	users, deleted, bots int
	kinds                [slackexport.MPIM + 1]int
	archived             int
	general              []string
	dayFiles             int
	messages             int
	threads, replies     int
	reactions            int // one per person and emoji
	files, edits         int
	botMessages          int
	joins                int // channel_join, group_join, channel_leave, group_leave
	mentions             int // <@U…> in a message's text
	skipped              map[string]int
	shown, problems      int
	progress             *progress
	stderr               io.Writer
}

// maxShown is how many problems are printed one by one; the rest are
// counted.
const maxShown = 100

var mentionRE = regexp.MustCompile(`<@[UW][A-Z0-9]+(\|[^>]*)?>`)

// readExport reads every entry of x as the import will, in its order:
// users, conversations, then each conversation's messages in ts order.
//
// With w, the real run, it also sends them to the server, and the
// progress counts messages sent.
func readExport(ctx context.Context, x *slackexport.Reader, p *progress, w *importWriter) (*importSummary, error) {
	s := &importSummary{skipped: map[string]int{}, progress: p, stderr: p.out}
	for _, e := range x.Problems {
		s.problem(e)
	}
	if w != nil {
		w.sum = s
		if err := w.start(ctx, x); err != nil {
			return nil, err
		}
	}
	for _, u := range x.Users {
		s.users++
		if u.Deleted {
			s.deleted++
		}
		if u.IsBot {
			s.bots++
		}
	}
	for i := range x.Conversations {
		c := &x.Conversations[i]
		s.kinds[c.Kind]++
		if c.IsArchived {
			s.archived++
		}
		if c.IsGeneral {
			s.general = append(s.general, "#"+c.Name)
		}
		s.dayFiles += x.Days(c)
	}
	for i := range x.Conversations {
		c := &x.Conversations[i]
		p.conversation(i+1, len(x.Conversations), c)
		if w != nil {
			w.conversation(c)
		}
		for m, err := range x.Messages(c) {
			if err != nil {
				s.problem(err)
			}
			if m == nil {
				continue
			}
			s.count(m)
			if w != nil {
				if err := w.message(ctx, m); err != nil {
					return nil, err
				}
			}
			if s.messages%1000 == 0 {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				p.tick(s.messages)
			}
		}
		if w != nil {
			if err := w.flush(ctx); err != nil {
				return nil, err
			}
		}
	}
	if w != nil {
		if err := w.finish(ctx); err != nil {
			return nil, err
		}
	}
	p.done(s.messages)
	return s, nil
}

func (s *importSummary) count(m *slackexport.Message) {
	s.messages++
	switch {
	case m.IsReply():
		s.replies++
	case m.IsThreadParent():
		s.threads++
	}
	for _, r := range m.Reactions {
		s.reactions += len(r.Users)
	}
	s.files += len(m.Files)
	if m.Edited != nil {
		s.edits++
	}
	if m.IsBot() {
		s.botMessages++
	}
	switch m.Subtype {
	case "channel_join", "group_join", "channel_leave", "group_leave":
		s.joins++
	}
	s.mentions += len(mentionRE.FindAllStringIndex(m.Text, -1))
}

// problem counts a problem and shows the first maxShown.
func (s *importSummary) problem(err error) {
	reason := "other"
	var e *slackexport.EntryError
	if errors.As(err, &e) {
		reason = e.Reason
	}
	s.skipped[reason]++
	s.problems++
	if s.shown < maxShown {
		s.shown++
		s.progress.line("problem: " + err.Error())
	}
}

func (s *importSummary) print(w io.Writer) {
	s.printCounts(w, fmt.Sprintf("%d (recorded as a line saying a file was there)", s.files))
	fmt.Fprintf(w, "%-15s %d\n", "skipped:", s.problems)
	reasons := make([]string, 0, len(s.skipped))
	for r := range s.skipped {
		reasons = append(reasons, r)
	}
	slices.Sort(reasons)
	for _, r := range reasons {
		fmt.Fprintf(w, "  %-28s %d\n", r+":", s.skipped[r])
	}
	if s.problems > s.shown {
		fmt.Fprintf(w, "(the first %d problems are shown above, each naming its file and entry)\n", s.shown)
	}
}

// printCounts writes the rows of what was read (or written), files
// saying what became of them.
func (s *importSummary) printCounts(w io.Writer, files string) {
	row := func(name, format string, args ...any) {
		fmt.Fprintf(w, "%-15s %s\n", name+":", fmt.Sprintf(format, args...))
	}
	row("users", "%d (%d deleted, %d bots)", s.users, s.deleted, s.bots)
	total := 0
	for _, n := range s.kinds {
		total += n
	}
	row("conversations", "%d (%d public, %d private, %d DMs, %d group DMs; %d archived)", total,
		s.kinds[slackexport.Public], s.kinds[slackexport.Private], s.kinds[slackexport.DM], s.kinds[slackexport.MPIM], s.archived)
	general := "none marked is_general"
	if len(s.general) > 0 {
		general = strings.Join(s.general, ", ")
	}
	row("general", "%s", general)
	row("day files", "%d", s.dayFiles)
	row("messages", "%d", s.messages)
	row("threads", "%d (%d replies)", s.threads, s.replies)
	row("reactions", "%d", s.reactions)
	row("files", "%s", files)
	row("edits", "%d", s.edits)
	row("bot messages", "%d", s.botMessages)
	row("joins, leaves", "%d", s.joins)
	row("mentions", "%d", s.mentions)
}

// progress shows how far reading has come: on a terminal one line
// rewritten in place, otherwise a plain line every few seconds.
type progress struct {
	out         io.Writer
	verb        string // what is done to the messages: "read", "exported"
	tty         bool
	start, last time.Time
	conv        string // "3/7 #general"
}

func newProgress(out io.Writer) *progress {
	tty := false
	if f, ok := out.(*os.File); ok {
		if st, err := f.Stat(); err == nil {
			tty = st.Mode()&os.ModeCharDevice != 0
		}
	}
	now := time.Now()
	return &progress{out: out, verb: "read", tty: tty, start: now, last: now}
}

func (p *progress) conversation(i, n int, c *slackexport.Conversation) {
	name := c.Folder()
	if c.Kind == slackexport.Public || c.Kind == slackexport.Private {
		name = "#" + name
	}
	p.conv = fmt.Sprintf("%d/%d %s", i, n, name)
}

func (p *progress) tick(messages int) {
	every := 5 * time.Second
	if p.tty {
		every = 200 * time.Millisecond
	}
	if now := time.Now(); now.Sub(p.last) >= every {
		p.last = now
		p.show(messages, false)
	}
}

func (p *progress) show(messages int, final bool) {
	secs := time.Since(p.start).Seconds()
	rate := 0.0
	if secs > 0 {
		rate = float64(messages) / secs
	}
	text := fmt.Sprintf("%d messages %s, %.0f/s, conversation %s", messages, p.verb, rate, p.conv)
	if final {
		text = fmt.Sprintf("%d messages %s in %.1fs, %.0f/s", messages, p.verb, secs, rate)
	}
	if p.tty {
		fmt.Fprintf(p.out, "\r\033[K%s", text)
		if final {
			fmt.Fprintln(p.out)
		}
		return
	}
	fmt.Fprintln(p.out, text)
}

// line prints a line of its own, clearing the progress line first.
func (p *progress) line(s string) {
	if p.tty {
		fmt.Fprint(p.out, "\r\033[K")
	}
	fmt.Fprintln(p.out, s)
}

func (p *progress) done(messages int) {
	if p.tty || time.Since(p.start) >= 5*time.Second {
		p.show(messages, true)
	}
}

// importerInfo is who the token is: their id and a line saying so.
type importerInfo struct{ userID, line string }

// checkImporter asks the server at base who the token is and whether
// they own or administer the workspace, as an import needs; it says so,
// or fails saying why.
func checkImporter(ctx context.Context, base, token string) (*importerInfo, error) {
	who, err := whoIs(ctx, base, token)
	if err != nil {
		return nil, err
	}
	if who.role == "" {
		return nil, fmt.Errorf("the token is %s's (%s), who is neither an owner nor an admin of workspace %s: an import needs one", who.user, who.userID, who.team)
	}
	return &importerInfo{userID: who.userID, line: fmt.Sprintf("token: %s (%s), %s of workspace %s at %s: may import", who.user, who.userID, who.role, who.team, base)}, nil
}

// tokenInfo is who a token is: the user's name and id, the team as
// "name (id)", and the
// user's role in the workspace, "an owner", "an admin" or "".
type tokenInfo struct {
	userID, user, team string
	role               string
	owner              bool
}

// whoIs asks the server at base who the token is (auth.test) and whether
// they own or administer the workspace (users.info).
func whoIs(ctx context.Context, base, token string) (*tokenInfo, error) {
	api, err := apiURL(base)
	if err != nil {
		return nil, err
	}
	var who struct {
		UserID string `json:"user_id"`
		User   string `json:"user"`
		TeamID string `json:"team_id"`
		Team   string `json:"team"`
	}
	if err := callAPI(ctx, api, token, "auth.test", map[string]any{}, &who); err != nil {
		return nil, err
	}
	var info struct {
		User struct {
			IsBot          bool `json:"is_bot"`
			IsAdmin        bool `json:"is_admin"`
			IsOwner        bool `json:"is_owner"`
			IsPrimaryOwner bool `json:"is_primary_owner"`
		} `json:"user"`
	}
	if err := callAPI(ctx, api, token, "users.info", map[string]any{"user": who.UserID}, &info); err != nil {
		return nil, err
	}
	t := &tokenInfo{userID: who.UserID, user: who.User,
		team: fmt.Sprintf("%s (%s)", who.Team, who.TeamID)}
	switch u := info.User; {
	case u.IsPrimaryOwner, u.IsOwner:
		t.role, t.owner = "an owner", true
	case u.IsAdmin:
		t.role = "an admin"
	}
	return t, nil
}

// apiURL is the Web API's base of a server's URL: base itself if it ends
// in /api, else base/api.
func apiURL(base string) (string, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("--url %q: want http(s)://host[:port]", base)
	}
	p := strings.TrimSuffix(u.Path, "/")
	if !strings.HasSuffix(p, "/api") {
		p += "/api"
	}
	u.Path = p
	return u.String(), nil
}

var importClient = &http.Client{Timeout: 30 * time.Second}
