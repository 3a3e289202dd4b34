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
	"time"

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
// a user to an existing workspace when open sign-up is allowed. An email,
// when given, must be a plain address (invalid_email) that no other user
// of the workspace has, in any case (email_taken). The name of an imported
// account never claimed is claim_link_required, unless its link allows
// a sign-up with its email to claim it (claim.go).
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
	if p.Email != "" && !confab.ValidEmail(p.Email) {
		return nil, errInvalidEmail
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(p.Password), s.passwordCost)
	if err != nil {
		return nil, err
	}
	now := s.now().Unix()
	u := &confab.User{
		ID: confab.NewID(confab.PrefixUser), Name: p.Name, RealName: p.RealName,
		DisplayName: p.RealName, PasswordHash: string(hash), Created: now, Email: p.Email,
	}
	if confab.ValidTZ(p.TZ) {
		u.TZ = p.TZ
	}
	ws, err := s.store.FindWorkspaceByDomain(ctx, p.Team)
	switch {
	case confab.ErrorCode(err) == confab.ENOTFOUND:
		ws = &confab.Workspace{ID: confab.NewID(confab.PrefixWorkspace), Name: p.Team, Domain: p.Team, Created: now}
		u.WorkspaceID = ws.ID
		err = s.store.CreateWorkspace(ctx, ws, u)
		if confab.ErrorCode(err) == confab.ECONFLICT && confab.ErrorMessage(err) == "name_taken" {
			// Someone created the domain a moment ago: join it instead.
			return s.createUser(ctx, p, mayJoin)
		}
	case err != nil:
		return nil, err
	case !mayJoin:
		return nil, errSignupClosed
	default:
		u.WorkspaceID = ws.ID
		if err = s.store.CreateUser(ctx, u); err == nil {
			s.joinedGeneral(ctx, u)
		} else if m := confab.ErrorMessage(err); m == "name_taken" || m == "email_taken" {
			// Perhaps an imported account, which a sign-up may claim
			// (claim.go). (A store may find the email taken first.)
			return s.signupClaim(ctx, ws, p, hash, err)
		}
	}
	if err != nil {
		return nil, err
	}
	return s.newSession(ctx, u, ws)
}

// Login checks a password and hands out a new token. Failures are
// throttled per account, whether or not it exists (login.go): while an
// account waits out its backoff, an attempt is refused as ratelimited
// before anything is looked up or compared, the right password included;
// the user's sessions are never touched. Every other attempt costs one
// bcrypt comparison, with a dummy hash when there is no account to log in
// to, so the time of invalid_auth does not tell whether the name exists.
func (s *Service) Login(ctx context.Context, team, name, password string) (*Session, error) {
	if !confab.ValidName(team) || !confab.ValidName(name) || len(password) > maxPasswordBytes {
		return nil, errBadLogin
	}
	key := loginKey(team, name)
	if err := s.logins.begin(key, s.now()); err != nil {
		return nil, err
	}
	u, ws, err := s.findLogin(ctx, team, name)
	var hash []byte
	if err == nil {
		hash, err = s.loginHash(u)
	}
	if err == nil {
		err = s.comparePassword(hash, []byte(password))
	}
	switch {
	case err == nil && u != nil && u.PasswordHash != "": // an unclaimed import has none
		s.logins.succeeded(key)
		return s.newSession(ctx, u, ws)
	case err == nil || errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return nil, errBadLogin
	}
	s.logins.refund(key) // a fault, not a verdict on the password
	return nil, err
}

func (s *Service) newSession(ctx context.Context, u *confab.User, ws *confab.Workspace) (*Session, error) {
	token, t, err := s.newToken()
	if err != nil {
		return nil, err
	}
	t.UserID = u.ID
	if err := s.store.CreateToken(ctx, t); err != nil {
		return nil, err
	}
	return &Session{Token: token, User: u, Workspace: ws}, nil
}

