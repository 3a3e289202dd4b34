package chat

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/big"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/confab/confab"
)

// Apps. An app is created from a manifest by its workspace's owner (confab
// has no admins yet) and installed at once in that workspace, and only
// there: it gets a bot user (IsBot) and two tokens of that user, a bot
// token (xoxb-) and an app-level token (xapp-). A bot user is a member
// like any other, except that it sees only the conversations it is in
// (authorize). Its messages carry the bot (bot_id, bot_profile): the
// poster's bot is found at read time from the poster, not stored with the
// message (withBots).

var (
	errPermissionDenied = &confab.Error{Code: confab.EFORBIDDEN, Message: "permission_denied"}
)

// Install is a newly created and installed app: what apps.manifest.create
// answers. The tokens are shown once; the store keeps their hashes.
type Install struct {
	App       *confab.App
	Bot       *confab.Bot
	BotUser   *confab.User
	BotToken  string
	AppToken  string
	Workspace *confab.Workspace
}

// maxBotNameTries bounds the names tried for a bot user ("name",
// "name-2", …) before giving up with name_taken.
const maxBotNameTries = 20

// CreateApp creates an app from a JSON manifest and installs it in u's
// workspace: only the workspace's owner may (permission_denied), and not
// with a bot's token (not_allowed_token_type). A bad manifest is a
// *confab.ManifestError (invalid_manifest with its problems).
func (s *Service) CreateApp(ctx context.Context, u *confab.User, manifest string) (*Install, error) {
	ws, err := s.appOwner(ctx, u)
	if err != nil {
		return nil, err
	}
	m, err := confab.ParseManifest(manifest)
	if err != nil {
		return nil, err
	}
	botToken, botHash, err := newToken(confab.TokenBot)
	if err != nil {
		return nil, err
	}
	appToken, appHash, err := newToken(confab.TokenApp)
	if err != nil {
		return nil, err
	}
	now := s.now().Unix()
	a := &confab.App{
		WorkspaceID: ws.ID, Manifest: m.JSON, CreatedBy: u.ID, Created: now, Updated: now,
		ClientID:          randDigits(12) + "." + randDigits(13),
		ClientSecret:      randHex(16),
		VerificationToken: randHex(12),
		SigningSecret:     randHex(16),
	}
	for n := 1; ; n++ {
		app := *a
		bot := &confab.Bot{Name: m.BotName, Updated: now}
		bu := &confab.User{Name: confab.BotUserName(m.BotName, n), RealName: m.BotName, DisplayName: m.BotName, Created: now}
		err := s.store.CreateApp(ctx, &app, bot, bu, []*confab.Token{
			{Hash: botHash, Type: confab.TokenBot, Created: now},
			{Hash: appHash, Type: confab.TokenApp, Created: now},
		})
		if confab.ErrorCode(err) == confab.ECONFLICT && confab.ErrorMessage(err) == "name_taken" && n < maxBotNameTries {
			continue
		}
		if err != nil {
			return nil, err
		}
		return &Install{App: &app, Bot: bot, BotUser: bu, BotToken: botToken, AppToken: appToken, Workspace: ws}, nil
	}
}

// UpdateApp replaces an app's manifest (the owner only); the bot takes the
// manifest's bot name. Its credentials and tokens stay.
func (s *Service) UpdateApp(ctx context.Context, u *confab.User, appID, manifest string) (*confab.App, error) {
	if _, err := s.ownApp(ctx, u, appID); err != nil {
		return nil, err
	}
	m, err := confab.ParseManifest(manifest)
	if err != nil {
		return nil, err
	}
	return s.store.UpdateApp(ctx, appID, confab.AppUpdate{Manifest: m.JSON, BotName: m.BotName, Updated: s.now().Unix()})
}

// DeleteApp deletes and uninstalls an app (the owner only): its bot user
// is deleted and its tokens revoked.
func (s *Service) DeleteApp(ctx context.Context, u *confab.User, appID string) error {
	if _, err := s.ownApp(ctx, u, appID); err != nil {
		return err
	}
	return s.store.DeleteApp(ctx, appID, s.now().Unix())
}

// ExportApp returns an app, with its manifest (the owner only).
func (s *Service) ExportApp(ctx context.Context, u *confab.User, appID string) (*confab.App, error) {
	return s.ownApp(ctx, u, appID)
}

// BotInfo returns a bot of u's workspace, deleted or not: bot_not_found
// otherwise.
func (s *Service) BotInfo(ctx context.Context, u *confab.User, botID string) (*confab.Bot, error) {
	if !confab.ValidID(botID, confab.PrefixBot) {
		return nil, confab.ErrBotNotFound
	}
	bots, err := s.store.FindBots(ctx, confab.BotFilter{IDs: []string{botID}})
	if err != nil {
		return nil, err
	}
	if len(bots) != 1 || bots[0].WorkspaceID != u.WorkspaceID {
		return nil, confab.ErrBotNotFound
	}
	return bots[0], nil
}

