package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteJSON writes the report as one JSON object and a newline.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable writes the report as an aligned two-column table.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(name, value string) { fmt.Fprintf(tw, "%s\t%s\n", name, value) }
	row("scenario", r.Scenario)
	if r.Transport != "" {
		row("transport", r.Transport)
	}
	row("server", r.URL)
	row("workspace", r.Team)
	row("set-up", secs(r.SetupSecs))
	row("run", secs(r.Seconds))
	lat := func(name string, l Latency) {
		row(name, fmt.Sprintf("p50 %s  p99 %s  p99.9 %s  max %s  (n=%d)",
			msStr(l.P50Ms), msStr(l.P99Ms), msStr(l.P999Ms), msStr(l.MaxMs), l.Count))
	}
	switch {
	case r.Send != nil:
		s := r.Send
		row("posters", strconv.Itoa(s.Posters))
		row("channels", strconv.Itoa(s.Channels))
		row("messages", strconv.FormatInt(s.Messages, 10))
		row("errors", strconv.FormatInt(s.Errors, 10))
		row("duration", secs(s.Seconds))
		row("throughput", rate(s.PerSecond, "msgs/s"))
		lat("latency", s.Latency)
	case r.Fanout != nil:
		f := r.Fanout
		row("subscribers", fmt.Sprintf("%d (%d users, each in %d of %d channel(s))", f.Subscribers, f.Users, f.UserChannels, f.Channels))
		row("connect", secs(f.ConnectSeconds))
		row("posts", fmt.Sprintf("%d acknowledged of %d at %g/s, %d errors", f.Posted, f.Posts, f.Rate, f.PostErrors))
		row("deliveries", fmt.Sprintf("%d of %d expected", f.Deliveries, f.Expected))
		row("missing", strconv.FormatInt(f.Missing, 10))
		row("duplicates", strconv.FormatInt(f.Duplicates, 10))
		row("disconnects", strconv.Itoa(f.Disconnects))
		if f.Size > 0 {
			row("post size", fmt.Sprintf("%d bytes of text", f.Size))
		}
		if f.Stuck > 0 {
			seen := "unknown here"
			if f.StuckChecked > 0 {
				seen = fmt.Sprintf("%d of %d", f.StuckClosed, f.StuckChecked)
			}
			row("stuck", fmt.Sprintf("%d never reading; closed by the server: %s", f.Stuck, seen))
		}
		if f.Stuck > 0 || f.SlowConsumers > 0 {
			row("slow closes", fmt.Sprintf("%s connections closed by the server as slow consumers (%s of them stalled)", counter(f.SlowConsumers), counter(f.Stalled)))
		}
		row("duration", secs(f.Seconds))
		row("throughput", rate(f.DeliveriesPerSecond, "deliveries/s"))
		lat("post→deliver", f.Latency)
		lat("post", f.PostLatency)
	case r.History != nil:
		h := r.History
		row("depth", strconv.Itoa(h.Depth))
		row("fill", fmt.Sprintf("%s, %s with %d posters, %d errors", secs(h.FillSeconds), rate(h.FillPerSecond, "msgs/s"), h.FillPosters, h.FillErrors))
		row("walk", fmt.Sprintf("%d pages of %d, %d messages, %s", h.WalkPages, h.PageSize, h.WalkMessages, secs(h.WalkSeconds)))
		lat("walk page", h.Walk)
		lat("newest page", h.Newest)
		lat("deepest page", h.Deepest)
		row("deepest/newest", fmt.Sprintf("%.2f (p50)", h.Ratio))
	case r.Idle != nil:
		i := r.Idle
		row("connections", fmt.Sprintf("%d (%d users in %d channels each)", i.Clients, i.Users, i.Channels))
		row("connect", fmt.Sprintf("%s, %s", secs(i.ConnectSeconds), rate(i.ConnectPerSecond, "conns/s")))
		lat("connect one", i.Connect)
		row("held", secs(i.HoldSeconds))
		row("server rss", fmt.Sprintf("%s → %s", mib(i.Before.RSSBytes), mib(i.After.RSSBytes)))
		row("rss/conn", fmt.Sprintf("%.1f KiB", i.RSSPerConnection/1024))
		row("goroutines", fmt.Sprintf("%.0f → %.0f", i.Before.Goroutines, i.After.Goroutines))
		row("goroutines/conn", fmt.Sprintf("%.2f", i.GoroutinesPerConnection))
		row("server conns", fmt.Sprintf("%.0f → %.0f", i.Before.Connections, i.After.Connections))
		row("dropped", strconv.Itoa(i.Dropped))
	case r.Storm != nil:
		s := r.Storm
		row("clients", fmt.Sprintf("%d (%d users)", s.Clients, s.Users))
		row("mode", s.Mode)
		row("dropped", fmt.Sprintf("%d of %d clients", s.Dropped, s.Clients))
		for _, gw := range slices.Sorted(maps.Keys(s.DroppedFrom)) {
			row("  from", fmt.Sprintf("%s %d", gw, s.DroppedFrom[gw]))
		}
		row("connect", secs(s.ConnectSeconds))
		row("posts", fmt.Sprintf("%d acknowledged at %g/s, %d errors", s.Posted, s.Rate, s.PostErrors))
		lat("reconnect", s.Reconnect)
		row("all recovered", secs(s.RecoverSeconds)+" after the drop (the dropped clients)")
		row("all settled", secs(s.SettleSeconds)+" after the drop (every client)")
		row("not recovered", strconv.Itoa(s.NotRecovered))
		for _, e := range slices.Sorted(maps.Keys(s.NotRecoveredErrors)) {
			row("  last error", fmt.Sprintf("%d× %.160s", s.NotRecoveredErrors[e], e))
		}
		row("lost", strconv.FormatInt(s.Lost, 10))
		row("duplicated", strconv.FormatInt(s.Duplicated, 10))
		row("deduped live", strconv.FormatInt(s.Deduped, 10))
		row("seq gaps", strconv.FormatInt(s.Gaps, 10))
		row("catch-ups", strconv.FormatInt(s.CatchUps, 10))
		ends := 0
		for _, n := range s.SessionEnds {
			ends += n
		}
		row("session ends", fmt.Sprintf("%d since the drop (%d dropped)", ends, s.Dropped))
		for _, e := range slices.Sorted(maps.Keys(s.SessionEnds)) {
			row("  by", fmt.Sprintf("%d× %.160s", s.SessionEnds[e], e))
		}
	case r.Boot != nil:
		b := r.Boot
		row("workspace users", strconv.Itoa(b.Users))
		row("channels", fmt.Sprintf("%d (client.boot listed %d)", b.Channels, b.BootChannels))
		row("boot size", fmt.Sprintf("%d bytes", b.Bytes))
		lat("client.boot", b.Latency)
	case r.Hot != nil:
		h := r.Hot
		row("readers", fmt.Sprintf("%d (%d users), newest page of %d", h.Readers, h.Users, h.PageSize))
		for i, rd := range h.Rounds {
			name := fmt.Sprintf("round %d", i+1)
			lat(name, rd.Latency)
			row(name+" all read", fmt.Sprintf("%s, %d errors", secs(rd.Seconds), rd.Errors))
			if !h.QueriesAvailable {
				row(name+" queries", "unavailable (no "+StoreQueriesMetric+" in /metrics)")
				continue
			}
			row(name+" queries", fmt.Sprintf("%.0f (%.3f per read)", rd.Queries, rd.Queries/float64(max(h.Readers, 1))))
			for _, series := range slices.Sorted(maps.Keys(rd.QueriesBySeries)) {
				row("  "+strings.TrimPrefix(series, StoreQueriesMetric), fmt.Sprintf("%.0f", rd.QueriesBySeries[series]))
			}
		}
	case r.Apps != nil:
		a := r.Apps
		phase := func(name string, p AppsPosting) {
			cpu := "unavailable"
			if p.ServerCPUPerPost >= 0 {
				cpu = strconv.FormatFloat(p.ServerCPUPerPost, 'f', 0, 64) + " µs"
			}
			row(name, fmt.Sprintf("%d of %d acknowledged, %d errors, %s: %s; server CPU per post %s", p.Posted, p.Posts, p.Errors, secs(p.Seconds), rate(p.PerSecond, "posts/s"), cpu))
			lat(name+" post", p.Latency)
		}
		row("channels", fmt.Sprintf("%d, the app's bot in each", a.Channels))
		row("rate", rate(a.Rate, "posts/s asked"))
		phase("without app", a.Without)
		phase("with app", a.With)
		cpuRatio := "unavailable"
		if a.CPURatio >= 0 {
			cpuRatio = fmt.Sprintf("%.2f", a.CPURatio)
		}
		row("with/without", fmt.Sprintf("%.3f posts/s; %s server CPU per post", a.Ratio, cpuRatio))
		row("events", fmt.Sprintf("%d of the %d posts with the app, on its first connection", a.Events, a.With.Posted))
		row("events/s", rate(a.EventsPerSecond, "events/s"))
		lat("post→event", a.Latency)
		row("away", fmt.Sprintf("%s, %d posts acknowledged", secs(a.AwaySeconds), a.AwayPosts))
		row("reconnect", strconv.FormatFloat(a.ReconnectSeconds, 'f', 3, 64)+" s (apps.connections.open to hello)")
		row("caught up", fmt.Sprintf("%s after the reconnect began (%d events missing then, %s)", secs(a.CatchUpSeconds), a.Backlog, rate(a.CatchUpPerSecond, "events/s")))
		row("received", fmt.Sprintf("%d of %d posts acknowledged since the install, %d errors", a.Received, a.Posted, a.PostErrors))
		row("lost", strconv.FormatInt(a.Lost, 10))
		row("duplicated", strconv.FormatInt(a.Duplicated, 10))
		row("misrouted", strconv.FormatInt(a.Misrouted, 10))
		row("retries", fmt.Sprintf("%d envelopes with retry_attempt > 0; server redelivered %s", a.Retries, counter(a.Redelivered)))
	case r.Search != nil:
		s := r.Search
		kinds := make([]string, 0, len(s.Kinds))
		for _, k := range slices.Sorted(maps.Keys(s.Kinds)) {
			kinds = append(kinds, fmt.Sprintf("%d %s", s.Kinds[k], k))
		}
		row("store", s.Store)
		row("data", fmt.Sprintf("%d messages in %d conversations (%s), %d users; the reader in %d", s.Messages, s.Channels, strings.Join(kinds, ", "), s.Users, s.ReaderIn))
		load := fmt.Sprintf("%s, %s", secs(s.LoadSeconds), rate(s.LoadPerSecond, "msgs/s"))
		if !s.Loaded {
			load += " (an earlier run's: the data directory held it)"
		}
		row("load", load)
		d := s.Disk
		row("disk", fmt.Sprintf("%s, %.0f bytes/message", mib(float64(d.Bytes)), d.PerMessage))
		row("disk without index", fmt.Sprintf("%s, %.0f bytes/message: the index %.0f bytes/message (+%.0f %%)", mib(float64(d.BytesWithout)), d.PerMessageWithout,
			d.PerMessage-d.PerMessageWithout, 100*(d.PerMessage-d.PerMessageWithout)/max(d.PerMessageWithout, 1)))
		for _, name := range slices.Sorted(maps.Keys(d.Objects)) {
			row("  "+name, fmt.Sprintf("%s, %.0f bytes/message", mib(float64(d.Objects[name])), float64(d.Objects[name])/float64(max(s.Messages, 1))))
		}
		if d.Note != "" {
			row("  note", d.Note)
		}
		row("first page", fmt.Sprintf("%d results, %d timed queries per pattern after a warm-up pass", s.PageSize, s.Reads))
		for _, p := range s.Patterns {
			lat(p.Name, p.Latency)
			row("", fmt.Sprintf("found %d–%d; e.g. %s", p.MinTotal, p.MaxTotal, p.Example))
		}
	}
	if r.OK() {
		row("result", "PASS")
	}
	for _, p := range r.Problems {
		row("FAIL", p)
	}
	return tw.Flush()
}

// counter formats a counter's growth; -1 is one the server did not expose.
func counter(v float64) string {
	if v < 0 {
		return "unavailable"
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}

func secs(s float64) string           { return strconv.FormatFloat(s, 'f', 2, 64) + " s" }
func msStr(v float64) string          { return strconv.FormatFloat(v, 'f', 2, 64) + "ms" }
func mib(b float64) string            { return strconv.FormatFloat(b/(1<<20), 'f', 1, 64) + " MiB" }
func rate(v float64, u string) string { return strconv.FormatFloat(v, 'f', 0, 64) + " " + u }
