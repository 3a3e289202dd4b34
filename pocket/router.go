package pocket

import (
	"context"
	"fmt"
	"sync"

	"github.com/confab/confab"
)

// RouterConfig configures a Router.
type RouterConfig struct {
	Map *Map
	// Buses holds each pocket's bus by pocket name.
	Buses map[string]confab.Publisher
	// Domain returns the domain of a workspace (the store knows it); a
	// workspace's domain never changes, so the answer is cached.
	Domain func(ctx context.Context, workspaceID string) (string, error)
}

// Router finds the pocket of a workspace and publishes each event on the
// bus of its topic's workspace: an API process talks to every pocket, and
// each event reaches only its own.
type Router struct {
	cfg   RouterConfig
	cache sync.Map // workspace id → *Pocket
}

// NewRouter returns a Router. Every pocket of the map must have a bus.
func NewRouter(cfg RouterConfig) (*Router, error) {
	for _, p := range cfg.Map.Pockets {
		if cfg.Buses[p.Name] == nil {
			return nil, fmt.Errorf("pocket %q has no bus", p.Name)
		}
	}
	return &Router{cfg: cfg}, nil
}

// Pocket returns the pocket a workspace lives in.
func (r *Router) Pocket(ctx context.Context, workspaceID string) (*Pocket, error) {
	if p, ok := r.cache.Load(workspaceID); ok {
		return p.(*Pocket), nil
	}
	domain, err := r.cfg.Domain(ctx, workspaceID)
	if err != nil {
		return nil, fmt.Errorf("pocket of workspace %s: %w", workspaceID, err)
	}
	p := r.cfg.Map.For(workspaceID, domain)
	r.cache.Store(workspaceID, p)
	return p, nil
}

// Publish publishes on the bus of the topic's workspace's pocket.
func (r *Router) Publish(ctx context.Context, topic string, payload []byte) error {
	p, err := r.Pocket(ctx, confab.TopicWorkspace(topic))
	if err != nil {
		return err
	}
	return r.cfg.Buses[p.Name].Publish(ctx, topic, payload)
}
