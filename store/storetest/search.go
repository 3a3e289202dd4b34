package storetest

import (
	"cmp"
	"fmt"
	"slices"
	"testing"

	"github.com/confab/confab"
)

// The search cases (Store.SearchMessages, confab.SearchFilter). Every
// message of a case is posted through searchPoster, which gives each a ts
// above every earlier one's, in any channel: the order of posting is the
// order of ts, and SortTimestamp results can be compared as lists.

// searchPoster posts messages with globally increasing ts.
type searchPoster struct {
	f  *fixture
	ts int64
}

func (f *fixture) searchPoster() *searchPoster {
	return &searchPoster{f: f, ts: 1_700_000_000_000_000}
}

func (p *searchPoster) post(ch *confab.Channel, u *confab.User, text string) *confab.Message {
	p.f.tb.Helper()
	p.ts += 1000
	return p.f.MustCreate(&confab.Message{ChannelID: ch.ID, UserID: u.ID, Text: text, TS: p.ts})
}

func (p *searchPoster) reply(parent *confab.Message, u *confab.User, text string) *confab.Message {
	p.f.tb.Helper()
	p.ts += 1000
	return p.f.MustCreate(&confab.Message{ChannelID: parent.ChannelID, UserID: u.ID, Text: text, TS: p.ts, ThreadTS: parent.TS})
}

// word is a query's word, phrase or CJK word: its search tokens.
func word(s string) confab.SearchTerm { return confab.SearchTerm{Words: confab.SearchTokens(s)} }

func prefix(s string) confab.SearchTerm {
	return confab.SearchTerm{Words: confab.SearchTokens(s), Prefix: true}
}

func substring(s string) confab.SearchTerm {
	return confab.SearchTerm{Words: confab.SearchTokens(s), Substring: true}
}

// searchIn is a filter of the fixture's workspace for reader, newest
// first, one page of 100.
func (f *fixture) searchIn(reader *confab.User, terms ...confab.SearchTerm) confab.SearchFilter {
	return confab.SearchFilter{WorkspaceID: f.ws.ID, ReaderID: reader.ID, Terms: terms,
		Sort: confab.SortTimestamp, Limit: 100}
}

func (f *fixture) mustSearch(flt confab.SearchFilter) *confab.SearchResult {
	f.tb.Helper()
	res, err := f.s.SearchMessages(f.ctx, flt)
	if err != nil {
		f.tb.Fatalf("SearchMessages(%+v) = %v", flt, err)
	}
	return res
}

// wantFound fails unless the search finds exactly want, in that order,
// and counts them in Total.
func (f *fixture) wantFound(t *testing.T, what string, flt confab.SearchFilter, want ...*confab.Message) {
	t.Helper()
	res, err := f.s.SearchMessages(f.ctx, flt)
	if err != nil {
		t.Errorf("%s: SearchMessages = %v", what, err)
		return
	}
	if got, w := foundTexts(res.Messages), foundTexts(want); !slices.Equal(got, w) || res.Total != len(want) {
		t.Errorf("%s: found %q (total %d), want %q (total %d)", what, got, res.Total, w, len(want))
		return
	}
	for i, m := range res.Messages {
		if m.ChannelID != want[i].ChannelID || m.TS != want[i].TS {
			t.Errorf("%s: result %d is %s/%d, want %s/%d", what, i, m.ChannelID, m.TS, want[i].ChannelID, want[i].TS)
		}
	}
}

func foundTexts(ms []*confab.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Text
	}
	return out
}

// newest returns ms newest first: the order of a SortTimestamp search.
func newest(ms ...*confab.Message) []*confab.Message {
	out := slices.Clone(ms)
	slices.SortFunc(out, func(a, b *confab.Message) int { return -cmp.Compare(a.TS, b.TS) })
	return out
}

