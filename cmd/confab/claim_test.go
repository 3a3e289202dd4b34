package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"
)

// importUsers imports ann and bea (with emails) and a bot through the
// API, as the owner, and returns their ids by name.
func importUsers(t *testing.T, owner *client) map[string]string {
	t.Helper()
	out := owner.must("admin.import.users", obj{"users": `[
		{"id":"U1","name":"ann","profile":{"email":"ann@example.com"}},
		{"id":"U2","name":"bea","profile":{"email":"bea@example.com"}},
		{"id":"U3","name":"robot","is_bot":true}]`})
	ids := map[string]string{}
	for slack, name := range map[string]string{"U1": "ann", "U2": "bea", "U3": "robot"} {
		ids[name] = out["users"].(obj)[slack].(string)
	}
	return ids
}

// claimsOf asks for links and returns them by name.
func claimsOf(t *testing.T, owner *client, signup bool, ids ...string) map[string]obj {
	t.Helper()
	out := owner.must("admin.import.claims", obj{"users": ids, "claim_by_signup": signup})
	byName := map[string]obj{}
	for _, c := range out["claims"].([]any) {
		byName[c.(obj)["name"].(string)] = c.(obj)
	}
	return byName
}

func tokenOf(link obj) string {
	_, token, _ := strings.Cut(link["url"].(string), "#")
	return token
}

// TestClaimAPI: admin.import.claims gives links to the owner only, for
// unclaimed people only; auth.claim redeems one once, refuses the rest
// and throttles guesses; the claimed user then logs in. A sign-up claims
// an account only where its link allows it.
func TestClaimAPI(t *testing.T) {
	m := MustRunMain(t)
	owner := signup(t, m, "acme", "alice")
	ids := importUsers(t, owner)
	dave := signup(t, m, "acme", "dave")
	dave.fails("admin.import.claims", obj{"users": []string{ids["ann"]}}, "not_authorized")
	owner.fails("admin.import.claims", obj{"users": "ann"}, "invalid_arguments")

	links := claimsOf(t, owner, false, ids["ann"], ids["bea"], ids["robot"], owner.userID, dave.userID)
	if len(links) != 2 || links["ann"] == nil || links["bea"] == nil {
		t.Fatalf("admin.import.claims = %v, want ann's and bea's", links)
	}
	ann := links["ann"]
	exp := time.Unix(int64(ann["expires"].(float64)), 0)
	if ann["user"] != ids["ann"] || ann["email"] != "ann@example.com" || ann["claim_by_signup"] != false ||
		!regexp.MustCompile(`^`+regexp.QuoteMeta(m.URL())+`/claim#`+ids["ann"]+`\.[0-9a-f]{64}$`).MatchString(ann["url"].(string)) ||
		time.Until(exp) < 14*24*time.Hour-time.Minute || time.Until(exp) > 14*24*time.Hour {
		t.Errorf("ann's link: %v", ann)
	}

	anon := &client{tb: t, base: m.URL(), name: "anonymous"}
	anon.fails("auth.login", obj{"team": "acme", "name": "bea", "password": "bea's password"}, "invalid_auth")
	anon.fails("auth.claim", obj{"token": tokenOf(links["bea"])}, "invalid_arguments")
	anon.fails("auth.claim", obj{"token": tokenOf(links["bea"]), "password": "short"}, "invalid_password")
	anon.fails("auth.claim", obj{"token": "nonsense", "password": "bea's password"}, "invalid_claim")
	out := anon.must("auth.claim", obj{"token": tokenOf(links["bea"]), "password": "bea's password", "display_name": "Bea B"})
	if out["user_id"] != ids["bea"] || out["user"] != "bea" || out["team"] != "acme" {
		t.Errorf("auth.claim = %v, want bea's session", out)
	}
	bea := &client{tb: t, base: m.URL(), name: "bea", token: out["token"].(string)}
	if got := bea.must("users.info", obj{"user": ids["bea"]})["user"].(obj)["profile"].(obj)["display_name"]; got != "Bea B" {
		t.Errorf("bea's display name after the claim: %v", got)
	}
	anon.fails("auth.claim", obj{"token": tokenOf(links["bea"]), "password": "another password"}, "invalid_claim")
	anon.must("auth.login", obj{"team": "acme", "name": "bea", "password": "bea's password"})

	// Guesses at ann's link: after the free ones, the right link waits.
	wrong := ids["ann"] + "." + strings.Repeat("0", 64)
	for range 5 {
		anon.fails("auth.claim", obj{"token": wrong, "password": "ann's password"}, "invalid_claim")
	}
	anon.fails("auth.claim", obj{"token": tokenOf(ann), "password": "ann's password"}, "ratelimited")

	// Sign-up with ann's name: not allowed by her link; then allowed.
	anon.fails("auth.signup", obj{"team": "acme", "name": "ann", "email": "ann@example.com", "password": "ann's password"}, "claim_link_required")
	claimsOf(t, owner, true, ids["ann"])
	anon.fails("auth.signup", obj{"team": "acme", "name": "ann", "email": "someone@example.com", "password": "ann's password"}, "claim_link_required")
	out = anon.must("auth.signup", obj{"team": "acme", "name": "ann", "email": "ann@example.com", "password": "ann's password"})
	if out["user_id"] != ids["ann"] {
		t.Errorf("sign-up as ann claimed %v, want her account %s", out["user_id"], ids["ann"])
	}
	anon.must("auth.login", obj{"team": "acme", "name": "ann", "password": "ann's password"})
	anon.fails("auth.signup", obj{"team": "acme", "name": "ann", "email": "ann@example.com", "password": "mallory's"}, "name_taken")
}