// BotOf returns the bot whose user u is (auth.test of a bot token):
// bot_not_found for a person.
func (s *Service) BotOf(ctx context.Context, u *confab.User) (*confab.Bot, error) {
	if !u.IsBot {
		return nil, confab.ErrBotNotFound
	}
	bots, err := s.store.FindBots(ctx, confab.BotFilter{UserIDs: []string{u.ID}})
	if err != nil {
		return nil, err
	}
	if len(bots) != 1 {
		return nil, confab.ErrBotNotFound
	}
	return bots[0], nil
}

// AuthenticateApp returns the bot user of an app-level token (xapp-),
// the only token apps.connections.open takes: not_allowed_token_type for
// a person's or a bot's valid token, invalid_auth for anything else.
func (s *Service) AuthenticateApp(ctx context.Context, token string) (*confab.User, error) {
	typ := confab.TokenTypeOf(token)
	if typ == "" || len(token) > 128 {
		return nil, confab.ErrInvalidAuth
	}
	u, err := s.tokenUser(ctx, sha256.Sum256([]byte(token)))
	if err != nil {
		return nil, err
	}
	if typ != confab.TokenApp {
		return nil, confab.ErrNotAllowedTokenType
	}
	return u, nil
}

// OpenSocket issues the ticket of a Socket Mode connection of u's app (u
// authenticated by the app's token, AuthenticateApp), under that token:
// revoking the token closes the connection.
func (s *Service) OpenSocket(ctx context.Context, u *confab.User, token string) (*confab.Ticket, error) {
	b, err := s.BotOf(ctx, u)
	if err != nil {
		return nil, err
	}
	return s.issueTicket(ctx, u, token, ticketSocket, b.AppID)
}

// RedeemSocket redeems a Socket Mode ticket (as RedeemTicket does an RTM
// one) and returns the bot of the app it opens.
func (s *Service) RedeemSocket(ctx context.Context, ticket string) (*Admission, *confab.Bot, error) {
	a, err := s.redeemTicket(ctx, ticket, ticketSocket)
	if err != nil {
		return nil, nil, err
	}
	b, err := s.BotOf(ctx, a.User)
	if err != nil {
		return nil, nil, err
	}
	return a, b, nil
}

// BotScopes returns the bot scopes that the manifest of bot user u's app
// grants (oauth_config.scopes.bot), sorted: what the Web API checks a bot
// token's every call against. They are read through the access cache, so
// in the steady state a call costs no query; apps.manifest.update drops
// them (accessStore.UpdateApp). invalid_auth if the app is gone.
func (s *Service) BotScopes(ctx context.Context, u *confab.User) ([]string, error) {
	if sc, ok := s.cache.scopes.get(u.ID, s.now().UnixNano()); ok {
		return sc, nil
	}
	gen := s.cache.scopes.generation()
	bots, err := s.store.FindBots(ctx, confab.BotFilter{UserIDs: []string{u.ID}})
	if err != nil {
		return nil, err
	}
	if len(bots) != 1 || bots[0].Deleted {
		return nil, confab.ErrInvalidAuth
	}
	a, err := s.store.FindApp(ctx, bots[0].AppID)
	if confab.ErrorCode(err) == confab.ENOTFOUND {
		return nil, confab.ErrInvalidAuth
	} else if err != nil {
		return nil, err
	}
	m, err := confab.ParseManifest(a.Manifest)
	if err != nil {
		return nil, err // a stored manifest was checked when it was stored
	}
	sc := m.BotScopes
	if sc == nil {
		sc = []string{}
	}
	if until, keep := s.cache.lifetime(grantEntry); keep {
		s.cache.scopes.put(u.ID, sc, until, gen)
	}
	return sc, nil
}

// appOwner returns u's workspace if u is its owner (permission_denied
// for anyone else).
func (s *Service) appOwner(ctx context.Context, u *confab.User) (*confab.Workspace, error) {
	return s.owner(ctx, u, errPermissionDenied)
}

// owner returns u's workspace if u is its owner: not_allowed_token_type
// for a bot, notOwner for anyone else.
func (s *Service) owner(ctx context.Context, u *confab.User, notOwner error) (*confab.Workspace, error) {
	if u.IsBot {
		return nil, confab.ErrNotAllowedTokenType
	}
	ws, err := s.workspace(ctx, u.WorkspaceID)
	if err != nil {
		return nil, err
	}
	if ws.OwnerID != u.ID {
		return nil, notOwner
	}
	return ws, nil
}

// ownApp returns an app of u's workspace, u being its owner: app_not_found
// for an app of another workspace.
func (s *Service) ownApp(ctx context.Context, u *confab.User, appID string) (*confab.App, error) {
	ws, err := s.appOwner(ctx, u)
	if err != nil {
		return nil, err
	}
	if !confab.ValidID(appID, confab.PrefixApp) {
		return nil, confab.ErrAppNotFound
	}
	a, err := s.store.FindApp(ctx, appID)
	if err != nil {
		return nil, err
	}
	if a.WorkspaceID != ws.ID {
		return nil, confab.ErrAppNotFound
	}
	return a, nil
}

