package chat

import (
	"context"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/confab/confab"
)

// Search's paging, as Slack's search.messages: count per page (default
// 20, at most 100), pages numbered from 1, at most 100 of them.
const (
	defaultSearchCount = 20
	maxSearchCount     = 100
	maxSearchPages     = 100
)

// searchLocation is where a query's days begin (on:2024-05-17, today):
// confab's users have no time zone, so every caller's days are UTC's.
var searchLocation = time.UTC

// SearchParams are search.messages' arguments.
type SearchParams struct {
	Query   string
	Sort    string // "score" (default) or "timestamp"
	SortDir string // "desc" (default) or "asc"
	// Count is the page's size: 0 for 20, above 100 is 100.
	Count int
	// Page is the page, from 1: 0 for 1, above 100 is 100.
	Page int
	// Cursor pages by cursor instead (Page is then ignored): "*" for the
	// first page, then the NextCursor of the page before.
	Cursor string
	// Highlight marks the matched words of each match's Text
	// (confab.HighlightStart, confab.HighlightEnd).
	Highlight bool
}

// SearchPage is a page of search.messages' matches.
type SearchPage struct {
	Matches []SearchMatch
	Total   int // every match of the query the caller may read
	Count   int // the page's size asked for (not len(Matches))
	Page    int // its number, from 1
	Pages   int // how many pages Total fills, at most 100
	// NextCursor continues a search paged by cursor: "" when it was not,
	// or after its last page.
	NextCursor string
}

// SearchMatch is one message a search found.
type SearchMatch struct {
	Message *confab.Message
	Channel *confab.Channel
	// Other is a DM's other member.
	Other string
	// Username is the poster's name ("" for a user gone from the store).
	Username string
	// Text is the message's text, highlighted when asked.
	Text string
}

var errInvalidSort = &confab.Error{Code: confab.EINVALID, Message: "invalid_arguments"}

// Search runs a search.messages query (confab.ParseSearchQuery) for u: the
// messages u may read now that match it, a page of them. Names are
// resolved in u's workspace: in:#name a channel, in:@name u's DM with that
// user, from: and to: users. A name that names nothing, or a DM u does
// not have, finds nothing, as in Slack: the answer is ok, with no
// matches. What u may read is the store's business (SearchFilter.ReaderID):
// a private channel u is not in is searched as one that does not exist.
//
// Search is for people: a bot's token is not_allowed_token_type, as
// Slack's search.messages takes only a user token.
func (s *Service) Search(ctx context.Context, u *confab.User, p SearchParams) (*SearchPage, error) {
	if u.IsBot {
		return nil, confab.ErrNotAllowedTokenType
	}
	q, err := confab.ParseSearchQuery(p.Query)
	if err != nil {
		return nil, err
	}
	f := confab.SearchFilter{WorkspaceID: u.WorkspaceID, ReaderID: u.ID, Terms: q.Terms, Excluded: q.Excluded,
		HasLink: q.HasLink, HasReaction: q.HasReaction, Reaction: q.Reaction, HasPin: q.HasPin, IsThread: q.IsThread}
	switch p.Sort {
	case "", "score":
		f.Sort = confab.SortScore
	case "timestamp":
		f.Sort = confab.SortTimestamp
	default:
		return nil, errInvalidSort
	}
	switch p.SortDir {
	case "", "desc":
	case "asc":
		f.Asc = true
	default:
		return nil, errInvalidSort
	}
	page := &SearchPage{Count: clampLimit(p.Count, defaultSearchCount, maxSearchCount), Page: 1}
	f.Limit = page.Count
	if p.Cursor != "" && p.Cursor != "*" {
		key, err := confab.DecodeCursor("s", p.Cursor)
		if err != nil {
			return nil, err
		}
		off, err := strconv.Atoi(key)
		if err != nil || off < 0 || off >= maxSearchPages*maxSearchCount {
			return nil, confab.ErrInvalidCursor
		}
		f.Offset = off
		page.Page = off/page.Count + 1
	} else if p.Cursor == "" {
		page.Page = min(max(p.Page, 1), maxSearchPages)
		f.Offset = (page.Page - 1) * page.Count
	}

	var empty bool
	f.Since, f.Until, empty = q.TimeRange(s.now(), searchLocation)
	if !empty && !selects(q) {
		empty = true // nothing to search by (a query of punctuation)
	}
	if !empty {
		empty, err = s.resolveRefs(ctx, u, q, &f)
		if err != nil {
			return nil, err
		}
	}
	if empty {
		return page, nil
	}
	res, err := s.store.SearchMessages(ctx, f)
	if err != nil {
		return nil, err
	}
	page.Total = res.Total
	page.Pages = min((res.Total+page.Count-1)/page.Count, maxSearchPages)
	if p.Cursor != "" {
		next := f.Offset + len(res.Messages)
		if len(res.Messages) > 0 && next < res.Total && next < maxSearchPages*page.Count {
			page.NextCursor = confab.EncodeCursor("s", strconv.Itoa(next))
		}
	}
	if page.Matches, err = s.searchMatches(ctx, u, res.Messages); err != nil {
		return nil, err
	}
	if p.Highlight {
		for i := range page.Matches {
			page.Matches[i].Text = q.Highlight(page.Matches[i].Text)
		}
	}
	return page, nil
}

