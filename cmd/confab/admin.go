package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/confab/confab"
	"github.com/confab/confab/chat"
	"github.com/confab/confab/store/sqlite"
)

// runAdmin runs "confab admin user create": it opens the store directly
// (SQLite in WAL mode lets it run beside a live server) and creates a user,
// and the workspace if the domain is new.
func runAdmin(ctx context.Context, args []string) error {
	if len(args) < 2 || args[0] != "user" || args[1] != "create" {
		return errors.New("usage: confab admin user create --team DOMAIN --name NAME [--password P] [--real-name R] [--email E]")
	}
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("confab admin user create", flag.ContinueOnError)
	fs.StringVar(&cfg.DataDir, "data", cfg.DataDir, "data directory")
	fs.StringVar(&cfg.SQLiteSync, "sqlite-sync", cfg.SQLiteSync, "SQLite synchronous mode: full or normal")
	fs.IntVar(&cfg.PasswordCost, "password-cost", cfg.PasswordCost, "bcrypt cost, 0 for the default")
	team := fs.String("team", "", "workspace domain (created if new)")
	name := fs.String("name", "", "user name")
	password := fs.String("password", "", "password; generated and printed if empty")
	realName := fs.String("real-name", "", "real name")
	email := fs.String("email", "", "email address (optional; unique in the workspace, in any case)")
	if err := applyEnv(fs, os.Getenv); err != nil {
		return err
	}
	if err := fs.Parse(args[2:]); err != nil {
		return err
	}
	if *team == "" || *name == "" {
		return errors.New("--team and --name are required")
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	generated := *password == ""
	if generated {
		var b [12]byte
		if _, err := rand.Read(b[:]); err != nil {
			return err
		}
		*password = base64.RawURLEncoding.EncodeToString(b[:])
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return err
	}
	db, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(cfg.DataDir, "confab.db"), Sync: cfg.SQLiteSync})
	if err != nil {
		return err
	}
	defer db.Close()
	svc := chat.New(chat.Config{Store: db, Bus: noBus{}, PasswordCost: cfg.PasswordCost})
	defer svc.Close()
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

// noBus is the bus of a process that publishes nothing (creating a user
// sends no events).
type noBus struct{}

func (noBus) Publish(context.Context, string, []byte) error { return nil }
