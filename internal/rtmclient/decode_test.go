package rtmclient

import (
	"reflect"
	"testing"

	"github.com/valyala/fastjson"
)

// Every shape of event the client shows or routes on decodes to the
// fields it applies: the channel from a string, a channel_joined object or
// a reaction's item; an edit's new version; a deletion's ts; escapes.
func TestDecodeEvent(t *testing.T) {
	cases := []struct {
		json string
		want event
	}{
		{`{"type":"message","channel":"C1","user":"U1","text":"a \"quoted\" \u00e9 line\nbreak","ts":"1700000000.000001","seq":7}`,
			event{Type: "message", Channel: "C1", User: "U1", Text: "a \"quoted\" é line\nbreak", TS: "1700000000.000001", Seq: 7}},
		{`{"type":"message","subtype":"message_changed","channel":"C1","seq":8,"message":{"ts":"1700000000.000001","text":"edited","user":"U1"}}`,
			event{Type: "message", Subtype: "message_changed", Channel: "C1", Seq: 8, Message: &editedMessage{TS: "1700000000.000001", Text: "edited"}}},
		{`{"type":"message","subtype":"message_deleted","channel":"C1","seq":9,"deleted_ts":"1700000000.000001"}`,
			event{Type: "message", Subtype: "message_deleted", Channel: "C1", Seq: 9, DeletedTS: "1700000000.000001"}},
		{`{"type":"channel_joined","channel":{"id":"C2","name":"general","latest_seq":3}}`,
			event{Type: "channel_joined", Channel: "C2"}},
		{`{"type":"reaction_added","user":"U1","reaction":"tada","item":{"type":"message","channel":"C3","ts":"1700000000.000001"},"seq":4}`,
			event{Type: "reaction_added", User: "U1", Channel: "C3", Seq: 4}},
		{`{"type":"hello"}`, event{Type: "hello"}},
	}
	var p fastjson.Parser
	for _, c := range cases {
		v, err := p.ParseBytes([]byte(c.json))
		if err != nil {
			t.Fatalf("%s: %v", c.json, err)
		}
		if got := decodeEvent(v); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", c.json, got, c.want)
		}
	}
}
