package main

import (
	"fmt"
	"strings"
	"testing"
)

// The conversation methods other tests do not reach: invite, archive,
// purpose, group DMs, paging of lists and members, token revocation.
func TestConversationLifecycle(t *testing.T) {
	m := MustRunMain(t)
	alice := signup(t, m, "acme", "alice")
	bob := signup(t, m, "acme", "bob")
	carol := signup(t, m, "acme", "carol")
	outsider := signup(t, m, "other", "olga")

	secret := alice.createChannel("secret", true)
	alice.fails("conversations.create", obj{"name": "secret"}, "name_taken")
	alice.fails("conversations.create", obj{"name": "Bad Name"}, "invalid_name")
	bob.fails("conversations.join", obj{"channel": secret}, "channel_not_found")
	bob.fails("conversations.info", obj{"channel": secret}, "channel_not_found")

	bobConn := bob.connect()
	alice.fails("conversations.invite", obj{"channel": secret, "users": outsider.userID}, "user_not_found")
	inv := alice.must("conversations.invite", obj{"channel": secret, "users": bob.userID + "," + carol.userID})
	if n := inv["channel"].(obj)["num_members"]; n != float64(3) {
		t.Fatalf("num_members after invite = %v, want 3", n)
	}
	if f := bobConn.next(isType("channel_joined")); f["channel"].(obj)["id"] != secret {
		t.Fatalf("channel_joined %v", f)
	}
	alice.post(secret, "for the three of us")
	bobConn.next(isMessage("for the three of us"))

	members := map[string]bool{}
	cursor := ""
	for {
		out := bob.must("conversations.members", obj{"channel": secret, "limit": 1, "cursor": cursor})
		for _, id := range out["members"].([]any) {
			members[id.(string)] = true
		}
		if cursor = out["response_metadata"].(obj)["next_cursor"].(string); cursor == "" {
			break
		}
	}
	if len(members) != 3 || !members[alice.userID] || !members[bob.userID] || !members[carol.userID] {
		t.Fatalf("members paged one at a time = %v", members)
	}

	p := alice.must("conversations.setPurpose", obj{"channel": secret, "purpose": "plans"})
	if p["channel"].(obj)["purpose"].(obj)["value"] != "plans" {
		t.Fatalf("setPurpose answer %v", p)
	}
	alice.must("conversations.archive", obj{"channel": secret})
	alice.fails("conversations.archive", obj{"channel": secret}, "already_archived")
	alice.fails("chat.postMessage", obj{"channel": secret, "text": "too late"}, "is_archived")
	if h := bob.must("conversations.history", obj{"channel": secret}); len(posted(h["messages"].([]any))) != 1 {
		t.Fatalf("an archived channel stays readable: %v", h)
	}
	list := bob.must("conversations.list", obj{"types": "private_channel", "exclude_archived": true})
	if n := len(list["channels"].([]any)); n != 0 {
		t.Fatalf("exclude_archived listed %d channels", n)
	}

	// The same set of users always gets the same group DM, whoever opens it.
	g1 := alice.must("conversations.open", obj{"users": bob.userID + "," + carol.userID})["channel"].(obj)["id"]
	g2 := carol.must("conversations.open", obj{"users": alice.userID + "," + bob.userID})
	if g2["channel"].(obj)["id"] != g1 || g2["already_open"] != true {
		t.Fatalf("group DM opened twice: %v then %v", g1, g2)
	}
	bob.fails("conversations.leave", obj{"channel": g1}, "method_not_supported_for_channel_type")
	alice.fails("conversations.open", obj{"users": alice.userID}, "cannot_dm_self")
	alice.fails("conversations.open", obj{"users": outsider.userID}, "user_not_found")

	// conversations.list pages through every public channel once.
	for i := 0; i < 7; i++ {
		alice.createChannel(fmt.Sprintf("room-%d", i), false)
	}
	seen := map[string]bool{}
	cursor = ""
	for {
		out := carol.must("conversations.list", obj{"limit": 3, "cursor": cursor})
		for _, c := range out["channels"].([]any) {
			id := c.(obj)["id"].(string)
			if seen[id] || c.(obj)["is_private"] == true {
				t.Fatalf("channel %v listed twice or private", c)
			}
			seen[id] = true
		}
		if cursor = out["response_metadata"].(obj)["next_cursor"].(string); cursor == "" {
			break
		}
	}
	if len(seen) != 8 { // and #general
		t.Fatalf("listed %d public channels, want 8", len(seen))
	}
	outsider.must("conversations.list", nil)
	if out := outsider.must("conversations.list", nil); len(out["channels"].([]any)) != 1 || out["channels"].([]any)[0].(obj)["id"] != generalOf(t, outsider) {
		t.Fatalf("another workspace lists our channels, or not its #general only: %v", out)
	}

	// users.list pages the workspace only.
	users := alice.must("users.list", obj{"limit": 2})
	if n := len(users["members"].([]any)); n != 2 || users["response_metadata"].(obj)["next_cursor"] == "" {
		t.Fatalf("users.list limit 2 = %v", users)
	}
	for _, u := range alice.must("users.list", obj{"limit": 100})["members"].([]any) {
		if u.(obj)["id"] == outsider.userID || strings.Contains(fmt.Sprint(u), "password") {
			t.Fatalf("users.list shows %v", u)
		}
	}

	// A revoked token stops working at once.
	alice.must("auth.revoke", nil)
	alice.fails("auth.test", nil, "invalid_auth")
}

