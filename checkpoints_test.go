package confab_test

import (
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/confab/confab"
)

// Checkpoints are a JSON object of seqs, numbers or numeric strings, none
// negative, at most MaxCheckpoints; nothing is none; the rest is
// invalid_arguments.
func TestParseCheckpoints(t *testing.T) {
	var many strings.Builder
	many.WriteString("{")
	for i := range confab.MaxCheckpoints + 1 {
		if i > 0 {
			many.WriteString(",")
		}
		fmt.Fprintf(&many, `"C%d":1`, i)
	}
	many.WriteString("}")
	for _, tc := range []struct {
		in   string
		want map[string]int64
	}{
		{``, map[string]int64{}},
		{`  `, map[string]int64{}},
		{`{}`, map[string]int64{}},
		{`{"C1":12,"C2":"7"}`, map[string]int64{"C1": 12, "C2": 7}},
		{`{"C1":-1}`, nil},
		{`{"C1":1.5}`, nil},
		{`{"C1":"x"}`, nil},
		{`{"C1":null}`, nil},
		{`[1]`, nil},
		{`null`, nil},
		{`{"C1":`, nil},
		{many.String(), nil},
	} {
		got, err := confab.ParseCheckpoints([]byte(tc.in))
		if tc.want == nil {
			if err != confab.ErrInvalidArgs {
				t.Errorf("ParseCheckpoints(%.40q) = %v, %v; want invalid_arguments", tc.in, got, err)
			}
			continue
		}
		if err != nil || !maps.Equal(got, tc.want) {
			t.Errorf("ParseCheckpoints(%.40q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}
