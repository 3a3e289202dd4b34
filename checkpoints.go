package confab

import (
	"encoding/json"
	"strconv"
	"strings"
)

// MaxCheckpoints bounds the channels one catch-up names (client.catchup,
// a long poll).
const MaxCheckpoints = 10_000

// ParseCheckpoints parses a client's checkpoints, a JSON object
// {"<channel>": <seq>}, each seq a number or a numeric string, at most
// MaxCheckpoints of them: the highest seq the client has applied in each
// channel. Nothing (or only spaces) is none. Anything else is
// ErrInvalidArgs.
func ParseCheckpoints(b []byte) (map[string]int64, error) {
	out := map[string]int64{}
	if strings.TrimSpace(string(b)) == "" {
		return out, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil || m == nil || len(m) > MaxCheckpoints {
		return nil, ErrInvalidArgs
	}
	for ch, raw := range m {
		s := string(raw)
		if raw[0] == '"' {
			if err := json.Unmarshal(raw, &s); err != nil {
				return nil, ErrInvalidArgs
			}
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return nil, ErrInvalidArgs
		}
		out[ch] = n
	}
	return out, nil
}
