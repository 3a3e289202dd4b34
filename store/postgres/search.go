package postgres

import (
	"context"
	"errors"

	"github.com/confab/confab"
)

// SearchMessages: the index is being built (issue in progress).
func (db *DB) SearchMessages(_ context.Context, _ confab.SearchFilter) (*confab.SearchResult, error) {
	return nil, errors.New("postgres: search is not built yet")
}
