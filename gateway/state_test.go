package gateway

import (
	"testing"
	"time"
)

// TestStateTransitions checks every pair of states: a connection moves
// only along the lifecycle's edges (see connState), a refused transition
// panics and leaves the state alone, and only the move to closed releases
// the connection's count in the gateway's WaitGroup.
func TestStateTransitions(t *testing.T) {
	const (
		reg  = stateRegistering
		rd   = stateReading
		pol  = statePolled
		fin  = stateFinishing
		done = stateClosed
	)
	allowed := map[[2]connState]bool{
		{reg, rd}:   true, // registered: hello and what followed are written
		{reg, fin}:  true, // registration failed, or the socket could not be polled
		{rd, pol}:   true, // input drained: back to the poller
		{rd, fin}:   true, // the reader stopped, or c is closing
		{pol, rd}:   true, // input: a reader goroutine
		{pol, fin}:  true, // closeWith on an idle connection
		{fin, done}: true, // finish is done
	}
	states := []connState{reg, rd, pol, fin, done}
	for _, from := range states {
		for _, to := range states {
			want := allowed[[2]connState{from, to}]
			g := &Gateway{}
			c := &conn{g: g}
			c.st.Store(uint32(from))
			if from != done {
				g.wg.Add(1) // c's count, as Gateway.accept takes it
			}

			if got := from.may(to); got != want {
				t.Errorf("%v.may(%v) = %v, want %v", from, to, got, want)
			}
			panicked := func() (p bool) {
				defer func() { p = recover() != nil }()
				c.mu.Lock()
				defer c.mu.Unlock()
				c.to(to)
				return false
			}()
			if panicked == want {
				t.Errorf("%v → %v: panicked %v, want %v", from, to, panicked, !want)
			}
			wantState := from
			if want {
				wantState = to
			}
			if got := c.state(); got != wantState {
				t.Errorf("%v → %v: state %v, want %v", from, to, got, wantState)
			}

			// The count is released by the move to closed and by nothing
			// else.
			if c.state() != done {
				g.wg.Done()
			}
			waited := make(chan struct{})
			go func() {
				g.wg.Wait()
				close(waited)
			}()
			select {
			case <-waited:
			case <-time.After(waitFor):
				t.Fatalf("%v → %v: the connection's count was not released", from, to)
			}
		}
	}
}

// TestStateNames keeps String in step with the states.
func TestStateNames(t *testing.T) {
	for s := stateRegistering; s <= stateClosed; s++ {
		if n := s.String(); n == "" || n == "invalid" {
			t.Errorf("connState(%d).String() = %q", s, n)
		}
	}
	if (stateClosed + 1).may(stateClosed) || stateRegistering.may(stateClosed+1) {
		t.Error("a state out of range may move")
	}
}
