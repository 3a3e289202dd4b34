package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/confab/confab"
	"github.com/confab/confab/api"
	"github.com/confab/confab/chat"
	"github.com/confab/confab/store/sqlite"
)

const adminUsage = `usage:
  confab admin user create --team DOMAIN --name NAME [--password P] [--real-name R] [--email E]
  confab admin user claim --team DOMAIN --name NAME --url URL [--signup]
      a one-time link (14 days) for NAME to set their password: an imported
      account's claim, or a reset for a claimed one; voids NAME's earlier link
  confab admin app create --team DOMAIN --manifest FILE   (FILE: JSON or YAML, - for stdin)
  confab admin app list --team DOMAIN`

// runAdmin runs the operator's commands. Each opens the store directly
// (SQLite in WAL mode lets it run beside a live server) and works through
// the same use cases (chat.Service) as the Web API.
func runAdmin(ctx context.Context, args []string) error {
	if len(args) < 2 {
		return errors.New(adminUsage)
	}
	switch args[0] + " " + args[1] {
	case "user create":
		return adminUserCreate(ctx, args[2:])
	case "user claim":
		return adminUserClaim(ctx, args[2:])
	case "app create":
		return adminAppCreate(ctx, args[2:])
	case "app list":
		return adminAppList(ctx, args[2:])
	}
	return errors.New(adminUsage)
}

// adminFlags are the flags of every admin command: where the data is.
func adminFlags(name string) (*flag.FlagSet, *Config) {
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("confab admin "+name, flag.ContinueOnError)
	fs.StringVar(&cfg.DataDir, "data", cfg.DataDir, "data directory")
	fs.StringVar(&cfg.SQLiteSync, "sqlite-sync", cfg.SQLiteSync, "SQLite synchronous mode: full or normal")
	fs.IntVar(&cfg.PasswordCost, "password-cost", cfg.PasswordCost, "bcrypt cost, 0 for the default")
	return fs, &cfg
}

// parseAdmin reads the environment and args into fs, and checks cfg.
func parseAdmin(fs *flag.FlagSet, cfg *Config, args []string) error {
	if err := applyEnv(fs, os.Getenv); err != nil {
		return err
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	return cfg.Validate()
}

// openAdmin opens the store of cfg's data directory and a service on it;
// close releases both.
func openAdmin(ctx context.Context, cfg *Config) (svc *chat.Service, db *sqlite.DB, close func(), err error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, nil, nil, err
	}
	db, err = sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(cfg.DataDir, "confab.db"), Sync: cfg.SQLiteSync})
	if err != nil {
		return nil, nil, nil, err
	}
	svc = chat.New(chat.Config{Store: db, Bus: noBus{}, PasswordCost: cfg.PasswordCost})
	return svc, db, func() { svc.Close(); db.Close() }, nil
}

