package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestMentionPlans checks that the mention statements seek their indexes:
// a count is one seek of a membership and one range of mentions_user per
// channel; a message's mentions are found by its key.
func TestMentionPlans(t *testing.T) {
	db, err := Open(context.Background(), Config{Path: filepath.Join(t.TempDir(), "plan.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, c := range []struct {
		name  string
		query string
		args  []any
		want  []string
	}{
		{"count", countMentionsQuery, []any{"U1", `["C1","C2"]`}, []string{
			"SEARCH ms USING PRIMARY KEY (channel_id=? AND user_id=?)",
			"SEARCH ch USING INDEX sqlite_autoindex_channels_1 (id=?)",
			"SEARCH mn USING COVERING INDEX mentions_user (user_id=? AND channel_id=? AND seq>?)"}},
		{"insert", insertMentionsQuery, []any{"C1", 5, "U1", false, `["U2"]`, `[]`}, []string{
			"SEARCH memberships USING PRIMARY KEY (channel_id=?"}},
		{"stale", staleMentionsQuery, []any{"C1", 5, "U1", true, `[]`, `[]`, true}, []string{
			"SEARCH mentions USING PRIMARY KEY (channel_id=? AND seq=?)"}},
		{"delete", deleteMentionsQuery, []any{"C1", 5}, []string{
			"SEARCH mentions USING PRIMARY KEY (channel_id=? AND seq=?)"}},
	} {
		plan := strings.Join(queryPlan(t, db, c.query, c.args...), "\n")
		for _, w := range c.want {
			if !strings.Contains(plan, w) {
				t.Errorf("%s: plan\n%s\nwant %q", c.name, plan, w)
			}
		}
		if strings.Contains(plan, "SCAN mentions") || strings.Contains(plan, "SCAN mn") {
			t.Errorf("%s: plan\n%s\nscans mentions", c.name, plan)
		}
	}
}
