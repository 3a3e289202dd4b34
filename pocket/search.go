package pocket

import (
	"context"

	"github.com/confab/confab"
)

// SearchMessages searches the workspace's pocket's database: a workspace's
// channels, members and messages all live there.
func (s *Store) SearchMessages(ctx context.Context, f confab.SearchFilter) (*confab.SearchResult, error) {
	r, err := s.ofWorkspace(ctx, f.WorkspaceID)
	if err != nil {
		return nil, err
	}
	return r.db.SearchMessages(ctx, f)
}
