// Package events delivers an app's events to it the ways Slack does: over
// HTTP to the app's request URL (the Events API) and over Socket Mode.
package events

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The headers of a request to an app, as Slack names them.
const (
	HeaderTimestamp   = "X-Slack-Request-Timestamp"
	HeaderSignature   = "X-Slack-Signature"
	HeaderRetryNum    = "X-Slack-Retry-Num"
	HeaderRetryReason = "X-Slack-Retry-Reason"
	// HeaderNoRetry, "1" in an app's failed answer, asks not to retry.
	HeaderNoRetry = "X-Slack-No-Retry"
)

// WebhookUserAgent is the User-Agent of Slack's own requests: apps that
// log or filter on it see what they would from Slack.
const WebhookUserAgent = "Slackbot 1.0 (+https://api.slack.com/robots)"

// WebhookTimeout is how long an app has to answer: Slack gives it 3 s.
const WebhookTimeout = 3 * time.Second

// WebhookMaxAnswer bounds what is read of an app's answer: the status and
// headers say all that matters, and a url_verification echo is short.
const WebhookMaxAnswer = 64 << 10

// Slack's reasons for a retry, sent in X-Slack-Retry-Reason.
const (
	ReasonTimeout    = "http_timeout"       // no answer within the timeout
	ReasonRedirects  = "too_many_redirects" // a redirect: confab follows none
	ReasonConnection = "connection_failed"  // no connection (refused, DNS, address not allowed)
	ReasonSSL        = "ssl_error"          // the TLS handshake failed
	ReasonHTTPError  = "http_error"         // an answer other than 2xx
	ReasonUnknown    = "unknown_error"      // anything else
)

