package gateway

import (
	"errors"
	"io"
	"net"
	"net/http"

	"github.com/gobwas/ws"

	"github.com/confab/confab"
)

// Conditions that end a connection. They never leave the gateway: classify
// turns each into a close code.
var (
	errTooBig       = errors.New("frame too big")
	errInvalidUTF8  = errors.New("text frame is not valid UTF-8")
	errBinary       = errors.New("binary frames are not supported")
	errSlowConsumer = errors.New("slow consumer")
	errIdle         = errors.New("idle timeout")
	errShutdown     = errors.New("gateway shutting down")
	errWrite        = errors.New("write failed")
	errMethod       = errors.New("method not allowed")
	errFlood        = errors.New("over the rate limit after its errors")
	errRevoked      = errors.New("token revoked")
)

// closeReceived is the client's close frame; the gateway echoes its code.
type closeReceived struct{ code ws.StatusCode }

func (e closeReceived) Error() string { return "client closed the connection" }

// Close codes confab sends, in one place (cf. centrifuge disconnect.go).
//
//	1000        normal closure: the client closed first and we echo, or an
//	            empty close frame from the client
//	1001        going away: the gateway is shutting down (after "goodbye")
//	1002        protocol error: malformed WebSocket framing (unmasked frame,
//	            reserved bits or opcodes, bad fragmentation), or a close
//	            frame with a one-byte body or a code not allowed on the wire
//	            (RFC 6455 §7.4: below 1000, 1004–1006, 1015, 1016–2999,
//	            5000 up; see validCloseCode)
//	1003        unsupported data: a binary frame (RTM is JSON text)
//	1007        invalid payload: a text frame, or a close frame's reason,
//	            that is not valid UTF-8
//	1009        message too big: a frame, or a message's fragments
//	            together, larger than Config.MaxFrameBytes (judged from
//	            the header, before the payload arrives)
//	1011        internal error: the connection could not be registered
//	            (chat service or bus failed); reconnect later
//	1013        try again later: a dependency (the pocket's Redis) is down
//	4000–4099   confab's own; all mean "reconnect through rtm.connect and
//	            catch up":
//	  4001      idle timeout: nothing arrived for Config.IdleTimeout
//	  4008      slow consumer: the outbound queue exceeded its limit; the
//	            socket is reset after the close frame, dropping what the
//	            kernel still holds for the client
//	  4029      rate limited: more than floodRefusals frames refused for
//	            the token's rate limit within floodWindow (session.go);
//	            reconnect after a backoff, and send slower
//	4100–4199   the session is over: do not reconnect with this token
//	  4101      token revoked: the token the connection was opened under
//	            was revoked (auth.revoke); log in again for a new one
//
// A connection that broke (EOF, reset, failed write) gets no close frame.
const (
	closeIdle     ws.StatusCode = 4001
	closeSlow     ws.StatusCode = 4008
	closeFlood    ws.StatusCode = 4029
	closeRevoked  ws.StatusCode = 4101
	closeTryAgain ws.StatusCode = 1013 // RFC 6455 registry; gobwas/ws has no name for it

	// closeNone means: do not send a close frame, the transport is gone.
	closeNone ws.StatusCode = 0
)

// outcome is how the gateway answers an error at each edge.
type outcome struct {
	status int           // HTTP status, before the upgrade
	close  ws.StatusCode // close code, when the error ends the connection
	code   string        // Slack error string for HTTP bodies and ack frames
	msg    string        // close reason or ack "msg"; never internal detail
	// reset drops what the kernel still buffers for the client (a TCP
	// reset after the close frame) instead of sending it out first.
	reset bool
}

// classify is the one place where an error becomes an HTTP status, a close
// code or an error frame. Internal detail is logged by the caller, never
// sent.
func classify(err error) outcome {
	var cr closeReceived
	var pe ws.ProtocolError
	switch {
	case err == nil:
		return outcome{status: http.StatusOK, close: ws.StatusNormalClosure}
	case errors.As(err, &cr):
		code := cr.code // valid: closeFrameError checked it
		if code == 0 {
			code = ws.StatusNormalClosure
		}
		return outcome{close: code}
	case errors.Is(err, errTooBig):
		return outcome{close: ws.StatusMessageTooBig, msg: "message too big"}
	case errors.Is(err, errInvalidUTF8):
		return outcome{close: ws.StatusInvalidFramePayloadData, msg: "invalid utf-8"}
	case errors.Is(err, errBinary):
		return outcome{close: ws.StatusUnsupportedData, msg: "binary frames not supported"}
	case errors.As(err, &pe):
		return outcome{close: ws.StatusProtocolError, msg: "protocol error"}
	case errors.Is(err, errSlowConsumer):
		return outcome{close: closeSlow, msg: "slow consumer", reset: true}
	case errors.Is(err, errFlood):
		return outcome{close: closeFlood, msg: "ratelimited"}
	case errors.Is(err, errRevoked):
		return outcome{status: http.StatusUnauthorized, close: closeRevoked, code: "invalid_auth", msg: "token_revoked"}
	case errors.Is(err, errAnswer):
		return outcome{close: ws.StatusNormalClosure}
	case errors.Is(err, errIdle):
		return outcome{close: closeIdle, msg: "idle timeout"}
	case errors.Is(err, errShutdown):
		return outcome{status: http.StatusServiceUnavailable, close: ws.StatusGoingAway, code: "service_unavailable", msg: "going away"}
	case errors.Is(err, errMethod):
		return outcome{status: http.StatusMethodNotAllowed, code: "method_not_allowed"}
	case errors.Is(err, errWrite), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return outcome{close: closeNone}
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return outcome{close: closeNone}
	}
	switch confab.ErrorCode(err) {
	case confab.EUNAUTHORIZED:
		return outcome{status: http.StatusUnauthorized, close: ws.StatusPolicyViolation, code: confab.ErrorMessage(err), msg: confab.ErrorMessage(err)}
	case confab.EINTERNAL:
		return outcome{status: http.StatusInternalServerError, close: ws.StatusInternalServerError, code: "internal_error", msg: "internal error"}
	case confab.EFORBIDDEN:
		return outcome{status: http.StatusForbidden, close: ws.StatusPolicyViolation, code: confab.ErrorMessage(err), msg: confab.ErrorMessage(err)}
	case confab.EUNAVAILABLE:
		return outcome{status: http.StatusServiceUnavailable, close: closeTryAgain, code: confab.ErrorMessage(err), msg: confab.ErrorMessage(err)}
	case confab.ENOTFOUND:
		return outcome{status: http.StatusNotFound, close: ws.StatusPolicyViolation, code: confab.ErrorMessage(err), msg: confab.ErrorMessage(err)}
	case confab.ERATELIMIT:
		return outcome{status: http.StatusTooManyRequests, close: ws.StatusPolicyViolation, code: confab.ErrorMessage(err), msg: confab.ErrorMessage(err)}
	default:
		return outcome{status: http.StatusBadRequest, close: ws.StatusPolicyViolation, code: confab.ErrorMessage(err), msg: confab.ErrorMessage(err)}
	}
}
