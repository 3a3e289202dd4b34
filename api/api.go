package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/confab/confab"
	"github.com/confab/confab/chat"
	"github.com/confab/confab/internal/ratelimit"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
)

// Service is what the API needs from the chat use cases. u is always the
// authenticated caller. Errors are *confab.Error whose Message is the Slack
// error string sent to the client; any other error is an internal fault.
// An ERATELIMIT error may carry a RetryAfter() time.Duration method
// somewhere in its chain (Login's per-account throttle): it becomes the
// Retry-After header.
type Service interface {
	Signup(ctx context.Context, p chat.SignupParams) (*chat.Session, error)
	Login(ctx context.Context, team, name, password string) (*chat.Session, error)
	// Authenticate returns the owner of token, or invalid_auth.
	Authenticate(ctx context.Context, token string) (*confab.User, error)
	// Revoke deletes u's token and ends the sessions opened under it.
	Revoke(ctx context.Context, u *confab.User, token string) error
	Workspace(ctx context.Context, u *confab.User) (*confab.Workspace, error)

	CreateChannel(ctx context.Context, u *confab.User, name string, private bool) (*confab.ChannelView, error)
	JoinChannel(ctx context.Context, u *confab.User, channel string) (v *confab.ChannelView, already bool, err error)
	LeaveChannel(ctx context.Context, u *confab.User, channel string) (notInChannel bool, err error)
	InviteToChannel(ctx context.Context, u *confab.User, channel string, users []string) (*confab.ChannelView, error)
	OpenConversation(ctx context.Context, u *confab.User, users []string) (v *confab.ChannelView, already bool, err error)
	ListChannels(ctx context.Context, u *confab.User, p chat.ListChannelsParams) (views []*confab.ChannelView, nextCursor string, err error)
	ChannelInfo(ctx context.Context, u *confab.User, channel string) (*confab.ChannelView, error)
	ChannelMembers(ctx context.Context, u *confab.User, channel, cursor string, limit int) (ids []string, nextCursor string, err error)
	SetTopic(ctx context.Context, u *confab.User, channel, topic string) (*confab.ChannelView, error)
	SetPurpose(ctx context.Context, u *confab.User, channel, purpose string) (*confab.ChannelView, error)
	ArchiveChannel(ctx context.Context, u *confab.User, channel string) error
	SetPrefs(ctx context.Context, u *confab.User, channel string, p chat.PrefsUpdate) error
	MarkRead(ctx context.Context, u *confab.User, channel, ts string) error

	PostMessage(ctx context.Context, u *confab.User, p chat.PostParams) (*confab.Message, error)
	MeMessage(ctx context.Context, u *confab.User, channel, text string) (*confab.Message, error)
	UpdateMessage(ctx context.Context, u *confab.User, p chat.UpdateParams) (*confab.Message, error)
	DeleteMessage(ctx context.Context, u *confab.User, channel, ts string) (*confab.Message, error)
	AddReaction(ctx context.Context, u *confab.User, channel, ts, name string) error
	RemoveReaction(ctx context.Context, u *confab.User, channel, ts, name string) error
	History(ctx context.Context, u *confab.User, p chat.HistoryParams) (*chat.Page, error)
	Replies(ctx context.Context, u *confab.User, p chat.RepliesParams) (*chat.Page, error)

	// UserInfo returns a user of u's workspace, its email blank unless u
	// may see it (users.info, users.profile.get).
	UserInfo(ctx context.Context, u *confab.User, userID string) (*confab.User, error)
	// LookupUserByEmail: users_not_found, or a *confab.ScopeError for a
	// bot without users:read.email.
	LookupUserByEmail(ctx context.Context, u *confab.User, email string) (*confab.User, error)
	// SetProfile changes u's own profile and returns the user.
	SetProfile(ctx context.Context, u *confab.User, p chat.ProfileParams) (*confab.User, error)
	ListUsers(ctx context.Context, u *confab.User, cursor string, limit int) (users []*confab.User, nextCursor string, err error)
	// SearchUsers finds the users of u's workspace a query names
	// (users.search), channel's members first when it is set.
	SearchUsers(ctx context.Context, u *confab.User, query, channel string, count int) ([]*confab.User, error)
	GetPresence(ctx context.Context, u *confab.User, userID string) (string, error)
	SetPresence(ctx context.Context, u *confab.User, presence string) error
	// Typing tells the members of a conversation that u is typing in it.
	Typing(ctx context.Context, u *confab.User, channel string) error
	// SubscribePresence makes u's stream watch the presence of ids.
	SubscribePresence(ctx context.Context, u *confab.User, stream string, ids []string) error

	Boot(ctx context.Context, u *confab.User) (*chat.Boot, error)
	CatchUp(ctx context.Context, u *confab.User, checkpoints map[string]int64, limit int) ([]chat.CatchUpChannel, error)
	// IssueTicket issues a ticket for a WebSocket of u under token.
	IssueTicket(ctx context.Context, u *confab.User, token string) (*confab.Ticket, error)

	TeamInfo(ctx context.Context, u *confab.User, team string) (*confab.Workspace, error)
	ListUserChannels(ctx context.Context, u *confab.User, p chat.UserChannelsParams) (views []*confab.ChannelView, nextCursor string, err error)
	RenameChannel(ctx context.Context, u *confab.User, channel, name string) (*confab.ChannelView, error)
	UnarchiveChannel(ctx context.Context, u *confab.User, channel string) error
	KickFromChannel(ctx context.Context, u *confab.User, channel, user string) error
	CloseConversation(ctx context.Context, u *confab.User, channel string) error
	// Message returns a live message with its reactions.
	Message(ctx context.Context, u *confab.User, channel, ts string) (*confab.Message, error)

	// Scheduled messages (sched.go).
	ScheduleMessage(ctx context.Context, u *confab.User, p chat.ScheduleParams) (*confab.ScheduledMessage, *confab.Message, error)
	ScheduledMessages(ctx context.Context, u *confab.User, p chat.ScheduledListParams) (ms []*confab.ScheduledMessage, nextCursor string, err error)
	DeleteScheduledMessage(ctx context.Context, u *confab.User, channel, id string) error
	PostEphemeral(ctx context.Context, u *confab.User, p chat.EphemeralParams) (*confab.Message, error)
	AddPin(ctx context.Context, u *confab.User, channel, ts string) error
	RemovePin(ctx context.Context, u *confab.User, channel, ts string) error
	ListPins(ctx context.Context, u *confab.User, channel string) ([]*confab.Pin, error)

	// Search runs a search.messages query: not_allowed_token_type for a
	// bot, invalid_query (a *confab.QueryError) for a query that cannot
	// be read.
	Search(ctx context.Context, u *confab.User, p chat.SearchParams) (*chat.SearchPage, error)
}

