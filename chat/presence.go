package chat

import (
	"context"
	"sync"

	"github.com/confab/confab"
)

// MemoryPresence is confab.Presence held in one process's memory: right when that
// process runs every gateway (confab serve).
type MemoryPresence struct {
	mu    sync.Mutex
	conns map[string]int  // guarded by mu: user → live connections
	away  map[string]bool // guarded by mu: user → set away by hand
}

// NewMemoryPresence returns an empty MemoryPresence.
func NewMemoryPresence() *MemoryPresence {
	return &MemoryPresence{conns: map[string]int{}, away: map[string]bool{}}
}

// Connected counts a live connection.
func (p *MemoryPresence) Connected(_ context.Context, u *confab.User) (string, bool, error) {
	return p.change(u.ID, func() { p.conns[u.ID]++ })
}

// Disconnected counts a closed connection.
func (p *MemoryPresence) Disconnected(_ context.Context, u *confab.User) (string, bool, error) {
	return p.change(u.ID, func() {
		if p.conns[u.ID]--; p.conns[u.ID] <= 0 {
			delete(p.conns, u.ID)
		}
	})
}

// SetAway sets or clears the manual away flag.
func (p *MemoryPresence) SetAway(_ context.Context, u *confab.User, away bool) (string, bool, error) {
	return p.change(u.ID, func() {
		if away {
			p.away[u.ID] = true
		} else {
			delete(p.away, u.ID)
		}
	})
}

// Get returns the user's presence.
func (p *MemoryPresence) Get(_ context.Context, u *confab.User) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state(u.ID), nil
}

// Active returns the users of ids who are active.
func (p *MemoryPresence) Active(_ context.Context, _ string, ids []string) ([]string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, id := range ids {
		if p.state(id) == confab.PresenceActive {
			out = append(out, id)
		}
	}
	return out, nil
}

func (p *MemoryPresence) change(userID string, f func()) (string, bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	before := p.state(userID)
	f()
	after := p.state(userID)
	return after, before != after, nil
}

// state is the user's presence. Call with mu held.
func (p *MemoryPresence) state(userID string) string {
	if p.conns[userID] > 0 && !p.away[userID] {
		return confab.PresenceActive
	}
	return confab.PresenceAway
}