// newToken makes a new user token: its value, and what the store keeps
// of it (without its user).
func (s *Service) newToken() (string, *confab.Token, error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", nil, err
	}
	token := tokenPrefix + hex.EncodeToString(raw[:])
	sum := sha256.Sum256([]byte(token))
	return token, &confab.Token{Hash: sum[:], Created: s.now().Unix()}, nil
}

// Authenticate returns the user a token belongs to: a person for a user
// token (xoxp-), the bot user for a bot token (xoxb-). invalid_auth for an
// unknown or revoked token or a deleted user; not_allowed_token_type for
// a valid app-level token (xapp-), which no Web API method confab has
// takes yet (apps.connections.open will).
func (s *Service) Authenticate(ctx context.Context, token string) (*confab.User, error) {
	typ := confab.TokenTypeOf(token)
	if typ == "" || len(token) > 128 {
		return nil, confab.ErrInvalidAuth
	}
	u, err := s.tokenUser(ctx, sha256.Sum256([]byte(token)))
	if err == nil && typ == confab.TokenApp {
		return nil, confab.ErrNotAllowedTokenType
	}
	return u, err
}

// Fingerprint returns the fingerprint of a token as sent (valid or not):
// what the per-token rate limit counts by.
func Fingerprint(token string) confab.Fingerprint {
	sum := sha256.Sum256([]byte(token))
	return confab.FingerprintOf(sum[:])
}

// Revoke deletes u's token and ends its sessions. Once the delete has
// committed no ticket issued under the token is redeemed (RedeemTicket);
// then an OpRevoke on u's topic tells every gateway to close the
// connections opened under it (a few milliseconds later, through the
// outbox; a connection that registers meanwhile checks the token itself,
// CheckAdmission).
func (s *Service) Revoke(ctx context.Context, u *confab.User, token string) error {
	sum := sha256.Sum256([]byte(token))
	if err := s.store.DeleteToken(ctx, sum[:]); err != nil {
		return err
	}
	s.revoked(u, sum[:])
	return nil
}

// revoked closes the connections opened under u's token of hash, deleted.
func (s *Service) revoked(u *confab.User, hash []byte) {
	s.publish(confab.UserTopic(u.WorkspaceID, u.ID), confab.Publication{
		Op: confab.OpRevoke, Session: confab.FingerprintOf(hash),
	})
}

// signOutElsewhere ends every session of the user of sess but sess's,
// as Revoke ends one: after a password reset, what the old password
// opened stays closed.
func (s *Service) signOutElsewhere(ctx context.Context, sess *Session) error {
	keep := sha256.Sum256([]byte(sess.Token))
	hashes, err := s.store.DeleteUserTokens(ctx, sess.User.ID, keep[:])
	for _, h := range hashes {
		s.revoked(sess.User, h)
	}
	return err
}

// Workspace returns the caller's workspace.
func (s *Service) Workspace(ctx context.Context, u *confab.User) (*confab.Workspace, error) {
	return s.workspace(ctx, u.WorkspaceID)
}

// Tickets. rtm.connect hands out a ticket that one gateway redeems: it is
// "<user>.<gateway>.<expiry>.<nonce>.<session>.<mac>" (the gateway id
// base64url, as it may hold any character) with an HMAC-SHA256 over the
// rest, so any process holding the secret can check it without a shared
// database. Only the gateway it names accepts it, and that gateway
// remembers used nonces until they expire, so a ticket works once.
//
// A ticket belongs to the session (the token) of the rtm.connect that
// issued it: <session> is the token's SHA-256, sealed — XORed with an
// HMAC of the ticket's nonce under the secret, a pad used once — so that
// the URL, which ends up in logs, shows neither the token nor its key in
// the store, and two tickets of one session look unrelated. The gateway
// unseals it to check that the token still exists (a revoked token's
// tickets are void) and to know the connection's session by its
// fingerprint.

