package chat

import (
	"slices"
	"testing"

	"github.com/confab/confab"
)

// SearchUsers finds the caller's workspace's users by the start of a
// name; with a channel the caller may read, its members come first; a
// channel the caller may not read is channel_not_found, an empty query
// invalid_arguments.
func TestSearchUsers(t *testing.T) {
	f := newManageFixture(t)
	ctx := t.Context()
	signup := func(team, name string) *confab.User {
		sess, err := f.s.Signup(ctx, SignupParams{Team: team, Name: name, Password: "password1"})
		if err != nil {
			t.Fatal(err)
		}
		return sess.User
	}
	signup("acme", "bonnie")
	boris := signup("acme", "boris")
	signup("globex", "bond")
	if _, err := f.s.InviteToChannel(ctx, f.alice, f.pub, []string{boris.ID}); err != nil {
		t.Fatal(err)
	}
	names := func(by *confab.User, query, channel string, count int) ([]string, error) {
		us, err := f.s.SearchUsers(ctx, by, query, channel, count)
		var out []string
		for _, u := range us {
			out = append(out, u.Name)
		}
		return out, err
	}
	for _, c := range []struct {
		by             *confab.User
		query, channel string
		count          int
		want           []string
	}{
		{f.carol, "bo", "", 0, []string{"bob", "bonnie", "boris"}},
		{f.carol, "BO", "", 2, []string{"bob", "bonnie"}},
		{f.alice, "bo", f.pub, 0, []string{"bob", "boris", "bonnie"}}, // pub's members first
		{f.alice, "bo", f.pub, 2, []string{"bob", "boris"}},
		{f.carol, "bo", f.pub, 0, []string{"bob", "boris", "bonnie"}}, // a public channel one is not in
		{f.carol, "!!", "", 0, nil},
	} {
		got, err := names(c.by, c.query, c.channel, c.count)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("SearchUsers(%s, %q, %q, %d) = %v, %v; want %v", c.by.Name, c.query, c.channel, c.count, got, err, c.want)
		}
	}
	_, err := names(f.carol, "bo", f.priv, 0)
	wantErr(t, "SearchUsers(a private channel one is not in)", err, "channel_not_found")
	_, err = names(f.alice, "bo", "Cnope", 0)
	wantErr(t, "SearchUsers(a bad channel)", err, "channel_not_found")
	_, err = names(f.alice, " ", "", 0)
	wantErr(t, "SearchUsers(blank)", err, "invalid_arguments")
}