func testSearchText(t *testing.T, f *fixture) {
	alice, bob := f.MustUser("alice"), f.MustUser("bob")
	c := f.MustChannel("plaza", confab.KindPublic, alice, bob)
	p := f.searchPoster()
	deploy := p.post(c, alice, "Deploy the new release today")
	notes := p.post(c, bob, "the release notes are ready")
	cafe := p.post(c, alice, "Un CAFÉ au lait, s'il vous plaît")
	tokyo := p.post(c, bob, "東京都庁に行きます")
	korean := p.post(c, alice, "한국어 검색 테스트")
	pipeline := p.post(c, bob, "deployment pipeline broke")
	redeploy := p.post(c, alice, "redeploy please")
	docs := p.post(c, bob, "read <https://example.com/guide|the handbook> first")
	osaka := p.post(c, alice, "大阪 trip then 阪神 game")
	all := newest(deploy, notes, cafe, tokyo, korean, pipeline, redeploy, docs, osaka)

	for _, tc := range []struct {
		what  string
		terms []confab.SearchTerm
		want  []*confab.Message
	}{
		{"a word", []confab.SearchTerm{word("release")}, newest(deploy, notes)},
		{"a word in capitals", []confab.SearchTerm{word("RELEASE")}, newest(deploy, notes)},
		{"a word is a whole token", []confab.SearchTerm{word("deploy")}, newest(deploy)},
		{"two words, anywhere", []confab.SearchTerm{word("today"), word("release")}, newest(deploy)},
		{"two words, one missing", []confab.SearchTerm{word("release"), word("pipeline")}, nil},
		{"diacritics folded in the text", []confab.SearchTerm{word("cafe")}, newest(cafe)},
		{"diacritics folded in the query", []confab.SearchTerm{word("plaît")}, newest(cafe)},
		{"a Han word inside a compound", []confab.SearchTerm{word("東京")}, newest(tokyo)},
		{"a Han word's characters in order", []confab.SearchTerm{word("京東")}, nil},
		{"a longer Han word inside a compound", []confab.SearchTerm{word("東京都")}, newest(tokyo)},
		{"a Han word, kana and all", []confab.SearchTerm{word("都庁に行き")}, newest(tokyo)},
		{"a Han word not across words", []confab.SearchTerm{word("大阪神")}, nil},
		{"a Han word and a word", []confab.SearchTerm{word("阪神 game")}, newest(osaka)},
		{"a Hangul word", []confab.SearchTerm{word("검색")}, newest(korean)},
		{"a phrase", []confab.SearchTerm{word("new release")}, newest(deploy)},
		{"a phrase's words adjacent", []confab.SearchTerm{word("deploy release")}, nil},
		{"a phrase in order", []confab.SearchTerm{word("notes release")}, nil},
		{"a prefix", []confab.SearchTerm{prefix("deploy")}, newest(deploy, pipeline)},
		{"a phrase ending in a prefix", []confab.SearchTerm{prefix("release no")}, newest(notes)},
		{"a substring", []confab.SearchTerm{substring("ploy")}, newest(deploy, pipeline, redeploy)},
		{"a substring across words", []confab.SearchTerm{{Words: []string{"e", "not"}, Substring: true}}, newest(notes)},
		{"a substring of a Han compound", []confab.SearchTerm{substring("都庁")}, newest(tokyo)},
		{"a substring across words, inside both", []confab.SearchTerm{substring("ample.co")}, newest(docs)},
		{"a substring ending in a Han character", []confab.SearchTerm{substring("rip then 阪")}, newest(osaka)},
		{"a substring no word holds", []confab.SearchTerm{substring("xyzzy")}, nil},
		{"a substring and a word", []confab.SearchTerm{substring("ploy"), word("please")}, newest(redeploy)},
		{"a link's label", []confab.SearchTerm{word("handbook")}, newest(docs)},
		{"a link's url", []confab.SearchTerm{word("example")}, newest(docs)},
		{"a word nowhere", []confab.SearchTerm{word("nowhere")}, nil},
		{"no terms: every message", nil, all},
	} {
		f.wantFound(t, tc.what, f.searchIn(bob, tc.terms...), tc.want...)
	}

	for _, tc := range []struct {
		what     string
		terms    []confab.SearchTerm
		excluded []confab.SearchTerm
		want     []*confab.Message
	}{
		{"a word without another", []confab.SearchTerm{word("release")}, []confab.SearchTerm{word("notes")}, newest(deploy)},
		{"a word without a phrase", []confab.SearchTerm{word("release")}, []confab.SearchTerm{word("notes are")}, newest(deploy)},
		{"a phrase excluded needs the phrase", []confab.SearchTerm{word("release")}, []confab.SearchTerm{word("are notes")}, newest(deploy, notes)},
		{"a word without a prefix", []confab.SearchTerm{prefix("deploy")}, []confab.SearchTerm{prefix("pipe")}, newest(deploy)},
		{"a word without a substring", []confab.SearchTerm{word("release")}, []confab.SearchTerm{substring("otes")}, newest(deploy)},
		{"only excluded", nil, []confab.SearchTerm{word("release"), word("redeploy")}, newest(cafe, tokyo, korean, pipeline, docs, osaka)},
		{"only an excluded substring", nil, []confab.SearchTerm{substring("ploy")}, newest(notes, cafe, tokyo, korean, docs, osaka)},
	} {
		flt := f.searchIn(bob, tc.terms...)
		flt.Excluded = tc.excluded
		f.wantFound(t, tc.what, flt, tc.want...)
	}
}

