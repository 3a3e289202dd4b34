package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/valyala/fastjson"
)

// AppsResult is the outcome of the apps scenario.
type AppsResult struct {
	Channels int     `json:"channels"` // the bot is in each; posts go round-robin
	Rate     float64 `json:"rate"`     // posts per second asked for
	// Without is the posting before the app was installed, With the same
	// while it is connected; Ratio is With's posts/s over Without's, and
	// CPURatio the same of the server's CPU per post.
	Without  AppsPosting `json:"without"`
	With     AppsPosting `json:"with"`
	Ratio    float64     `json:"ratio"`
	CPURatio float64     `json:"cpu_ratio"` // -1: no process_cpu_seconds_total
	// Events counts the events of With's posts the app received on its
	// first connection, EventsPerSecond their rate from the first post to
	// the last of them, Latency post → event: from just before the
	// chat.postMessage request left (the time is in the text) to the
	// envelope's arrival.
	Events          int64   `json:"events"`
	EventsPerSecond float64 `json:"events_per_s"`
	Latency         Latency `json:"latency"`
	// The app is then stopped (its socket closed) for AwaySeconds while
	// AwayPosts more are acknowledged, and reconnects; ReconnectSeconds
	// is apps.connections.open to hello, CatchUpSeconds the start of the
	// reconnection to the arrival of the last event missing of the posts
	// acknowledged before it (Backlog of them were missing then), and
	// CatchUpPerSecond Backlog over CatchUpSeconds. Posting goes on at
	// Rate meanwhile, for Duration.
	AwaySeconds      float64 `json:"away_seconds"`
	AwayPosts        int64   `json:"away_posts"`
	ReconnectSeconds float64 `json:"reconnect_seconds"`
	Backlog          int64   `json:"backlog"`
	CatchUpSeconds   float64 `json:"catch_up_seconds"`
	CatchUpPerSecond float64 `json:"catch_up_per_s"`
	// Over every post acknowledged once the app was installed: Posted,
	// Received (distinct posts whose event arrived), Lost (acknowledged,
	// no event by the end of the drain), Duplicated (an event of a post
	// received again, with the same event_id or another), Misrouted (an
	// event naming another channel than its post's, or of a post that
	// should have none). Lost, Duplicated and Misrouted must be 0.
	Posted     int64 `json:"posted"`
	PostErrors int64 `json:"post_errors"`
	Received   int64 `json:"received"`
	Lost       int64 `json:"lost"`
	Duplicated int64 `json:"duplicated"`
	Misrouted  int64 `json:"misrouted"`
	// Retries counts envelopes received with retry_attempt > 0 (the
	// server sent the event again: it was in flight when the socket
	// closed), Redelivered how much the server's
	// confab_app_events_retried_total grew (-1: not exposed).
	Retries     int64   `json:"retries"`
	Redelivered float64 `json:"redelivered"`
}

// AppsPosting is one posting phase of the apps scenario: Duration at Rate.
type AppsPosting struct {
	Posts     int     `json:"posts"` // scheduled
	Posted    int64   `json:"posted"`
	Errors    int64   `json:"errors"`
	Seconds   float64 `json:"seconds"` // the first post to the last answer
	PerSecond float64 `json:"posts_per_s"`
	Latency   Latency `json:"latency"` // chat.postMessage round trip
	// ServerCPUPerPost is how much the server's process_cpu_seconds_total
	// grew over the phase, per acknowledged post, in µs (-1: not exposed).
	ServerCPUPerPost float64 `json:"server_cpu_us_per_post"`
}

// Metrics the apps scenario reads from the server.
const (
	cpuMetric     = "process_cpu_seconds_total"
	retriedMetric = "confab_app_events_retried_total"
)

// appManifest subscribes a Socket Mode app to messages in public channels.
const appManifest = `{"display_information":{"name":"Bench"},"features":{"bot_user":{"display_name":"Bench"}},` +
	`"settings":{"socket_mode_enabled":true,"event_subscriptions":{"bot_events":["message.channels"]}}}`