// latest, oldest and inclusive bound history by ts, as Slack's clients use
// them to page.
func TestHistoryBoundsByTS(t *testing.T) {
	m := MustRunMain(t)
	alice := signup(t, m, "acme", "alice")
	ch := alice.createChannel("plaza", false)
	var ts []string
	for i := 0; i < 10; i++ {
		ts = append(ts, alice.post(ch, fmt.Sprintf("m%d", i)))
	}
	texts := func(args obj) []string {
		args["channel"] = ch
		var out []string
		for _, raw := range alice.must("conversations.history", args)["messages"].([]any) {
			out = append(out, raw.(obj)["text"].(string))
		}
		return out
	}
	for _, c := range []struct {
		args obj
		want string
	}{
		{obj{"latest": ts[5]}, "m4 m3 m2 m1 m0"},
		{obj{"latest": ts[5], "inclusive": true}, "m5 m4 m3 m2 m1 m0"},
		{obj{"oldest": ts[7]}, "m9 m8"},
		{obj{"oldest": ts[7], "inclusive": true}, "m9 m8 m7"},
		{obj{"oldest": ts[2], "latest": ts[5]}, "m4 m3"},
		{obj{"oldest": ts[2], "latest": ts[5], "inclusive": true}, "m5 m4 m3 m2"},
		{obj{"latest": ts[5], "limit": 2}, "m4 m3"},
		{obj{"oldest": ts[9]}, ""},
		{obj{"latest": ts[0]}, ""},
		// oldest alone: the messages closest to it, still newest first.
		{obj{"oldest": ts[2], "limit": 2}, "m4 m3"},
		{obj{"oldest": ts[2], "inclusive": true, "limit": 3}, "m4 m3 m2"},
	} {
		if got := strings.Join(texts(c.args), " "); got != c.want {
			t.Errorf("history %v = %q, want %q", c.args, got, c.want)
		}
	}

	// Paging forward from oldest: each cursor continues towards the newest,
	// with no message twice or left out.
	var got []string
	args := obj{"channel": ch, "oldest": ts[2], "limit": 3}
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatalf("still paging forward after %d pages: %v", pages, got)
		}
		out := alice.must("conversations.history", args)
		var page []string
		for _, raw := range out["messages"].([]any) {
			page = append([]string{raw.(obj)["text"].(string)}, page...)
		}
		got = append(got, page...)
		next, _ := out["response_metadata"].(obj)["next_cursor"].(string)
		if out["has_more"] != (next != "") {
			t.Fatalf("has_more %v with next_cursor %q", out["has_more"], next)
		}
		if next == "" {
			break
		}
		args["cursor"] = next
	}
	if s := strings.Join(got, " "); s != "m3 m4 m5 m6 m7 m8 m9" {
		t.Errorf("paging forward from m2 shows %q, want m3 … m9 once each", s)
	}
}