// Defaults of Config.
const (
	DefaultRateLimit     = rate.Limit(50) // requests per second per token
	DefaultRateBurst     = 100
	DefaultAuthRateLimit = rate.Limit(1) // auth.signup/auth.login per second per client IP
	DefaultAuthRateBurst = 20
	DefaultMaxBodyBytes  = 1 << 20
	DefaultMaxLimiters   = 100_000
)

// Config configures a Server. Zero values take the defaults above.
type Config struct {
	Chat   Service
	Logger *slog.Logger // nil: discard
	// Registerer receives the request metrics; nil: no metrics.
	Registerer prometheus.Registerer
	// RateLimit and RateBurst limit requests per token. rate.Inf disables
	// the limit.
	RateLimit rate.Limit
	RateBurst int
	// AuthRateLimit and AuthRateBurst limit auth.signup and auth.login per
	// client IP. rate.Inf disables the limit (benchmarks, tests).
	AuthRateLimit rate.Limit
	AuthRateBurst int
	// MaxLimiters bounds each rate-limiter map (tokens, IPs); idle limiters
	// are evicted first.
	MaxLimiters int
	// Tokens is the per-token limiter, keyed by the token's fingerprint
	// (chat.Fingerprint); the process hands the same one to its gateway,
	// so that a token's requests and RTM frames share one bucket. nil: one
	// of the API's own, from RateLimit, RateBurst and MaxLimiters.
	Tokens       *ratelimit.Limiter[confab.Fingerprint]
	MaxBodyBytes int64
	// SocketMode: this process serves apps' Socket Mode connections at
	// /apps/socket/ (apps.connections.open hands them out).
	SocketMode bool
	// RTMURL returns the WebSocket URL rtm.connect hands out for ticket.
	// nil: ws://<Host>/rtm/<ticket> (wss:// when the request came over TLS,
	// see Secure).
	RTMURL func(r *http.Request, ticket string) string
	// ClientAddr returns the client's address, whose auth requests are
	// rate-limited together (an IPv6 address by its /64). nil: the
	// connection's peer (r.RemoteAddr). Behind reverse proxies it must
	// believe forwarding headers from those proxies only.
	ClientAddr func(r *http.Request) netip.Addr
	// Secure reports whether the client reached the server over TLS, for
	// the scheme of rtm.connect's and auth.test's URLs. nil: r.TLS != nil.
	Secure func(r *http.Request) bool
}