// apps measures a Socket Mode app subscribed to a busy workspace. One user
// posts at Rate over Channels channels (the server runs with the bench's
// generous -rate-limit, so one token suffices, as for fanout's publisher):
// for Duration before the app is installed (the baseline: no app exists,
// so nothing of the event delivery runs), then for Duration with the app
// connected, then for Away with it stopped, then for Duration more while
// it reconnects and catches up, after which every post acknowledged since
// the app was installed must have come once as an event.
func (r *run) apps(ctx context.Context) error {
	start := time.Now()
	ws, err := r.setup(ctx, 1)
	if err != nil {
		return err
	}
	owner := ws.users[0]
	channels := make([]string, r.cfg.Channels)
	err = forEach(ctx, len(channels), r.cfg.Parallel, func(ctx context.Context, i int) error {
		id, err := r.api.createChannel(ctx, owner.Token, fmt.Sprintf("apps-%d", i))
		channels[i] = id
		return err
	})
	if err != nil {
		return err
	}
	setup := time.Since(start)

	phase := max(int(r.cfg.Rate*r.cfg.Duration.Seconds()), 1)
	away := max(int(r.cfg.Rate*r.cfg.Away.Seconds()), 1)
	// Post indices: the app's posts are [0, appPosts) — with, away,
	// after —, the baseline's come after them: an event of one is
	// misrouted.
	appPosts := 2*phase + away
	res := &AppsResult{Channels: len(channels), Rate: r.cfg.Rate, CPURatio: -1, Redelivered: -1}
	r.rep.Apps = res

	r.log.Info("posting without an app", "posts", phase, "rate", r.cfg.Rate, "channels", len(channels))
	if res.Without, _, err = r.postPhase(ctx, owner.Token, channels, appPosts, phase); err != nil {
		return err
	}

	installed := time.Now()
	var app struct {
		AppToken  string `json:"app_token"`
		BotUserID string `json:"bot_user_id"`
	}
	if err := r.api.setupCall(ctx, owner.Token, "apps.manifest.create", url.Values{"manifest": {appManifest}}, &app); err != nil {
		return err
	}
	if app.AppToken == "" || app.BotUserID == "" {
		return errors.New("apps.manifest.create: no app_token or bot_user_id")
	}
	err = forEach(ctx, len(channels), r.cfg.Parallel, func(ctx context.Context, i int) error {
		return r.api.setupCall(ctx, owner.Token, "conversations.invite", url.Values{"channel": {channels[i]}, "users": {app.BotUserID}}, nil)
	})
	if err != nil {
		return err
	}
	sink := newAppSink(channels, appPosts, phase)
	sc, err := r.dialSocket(ctx, app.AppToken, sink)
	if err != nil {
		return err
	}
	defer func() { sc.stop() }()
	// One post per channel, waited for: the app's delivery follows every
	// channel before the measured posts.
	err = forEach(ctx, len(channels), r.cfg.Parallel, func(ctx context.Context, i int) error {
		return r.api.setupCall(ctx, owner.Token, "chat.postMessage", url.Values{"channel": {channels[i]}, "text": {"warm-up"}}, nil)
	})
	if err != nil {
		return err
	}
	if err := waitFor(ctx, drainTimeout, func() bool { return sink.others.Load() >= int64(len(channels)) }); err != nil {
		return fmt.Errorf("warm-up: %d of %d events: %w", sink.others.Load(), len(channels), err)
	}
	r.rep.SetupSecs = (setup + time.Since(installed)).Seconds()
	retriedBefore := r.scrapeOne(ctx, retriedMetric)

	r.log.Info("posting with the app connected", "posts", phase)
	var with postRun
	res.With, with, err = r.postPhase(ctx, owner.Token, channels, 0, phase)
	if err != nil {
		return err
	}
	if res.Without.PerSecond > 0 {
		res.Ratio = res.With.PerSecond / res.Without.PerSecond
	}
	if res.With.ServerCPUPerPost > 0 && res.Without.ServerCPUPerPost > 0 {
		res.CPURatio = res.With.ServerCPUPerPost / res.Without.ServerCPUPerPost
	}

	r.log.Info("stopping the app", "away", r.cfg.Away)
	sc.stop() // the reader is done: sink is this goroutine's until the next dial
	res.Events = int64(len(sink.live))
	res.Latency = Summarize(sink.live)
	if !sink.lastLive.IsZero() {
		res.EventsPerSecond = perSecond(res.Events, sink.lastLive.Sub(sink.firstPost))
	}
	awayStart := time.Now()
	awayRun, err := r.postOpenLoop(ctx, owner.Token, channels, phase, away)
	if err != nil {
		return err
	}
	res.AwayPosts = awayRun.posted()

	// Reconnect, with the posting going on; caught up once every post
	// acknowledged so far has its event.
	acked := make([]bool, appPosts)
	copy(acked, with.acked)
	copy(acked[phase:], awayRun.acked)
	sink.target(acked[:phase+away])
	res.Backlog = sink.want - sink.below.Load()
	reconnect := time.Now()
	res.AwaySeconds = reconnect.Sub(awayStart).Seconds()
	var after postRun
	var afterErr error
	posting := make(chan struct{})
	go func() {
		defer close(posting)
		after, afterErr = r.postOpenLoop(ctx, owner.Token, channels, phase+away, phase)
	}()
	r.log.Info("reconnecting", "backlog", res.Backlog)
	sc, err = r.dialSocket(ctx, app.AppToken, sink)
	if err != nil {
		<-posting
		return err
	}
	res.ReconnectSeconds = time.Since(reconnect).Seconds()
	select {
	case <-sink.caught:
		res.CatchUpSeconds = sink.caughtAt.Sub(reconnect).Seconds()
		if res.CatchUpSeconds > 0 {
			res.CatchUpPerSecond = float64(res.Backlog) / res.CatchUpSeconds
		}
	case <-time.After(r.cfg.Duration + drainTimeout):
		r.rep.problem("not caught up %s after the reconnect", r.cfg.Duration+drainTimeout)
	case <-ctx.Done():
	}
	<-posting
	if afterErr != nil {
		return afterErr
	}
	copy(acked[phase+away:], after.acked)
	var posted int64
	for _, ok := range acked {
		if ok {
			posted++
		}
	}
	// Everything acknowledged must come; then a moment more for what
	// should not.
	waitFor(ctx, drainTimeout, func() bool { return sink.got.Load() >= posted }) //nolint:errcheck // counted below
	select {
	case <-ctx.Done():
	case <-time.After(500 * time.Millisecond):
	}
	sc.stop()
	if err := ctx.Err(); err != nil {
		return err
	}
	if retriedBefore >= 0 {
		if v := r.scrapeOne(ctx, retriedMetric); v >= 0 {
			res.Redelivered = v - retriedBefore
		}
	}

	res.Posted = posted
	res.PostErrors = with.errs + awayRun.errs + after.errs
	res.Received = sink.got.Load()
	for i, ok := range acked {
		if ok && sink.seen[i] == "" {
			res.Lost++
		}
	}
	res.Duplicated, res.Misrouted, res.Retries = sink.dups, sink.misrouted, sink.retries
	if res.Lost > 0 {
		r.rep.problem("%d of %d posts' events lost", res.Lost, res.Posted)
	}
	if res.Duplicated > 0 {
		r.rep.problem("%d events received twice", res.Duplicated)
	}
	if res.Misrouted > 0 {
		r.rep.problem("%d events misrouted", res.Misrouted)
	}
	if n := res.PostErrors + res.Without.Errors; n > 0 {
		r.rep.problem("%d posts failed", n)
	}
	if res.With.Posted == 0 || res.Without.Posted == 0 {
		r.rep.problem("no post succeeded")
	}
	return nil
}