// Admission is what a redeemed ticket lets in: a connection of User,
// opened under the token whose fingerprint is Session.
type Admission struct {
	User    *confab.User
	Session confab.Fingerprint
	hash    [sha256.Size]byte // the token's SHA-256, for CheckAdmission
}

type ticketLedger struct {
	mu        sync.Mutex
	used      map[string]int64 // guarded by mu: nonce → expiry (unix seconds)
	lastSweep int64            // guarded by mu: unix second of the last sweep
}

// IssueTicket chooses the gateway for u's next WebSocket connection and
// returns a single-use ticket for it, with the slot at which to dial it
// (Ticket.Wait, pace.go), from which its lifetime counts.
// The ticket is issued under token, the caller's.
func (s *Service) IssueTicket(ctx context.Context, u *confab.User, token string) (*confab.Ticket, error) {
	return s.issueTicket(ctx, u, token, ticketRTM, "")
}

// Ticket kinds: what a ticket opens. The kind is part of what its MAC
// covers, so that a ticket for one kind of connection opens no other: an
// RTM ticket (issued to any user or bot token) is no Socket Mode ticket
// (issued to an app token only).
const (
	ticketRTM    = ""
	ticketSocket = "socket."
	ticketStream = "stream."
)

// streamKeyTTL is how long a stream key may take its stream up again.
const streamKeyTTL = 24 * time.Hour

// issueTicket issues a ticket of a kind. An RTM ticket is for a lightly
// loaded gateway of u's pocket; a Socket Mode one for the gateway that
// owns owner (the app: its events are delivered there).
func (s *Service) issueTicket(ctx context.Context, u *confab.User, token, kind, owner string) (*confab.Ticket, error) {
	var gw confab.Gateway
	if s.gateways != nil {
		var err error
		if kind == ticketSocket {
			gw, err = s.gateways.PickOwner(ctx, u, owner)
		} else {
			gw, err = s.gateways.Pick(ctx, u)
		}
		if err != nil {
			return nil, err
		}
	}
	now := s.now()
	wait := s.pace.slot(now)
	exp := now.Add(wait + s.ticketTTL).Unix()
	v, err := s.sealTicket(kind, u.ID, gw.ID, exp, sha256.Sum256([]byte(token)))
	if err != nil {
		return nil, err
	}
	return &confab.Ticket{Value: v, Expires: exp, Wait: wait, GatewayURL: gw.URL}, nil
}

// sealTicket makes a ticket of kind for userID on the gateway gatewayID,
// valid until exp (unix seconds), under the token of hash: its fields
// joined by dots, the token's hash sealed, and a MAC of the kind and the
// fields.
func (s *Service) sealTicket(kind, userID, gatewayID string, exp int64, hash [sha256.Size]byte) (string, error) {
	var nonce [16]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return "", err
	}
	nonce64 := base64.RawURLEncoding.EncodeToString(nonce[:])
	body := strings.Join([]string{
		userID, base64.RawURLEncoding.EncodeToString([]byte(gatewayID)),
		strconv.FormatInt(exp, 10), nonce64, s.sealSession(nonce64, hash),
	}, ".")
	return body + "." + s.ticketMAC(kind+body), nil
}

// StreamKey returns a key that takes a stream a admitted up again on this
// gateway, without a new ticket: an SSE stream's browser reconnects to its
// spent ticket's URL and names the key in Last-Event-ID; a long poll
// names it in each request. Unlike a ticket it may be used any number of
// times, for streamKeyTTL; like a ticket it dies with its token.
func (s *Service) StreamKey(a *Admission) (string, error) {
	return s.sealTicket(ticketStream, a.User.ID, s.gatewayID, s.now().Add(streamKeyTTL).Unix(), a.hash)
}

// RedeemStreamKey checks a key from StreamKey: the admission it carries,
// or invalid_auth if it is malformed, forged, expired or of another
// gateway, or if its token is gone (revoked) or its user deleted.
func (s *Service) RedeemStreamKey(ctx context.Context, key string) (*Admission, error) {
	return s.redeemTicket(ctx, key, ticketStream)
}

