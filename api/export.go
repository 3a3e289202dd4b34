package api

import (
	"context"
	"strings"

	"github.com/confab/confab"
	"github.com/confab/confab/chat"
	"github.com/confab/confab/slackexport"
)

// Exporter is what the export methods (admin.export.*, confab's own) need
// from the chat use cases (chat.Service has them). A Service without them
// answers these methods unknown_method.
type Exporter interface {
	ExportUsers(ctx context.Context, u *confab.User, cursor string, limit int) ([]slackexport.User, string, error)
	ExportConversations(ctx context.Context, u *confab.User, kinds []string, cursor string, limit int) ([]chat.ImportConversation, string, error)
	ExportMessages(ctx context.Context, u *confab.User, channel, cursor string, limit int) ([]slackexport.Message, string, error)
}

var _ Exporter = (*chat.Service)(nil)

func (s *Server) exporter() (Exporter, error) {
	ex, ok := s.chat.(Exporter)
	if !ok {
		return nil, errUnknownMethod
	}
	return ex, nil
}

func (s *Server) adminExportUsers(c *call) (any, error) {
	ex, err := s.exporter()
	if err != nil {
		return nil, err
	}
	cursor, limit := c.args.str("cursor"), c.args.limit("limit", chat.DefaultExportPage, chat.MaxExportPage)
	if err := c.args.Err(); err != nil {
		return nil, err
	}
	users, next, err := ex.ExportUsers(c.r.Context(), c.user, cursor, limit)
	if err != nil {
		return nil, err
	}
	return struct {
		OK               bool               `json:"ok"`
		Users            []slackexport.User `json:"users"`
		ResponseMetadata responseMetadata   `json:"response_metadata"`
	}{true, users, responseMetadata{next}}, nil
}

func (s *Server) adminExportConversations(c *call) (any, error) {
	ex, err := s.exporter()
	if err != nil {
		return nil, err
	}
	a := c.args
	cursor, limit := a.str("cursor"), a.limit("limit", chat.DefaultExportPage, chat.MaxExportPage)
	var kinds []string
	for _, t := range strings.Split(a.str("types"), ",") {
		if t = strings.TrimSpace(t); t == "" {
			continue
		}
		k, found := kindOfType[t]
		if !found {
			a.fail()
			break
		}
		kinds = append(kinds, k)
	}
	if err := a.Err(); err != nil {
		return nil, err
	}
	convs, next, err := ex.ExportConversations(c.r.Context(), c.user, kinds, cursor, limit)
	if err != nil {
		return nil, err
	}
	return struct {
		OK               bool                      `json:"ok"`
		Conversations    []chat.ImportConversation `json:"conversations"`
		ResponseMetadata responseMetadata          `json:"response_metadata"`
	}{true, convs, responseMetadata{next}}, nil
}

func (s *Server) adminExportMessages(c *call) (any, error) {
	ex, err := s.exporter()
	if err != nil {
		return nil, err
	}
	a := c.args
	channel, cursor, limit := a.need("channel"), a.str("cursor"), a.limit("limit", chat.DefaultExportPage, chat.MaxExportPage)
	if err := a.Err(); err != nil {
		return nil, err
	}
	msgs, next, err := ex.ExportMessages(c.r.Context(), c.user, channel, cursor, limit)
	if err != nil {
		return nil, err
	}
	return struct {
		OK               bool                  `json:"ok"`
		Messages         []slackexport.Message `json:"messages"`
		ResponseMetadata responseMetadata      `json:"response_metadata"`
	}{true, msgs, responseMetadata{next}}, nil
}
