package pocket

import (
	"context"
	"fmt"

	"github.com/confab/confab"
)

// Apps and bots are directory data, like users and tokens: CreateApp
// writes the copy of the bot user in its workspace's pocket database
// first (for the foreign keys of its memberships and messages, as
// CreateUser does; it logs the bot user's team_join, see wslog.go), then
// the app, bot, user and tokens in the directory.

func (s *Store) CreateApp(ctx context.Context, app *confab.App, bot *confab.Bot, user *confab.User, tokens []*confab.Token) error {
	u := *user
	if u.ID == "" {
		u.ID = confab.NewID(confab.PrefixUser)
	}
	u.WorkspaceID, u.IsBot = app.WorkspaceID, true
	r, err := s.ofWorkspace(ctx, app.WorkspaceID)
	if err != nil {
		return err
	}
	if r.own() {
		if err := s.nameFree(ctx, u.WorkspaceID, u.Name); err != nil {
			return err
		}
		if err := r.db.CreateUser(ctx, copyOfUser(&u)); err != nil {
			return fmt.Errorf("copy of bot user %s in %s: %w", u.ID, r, err)
		}
	}
	if err := s.dir.db.CreateApp(ctx, app, bot, &u, tokens); err != nil {
		if r.own() {
			s.log.Info("app not created; its bot user's copy stays in its pocket's database, unreachable",
				"user", u.ID, "pocket", r.pocket, "err", err)
		}
		return err
	}
	s.users.put(u.ID, u.WorkspaceID)
	*user = u
	return nil
}

func (s *Store) FindApp(ctx context.Context, id string) (*confab.App, error) {
	return s.dir.db.FindApp(ctx, id)
}

func (s *Store) FindBots(ctx context.Context, f confab.BotFilter) ([]*confab.Bot, error) {
	return s.dir.db.FindBots(ctx, f)
}

func (s *Store) UpdateApp(ctx context.Context, id string, upd confab.AppUpdate) (*confab.App, error) {
	return s.dir.db.UpdateApp(ctx, id, upd)
}

func (s *Store) DeleteApp(ctx context.Context, id string, now int64) error {
	return s.dir.db.DeleteApp(ctx, id, now)
}

// An app's positions live beside it, in the directory.

func (s *Store) FindApps(ctx context.Context, f confab.AppFilter) ([]*confab.App, error) {
	return s.dir.db.FindApps(ctx, f)
}

func (s *Store) FindAppPositions(ctx context.Context, appID string) ([]confab.AppPosition, error) {
	return s.dir.db.FindAppPositions(ctx, appID)
}

func (s *Store) SaveAppPositions(ctx context.Context, appID string, ps []confab.AppPosition) error {
	return s.dir.db.SaveAppPositions(ctx, appID, ps)
}