// botOfUser returns the bot of a poster, nil for a person. Whether a user
// is a bot, and which, never changes (a bot user is created with its bot),
// so the answer is remembered (botUsers); the bot itself is read each time
// (its name and deleted flag change).
func (s *Service) botOfUser(ctx context.Context, userID string) (*confab.Bot, error) {
	bots, err := s.withBotsOf(ctx, []string{userID})
	return bots[userID], err
}

// maxBotUsers bounds the posters botUsers remembers.
const maxBotUsers = 1 << 17

// botUsers remembers which posters are bot users: user id → bot id, ""
// for a person. Safe for concurrent use.
type botUsers struct {
	m sync.Map
	n atomic.Int64
}

// withBotsOf returns the bots of those of users that are bot users, by
// user id. Posters already known to be people cost nothing; the others
// are looked up in one read.
func (s *Service) withBotsOf(ctx context.Context, users []string) (map[string]*confab.Bot, error) {
	var unknown, botIDs []string
	seen := map[string]bool{}
	for _, id := range users {
		if seen[id] || id == "" {
			continue
		}
		seen[id] = true
		switch v, ok := s.botUsers.m.Load(id); {
		case !ok:
			unknown = append(unknown, id)
		case v.(string) != "":
			botIDs = append(botIDs, v.(string))
		}
	}
	if len(unknown) == 0 && len(botIDs) == 0 {
		return nil, nil
	}
	bots, err := s.store.FindBots(ctx, confab.BotFilter{IDs: botIDs, UserIDs: unknown})
	if err != nil {
		return nil, err
	}
	out := make(map[string]*confab.Bot, len(bots))
	for _, b := range bots {
		out[b.UserID] = b
	}
	if s.botUsers.n.Load() < maxBotUsers {
		for _, id := range unknown {
			botID := ""
			if b := out[id]; b != nil {
				botID = b.ID
			}
			if _, loaded := s.botUsers.m.LoadOrStore(id, botID); !loaded {
				s.botUsers.n.Add(1)
			}
		}
	}
	return out, nil
}

// withBots returns msgs with the bot of each message posted by a bot
// user: copies of those messages in a new slice, msgs itself untouched
// (it may be shared with other readers).
func (s *Service) withBots(ctx context.Context, msgs []*confab.Message) ([]*confab.Message, error) {
	users := make([]string, 0, len(msgs))
	for _, m := range msgs {
		users = append(users, m.UserID)
	}
	bots, err := s.withBotsOf(ctx, users)
	if err != nil || len(bots) == 0 {
		return msgs, err
	}
	out := make([]*confab.Message, len(msgs))
	for i, m := range msgs {
		out[i] = m
		if b := bots[m.UserID]; b != nil {
			c := *m
			c.Bot = b
			out[i] = &c
		}
	}
	return out, nil
}

// changesWithBots returns changes with the bot of each message posted by
// a bot user, as withBots does: a new slice, changes untouched (shared by
// the clients that catch up together).
func (s *Service) changesWithBots(ctx context.Context, changes []confab.Change) ([]confab.Change, error) {
	var msgs []*confab.Message
	for _, c := range changes {
		if c.Message != nil {
			msgs = append(msgs, c.Message)
		}
	}
	with, err := s.withBots(ctx, msgs)
	if err != nil || slices.Equal(with, msgs) {
		return changes, err
	}
	out := slices.Clone(changes)
	i := 0
	for j := range out {
		if out[j].Message != nil {
			out[j].Message = with[i]
			i++
		}
	}
	return out, nil
}

// DeleteApp drops the bot user from the access cache once its app is
// deleted: its tokens, cached by hash, lead to a user read again, and
// found deleted (invalid_auth).
func (s *accessStore) DeleteApp(ctx context.Context, id string, now int64) error {
	bots, err := s.Store.FindBots(ctx, confab.BotFilter{AppIDs: []string{id}})
	if err != nil {
		return err
	}
	err = s.Store.DeleteApp(ctx, id, now)
	for _, b := range bots {
		s.cache.users.drop(b.UserID)
		s.cache.scopes.drop(b.UserID)
	}
	return err
}

// UpdateApp drops the scopes of the app's bot user: a new manifest may
// grant others, which count from the next call.
func (s *accessStore) UpdateApp(ctx context.Context, id string, upd confab.AppUpdate) (*confab.App, error) {
	bots, err := s.Store.FindBots(ctx, confab.BotFilter{AppIDs: []string{id}})
	if err != nil {
		return nil, err
	}
	a, err := s.Store.UpdateApp(ctx, id, upd)
	for _, b := range bots {
		s.cache.scopes.drop(b.UserID)
	}
	return a, err
}

// newToken returns a new token of type typ and its SHA-256.
func newToken(typ string) (token string, hash []byte, err error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", nil, err
	}
	token = confab.TokenPrefix(typ) + hex.EncodeToString(raw[:])
	sum := sha256.Sum256([]byte(token))
	return token, sum[:], nil
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) //nolint:errcheck // crypto/rand never fails on supported platforms
	return hex.EncodeToString(b)
}

func randDigits(n int) string {
	v, err := rand.Int(rand.Reader, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil))
	if err != nil {
		panic(err)
	}
	return fmt.Sprintf("%0*d", n, v)
}