// Sign returns the X-Slack-Signature of a request sent at ts (unix seconds)
// with body: "v0=" and the hex HMAC-SHA256 of "v0:{ts}:{body}" keyed with
// the app's signing secret, which is how an app tells confab's requests
// from anyone else's.
func Sign(secret string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%d:", ts)
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// RetrySchedule is how long to wait before each retry of a delivery: the
// n-th entry before the n-th retry, the last one before every retry after
// it: the dispatcher gives a delivery up only after the retention window.
type RetrySchedule []time.Duration

// SlackRetries is Slack's schedule: a first retry nearly at once, then
// after a minute, then after five. Slack stops there and drops the event;
// confab keeps its events, so it goes on every five minutes until the app
// answers.
var SlackRetries = RetrySchedule{time.Second, time.Minute, 5 * time.Minute}

// Delay returns the wait before retry n (1 for the first retry); 0 for the
// first attempt (n <= 0) and for an empty schedule.
func (s RetrySchedule) Delay(n int) time.Duration {
	if n <= 0 || len(s) == 0 {
		return 0
	}
	return s[min(n, len(s))-1]
}

// RetryDelay returns the wait before retry n on SlackRetries.
func RetryDelay(n int) time.Duration { return SlackRetries.Delay(n) }

// WebhookConfig configures a Webhook. The zero value is Slack's behaviour.
type WebhookConfig struct {
	// Timeout bounds one request, from the connection to the end of the
	// answer. 0 means WebhookTimeout.
	Timeout time.Duration
	// DenyPrivate refuses to connect to loopback, private, link-local,
	// shared (100.64/10), unspecified and multicast addresses, checked on
	// the address actually dialled, so a name that resolves to one is
	// refused too. Off by default: an app on the same machine or network
	// as confab is the common self-hosted case (and the tests'). Set it
	// where apps' manifests are not all trusted (see docs/security.md).
	DenyPrivate bool
	// Now is the clock that timestamps requests; nil means time.Now.
	Now func() time.Time
}

// Webhook sends requests to apps' request URLs, as Slack's Events API
// does. A request URL comes from an app's manifest and is untrusted: only
// http and https, no redirect followed, answers read up to
// WebhookMaxAnswer, a timeout on every step, no proxy (a proxy would dial
// for us and escape DenyPrivate).
//
// Safe for concurrent use.
type Webhook struct {
	client *http.Client
	now    func() time.Time
}

// NewWebhook returns a Webhook configured by cfg.
func NewWebhook(cfg WebhookConfig) *Webhook {
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = WebhookTimeout
	}
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	if cfg.DenyPrivate {
		dialer.Control = denyPrivate
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Webhook{
		now: now,
		client: &http.Client{
			Timeout: timeout,
			Transport: &http.Transport{
				Proxy:                  nil,
				DialContext:            dialer.DialContext,
				TLSHandshakeTimeout:    timeout,
				ResponseHeaderTimeout:  timeout,
				ExpectContinueTimeout:  time.Second,
				MaxIdleConnsPerHost:    4,
				IdleConnTimeout:        90 * time.Second,
				MaxResponseHeaderBytes: WebhookMaxAnswer,
				ForceAttemptHTTP2:      true,
			},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

// errDenied is a dial refused by DenyPrivate.
var errDenied = errors.New("address not allowed")

// denyPrivate is a net.Dialer Control that refuses the addresses
// DenyPrivate names.
func denyPrivate(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", errDenied, address)
	}
	ip := ap.Addr().Unmap()
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() || sharedSpace.Contains(ip) {
		return fmt.Errorf("%w: %s", errDenied, ip)
	}
	return nil
}

// sharedSpace is carrier-grade NAT's 100.64.0.0/10: not public either.
var sharedSpace = netip.MustParsePrefix("100.64.0.0/10")

// WebhookRequest is one attempt at delivering an event to an app.
type WebhookRequest struct {
	URL    string // the app's request URL
	Secret string // the app's signing secret
	Body   []byte // the event_callback envelope, as JSON
	// Retry is 0 for the first attempt and n for the n-th retry; Reason is
	// then the previous attempt's Result.Reason. They are sent as
	// X-Slack-Retry-Num and X-Slack-Retry-Reason. confab retries past
	// Slack's 3, so the number goes on counting.
	Retry  int
	Reason string
}

// Outcome is what an attempt tells the dispatcher to do.
type Outcome int

const (
	// Delivered: the app answered 2xx.
	Delivered Outcome = iota
	// RetryLater: no 2xx; try again after RetryDelay.
	RetryLater
	// NoRetry: the app answered an error with X-Slack-No-Retry: 1, asking
	// not to be sent this event again.
	NoRetry
)

func (o Outcome) String() string {
	switch o {
	case Delivered:
		return "delivered"
	case RetryLater:
		return "retry later"
	case NoRetry:
		return "no retry"
	}
	return "Outcome(" + strconv.Itoa(int(o)) + ")"
}

// WebhookResult is the outcome of one attempt.
type WebhookResult struct {
	Outcome Outcome
	// Reason is Slack's reason for the failure (ReasonTimeout…), sent with
	// the next attempt; empty when Delivered, and when the attempt was cut
	// by the caller's ctx (then it says nothing about the app).
	Reason string
	Status int   // the answer's HTTP status; 0 without an answer
	Err    error // what went wrong, for the log; nil when Delivered
}

// Send makes one attempt at delivering req, signed with the time of this
// attempt (so a retry minutes later still passes the app's 5-minute
// staleness check).
func (w *Webhook) Send(ctx context.Context, req WebhookRequest) WebhookResult {
	h := http.Header{}
	if req.Retry > 0 {
		h.Set(HeaderRetryNum, strconv.Itoa(req.Retry))
		if req.Reason != "" {
			h.Set(HeaderRetryReason, req.Reason)
		}
	}
	resp, err := w.post(ctx, req.URL, req.Secret, req.Body, h)
	if err != nil {
		if ctx.Err() != nil {
			return WebhookResult{Outcome: RetryLater, Err: err}
		}
		return WebhookResult{Outcome: RetryLater, Reason: failure(err), Err: err}
	}
	drain(resp)
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return WebhookResult{Outcome: Delivered, Status: resp.StatusCode}
	case resp.Header.Get(HeaderNoRetry) == "1":
		return WebhookResult{Outcome: NoRetry, Reason: ReasonHTTPError, Status: resp.StatusCode,
			Err: fmt.Errorf("events: %s answered %s with %s: 1", redact(req.URL), resp.Status, HeaderNoRetry)}
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return WebhookResult{Outcome: RetryLater, Reason: ReasonRedirects, Status: resp.StatusCode,
			Err: fmt.Errorf("events: %s answered %s (to %q): redirects are not followed", redact(req.URL), resp.Status, resp.Header.Get("Location"))}
	}
	return WebhookResult{Outcome: RetryLater, Reason: ReasonHTTPError, Status: resp.StatusCode,
		Err: fmt.Errorf("events: %s answered %s", redact(req.URL), resp.Status)}
}

// post sends body to rawURL as Slack does, with the headers extra. The
// caller closes the answer's body.
func (w *Webhook) post(ctx context.Context, rawURL, secret string, body []byte, extra http.Header) (*http.Response, error) {
	u, err := checkURL(rawURL)
	if err != nil {
		return nil, err
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	ts := w.now().Unix()
	for k, v := range extra {
		r.Header[k] = v
	}
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("User-Agent", WebhookUserAgent)
	r.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	r.Header.Set(HeaderSignature, Sign(secret, ts, body))
	resp, err := w.client.Do(r)
	if err != nil {
		// url.Error repeats the URL, which may hold a secret in its query.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("events: POST %s: %w", redact(rawURL), err)
	}
	return resp, nil
}

// errBadURL is a request URL that is not an absolute http or https URL.
var errBadURL = errors.New("request URL must be an http or https URL")

// checkURL parses a request URL. Manifests are checked when saved; this is
// the last guard before a dial.
func checkURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("events: %w: %q", errBadURL, redact(raw))
	}
	return u, nil
}

// redact returns a request URL without its query, for logs and errors.
func redact(raw string) string {
	if i := strings.IndexAny(raw, "?#"); i >= 0 {
		return raw[:i]
	}
	return raw
}

// drain reads what is left of an answer, up to WebhookMaxAnswer, so that
// the connection can be reused, and closes it.
func drain(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, WebhookMaxAnswer))
	resp.Body.Close()
}

