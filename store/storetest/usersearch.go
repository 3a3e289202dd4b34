package storetest

import (
	"slices"
	"strings"
	"testing"

	"github.com/confab/confab"
)

// searchNames is what SearchUsers finds for query (a raw query, keyed as
// users.search keys it), by handle, in the store's order.
func searchNames(t *testing.T, f *fixture, workspaceID, query string, limit int) []string {
	t.Helper()
	us, err := f.s.SearchUsers(f.ctx, confab.UserSearch{WorkspaceID: workspaceID, Query: confab.UserSearchKey(query), Limit: limit})
	if err != nil {
		t.Fatalf("SearchUsers(%q) = %v", query, err)
	}
	var out []string
	for _, u := range us {
		out = append(out, u.Name)
	}
	return out
}

func (f *fixture) mustNamedUser(name, real, display string) *confab.User {
	f.tb.Helper()
	u := &confab.User{ID: confab.NewID(confab.PrefixUser), WorkspaceID: f.ws.ID, Name: name,
		RealName: real, DisplayName: display, Created: f.now()}
	if err := f.s.CreateUser(f.ctx, u); err != nil {
		f.tb.Fatalf("CreateUser(%q) = %v", name, err)
	}
	return u
}

// testSearchUsers: a query finds the users with a handle, real name or
// display name whose start, or the start of one of whose words, it is, in
// any case; ordered by the matching term; only of the workspace; never
// deleted users; bots too.
func testSearchUsers(t *testing.T, f *fixture) {
	ctx := f.ctx
	ana := f.mustNamedUser("ana", "Ana-María López", "")
	smith := f.mustNamedUser("jsmith", "John Smith", "Johnny")
	f.mustNamedUser("smithers", "Waylon Smithers", "")
	f.mustNamedUser("zed", "Zed", "Ánimo Total")
	other, _ := f.MustWorkspace("elsewhere")
	f.MustUserIn(other.ID, "smitty")

	for _, c := range []struct {
		q    string
		want []string
	}{
		{"smi", []string{"jsmith", "smithers"}},   // "smith" < "smithers"
		{"SMITH", []string{"jsmith", "smithers"}}, // any case
		{"john smi", []string{"jsmith"}},          // runs across words
		{"joh", []string{"jsmith"}},               // one user once, however many terms match
		{"lópez", []string{"ana"}},                // Unicode lowercased
		{"LÓP", []string{"ana"}},                  //
		{"maría", []string{"ana"}},                // a word after punctuation
		{"ánimo", []string{"zed"}},                // display name
		{"total", []string{"zed"}},                //
		{"jsm", []string{"jsmith"}},               // handle
		{"mith", nil},                             // not the start of a word
		{"nobody", nil},                           //
		{"", nil},                                 // an empty query finds nobody
		{"@#!", nil},                              // nor one without a word
		{strings.Repeat("a", 300), nil},           // a long one is cut, not an error
	} {
		if got := searchNames(t, f, f.ws.ID, c.q, 20); !slices.Equal(got, c.want) {
			t.Errorf("SearchUsers(%q) = %v; want %v", c.q, got, c.want)
		}
	}
	if got := searchNames(t, f, other.ID, "smi", 20); !slices.Equal(got, []string{"smitty"}) {
		t.Errorf("SearchUsers(elsewhere, smi) = %v; want [smitty]", got)
	}

	// The limit counts users.
	if got := searchNames(t, f, f.ws.ID, "smi", 1); !slices.Equal(got, []string{"jsmith"}) {
		t.Errorf("SearchUsers(smi, limit 1) = %v; want [jsmith]", got)
	}

	// A new name is found and the old one no longer; a status change keeps
	// the names.
	disp, real := "Jo", "Joan Smythe"
	if _, err := f.s.UpdateUser(ctx, smith.ID, confab.UserUpdate{DisplayName: &disp, RealName: &real}); err != nil {
		t.Fatal(err)
	}
	if got := searchNames(t, f, f.ws.ID, "smy", 20); !slices.Equal(got, []string{"jsmith"}) {
		t.Errorf("after the rename, SearchUsers(smy) = %v; want [jsmith]", got)
	}
	if got := searchNames(t, f, f.ws.ID, "johnny", 20); got != nil {
		t.Errorf("after the rename, SearchUsers(johnny) = %v; want nobody", got)
	}
	status := "away"
	if _, err := f.s.UpdateUser(ctx, ana.ID, confab.UserUpdate{StatusText: &status}); err != nil {
		t.Fatal(err)
	}
	if got := searchNames(t, f, f.ws.ID, "ana", 20); !slices.Equal(got, []string{"ana"}) {
		t.Errorf("after a status, SearchUsers(ana) = %v; want [ana]", got)
	}

	// A bot user is found until its app is uninstalled.
	a, _, _ := f.MustApp("smithbot")
	if got := searchNames(t, f, f.ws.ID, "smithb", 20); !slices.Equal(got, []string{"smithbot"}) {
		t.Errorf("SearchUsers(smithb) = %v; want the bot user", got)
	}
	if err := f.s.DeleteApp(ctx, a.ID, f.now()); err != nil {
		t.Fatal(err)
	}
	if got := searchNames(t, f, f.ws.ID, "smithb", 20); got != nil {
		t.Errorf("after DeleteApp, SearchUsers(smithb) = %v; want nobody", got)
	}
	// The owner (CreateWorkspace) is indexed too.
	if got := searchNames(t, f, f.ws.ID, "the own", 20); !slices.Equal(got, []string{f.owner.Name}) {
		t.Errorf("SearchUsers(the own) = %v; want the owner", got)
	}
}

