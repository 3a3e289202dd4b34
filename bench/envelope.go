package bench

import (
	"errors"
	"fmt"

	"github.com/valyala/fastjson"
)

// envelope is what the bench checks in a Web API answer: ok, the error
// code of an ok:false answer and, for conversations.history, how many
// messages the page holds.
type envelope struct {
	OK       bool
	Error    string
	Messages int // elements of the top-level "messages" array; 0 when absent
}

var errNotAnswer = errors.New("not a JSON object")

// envelopeParsers are parseEnvelope's. A parser keeps the values it parsed
// to parse the next answer into: a pool, not a parser per connection,
// keeps that memory warm when, as in hot, a thousand connections make a
// few calls each.
var envelopeParsers fastjson.ParserPool

// parseEnvelope reads an answer's envelope. A body without "ok"
// reads as ok:false; a body that is not a JSON object, or whose ok, error
// or messages has the wrong type, is an error.
//
// Why fastjson and not encoding/json: decoding a page of 100 messages
// (13 KB) costs encoding/json ~100 CPU-µs on this project's machines even
// into a struct with no fields, so hot's 1,000 readers would spend 100 ms
// of the two shared cores per round on parsing alone, five times the 20 ms
// p99 they measure. fastjson parses into memory its parsers reuse.
func parseEnvelope(body []byte) (envelope, error) {
	p := envelopeParsers.Get()
	defer envelopeParsers.Put(p)
	var env envelope
	v, err := p.ParseBytes(body)
	if err != nil {
		return env, err
	}
	o, err := v.Object()
	if err != nil {
		return env, errNotAnswer
	}
	if ok := o.Get("ok"); ok != nil {
		if env.OK, err = ok.Bool(); err != nil {
			return env, fmt.Errorf("ok: %w", err)
		}
	}
	if code := o.Get("error"); code != nil {
		b, err := code.StringBytes()
		if err != nil {
			return env, fmt.Errorf("error: %w", err)
		}
		env.Error = string(b)
	}
	if msgs := o.Get("messages"); msgs != nil && msgs.Type() != fastjson.TypeNull {
		a, err := msgs.Array()
		if err != nil {
			return env, fmt.Errorf("messages: %w", err)
		}
		env.Messages = len(a)
	}
	return env, nil
}
