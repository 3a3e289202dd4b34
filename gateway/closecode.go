package gateway

import (
	"encoding/binary"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// errCloseCode is a client's close frame with a code that must not appear
// on the wire, or a one-byte body: a protocol error (1002).
var errCloseCode = ws.ProtocolError("invalid close frame")

// closeFrameError is what the client's close frame, whose payload is p
// (unmasked, at most 125 bytes), ends its connection with: closeReceived
// with its code (0 when it sent none), which the gateway echoes; or, for a
// code that is invalid on the wire or a malformed body, errCloseCode
// (1002); or, for a reason that is not UTF-8, errInvalidUTF8 (1007).
func closeFrameError(p []byte) error {
	switch {
	case len(p) == 0:
		return closeReceived{}
	case len(p) == 1:
		return errCloseCode
	}
	code := ws.StatusCode(binary.BigEndian.Uint16(p))
	if !validCloseCode(code) {
		return errCloseCode
	}
	if !utf8.Valid(p[2:]) {
		return errInvalidUTF8
	}
	return closeReceived{code: code}
}

// validCloseCode reports whether code may be sent in a close frame (RFC
// 6455 §7.4 and IANA's registry of WebSocket close codes): 1000–1003,
// 1007–1014, and 3000–4999 (libraries, frameworks and applications).
// Below 1000, 1004 (reserved), 1005 and 1006 (never sent: no code, an
// abnormal end), 1015 (TLS failure, never sent), the unassigned 1016–2999
// and 5000 up are not.
func validCloseCode(code ws.StatusCode) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014:
		return true
	default:
		return code >= 3000 && code <= 4999
	}
}