// testSearchUsersBound: a broad query over many users returns the limit,
// each user once, in term order.
func testSearchUsersBound(t *testing.T, f *fixture) {
	var want []string
	for _, n := range []string{"sam", "sara", "sasha", "saul", "sage", "sal", "sanjay", "sandy"} {
		// Each has several terms starting with "sa": handle, real and
		// display names.
		f.mustNamedUser(n, "Sa "+n+" Sa", "sa-"+n)
		want = append(want, n)
	}
	got := searchNames(t, f, f.ws.ID, "sa", 5)
	if len(got) != 5 {
		t.Fatalf("SearchUsers(sa, limit 5) = %v; want 5 users", got)
	}
	seen := map[string]bool{}
	for _, n := range got {
		if seen[n] {
			t.Errorf("SearchUsers(sa) lists %s twice: %v", n, got)
		}
		seen[n] = true
	}
	// Every one's first term is "sa" (the real name "Sa …"): ties by id.
	all := searchNames(t, f, f.ws.ID, "sa", 0)
	slices.Sort(all)
	slices.Sort(want)
	if !slices.Equal(all, want) {
		t.Errorf("SearchUsers(sa, no limit) = %v; want %v", all, want)
	}
}

// testFindMembersAmong: MemberFilter.UserIDs keeps only those users, in id
// order; an empty list keeps nobody.
func testFindMembersAmong(t *testing.T, f *fixture) {
	a, b, c := f.MustUser("a1"), f.MustUser("b1"), f.MustUser("c1")
	ch := f.MustChannel("room", confab.KindPublic, a, c)
	want := []string{a.ID, c.ID}
	slices.Sort(want)
	got, err := f.s.FindMembers(f.ctx, confab.MemberFilter{ChannelID: ch.ID, UserIDs: []string{c.ID, b.ID, a.ID, "Unobody"}})
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("FindMembers(among a, b, c) = %v, %v; want %v", got, err, want)
	}
	got, err = f.s.FindMembers(f.ctx, confab.MemberFilter{ChannelID: ch.ID, UserIDs: []string{}})
	if err != nil || len(got) != 0 {
		t.Errorf("FindMembers(among none) = %v, %v; want none", got, err)
	}
}
