package chat

import (
	"sync"
	"time"
)

// Connection pacing. When a gateway goes, every client it held calls
// rtm.connect within the same second or so, and each then dials a gateway,
// registers and catches up: the expensive part. Dialed all at once, tens of
// thousands of handshakes overflow the kernel's listen queue (a dropped SYN
// is retried after 1 s, 3 s, 7 s…) and time out in the queue behind one
// another, the clients retry, and the storm feeds itself. A client cannot
// know how many others were dropped with it; the process that hands out the
// tickets can. So rtm.connect answers at once, but gives each ticket a slot
// (Ticket.Wait): tickets are spread at connectRate a second, past a burst of
// connectBurst that ordinary traffic never exceeds, and the client dials when
// its slot comes. The ticket's lifetime starts at its slot.
//
// The slots are a GCRA (the generic cell rate algorithm of ATM, the virtual
// scheduling form): tat is the theoretical arrival time of the next ticket;
// a ticket asked for before tat - burst waits until then.
const (
	// connectRate is the dials a second one process's tickets are spread
	// at: a little under what one server takes (about 2,700 connections
	// a second with their registrations on two cores), as the storm's
	// clients also catch up and the live traffic goes on.
	connectRate = 2500
	// connectBurst tickets are handed out without a wait.
	connectBurst = 250
	// maxConnectWait bounds a slot's wait: a flood of rtm.connect calls
	// whose tickets are never used cannot push every other client back
	// further than this.
	maxConnectWait = 20 * time.Second
)

// pacer hands out connection slots. The zero value paces at connectRate.
type pacer struct {
	mu  sync.Mutex
	tat time.Time // guarded by mu: when the next slot is due, if later than now
	// rate and burst are connectRate and connectBurst; tests set them.
	rate  float64
	burst int
}

// slot reserves the next connection slot and returns how long after now it
// is.
func (p *pacer) slot(now time.Time) time.Duration {
	rate, burst := p.rate, p.burst
	if rate == 0 {
		rate, burst = connectRate, connectBurst
	}
	interval := time.Duration(float64(time.Second) / rate)
	tolerance := time.Duration(burst) * interval
	p.mu.Lock()
	defer p.mu.Unlock()
	tat := p.tat
	if tat.Before(now) {
		tat = now
	}
	wait := max(tat.Sub(now)-tolerance, 0)
	if wait > maxConnectWait {
		return maxConnectWait // not reserved: the schedule is full
	}
	p.tat = tat.Add(interval)
	return wait
}
