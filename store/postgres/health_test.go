package postgres_test

import (
	"context"
	"testing"

	"github.com/confab/confab/store/postgres"
)

// PingWrite commits, again and again, on a store that takes writes, and
// fails once the store is closed.
func TestPingWrite(t *testing.T) {
	db := MustOpenDB(t, postgres.Config{})
	ctx := context.Background()
	for range 3 {
		if err := db.PingWrite(ctx); err != nil {
			t.Fatalf("PingWrite = %v", err)
		}
	}
	db.Close()
	if err := db.PingWrite(ctx); err == nil {
		t.Fatal("PingWrite on a closed store succeeded")
	}
}
