package storetest

import (
	"bytes"
	"crypto/sha256"
	"slices"
	"testing"

	"github.com/confab/confab"
)

func hashOf(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

// MustApp installs an app with a bot user named name and a bot and an app
// token ("xoxb-"+name, "xapp-"+name).
func (f *fixture) MustApp(name string) (*confab.App, *confab.Bot, *confab.User) {
	f.tb.Helper()
	now := f.now()
	a := &confab.App{WorkspaceID: f.ws.ID, Manifest: `{"display_information":{"name":"` + name + `"}}`,
		ClientID: "cid-" + name, ClientSecret: "cs-" + name, VerificationToken: "vt-" + name, SigningSecret: "ss-" + name,
		CreatedBy: f.owner.ID, Created: now, Updated: now}
	b := &confab.Bot{Name: "Bot " + name, Updated: now}
	u := &confab.User{Name: name, RealName: "Bot " + name, Created: now}
	err := f.s.CreateApp(f.ctx, a, b, u, []*confab.Token{
		{Hash: hashOf("xoxb-" + name), Type: confab.TokenBot, Created: now},
		{Hash: hashOf("xapp-" + name), Type: confab.TokenApp, Created: now},
	})
	if err != nil {
		f.tb.Fatalf("CreateApp(%q) = %v", name, err)
	}
	return a, b, u
}

func testApps(t *testing.T, f *fixture) {
	ctx := f.ctx
	a, b, u := f.MustApp("helper")
	if a.ID == "" || a.ID[0] != 'A' || b.ID == "" || b.ID[0] != 'B' || u.ID == "" || u.ID[0] != 'U' {
		t.Fatalf("ids: app %q bot %q user %q", a.ID, b.ID, u.ID)
	}
	if b.AppID != a.ID || b.UserID != u.ID || b.WorkspaceID != f.ws.ID || !u.IsBot || u.WorkspaceID != f.ws.ID {
		t.Fatalf("CreateApp links: app %+v bot %+v user %+v", a, b, u)
	}
	got, err := f.s.FindApp(ctx, a.ID)
	if err != nil || *got != *a {
		t.Fatalf("FindApp = %+v, %v; want %+v", got, err, a)
	}
	gu, err := f.s.FindUserByID(ctx, u.ID)
	if err != nil || !gu.IsBot || gu.Name != "helper" {
		t.Fatalf("FindUserByID(bot user) = %+v, %v", gu, err)
	}
	for typ, tok := range map[string]string{confab.TokenBot: "xoxb-helper", confab.TokenApp: "xapp-helper"} {
		tk, err := f.s.FindToken(ctx, hashOf(tok))
		if err != nil || tk.UserID != u.ID || tk.Type != typ || !bytes.Equal(tk.Hash, hashOf(tok)) {
			t.Errorf("FindToken(%s) = %+v, %v; want user %s type %s", tok, tk, err, u.ID, typ)
		}
	}
	// A user's token reads as a user token.
	if err := f.s.CreateToken(ctx, &confab.Token{Hash: hashOf("xoxp-owner"), UserID: f.owner.ID, Created: f.now()}); err != nil {
		t.Fatal(err)
	}
	if tk, err := f.s.FindToken(ctx, hashOf("xoxp-owner")); err != nil || tk.Type != confab.TokenUser {
		t.Errorf("FindToken(user token) = %+v, %v; want type user", tk, err)
	}
	for _, flt := range []confab.BotFilter{{IDs: []string{b.ID}}, {UserIDs: []string{u.ID, f.owner.ID}}, {IDs: []string{"BNOPE"}, UserIDs: []string{u.ID}}, {AppIDs: []string{a.ID}}} {
		bots, err := f.s.FindBots(ctx, flt)
		if err != nil || len(bots) != 1 || *bots[0] != *b {
			t.Errorf("FindBots(%+v) = %v, %v; want [%+v]", flt, bots, err, b)
		}
	}
	if bots, err := f.s.FindBots(ctx, confab.BotFilter{UserIDs: []string{f.owner.ID}}); err != nil || len(bots) != 0 {
		t.Errorf("FindBots(a human) = %v, %v; want none", bots, err)
	}

	// The bot user's name is taken like any user's: nothing is written.
	a2 := &confab.App{WorkspaceID: f.ws.ID, Manifest: "{}", Created: f.now()}
	u2 := &confab.User{Name: "helper", Created: f.now()}
	err = f.s.CreateApp(ctx, a2, &confab.Bot{Name: "x"}, u2, []*confab.Token{{Hash: hashOf("xoxb-dup"), Type: confab.TokenBot}})
	wantErr(t, "CreateApp(taken name)", err, confab.ECONFLICT, "name_taken")
	if a2.ID != "" {
		_, err = f.s.FindApp(ctx, a2.ID)
		wantErr(t, "FindApp(refused app)", err, confab.ENOTFOUND, "app_not_found")
	}
	_, err = f.s.FindToken(ctx, hashOf("xoxb-dup"))
	wantErr(t, "FindToken(refused app's token)", err, confab.EUNAUTHORIZED, "invalid_auth")

	upd, err := f.s.UpdateApp(ctx, a.ID, confab.AppUpdate{Manifest: `{"v":2}`, BotName: "Renamed", Updated: a.Updated + 10})
	if err != nil || upd.Manifest != `{"v":2}` || upd.Updated != a.Updated+10 || upd.SigningSecret != a.SigningSecret {
		t.Fatalf("UpdateApp = %+v, %v", upd, err)
	}
	if bots, _ := f.s.FindBots(ctx, confab.BotFilter{IDs: []string{b.ID}}); len(bots) != 1 || bots[0].Name != "Renamed" || bots[0].Updated != a.Updated+10 {
		t.Errorf("bot after UpdateApp = %v", bots)
	}
	_, err = f.s.UpdateApp(ctx, "ANOPE", confab.AppUpdate{Manifest: "{}"})
	wantErr(t, "UpdateApp(unknown)", err, confab.ENOTFOUND, "app_not_found")

	if err := f.s.DeleteApp(ctx, a.ID, a.Updated+20); err != nil {
		t.Fatalf("DeleteApp = %v", err)
	}
	_, err = f.s.FindApp(ctx, a.ID)
	wantErr(t, "FindApp(deleted)", err, confab.ENOTFOUND, "app_not_found")
	if bots, _ := f.s.FindBots(ctx, confab.BotFilter{IDs: []string{b.ID}}); len(bots) != 1 || !bots[0].Deleted || bots[0].Updated != a.Updated+20 {
		t.Errorf("bot after DeleteApp = %v, want deleted", bots)
	}
	if gu, err := f.s.FindUserByID(ctx, u.ID); err != nil || !gu.Deleted {
		t.Errorf("bot user after DeleteApp = %+v, %v; want deleted", gu, err)
	}
	for _, tok := range []string{"xoxb-helper", "xapp-helper"} {
		_, err = f.s.FindToken(ctx, hashOf(tok))
		wantErr(t, "FindToken("+tok+") after DeleteApp", err, confab.EUNAUTHORIZED, "invalid_auth")
	}
	if _, err := f.s.FindToken(ctx, hashOf("xoxp-owner")); err != nil {
		t.Errorf("the owner's token after DeleteApp: %v", err)
	}
	wantErr(t, "DeleteApp(again)", f.s.DeleteApp(ctx, a.ID, 0), confab.ENOTFOUND, "app_not_found")

	// A bot user is a member like any user (in a pocket's own database too).
	_, _, u3 := f.MustApp("other")
	ch := f.MustChannel("plaza", confab.KindPublic, f.owner, u3)
	f.MustPost(ch, u3, "from a bot")
}

func testAppPositions(t *testing.T, f *fixture) {
	ctx := f.ctx
	a1, _, _ := f.MustApp("reader-one")
	a2, _, _ := f.MustApp("reader-two")
	if ps, err := f.s.FindAppPositions(ctx, a1.ID); err != nil || len(ps) != 0 {
		t.Fatalf("FindAppPositions(new app) = %v, %v; want none", ps, err)
	}
	save := func(app string, ps ...confab.AppPosition) {
		t.Helper()
		if err := f.s.SaveAppPositions(ctx, app, ps); err != nil {
			t.Fatalf("SaveAppPositions(%s) = %v", app, err)
		}
	}
	byChannel := func(app string) map[string]confab.AppPosition {
		t.Helper()
		ps, err := f.s.FindAppPositions(ctx, app)
		if err != nil {
			t.Fatalf("FindAppPositions(%s) = %v", app, err)
		}
		m := map[string]confab.AppPosition{}
		for _, p := range ps {
			m[p.ChannelID] = p
		}
		return m
	}
	save(a1.ID, confab.AppPosition{ChannelID: "C1", Seq: 5, JoinedAt: 100}, confab.AppPosition{ChannelID: "C2", Seq: 7, JoinedAt: 100})
	save(a2.ID, confab.AppPosition{ChannelID: "C1", Seq: 1, JoinedAt: 200})
	save(a1.ID, confab.AppPosition{ChannelID: "C1", Seq: 9, JoinedAt: 100})
	// A new membership starts again lower.
	save(a1.ID, confab.AppPosition{ChannelID: "C2", Seq: 3, JoinedAt: 300})
	got := byChannel(a1.ID)
	want := map[string]confab.AppPosition{
		"C1": {ChannelID: "C1", Seq: 9, JoinedAt: 100},
		"C2": {ChannelID: "C2", Seq: 3, JoinedAt: 300},
	}
	if len(got) != len(want) || got["C1"] != want["C1"] || got["C2"] != want["C2"] {
		t.Fatalf("positions of app one = %+v; want %+v", got, want)
	}
	if got := byChannel(a2.ID); len(got) != 1 || got["C1"].Seq != 1 {
		t.Fatalf("positions of app two = %+v; want C1 at 1 (apps do not share positions)", got)
	}
	save(a1.ID) // nothing to save is fine

	// FindApps pages every installed app by id.
	var ids []string
	for after := ""; ; {
		page, err := f.s.FindApps(ctx, confab.AppFilter{AfterID: after, Limit: 1})
		if err != nil {
			t.Fatalf("FindApps = %v", err)
		}
		if len(page) == 0 {
			break
		}
		if len(page) != 1 {
			t.Fatalf("FindApps(limit 1) = %d apps", len(page))
		}
		ids = append(ids, page[0].ID)
		after = page[0].ID
	}
	if !slices.IsSorted(ids) || !slices.Contains(ids, a1.ID) || !slices.Contains(ids, a2.ID) {
		t.Fatalf("FindApps ids = %v; want sorted, with %s and %s", ids, a1.ID, a2.ID)
	}

	// Deleting an app takes its positions; saving for it records nothing.
	if err := f.s.DeleteApp(ctx, a1.ID, f.now()); err != nil {
		t.Fatal(err)
	}
	save(a1.ID, confab.AppPosition{ChannelID: "C3", Seq: 1, JoinedAt: 1})
	if got := byChannel(a1.ID); len(got) != 0 {
		t.Fatalf("positions of a deleted app = %+v; want none", got)
	}
	save("A0NOSUCHAPP0", confab.AppPosition{ChannelID: "C1", Seq: 1, JoinedAt: 1})
	if got := byChannel("A0NOSUCHAPP0"); len(got) != 0 {
		t.Fatalf("positions of an unknown app = %+v; want none", got)
	}
	if got := byChannel(a2.ID); len(got) != 1 {
		t.Fatalf("positions of app two after deleting app one = %+v", got)
	}
}
