package events

import (
	"context"
	"time"
)

// The Events API over HTTP. An app whose manifest sets a request_url and
// does not enable Socket Mode gets its events POSTed there, signed as
// Slack signs them (Webhook). Its URL must first answer Slack's
// url_verification challenge; until it does, its events wait (they are in
// the change log) and the challenge is tried again on RetrySchedule. Then
// HTTPWorkers requests at a time go out, one per channel at a time, so
// that each channel's events arrive in order; a failed one is tried again
// on the schedule (X-Slack-Retry-Num, X-Slack-Retry-Reason) for as long
// as the retention window, past Slack's three retries: an app that answers
// again within it gets what it missed (an event refused for longer is
// given up, and its channel's next events go on). X-Slack-No-Retry: 1 on an
// error answer is honoured: that event is not sent again.

// webhookTimeout bounds one request: Slack gives an app 3 s.
const webhookTimeout = WebhookTimeout

// hookJob is one attempt at delivering one event over HTTP.
type hookJob struct {
	envelope string
	url      string
	secret   string
	body     []byte
	attempt  int
	reason   string
}

// hookResult is a failed attempt, for the dispatcher to schedule again.
type hookResult struct {
	envelope string
	reason   string
}

// verifyResult is the end of a url_verification.
type verifyResult struct {
	url string
	err error
}

// overHTTP reports whether the app's events go to its request URL now:
// it has one, is not in Socket Mode, and the URL answered the challenge.
// It starts the challenge when it is due.
func (d *dispatcher) overHTTP(now time.Time) bool {
	t := d.target
	if t.socketMode || t.requestURL == "" {
		return false
	}
	if d.verified == t.requestURL {
		d.startWorkers()
		return true
	}
	if !d.verifying && !now.Before(d.nextVerify) {
		d.verifying = true
		url, secret, token := t.requestURL, t.app.SigningSecret, t.app.VerificationToken
		d.m.wg.Add(1)
		go func() {
			defer d.m.wg.Done()
			err := d.m.hook.VerifyURL(d.ctx, url, secret, token)
			select {
			case d.verifyDone <- verifyResult{url, err}:
				d.poke()
			case <-d.stop:
			}
		}()
	}
	return false
}

// verifiedURL takes the end of a url_verification.
func (d *dispatcher) verifiedURL(v verifyResult) {
	d.verifying = false
	if v.err == nil {
		d.verified, d.verifies = v.url, 0
		d.m.log.Info("app request URL verified", "app", d.appID)
		return
	}
	d.verifies++
	d.nextVerify = d.m.now().Add(d.m.cfg.RetrySchedule.Delay(d.verifies))
	d.m.log.Warn("app request URL not verified", "app", d.appID, "attempts", d.verifies, "err", v.err)
}

// failed schedules a failed HTTP attempt again.
func (d *dispatcher) failed(f hookResult) {
	p := d.envelopes[f.envelope]
	if p == nil {
		return
	}
	p.reason = f.reason
	p.due = d.m.now().Add(d.m.cfg.RetrySchedule.Delay(d.attempts[p.ev.id]))
}

// startWorkers starts the app's HTTP workers, once.
func (d *dispatcher) startWorkers() {
	d.workersOnce.Do(func() {
		for range d.m.cfg.HTTPWorkers {
			d.m.wg.Add(1)
			go func() {
				defer d.m.wg.Done()
				d.work()
			}()
		}
	})
}

// work sends the requests of the app's HTTP queue until the dispatcher
// stops.
func (d *dispatcher) work() {
	for {
		var j hookJob
		select {
		case <-d.stop:
			return
		case j = <-d.hook:
		}
		res := d.m.hook.Send(d.ctx, WebhookRequest{URL: j.url, Secret: j.secret, Body: j.body, Retry: j.attempt, Reason: j.reason})
		if res.Outcome != Delivered && res.Err != nil && d.ctx.Err() == nil {
			d.m.log.Info("app event not delivered", "app", d.appID, "attempt", j.attempt, "outcome", res.Outcome.String(), "err", res.Err)
		}
		var to chan<- string
		var fail chan<- hookResult
		switch res.Outcome {
		case Delivered, NoRetry:
			to = d.acks
		default:
			fail = d.fails
		}
		select {
		case to <- j.envelope:
		case fail <- hookResult{j.envelope, res.Reason}:
		case <-d.stop:
			return
		}
	}
}

// newContext is the dispatcher's context: canceled when it stops, so that
// requests in flight end.
func newContext() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}
