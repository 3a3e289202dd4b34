package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/confab/confab"
)

// args are a request's arguments, each a string: query-string values
// overlaid by body values. JSON strings are unquoted; other JSON values keep
// their JSON text (numbers "5", booleans "true", arrays and objects as is).
//
// Getters record the first error; handlers read them all, then check Err.
type args struct {
	v   map[string]string
	err error
}

var errInvalidArgs = confab.ErrInvalidArgs

// parseArgs reads the query string and, for any method but GET and HEAD,
// a body of at most max bytes (a larger one also makes the server close the
// connection rather than read on).
func parseArgs(w http.ResponseWriter, r *http.Request, max int64) (*args, error) {
	a := &args{v: map[string]string{}}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, errInvalidArgs
	}
	for k, vs := range q {
		a.v[k] = vs[0]
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead || r.Body == nil {
		return a, nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		return nil, errInvalidArgs
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return a, nil
	}
	ct, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil && r.Header.Get("Content-Type") != "" {
		return nil, errInvalidArgs
	}
	switch ct {
	case "application/json":
		err = a.addJSON(body)
	case "application/x-www-form-urlencoded", "":
		err = a.addForm(body)
	case "multipart/form-data":
		err = a.addMultipart(body, params["boundary"])
	default:
		err = errInvalidArgs
	}
	if err != nil {
		return nil, err
	}
	return a, nil
}

func (a *args) addForm(body []byte) error {
	f, err := url.ParseQuery(string(body))
	if err != nil {
		return errInvalidArgs
	}
	for k, vs := range f {
		a.v[k] = vs[0]
	}
	return nil
}

func (a *args) addJSON(body []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		return errInvalidArgs // not a JSON object
	}
	for k, raw := range m {
		switch raw[0] {
		case 'n': // null: as if absent
		case '"':
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return errInvalidArgs
			}
			a.v[k] = s
		default:
			a.v[k] = string(raw)
		}
	}
	return nil
}

// addMultipart keeps the value fields and skips file parts. body is already
// bounded, so reading the parts is too.
func (a *args) addMultipart(body []byte, boundary string) error {
	if boundary == "" {
		return errInvalidArgs
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	seen := map[string]bool{}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return errInvalidArgs
		}
		name := p.FormName()
		if name == "" || p.FileName() != "" {
			continue
		}
		v, err := io.ReadAll(p)
		if err != nil {
			return errInvalidArgs
		}
		if !seen[name] { // the first value wins, as with forms
			seen[name] = true
			a.v[name] = string(v)
		}
	}
}

// Err is the first error of the getters.
func (a *args) Err() error { return a.err }

func (a *args) fail() {
	if a.err == nil {
		a.err = errInvalidArgs
	}
}

// str returns the argument, "" when absent.
func (a *args) str(k string) string { return a.v[k] }

// opt returns the argument, nil when absent (present and empty is "").
func (a *args) opt(k string) *string {
	v, ok := a.v[k]
	if !ok {
		return nil
	}
	return &v
}

// need returns a required argument; absent or empty fails.
func (a *args) need(k string) string {
	v := a.v[k]
	if v == "" {
		a.fail()
	}
	return v
}

// bool parses "true"/"1"/"false"/"0"; absent or "" is false.
func (a *args) bool(k string) bool {
	b := a.optBool(k)
	return b != nil && *b
}

// optBool is bool with nil for absent.
func (a *args) optBool(k string) *bool {
	v, ok := a.v[k]
	if !ok || v == "" {
		return nil
	}
	var b bool
	switch strings.ToLower(v) {
	case "true", "1":
		b = true
	case "false", "0":
	default:
		a.fail()
		return nil
	}
	return &b
}

// limit parses a page size: absent or 0 is def, above max is max, anything
// not a non-negative integer fails.
func (a *args) limit(k string, def, max int) int {
	v := a.v[k]
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	switch {
	case err != nil && errors.Is(err, strconv.ErrRange) && !strings.HasPrefix(v, "-"):
		return max
	case err != nil || n < 0:
		a.fail()
		return def
	case n == 0:
		return def
	case n > max:
		return max
	}
	return n
}

// ids parses a list of ids: comma-separated, or a JSON array of strings.
func (a *args) ids(k string) []string {
	v := a.v[k]
	if strings.HasPrefix(strings.TrimSpace(v), "[") {
		var list []string
		if err := json.Unmarshal([]byte(v), &list); err != nil {
			a.fail()
			return nil
		}
		v = strings.Join(list, ",")
	}
	return confab.SplitIDs(v)
}

// checkpoints parses a JSON object {"<channel>": <seq>} (see
// confab.ParseCheckpoints). Absent is an empty map.
func (a *args) checkpoints(k string) map[string]int64 {
	out, err := confab.ParseCheckpoints([]byte(a.v[k]))
	if err != nil {
		a.fail()
		return map[string]int64{}
	}
	return out
}
