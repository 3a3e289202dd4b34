package pocket_test

import (
	"context"
	"errors"
	"fmt"
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

// registry is a pocket's registry with one live gateway, or none: Pick is
// all a Picker asks of it.
type registry struct {
	confab.GatewayRegistry
	live []confab.Gateway
}

func (r *registry) Pick(context.Context) (confab.Gateway, error) {
	if len(r.live) == 0 {
		return confab.Gateway{}, confab.ErrNoGateway
	}
	return r.live[0], nil
}

// The Picker picks from the registry of the user's pocket.
func TestPickerRoutesByPocket(t *testing.T) {
	ctx := context.Background()
	router := twoPockets(t)
	regA := &registry{live: []confab.Gateway{{ID: "gw-a1", URL: "ws://a1"}}}
	regB := &registry{live: []confab.Gateway{{ID: "gw-b1", URL: "ws://b1"}}}
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

	regB.live = nil
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

// presence is a pocket's presence that answers every call with the
// pocket's name, so that a test sees which pocket a call reached.
type presence string

func (p presence) Connected(context.Context, *confab.User) (string, bool, error) {
	return "connected@" + string(p), true, nil
}

func (p presence) Disconnected(context.Context, *confab.User) (string, bool, error) {
	return "disconnected@" + string(p), true, nil
}

func (p presence) SetAway(_ context.Context, _ *confab.User, away bool) (string, bool, error) {
	return fmt.Sprintf("away=%t@%s", away, p), true, nil
}

func (p presence) Get(context.Context, *confab.User) (string, error) { return "get@" + string(p), nil }

func (p presence) Active(_ context.Context, _ string, ids []string) ([]string, error) {
	return append([]string{"active@" + string(p)}, ids...), nil
}

// The PresenceRouter sends each call to the presence of the user's pocket.
func TestPresenceRouterRoutesByPocket(t *testing.T) {
	ctx := context.Background()
	pr := pocket.NewPresenceRouter(twoPockets(t), map[string]confab.Presence{"a": presence("a"), "b": presence("b")})
	alice := &confab.User{ID: "UALICE", WorkspaceID: "TACME"}
	bob := &confab.User{ID: "UBOB", WorkspaceID: "TGLOBEX"}
	for _, tc := range []struct {
		u    *confab.User
		name string
	}{{alice, "a"}, {bob, "b"}} {
		calls := map[string]func() (string, error){
			"connected":    func() (string, error) { s, _, err := pr.Connected(ctx, tc.u); return s, err },
			"disconnected": func() (string, error) { s, _, err := pr.Disconnected(ctx, tc.u); return s, err },
			"away=true":    func() (string, error) { s, _, err := pr.SetAway(ctx, tc.u, true); return s, err },
			"get":          func() (string, error) { return pr.Get(ctx, tc.u) },
			"active": func() (string, error) {
				ids, err := pr.Active(ctx, tc.u.WorkspaceID, []string{tc.u.ID})
				if err != nil || len(ids) != 2 || ids[1] != tc.u.ID {
					return fmt.Sprint(ids), err
				}
				return ids[0], nil
			},
		}
		for call, f := range calls {
			if got, err := f(); err != nil || got != call+"@"+tc.name {
				t.Errorf("%s of %s = %q, %v; want %q", call, tc.u.ID, got, err, call+"@"+tc.name)
			}
		}
	}
	if _, err := pr.Get(ctx, &confab.User{ID: "U1", WorkspaceID: "TNOPE"}); err == nil {
		t.Fatal("router Get for an unknown workspace succeeded")
	}
	onlyA := pocket.NewPresenceRouter(twoPockets(t), map[string]confab.Presence{"a": presence("a")})
	if _, err := onlyA.Get(ctx, bob); err == nil {
		t.Fatal("router Get in a pocket without a presence succeeded")
	}
}

var (
	_ confab.Presence      = (*pocket.PresenceRouter)(nil)
	_ confab.GatewayPicker = (*pocket.Picker)(nil)
)
