package chat

import (
	"context"
	"slices"
	"strings"

	"github.com/confab/confab"
)

// rankWindow is how many of a search's matches are looked at for the
// members of the channel it ranks by: a channel's members among the first
// rankWindow matches come first. A client names the channel when it
// completes an @-mention there, where the people of the conversation are
// the likely ones; one further down the matches is found by typing more.
const rankWindow = 200

// SearchUsers finds the users of the caller's workspace whose handle, real
// name or display name, or a word of them, starts with query, in any case
// (confab.UserTerms), with the emails the caller may see: bots too, never
// deleted users; at most count (default 20, at most 100). With a channel
// (which the caller must be able to read), the channel's members among the
// first rankWindow matches come first. An empty query is
// invalid_arguments; one without a letter or digit finds nobody.
func (s *Service) SearchUsers(ctx context.Context, u *confab.User, query, channel string, count int) ([]*confab.User, error) {
	if strings.TrimSpace(query) == "" {
		return nil, confab.ErrInvalidArgs
	}
	count = clampLimit(count, 20, 100)
	var g *grant
	if channel != "" {
		var err error
		if g, err = s.authorize(ctx, u, channel, actionRead); err != nil {
			return nil, err
		}
	}
	limit := count
	if g != nil {
		limit = max(count, rankWindow)
	}
	users, err := s.store.SearchUsers(ctx, confab.UserSearch{WorkspaceID: u.WorkspaceID, Query: confab.UserSearchKey(query), Limit: limit})
	if err != nil {
		return nil, err
	}
	if g != nil && len(users) > 0 {
		ids := make([]string, len(users))
		for i, v := range users {
			ids[i] = v.ID
		}
		members, err := s.store.FindMembers(ctx, confab.MemberFilter{ChannelID: g.ID, UserIDs: ids})
		if err != nil {
			return nil, err
		}
		in := make(map[string]bool, len(members))
		for _, id := range members {
			in[id] = true
		}
		// Members first, each part in the store's order.
		slices.SortStableFunc(users, func(a, b *confab.User) int {
			switch {
			case in[a.ID] == in[b.ID]:
				return 0
			case in[a.ID]:
				return -1
			}
			return 1
		})
	}
	if len(users) > count {
		users = users[:count]
	}
	sight, err := s.emailSight(ctx, u)
	if err != nil {
		return nil, err
	}
	for i, other := range users {
		users[i] = sight.show(other)
	}
	return users, nil
}