// Server is the http.Handler of /api/<method>.
type Server struct {
	// immutable after New
	chat    Service
	log     *slog.Logger
	maxBody int64
	rtmURL  func(r *http.Request, ticket string) string
	// socketMode: Config.SocketMode.
	socketMode bool
	addr       func(r *http.Request) netip.Addr
	secure     func(r *http.Request) bool
	metrics    *metrics // nil: none
	apps       Apps     // cfg.Chat's app methods; nil: none (apps.go)

	tokens *ratelimit.Limiter[confab.Fingerprint] // per token (shared with the gateway)
	ips    *ratelimit.Limiter[string]             // per client IP, for the auth methods
}

// New returns a Server. It panics if cfg.Chat is nil or the metrics cannot
// be registered (a collision other than with identical collectors).
func New(cfg Config) *Server {
	if cfg.Chat == nil {
		panic("api: Config.Chat is nil")
	}
	s := &Server{chat: cfg.Chat, log: cfg.Logger, maxBody: cfg.MaxBodyBytes, rtmURL: cfg.RTMURL, addr: cfg.ClientAddr, secure: cfg.Secure,
		socketMode: cfg.SocketMode}
	s.apps, _ = cfg.Chat.(Apps)
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	if s.addr == nil {
		s.addr = peerAddr
	}
	if s.secure == nil {
		s.secure = func(r *http.Request) bool { return r.TLS != nil }
	}
	if s.rtmURL == nil {
		s.rtmURL = s.defaultRTMURL
	}
	if cfg.RateLimit == 0 {
		cfg.RateLimit = DefaultRateLimit
	}
	if cfg.RateBurst <= 0 {
		cfg.RateBurst = DefaultRateBurst
	}
	if cfg.AuthRateLimit == 0 {
		cfg.AuthRateLimit = DefaultAuthRateLimit
	}
	if cfg.AuthRateBurst <= 0 {
		cfg.AuthRateBurst = DefaultAuthRateBurst
	}
	if cfg.MaxLimiters <= 0 {
		cfg.MaxLimiters = DefaultMaxLimiters
	}
	s.tokens = cfg.Tokens
	if s.tokens == nil {
		s.tokens = ratelimit.New[confab.Fingerprint](ratelimit.Config{Rate: cfg.RateLimit, Burst: cfg.RateBurst, MaxKeys: cfg.MaxLimiters})
	}
	s.ips = ratelimit.New[string](ratelimit.Config{Rate: cfg.AuthRateLimit, Burst: cfg.AuthRateBurst, MaxKeys: cfg.MaxLimiters})
	if cfg.Registerer != nil {
		s.metrics = newMetrics(cfg.Registerer)
	}
	return s
}

