package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/confab/confab"
)

// TestConsumeKeepsOnlyIncompleteFrames feeds frames in pieces: a
// connection keeps the bytes of an incomplete frame and of an unfinished
// message, and nothing once they are complete.
func TestConsumeKeepsOnlyIncompleteFrames(t *testing.T) {
	g := mustNew(t, Config{Chat: &fakeChat{}, OpenBus: openBus(nopBus{})})
	t.Cleanup(func() { g.Shutdown(context.Background()) })
	rec := &recorder{}
	c := g.newConn(rec, &confab.User{ID: "U1", WorkspaceID: "T1"})
	c.release()

	ping := clientFrameBytes(ws.OpText, true, []byte(`{"id":1,"type":"ping"}`))
	first := clientFrameBytes(ws.OpText, false, []byte(`{"id":2,`))
	ctl := clientFrameBytes(ws.OpPing, true, []byte("p"))
	last := clientFrameBytes(ws.OpContinuation, true, []byte(`"type":"ping"}`))
	big := clientFrameBytes(ws.OpText, true, append(append([]byte(`{"id":3,"type":"ping","pad":"`), bytes.Repeat([]byte("x"), 70000)...), `"}`...))

	steps := []struct {
		name  string
		in    []byte
		kept  int  // bytes kept after the step
		frag  bool // a message is unfinished
		nilRd bool // nothing kept at all
	}{
		{"whole frame and a header's first byte", append(bytes.Clone(ping), first[0]), 1, false, false},
		{"rest of a first fragment", first[1:], 0, true, false},
		{"control frame amid the message", ctl, 0, true, false},
		{"half of the last fragment", last[:len(last)/2], len(last) / 2, true, false},
		{"its other half", last[len(last)/2:], 0, false, true},
		{"a large frame's first 100 bytes", big[:100], 100, false, false},
		{"its rest", big[100:], 0, false, true},
	}
	for _, st := range steps {
		if err := c.consume(bytes.Clone(st.in)); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		switch {
		case st.nilRd:
			if c.rd != nil {
				t.Fatalf("%s: kept %+v, want nothing", st.name, c.rd)
			}
		case c.rd == nil:
			t.Fatalf("%s: nothing kept, want %d bytes", st.name, st.kept)
		case len(c.rd.buf) != st.kept || c.rd.frag != st.frag:
			t.Fatalf("%s: kept %d bytes, fragmented %v; want %d, %v", st.name, len(c.rd.buf), c.rd.frag, st.kept, st.frag)
		}
	}
	drain([]*conn{c})

	var pongs []string
	for {
		f, err := ws.ReadFrame(&rec.Buffer)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if f.Header.OpCode == ws.OpPong {
			pongs = append(pongs, "ws:"+string(f.Payload))
			continue
		}
		var m map[string]any
		json.Unmarshal(f.Payload, &m)
		if m["type"] == "pong" {
			pongs = append(pongs, "rtm:"+string(json.Number(jsonString(m["reply_to"]))))
		}
	}
	want := []string{"rtm:1", "ws:p", "rtm:2", "rtm:3"}
	if len(pongs) != len(want) {
		t.Fatalf("pongs %v, want %v", pongs, want)
	}
	for i := range want {
		if pongs[i] != want[i] {
			t.Fatalf("pongs %v, want %v", pongs, want)
		}
	}
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestFrameTooBigBeforePayload: a header announcing more than
// MaxFrameBytes ends the connection at once, before its payload arrives.
func TestFrameTooBigBeforePayload(t *testing.T) {
	g := mustNew(t, Config{Chat: &fakeChat{}, OpenBus: openBus(nopBus{}), MaxFrameBytes: 1024})
	t.Cleanup(func() { g.Shutdown(context.Background()) })
	c := g.newConn(discardTransport{}, &confab.User{ID: "U1", WorkspaceID: "T1"})
	head := clientFrameBytes(ws.OpText, true, make([]byte, 1025))[:8] // header only
	if err := c.consume(head); !errors.Is(err, errTooBig) {
		t.Fatalf("consume = %v, want errTooBig", err)
	}
	// Fragments count together.
	c = g.newConn(discardTransport{}, &confab.User{ID: "U1", WorkspaceID: "T1"})
	in := append(clientFrameBytes(ws.OpText, false, make([]byte, 600)), clientFrameBytes(ws.OpContinuation, true, make([]byte, 600))[:8]...)
	if err := c.consume(in); !errors.Is(err, errTooBig) {
		t.Fatalf("consume = %v, want errTooBig", err)
	}
}

// TestFrameByteByByte writes a client frame one byte per TCP write: the
// poller's reader reassembles it.
func TestFrameByteByByte(t *testing.T) {
	s := MustServe(t, Config{}, &fakeChat{})
	nc, r := dialRaw(t, s, "U1")
	nc.SetDeadline(time.Now().Add(waitFor))
	for _, b := range clientFrameBytes(ws.OpText, true, []byte(`{"id":9,"type":"ping"}`)) {
		if _, err := nc.Write([]byte{b}); err != nil {
			t.Fatal(err)
		}
	}
	f, err := ws.ReadFrame(r)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(f.Payload); got != `{"type":"pong","reply_to":9}` {
		t.Fatalf("got %s, want the pong", got)
	}
}

// FuzzParseHeader: parseHeader agrees with ws.ReadHeaderBuffer on every
// input, and reports an incomplete header as such.
func FuzzParseHeader(f *testing.F) {
	for _, s := range [][]byte{
		clientFrameBytes(ws.OpText, true, []byte("hi")),
		clientFrameBytes(ws.OpText, true, make([]byte, 300)),
		clientFrameBytes(ws.OpBinary, false, make([]byte, 70000))[:14],
		{0x81, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0},
		{0x89, 0x00},
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		h, n, err := parseHeader(p)
		want, werr := ws.ReadHeaderBuffer(bytes.NewReader(p), make([]byte, ws.MaxHeaderSize-2))
		switch {
		case werr == io.EOF || werr == io.ErrUnexpectedEOF:
			if n != 0 || err != nil {
				t.Fatalf("incomplete header %x: n %d, err %v", p, n, err)
			}
		case werr != nil:
			if err != werr {
				t.Fatalf("%x: err %v, want %v", p, err, werr)
			}
		case err != nil || n == 0:
			t.Fatalf("%x: n %d, err %v; want a header", p, n, err)
		case h != want:
			t.Fatalf("%x: %+v, want %+v", p, h, want)
		}
	})
}