func (s *Service) ticketMAC(body string) string {
	h := hmac.New(sha256.New, s.ticketSecret)
	h.Write([]byte(body))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// sessionPad is the pad that seals a ticket's session: an HMAC of its
// nonce, apart from the MAC's input by its prefix.
func (s *Service) sessionPad(nonce string) []byte {
	h := hmac.New(sha256.New, s.ticketSecret)
	h.Write([]byte("session\x00"))
	h.Write([]byte(nonce))
	return h.Sum(nil)
}

// sealSession seals a token's hash for the ticket of nonce.
func (s *Service) sealSession(nonce string, hash [sha256.Size]byte) string {
	pad := s.sessionPad(nonce)
	for i := range hash {
		hash[i] ^= pad[i]
	}
	return base64.RawURLEncoding.EncodeToString(hash[:])
}

// unsealSession undoes sealSession.
func (s *Service) unsealSession(nonce, sealed string) (hash [sha256.Size]byte, ok bool) {
	b, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil || len(b) != sha256.Size {
		return hash, false
	}
	pad := s.sessionPad(nonce)
	for i := range hash {
		hash[i] = b[i] ^ pad[i]
	}
	return hash, true
}

// maxTicketLen bounds the tickets RedeemTicket reads: a ticket is about
// 110 bytes and its gateway id's base64.
const maxTicketLen = 512

// RedeemTicket checks a ticket and marks it used: invalid_auth if it is
// malformed, forged, expired or used, or if the token it was issued under
// is gone (revoked) or its user deleted. The token is read through the
// access cache: exactly on a store of this process's own, and on a shared
// one as of up to the cache's TTL ago — which CheckAdmission then closes.
func (s *Service) RedeemTicket(ctx context.Context, ticket string) (*Admission, error) {
	return s.redeemTicket(ctx, ticket, ticketRTM)
}

func (s *Service) redeemTicket(ctx context.Context, ticket, kind string) (*Admission, error) {
	if len(ticket) > maxTicketLen {
		return nil, confab.ErrInvalidAuth
	}
	i := strings.LastIndexByte(ticket, '.')
	if i < 0 || !hmac.Equal([]byte(s.ticketMAC(kind+ticket[:i])), []byte(ticket[i+1:])) {
		return nil, confab.ErrInvalidAuth
	}
	parts := strings.Split(ticket[:i], ".")
	if len(parts) != 5 || parts[1] != base64.RawURLEncoding.EncodeToString([]byte(s.gatewayID)) {
		return nil, confab.ErrInvalidAuth
	}
	exp, err := strconv.ParseInt(parts[2], 10, 64)
	now := s.now().Unix()
	if err != nil || exp < now {
		return nil, confab.ErrInvalidAuth
	}
	hash, ok := s.unsealSession(parts[3], parts[4])
	if !ok {
		return nil, confab.ErrInvalidAuth
	}
	// The token before the nonce: a store fault leaves the ticket unused.
	u, err := s.tokenUser(ctx, hash)
	if err != nil {
		return nil, err
	}
	// A stream key is used again and again; a ticket once.
	if u.ID != parts[0] || kind != ticketStream && !s.tickets.use(parts[3], exp, now) {
		return nil, confab.ErrInvalidAuth
	}
	return &Admission{User: u, Session: confab.FingerprintOf(hash[:]), hash: hash}, nil
}

// CheckAdmission tells whether the token a was admitted under still
// exists, as of the call: invalid_auth when it is gone. The gateway calls
// it once the connection listens to its user's topic: a revocation that
// committed before is seen here, one after reaches the connection as an
// OpRevoke, so none slips between RedeemTicket and the subscription. How it
// reads is the access policy's: the exact cache on a store of this
// process's own, the store itself on a shared one.
func (s *Service) CheckAdmission(ctx context.Context, a *Admission) error {
	return s.cache.policy.confirmToken(ctx, s, a.hash)
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
