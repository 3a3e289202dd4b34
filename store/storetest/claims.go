package storetest

import (
	"sync"
	"testing"

	"github.com/confab/confab"
)

// newImported creates a user without a password, as an import does.
func newImported(t *testing.T, f *fixture, name string) *confab.User {
	t.Helper()
	u := &confab.User{ID: confab.NewID(confab.PrefixUser), WorkspaceID: f.ws.ID, Name: name, Created: f.now()}
	if err := f.s.CreateUser(f.ctx, u); err != nil {
		t.Fatalf("CreateUser(%s) = %v", name, err)
	}
	return u
}

func claimToken(s string) *confab.Token {
	return &confab.Token{Hash: []byte("token-" + s + "-0123456789abcdef"), Created: 1}
}

// testClaims: a user has one claim, the latest; a claim is found until it
// expires, and used once: the password is set, the claim gone, the
// session there, in one transaction.
func testClaims(t *testing.T, f *fixture) {
	ctx := f.ctx
	ann := newImported(t, f, "ann")
	first := &confab.Claim{Hash: []byte("claim-1-0123456789abcdef01234567"), UserID: ann.ID, Created: 100, Expires: 200}
	if err := f.s.CreateClaim(ctx, first); err != nil {
		t.Fatalf("CreateClaim = %v", err)
	}
	got, err := f.s.FindClaim(ctx, first.Hash, 199)
	if err != nil || string(got.Hash) != string(first.Hash) || got.UserID != ann.ID || got.Created != 100 || got.Expires != 200 {
		t.Errorf("FindClaim = %+v, %v; want %+v", got, err, first)
	}
	_, err = f.s.FindClaim(ctx, first.Hash, 200)
	wantErr(t, "FindClaim(at its expiry)", err, confab.EUNAUTHORIZED, "invalid_claim")
	_, err = f.s.FindClaim(ctx, []byte("no such claim"), 0)
	wantErr(t, "FindClaim(unknown)", err, confab.EUNAUTHORIZED, "invalid_claim")
	err = f.s.CreateClaim(ctx, &confab.Claim{Hash: []byte("claim-x"), UserID: "UNOSUCHUSER00", Created: 1, Expires: 2})
	wantErr(t, "CreateClaim(unknown user)", err, confab.ENOTFOUND, "user_not_found")

	// A new claim replaces the old: the first link is void.
	second := &confab.Claim{Hash: []byte("claim-2-0123456789abcdef01234567"), UserID: ann.ID, Created: 150, Expires: 300}
	if err := f.s.CreateClaim(ctx, second); err != nil {
		t.Fatalf("CreateClaim(again) = %v", err)
	}
	_, err = f.s.FindClaim(ctx, first.Hash, 150)
	wantErr(t, "FindClaim(replaced)", err, confab.EUNAUTHORIZED, "invalid_claim")
	_, err = f.s.ClaimUser(ctx, confab.UserClaim{UserID: ann.ID, ClaimHash: first.Hash, Now: 150, PasswordHash: "h1", Token: claimToken("a")})
	wantErr(t, "ClaimUser(replaced link)", err, confab.EUNAUTHORIZED, "invalid_claim")
	// Expired: nothing written.
	_, err = f.s.ClaimUser(ctx, confab.UserClaim{UserID: ann.ID, ClaimHash: second.Hash, Now: 300, PasswordHash: "h1", Token: claimToken("a")})
	wantErr(t, "ClaimUser(expired)", err, confab.EUNAUTHORIZED, "invalid_claim")
	// Another user's link.
	bea := newImported(t, f, "bea")
	_, err = f.s.ClaimUser(ctx, confab.UserClaim{UserID: bea.ID, ClaimHash: second.Hash, Now: 250, PasswordHash: "h1", Token: claimToken("a")})
	wantErr(t, "ClaimUser(another's link)", err, confab.EUNAUTHORIZED, "invalid_claim")
	if u, _ := f.s.FindUserByID(ctx, ann.ID); u.PasswordHash != "" {
		t.Fatalf("a refused claim set the password: %q", u.PasswordHash)
	}
	if _, err := f.s.FindToken(ctx, claimToken("a").Hash); err == nil {
		t.Fatal("a refused claim created its token")
	}

	u, err := f.s.ClaimUser(ctx, confab.UserClaim{UserID: ann.ID, ClaimHash: second.Hash, Now: 250, PasswordHash: "hash-ann", Token: claimToken("ann")})
	if err != nil || u.ID != ann.ID || u.PasswordHash != "hash-ann" || u.Name != "ann" {
		t.Fatalf("ClaimUser = %+v, %v; want ann with her password", u, err)
	}
	if got, _ := f.s.FindUserByID(ctx, ann.ID); got.PasswordHash != "hash-ann" {
		t.Errorf("FindUserByID after the claim: password %q", got.PasswordHash)
	}
	if tok, err := f.s.FindToken(ctx, claimToken("ann").Hash); err != nil || tok.UserID != ann.ID {
		t.Errorf("FindToken(the claim's session) = %+v, %v", tok, err)
	}
	_, err = f.s.FindClaim(ctx, second.Hash, 250)
	wantErr(t, "FindClaim(used)", err, confab.EUNAUTHORIZED, "invalid_claim")
	_, err = f.s.ClaimUser(ctx, confab.UserClaim{UserID: ann.ID, ClaimHash: second.Hash, Now: 250, PasswordHash: "again", Token: claimToken("b")})
	wantErr(t, "ClaimUser(used link)", err, confab.EUNAUTHORIZED, "invalid_claim")

	// By sign-up: only a user without a password, whose claim allows it,
	// and it uses that claim up.
	claimAnn := &confab.Claim{Hash: []byte("claim-3-0123456789abcdef01234567"), UserID: ann.ID, Created: 200, Expires: 1000, Signup: true}
	if err := f.s.CreateClaim(ctx, claimAnn); err != nil {
		t.Fatal(err)
	}
	_, err = f.s.ClaimUser(ctx, confab.UserClaim{UserID: ann.ID, Now: 250, PasswordHash: "taken", Token: claimToken("c")})
	wantErr(t, "ClaimUser(by sign-up, claimed user)", err, confab.ECONFLICT, "already_claimed")
	link := &confab.Claim{Hash: []byte("claim-bea-0123456789abcdef012345"), UserID: bea.ID, Created: 1, Expires: 1000}
	if err := f.s.CreateClaim(ctx, link); err != nil {
		t.Fatal(err)
	}
	_, err = f.s.ClaimUser(ctx, confab.UserClaim{UserID: bea.ID, Now: 250, PasswordHash: "hash-bea", Token: claimToken("bea")})
	wantErr(t, "ClaimUser(by sign-up, not allowed)", err, confab.EUNAUTHORIZED, "invalid_claim")
	if got, err := f.s.FindClaim(ctx, link.Hash, 250); err != nil || got.Signup {
		t.Errorf("FindClaim(bea's link) = %+v, %v; want it there, without sign-up", got, err)
	}
	link.Signup = true
	if err := f.s.CreateClaim(ctx, link); err != nil {
		t.Fatal(err)
	}
	if got, err := f.s.FindClaim(ctx, link.Hash, 250); err != nil || !got.Signup {
		t.Errorf("FindClaim(bea's link, sign-up allowed) = %+v, %v", got, err)
	}
	_, err = f.s.ClaimUser(ctx, confab.UserClaim{UserID: bea.ID, Now: 1000, PasswordHash: "hash-bea", Token: claimToken("bea")})
	wantErr(t, "ClaimUser(by sign-up, expired)", err, confab.EUNAUTHORIZED, "invalid_claim")
	if u, err := f.s.ClaimUser(ctx, confab.UserClaim{UserID: bea.ID, Now: 250, PasswordHash: "hash-bea", Token: claimToken("bea")}); err != nil || u.PasswordHash != "hash-bea" {
		t.Fatalf("ClaimUser(by sign-up) = %+v, %v", u, err)
	}
	_, err = f.s.FindClaim(ctx, link.Hash, 250)
	wantErr(t, "FindClaim(link of a user claimed by sign-up)", err, confab.EUNAUTHORIZED, "invalid_claim")

	// A reset: a link sets the password of a user who has one.
	reset := &confab.Claim{Hash: []byte("claim-reset-0123456789abcdef0123"), UserID: ann.ID, Created: 300, Expires: 400}
	if err := f.s.CreateClaim(ctx, reset); err != nil {
		t.Fatal(err)
	}
	if u, err := f.s.ClaimUser(ctx, confab.UserClaim{UserID: ann.ID, ClaimHash: reset.Hash, Now: 350, PasswordHash: "new-ann", Token: claimToken("reset")}); err != nil || u.PasswordHash != "new-ann" {
		t.Fatalf("ClaimUser(reset) = %+v, %v", u, err)
	}

	_, err = f.s.ClaimUser(ctx, confab.UserClaim{UserID: "UNOSUCHUSER00", Now: 1, PasswordHash: "x", Token: claimToken("d")})
	wantErr(t, "ClaimUser(unknown user)", err, confab.ENOTFOUND, "user_not_found")
}

