package chat_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/confab/confab"
	"github.com/confab/confab/chat"
)

// userStore is a Store that knows one user and its token; the ticket
// paths need no more.
type userStore struct {
	confab.Store
	u *confab.User
}

// aliceToken is the token userStore knows.
const aliceToken = "xoxp-alice"

func (s userStore) FindToken(_ context.Context, hash []byte) (*confab.Token, error) {
	if sum := sha256.Sum256([]byte(aliceToken)); !bytes.Equal(hash, sum[:]) {
		return nil, confab.ErrInvalidAuth
	}
	return &confab.Token{Hash: hash, UserID: s.u.ID}, nil
}

func (s userStore) FindUserByID(_ context.Context, id string) (*confab.User, error) {
	if id != s.u.ID {
		return nil, confab.ErrUserNotFound
	}
	return s.u, nil
}

type pickFunc func(ctx context.Context, u *confab.User) (confab.Gateway, error)

func (f pickFunc) Pick(ctx context.Context, u *confab.User) (confab.Gateway, error) { return f(ctx, u) }

func (f pickFunc) PickOwner(ctx context.Context, u *confab.User, _ string) (confab.Gateway, error) {
	return f(ctx, u)
}

// A ticket works once, only at the gateway it was issued for, and only
// until it expires.
func TestTicketsAreSingleUseAndBoundToTheirGateway(t *testing.T) {
	alice := &confab.User{ID: "UALICE", WorkspaceID: "TACME"}
	secret := []byte("shared by every process of the cluster")
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	api := chat.New(chat.Config{Store: userStore{u: alice}, TicketSecret: secret, Now: clock,
		Gateways: pickFunc(func(context.Context, *confab.User) (confab.Gateway, error) {
			return confab.Gateway{ID: "ws://127.0.0.1:9002", URL: "ws://127.0.0.1:9002"}, nil
		})})
	// Gateway ids may hold any character: these are URLs full of dots.
	gw1 := chat.New(chat.Config{Store: userStore{u: alice}, TicketSecret: secret, Now: clock, GatewayID: "ws://127.0.0.1:9001"})
	gw2 := chat.New(chat.Config{Store: userStore{u: alice}, TicketSecret: secret, Now: clock, GatewayID: "ws://127.0.0.1:9002"})
	forger := chat.New(chat.Config{Store: userStore{u: alice}, TicketSecret: []byte("guess"), Now: clock, GatewayID: "ws://127.0.0.1:9002"})
	ctx := context.Background()

	issue := func() string {
		t.Helper()
		tk, err := api.IssueTicket(ctx, alice, aliceToken)
		if err != nil || tk.GatewayURL != "ws://127.0.0.1:9002" {
			t.Fatalf("IssueTicket = %+v, %v; want one for gw-2", tk, err)
		}
		return tk.Value
	}
	tk := issue()
	if _, err := gw1.RedeemTicket(ctx, tk); confab.ErrorMessage(err) != "invalid_auth" {
		t.Fatalf("another gateway redeemed it: %v", err)
	}
	if _, err := forger.RedeemTicket(ctx, tk); confab.ErrorMessage(err) != "invalid_auth" {
		t.Fatalf("a gateway with another secret redeemed it: %v", err)
	}
	if a, err := gw2.RedeemTicket(ctx, tk); err != nil || a.User.ID != alice.ID || a.Session != chat.Fingerprint(aliceToken) {
		t.Fatalf("RedeemTicket at its gateway = %+v, %v; want alice under her token", a, err)
	}
	if _, err := gw2.RedeemTicket(ctx, tk); confab.ErrorMessage(err) != "invalid_auth" {
		t.Fatalf("a ticket worked twice: %v", err)
	}
	late := issue()
	now = now.Add(31 * time.Second)
	if _, err := gw2.RedeemTicket(ctx, late); confab.ErrorMessage(err) != "invalid_auth" {
		t.Fatalf("an expired ticket worked: %v", err)
	}
	for _, junk := range []string{"", ".", "a.b.c.d.e", tk + "x", string(make([]byte, 300))} {
		if _, err := gw2.RedeemTicket(ctx, junk); confab.ErrorMessage(err) != "invalid_auth" {
			t.Errorf("RedeemTicket(%q) = %v, want invalid_auth", junk, err)
		}
	}
}

// A stream key takes its stream up again at its gateway, as often as
// needed, until it expires; it is no ticket, and no ticket is one.
func TestStreamKeys(t *testing.T) {
	alice := &confab.User{ID: "UALICE", WorkspaceID: "TACME"}
	secret := []byte("shared by every process of the cluster")
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	gw1 := chat.New(chat.Config{Store: userStore{u: alice}, TicketSecret: secret, Now: clock, GatewayID: "ws://127.0.0.1:9001"})
	gw2 := chat.New(chat.Config{Store: userStore{u: alice}, TicketSecret: secret, Now: clock, GatewayID: "ws://127.0.0.1:9002"})
	api := chat.New(chat.Config{Store: userStore{u: alice}, TicketSecret: secret, Now: clock,
		Gateways: pickFunc(func(context.Context, *confab.User) (confab.Gateway, error) {
			return confab.Gateway{ID: "ws://127.0.0.1:9002", URL: "ws://127.0.0.1:9002"}, nil
		})})
	ctx := context.Background()

	tk, err := api.IssueTicket(ctx, alice, aliceToken)
	if err != nil {
		t.Fatal(err)
	}
	adm, err := gw2.RedeemTicket(ctx, tk.Value)
	if err != nil {
		t.Fatal(err)
	}
	key, err := gw2.StreamKey(adm)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if a, err := gw2.RedeemStreamKey(ctx, key); err != nil || a.User.ID != alice.ID || a.Session != adm.Session {
			t.Fatalf("use %d of the key = %+v, %v; want alice under her token", i+1, a, err)
		}
	}
	if _, err := gw1.RedeemStreamKey(ctx, key); confab.ErrorMessage(err) != "invalid_auth" {
		t.Fatalf("another gateway took the key: %v", err)
	}
	if _, err := gw2.RedeemTicket(ctx, key); confab.ErrorMessage(err) != "invalid_auth" {
		t.Fatalf("a stream key opened a new connection as a ticket: %v", err)
	}
	tk2, err := api.IssueTicket(ctx, alice, aliceToken)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gw2.RedeemStreamKey(ctx, tk2.Value); confab.ErrorMessage(err) != "invalid_auth" {
		t.Fatalf("a ticket served as a stream key: %v", err)
	}
	now = now.Add(25 * time.Hour)
	if _, err := gw2.RedeemStreamKey(ctx, key); confab.ErrorMessage(err) != "invalid_auth" {
		t.Fatalf("an expired key worked: %v", err)
	}
}
