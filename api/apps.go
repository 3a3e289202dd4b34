package api

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"

	"github.com/confab/confab"
	"github.com/confab/confab/chat"
)

// Apps is what the app methods need from the chat use cases (chat.Service
// has them). A Service without them answers these methods unknown_method.
type Apps interface {
	CreateApp(ctx context.Context, u *confab.User, manifest string) (*chat.Install, error)
	UpdateApp(ctx context.Context, u *confab.User, appID, manifest string) (*confab.App, error)
	DeleteApp(ctx context.Context, u *confab.User, appID string) error
	ExportApp(ctx context.Context, u *confab.User, appID string) (*confab.App, error)
	BotInfo(ctx context.Context, u *confab.User, botID string) (*confab.Bot, error)
	// BotOf returns the bot whose user u is; bot_not_found for a person.
	BotOf(ctx context.Context, u *confab.User) (*confab.Bot, error)
	// AuthenticateApp returns the bot user of an app-level token:
	// not_allowed_token_type for another type of token.
	AuthenticateApp(ctx context.Context, token string) (*confab.User, error)
	// OpenSocket issues the ticket of a Socket Mode connection.
	OpenSocket(ctx context.Context, u *confab.User, token string) (*confab.Ticket, error)
	// BotScopes returns the bot scopes of bot user u's app (scopes.go);
	// cheap enough to call on every request of a bot.
	BotScopes(ctx context.Context, u *confab.User) ([]string, error)
}

type manifestCredentials struct {
	ClientID          string `json:"client_id"`
	ClientSecret      string `json:"client_secret"`
	VerificationToken string `json:"verification_token"`
	SigningSecret     string `json:"signing_secret"`
}

// manifestCreateAnswer is Slack's answer, with confab's install: the team,
// the bot and both tokens (shown this once).
type manifestCreateAnswer struct {
	OK                bool                `json:"ok"`
	AppID             string              `json:"app_id"`
	Credentials       manifestCredentials `json:"credentials"`
	OAuthAuthorizeURL string              `json:"oauth_authorize_url"`
	TeamID            string              `json:"team_id"`
	TeamDomain        string              `json:"team_domain"`
	BotUserID         string              `json:"bot_user_id"`
	BotID             string              `json:"bot_id"`
	BotToken          string              `json:"bot_token"`
	AppToken          string              `json:"app_token"`
}

func (s *Server) appsService() (Apps, error) {
	if s.apps == nil {
		return nil, errUnknownMethod
	}
	return s.apps, nil
}

// manifestArg is the manifest argument: a JSON string or a JSON object
// (which args keep as its JSON text).
func manifestArg(a *args) string { return a.need("manifest") }

func (s *Server) appsManifestCreate(c *call) (any, error) {
	apps, err := s.appsService()
	if err != nil {
		return nil, err
	}
	manifest := manifestArg(c.args)
	if err := c.args.Err(); err != nil {
		return nil, err
	}
	in, err := apps.CreateApp(c.r.Context(), c.user, manifest)
	if err != nil {
		return nil, err
	}
	return InstallAnswer(in), nil
}

// InstallAnswer is apps.manifest.create's answer for a new install; the
// admin command (confab admin app create) prints the same.
func InstallAnswer(in *chat.Install) any {
	a := in.App
	return manifestCreateAnswer{
		OK: true, AppID: a.ID,
		Credentials: manifestCredentials{ClientID: a.ClientID, ClientSecret: a.ClientSecret,
			VerificationToken: a.VerificationToken, SigningSecret: a.SigningSecret},
		OAuthAuthorizeURL: "", // installed at once: there is nothing to authorize
		TeamID:            in.Workspace.ID, TeamDomain: in.Workspace.Domain,
		BotUserID: in.BotUser.ID, BotID: in.Bot.ID, BotToken: in.BotToken, AppToken: in.AppToken,
	}
}

func (s *Server) appsManifestUpdate(c *call) (any, error) {
	apps, err := s.appsService()
	if err != nil {
		return nil, err
	}
	id, manifest := c.args.need("app_id"), manifestArg(c.args)
	if err := c.args.Err(); err != nil {
		return nil, err
	}
	a, err := apps.UpdateApp(c.r.Context(), c.user, id, manifest)
	if err != nil {
		return nil, err
	}
	return struct {
		OK                 bool   `json:"ok"`
		AppID              string `json:"app_id"`
		PermissionsUpdated bool   `json:"permissions_updated"`
	}{true, a.ID, false}, nil
}

func (s *Server) appsManifestDelete(c *call) (any, error) {
	apps, err := s.appsService()
	if err != nil {
		return nil, err
	}
	id := c.args.need("app_id")
	if err := c.args.Err(); err != nil {
		return nil, err
	}
	if err := apps.DeleteApp(c.r.Context(), c.user, id); err != nil {
		return nil, err
	}
	return okOnly, nil
}

func (s *Server) appsManifestExport(c *call) (any, error) {
	apps, err := s.appsService()
	if err != nil {
		return nil, err
	}
	id := c.args.need("app_id")
	if err := c.args.Err(); err != nil {
		return nil, err
	}
	a, err := apps.ExportApp(c.r.Context(), c.user, id)
	if err != nil {
		return nil, err
	}
	return struct {
		OK       bool            `json:"ok"`
		Manifest json.RawMessage `json:"manifest"`
	}{true, json.RawMessage(a.Manifest)}, nil
}

func (s *Server) botsInfo(c *call) (any, error) {
	apps, err := s.appsService()
	if err != nil {
		return nil, err
	}
	id := c.args.need("bot")
	if err := c.args.Err(); err != nil {
		return nil, err
	}
	b, err := apps.BotInfo(c.r.Context(), c.user, id)
	if err != nil {
		return nil, err
	}
	return struct {
		OK  bool           `json:"ok"`
		Bot confab.WireBot `json:"bot"`
	}{true, b.Wire()}, nil
}

// botID returns the bot id of a bot caller for auth.test, "" for a person.
func (s *Server) botID(c *call) (string, error) {
	if !c.user.IsBot || s.apps == nil {
		return "", nil
	}
	b, err := s.apps.BotOf(c.r.Context(), c.user)
	if err != nil {
		return "", err
	}
	return b.ID, nil
}

// manifestErrorAnswer is Slack's invalid_manifest with its problems.
type manifestErrorAnswer struct {
	OK     bool                     `json:"ok"`
	Error  string                   `json:"error"`
	Errors []confab.ManifestProblem `json:"errors"`
}

// errSocketModeUnavailable answers apps.connections.open on a process
// that does not serve Socket Mode (Config.SocketMode).
var errSocketModeUnavailable = &confab.Error{Code: confab.EUNAVAILABLE, Message: "socket_mode_unavailable"}

// appsConnectionsOpen hands out the WebSocket URL of a Socket Mode
// connection, with its single-use ticket in the path (the app token never
// travels in it).
func (s *Server) appsConnectionsOpen(c *call) (any, error) {
	if !s.socketMode {
		return nil, errSocketModeUnavailable
	}
	t, err := s.apps.OpenSocket(c.r.Context(), c.user, c.token)
	if err == nil && t == nil {
		err = errMissing
	}
	if err != nil {
		return nil, err
	}
	base := s.wsBase(c.r)
	if t.GatewayURL != "" { // the gateway that delivers the app's events
		base = strings.TrimSuffix(t.GatewayURL, "/")
	}
	return struct {
		OK  bool   `json:"ok"`
		URL string `json:"url"`
	}{true, base + "/apps/socket/" + url.PathEscape(t.Value)}, nil
}
