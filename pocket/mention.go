package pocket

import (
	"context"
	"fmt"
)

// CountMentions asks each database at most once, for its share of the
// channels, as FindLatestMessages does: mentions live with the channel's
// messages, in its pocket's database. A database leaves out the channels
// it does not hold, so asking it for one it does not is harmless.
func (s *Store) CountMentions(ctx context.Context, userID string, channelIDs []string) (map[string]int, error) {
	if len(channelIDs) == 0 {
		return s.dir.db.CountMentions(ctx, userID, nil)
	}
	byRoute := map[*route][]string{}
	var unplaced []string
	for _, id := range channelIDs {
		if r, ok := s.channels.get(id); ok {
			byRoute[r] = append(byRoute[r], id)
		} else {
			unplaced = append(unplaced, id)
		}
	}
	out := make(map[string]int)
	for _, r := range s.all {
		ids := append(byRoute[r], unplaced...)
		if len(ids) == 0 {
			continue
		}
		counts, err := r.db.CountMentions(ctx, userID, ids)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r, err)
		}
		for id, n := range counts {
			out[id] = n
		}
	}
	return out, nil
}
