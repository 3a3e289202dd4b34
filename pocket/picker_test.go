package pocket_test

import (
	"context"
	"errors"
	"testing"

	"github.com/confab/confab"
	"github.com/confab/confab/pocket"
)

// twoPockets returns a router over pockets "a" (the default, acme's) and
// "b" (globex's); workspace TNOPE does not exist.
func twoPockets(t *testing.T) *pocket.Router {
	t.Helper()
	m, err := pocket.Parse([]byte("[[pocket]]\nname='a'\nredis='x:1'\ndefault=true\n[[pocket]]\nname='b'\nredis='x:2'\nworkspaces=['globex']\n"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := pocket.NewRouter(pocket.RouterConfig{
		Map:   m,
		Buses: map[string]confab.Publisher{"a": &recorder{}, "b": &recorder{}},
		Domain: func(_ context.Context, ws string) (string, error) {
			switch ws {
			case "TGLOBEX":
				return "globex", nil
			case "TACME":
				return "acme", nil
			}
			return "", errors.New("no such workspace")
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// The Picker picks from the registry of the user's pocket.
func TestPickerRoutesByPocket(t *testing.T) {
	ctx := context.Background()
	router, c, clk := twoPockets(t), mustClient(t), newClock()
	regA := pocket.NewRegistry(pocket.RegistryConfig{Client: c, Prefix: uniquePrefix(t), Now: clk.Now})
	regB := pocket.NewRegistry(pocket.RegistryConfig{Client: c, Prefix: uniquePrefix(t), Now: clk.Now})
	mustAnnounce(t, regA, confab.Gateway{ID: "gw-a1", URL: "ws://a1"})
	mustAnnounce(t, regB, confab.Gateway{ID: "gw-b1", URL: "ws://b1"})
	picker := pocket.NewPicker(router, map[string]confab.GatewayRegistry{"a": regA, "b": regB})

	alice := &confab.User{ID: "UALICE", WorkspaceID: "TACME"}
	bob := &confab.User{ID: "UBOB", WorkspaceID: "TGLOBEX"}
	for _, tc := range []struct {
		u    *confab.User
		want confab.Gateway
	}{
		{alice, confab.Gateway{ID: "gw-a1", URL: "ws://a1"}},
		{bob, confab.Gateway{ID: "gw-b1", URL: "ws://b1"}},
	} {
		if got, err := picker.Pick(ctx, tc.u); err != nil || got != tc.want {
			t.Fatalf("Pick(%s of %s) = %v, %v; want %v", tc.u.ID, tc.u.WorkspaceID, got, err, tc.want)
		}
	}

	if err := regB.Withdraw(ctx, "gw-b1"); err != nil {
		t.Fatal(err)
	}
	if _, err := picker.Pick(ctx, bob); !errors.Is(err, confab.ErrNoGateway) || confab.ErrorMessage(err) != "no_gateway" {
		t.Fatalf("Pick in a pocket with no live gateway: err = %v, want no_gateway", err)
	}
	if got, err := picker.Pick(ctx, alice); err != nil || got.ID != "gw-a1" {
		t.Fatalf("Pick(alice) after pocket b emptied = %v, %v", got, err)
	}
	if _, err := picker.Pick(ctx, &confab.User{ID: "U1", WorkspaceID: "TNOPE"}); err == nil {
		t.Fatal("Pick for an unknown workspace succeeded")
	}
	onlyA := pocket.NewPicker(router, map[string]confab.GatewayRegistry{"a": regA})
	if _, err := onlyA.Pick(ctx, bob); confab.ErrorMessage(err) != "no_gateway" {
		t.Fatalf("Pick in a pocket without a registry: err = %v, want no_gateway", err)
	}
}

// The PresenceRouter reads and writes the presence of the user's pocket.
func TestPresenceRouterRoutesByPocket(t *testing.T) {
	ctx := context.Background()
	router, c, clk := twoPockets(t), mustClient(t), newClock()
	prefixA, prefixB := uniquePrefix(t), uniquePrefix(t)
	open := func(prefix, gatewayID string) *pocket.Presence {
		return pocket.NewPresence(pocket.PresenceConfig{Client: c, Prefix: prefix, GatewayID: gatewayID, Now: clk.Now})
	}
	gwA, gwB := open(prefixA, "gw-a1"), open(prefixB, "gw-b1")
	apiA, apiB := open(prefixA, ""), open(prefixB, "")
	pr := pocket.NewPresenceRouter(router, map[string]confab.Presence{"a": apiA, "b": apiB})

	alice := &confab.User{ID: "UALICE", WorkspaceID: "TACME"}
	bob := &confab.User{ID: "UBOB", WorkspaceID: "TGLOBEX"}
	mustUpdate(t, "gwA.Connected", gwA.Connected, alice, active, true)
	mustUpdate(t, "gwB.Connected", gwB.Connected, bob, active, true)
	for _, u := range []*confab.User{alice, bob} {
		if got, err := pr.Get(ctx, u); err != nil || got != active {
			t.Fatalf("router Get(%s) = %q, %v; want active", u.ID, got, err)
		}
	}
	// Each pocket knows only its own users.
	mustGet(t, apiA, bob, away)
	mustGet(t, apiB, alice, away)

	mustUpdate(t, "router.SetAway", func(ctx context.Context, u *confab.User) (string, bool, error) {
		return pr.SetAway(ctx, u, true)
	}, bob, away, true)
	mustGet(t, gwB, bob, away)
	mustGet(t, gwA, alice, active)

	// An API process counts no connections.
	if _, _, err := pr.Connected(ctx, alice); err == nil {
		t.Fatal("router Connected on API presences succeeded")
	}
	if _, _, err := pr.Disconnected(ctx, alice); err == nil {
		t.Fatal("router Disconnected on API presences succeeded")
	}
	if _, err := pr.Get(ctx, &confab.User{ID: "U1", WorkspaceID: "TNOPE"}); err == nil {
		t.Fatal("router Get for an unknown workspace succeeded")
	}
	onlyA := pocket.NewPresenceRouter(router, map[string]confab.Presence{"a": apiA})
	if _, err := onlyA.Get(ctx, bob); err == nil {
		t.Fatal("router Get in a pocket without a presence succeeded")
	}
}
