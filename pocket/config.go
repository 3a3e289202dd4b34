package pocket

import (
	"errors"
	"fmt"
	"os"

	"github.com/BurntSushi/toml"
)

// Pocket is one pocket of the pocket file.
type Pocket struct {
	Name  string `toml:"name"`
	Redis string `toml:"redis"` // host:port of the pocket's Redis
	// Postgres, when set, is the DSN of the pocket's own PostgreSQL: its
	// workspaces' channels, memberships, messages and reactions live there
	// (see Store). Unset, they live in the main PostgreSQL (-postgres), the
	// directory that holds every pocket's workspaces, users and tokens.
	Postgres string `toml:"postgres"`
	// Workspaces are the workspaces that live here, by domain or by id.
	Workspaces []string `toml:"workspaces"`
	// Default takes every workspace no pocket names, new ones included.
	Default bool `toml:"default"`
}

// Map says which pocket each workspace lives in.
type Map struct {
	Pockets []Pocket `toml:"pocket"`

	byWorkspace map[string]*Pocket
	byName      map[string]*Pocket
	fallback    *Pocket
}

// Load reads a pocket file:
//
//	[[pocket]]
//	name = "a"
//	redis = "127.0.0.1:6379"
//	workspaces = ["acme"]
//	default = true
//
//	[[pocket]]
//	name = "b"
//	redis = "127.0.0.1:6380"
//	workspaces = ["globex", "T0ABCDEF12345"]
//	postgres = "postgres://confab@db-b:5432/confab"  # optional
func Load(path string) (*Map, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("pocket file: %w", err)
	}
	m, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("pocket file %s: %w", path, err)
	}
	return m, nil
}

// Parse parses and validates a pocket file's text.
func Parse(data []byte) (*Map, error) {
	m := &Map{}
	md, err := toml.Decode(string(data), m)
	if err != nil {
		return nil, err
	}
	if undecoded := md.Undecoded(); len(undecoded) > 0 {
		return nil, fmt.Errorf("unknown keys %v", undecoded)
	}
	if len(m.Pockets) == 0 {
		return nil, errors.New("no [[pocket]]")
	}
	m.byWorkspace = map[string]*Pocket{}
	m.byName = map[string]*Pocket{}
	for i := range m.Pockets {
		p := &m.Pockets[i]
		if p.Name == "" || p.Redis == "" {
			return nil, fmt.Errorf("pocket %d: name and redis are required", i+1)
		}
		if m.byName[p.Name] != nil {
			return nil, fmt.Errorf("pocket %q named twice", p.Name)
		}
		m.byName[p.Name] = p
		for _, ws := range p.Workspaces {
			if other := m.byWorkspace[ws]; other != nil {
				return nil, fmt.Errorf("workspace %q is in pockets %q and %q", ws, other.Name, p.Name)
			}
			m.byWorkspace[ws] = p
		}
		if p.Default {
			if m.fallback != nil {
				return nil, fmt.Errorf("pockets %q and %q are both default", m.fallback.Name, p.Name)
			}
			m.fallback = p
		}
	}
	if m.fallback == nil {
		return nil, errors.New("no pocket is default: new workspaces would have nowhere to live")
	}
	return m, nil
}

// For returns the pocket of a workspace, given its id and domain.
func (m *Map) For(workspaceID, domain string) *Pocket {
	if p := m.byWorkspace[workspaceID]; p != nil {
		return p
	}
	if p := m.byWorkspace[domain]; p != nil {
		return p
	}
	return m.fallback
}

// Named returns the pocket called name, or nil.
func (m *Map) Named(name string) *Pocket { return m.byName[name] }
