package chat

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confab/confab"
)

// appReadStore counts the reads BotScopes makes.
type appReadStore struct {
	*countingStore
	appReads atomic.Int64
}

func (s *appReadStore) FindBots(ctx context.Context, f confab.BotFilter) ([]*confab.Bot, error) {
	s.appReads.Add(1)
	return s.countingStore.FindBots(ctx, f)
}

func (s *appReadStore) FindApp(ctx context.Context, id string) (*confab.App, error) {
	s.appReads.Add(1)
	return s.countingStore.FindApp(ctx, id)
}

func scopesManifest(scopes string) string {
	return `{"display_information":{"name":"Helper"},"features":{"bot_user":{"display_name":"Helper"}},` +
		`"oauth_config":{"scopes":{"bot":[` + scopes + `]}}}`
}

// A bot's scopes are read once and then come from the cache: a bot's
// requests cost no extra query. A new manifest counts from the next call,
// through this process at once, through another within the cache's TTL.
func TestBotScopesCached(t *testing.T) {
	st := &appReadStore{countingStore: openSQLite(t)}
	clk := newClock()
	s := newService(st, true, clk)
	other := newService(st, false, clk) // another API process on the same store
	ctx := t.Context()
	alice := signupOn(t, s, "alice") // the owner
	in, err := s.CreateApp(ctx, alice.u, scopesManifest(`"chat:write","channels:history"`))
	if err != nil {
		t.Fatal(err)
	}
	bot, err := s.Authenticate(ctx, in.BotToken)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"channels:history", "chat:write"}
	for _, svc := range []*Service{s, other} {
		if sc, err := svc.BotScopes(ctx, bot); err != nil || !slices.Equal(sc, want) {
			t.Fatalf("BotScopes = %v, %v; want %v", sc, err, want)
		}
	}
	before := st.appReads.Load()
	for range 100 {
		for _, svc := range []*Service{s, other} {
			if _, err := svc.BotScopes(ctx, bot); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := st.appReads.Load() - before; n != 0 {
		t.Errorf("200 cached BotScopes read the store %d times, want 0", n)
	}

	if _, err := s.UpdateApp(ctx, alice.u, in.App.ID, scopesManifest(`"users:read"`)); err != nil {
		t.Fatal(err)
	}
	if sc, err := s.BotScopes(ctx, bot); err != nil || !slices.Equal(sc, []string{"users:read"}) {
		t.Errorf("BotScopes after update = %v, %v; want [users:read] at once", sc, err)
	}
	if sc, _ := other.BotScopes(ctx, bot); !slices.Equal(sc, want) {
		t.Errorf("other process's BotScopes = %v, want the cached %v within its TTL", sc, want)
	}
	clk.advance(6 * time.Second)
	if sc, err := other.BotScopes(ctx, bot); err != nil || !slices.Equal(sc, []string{"users:read"}) {
		t.Errorf("other process's BotScopes after its TTL = %v, %v; want [users:read]", sc, err)
	}

	if err := s.DeleteApp(ctx, alice.u, in.App.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.BotScopes(ctx, bot); confab.ErrorMessage(err) != "invalid_auth" {
		t.Errorf("BotScopes of a deleted app's bot = %v, want invalid_auth", err)
	}
	if sc, err := s.BotScopes(ctx, alice.u); err == nil {
		t.Errorf("BotScopes(a person) = %v, want an error", sc)
	}
}
