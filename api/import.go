package api

import (
	"context"
	"encoding/json"

	"github.com/confab/confab"
	"github.com/confab/confab/chat"
	"github.com/confab/confab/slackexport"
)

// Importer is what the import methods (admin.import.*, confab's own) need
// from the chat use cases (chat.Service has them). A Service without them
// answers these methods unknown_method.
type Importer interface {
	ImportUsers(ctx context.Context, u *confab.User, users []slackexport.User) (*chat.ImportedUsers, error)
	ImportConversations(ctx context.Context, u *confab.User, convs []chat.ImportConversation) (*chat.ImportedConversations, error)
	ImportMessages(ctx context.Context, u *confab.User, channel string, msgs []slackexport.Message) (*chat.ImportedMessages, error)
	FinishImport(ctx context.Context, u *confab.User) error
}

var _ Importer = (*chat.Service)(nil)

func (s *Server) importer() (Importer, error) {
	im, ok := s.chat.(Importer)
	if !ok {
		return nil, errUnknownMethod
	}
	return im, nil
}

// jsonArray decodes the argument k, a JSON array, into out.
func jsonArray(a *args, k string, out any) {
	v := a.need(k)
	if v == "" {
		return
	}
	if v[0] != '[' || json.Unmarshal([]byte(v), out) != nil {
		a.fail()
	}
}

func (s *Server) adminImportUsers(c *call) (any, error) {
	im, err := s.importer()
	if err != nil {
		return nil, err
	}
	var users []slackexport.User
	jsonArray(c.args, "users", &users)
	if err := c.args.Err(); err != nil {
		return nil, err
	}
	r, err := im.ImportUsers(c.r.Context(), c.user, users)
	if err != nil {
		return nil, err
	}
	return struct {
		OK      bool              `json:"ok"`
		Users   map[string]string `json:"users"`
		Renamed map[string]string `json:"renamed"`
		Matched []string          `json:"matched"`
		Created int               `json:"created"`
	}{true, r.IDs, r.Renamed, nonNil(r.Matched), r.Created}, nil
}

func (s *Server) adminImportConversations(c *call) (any, error) {
	im, err := s.importer()
	if err != nil {
		return nil, err
	}
	var convs []chat.ImportConversation
	jsonArray(c.args, "conversations", &convs)
	if err := c.args.Err(); err != nil {
		return nil, err
	}
	r, err := im.ImportConversations(c.r.Context(), c.user, convs)
	if err != nil {
		return nil, err
	}
	return struct {
		OK            bool              `json:"ok"`
		Conversations map[string]string `json:"conversations"`
		Renamed       map[string]string `json:"renamed"`
		Created       int               `json:"created"`
	}{true, r.IDs, r.Renamed, r.Created}, nil
}

func (s *Server) adminImportMessages(c *call) (any, error) {
	im, err := s.importer()
	if err != nil {
		return nil, err
	}
	channel := c.args.need("channel")
	var msgs []slackexport.Message
	jsonArray(c.args, "messages", &msgs)
	if err := c.args.Err(); err != nil {
		return nil, err
	}
	r, err := im.ImportMessages(c.r.Context(), c.user, channel, msgs)
	if err != nil {
		return nil, err
	}
	return struct {
		OK      bool `json:"ok"`
		Created int  `json:"created"`
		Skipped int  `json:"skipped"`
	}{true, r.Created, r.Skipped}, nil
}

func (s *Server) adminImportFinish(c *call) (any, error) {
	im, err := s.importer()
	if err != nil {
		return nil, err
	}
	if err := im.FinishImport(c.r.Context(), c.user); err != nil {
		return nil, err
	}
	return okOnly, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
