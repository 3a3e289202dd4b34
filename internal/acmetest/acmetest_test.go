package acmetest_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"
	"time"

	"github.com/confab/confab/internal/acmetest"
	"golang.org/x/crypto/acme"
)

func TestStart(t *testing.T) {
	ca := acmetest.Start(t, acmetest.Config{})
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := &acme.Client{Key: key, DirectoryURL: ca.DirectoryURL(), HTTPClient: ca.HTTPClient()}
	if _, err := c.Register(ctx, &acme.Account{}, acme.AcceptTOS); err != nil {
		t.Fatalf("register an account: %v", err)
	}
	ca.Roots(t)
}