// postPhase posts n messages from index from at Rate and summarises them,
// with the server's CPU per post.
func (r *run) postPhase(ctx context.Context, token string, channels []string, from, n int) (AppsPosting, postRun, error) {
	cpu := r.scrapeOne(ctx, cpuMetric)
	pr, err := r.postOpenLoop(ctx, token, channels, from, n)
	if err != nil {
		return AppsPosting{}, pr, err
	}
	p := AppsPosting{Posts: n, Posted: pr.posted(), Errors: pr.errs, Seconds: pr.elapsed.Seconds(), ServerCPUPerPost: -1}
	p.PerSecond = perSecond(p.Posted, pr.elapsed)
	p.Latency = Summarize(pr.latencies())
	if after := r.scrapeOne(ctx, cpuMetric); cpu >= 0 && after >= 0 && p.Posted > 0 {
		p.ServerCPUPerPost = (after - cpu) * 1e6 / float64(p.Posted)
	}
	return p, pr, nil
}

// scrapeOne is a metric summed over the metrics URLs; -1 when it cannot be
// read (a server without /metrics does not fail the run).
func (r *run) scrapeOne(ctx context.Context, name string) float64 {
	m, err := r.api.scrapeSum(ctx, r.cfg.MetricsURLs, name, name)
	if err != nil {
		r.log.Info("metric unavailable", "metric", name, "err", err)
		return -1
	}
	var sum float64
	for _, v := range m {
		sum += v
	}
	return sum
}

