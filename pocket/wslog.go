package pocket

import (
	"context"

	"github.com/confab/confab"
)

// A workspace's event log lives in its pocket's database (the directory
// for a pocket without its own), beside its channels and memberships:
// channel and member events are appended there in the transaction of
// their change, by that database.
//
// team_join cannot be in the transaction that creates the user: that is
// the directory's, and no transaction spans two databases. It is logged,
// in the workspace's log, by the transaction that writes the user's copy
// in the pocket's database (CreateUser, CreateApp), which commits just
// before the directory's. So, in a pocket with its own database only:
//   - a reader may see the team_join a moment before the directory has
//     the user (FindUserByID: user_not_found until it commits);
//   - a team_join may name a user that the directory never got, when the
//     directory refuses the name or the process fails between the two
//     writes. CreateUser and CreateApp first ask the directory whether the
//     name is taken, so only a race for the same name, or a failure in
//     between, leaves such an event.
//
// The directory, which writes the user too, logs its own team_join in its
// copy of the workspace's log; nobody reads that one.
//
// CreateWorkspace logs nothing anywhere (confab.Store).

// FindWorkspaceEvents reads the log of the workspace's pocket's database.
func (s *Store) FindWorkspaceEvents(ctx context.Context, workspaceID string, after int64, limit int) ([]confab.WorkspaceEvent, error) {
	r, err := s.ofWorkspace(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	return r.db.FindWorkspaceEvents(ctx, workspaceID, after, limit)
}

// nameFree returns ErrNameTaken if the directory has a user of that name
// in the workspace: asked before a copy is written in a pocket's
// database, whose team_join would otherwise announce a user that the
// directory then refuses.
func (s *Store) nameFree(ctx context.Context, workspaceID, name string) error {
	_, err := s.dir.db.FindUserByName(ctx, workspaceID, name)
	switch confab.ErrorCode(err) {
	case "":
		return confab.ErrNameTaken
	case confab.ENOTFOUND:
		return nil
	}
	return err
}
