package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strconv"
	"time"
)

// SearchResult is the outcome of the search scenario.
type SearchResult struct {
	Store    string         `json:"store"` // "sqlite" or "postgres"
	Messages int            `json:"messages"`
	Channels int            `json:"channels"` // conversations, of every kind
	Kinds    map[string]int `json:"kinds"`
	Users    int            `json:"users"`
	ReaderIn int            `json:"reader_in"` // conversations the reader is a member of
	// Loaded is false when the data directory held this workspace
	// already: LoadSeconds is then that load's.
	Loaded        bool                  `json:"loaded"`
	LoadSeconds   float64               `json:"load_seconds"`
	LoadPerSecond float64               `json:"load_msgs_per_s"`
	Disk          SearchDisk            `json:"disk"`
	PageSize      int                   `json:"page_size"`
	Reads         int                   `json:"reads"` // timed queries per pattern
	Patterns      []SearchPatternResult `json:"patterns"`
}

// SearchPatternResult is one query pattern's latencies: search.messages
// round trips for the first page.
type SearchPatternResult struct {
	Name    string  `json:"name"`
	Example string  `json:"example"` // one of its queries
	Queries int     `json:"queries"` // distinct queries, taken in turn
	Latency Latency `json:"latency"`
	// MinTotal and MaxTotal bound the answers' messages.total over its
	// queries: how many messages they found.
	MinTotal int `json:"min_total"`
	MaxTotal int `json:"max_total"`
}

// searchPattern is one kind of query, as several concrete queries.
type searchPattern struct {
	Name    string   `json:"name"`
	Queries []string `json:"queries"`
	Sort    string   `json:"sort,omitempty"` // search.messages' sort; "" for its default (score)
}

// searchPatterns makes the queries of every pattern from the plan and
// phrases found in loaded messages.
func searchPatterns(p *searchPlan, phrases []string) []searchPattern {
	// Expected matches of rank k: its share of the Latin-script tokens
	// (~12 a message).
	tokens := float64(p.Messages) * (1 - searchCJKShare) * 12
	rankFor := func(matches float64, from int) int {
		k := from
		for k < len(p.vocab)-20 && p.words.share(k)*tokens > matches {
			k++
		}
		return k
	}
	words := func(from, n int) []string {
		var out []string
		for k := from; k < len(p.vocab) && len(out) < n; k++ {
			if isASCIIWord(p.vocab[k]) {
				out = append(out, p.vocab[k])
			}
		}
		return out
	}
	common := words(10, 10)                              // each in a few percent of the messages
	medium := words(rankFor(1000, 40), 10)               // ~1,000 messages each at 1,000,000
	rare := words(rankFor(20, rankFor(1000, 40)+20), 10) // ~20
	var accented []string
	for _, w := range p.vocab {
		if !isASCIIWord(w) && slices.Contains(accentedWords, w) {
			accented = append(accented, w)
		}
	}
	busiest := []int{} // the reader's named conversations, busiest first
	for i, c := range p.Convs {
		if c.Reader && c.Name != "" {
			busiest = append(busiest, i)
		}
	}
	slices.SortStableFunc(busiest, func(a, b int) int { return p.Convs[b].Messages - p.Convs[a].Messages })
	pats := []searchPattern{
		{Name: "word, common", Queries: common},
		{Name: "word, medium", Queries: medium},
		{Name: "word, rare", Queries: rare},
		{Name: "phrase", Queries: phrases[:min(len(phrases), 10)]},
		{Name: "word, diacritics", Queries: accented[:min(len(accented), 10)]},
		{Name: "word, CJK", Queries: cjkWords[4:14]},
		{Name: "common, newest first", Queries: common, Sort: "timestamp"},
	}
	var from, fromWord, in, inWord, window, during []string
	for i := range 10 {
		u := userName(1 + i%max(p.Users-1, 1)) // users 1… write the most after the reader
		from = append(from, "from:@"+u)
		fromWord = append(fromWord, "from:@"+u+" "+common[i%len(common)])
		if len(busiest) > 0 {
			c := p.Convs[busiest[i%len(busiest)]].Name
			in = append(in, "in:#"+c)
			inWord = append(inWord, common[i%len(common)]+" in:#"+c)
		}
		// A month's window, at ten places over the span.
		day := p.Start.Add(time.Duration(i+1) * searchSpan / 12)
		window = append(window, fmt.Sprintf("%s after:%s before:%s", common[i%len(common)],
			day.Format(time.DateOnly), day.AddDate(0, 1, 0).Format(time.DateOnly)))
		during = append(during, fmt.Sprintf("%s during:%s", medium[i%len(medium)], day.Format("2006-01")))
	}
	return append(pats,
		searchPattern{Name: "from:", Queries: from},
		searchPattern{Name: "from: + word", Queries: fromWord},
		searchPattern{Name: "in:", Queries: in},
		searchPattern{Name: "in: + word", Queries: inWord},
		searchPattern{Name: "after: before: + word", Queries: window},
		searchPattern{Name: "during: + word", Queries: during},
	)
}

