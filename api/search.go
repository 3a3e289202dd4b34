package api

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/confab/confab"
	"github.com/confab/confab/chat"
)

// search.messages (docs/api.md#searchmessages): Slack's answer shape, as
// its SDKs read it (slack-go's SearchMessages, node's
// SearchMessagesResponse).

type searchAnswer struct {
	OK       bool           `json:"ok"`
	Query    string         `json:"query"`
	Messages searchMessages `json:"messages"`
	// ResponseMetadata is there when the search was paged by cursor.
	ResponseMetadata *responseMetadata `json:"response_metadata,omitempty"`
}

type searchMessages struct {
	Total      int              `json:"total"`
	Matches    []searchMatch    `json:"matches"`
	Paging     searchPaging     `json:"paging"`
	Pagination searchPagination `json:"pagination"`
}

type searchPaging struct {
	Count int `json:"count"`
	Total int `json:"total"`
	Page  int `json:"page"`
	Pages int `json:"pages"`
}

// searchPagination: First and Last number the page's matches among all,
// from 1 (Last is First-1 on an empty page).
type searchPagination struct {
	TotalCount int `json:"total_count"`
	Page       int `json:"page"`
	PerPage    int `json:"per_page"`
	PageCount  int `json:"page_count"`
	First      int `json:"first"`
	Last       int `json:"last"`
}

type searchMatch struct {
	Type     string        `json:"type"`
	IID      string        `json:"iid"`
	Team     string        `json:"team"`
	Channel  searchChannel `json:"channel"`
	User     string        `json:"user"`
	Username string        `json:"username"`
	TS       string        `json:"ts"`
	// ThreadTS is a thread reply's parent (confab: Slack tells it only
	// in the permalink).
	ThreadTS    string          `json:"thread_ts,omitempty"`
	Text        string          `json:"text"`
	Permalink   string          `json:"permalink"`
	Blocks      json.RawMessage `json:"blocks,omitempty"`
	Attachments json.RawMessage `json:"attachments,omitempty"`
}

// searchChannel is the conversation of a match, as Slack's search
// describes it: confab shares no channel with other organizations.
type searchChannel struct {
	ID                 string   `json:"id"`
	Name               string   `json:"name"`
	IsChannel          bool     `json:"is_channel"`
	IsGroup            bool     `json:"is_group"`
	IsIM               bool     `json:"is_im"`
	IsMpIM             bool     `json:"is_mpim"`
	IsPrivate          bool     `json:"is_private"`
	IsArchived         bool     `json:"is_archived"`
	IsShared           bool     `json:"is_shared"`
	IsExtShared        bool     `json:"is_ext_shared"`
	IsOrgShared        bool     `json:"is_org_shared"`
	IsPendingExtShared bool     `json:"is_pending_ext_shared"`
	PendingShared      []string `json:"pending_shared"`
	User               string   `json:"user,omitempty"` // a DM's other member
}

// searchMessages answers search.messages. team_id is accepted and
// ignored: a token searches its own workspace.
func (s *Server) searchMessages(c *call) (any, error) {
	a := c.args
	p := chat.SearchParams{
		Query:     a.str("query"),
		Sort:      a.str("sort"),
		SortDir:   a.str("sort_dir"),
		Count:     a.limit("count", 20, 100),
		Page:      a.limit("page", 1, 100),
		Cursor:    a.str("cursor"),
		Highlight: a.bool("highlight"),
	}
	_ = a.str("team_id")
	if strings.TrimSpace(p.Query) == "" {
		return nil, confab.ErrNoQuery
	}
	if err := a.Err(); err != nil {
		return nil, err
	}
	page, err := s.chat.Search(c.r.Context(), c.user, p)
	if err == nil && page == nil {
		err = errMissing
	}
	if err != nil {
		return nil, err
	}
	offset := (page.Page - 1) * page.Count
	out := searchAnswer{OK: true, Query: p.Query, Messages: searchMessages{
		Total:   page.Total,
		Matches: make([]searchMatch, 0, len(page.Matches)),
		Paging:  searchPaging{Count: page.Count, Total: page.Total, Page: page.Page, Pages: page.Pages},
		Pagination: searchPagination{TotalCount: page.Total, Page: page.Page, PerPage: page.Count, PageCount: page.Pages,
			First: offset + 1, Last: offset + len(page.Matches)},
	}}
	if p.Cursor != "" {
		out.ResponseMetadata = &responseMetadata{page.NextCursor}
	}
	for _, m := range page.Matches {
		if m.Message == nil || m.Channel == nil {
			continue
		}
		out.Messages.Matches = append(out.Messages.Matches, s.searchMatch(c.r, m))
	}
	return out, nil
}

func (s *Server) searchMatch(r *http.Request, m chat.SearchMatch) searchMatch {
	msg, ch := m.Message, m.Channel
	name := ch.Name
	if ch.Kind == confab.KindDM {
		name = m.Other // as Slack names a DM in a match: the other's id
	}
	out := searchMatch{
		Type: "message", IID: msg.ChannelID + "-" + confab.FormatTS(msg.TS), Team: ch.WorkspaceID,
		Channel: searchChannel{
			ID: ch.ID, Name: name,
			IsChannel: ch.Kind == confab.KindPublic || ch.Kind == confab.KindPrivate, IsGroup: ch.Kind == confab.KindPrivate,
			IsIM: ch.Kind == confab.KindDM, IsMpIM: ch.Kind == confab.KindGroupDM, IsPrivate: ch.Kind != confab.KindPublic,
			IsArchived: ch.Archived, PendingShared: []string{}, User: m.Other,
		},
		User: msg.UserID, Username: m.Username, TS: confab.FormatTS(msg.TS), ThreadTS: confab.FormatTS(msg.ThreadTS),
		Text: m.Text, Permalink: s.permalink(r, msg.ChannelID, msg.TS),
	}
	if out.Username == "" {
		out.Username = msg.Username
	}
	if msg.Blocks != "" {
		out.Blocks = json.RawMessage(msg.Blocks)
	}
	if msg.Attachments != "" {
		out.Attachments = json.RawMessage(msg.Attachments)
	}
	return out
}

// queryErrorAnswer is invalid_query with what is wrong with the query.
type queryErrorAnswer struct {
	OK     bool   `json:"ok"`
	Error  string `json:"error"`
	Detail string `json:"detail"`
}
