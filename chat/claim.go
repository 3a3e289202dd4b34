package chat

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"github.com/confab/confab"
	"golang.org/x/crypto/bcrypt"
)

// Claims. An imported user has no password (import.go), so nobody can
// sign in as them until the account is claimed: with a one-time link the
// owner hands out (ImportClaims, IssueClaim), redeemed by auth.claim
// (Claim), or, where the owner allowed it, by signing up with the
// account's name and email (Signup).
//
// A link's token is "<user id>.<64 hex digits>", 32 random bytes; the
// store keeps only its SHA-256 (Store.CreateClaim), as it keeps session
// tokens. A user has one link at a time: a new one voids the one before.
// It works once and for ClaimTTL. The user id in it is what the throttle
// counts by: a guess at a user's link must name them, so guessing is
// throttled per account as Login is (login.go), besides the API's limit
// per client address. The same link resets the password of a user who
// has one (IssueClaim of a claimed user).
//
// Claiming by sign-up. confab cannot check that an email is a person's,
// so anyone who knows a colleague's name and email could take their
// account, and with it their private history. It is therefore off unless
// the owner allows it for the user's link (the import's --claim-by-signup,
// confab admin user claim --signup), and then only while the server's
// sign-up is open, the account has never been claimed and its link has
// not expired; it uses the link up. Any other sign-up with the name of an
// unclaimed account is refused with claim_link_required, whatever the
// email: the answer does not tell whether the email was right.

// ClaimTTL is how long a claim link works.
const ClaimTTL = 14 * 24 * time.Hour

var errClaimLinkRequired = &confab.Error{Code: confab.ECONFLICT, Message: "claim_link_required"}

// ClaimLink is a link's token, shown once, with its user.
type ClaimLink struct {
	User    *confab.User
	Token   string // "<user id>.<hex>": what the link's fragment holds
	Expires int64  // unix seconds
	Reset   bool   // the user has a password: the link resets it
	Signup  bool   // the user may claim by sign-up too
}

// ClaimParams are auth.claim's arguments.
type ClaimParams struct {
	Token       string
	Password    string
	DisplayName string // optional: the claimed profile's new display name
}

// unclaimed tells whether u is an account a person may claim: a human
// user, not deleted, without a password.
func unclaimed(u *confab.User) bool {
	return !u.IsBot && !u.Deleted && u.PasswordHash == ""
}

// issueClaim makes a new link for u, voiding the one before.
func (s *Service) issueClaim(ctx context.Context, u *confab.User, signup bool) (*ClaimLink, error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, err
	}
	token := u.ID + "." + hex.EncodeToString(raw[:])
	sum := sha256.Sum256([]byte(token))
	now := s.now()
	reset := u.PasswordHash != ""
	c := &confab.Claim{Hash: sum[:], UserID: u.ID, Created: now.Unix(), Expires: now.Add(ClaimTTL).Unix(),
		Signup: signup && !reset}
	if err := s.store.CreateClaim(ctx, c); err != nil {
		return nil, err
	}
	return &ClaimLink{User: u, Token: token, Expires: c.Expires, Reset: reset, Signup: c.Signup}, nil
}

// ImportClaims issues a new link for each of the users of ids (at most
// MaxImportUsers) that is an unclaimed account of the owner's workspace:
// admin.import.claims. Others (claimed, bots, deleted, unknown) are left
// out. signup lets each also claim by sign-up. Issuing again voids the
// links issued before.
func (s *Service) ImportClaims(ctx context.Context, u *confab.User, ids []string, signup bool) ([]*ClaimLink, error) {
	ws, err := s.importer(ctx, u)
	if err != nil {
		return nil, err
	}
	if len(ids) > MaxImportUsers {
		return nil, errImportTooMany
	}
	var out []*ClaimLink
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] || !confab.ValidID(id, confab.PrefixUser) {
			continue
		}
		seen[id] = true
		got, err := s.store.FindUserByID(ctx, id)
		switch {
		case confab.ErrorCode(err) == confab.ENOTFOUND:
			continue
		case err != nil:
			return nil, err
		case got.WorkspaceID != ws.ID || !unclaimed(got):
			continue
		}
		l, err := s.issueClaim(ctx, got, signup)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

// IssueClaim is the operator's (confab admin user claim): a new link for
// the user name of the workspace team, voiding the one before. For an
// account never claimed it claims it (signup lets a sign-up claim it
// too); for one claimed it resets the password (Reset, never by sign-up).
// user_not_found for a bot or a deleted user.
func (s *Service) IssueClaim(ctx context.Context, team, name string, signup bool) (*ClaimLink, error) {
	ws, err := s.store.FindWorkspaceByDomain(ctx, team)
	if err != nil {
		return nil, err
	}
	u, err := s.store.FindUserByName(ctx, ws.ID, name)
	if err != nil {
		return nil, err
	}
	if u.IsBot || u.Deleted {
		return nil, confab.ErrUserNotFound
	}
	return s.issueClaim(ctx, u, signup)
}

// maxClaimTokenLen bounds the tokens Claim reads.
const maxClaimTokenLen = 128

