package chat

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"sync"

	"github.com/confab/confab"
	"golang.org/x/crypto/bcrypt"
)

// tokenPrefix marks confab user tokens the way Slack's "xoxp-" does.
const tokenPrefix = "xoxp-"

// bcrypt reads at most 72 bytes of a password; longer ones are refused
// rather than silently truncated.
const maxPasswordBytes = 72

var (
	errInvalidPassword = &confab.Error{Code: confab.EINVALID, Message: "invalid_password"}
	errSignupClosed    = &confab.Error{Code: confab.EFORBIDDEN, Message: "signup_disabled"}
	errBadLogin        = &confab.Error{Code: confab.EUNAUTHORIZED, Message: "invalid_auth"}
)

// Signup creates a workspace with its owner when the domain is new, or adds
// a user to an existing workspace when open sign-up is allowed.
func (s *Service) Signup(ctx context.Context, p SignupParams) (*Session, error) {
	return s.createUser(ctx, p, !s.closedSignup)
}

// CreateUser is the operator's way in (confab admin user create): like
// Signup, but it may join an existing workspace whatever the sign-up policy.
func (s *Service) CreateUser(ctx context.Context, p SignupParams) (*Session, error) {
	return s.createUser(ctx, p, true)
}

func (s *Service) createUser(ctx context.Context, p SignupParams, mayJoin bool) (*Session, error) {
	if !confab.ValidName(p.Team) || !confab.ValidName(p.Name) {
		return nil, &confab.Error{Code: confab.EINVALID, Message: "invalid_name"}
	}
	if len(p.Password) < confab.MinPasswordLen || len(p.Password) > maxPasswordBytes {
		return nil, errInvalidPassword
	}
	if err := confab.ValidateTopic(p.RealName); err != nil {
		return nil, confab.ErrInvalidArgs
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(p.Password), s.passwordCost)
	if err != nil {
		return nil, err
	}
	now := s.now().Unix()
	u := &confab.User{
		ID: confab.NewID(confab.PrefixUser), Name: p.Name, RealName: p.RealName,
		DisplayName: p.RealName, PasswordHash: string(hash), Created: now,
	}
	ws, err := s.store.FindWorkspaceByDomain(ctx, p.Team)
	switch {
	case confab.ErrorCode(err) == confab.ENOTFOUND:
		ws = &confab.Workspace{ID: confab.NewID(confab.PrefixWorkspace), Name: p.Team, Domain: p.Team, Created: now}
		u.WorkspaceID = ws.ID
		err = s.store.CreateWorkspace(ctx, ws, u)
		if confab.ErrorCode(err) == confab.ECONFLICT {
			// Someone created the domain a moment ago: join it instead.
			return s.createUser(ctx, p, mayJoin)
		}
	case err != nil:
		return nil, err
	case !mayJoin:
		return nil, errSignupClosed
	default:
		u.WorkspaceID = ws.ID
		err = s.store.CreateUser(ctx, u)
	}
	if err != nil {
		return nil, err
	}
	return s.newSession(ctx, u, ws)
}

// Login checks a password and hands out a new token.
func (s *Service) Login(ctx context.Context, team, name, password string) (*Session, error) {
	if !confab.ValidName(team) || !confab.ValidName(name) || len(password) > maxPasswordBytes {
		return nil, errBadLogin
	}
	ws, err := s.store.FindWorkspaceByDomain(ctx, team)
	if confab.ErrorCode(err) == confab.ENOTFOUND {
		return nil, errBadLogin
	} else if err != nil {
		return nil, err
	}
	u, err := s.store.FindUserByName(ctx, ws.ID, name)
	if confab.ErrorCode(err) == confab.ENOTFOUND {
		return nil, errBadLogin
	} else if err != nil {
		return nil, err
	}
	if u.Deleted || u.PasswordHash == "" {
		return nil, errBadLogin
	}
	if err := bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)); err != nil {
		if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
			return nil, errBadLogin
		}
		return nil, err
	}
	return s.newSession(ctx, u, ws)
}

func (s *Service) newSession(ctx context.Context, u *confab.User, ws *confab.Workspace) (*Session, error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, err
	}
	token := tokenPrefix + hex.EncodeToString(raw[:])
	sum := sha256.Sum256([]byte(token))
	if err := s.store.CreateToken(ctx, &confab.Token{Hash: sum[:], UserID: u.ID, Created: s.now().Unix()}); err != nil {
		return nil, err
	}
	return &Session{Token: token, User: u, Workspace: ws}, nil
}

