package pocket_test

import (
	"context"
	"errors"
	"testing"

	"github.com/confab/confab"
	"github.com/confab/confab/pocket"
)

type recorder struct{ topics []string }

func (r *recorder) Publish(_ context.Context, topic string, _ []byte) error {
	r.topics = append(r.topics, topic)
	return nil
}

// Each event goes to the bus of its workspace's pocket, and only there.
func TestRouterPublishesToTheWorkspacesPocket(t *testing.T) {
	m, err := pocket.Parse([]byte("[[pocket]]\nname='a'\nredis='x:1'\ndefault=true\n[[pocket]]\nname='b'\nredis='x:2'\nworkspaces=['globex']\n"))
	if err != nil {
		t.Fatal(err)
	}
	a, b := &recorder{}, &recorder{}
	lookups := 0
	r, err := pocket.NewRouter(pocket.RouterConfig{
		Map: m, Buses: map[string]confab.Publisher{"a": a, "b": b},
		Domain: func(_ context.Context, ws string) (string, error) {
			lookups++
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
	ctx := context.Background()
	for _, topic := range []string{confab.ChannelTopic("TACME", "C1"), confab.UserTopic("TGLOBEX", "U1"), confab.ChannelTopic("TACME", "C2")} {
		if err := r.Publish(ctx, topic, nil); err != nil {
			t.Fatal(err)
		}
	}
	if len(a.topics) != 2 || len(b.topics) != 1 || b.topics[0] != "TGLOBEX.u.U1" {
		t.Fatalf("pocket a got %v, b got %v", a.topics, b.topics)
	}
	if lookups != 2 {
		t.Fatalf("%d domain lookups for 2 workspaces: the cache is not used", lookups)
	}
	if err := r.Publish(ctx, confab.ChannelTopic("TNOPE", "C1"), nil); err == nil {
		t.Fatal("published for an unknown workspace")
	}
	if _, err := pocket.NewRouter(pocket.RouterConfig{Map: m, Buses: map[string]confab.Publisher{"a": a}}); err == nil {
		t.Fatal("a router without pocket b's bus was accepted")
	}
}
