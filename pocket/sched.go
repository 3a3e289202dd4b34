package pocket

import (
	"context"

	"github.com/confab/confab"
)

// Scheduled messages are directory data, like apps: every scheduler
// claims from the one table of the main database, whatever pocket the
// channel lives in, and posts through the Store like any post.

func (s *Store) CreateScheduledMessage(ctx context.Context, m *confab.ScheduledMessage) error {
	return s.dir.db.CreateScheduledMessage(ctx, m)
}

func (s *Store) FindScheduledMessages(ctx context.Context, f confab.ScheduledFilter) ([]*confab.ScheduledMessage, error) {
	return s.dir.db.FindScheduledMessages(ctx, f)
}

func (s *Store) DeleteScheduledMessage(ctx context.Context, id, userID, channelID string) error {
	return s.dir.db.DeleteScheduledMessage(ctx, id, userID, channelID)
}

func (s *Store) ClaimScheduledMessages(ctx context.Context, now, until int64, limit int) ([]*confab.ScheduledMessage, error) {
	return s.dir.db.ClaimScheduledMessages(ctx, now, until, limit)
}

func (s *Store) FinishScheduledMessage(ctx context.Context, id string) error {
	return s.dir.db.FinishScheduledMessage(ctx, id)
}
