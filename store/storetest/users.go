package storetest

import (
	"testing"

	"github.com/confab/confab"
)

// testUserEmails: an email is stored lowercased, unique per workspace in
// any case, found in any case; "" is no email and never taken.
func testUserEmails(t *testing.T, f *fixture) {
	ctx := f.ctx
	alice := &confab.User{ID: confab.NewID(confab.PrefixUser), WorkspaceID: f.ws.ID, Name: "alice",
		Email: "Alice.Smith@Example.COM", Created: f.now(), TZ: "Europe/Paris"}
	if err := f.s.CreateUser(ctx, alice); err != nil {
		t.Fatalf("CreateUser(alice) = %v", err)
	}
	if alice.Email != "alice.smith@example.com" {
		t.Errorf("CreateUser set Email %q, want it lowercased", alice.Email)
	}
	for _, email := range []string{"alice.smith@example.com", "ALICE.SMITH@EXAMPLE.COM", "Alice.Smith@Example.COM"} {
		got, err := f.s.FindUserByEmail(ctx, f.ws.ID, email)
		if err != nil || *got != *alice {
			t.Errorf("FindUserByEmail(%q) = %+v, %v; want %+v", email, got, err, *alice)
		}
	}
	if got, err := f.s.FindUserByID(ctx, alice.ID); err != nil || got.Email != "alice.smith@example.com" {
		t.Errorf("FindUserByID(alice) = %+v, %v; want her lowercased email", got, err)
	}

	// Taken in another case: nothing is created.
	dup := &confab.User{ID: confab.NewID(confab.PrefixUser), WorkspaceID: f.ws.ID, Name: "alice2",
		Email: "ALICE.smith@example.com", Created: f.now()}
	wantErr(t, "CreateUser(taken email)", f.s.CreateUser(ctx, dup), confab.ECONFLICT, "email_taken")
	_, err := f.s.FindUserByID(ctx, dup.ID)
	wantErr(t, "FindUserByID(failed user)", err, confab.ENOTFOUND, "user_not_found")
	// A taken name is name_taken whatever the email.
	dupName := &confab.User{ID: confab.NewID(confab.PrefixUser), WorkspaceID: f.ws.ID, Name: "alice",
		Email: "other@example.com", Created: f.now()}
	wantErr(t, "CreateUser(taken name)", f.s.CreateUser(ctx, dupName), confab.ECONFLICT, "name_taken")

	// Users without an email do not collide, and "" finds no one.
	f.MustUser("nomail1")
	f.MustUser("nomail2")
	_, err = f.s.FindUserByEmail(ctx, f.ws.ID, "")
	wantErr(t, "FindUserByEmail(\"\")", err, confab.ENOTFOUND, "user_not_found")
	_, err = f.s.FindUserByEmail(ctx, f.ws.ID, "nobody@example.com")
	wantErr(t, "FindUserByEmail(unknown)", err, confab.ENOTFOUND, "user_not_found")

	// The same email in another workspace is another user's, and each
	// workspace finds its own.
	ws2 := &confab.Workspace{ID: confab.NewID(confab.PrefixWorkspace), Name: "globex", Domain: "globex", Created: f.now()}
	owner2 := &confab.User{ID: confab.NewID(confab.PrefixUser), Name: "boss", Email: "alice.smith@example.com", Created: f.now()}
	if err := f.s.CreateWorkspace(ctx, ws2, owner2); err != nil {
		t.Fatalf("CreateWorkspace(owner with alice's email elsewhere) = %v", err)
	}
	if got, err := f.s.FindUserByEmail(ctx, ws2.ID, "alice.smith@example.com"); err != nil || got.ID != owner2.ID {
		t.Errorf("FindUserByEmail(globex) = %+v, %v; want %s", got, err, owner2.ID)
	}
	if got, err := f.s.FindUserByEmail(ctx, f.ws.ID, "alice.smith@example.com"); err != nil || got.ID != alice.ID {
		t.Errorf("FindUserByEmail(acme) = %+v, %v; want %s", got, err, alice.ID)
	}
}

// testUpdateUser: UpdateUser changes the fields it sets and keeps the
// others.
func testUpdateUser(t *testing.T, f *fixture) {
	ctx := f.ctx
	alice := &confab.User{ID: confab.NewID(confab.PrefixUser), WorkspaceID: f.ws.ID, Name: "alice",
		RealName: "Alice", DisplayName: "al", Email: "alice@example.com", PasswordHash: "h", Created: f.now(), TZ: "Asia/Tokyo"}
	if err := f.s.CreateUser(ctx, alice); err != nil {
		t.Fatal(err)
	}
	text, emoji, exp := "in a meeting", ":calendar:", int64(1_800_000_000)
	got, err := f.s.UpdateUser(ctx, alice.ID, confab.UserUpdate{StatusText: &text, StatusEmoji: &emoji, StatusExpiration: &exp})
	want := *alice
	want.StatusText, want.StatusEmoji, want.StatusExpiration = text, emoji, exp
	if err != nil || *got != want {
		t.Errorf("UpdateUser(status) = %+v, %v; want %+v", got, err, want)
	}
	real, empty := "Alice Smith", ""
	got, err = f.s.UpdateUser(ctx, alice.ID, confab.UserUpdate{RealName: &real, DisplayName: &empty})
	want.RealName, want.DisplayName = real, ""
	if err != nil || *got != want {
		t.Errorf("UpdateUser(names) = %+v, %v; want %+v", got, err, want)
	}
	if got, err := f.s.FindUserByID(ctx, alice.ID); err != nil || *got != want {
		t.Errorf("FindUserByID after UpdateUser = %+v, %v; want %+v", got, err, want)
	}
	if got, err := f.s.UpdateUser(ctx, alice.ID, confab.UserUpdate{}); err != nil || *got != want {
		t.Errorf("UpdateUser(nothing) = %+v, %v; want %+v", got, err, want)
	}
	_, err = f.s.UpdateUser(ctx, confab.NewID(confab.PrefixUser), confab.UserUpdate{RealName: &real})
	wantErr(t, "UpdateUser(unknown)", err, confab.ENOTFOUND, "user_not_found")
}