// Claim redeems a link (auth.claim): it sets the password (as sign-up's
// rules have it: invalid_password), optionally the display name (as
// users.profile.set has it: invalid_profile), and opens a session, as a
// login does; a reset (the link of an account already claimed) also ends
// every other session of the account. invalid_claim for a token that is
// malformed, unknown, used,
// replaced or expired, or whose user was deleted since; while the link's
// user waits out a backoff of failed claims, ratelimited, the right token
// included (as Login does).
func (s *Service) Claim(ctx context.Context, p ClaimParams) (*Session, error) {
	if len(p.Password) < confab.MinPasswordLen || len(p.Password) > maxPasswordBytes {
		return nil, errInvalidPassword
	}
	profile := ProfileParams{Name: "display_name", Value: p.DisplayName}
	if p.DisplayName != "" {
		// Checked before the link is used, as users.profile.set checks it.
		fields, err := profileFields(profile)
		if err == nil {
			_, err = profileUpdate(&confab.User{}, fields)
		}
		if err != nil {
			return nil, err
		}
	}
	userID, secret, ok := strings.Cut(p.Token, ".")
	if !ok || len(p.Token) > maxClaimTokenLen || !confab.ValidID(userID, confab.PrefixUser) || len(secret) != 64 {
		return nil, confab.ErrInvalidClaim
	}
	key := "claim\x00" + userID
	if err := s.claims.begin(key, s.now()); err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(p.Token))
	c, err := s.store.FindClaim(ctx, sum[:], s.now().Unix())
	if err == nil && c.UserID != userID {
		err = confab.ErrInvalidClaim
	}
	if confab.ErrorMessage(err) == "invalid_claim" {
		return nil, err
	} else if err != nil {
		s.claims.refund(key)
		return nil, err
	}
	before, err := s.store.FindUserByID(ctx, userID)
	if err != nil && confab.ErrorCode(err) != confab.ENOTFOUND {
		s.claims.refund(key)
		return nil, err
	}
	reset := err == nil && before.PasswordHash != ""
	hash, err := bcrypt.GenerateFromPassword([]byte(p.Password), s.passwordCost)
	if err != nil {
		s.claims.refund(key)
		return nil, err
	}
	sess, err := s.claimUser(ctx, confab.UserClaim{UserID: userID, ClaimHash: sum[:], PasswordHash: string(hash)})
	switch confab.ErrorMessage(err) {
	case "":
	case "invalid_claim", "user_not_found": // used meanwhile; deleted since
		return nil, confab.ErrInvalidClaim
	default:
		s.claims.refund(key)
		return nil, err
	}
	s.claims.succeeded(key)
	if reset {
		// The password is new whatever becomes of this: a fault is said,
		// and the new password opens the account.
		if err := s.signOutElsewhere(ctx, sess); err != nil {
			return nil, err
		}
	}
	if p.DisplayName != "" {
		// The account is claimed whatever becomes of its display name: a
		// fault here leaves the imported one, which the person can change.
		if u, err := s.SetProfile(ctx, sess.User, profile); err == nil {
			sess.User = u
		}
	}
	return sess, nil
}

// claimUser sets a user's password with c (its Now and Token filled in
// here) and opens the session of the token.
func (s *Service) claimUser(ctx context.Context, c confab.UserClaim) (*Session, error) {
	token, t, err := s.newToken()
	if err != nil {
		return nil, err
	}
	t.UserID = c.UserID
	c.Token, c.Now = t, s.now().Unix()
	u, err := s.store.ClaimUser(ctx, c)
	if err != nil {
		return nil, err
	}
	ws, err := s.workspace(ctx, u.WorkspaceID)
	if err != nil {
		return nil, err
	}
	return &Session{Token: token, User: u, Workspace: ws}, nil
}

// signupClaim is a sign-up refused with taken (its name or email taken
// in ws): it claims the account of that name if it is unclaimed and its
// link allows sign-up, with the same email (hash is the new password's).
// taken if there is no account of the name or it is a claimed account, a
// bot or a deleted user; claim_link_required for an unclaimed account
// otherwise.
func (s *Service) signupClaim(ctx context.Context, ws *confab.Workspace, p SignupParams, hash []byte, taken error) (*Session, error) {
	u, err := s.store.FindUserByName(ctx, ws.ID, p.Name)
	if confab.ErrorCode(err) == confab.ENOTFOUND {
		return nil, taken
	} else if err != nil {
		return nil, err
	}
	if !unclaimed(u) {
		return nil, confab.ErrNameTaken
	}
	if u.Email == "" || confab.NormalizeEmail(p.Email) != u.Email {
		return nil, errClaimLinkRequired
	}
	sess, err := s.claimUser(ctx, confab.UserClaim{UserID: u.ID, PasswordHash: string(hash)})
	switch confab.ErrorMessage(err) {
	case "invalid_claim":
		return nil, errClaimLinkRequired
	case "already_claimed", "user_not_found":
		return nil, confab.ErrNameTaken
	}
	return sess, err
}