func (s *Server) defaultRTMURL(r *http.Request, ticket string) string {
	return s.wsBase(r) + "/rtm/" + url.PathEscape(ticket)
}

// wsBase is the base URL of WebSockets served by this process: ws:// or
// wss:// (when the request came over TLS, see Secure) and the request's
// host.
func (s *Server) wsBase(r *http.Request) string {
	scheme := "ws://"
	if s.secure(r) {
		scheme = "wss://"
	}
	return scheme + r.Host
}

// maxTokenLen bounds the tokens we look up or keep a limiter for.
const maxTokenLen = 256

// call is one request being served.
type call struct {
	r      *http.Request
	method string // its name
	args   *args
	token  string
	user   *confab.User // nil for methods without auth
	res    any          // the answer when ok
}

// ServeHTTP serves /api/<method>.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	name, _ := strings.CutPrefix(r.URL.Path, "/api/")
	m, known := methods[name]
	label := "unknown"
	if known {
		label = name
	}
	c := &call{r: r, method: name}
	retry, err := s.serve(w, c, m, known)
	code := s.write(w, c, label, retry, err)
	if s.metrics != nil {
		s.metrics.observe(label, code, time.Since(start))
	}
}

// serve runs the method, leaving its answer in c.res, and returns its error
// and, for a rate limit, the seconds to wait.
func (s *Server) serve(w http.ResponseWriter, c *call, m method, known bool) (retry int, err error) {
	if !known {
		return 0, errUnknownMethod
	}
	r := c.r
	if c.args, err = parseArgs(w, r, s.maxBody); err != nil {
		return 0, err
	}
	if m.ipLimit {
		if d := s.ips.Wait(s.clientKey(r)); d > 0 {
			return waitSeconds(d), errRateLimited
		}
	}
	if m.auth || m.appToken {
		c.token = bearer(r)
		if c.token == "" {
			c.token = c.args.str("token")
		}
		if c.token == "" {
			return 0, confab.ErrNotAuthed
		}
		if len(c.token) > maxTokenLen {
			return 0, confab.ErrInvalidAuth
		}
		if d := s.tokens.Wait(chat.Fingerprint(c.token)); d > 0 {
			return waitSeconds(d), errRateLimited
		}
		app := m.appToken && (!m.auth || confab.TokenTypeOf(c.token) == confab.TokenApp)
		if app {
			if s.apps == nil {
				return 0, errUnknownMethod
			}
			c.user, err = s.apps.AuthenticateApp(r.Context(), c.token)
		} else {
			c.user, err = s.chat.Authenticate(r.Context(), c.token)
		}
		if err != nil {
			return 0, err
		}
		if c.user == nil {
			return 0, confab.ErrInvalidAuth
		}
		if !app {
			if err := s.checkScopes(c, c.method); err != nil {
				return 0, err
			}
		}
	}
	c.res, err = m.fn(s, c)
	return retryAfter(err), err
}

// waitSeconds is Retry-After's whole seconds for a wait of d: at least 1.
func waitSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

var (
	errUnknownMethod = &confab.Error{Code: confab.ENOTFOUND, Message: "unknown_method"}
	errRateLimited   = &confab.Error{Code: confab.ERATELIMIT, Message: "ratelimited"}
)

