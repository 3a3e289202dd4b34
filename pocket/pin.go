package pocket

import (
	"context"

	"github.com/confab/confab"
)

// Pins live with the channel's messages, in its pocket's database.

func (s *Store) AddPin(ctx context.Context, p *confab.Pin) error {
	r, err := s.ofChannel(ctx, p.ChannelID)
	if err != nil {
		return err
	}
	return r.db.AddPin(ctx, p)
}

func (s *Store) RemovePin(ctx context.Context, channelID string, ts int64) error {
	r, err := s.ofChannel(ctx, channelID)
	if err != nil {
		return err
	}
	return r.db.RemovePin(ctx, channelID, ts)
}

func (s *Store) FindPins(ctx context.Context, channelID string, messages bool) ([]*confab.Pin, error) {
	r, err := s.ofChannel(ctx, channelID)
	if err != nil {
		return nil, err
	}
	return r.db.FindPins(ctx, channelID, messages)
}