// searchAnswer is the part of a search.messages answer the scenario reads.
type searchAnswer struct {
	OK       bool   `json:"ok"`
	Error    string `json:"error"`
	Messages struct {
		Total   int `json:"total"`
		Matches []struct {
			Channel struct {
				ID string `json:"id"`
			} `json:"channel"`
		} `json:"matches"`
	} `json:"messages"`
}

// search loads (or finds loaded) the workspace in the data directory,
// starts confab on it, and times Reads first pages of every pattern.
func (r *run) search(ctx context.Context) error {
	start := time.Now()
	dir := r.cfg.DataDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "confab-search-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	storeName := "sqlite"
	if r.cfg.Postgres != "" {
		storeName = "postgres"
	}
	m, err := readSearchManifest(dir)
	if err != nil {
		return err
	}
	res := &SearchResult{Store: storeName, PageSize: r.cfg.PageSize, Reads: r.cfg.Reads}
	r.rep.Search = res
	if m != nil {
		if m.Version != searchManifestVersion || m.Store != storeName || m.Messages != r.cfg.Messages ||
			m.Channels != r.cfg.Channels || m.Users != r.cfg.Users {
			return fmt.Errorf("%s holds another load (%d messages, %d channels, %d users on %s, version %d): give a fresh -data",
				dir, m.Messages, m.Channels, m.Users, m.Store, m.Version)
		}
		r.log.Info("reusing the loaded workspace", "dir", dir, "team", m.Team)
	} else {
		if m, err = r.searchLoad(ctx, dir, storeName); err != nil {
			return err
		}
		res.Loaded = true
	}
	res.Messages, res.Channels, res.Users, res.Kinds, res.ReaderIn = m.Messages, m.Channels, m.Users, m.Kinds, m.ReaderIn
	res.LoadSeconds, res.Disk = m.LoadSeconds, m.Disk
	res.LoadPerSecond = perSecond(int64(m.Messages), time.Duration(m.LoadSeconds*float64(time.Second)))
	r.rep.Team = m.Team

	bin, err := confabBinary(r.cfg.Confab)
	if err != nil {
		return err
	}
	r.log.Info("starting confab", "bin", bin)
	srv, err := startConfab(ctx, bin, dir, r.cfg.Postgres, r.cfg.WorkerStderr)
	if err != nil {
		return err
	}
	defer srv.stop()
	r.rep.URL = srv.URL
	r.setupDone(start)

	a := newAPI(srv.URL, 4)
	defer a.close()
	c := a.newConn()
	defer c.close()
	hidden := map[string]bool{}
	for _, id := range m.Hidden {
		hidden[id] = true
	}
	type state struct {
		lat  []time.Duration
		seen bool
		res  SearchPatternResult
	}
	states := make([]state, len(m.Patterns))
	// query runs pattern i's query q and records its answer.
	query := func(i int, q string, timed bool) error {
		pat := m.Patterns[i]
		form := url.Values{"query": {q}, "count": {strconv.Itoa(r.cfg.PageSize)}, "page": {"1"}}
		if pat.Sort != "" {
			form.Set("sort", pat.Sort)
		}
		t := time.Now()
		err := c.do(ctx, m.ReaderToken, "search.messages", []byte(form.Encode()))
		d := time.Since(t)
		if err != nil {
			return fmt.Errorf("%s %q: %w", pat.Name, q, err)
		}
		// Not c.check: its envelope wants "messages" an array, as
		// conversations.history has it; search's is an object.
		var ans searchAnswer
		if err := json.Unmarshal(c.resp.Body(), &ans); err != nil {
			return fmt.Errorf("%s %q: HTTP %d, body %.200q: %w", pat.Name, q, c.resp.StatusCode(), c.resp.Body(), err)
		}
		if !ans.OK {
			return fmt.Errorf("%s %q: %w", pat.Name, q, &apiError{Method: "search.messages", Status: c.resp.StatusCode(), Code: ans.Error})
		}
		s := &states[i]
		if timed {
			s.lat = append(s.lat, d)
		}
		if !s.seen || ans.Messages.Total < s.res.MinTotal {
			s.res.MinTotal = ans.Messages.Total
		}
		s.res.MaxTotal = max(s.res.MaxTotal, ans.Messages.Total)
		s.seen = true
		for _, mt := range ans.Messages.Matches {
			if hidden[mt.Channel.ID] {
				r.rep.problem("%s %q found a message in %s, a conversation the reader is not in", pat.Name, q, mt.Channel.ID)
				break
			}
		}
		return nil
	}
	// One untimed pass over every query warms the caches, as a running
	// server's are; then Reads rounds, each pattern once per round,
	// interleaved, taking its queries in turn.
	r.log.Info("warming up", "patterns", len(m.Patterns))
	for i, pat := range m.Patterns {
		for _, q := range pat.Queries {
			if err := query(i, q, false); err != nil {
				return err
			}
		}
	}
	r.log.Info("timing queries", "patterns", len(m.Patterns), "reads", r.cfg.Reads)
	for n := range r.cfg.Reads {
		for i, pat := range m.Patterns {
			if len(pat.Queries) == 0 {
				continue
			}
			if err := query(i, pat.Queries[n%len(pat.Queries)], true); err != nil {
				return err
			}
		}
	}
	for i, pat := range m.Patterns {
		s := &states[i]
		s.res.Name, s.res.Queries = pat.Name, len(pat.Queries)
		if len(pat.Queries) > 0 {
			s.res.Example = pat.Queries[0]
		}
		s.res.Latency = Summarize(s.lat)
		res.Patterns = append(res.Patterns, s.res)
		if len(pat.Queries) > 0 && s.res.MaxTotal == 0 {
			r.rep.problem("%s: no query found anything (e.g. %q)", pat.Name, s.res.Example)
		}
	}
	return nil
}

// searchLoad plans and loads the workspace into dir's SQLite database (or
// PostgreSQL), measures its size and writes the manifest.
func (r *run) searchLoad(ctx context.Context, dir, storeName string) (*searchManifest, error) {
	plan := newSearchPlan(r.cfg.Users, r.cfg.Channels, r.cfg.Messages, time.Now())
	r.log.Info("loading", "store", storeName, "messages", r.cfg.Messages, "conversations", len(plan.Convs), "users", plan.Users)
	st, closeStore, err := openSearchStore(ctx, dir, r.cfg.Postgres, r.log)
	if err != nil {
		return nil, err
	}
	m, err := loadSearch(ctx, st, plan, r.log)
	if cerr := closeStore(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	m.Store = storeName
	r.log.Info("measuring the database")
	if r.cfg.Postgres != "" {
		m.Disk, err = postgresDisk(ctx, r.cfg.Postgres, m.Messages)
	} else {
		m.Disk, err = sqliteDisk(ctx, dirDB(dir), m.Messages)
	}
	if err != nil {
		return nil, fmt.Errorf("disk: %w", err)
	}
	return m, writeSearchManifest(dir, m)
}

func dirDB(dir string) string { return dir + string(os.PathSeparator) + searchDBFile }
