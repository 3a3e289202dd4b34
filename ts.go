package confab

import (
	"strconv"
	"strings"
)

// A message's ts is Slack's message id: "<unix seconds>.<6 digits>". confab
// keeps it as microseconds since the epoch (int64) and formats it at the edge.
// Within a channel ts is unique and increases with seq: the store assigns
// max(now, previous+1µs).

// FormatTS formats microseconds since the epoch as a Slack ts.
func FormatTS(micros int64) string {
	if micros <= 0 {
		return ""
	}
	sec, frac := micros/1e6, micros%1e6
	s := strconv.FormatInt(frac, 10)
	return strconv.FormatInt(sec, 10) + "." + strings.Repeat("0", 6-len(s)) + s
}

// ParseTS parses a Slack ts ("1700000000.000123", also "1700000000" or with
// fewer fraction digits) into microseconds. It rejects anything else.
func ParseTS(s string) (int64, error) {
	bad := &Error{Code: EINVALID, Message: "invalid_ts"}
	if s == "" || len(s) > 32 {
		return 0, bad
	}
	secPart, fracPart, hasFrac := strings.Cut(s, ".")
	if secPart == "" || len(secPart) > 11 || (hasFrac && (fracPart == "" || len(fracPart) > 6)) {
		return 0, bad
	}
	sec, err := strconv.ParseUint(secPart, 10, 63)
	if err != nil {
		return 0, bad
	}
	var frac uint64
	if hasFrac {
		if frac, err = strconv.ParseUint(fracPart, 10, 32); err != nil {
			return 0, bad
		}
		for i := len(fracPart); i < 6; i++ {
			frac *= 10
		}
	}
	return int64(sec)*1e6 + int64(frac), nil
}
