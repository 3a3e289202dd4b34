package chat_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/confab/confab"
	"github.com/confab/confab/chat"
)

// flakyBus refuses the first failures publications, then delivers.
type flakyBus struct {
	mu        sync.Mutex
	failures  int
	attempts  int
	delivered chan string
}

func (b *flakyBus) Publish(_ context.Context, topic string, payload []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.attempts++
	if b.failures > 0 {
		b.failures--
		return errors.New("redis: connection refused")
	}
	p, err := confab.UnmarshalPublication(payload)
	if err != nil {
		return err
	}
	b.delivered <- topic + " " + string(p.Frame)
	return nil
}

// A publication the bus refused is retried until it goes through, once.
func TestFailedPublicationsAreRetried(t *testing.T) {
	bus := &flakyBus{failures: 3, delivered: make(chan string, 10)}
	svc := chat.New(chat.Config{Store: userStore{}, Bus: bus})
	defer svc.Close()
	alice := &confab.User{ID: "UALICE", WorkspaceID: "TACME"}
	svc.Connected(context.Background(), alice) // publishes presence_change: refused, then retried

	select {
	case got := <-bus.delivered:
		if want := confab.PresenceTopic("TACME", "UALICE") + " " + string(confab.PresenceEvent("UALICE", "active")); got != want {
			t.Fatalf("delivered %q, want %q", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the refused publication was never retried")
	}
	svc.Close() // waits for the retry goroutine
	select {
	case got := <-bus.delivered:
		t.Fatalf("delivered twice: %q", got)
	default:
	}
	if bus.attempts != 4 {
		t.Fatalf("%d publish attempts, want 1 refused + 2 refused retries + 1 delivered", bus.attempts)
	}
}

// A publication still refused after maxRepublishAge is given up (readers
// catch up), and Close does not wait on a bus that keeps refusing.
func TestRetriesGiveUpAndStop(t *testing.T) {
	bus := &flakyBus{failures: 1 << 30, delivered: make(chan string, 10)}
	var mu sync.Mutex
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	svc := chat.New(chat.Config{Store: userStore{}, Bus: bus, Now: clock})
	svc.Connected(context.Background(), &confab.User{ID: "UALICE", WorkspaceID: "TACME"})
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	done := make(chan struct{})
	go func() { svc.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close hung on a bus that keeps refusing")
	}
	if len(bus.delivered) != 0 {
		t.Fatal("a refused publication was delivered")
	}
}