// The operator's link: a claim for an imported account, a reset for a
// claimed one; none for a bot.
func TestAdminUserClaim(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("CONFAB_PASSWORD_COST", "4")
	m := MustRunMain(t, func(m *Main) { m.Config.DataDir = dir })
	owner := signup(t, m, "acme", "alice")
	importUsers(t, owner)
	admin := func(args ...string) (string, error) {
		var err error
		out := captureStdout(t, func() error {
			err = runAdmin(context.Background(), append([]string{"user", "claim", "--data", dir, "--team", "acme", "--url", m.URL()}, args...))
			return nil
		})
		return out, err
	}
	linkRE := regexp.MustCompile(`(?m)^link=` + regexp.QuoteMeta(m.URL()) + `/claim#(\S+)$`)
	out, err := admin("--name", "ann")
	link := linkRE.FindStringSubmatch(out)
	if err != nil || link == nil || !strings.Contains(out, "name=ann email=ann@example.com kind=claim claim_by_signup=false") {
		t.Fatalf("admin user claim ann: %q, %v", out, err)
	}
	anon := &client{tb: t, base: m.URL(), name: "anonymous"}
	anon.must("auth.claim", obj{"token": link[1], "password": "ann's first"})

	out, err = admin("--name", "ann", "--signup")
	reset := linkRE.FindStringSubmatch(out)
	if err != nil || reset == nil || !strings.Contains(out, "kind=reset claim_by_signup=false") {
		t.Fatalf("admin user claim of claimed ann: %q, %v", out, err)
	}
	anon.must("auth.claim", obj{"token": reset[1], "password": "ann's second"})
	anon.fails("auth.login", obj{"team": "acme", "name": "ann", "password": "ann's first"}, "invalid_auth")
	anon.must("auth.login", obj{"team": "acme", "name": "ann", "password": "ann's second"})

	if _, err := admin("--name", "robot"); err == nil || !strings.Contains(err.Error(), "user_not_found") {
		t.Errorf("admin user claim of a bot: %v, want user_not_found", err)
	}
	if err := runAdmin(context.Background(), []string{"user", "claim", "--data", dir, "--team", "acme", "--name", "ann"}); err == nil || !strings.Contains(err.Error(), "--url") {
		t.Errorf("admin user claim without --url: %v", err)
	}
}