// Authenticate returns the user a token belongs to: invalid_auth for an
// unknown or revoked token or a deleted user.
func (s *Service) Authenticate(ctx context.Context, token string) (*confab.User, error) {
	if !strings.HasPrefix(token, tokenPrefix) || len(token) > 128 {
		return nil, confab.ErrInvalidAuth
	}
	return s.tokenUser(ctx, sha256.Sum256([]byte(token)))
}

// Revoke deletes a token.
func (s *Service) Revoke(ctx context.Context, token string) error {
	sum := sha256.Sum256([]byte(token))
	return s.store.DeleteToken(ctx, sum[:])
}

// Workspace returns the caller's workspace.
func (s *Service) Workspace(ctx context.Context, u *confab.User) (*confab.Workspace, error) {
	return s.workspace(ctx, u.WorkspaceID)
}

// Tickets. rtm.connect hands out a ticket that one gateway redeems: it is
// "<user>.<gateway>.<expiry>.<nonce>.<mac>" (the gateway id base64url, as
// it may hold any character) with an HMAC-SHA256 over the
// rest, so any process holding the secret can check it without a shared
// database. Only the gateway it names accepts it, and that gateway
// remembers used nonces until they expire, so a ticket works once.

type ticketLedger struct {
	mu        sync.Mutex
	used      map[string]int64 // guarded by mu: nonce → expiry (unix seconds)
	lastSweep int64            // guarded by mu: unix second of the last sweep
}

// IssueTicket chooses the gateway for u's next WebSocket connection and
// returns a single-use ticket for it, with the slot at which to dial it
// (Ticket.Wait, pace.go), from which its lifetime counts.
func (s *Service) IssueTicket(ctx context.Context, u *confab.User) (*confab.Ticket, error) {
	var gw confab.Gateway
	if s.gateways != nil {
		var err error
		if gw, err = s.gateways.Pick(ctx, u); err != nil {
			return nil, err
		}
	}
	var nonce [16]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, err
	}
	now := s.now()
	wait := s.pace.slot(now)
	exp := now.Add(wait + s.ticketTTL).Unix()
	body := strings.Join([]string{
		u.ID, base64.RawURLEncoding.EncodeToString([]byte(gw.ID)),
		strconv.FormatInt(exp, 10), base64.RawURLEncoding.EncodeToString(nonce[:]),
	}, ".")
	return &confab.Ticket{Value: body + "." + s.ticketMAC(body), Expires: exp, Wait: wait, GatewayURL: gw.URL}, nil
}

func (s *Service) ticketMAC(body string) string {
	h := hmac.New(sha256.New, s.ticketSecret)
	h.Write([]byte(body))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// RedeemTicket checks a ticket and marks it used: invalid_auth if it is
// malformed, forged, expired or used.
func (s *Service) RedeemTicket(ctx context.Context, ticket string) (*confab.User, error) {
	if len(ticket) > 256 {
		return nil, confab.ErrInvalidAuth
	}
	i := strings.LastIndexByte(ticket, '.')
	if i < 0 || !hmac.Equal([]byte(s.ticketMAC(ticket[:i])), []byte(ticket[i+1:])) {
		return nil, confab.ErrInvalidAuth
	}
	parts := strings.Split(ticket[:i], ".")
	if len(parts) != 4 || parts[1] != base64.RawURLEncoding.EncodeToString([]byte(s.gatewayID)) {
		return nil, confab.ErrInvalidAuth
	}
	exp, err := strconv.ParseInt(parts[2], 10, 64)
	now := s.now().Unix()
	if err != nil || exp < now {
		return nil, confab.ErrInvalidAuth
	}
	if !s.tickets.use(parts[3], exp, now) {
		return nil, confab.ErrInvalidAuth
	}
	return s.activeUser(ctx, parts[0])
}

// use records a nonce, reporting false if it was used before. Expired
// entries are swept at most once a second, so the ledger holds about one
// TTL's worth of tickets and a reconnect storm costs no quadratic work.
func (l *ticketLedger) use(nonce string, exp, now int64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, seen := l.used[nonce]; seen {
		return false
	}
	if now > l.lastSweep {
		l.lastSweep = now
		for n, e := range l.used {
			if e < now {
				delete(l.used, n)
			}
		}
	}
	l.used[nonce] = exp
	return true
}
