package migrate

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Migration is one schema change. Version is the number its file name
// starts with (0001_init.sql is version 1).
type Migration struct {
	Version int
	Name    string // the file's name, without its directory
	SQL     string
}

// Load reads the migrations dir/*.sql of fsys, in version order. Each file
// name must start with a positive number and "_", and the numbers must run
// 1, 2, 3… with neither gap nor repeat.
func Load(fsys fs.FS, dir string) ([]Migration, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.sql"))
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, name := range names {
		base := path.Base(name)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a positive number and '_'", base)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: base, SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i, m := range out {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migration %s: want version %d", m.Name, i+1)
		}
	}
	return out, nil
}

// Target is a database being migrated, as its store reads and records its
// version.
type Target interface {
	// Version returns the version of the last migration applied to the
	// database, 0 if none.
	Version(ctx context.Context) (int, error)
	// Apply runs m.SQL and records m.Version as the database's version.
	Apply(ctx context.Context, m Migration) error
}

// Run applies to t, in order, the migrations of ms (as Load returns them)
// newer than t's version, and stops at the first that fails. A database at
// a version beyond ms is an error: its schema is newer than the caller
// knows.
func Run(ctx context.Context, t Target, ms []Migration) error {
	current, err := t.Version(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if current > len(ms) {
		return fmt.Errorf("migrate: database is at version %d, newer than this binary (%d)", current, len(ms))
	}
	for _, m := range ms[current:] {
		if err := t.Apply(ctx, m); err != nil {
			return fmt.Errorf("migrate %s: %w", m.Name, err)
		}
	}
	return nil
}