// failure names a failed request as Slack's retry reasons do.
func failure(err error) string {
	var (
		certErr   *tls.CertificateVerificationError
		recordErr tls.RecordHeaderError
		alertErr  tls.AlertError
		authErr   x509.UnknownAuthorityError
		hostErr   x509.HostnameError
		invErr    x509.CertificateInvalidError
		opErr     *net.OpError
		dnsErr    *net.DNSError
		netErr    net.Error
	)
	switch {
	case errors.Is(err, errBadURL), errors.Is(err, errDenied), errors.As(err, &dnsErr),
		errors.As(err, &opErr) && opErr.Op == "dial":
		return ReasonConnection
	case errors.As(err, &certErr), errors.As(err, &recordErr), errors.As(err, &alertErr),
		errors.As(err, &authErr), errors.As(err, &hostErr), errors.As(err, &invErr):
		return ReasonSSL
	case errors.As(err, &netErr) && netErr.Timeout(), errors.Is(err, context.DeadlineExceeded):
		return ReasonTimeout
	}
	return ReasonUnknown
}

// VerifyURL runs Slack's url_verification handshake with the app whose
// request URL is rawURL: it POSTs {"token","challenge","type"} with a
// random challenge, signed with secret like any request, and expects a 2xx
// whose body is the challenge — as plain text, as a form
// (challenge=…) or as JSON ({"challenge":…}), the three that Slack
// accepts. Anything else is an error that says what came back.
func (w *Webhook) VerifyURL(ctx context.Context, rawURL, secret, verificationToken string) error {
	challenge := rand.Text()
	body, err := json.Marshal(struct {
		Token     string `json:"token"`
		Challenge string `json:"challenge"`
		Type      string `json:"type"`
	}{verificationToken, challenge, "url_verification"})
	if err != nil {
		return fmt.Errorf("events: url_verification: %w", err)
	}
	resp, err := w.post(ctx, rawURL, secret, body, nil)
	if err != nil {
		return fmt.Errorf("events: url_verification: %w", err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, WebhookMaxAnswer+1))
	if err != nil {
		return fmt.Errorf("events: url_verification: %s answered %s, then reading it failed: %w", redact(rawURL), resp.Status, err)
	}
	if len(answer) > WebhookMaxAnswer {
		return fmt.Errorf("events: url_verification: %s answered %s with more than %d bytes", redact(rawURL), resp.Status, WebhookMaxAnswer)
	}
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		return fmt.Errorf("events: url_verification: %s answered %s: %s", redact(rawURL), resp.Status, excerpt(answer))
	}
	if echoes(answer, challenge) {
		return nil
	}
	return fmt.Errorf("events: url_verification: %s answered %s without the challenge: %s", redact(rawURL), resp.Status, excerpt(answer))
}

// echoes reports whether answer carries challenge in one of the forms
// Slack accepts. The form is judged by the body, not the Content-Type,
// which apps often leave at a framework's default.
func echoes(answer []byte, challenge string) bool {
	s := strings.TrimSpace(string(answer))
	if s == challenge {
		return true
	}
	var v struct {
		Challenge string `json:"challenge"`
	}
	if json.Unmarshal(answer, &v) == nil && v.Challenge == challenge {
		return true
	}
	form, err := url.ParseQuery(s)
	return err == nil && form.Get("challenge") == challenge
}

// excerpt quotes the start of an answer for an error message.
func excerpt(b []byte) string {
	const max = 200
	if len(b) == 0 {
		return "an empty body"
	}
	if len(b) > max {
		return strconv.Quote(string(b[:max])) + "…"
	}
	return strconv.Quote(string(b))
}
