package pocket

import (
	"context"
	"fmt"

	"github.com/confab/confab"
)

// Picker chooses the gateway of a new connection from the registry of the
// user's pocket: the connection balancer of rtm.connect on an API process,
// which serves every pocket. It implements confab.GatewayPicker.
type Picker struct {
	// immutable after construction
	router     *Router
	registries map[string]confab.GatewayRegistry // by pocket name
}

// NewPicker returns a Picker. registries holds each pocket's registry by
// pocket name; a user of a pocket without one gets confab.ErrNoGateway.
func NewPicker(router *Router, registries map[string]confab.GatewayRegistry) *Picker {
	return &Picker{router: router, registries: registries}
}

// Pick returns a live, lightly loaded gateway of u's pocket, or an error
// wrapping confab.ErrNoGateway when the pocket has none.
func (p *Picker) Pick(ctx context.Context, u *confab.User) (confab.Gateway, error) {
	return p.pick(ctx, u, confab.GatewayRegistry.Pick)
}

// PickOwner returns the live gateway of u's pocket that owns key
// (confab.OwnerOf), or an error wrapping confab.ErrNoGateway.
func (p *Picker) PickOwner(ctx context.Context, u *confab.User, key string) (confab.Gateway, error) {
	return p.pick(ctx, u, func(reg confab.GatewayRegistry, ctx context.Context) (confab.Gateway, error) {
		live, err := reg.Live(ctx)
		if err != nil {
			return confab.Gateway{}, err
		}
		gw, ok := confab.OwnerOf(live, key)
		if !ok {
			return confab.Gateway{}, confab.ErrNoGateway
		}
		return gw, nil
	})
}

// pick chooses with choose among the gateways of u's pocket's registry.
func (p *Picker) pick(ctx context.Context, u *confab.User,
	choose func(confab.GatewayRegistry, context.Context) (confab.Gateway, error)) (confab.Gateway, error) {
	pk, err := p.router.Pocket(ctx, u.WorkspaceID)
	if err != nil {
		return confab.Gateway{}, err
	}
	reg := p.registries[pk.Name]
	if reg == nil {
		return confab.Gateway{}, fmt.Errorf("pocket %q has no registry: %w", pk.Name, confab.ErrNoGateway)
	}
	gw, err := choose(reg, ctx)
	if err != nil {
		return confab.Gateway{}, fmt.Errorf("pocket %q: %w", pk.Name, err)
	}
	return gw, nil
}

// PresenceRouter is the presence of an API process, which serves every
// pocket: each call goes to the Presence of the user's pocket. It
// implements confab.Presence; only Get and SetAway make sense there.
type PresenceRouter struct {
	// immutable after construction
	router   *Router
	byPocket map[string]confab.Presence // by pocket name
}

// NewPresenceRouter returns a PresenceRouter. byPocket holds each pocket's
// Presence (GatewayID "") by pocket name.
func NewPresenceRouter(router *Router, byPocket map[string]confab.Presence) *PresenceRouter {
	return &PresenceRouter{router: router, byPocket: byPocket}
}

func (r *PresenceRouter) presence(ctx context.Context, u *confab.User) (confab.Presence, error) {
	pk, err := r.router.Pocket(ctx, u.WorkspaceID)
	if err != nil {
		return nil, err
	}
	p := r.byPocket[pk.Name]
	if p == nil {
		return nil, fmt.Errorf("pocket %q has no presence", pk.Name)
	}
	return p, nil
}

// Connected passes to the Presence of u's pocket.
func (r *PresenceRouter) Connected(ctx context.Context, u *confab.User) (string, bool, error) {
	p, err := r.presence(ctx, u)
	if err != nil {
		return "", false, err
	}
	return p.Connected(ctx, u)
}

// Disconnected passes to the Presence of u's pocket.
func (r *PresenceRouter) Disconnected(ctx context.Context, u *confab.User) (string, bool, error) {
	p, err := r.presence(ctx, u)
	if err != nil {
		return "", false, err
	}
	return p.Disconnected(ctx, u)
}

// SetAway passes to the Presence of u's pocket.
func (r *PresenceRouter) SetAway(ctx context.Context, u *confab.User, away bool) (string, bool, error) {
	p, err := r.presence(ctx, u)
	if err != nil {
		return "", false, err
	}
	return p.SetAway(ctx, u, away)
}

// Get passes to the Presence of u's pocket.
func (r *PresenceRouter) Get(ctx context.Context, u *confab.User) (string, error) {
	p, err := r.presence(ctx, u)
	if err != nil {
		return "", err
	}
	return p.Get(ctx, u)
}

// Active passes to the Presence of the workspace's pocket.
func (r *PresenceRouter) Active(ctx context.Context, workspaceID string, userIDs []string) ([]string, error) {
	p, err := r.presence(ctx, &confab.User{WorkspaceID: workspaceID})
	if err != nil {
		return nil, err
	}
	return p.Active(ctx, workspaceID, userIDs)
}
