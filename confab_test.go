package confab_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/confab/confab"
)

func TestTS(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1700000000.000123", 1700000000000123, true},
		{"1700000000.5", 1700000000500000, true},
		{"1700000000", 1700000000000000, true},
		{"0", 0, true},
		{"", 0, false},
		{"1700000000.", 0, false},
		{".5", 0, false},
		{"1700000000.1234567", 0, false},
		{"-1.000001", 0, false},
		{"17e9", 0, false},
		{"1700000000.00012x", 0, false},
		{"99999999999999999999.000001", 0, false},
	} {
		got, err := confab.ParseTS(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseTS(%q) = %d, %v; want %d, ok=%v", c.in, got, err, c.want, c.ok)
		}
	}
	for _, micros := range []int64{1, 999999, 1000000, 1700000000000123} {
		s := confab.FormatTS(micros)
		back, err := confab.ParseTS(s)
		if err != nil || back != micros {
			t.Errorf("ParseTS(FormatTS(%d) = %q) = %d, %v", micros, s, back, err)
		}
	}
	if got := confab.FormatTS(1700000000000123); got != "1700000000.000123" {
		t.Errorf("FormatTS = %q", got)
	}
}

func TestCursor(t *testing.T) {
	c := confab.EncodeSeqCursor("h", 42)
	if n, err := confab.DecodeSeqCursor("h", c); err != nil || n != 42 {
		t.Fatalf("DecodeSeqCursor(%q) = %d, %v", c, n, err)
	}
	for _, bad := range []string{"x", "!!!", confab.EncodeSeqCursor("u", 42), confab.EncodeCursor("h", "-3"), confab.EncodeCursor("h", "abc")} {
		if _, err := confab.DecodeSeqCursor("h", bad); confab.ErrorMessage(err) != "invalid_cursor" {
			t.Errorf("DecodeSeqCursor(%q) error = %v, want invalid_cursor", bad, err)
		}
	}
	if n, err := confab.DecodeSeqCursor("h", ""); n != 0 || err != nil {
		t.Errorf("empty cursor = %d, %v", n, err)
	}
}

func TestValidation(t *testing.T) {
	for _, c := range []struct {
		s    string
		name bool
		ch   bool
	}{
		{"alice", true, true}, {"a.b", true, false}, {"A", false, false}, {"", false, false},
		{"has space", false, false}, {"general-chat_2", true, true},
		{string(make([]byte, 81)), false, false},
	} {
		if got := confab.ValidName(c.s); got != c.name {
			t.Errorf("ValidName(%q) = %v, want %v", c.s, got, c.name)
		}
		if got := confab.ValidChannelName(c.s); got != c.ch {
			t.Errorf("ValidChannelName(%q) = %v, want %v", c.s, got, c.ch)
		}
	}
	for _, c := range []struct{ text, want string }{
		{"hi", ""}, {"  ", "no_text"}, {"\xff", "invalid_arguments"},
		{string(bytes.Repeat([]byte("é"), 40000)), ""},
		{string(bytes.Repeat([]byte("a"), 40001)), "msg_too_long"},
	} {
		if got := confab.ErrorMessage(confab.ValidateText(c.text)); got != c.want {
			t.Errorf("ValidateText(%.10q…) = %q, want %q", c.text, got, c.want)
		}
	}
}

func TestIDs(t *testing.T) {
	id := confab.NewID(confab.PrefixChannel)
	if !confab.ValidID(id, confab.PrefixChannel) || !confab.IsConversationID(id) || confab.ValidID(id, confab.PrefixUser) {
		t.Fatalf("NewID = %q does not validate as a channel id only", id)
	}
	if confab.NewID('U') == confab.NewID('U') {
		t.Fatal("NewID repeated itself")
	}
	for _, bad := range []string{"", "C", "c123", "C12-3", "D../x"} {
		if confab.IsConversationID(bad) {
			t.Errorf("IsConversationID(%q) = true", bad)
		}
	}
}

func TestPublicationRoundTrip(t *testing.T) {
	p := confab.Publication{Op: confab.OpJoin, Channel: "C123", Time: 1700000000123456789, Frame: []byte(`{"type":"x"}` + "\x00")}
	got, err := confab.UnmarshalPublication(p.Marshal())
	if err != nil || got.Op != p.Op || got.Channel != p.Channel || got.Time != p.Time || !bytes.Equal(got.Frame, p.Frame) {
		t.Fatalf("round trip = %+v, %v; want %+v", got, err, p)
	}
	for _, bad := range [][]byte{nil, {1, 2}, append(make([]byte, 9), 200), {confab.OpRevoke, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2}} {
		if _, err := confab.UnmarshalPublication(bad); err == nil {
			t.Errorf("UnmarshalPublication(%v) accepted junk", bad)
		}
	}
	r := confab.Publication{Op: confab.OpRevoke, Session: 0x0102030405060708, Time: 42}
	if got, err := confab.UnmarshalPublication(r.Marshal()); err != nil || got.Op != confab.OpRevoke || got.Session != r.Session || len(got.Frame) != 0 {
		t.Fatalf("revocation round trip = %+v, %v; want %+v", got, err, r)
	}
}

