package gateway

import (
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/confab/confab"
)

// readClose reads frames from r until the server's close frame and returns
// its code; it fails the test if the stream ends without one.
func readClose(t *testing.T, r io.Reader) ws.StatusCode {
	t.Helper()
	for {
		f, err := ws.ReadFrame(r)
		if err != nil {
			t.Fatalf("no close frame: %v", err)
		}
		if f.Header.OpCode == ws.OpClose {
			code, _ := ws.ParseCloseFrameData(f.Payload)
			return code
		}
	}
}

// closeBody is a close frame's payload: code (none when 0) and reason.
func closeBody(code uint16, reason string) []byte {
	if code == 0 {
		return []byte(reason)
	}
	return append(binary.BigEndian.AppendUint16(nil, code), reason...)
}

// TestCloseCodeAnswered: the gateway echoes a valid close code and answers
// an invalid one — on the wire, RFC 6455 §7.4: below 1000, 1004–1006, 1015,
// 1016–2999 and 5000 up — or a malformed close body with 1002; a reason
// that is not UTF-8 with 1007.
func TestCloseCodeAnswered(t *testing.T) {
	s := MustServe(t, Config{}, &fakeChat{})
	tests := []struct {
		name string
		body []byte
		want ws.StatusCode
	}{
		{"empty", nil, ws.StatusNormalClosure},
		{"1000", closeBody(1000, ""), 1000},
		{"1001", closeBody(1001, ""), 1001},
		{"1003", closeBody(1003, ""), 1003},
		{"1011", closeBody(1011, ""), 1011},
		{"1012 (IANA)", closeBody(1012, ""), 1012},
		{"1014 (IANA)", closeBody(1014, ""), 1014},
		{"3000", closeBody(3000, ""), 3000},
		{"4999", closeBody(4999, "bye"), 4999},
		{"999", closeBody(999, ""), ws.StatusProtocolError},
		{"0", []byte{0, 0}, ws.StatusProtocolError},
		{"1004", closeBody(1004, ""), ws.StatusProtocolError},
		{"1005", closeBody(1005, ""), ws.StatusProtocolError},
		{"1006", closeBody(1006, ""), ws.StatusProtocolError},
		{"1015", closeBody(1015, ""), ws.StatusProtocolError},
		{"1016", closeBody(1016, ""), ws.StatusProtocolError},
		{"2999", closeBody(2999, ""), ws.StatusProtocolError},
		{"5000", closeBody(5000, ""), ws.StatusProtocolError},
		{"one byte", []byte{3}, ws.StatusProtocolError},
		{"reason not UTF-8", append(closeBody(1000, ""), 0xff, 0xfe), ws.StatusInvalidFramePayloadData},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc, r := dialRaw(t, s, "U1")
			nc.SetDeadline(time.Now().Add(waitFor))
			if _, err := nc.Write(clientFrameBytes(ws.OpClose, true, tt.body)); err != nil {
				t.Fatal(err)
			}
			if got := readClose(t, r); got != tt.want {
				t.Fatalf("close frame %x answered %d, want %d", tt.body, got, tt.want)
			}
		})
	}
}

// TestMessageTooBig: a frame or a message (its fragments together) over
// MaxFrameBytes is answered 1009, whatever length its header claims.
func TestMessageTooBig(t *testing.T) {
	const limit = 1024
	s := MustServe(t, Config{MaxFrameBytes: limit}, &fakeChat{})
	// A continuation whose 63-bit length overflows what the fragments
	// before it add up to.
	huge := clientFrameBytes(ws.OpContinuation, true, nil)[:2]
	huge[1] = 0x80 | 127
	huge = binary.BigEndian.AppendUint64(huge, 1<<63-1)
	huge = append(huge, 1, 2, 3, 4) // the mask
	tests := []struct {
		name string
		in   []byte
	}{
		{"one frame", clientFrameBytes(ws.OpText, true, make([]byte, limit+1))},
		{"header only", clientFrameBytes(ws.OpText, true, make([]byte, 1<<20))[:14]},
		{"fragments", append(clientFrameBytes(ws.OpText, false, make([]byte, limit/2)), clientFrameBytes(ws.OpContinuation, true, make([]byte, limit/2+1))...)},
		{"63-bit continuation", append(clientFrameBytes(ws.OpText, false, []byte("{")), huge...)},
		{"63-bit frame", huge[:0:0]},
	}
	tests[4].in = append([]byte{0x81, 0x80 | 127}, huge[2:]...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc, r := dialRaw(t, s, "U1")
			nc.SetDeadline(time.Now().Add(waitFor))
			if _, err := nc.Write(tt.in); err != nil {
				t.Fatal(err)
			}
			if got := readClose(t, r); got != ws.StatusMessageTooBig {
				t.Fatalf("close code %d, want 1009", got)
			}
		})
	}
}

// A continuation frame whose length, added to the message so far, would
// overflow is refused as too big, and nothing panics.
func TestConsumeHugeContinuation(t *testing.T) {
	g := mustNew(t, Config{Chat: &fakeChat{}, OpenBus: openBus(nopBus{}), MaxFrameBytes: 1024})
	t.Cleanup(func() { g.Shutdown(t.Context()) })
	c := g.newConn(discardTransport{}, &confab.User{ID: "U1", WorkspaceID: "T1"})
	in := clientFrameBytes(ws.OpText, false, []byte("{"))
	in = append(in, 0x80, 0x80|127)
	in = binary.BigEndian.AppendUint64(in, 1<<63-1)
	in = append(in, 1, 2, 3, 4, 5)
	if err := c.consume(in); !errors.Is(err, errTooBig) {
		t.Fatalf("consume = %v, want errTooBig", err)
	}
}
