package storetest

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/confab/confab"
)

// CountedStore is a Store that counts its queries for /metrics.
type CountedStore interface {
	confab.Store
	Collectors() []prometheus.Collector
}

// RunQueryCounts checks that every call of a store method counts one query
// in confab_store_queries_total, by op and method, and that Ping, when the
// store has it, is not counted.
func RunQueryCounts(t *testing.T, open func(t *testing.T) CountedStore) {
	db := open(t)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(db.Collectors()...)
	ctx := t.Context()

	ws := &confab.Workspace{ID: confab.NewID(confab.PrefixWorkspace), Domain: "acme", Created: 1}
	owner := &confab.User{ID: confab.NewID(confab.PrefixUser), Name: "owner", Created: 1}
	if err := db.CreateWorkspace(ctx, ws, owner); err != nil {
		t.Fatal(err)
	}
	c := &confab.Channel{ID: confab.NewID(confab.PrefixChannel), WorkspaceID: ws.ID, Kind: confab.KindPublic, Name: "plaza", Created: 1}
	if err := db.CreateChannel(ctx, c, []string{owner.ID}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := db.CreateMessage(ctx, &confab.Message{ChannelID: c.ID, UserID: owner.ID, Text: "hi"}); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if _, err := db.FindChannelByID(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
	}
	if msgs, err := db.FindMessages(ctx, confab.MessageFilter{ChannelID: c.ID, Desc: true, Limit: 10}); err != nil || len(msgs) != 3 {
		t.Fatalf("FindMessages = %d messages, %v", len(msgs), err)
	}
	if p, ok := db.(interface{ Ping(context.Context) error }); ok {
		if err := p.Ping(ctx); err != nil {
			t.Fatal(err)
		}
	}

	series := gatherQueries(t, reg)
	for _, tc := range []struct {
		op, method string
		want       float64
	}{
		{"write", "CreateWorkspace", 1},
		{"write", "CreateChannel", 1},
		{"write", "CreateMessage", 3},
		{"read", "FindChannelByID", 2},
		{"read", "FindMessages", 1},
	} {
		if got := series[tc.op+" "+tc.method]; got != tc.want {
			t.Errorf("confab_store_queries_total{op=%q,method=%q} = %v, want %v", tc.op, tc.method, got, tc.want)
		}
	}
	if len(series) != 5 {
		t.Errorf("series = %v, want the 5 above (Ping is not counted)", series)
	}
}

// gatherQueries returns confab_store_queries_total by "op method".
func gatherQueries(t *testing.T, g prometheus.Gatherer) map[string]float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "confab_store_queries_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			out[labels["op"]+" "+labels["method"]] = m.GetCounter().GetValue()
		}
	}
	return out
}