func TestFingerprintOf(t *testing.T) {
	if got := confab.FingerprintOf([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9}); got != 0x0102030405060708 {
		t.Errorf("FingerprintOf = %#x, want 0x0102030405060708", uint64(got))
	}
	if got := confab.FingerprintOf([]byte{1}); got != 0 {
		t.Errorf("FingerprintOf(short) = %#x, want 0", uint64(got))
	}
}

func TestChangeEvents(t *testing.T) {
	m := &confab.Message{ChannelID: "C1", Seq: 5, ChangeSeq: 9, TS: 1000001, UserID: "U1", Text: "x", EditedTS: 2000000}
	for _, c := range []struct {
		checkpoint int64
		want       string
	}{{4, `"type":"message","channel":"C1"`}, {5, `"subtype":"message_changed"`}} {
		if got := string(confab.ChangeEvent(confab.Change{Seq: 9, Message: m}, c.checkpoint)); !bytes.Contains([]byte(got), []byte(c.want)) || !bytes.Contains([]byte(got), []byte(`"seq":9`)) {
			t.Errorf("ChangeEvent(checkpoint %d) = %s, want %s with seq 9", c.checkpoint, got, c.want)
		}
	}
	m.Deleted = true
	if got := string(confab.ChangeEvent(confab.Change{Seq: 9, Message: m}, 4)); !bytes.Contains([]byte(got), []byte(`"subtype":"message_deleted"`)) {
		t.Errorf("deleted ChangeEvent = %s", got)
	}
}

func TestTopics(t *testing.T) {
	for _, c := range []struct {
		topic    string
		ws, id   string
		kind     byte
		ok       bool
		fromFunc string
	}{
		{confab.ChannelTopic("T1", "C2"), "T1", "C2", confab.TopicChannel, true, "T1.c.C2"},
		{confab.UserTopic("T1", "U2"), "T1", "U2", confab.TopicUser, true, "T1.u.U2"},
		{confab.PresenceTopic("T1", "U2"), "T1", "U2", confab.TopicPresence, true, "T1.p.U2"},
		{"c.C2", "", "", 0, false, ""},
		{"T1.cc.C2", "", "", 0, false, ""},
		{"T1.c.", "", "", 0, false, ""},
		{".c.C2", "", "", 0, false, ""},
	} {
		ws, kind, id, ok := confab.ParseTopic(c.topic)
		if ws != c.ws || kind != c.kind || id != c.id || ok != c.ok {
			t.Errorf("ParseTopic(%q) = %q, %q, %q, %v", c.topic, ws, kind, id, ok)
		}
		if c.fromFunc != "" && c.topic != c.fromFunc {
			t.Errorf("topic %q, want %q", c.topic, c.fromFunc)
		}
	}
}

// OwnerOf names one owner per key whatever the order of the live set, and
// when a gateway goes only its keys move.
func TestOwnerOf(t *testing.T) {
	live := []confab.Gateway{{ID: "a"}, {ID: "b"}, {ID: "c"}}
	if _, ok := confab.OwnerOf(nil, "A1"); ok {
		t.Fatal("OwnerOf(no gateways) ok")
	}
	owners := map[string]int{}
	moved := 0
	for i := range 300 {
		key := fmt.Sprintf("A%d", i)
		o1, _ := confab.OwnerOf(live, key)
		o2, _ := confab.OwnerOf([]confab.Gateway{live[2], live[0], live[1]}, key)
		if o1.ID != o2.ID {
			t.Fatalf("owner of %s depends on order: %s, %s", key, o1.ID, o2.ID)
		}
		owners[o1.ID]++
		o3, _ := confab.OwnerOf([]confab.Gateway{live[0], live[1]}, key)
		if o1.ID != "c" && o3.ID != o1.ID {
			moved++
		}
	}
	if moved != 0 {
		t.Errorf("%d keys not owned by the gone gateway moved", moved)
	}
	for _, gw := range live {
		if owners[gw.ID] < 50 {
			t.Errorf("gateway %s owns %d of 300 keys: %v", gw.ID, owners[gw.ID], owners)
		}
	}
}