// adminUserCreate creates a user, and the workspace if the domain is new.
func adminUserCreate(ctx context.Context, args []string) error {
	fs, cfg := adminFlags("user create")
	team := fs.String("team", "", "workspace domain (created if new)")
	name := fs.String("name", "", "user name")
	password := fs.String("password", "", "password; generated and printed if empty")
	realName := fs.String("real-name", "", "real name")
	email := fs.String("email", "", "email address (optional; unique in the workspace, in any case)")
	if err := parseAdmin(fs, cfg, args); err != nil {
		return err
	}
	if *team == "" || *name == "" {
		return errors.New("--team and --name are required")
	}
	generated := *password == ""
	if generated {
		var b [12]byte
		if _, err := rand.Read(b[:]); err != nil {
			return err
		}
		*password = base64.RawURLEncoding.EncodeToString(b[:])
	}
	svc, _, closeAll, err := openAdmin(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeAll()
	sess, err := svc.CreateUser(ctx, chat.SignupParams{Team: *team, Name: *name, Password: *password, RealName: *realName, Email: *email})
	if err != nil {
		return fmt.Errorf("create user: %s", confab.ErrorMessage(err))
	}
	fmt.Printf("user_id=%s team_id=%s token=%s\n", sess.User.ID, sess.Workspace.ID, sess.Token)
	if generated {
		fmt.Printf("password=%s\n", *password)
	}
	return nil
}

// adminUserClaim issues a one-time link for a user to set their password
// (chat.Service.IssueClaim) and prints it: the claim of an imported
// account, or a reset of a claimed one (its sessions are kept).
func adminUserClaim(ctx context.Context, args []string) error {
	fs, cfg := adminFlags("user claim")
	team := fs.String("team", "", "workspace domain")
	name := fs.String("name", "", "user name")
	base := fs.String("url", "", "the server's web URL, which the link opens, e.g. https://chat.example.com (CONFAB_URL)")
	signup := fs.Bool("signup", false, "an account never claimed may also be claimed by signing up with its name and email while the link is valid (docs/import.md)")
	if err := parseAdmin(fs, cfg, args); err != nil {
		return err
	}
	if *team == "" || *name == "" || *base == "" {
		return errors.New("--team, --name and --url are required")
	}
	u, err := url.Parse(*base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--url %q: want http(s)://host[:port]", *base)
	}
	svc, _, closeAll, err := openAdmin(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeAll()
	l, err := svc.IssueClaim(ctx, *team, *name, *signup)
	if err != nil {
		return fmt.Errorf("claim %s: %s", *name, confab.ErrorMessage(err))
	}
	kind := "claim"
	if l.Reset {
		kind = "reset"
	}
	fmt.Printf("user_id=%s name=%s email=%s kind=%s claim_by_signup=%t expires=%s\n", l.User.ID, l.User.Name, l.User.Email,
		kind, l.Signup, time.Unix(l.Expires, 0).UTC().Format(time.RFC3339))
	fmt.Printf("link=%s\n", api.ClaimURL(strings.TrimSuffix(*base, "/api"), l.Token))
	return nil
}

// adminAppCreate creates an app from a manifest file and installs it in a
// workspace, as its owner would with apps.manifest.create, and prints
// what that method answers (the tokens, shown this once) as JSON.
func adminAppCreate(ctx context.Context, args []string) error {
	fs, cfg := adminFlags("app create")
	team := fs.String("team", "", "workspace domain")
	file := fs.String("manifest", "", "manifest file, JSON or YAML; - for standard input")
	if err := parseAdmin(fs, cfg, args); err != nil {
		return err
	}
	if *team == "" || *file == "" {
		return errors.New("--team and --manifest are required")
	}
	manifest, err := readManifest(*file)
	if err != nil {
		return err
	}
	svc, db, closeAll, err := openAdmin(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeAll()
	owner, err := workspaceOwner(ctx, db, *team)
	if err != nil {
		return err
	}
	in, err := svc.CreateApp(ctx, owner, manifest)
	if me := (*confab.ManifestError)(nil); errors.As(err, &me) {
		for _, p := range me.Problems {
			fmt.Fprintf(os.Stderr, "%s: %s\n", p.Pointer, p.Message)
		}
	}
	if err != nil {
		return fmt.Errorf("create app: %s", confab.ErrorMessage(err))
	}
	return printJSON(api.InstallAnswer(in))
}

// adminAppList prints the apps installed in a workspace, one JSON object
// a line: app_id, name (the bot's), bot_id, bot_user_id, scopes.
func adminAppList(ctx context.Context, args []string) error {
	fs, cfg := adminFlags("app list")
	team := fs.String("team", "", "workspace domain")
	if err := parseAdmin(fs, cfg, args); err != nil {
		return err
	}
	if *team == "" {
		return errors.New("--team is required")
	}
	svc, db, closeAll, err := openAdmin(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeAll()
	ws, err := db.FindWorkspaceByDomain(ctx, *team)
	if err != nil {
		return fmt.Errorf("workspace %s: %s", *team, confab.ErrorMessage(err))
	}
	var botUsers []*confab.User
	for after := ""; ; {
		users, err := db.FindUsers(ctx, confab.UserFilter{WorkspaceID: ws.ID, AfterID: after, Limit: 1000})
		if err != nil {
			return err
		}
		for _, u := range users {
			if u.IsBot && !u.Deleted {
				botUsers = append(botUsers, u)
			}
		}
		if len(users) < 1000 {
			break
		}
		after = users[len(users)-1].ID
	}
	for _, u := range botUsers {
		b, err := svc.BotOf(ctx, u)
		if err != nil {
			return err
		}
		scopes, err := svc.BotScopes(ctx, u)
		if err != nil {
			return err
		}
		if err := printJSON(struct {
			AppID     string   `json:"app_id"`
			Name      string   `json:"name"`
			BotID     string   `json:"bot_id"`
			BotUserID string   `json:"bot_user_id"`
			Scopes    []string `json:"scopes"`
		}{b.AppID, b.Name, b.ID, u.ID, scopes}); err != nil {
			return err
		}
	}
	return nil
}

// workspaceOwner returns the owner of the workspace of domain team.
func workspaceOwner(ctx context.Context, db confab.Store, team string) (*confab.User, error) {
	ws, err := db.FindWorkspaceByDomain(ctx, team)
	if err != nil {
		return nil, fmt.Errorf("workspace %s: %s", team, confab.ErrorMessage(err))
	}
	owner, err := db.FindUserByID(ctx, ws.OwnerID)
	if err != nil {
		return nil, fmt.Errorf("owner of %s: %s", team, confab.ErrorMessage(err))
	}
	return owner, nil
}

// readManifest reads a manifest file (- for standard input), at most
// MaxManifestBytes.
func readManifest(name string) (string, error) {
	var r io.Reader = os.Stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return "", err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, confab.MaxManifestBytes+1))
	if err != nil {
		return "", err
	}
	if len(b) > confab.MaxManifestBytes {
		return "", fmt.Errorf("manifest %s: larger than %d bytes", name, confab.MaxManifestBytes)
	}
	return string(b), nil
}

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// noBus is the bus of a process that publishes nothing (creating a user
// sends no events).
type noBus struct{}

func (noBus) Publish(context.Context, string, []byte) error { return nil }
