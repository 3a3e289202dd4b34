package pocket_test

import (
	"testing"

	"github.com/confab/confab"
	"github.com/confab/confab/internal/pgtest"
	"github.com/confab/confab/pocket"
	"github.com/prometheus/client_golang/prometheus"
)

// TestStoreCollectors: the Store hands out the query counters of the
// databases open here, told apart by a db label, registrable together.
func TestStoreCollectors(t *testing.T) {
	pg := pgtest.Start(t)
	s := mustStore(t, pocket.StoreConfig{
		Directory: mustOpen(t, pg.NewDatabase(t)),
		Pockets:   map[string]pocket.DB{"p": mustOpen(t, pg.NewDatabase(t)), "q": nil},
		PocketOf:  func(string, string) string { return "p" },
	})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(s.Collectors()...)

	// An unknown channel is looked for in every open database.
	if _, err := s.FindChannelByID(t.Context(), confab.NewID(confab.PrefixChannel)); confab.ErrorCode(err) != confab.ENOTFOUND {
		t.Fatalf("FindChannelByID(unknown) = %v, want not found", err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "confab_store_queries_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, lp := range m.GetLabel() {
				l[lp.GetName()] = lp.GetValue()
			}
			got[l["db"]+" "+l["op"]+" "+l["method"]] = m.GetCounter().GetValue()
		}
	}
	for _, key := range []string{"directory read FindChannelByID", "pocket:p read FindChannelByID"} {
		if got[key] < 1 {
			t.Errorf("confab_store_queries_total %s = %v, want some (all: %v)", key, got[key], got)
		}
	}
}
