package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/confab/confab"
)

// queryPlan returns the details of EXPLAIN QUERY PLAN for query, one per
// line of the plan.
func queryPlan(t *testing.T, db *DB, query string, args ...any) []string {
	t.Helper()
	rows, err := db.rdb.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatalf("EXPLAIN QUERY PLAN %s: %v", query, err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return plan
}

// TestQueryPlans checks that every history read is a keyset search of the
// intended index: no full scan, no temp b-tree sort, no OFFSET.
func TestQueryPlans(t *testing.T) {
	db, err := Open(context.Background(), Config{Path: filepath.Join(t.TempDir(), "plan.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })

	const ch = "C000000000001"
	pk := "USING PRIMARY KEY"
	tests := []struct {
		name  string
		query string
		args  []any
		want  string // must appear in the (single-line) plan
	}{}
	for _, f := range []confab.MessageFilter{
		{Desc: true, Limit: 100},
		{Desc: true, Before: 500, Limit: 100},
		{After: 500, Limit: 100},
		{After: 10, Before: 500, Desc: true, Limit: 100, IncludeDeleted: true},
		{TopLevel: true, Desc: true, Before: 500, Limit: 100},
	} {
		f.ChannelID = ch
		q, args := messagesQuery(f, f.Limit)
		tests = append(tests, struct {
			name  string
			query string
			args  []any
			want  string
		}{fmt.Sprintf("history %+v", f), q, args, "SEARCH messages " + pk})
	}
	for _, f := range []confab.MessageFilter{
		{ThreadTS: 1_700_000_000_000_000, Limit: 100},
		{ThreadTS: 1_700_000_000_000_000, After: 5, Desc: true, Limit: 100},
	} {
		f.ChannelID = ch
		q, args := messagesQuery(f, f.Limit)
		tests = append(tests, struct {
			name  string
			query string
			args  []any
			want  string
		}{fmt.Sprintf("thread %+v", f), q, args, "SEARCH messages USING INDEX messages_thread"})
	}
	tests = append(tests, []struct {
		name  string
		query string
		args  []any
		want  string
	}{
		{"changed messages", changedMessagesQuery, []any{ch, 10, 100}, "SEARCH messages USING INDEX messages_change"},
		{"changed reactions", changedReactionsQuery, []any{ch, 10, 100}, "SEARCH reactions USING INDEX reactions_seq"},
		{"seq at ts", seqAtTSQuery, []any{ch, 1000}, "SEARCH messages USING COVERING INDEX messages_ts"},
		{"page reactions", reactionsRangeQuery, []any{ch, 1, 100}, "SEARCH reactions " + pk},
		{"thread reactions", reactionsInQuery(3), []any{ch, 1, 50, 90}, "SEARCH reactions " + pk},
		{"latest top-level", latestTopLevelQuery, []any{ch}, "SEARCH messages " + pk},
		{"user by email", userByEmailQuery, []any{"T1", "a@example.com"}, "SEARCH users USING INDEX users_email"},
		{"workspace events", workspaceEventsQuery, []any{"T1", 10, 100}, "SEARCH workspace_events " + pk},
	}...)
	for _, tc := range tests {
		plan := queryPlan(t, db, tc.query, tc.args...)
		joined := strings.Join(plan, " | ")
		t.Logf("%s: %s", tc.name, joined)
		if len(plan) != 1 || !strings.Contains(plan[0], tc.want) {
			t.Errorf("%s: plan %q, want one step containing %q", tc.name, joined, tc.want)
		}
		for _, bad := range []string{"TEMP B-TREE", "SCAN "} {
			if strings.Contains(joined, bad) {
				t.Errorf("%s: plan %q contains %q", tc.name, joined, bad)
			}
		}
		if strings.Contains(strings.ToUpper(tc.query), "OFFSET") {
			t.Errorf("%s: query uses OFFSET", tc.name)
		}
	}
}

// TestLatestMessagesPlan checks FindLatestMessages' statement: the only
// scan is of the JSON array of channel ids; each channel is a search of
// the messages primary key back from its end, then a seek of the row
// found. No sort, no scan of messages.
func TestLatestMessagesPlan(t *testing.T) {
	db, err := Open(context.Background(), Config{Path: filepath.Join(t.TempDir(), "plan.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })

	plan := queryPlan(t, db, latestMessagesQuery, `["C000000000001","C000000000002"]`)
	joined := strings.Join(plan, " | ")
	t.Logf("latest messages: %s", joined)
	for _, want := range []string{
		"SCAN c VIRTUAL TABLE",
		"SEARCH m USING PRIMARY KEY (channel_id=? AND seq=?)",
		"CORRELATED SCALAR SUBQUERY",
		"SEARCH messages USING PRIMARY KEY (channel_id=?)",
	} {
		if !slices.ContainsFunc(plan, func(step string) bool { return strings.HasPrefix(step, want) }) {
			t.Errorf("plan %q has no step %q", joined, want)
		}
	}
	for _, step := range plan {
		if strings.Contains(step, "TEMP B-TREE") || strings.HasPrefix(step, "SCAN ") && !strings.HasPrefix(step, "SCAN c VIRTUAL TABLE") {
			t.Errorf("plan %q has the step %q", joined, step)
		}
	}
}

// TestReactionCapPlans checks AddReaction's cap checks: each reads a
// partial index of the current reactions by seeks, never the message's
// other reactions (no scan of reactions, no sort).
func TestReactionCapPlans(t *testing.T) {
	db, err := Open(context.Background(), Config{Path: filepath.Join(t.TempDir(), "plan.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, tc := range []struct {
		name, query, want string
		args              []any
	}{
		{"user's reactions", userReactionsQuery, "SEARCH reactions USING COVERING INDEX reactions_user_live", []any{"C1", 1, "U1"}},
		{"name live", nameLiveQuery, "SEARCH reactions USING COVERING INDEX reactions_name_live", []any{"C1", 1, "wave"}},
		{"distinct names", distinctNamesQuery, "SEARCH reactions USING COVERING INDEX reactions_name_live (channel_id=? AND message_seq=? AND name>?)", []any{"C1", 1, confab.MaxReactionEmoji}},
	} {
		joined := strings.Join(queryPlan(t, db, tc.query, tc.args...), " | ")
		t.Logf("%s: %s", tc.name, joined)
		if !strings.Contains(joined, tc.want) {
			t.Errorf("%s: plan %q, want %q", tc.name, joined, tc.want)
		}
		for _, bad := range []string{"TEMP B-TREE", "SCAN reactions"} {
			if strings.Contains(joined, bad) {
				t.Errorf("%s: plan %q contains %q", tc.name, joined, bad)
			}
		}
	}
}

// TestSearchUsersPlan: users.search seeks the range of its terms in
// user_terms's primary key, then each user by id; FindMembers among ids
// seeks each in the memberships' primary key: none scans a table.
func TestSearchUsersPlan(t *testing.T) {
	db := mustOpen(t, Config{})
	plan := strings.Join(queryPlan(t, db, searchUsersQuery, "T1", "ab", "ab\U0010FFFF", 480, 20), "\n")
	t.Log(plan)
	for _, want := range []string{"SEARCH user_terms USING PRIMARY KEY (workspace_id=? AND term>? AND term<?)", "SEARCH users USING INDEX sqlite_autoindex_users_1 (id=?)"} {
		if !strings.Contains(plan, want) {
			t.Errorf("plan of SearchUsers lacks %q:\n%s", want, plan)
		}
	}
	if strings.Contains(plan, "SCAN user_terms") || strings.Contains(plan, "SCAN users") {
		t.Errorf("SearchUsers scans a table:\n%s", plan)
	}
	plan = strings.Join(queryPlan(t, db, membersAmongQuery, "C1", "", `["U1","U2"]`, 10), "\n")
	t.Log(plan)
	if !strings.Contains(plan, "SEARCH memberships USING PRIMARY KEY (channel_id=? AND user_id=?)") {
		t.Errorf("plan of FindMembers among ids:\n%s", plan)
	}
}