// waitFor polls done every millisecond until it is true, for at most d.
func waitFor(ctx context.Context, d time.Duration, done func() bool) error {
	deadline := time.Now().Add(d)
	for !done() {
		if time.Now().After(deadline) {
			return errors.New("timed out")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	return nil
}

// appSink is what the app received. Its fields without atomics belong to
// the reader of the connection open (socketApp.read), and to the scenario
// between connections.
type appSink struct {
	chanIndex map[string]int
	seen      []string // by post index: the event_id of its first event
	got       atomic.Int64
	others    atomic.Int64 // events of other messages (the warm-up)
	dups      int64
	misrouted int64
	retries   int64
	// Live figures: the events of posts below liveUntil on the first
	// connection.
	liveUntil int
	firstPost time.Time // the first live post's send time
	lastLive  time.Time
	live      []time.Duration
	// Catching up: below counts the distinct posts below limit received,
	// want how many of them were acknowledged; caught closes at the
	// arrival (caughtAt) of the one that makes below reach want.
	limit    int
	want     int64
	below    atomic.Int64
	caught   chan struct{}
	caughtAt time.Time
	second   bool // the connection open is not the first
	buf      []byte
}

func newAppSink(channels []string, n, liveUntil int) *appSink {
	s := &appSink{chanIndex: make(map[string]int, len(channels)), seen: make([]string, n), liveUntil: liveUntil, caught: make(chan struct{})}
	for i, c := range channels {
		s.chanIndex[c] = i
	}
	return s
}

// target sets what catching up is: an event for each post acknowledged
// of acked (indices from 0), counting those received already.
func (s *appSink) target(acked []bool) {
	s.limit, s.want, s.second = len(acked), 0, true
	var below int64
	for i, ok := range acked {
		if ok {
			s.want++
		}
		if s.seen[i] != "" {
			below++
		}
	}
	s.below.Store(below)
	if below >= s.want {
		s.caughtAt = time.Now()
		close(s.caught)
	}
}

// add records one envelope's event, received at.
func (s *appSink) add(eventID, channel, text []byte, attempt int, at time.Time) {
	if attempt > 0 {
		s.retries++
	}
	s.buf = append(append(append(s.buf[:0], `text":"`...), text...), '"') // as parseFanout reads a frame
	i, sent, ok := parseFanout(s.buf)
	if !ok {
		s.others.Add(1)
		return
	}
	if i < 0 || i >= int64(len(s.seen)) || s.chanIndex[string(channel)] != int(i)%len(s.chanIndex) {
		s.misrouted++
		return
	}
	if s.seen[i] != "" {
		s.dups++
		return
	}
	s.seen[i] = string(eventID)
	s.got.Add(1)
	if !s.second && int(i) < s.liveUntil {
		d := time.Duration(at.UnixNano() - sent)
		if len(s.live) == 0 || at.Add(-d).Before(s.firstPost) {
			s.firstPost = at.Add(-d)
		}
		s.live = append(s.live, d)
		s.lastLive = at
	}
	if s.second && int(i) < s.limit && s.below.Add(1) == s.want {
		s.caughtAt = at
		close(s.caught)
	}
}

// socketApp is the bench's Socket Mode app: one connection, whose reader
// acknowledges each envelope as soon as it arrives and records its event
// in a sink.
type socketApp struct {
	conn     *websocket.Conn
	sink     *appSink
	done     chan struct{}
	stopping atomic.Bool
	once     sync.Once
}

// dialSocket opens a Socket Mode connection with an app-level token and
// starts its reader once hello has arrived.
func (r *run) dialSocket(ctx context.Context, appToken string, sink *appSink) (*socketApp, error) {
	var out struct {
		URL string `json:"url"`
	}
	if err := r.api.setupCall(ctx, appToken, "apps.connections.open", nil, &out); err != nil {
		return nil, err
	}
	d := &websocket.Dialer{HandshakeTimeout: 15 * time.Second, ReadBufferSize: 64 << 10, WriteBufferSize: 4096}
	conn, _, err := d.DialContext(ctx, out.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", out.URL, err)
	}
	conn.SetReadDeadline(time.Now().Add(15 * time.Second)) //nolint:errcheck // the read fails instead
	_, frame, err := conn.ReadMessage()
	if err == nil {
		var hello struct {
			Type string `json:"type"`
		}
		if err = json.Unmarshal(frame, &hello); err == nil && hello.Type != "hello" {
			err = fmt.Errorf("first frame %.200q, want hello", frame)
		}
	}
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("socket mode hello: %w", err)
	}
	conn.SetReadDeadline(time.Time{}) //nolint:errcheck // no deadline
	a := &socketApp{conn: conn, sink: sink, done: make(chan struct{})}
	go a.read()
	return a, nil
}

// read acknowledges and records envelopes until the connection ends or
// stop ends it. An envelope is recorded only once its acknowledgement is
// written: an app stopped mid-stream has acknowledged whatever it
// processed, and what the server sent after that comes again.
func (a *socketApp) read() {
	defer close(a.done)
	var p fastjson.Parser
	ack := []byte(`{"envelope_id":""}`)
	for {
		_, frame, err := a.conn.ReadMessage()
		if err != nil {
			return
		}
		at := time.Now()
		v, err := p.ParseBytes(frame)
		if err != nil || string(v.GetStringBytes("type")) != "events_api" {
			continue
		}
		env := v.GetStringBytes("envelope_id")
		ack = append(append(append(ack[:0], `{"envelope_id":"`...), env...), `"}`...)
		if err := a.conn.WriteMessage(websocket.TextMessage, ack); err != nil {
			return
		}
		ev := v.Get("payload", "event")
		if ev == nil || !bytes.Equal(ev.GetStringBytes("type"), []byte("message")) {
			continue
		}
		a.sink.add(v.GetStringBytes("payload", "event_id"), ev.GetStringBytes("channel"), ev.GetStringBytes("text"), v.GetInt("retry_attempt"), at)
		if a.stopping.Load() {
			return
		}
	}
}

// stop closes the connection as an app that is stopped: the reader
// finishes the envelope it holds, then the socket says goodbye and
// closes. It waits for the reader.
func (a *socketApp) stop() {
	a.once.Do(func() {
		a.stopping.Store(true)
		a.conn.SetReadDeadline(time.Now()) //nolint:errcheck // ends a read that waits
		<-a.done
		a.conn.WriteControl(websocket.CloseMessage, //nolint:errcheck // closing anyway
			websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		a.conn.Close()
	})
}