// testSearchInjection: a term's words are text, never query syntax, on
// any store: quotes, operators and wildcards inside them neither fail the
// search nor change what it finds.
func testSearchInjection(t *testing.T, f *fixture) {
	alice := f.MustUser("alice")
	c := f.MustChannel("plaza", confab.KindPublic, alice)
	p := f.searchPoster()
	notes := p.post(c, alice, "the release notes are ready")
	near := p.post(c, alice, "the door is near AND the window OR the NOT roof")
	p.post(c, alice, "today is fine")

	// A query typed as `release" OR "today` is one phrase of three tokens.
	f.wantFound(t, "a quote and OR in a phrase", f.searchIn(alice, word(`release" OR "today`)))
	f.wantFound(t, "an operator in a phrase", f.searchIn(alice, word(`release NOT notes`)))
	// FTS5 and tsquery operators as words are words.
	for _, w := range []string{"NEAR", "AND", "OR", "NOT", "near", "and", "or", "not"} {
		f.wantFound(t, "the word "+w, f.searchIn(alice, confab.SearchTerm{Words: []string{w}}), near)
	}
	f.wantFound(t, "operators as a phrase", f.searchIn(alice, confab.SearchTerm{Words: []string{"near", "and", "the"}}), near)
	// Syntax characters inside a word: no error, whatever is found.
	for _, w := range []string{`"`, `""`, `re"lease`, `*`, `release*`, `(`, `)`, `:`, `body:release`, `{body}`,
		`^release`, `-release`, `+`, `NEAR(release notes)`, `'`, `\`, `&`, `|`, `!`, `<->`, `:*`, `release:*`} {
		for _, term := range []confab.SearchTerm{
			{Words: []string{w}},
			{Words: []string{"release", w}},
			{Words: []string{w}, Prefix: true},
			{Words: []string{"release", w}, Substring: true},
		} {
			flt := f.searchIn(alice, term)
			if _, err := f.s.SearchMessages(f.ctx, flt); err != nil {
				t.Errorf("SearchMessages(%+v) = %v", term, err)
			}
			flt = f.searchIn(alice, word("release"))
			flt.Excluded = []confab.SearchTerm{term}
			if _, err := f.s.SearchMessages(f.ctx, flt); err != nil {
				t.Errorf("SearchMessages(excluded %+v) = %v", term, err)
			}
		}
	}
	// A word's syntax does not widen the search: "release*" as a word is
	// not the prefix release.
	flt := f.searchIn(alice, word("release"))
	if res := f.mustSearch(flt); res.Total != 1 || res.Messages[0].TS != notes.TS {
		t.Errorf("release after the hostile queries: total %d", res.Total)
	}
}

func testSearchReaders(t *testing.T, f *fixture) {
	ctx := f.ctx
	alice, bob, carol, dave := f.MustUser("alice"), f.MustUser("bob"), f.MustUser("carol"), f.MustUser("dave")
	general := f.MustChannel("plaza", confab.KindPublic, alice, bob)
	secret := f.MustChannel("secret", confab.KindPrivate, alice, bob)
	old := f.MustChannel("old", confab.KindPublic, alice)
	dm := f.MustDM(alice, bob)
	group := f.MustDM(alice, bob, carol)
	globex, globexOwner := f.MustWorkspace("globex")
	elsewhere := f.MustChannelIn(globex.ID, "plaza", confab.KindPublic, globexOwner)

	p := f.searchPoster()
	inGeneral := p.post(general, alice, "zebra in general")
	inSecret := p.post(secret, bob, "zebra in secret")
	inOld := p.post(old, alice, "zebra in old")
	inDM := p.post(dm, alice, "zebra in a dm")
	inGroup := p.post(group, carol, "zebra in a group")
	inGlobex := p.post(elsewhere, globexOwner, "zebra in globex")
	archived := true
	if _, err := f.s.UpdateChannel(ctx, old.ID, confab.ChannelUpdate{Archived: &archived}); err != nil {
		t.Fatal(err)
	}

	zebra := word("zebra")
	f.wantFound(t, "a member of all", f.searchIn(alice, zebra), newest(inGeneral, inSecret, inOld, inDM, inGroup)...)
	f.wantFound(t, "bob: public channels as a non-member, archived too", f.searchIn(bob, zebra),
		newest(inGeneral, inSecret, inOld, inDM, inGroup)...)
	f.wantFound(t, "carol: no private channel or DM she is not in", f.searchIn(carol, zebra),
		newest(inGeneral, inOld, inGroup)...)
	f.wantFound(t, "dave: public channels only", f.searchIn(dave, zebra), newest(inGeneral, inOld)...)
	f.wantFound(t, "dave, without terms", f.searchIn(dave), newest(inGeneral, inOld)...)

	// in: narrows what the reader may read; it never widens it.
	flt := f.searchIn(carol, zebra)
	flt.ChannelIDs = []string{secret.ID, dm.ID, general.ID}
	f.wantFound(t, "carol in: channels she may not read", flt, inGeneral)
	flt = f.searchIn(carol)
	flt.ChannelIDs = []string{secret.ID}
	f.wantFound(t, "carol in:secret without terms", flt)
	flt = f.searchIn(dave, zebra)
	flt.ChannelIDs = []string{elsewhere.ID}
	f.wantFound(t, "in: another workspace's channel", flt)

	// A member who left a private channel no longer finds its messages.
	if _, err := f.s.RemoveMember(ctx, secret.ID, bob.ID); err != nil {
		t.Fatal(err)
	}
	f.wantFound(t, "bob after leaving secret", f.searchIn(bob, zebra), newest(inGeneral, inOld, inDM, inGroup)...)
	if _, err := f.s.AddMember(ctx, secret.ID, dave.ID, f.now()); err != nil {
		t.Fatal(err)
	}
	f.wantFound(t, "dave after joining secret: its past messages too", f.searchIn(dave, zebra),
		newest(inGeneral, inSecret, inOld)...)

	// Another workspace finds its own messages only.
	f.wantFound(t, "globex's owner in globex",
		confab.SearchFilter{WorkspaceID: globex.ID, ReaderID: globexOwner.ID, Terms: []confab.SearchTerm{zebra}, Sort: confab.SortTimestamp, Limit: 100},
		inGlobex)
}

func testSearchEdits(t *testing.T, f *fixture) {
	ctx := f.ctx
	alice := f.MustUser("alice")
	c := f.MustChannel("plaza", confab.KindPublic, alice)
	p := f.searchPoster()
	m := p.post(c, alice, "original wording here")
	other := p.post(c, alice, "other wording")
	parent := p.post(c, alice, "a parent with a reply")
	reply := p.reply(parent, alice, "the reply to be deleted")

	text := "revised wording here"
	if _, err := f.s.UpdateMessage(ctx, c.ID, m.TS, confab.MessageUpdate{Text: &text}, f.now()); err != nil {
		t.Fatal(err)
	}
	edited := f.MustMessage(c.ID, m.TS)
	f.wantFound(t, "the old text", f.searchIn(alice, word("original")))
	f.wantFound(t, "the new text", f.searchIn(alice, word("revised")), edited)
	f.wantFound(t, "the new text by a substring", f.searchIn(alice, substring("evise")), edited)
	f.wantFound(t, "a word of both, once", f.searchIn(alice, word("wording")), newest(edited, other)...)
	flt := f.searchIn(alice)
	flt.Excluded = []confab.SearchTerm{word("revised")}
	f.wantFound(t, "excluding the new text", flt, newest(other, parent, reply)...)

	// An update that does not set Text keeps the index as it is.
	blocks := `[{"type":"divider"}]`
	if _, err := f.s.UpdateMessage(ctx, c.ID, m.TS, confab.MessageUpdate{Blocks: &blocks}, f.now()); err != nil {
		t.Fatal(err)
	}
	f.wantFound(t, "after a blocks update", f.searchIn(alice, word("revised")), f.MustMessage(c.ID, m.TS))

	for _, d := range []*confab.Message{m, reply} {
		if _, err := f.s.DeleteMessage(ctx, c.ID, d.TS); err != nil {
			t.Fatal(err)
		}
	}
	f.wantFound(t, "a deleted message", f.searchIn(alice, word("revised")))
	f.wantFound(t, "a deleted reply", f.searchIn(alice, word("deleted")))
	f.wantFound(t, "no tombstone without terms", f.searchIn(alice), newest(other, f.MustMessage(c.ID, parent.TS))...)
	flt = f.searchIn(alice)
	flt.Excluded = []confab.SearchTerm{word("nothing")}
	f.wantFound(t, "no tombstone with only an exclusion", flt, newest(other, f.MustMessage(c.ID, parent.TS))...)
	flt = f.searchIn(alice, substring("vised"))
	f.wantFound(t, "no tombstone by substring", flt)

	// A CJK word of two characters (one pair, which a store may index
	// apart) follows an edit and a delete too.
	cjk := p.post(c, alice, "会議の資料を共有します")
	text = "明日の会議です"
	if _, err := f.s.UpdateMessage(ctx, c.ID, cjk.TS, confab.MessageUpdate{Text: &text}, f.now()); err != nil {
		t.Fatal(err)
	}
	cjk = f.MustMessage(c.ID, cjk.TS)
	f.wantFound(t, "a CJK word edited out", f.searchIn(alice, word("資料")))
	f.wantFound(t, "a CJK word kept by the edit", f.searchIn(alice, word("会議")), cjk)
	f.wantFound(t, "a CJK word the edit added", f.searchIn(alice, word("明日")), cjk)
	if _, err := f.s.DeleteMessage(ctx, c.ID, cjk.TS); err != nil {
		t.Fatal(err)
	}
	f.wantFound(t, "a deleted CJK word", f.searchIn(alice, word("会議")))
}

func testSearchFilters(t *testing.T, f *fixture) {
	ctx := f.ctx
	alice, bob, carol := f.MustUser("alice"), f.MustUser("bob"), f.MustUser("carol")
	general := f.MustChannel("plaza", confab.KindPublic, alice, bob, carol)
	random := f.MustChannel("random", confab.KindPublic, alice, bob)
	dm := f.MustDM(alice, carol)
	group := f.MustDM(alice, bob, carol)
	p := f.searchPoster()
	a1 := p.post(general, alice, "report one")
	b1 := p.post(general, bob, "report two for <@"+carol.ID+">")
	a2 := p.post(random, alice, "report three see https://example.com")
	b2 := p.post(random, bob, "report four <https://example.com/x|a link>")
	toAll := p.post(general, bob, "report five <!channel>")
	c1 := p.post(dm, alice, "report six")
	c2 := p.post(dm, carol, "report seven, said <@"+carol.ID+">")
	g1 := p.post(group, bob, "report eight")
	r1 := p.reply(a1, carol, "report nine in a thread")
	bare := p.post(general, alice, "report ten mentions http without a link")
	all := newest(a1, b1, a2, b2, toAll, c1, c2, g1, r1, bare)
	report := word("report")

	flt := f.searchIn(alice, report)
	f.wantFound(t, "every report", flt, all...)

	flt = f.searchIn(alice, report)
	flt.UserIDs = []string{bob.ID}
	f.wantFound(t, "from bob", flt, newest(b1, b2, toAll, g1)...)
	flt.UserIDs = []string{bob.ID, carol.ID}
	f.wantFound(t, "from bob or carol", flt, newest(b1, b2, toAll, g1, c2, r1)...)
	flt = f.searchIn(alice)
	flt.UserIDs = []string{carol.ID}
	f.wantFound(t, "from carol, no terms", flt, newest(c2, r1)...)

	flt = f.searchIn(alice, report)
	flt.ChannelIDs = []string{random.ID}
	f.wantFound(t, "in random", flt, newest(a2, b2)...)
	flt.ChannelIDs = []string{random.ID, dm.ID}
	f.wantFound(t, "in random or the dm", flt, newest(a2, b2, c1, c2)...)
	flt.UserIDs = []string{alice.ID}
	f.wantFound(t, "in random or the dm, from alice", flt, newest(a2, c1)...)

	// to: a mention by id, or a DM or group DM of theirs; never their own
	// message, and not a channel-wide mention.
	flt = f.searchIn(alice, report)
	flt.ToUserIDs = []string{carol.ID}
	f.wantFound(t, "to carol", flt, newest(b1, c1, g1)...)
	flt.ToUserIDs = []string{bob.ID}
	f.wantFound(t, "to bob: his own message in the group is not", flt)
	flt.ToUserIDs = []string{carol.ID, bob.ID}
	f.wantFound(t, "to carol or bob", flt, newest(b1, c1, g1)...)
	flt = f.searchIn(carol)
	flt.ToUserIDs = []string{alice.ID}
	f.wantFound(t, "to alice, no terms", flt, newest(c2, g1)...)

	flt = f.searchIn(alice, report)
	flt.Since, flt.Until = b1.TS, b2.TS
	f.wantFound(t, "since b1 (inclusive) until b2 (exclusive)", flt, newest(b1, a2)...)
	flt.Since, flt.Until = g1.TS, 0
	f.wantFound(t, "since g1", flt, newest(g1, r1, bare)...)
	flt.Since, flt.Until = 0, a2.TS+1
	f.wantFound(t, "until just after a2", flt, newest(a1, b1, a2)...)

	flt = f.searchIn(alice, report)
	flt.HasLink = true
	f.wantFound(t, "has:link", flt, newest(a2, b2)...)

	if _, err := f.s.AddReaction(ctx, general.ID, a1.TS, bob.ID, "tada"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.AddReaction(ctx, random.ID, a2.TS, bob.ID, "eyes"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.AddReaction(ctx, dm.ID, c1.TS, carol.ID, "tada"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.RemoveReaction(ctx, dm.ID, c1.TS, carol.ID, "tada"); err != nil {
		t.Fatal(err)
	}
	flt = f.searchIn(alice, report)
	flt.HasReaction = true
	f.wantFound(t, "has a reaction (a removed one is not)", flt, newest(f.MustMessage(general.ID, a1.TS), f.MustMessage(random.ID, a2.TS))...)
	flt = f.searchIn(alice, report)
	flt.Reaction = "tada"
	f.wantFound(t, "has::tada:", flt, f.MustMessage(general.ID, a1.TS))
	flt.Reaction = "thumbsup"
	f.wantFound(t, "has::thumbsup:", flt)

	if err := f.s.AddPin(ctx, &confab.Pin{ChannelID: random.ID, MessageTS: b2.TS, UserID: alice.ID, Created: f.now()}); err != nil {
		t.Fatal(err)
	}
	if err := f.s.AddPin(ctx, &confab.Pin{ChannelID: dm.ID, MessageTS: c1.TS, UserID: alice.ID, Created: f.now()}); err != nil {
		t.Fatal(err)
	}
	if err := f.s.RemovePin(ctx, dm.ID, c1.TS); err != nil {
		t.Fatal(err)
	}
	flt = f.searchIn(alice, report)
	flt.HasPin = true
	f.wantFound(t, "is:pinned", flt, b2)

	flt = f.searchIn(alice, report)
	flt.IsThread = true
	f.wantFound(t, "is:thread: the parent and its reply", flt, newest(f.MustMessage(general.ID, a1.TS), r1)...)
	flt = f.searchIn(alice)
	flt.IsThread = true
	flt.UserIDs = []string{carol.ID}
	f.wantFound(t, "is:thread from carol", flt, r1)

	// Every filter at once.
	flt = f.searchIn(alice, report)
	flt.ChannelIDs, flt.UserIDs = []string{general.ID}, []string{alice.ID}
	flt.Since, flt.Until, flt.HasReaction, flt.IsThread = a1.TS, r1.TS, true, true
	f.wantFound(t, "every filter", flt, f.MustMessage(general.ID, a1.TS))
	flt.HasLink = true
	f.wantFound(t, "every filter and has:link", flt)
}

func testSearchSort(t *testing.T, f *fixture) {
	alice := f.MustUser("alice")
	c := f.MustChannel("plaza", confab.KindPublic, alice)
	p := f.searchPoster()
	weak := p.post(c, alice, "apple with many other words around it in one long message about fruit and trees")
	tie1 := p.post(c, alice, "apple pie")
	strong := p.post(c, alice, "apple apple apple")
	tie2 := p.post(c, alice, "apple pie")
	p.post(c, alice, "banana")

	byScore := f.searchIn(alice, word("apple"))
	byScore.Sort = confab.SortScore
	res := f.mustSearch(byScore)
	got := foundTexts(res.Messages)
	if res.Total != 4 || len(res.Messages) != 4 || res.Messages[0].TS != strong.TS || res.Messages[3].TS != weak.TS {
		t.Fatalf("by score: %q (total %d), want %q first and %q last", got, res.Total, strong.Text, weak.Text)
	}
	if res.Messages[1].TS != tie2.TS || res.Messages[2].TS != tie1.TS {
		t.Errorf("by score, equals: %d then %d, want the newer (%d) first", res.Messages[1].TS, res.Messages[2].TS, tie2.TS)
	}
	byScore.Asc = true
	asc := f.mustSearch(byScore)
	if rev := slices.Clone(asc.Messages); true {
		slices.Reverse(rev)
		if !slices.EqualFunc(rev, res.Messages, func(a, b *confab.Message) bool { return a.TS == b.TS }) {
			t.Errorf("by score ascending: %q, want the reverse of %q", foundTexts(asc.Messages), got)
		}
	}

	byTime := f.searchIn(alice, word("apple"))
	f.wantFound(t, "newest first", byTime, tie2, strong, tie1, weak)
	byTime.Asc = true
	f.wantFound(t, "oldest first", byTime, weak, tie1, strong, tie2)

	// Score without terms: newest first.
	noTerms := f.searchIn(alice)
	noTerms.Sort = confab.SortScore
	if res := f.mustSearch(noTerms); res.Total != 5 || res.Messages[0].Text != "banana" || res.Messages[4].TS != weak.TS {
		t.Errorf("by score without terms: %q, want newest first", foundTexts(res.Messages))
	}
}

func testSearchPaging(t *testing.T, f *fixture) {
	ctx := f.ctx
	alice, bob := f.MustUser("alice"), f.MustUser("bob")
	c := f.MustChannel("plaza", confab.KindPublic, alice, bob)
	p := f.searchPoster()
	var posted []*confab.Message
	for i := range 120 {
		posted = append(posted, p.post(c, alice, fmt.Sprintf("page item %d", i)))
	}
	p.post(c, alice, "something else")
	if _, err := f.s.AddReaction(ctx, c.ID, posted[119].TS, bob.ID, "tada"); err != nil {
		t.Fatal(err)
	}
	want := newest(posted...)

	for _, sort := range []confab.SearchSort{confab.SortTimestamp, confab.SortScore} {
		var all []*confab.Message
		for off := 0; off < 130; off += 25 {
			flt := f.searchIn(alice, word("item"))
			flt.Sort, flt.Offset, flt.Limit = sort, off, 25
			res := f.mustSearch(flt)
			if res.Total != 120 {
				t.Errorf("sort %d offset %d: total %d, want 120", sort, off, res.Total)
			}
			if wantLen := min(25, max(0, 120-off)); len(res.Messages) != wantLen {
				t.Errorf("sort %d offset %d: %d messages, want %d", sort, off, len(res.Messages), wantLen)
			}
			all = append(all, res.Messages...)
		}
		seen := map[int64]bool{}
		for _, m := range all {
			if seen[m.TS] {
				t.Errorf("sort %d: %q on two pages", sort, m.Text)
			}
			seen[m.TS] = true
		}
		if len(seen) != 120 {
			t.Errorf("sort %d: the pages hold %d messages, want 120", sort, len(seen))
		}
		if sort == confab.SortTimestamp && !slices.EqualFunc(all, want, func(a, b *confab.Message) bool { return a.TS == b.TS }) {
			t.Errorf("pages by time: %q…, want %q…", foundTexts(all[:3]), foundTexts(want[:3]))
		}
	}

	// At most 100 a page, and the total counts them all.
	flt := f.searchIn(alice, word("item"))
	flt.Limit = 500
	res := f.mustSearch(flt)
	if len(res.Messages) != 100 || res.Total != 120 {
		t.Errorf("limit 500: %d messages, total %d; want 100 and 120", len(res.Messages), res.Total)
	}
	flt.Offset = 1000
	if res := f.mustSearch(flt); len(res.Messages) != 0 || res.Total != 120 {
		t.Errorf("offset past the end: %d messages, total %d; want 0 and 120", len(res.Messages), res.Total)
	}

	// Messages come as FindMessage returns them, reactions too.
	flt = f.searchIn(alice, word("item"))
	flt.Limit = 1
	res = f.mustSearch(flt)
	if len(res.Messages) != 1 {
		t.Fatalf("limit 1: %d messages", len(res.Messages))
	}
	if got, want := msgString(res.Messages[0]), msgString(f.MustMessage(c.ID, posted[119].TS)); got != want {
		t.Errorf("found message:\n got %s\nwant %s", got, want)
	}
	if len(res.Messages[0].Reactions) != 1 || res.Messages[0].Reactions[0].Name != "tada" {
		t.Errorf("found message's reactions = %+v, want tada", res.Messages[0].Reactions)
	}
}
