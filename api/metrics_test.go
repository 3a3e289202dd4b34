package api_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/confab/confab"
	"github.com/confab/confab/api"
	"github.com/confab/confab/chat"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	f := stocked()
	fail := false
	f.PostMessageFn = func(_ context.Context, _ *confab.User, p chat.PostParams) (*confab.Message, error) {
		if fail {
			return nil, confab.ErrChannelNotFound
		}
		return sampleMessage(p.Text), nil
	}
	srv := MustServer(t, f, api.Config{Registerer: reg})
	MustServer(t, f, api.Config{Registerer: reg}) // a second server shares the collectors

	args := url.Values{"channel": {"C1"}, "text": {"x"}}
	form(t, srv, "chat.postMessage", args).wantOK(t)
	form(t, srv, "chat.postMessage", args).wantOK(t)
	fail = true
	form(t, srv, "chat.postMessage", args)
	form(t, srv, "no.such.method", nil)
	form(t, srv, "another.bogus", nil)

	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[[2]string]float64{}
	histCount := map[string]uint64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			l := labels(m)
			switch mf.GetName() {
			case "confab_api_requests_total":
				counts[[2]string{l["method"], l["error"]}] = m.GetCounter().GetValue()
			case "confab_api_request_duration_seconds":
				histCount[l["method"]] = m.GetHistogram().GetSampleCount()
			}
		}
	}
	want := map[[2]string]float64{
		{"chat.postMessage", ""}:                  2,
		{"chat.postMessage", "channel_not_found"}: 1,
		{"unknown", "unknown_method"}:             2,
	}
	for k, v := range want {
		if counts[k] != v {
			t.Errorf("requests_total%v = %v, want %v", k, counts[k], v)
		}
	}
	if len(counts) != len(want) {
		t.Errorf("requests_total series = %v, want %v", counts, want)
	}
	if histCount["chat.postMessage"] != 3 || histCount["unknown"] != 2 || len(histCount) != 2 {
		t.Errorf("duration sample counts = %v", histCount)
	}
}

func labels(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, lp := range m.GetLabel() {
		out[lp.GetName()] = lp.GetValue()
	}
	return out
}
