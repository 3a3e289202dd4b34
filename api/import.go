package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

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
	ImportClaims(ctx context.Context, u *confab.User, ids []string, signup bool) ([]*chat.ClaimLink, error)
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

// claimAnswer is one link of admin.import.claims.
type claimAnswer struct {
	User     string `json:"user"`
	Name     string `json:"name"`
	RealName string `json:"real_name"`
	Email    string `json:"email"`
	URL      string `json:"url"`
	Expires  int64  `json:"expires"`
	Signup   bool   `json:"claim_by_signup"`
}

// adminImportClaims issues claim links (chat.Service.ImportClaims): each
// is the server's web client at /claim, the token in the URL's fragment,
// which no request carries (so no log holds it). The server is named as
// the request reached it, as auth.test's url is.
func (s *Server) adminImportClaims(c *call) (any, error) {
	im, err := s.importer()
	if err != nil {
		return nil, err
	}
	var ids []string
	jsonArray(c.args, "users", &ids)
	signup := c.args.bool("claim_by_signup")
	if err := c.args.Err(); err != nil {
		return nil, err
	}
	links, err := im.ImportClaims(c.r.Context(), c.user, ids, signup)
	if err != nil {
		return nil, err
	}
	base := s.webBase(c.r)
	out := make([]claimAnswer, 0, len(links))
	for _, l := range links {
		out = append(out, claimAnswer{User: l.User.ID, Name: l.User.Name, RealName: l.User.RealName,
			Email: l.User.Email, URL: ClaimURL(base, l.Token), Expires: l.Expires, Signup: l.Signup})
	}
	return struct {
		OK     bool          `json:"ok"`
		Claims []claimAnswer `json:"claims"`
	}{true, out}, nil
}

// ClaimURL is the link of a claim token: the web client's claim page at
// base (the server's web URL, "https://chat.example.com"), the token in
// the fragment.
func ClaimURL(base, token string) string {
	return strings.TrimSuffix(base, "/") + "/claim#" + token
}

// webBase is the web URL of the server as r reached it.
func (s *Server) webBase(r *http.Request) string {
	if s.secure(r) {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

// Claimer is what auth.claim needs from the chat use cases (chat.Service
// has it). A Service without it answers unknown_method.
type Claimer interface {
	Claim(ctx context.Context, p chat.ClaimParams) (*chat.Session, error)
}

var _ Claimer = (*chat.Service)(nil)

// authClaim redeems a claim link: token, password and an optional
// display_name; it answers a session as auth.login does.
func (s *Server) authClaim(c *call) (any, error) {
	cl, ok := s.chat.(Claimer)
	if !ok {
		return nil, errUnknownMethod
	}
	a := c.args
	p := chat.ClaimParams{Token: a.need("token"), Password: a.need("password"), DisplayName: a.str("display_name")}
	if err := a.Err(); err != nil {
		return nil, err
	}
	return sessionOf(cl.Claim(c.r.Context(), p))
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
