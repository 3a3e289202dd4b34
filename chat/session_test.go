package chat

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/confab/confab"
)

// pubBus hands every publication, decoded, to a channel.
type pubBus struct{ got chan confab.Publication }

func (b pubBus) Publish(_ context.Context, _ string, payload []byte) error {
	p, err := confab.UnmarshalPublication(payload)
	if err != nil {
		return err
	}
	p.Frame = append([]byte(nil), p.Frame...)
	b.got <- p
	return nil
}

// sessionServices returns two services on one store sharing a ticket
// secret: a and b are two processes of a cluster (SharedAccess), or a is
// the only one and b is a (ExactAccess).
func sessionServices(t *testing.T, exact bool) (a, b *Service, bus pubBus, c *clock) {
	t.Helper()
	st := openSQLite(t)
	c = newClock()
	bus = pubBus{got: make(chan confab.Publication, 16)}
	access := func() AccessPolicy {
		if exact {
			return ExactAccess()
		}
		return SharedAccess(5 * time.Second)
	}
	secret := []byte("a secret of the whole test cluster")
	a = New(Config{Store: st, Bus: bus, PasswordCost: 4, Access: access(), Now: c.now, TicketSecret: secret})
	t.Cleanup(func() { a.Close() })
	b = a
	if !exact {
		b = New(Config{Store: st, Bus: nopBus{}, PasswordCost: 4, Access: access(), Now: c.now, TicketSecret: secret})
		t.Cleanup(func() { b.Close() })
	}
	return a, b, bus, c
}

// A ticket carries its session sealed, a revocation voids the tickets
// issued under the token and is published for the gateways, and
// CheckAdmission sees it at once — on a shared store too, where
// RedeemTicket may trust a cached grant for the TTL.
func TestRevokeEndsTheSession(t *testing.T) {
	for _, exact := range []bool{true, false} {
		name := map[bool]string{true: "exact", false: "shared"}[exact]
		t.Run(name, func(t *testing.T) {
			a, b, bus, c := sessionServices(t, exact)
			alice := signupOn(t, a, "alice")
			other, err := a.Login(t.Context(), "acme", "alice", "password1")
			if err != nil {
				t.Fatal(err)
			}
			issue := func(token string) string {
				t.Helper()
				tk, err := a.IssueTicket(t.Context(), alice.u, token)
				if err != nil {
					t.Fatal(err)
				}
				return tk.Value
			}
			sum := sha256.Sum256([]byte(alice.token))
			tk := issue(alice.token)
			for _, leak := range []string{alice.token, hex.EncodeToString(sum[:]), base64.RawURLEncoding.EncodeToString(sum[:])} {
				if strings.Contains(tk, leak) {
					t.Fatalf("ticket %q shows %q", tk, leak)
				}
			}
			adm, err := b.RedeemTicket(t.Context(), tk)
			if err != nil || adm.User.ID != alice.u.ID || adm.Session != Fingerprint(alice.token) {
				t.Fatalf("RedeemTicket = %+v, %v; want alice under her token", adm, err)
			}
			if err := b.CheckAdmission(t.Context(), adm); err != nil {
				t.Fatalf("CheckAdmission of a live token: %v", err)
			}
			unused, kept := issue(alice.token), issue(other.Token)
			key, err := b.StreamKey(adm)
			if err != nil {
				t.Fatal(err)
			}

			if err := a.Revoke(t.Context(), alice.u, alice.token); err != nil {
				t.Fatal(err)
			}
			select {
			case p := <-bus.got:
				if p.Op != confab.OpRevoke || p.Session != adm.Session {
					t.Fatalf("published %+v, want OpRevoke of %x", p, uint64(adm.Session))
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no revocation published")
			}
			err = b.CheckAdmission(t.Context(), adm)
			wantCode(t, "CheckAdmission after the revocation", err, "invalid_auth")
			if exact {
				_, err = b.RedeemTicket(t.Context(), unused)
				wantCode(t, "a ticket of the revoked token", err, "invalid_auth")
				_, err = b.RedeemStreamKey(t.Context(), key)
				wantCode(t, "a stream key of the revoked token", err, "invalid_auth")
			} else {
				// b read the token a moment ago: it may honour it for the
				// TTL; CheckAdmission, which the gateway runs next, does not.
				if adm, err := b.RedeemTicket(t.Context(), unused); err == nil {
					err = b.CheckAdmission(t.Context(), adm)
					wantCode(t, "CheckAdmission of a ticket redeemed within the TTL", err, "invalid_auth")
				}
				c.advance(5 * time.Second)
				_, err = b.RedeemTicket(t.Context(), issueAt(t, a, alice.u, alice.token))
				wantCode(t, "a ticket of the revoked token after the TTL", err, "invalid_auth")
				_, err = b.RedeemStreamKey(t.Context(), key)
				wantCode(t, "a stream key of the revoked token after the TTL", err, "invalid_auth")
			}
			if adm, err := b.RedeemTicket(t.Context(), kept); err != nil || adm.Session != Fingerprint(other.Token) {
				t.Fatalf("a ticket of alice's other token = %+v, %v; want it redeemed", adm, err)
			}
		})
	}
}

func issueAt(t *testing.T, s *Service, u *confab.User, token string) string {
	t.Helper()
	tk, err := s.IssueTicket(t.Context(), u, token)
	if err != nil {
		t.Fatal(err)
	}
	return tk.Value
}

// A ticket whose sealed session was tampered with fails its MAC.
func TestTicketSessionIsSigned(t *testing.T) {
	a, _, _, _ := sessionServices(t, true)
	alice := signupOn(t, a, "alice")
	tk := issueAt(t, a, alice.u, alice.token)
	parts := strings.Split(tk, ".")
	parts[4] = base64.RawURLEncoding.EncodeToString(make([]byte, sha256.Size))
	_, err := a.RedeemTicket(t.Context(), strings.Join(parts, "."))
	wantCode(t, "a ticket with another session", err, "invalid_auth")
}
