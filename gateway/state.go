package gateway

// connState is where a connection is in its life. The state says who owns
// the connection: who reads it, and who will finish it.
//
//	registering ──► reading ◄──► polled
//	     │             │           │
//	     └─────────────┴───────────┴──► finishing ──► closed
//
// Who owns a connection in each state:
//
//   - registering: serve (the ServeHTTP goroutine) enters the connection in
//     the registry and the hub and calls Chat.Connected. Frames queue but
//     none is written: hello, queued first, goes once the connection is
//     registered (release), so that it precedes every event.
//   - reading: one goroutine reads the connection — serve, acting on what
//     came with the handshake; the reader goroutine the poller starts
//     (Gateway.read); or, for a socket that is not polled, readLoop — and
//     then hands it to the poller or finishes it.
//   - polled: the connection waits in the poller with no goroutine. Input
//     hands it to a reader goroutine (poller.ready); a close request hands it
//     to a goroutine that finishes it (closeWith).
//   - finishing: finish tears the connection down: the closing handshake,
//     then the hub, the bus, the registry and Chat.Disconnected.
//   - closed: finish is done: the connection is in no registry, topic or
//     poller, and its socket is closed.
//
// Closing is a request, not a state: closeWith records why (conn.closeErr),
// refuses further frames and interrupts whoever reads the connection, which
// then finishes it; only a polled connection, which nobody reads, is moved
// to finishing by closeWith itself.
//
// Every connection the gateway serves holds one count of Gateway.wg, from
// its creation (Gateway.accept) to the transition to closed, which releases
// it (conn.to): Shutdown's wait covers each connection whatever state it is
// in. The goroutines that own a connection meanwhile — its reader, or the
// goroutine finishing it — run within that count, as they are what moves
// it to closed.
type connState uint32

const (
	stateRegistering connState = iota
	stateReading
	statePolled
	stateFinishing
	stateClosed
)

// transitions lists, for each state, the states a connection may move to
// from it (a bit per state).
var transitions = [...]uint8{
	stateRegistering: 1<<stateReading | 1<<stateFinishing,
	stateReading:     1<<statePolled | 1<<stateFinishing,
	statePolled:      1<<stateReading | 1<<stateFinishing,
	stateFinishing:   1 << stateClosed,
	stateClosed:      0,
}

// may reports whether a connection in s may move to next.
func (s connState) may(next connState) bool {
	return int(s) < len(transitions) && next <= stateClosed && transitions[s]&(1<<next) != 0
}

// ending reports whether the connection is being or has been torn down:
// it is to be registered for nothing more.
func (s connState) ending() bool { return s >= stateFinishing }

var stateNames = [...]string{
	stateRegistering: "registering",
	stateReading:     "reading",
	statePolled:      "polled",
	stateFinishing:   "finishing",
	stateClosed:      "closed",
}

func (s connState) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "invalid"
}

// state is c's state. Reading it with c.mu held gives an answer that agrees
// with the queue and the close request; without, one that only the owner
// of c can rely on, or that is only used to refuse work (membership).
func (c *conn) state() connState { return connState(c.st.Load()) }

// to moves c to next: it is the one place where c's state changes. Callers
// hold c.mu — so that a transition is atomic with the close request and the
// queue — except finish for the last one (finishing → closed), as nothing
// but the goroutine finishing c acts on a finishing connection. A
// transition the lifecycle does not allow is a bug in the gateway: to
// panics and leaves the state as it was.
//
// The transition to closed releases c's count in the gateway's WaitGroup.
func (c *conn) to(next connState) {
	from := c.state()
	if !from.may(next) {
		panic("gateway: connection " + from.String() + " → " + next.String() + " is not a transition")
	}
	c.st.Store(uint32(next))
	if next == stateClosed {
		c.g.wg.Done()
	}
}