// selects reports whether a query says anything to search by: a query
// whose words all hold no token, and without operators, finds nothing
// rather than every message.
func selects(q *confab.SearchQuery) bool {
	return len(q.Terms)+len(q.Excluded)+len(q.In)+len(q.From)+len(q.To)+len(q.Dates) > 0 ||
		q.HasLink || q.HasReaction || q.Reaction != "" || q.HasPin || q.IsThread
}

// resolveRefs resolves the query's in:, from: and to: into f. empty
// reports an operator none of whose names name anything: the query finds
// nothing.
func (s *Service) resolveRefs(ctx context.Context, u *confab.User, q *confab.SearchQuery, f *confab.SearchFilter) (empty bool, err error) {
	for _, r := range q.In {
		id, err := s.searchChannel(ctx, u, r)
		if err != nil {
			return false, err
		}
		if id != "" && !slices.Contains(f.ChannelIDs, id) {
			f.ChannelIDs = append(f.ChannelIDs, id)
		}
	}
	users := func(refs []confab.SearchRef, ids *[]string) error {
		for _, r := range refs {
			id, err := s.searchUser(ctx, u, r)
			if err != nil {
				return err
			}
			if id != "" && !slices.Contains(*ids, id) {
				*ids = append(*ids, id)
			}
		}
		return nil
	}
	if err := users(q.From, &f.UserIDs); err != nil {
		return false, err
	}
	if err := users(q.To, &f.ToUserIDs); err != nil {
		return false, err
	}
	return (len(q.In) > 0 && len(f.ChannelIDs) == 0) ||
		(len(q.From) > 0 && len(f.UserIDs) == 0) ||
		(len(q.To) > 0 && len(f.ToUserIDs) == 0), nil
}

// searchChannel resolves an in: to a conversation id, "" for none. An id
// is taken as it is: the store finds nothing in a conversation of another
// workspace, or one the caller may not read.
func (s *Service) searchChannel(ctx context.Context, u *confab.User, r confab.SearchRef) (string, error) {
	if r.User {
		other, err := s.searchUser(ctx, u, r)
		if other == "" || other == u.ID || err != nil {
			return "", err
		}
		key := []string{u.ID, other}
		sort.Strings(key)
		c, err := s.store.FindChannelByKey(ctx, u.WorkspaceID, strings.Join(key, ","))
		if confab.ErrorCode(err) == confab.ENOTFOUND {
			return "", nil
		} else if err != nil {
			return "", err
		}
		return c.ID, nil
	}
	if r.ID != "" {
		return r.ID, nil
	}
	if !confab.ValidChannelName(r.Name) {
		return "", nil
	}
	cs, err := s.store.FindChannels(ctx, confab.ChannelFilter{WorkspaceID: u.WorkspaceID, Name: r.Name, Limit: 1})
	if err != nil || len(cs) == 0 {
		return "", err
	}
	return cs[0].ID, nil
}

// searchUser resolves a from:, to: or in:@ to a user id, "" for none.
func (s *Service) searchUser(ctx context.Context, u *confab.User, r confab.SearchRef) (string, error) {
	switch {
	case r.Me:
		return u.ID, nil
	case r.ID != "":
		return r.ID, nil
	case !confab.ValidName(r.Name):
		return "", nil
	}
	other, err := s.store.FindUserByName(ctx, u.WorkspaceID, r.Name)
	if confab.ErrorCode(err) == confab.ENOTFOUND {
		return "", nil
	} else if err != nil {
		return "", err
	}
	return other.ID, nil
}

// searchMatches dresses the messages found with their channels, a DM's
// other member and their posters' names: one read per distinct channel
// and poster of the page.
func (s *Service) searchMatches(ctx context.Context, u *confab.User, msgs []*confab.Message) ([]SearchMatch, error) {
	chans := map[string]*confab.Channel{}
	others := map[string]string{}
	names := map[string]string{}
	out := make([]SearchMatch, 0, len(msgs))
	for _, m := range msgs {
		c, ok := chans[m.ChannelID]
		if !ok {
			var err error
			c, err = s.store.FindChannelByID(ctx, m.ChannelID)
			if confab.ErrorCode(err) == confab.ENOTFOUND {
				continue // gone since the search: left out of the page
			} else if err != nil {
				return nil, err
			}
			chans[m.ChannelID] = c
			if c.Kind == confab.KindDM {
				ids, err := s.store.FindMembers(ctx, confab.MemberFilter{ChannelID: c.ID, Limit: 2})
				if err != nil {
					return nil, err
				}
				for _, id := range ids {
					if id != u.ID {
						others[c.ID] = id
					}
				}
			}
		}
		name, ok := names[m.UserID]
		if !ok && m.UserID != "" {
			poster, err := s.store.FindUserByID(ctx, m.UserID)
			if err == nil {
				name = poster.Name
			} else if confab.ErrorCode(err) != confab.ENOTFOUND {
				return nil, err
			}
			names[m.UserID] = name
		}
		out = append(out, SearchMatch{Message: m, Channel: c, Other: others[c.ID], Username: name, Text: m.Text})
	}
	return out, nil
}