// statusOf maps an error to the HTTP status and the Slack error string sent
// to the client. It is the only place where confab error codes meet HTTP.
//
//	nil                  200 (ok:true)
//	ERATELIMIT           429 "ratelimited" (with Retry-After)
//	EINTERNAL, non-*Error 500 "internal_error" (detail logged, never sent)
//	every other code     200 with the error's Slack message
func statusOf(err error) (int, string) {
	switch confab.ErrorCode(err) {
	case "":
		return http.StatusOK, ""
	case confab.ERATELIMIT:
		return http.StatusTooManyRequests, "ratelimited"
	case confab.EINTERNAL:
		return http.StatusInternalServerError, "internal_error"
	case confab.EUNAVAILABLE:
		return http.StatusServiceUnavailable, confab.ErrorMessage(err)
	}
	if msg := confab.ErrorMessage(err); msg != "" {
		return http.StatusOK, msg
	}
	switch confab.ErrorCode(err) { // an *Error without a Slack message
	case confab.ENOTFOUND:
		return http.StatusOK, "not_found"
	case confab.EUNAUTHORIZED:
		return http.StatusOK, "invalid_auth"
	case confab.EFORBIDDEN:
		return http.StatusOK, "not_allowed"
	}
	return http.StatusOK, "invalid_arguments"
}

type errorAnswer struct {
	OK    bool   `json:"ok"`
	Error string `json:"error"`
}

// scopeErrorAnswer is Slack's missing_scope: the scope the method needs
// and those the token has, comma-joined.
type scopeErrorAnswer struct {
	OK       bool   `json:"ok"`
	Error    string `json:"error"`
	Needed   string `json:"needed"`
	Provided string `json:"provided"`
}

// write sends the answer and returns the Slack error string ("" when ok)
// for the metrics.
func (s *Server) write(w http.ResponseWriter, c *call, label string, retry int, err error) string {
	r, res := c.r, c.res
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	status, code := statusOf(err)
	if err != nil {
		if status == http.StatusInternalServerError {
			s.logInternal(c, label, err)
		}
		if status == http.StatusTooManyRequests {
			if retry <= 0 {
				retry = 1
			}
			h.Set("Retry-After", strconv.Itoa(retry))
		}
		res = errorAnswer{Error: code}
		if me := (*confab.ManifestError)(nil); errors.As(err, &me) {
			res = manifestErrorAnswer{Error: code, Errors: me.Problems}
		}
		if se := (*confab.ScopeError)(nil); errors.As(err, &se) {
			res = scopeErrorAnswer{Error: code, Needed: se.Needed, Provided: strings.Join(se.Provided, ",")}
		}
		if qe := (*confab.QueryError)(nil); errors.As(err, &qe) {
			res = queryErrorAnswer{Error: code, Detail: qe.Detail}
		}
	}
	var (
		b    []byte
		merr error
	)
	if e, ok := res.(encoded); ok {
		b = e
	} else {
		b, merr = marshal(res)
	}
	if merr != nil {
		s.logInternal(c, label, merr)
		status, code = http.StatusInternalServerError, "internal_error"
		b, _ = marshal(errorAnswer{Error: code})
	}
	// With the length known net/http sends the answer as it is; without it
	// an answer over 2 KB (a page of history, a catch-up) goes chunked.
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(b) //nolint:errcheck // the client went away; nothing to do
	}
	return code
}

func (s *Server) logInternal(c *call, method string, err error) {
	ctx := c.r.Context()
	level := slog.LevelError
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		level = slog.LevelDebug // the client went away
	}
	if !s.log.Enabled(ctx, level) {
		return
	}
	user := ""
	if c.user != nil {
		user = c.user.ID
	}
	s.log.Log(ctx, level, "api request failed", "method", method, "user", user, "err", err)
}

// encoded is an answer already encoded by marshal, shared by several
// requests: it is written as it is and never modified.
type encoded []byte

// marshal encodes v without HTML escaping: text goes back exactly as sent,
// "<@U…>" mentions included.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// bearer returns the token of an "Authorization: Bearer <token>" header.
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// clientKey is the key of the client's per-IP limiter: its address, or
// for IPv6 its /64, which one subscriber usually holds whole and could
// otherwise hop across.
func (s *Server) clientKey(r *http.Request) string {
	a := s.addr(r)
	if !a.IsValid() {
		return r.RemoteAddr
	}
	if a.Is6() && !a.Is4In6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.Unmap().String()
}

// peerAddr is the address of the connection's peer.
func peerAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap().WithZone("")
}
