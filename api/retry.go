package api

import (
	"errors"
	"math"
	"time"
)

// retryAfter is the Retry-After, in whole seconds, of a refusal by the use
// cases: an error in whose chain something has a RetryAfter method (chat's
// per-account login throttle says so how long the account waits). 0 when
// there is none, and write sends its default of 1 for any ratelimited.
func retryAfter(err error) int {
	var r interface{ RetryAfter() time.Duration }
	if err == nil || !errors.As(err, &r) {
		return 0
	}
	d := r.RetryAfter()
	if d <= 0 {
		return 0
	}
	return int(math.Min(math.Ceil(d.Seconds()), 24*3600))
}