// testConcurrentUserClaims: of several redemptions of one link, or claims
// by sign-up of one user, exactly one succeeds.
func testConcurrentUserClaims(t *testing.T, f *fixture) {
	ctx := f.ctx
	for _, withLink := range []bool{true, false} {
		u := newImported(t, f, map[bool]string{true: "linked", false: "unlinked"}[withLink])
		c := &confab.Claim{Hash: []byte("claim-" + u.ID + "-0123456789abcdef"), UserID: u.ID, Created: 1, Expires: 1000, Signup: true}
		if err := f.s.CreateClaim(ctx, c); err != nil {
			t.Fatal(err)
		}
		const n = 8
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				uc := confab.UserClaim{UserID: u.ID, Now: 10, PasswordHash: "h", Token: claimToken(u.ID + string(rune('a'+i)))}
				if withLink {
					uc.ClaimHash = c.Hash
				}
				_, errs[i] = f.s.ClaimUser(ctx, uc)
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case withLink:
				wantErr(t, "ClaimUser(concurrent, link)", err, confab.EUNAUTHORIZED, "invalid_claim")
			default:
				// The first to commit set the password.
				wantErr(t, "ClaimUser(concurrent, by sign-up)", err, confab.ECONFLICT, "already_claimed")
			}
		}
		if ok != 1 {
			t.Errorf("with link %v: %d of %d concurrent claims succeeded, want 1", withLink, ok, n)
		}
	}
}
