package chat

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/confab/confab"
)

const (
	// sharedReadTimeout bounds a store read shared by coalesced callers.
	// The read runs detached from every caller's context (one caller
	// hanging up must not fail the others), so it needs a bound of its own.
	sharedReadTimeout = 15 * time.Second
	// hotPageTTL is how long the result of a read keeps serving the
	// callers that come after it (see coalescer). A page cannot go stale
	// (its key has the channel's version); the TTL only frees the memory
	// of pages no longer read.
	hotPageTTL = 5 * time.Second
	// hotPageBytes and hotPageEntries bound the memory of those results.
	hotPageBytes   = 16 << 20
	hotPageEntries = 256
)

// coalescer serves identical reads of a channel page that arrive together
// with one store read: a thousand clients reading the newest page of one
// channel at once cost a store read or two.
//
// Two mechanisms, both keyed by the channel's version (its LastSeq, which
// every change of its content bumps, in the same transaction) and the exact
// page bounds:
//
//   - Reads that overlap in time share one FindMessages (singleflight).
//   - The result of a read — a hot page — keeps serving the same key for
//     hotPageTTL. It cannot be stale: a caller with that key read the
//     channel at that version after authorizing, so no change to the page
//     had committed by then (it would have bumped the version), and the
//     result was read at that version or later. Without this, the callers
//     of a burst, spread out by their own authentication queries (four
//     store reads each), would start a new read each time the previous one
//     ends: 15 to 166 reads for 1,000 callers in TestHotChannel, against
//     one (then one every hotPageTTL while the burst lasts) with it. Memory is
//     bounded (hotPageBytes, hotPageEntries).
//
// Callers are authorized one by one before they get here; only the store
// read is shared. Its result goes to every caller that asked for that key,
// so it is read-only (see findMessages).
//
// The zero value is ready to use; it is safe for concurrent use.
type coalescer struct {
	group singleflight.Group
	// timeout bounds a shared read; 0: sharedReadTimeout.
	timeout time.Duration
	// now is the clock of the hot pages; nil: time.Now.
	now func() time.Time
	// waiting, when set (tests), is called once a caller has joined a read
	// (started it or found it in flight) and waits for its result.
	waiting func(key string)

	mu    sync.Mutex
	hot   map[string]hotPage // by key
	order []hotRef           // oldest first
	bytes int                // sum of the hot pages' sizes
}

// hotPage is the result of a read.
type hotPage struct {
	v    any   // what the read returned
	memo *Memo // shared by every caller served from this result
	at   time.Time
	size int
}

type hotRef struct {
	key string
	at  time.Time
}

// findMessages is store.FindMessages(f), shared (see share) with the
// callers that pass the same version and filter at about the same time.
// version must change whenever the result may: it is the channel's
// LastSeq, read by the caller after everything it has seen committed, so it
// reads its own writes.
//
// The messages returned may be shared with other callers: they and the
// slice must not be modified.
func (co *coalescer) findMessages(ctx context.Context, st confab.Store, version chanVersion, f confab.MessageFilter) ([]*confab.Message, *Memo, error) {
	v, memo, err := co.share(ctx, readKey(version, f), func(ctx context.Context) (any, int, error) {
		msgs, err := st.FindMessages(ctx, f)
		return msgs, pageSize(msgs), err
	})
	msgs, _ := v.([]*confab.Message)
	return msgs, memo, err
}

// findPins is store.FindPins of a channel without messages, shared like
// findMessages under the channel's PinVersion, which every pin and unpin
// moves: a page's readers also read its pins together. The pins are
// read-only.
func (co *coalescer) findPins(ctx context.Context, st confab.Store, channelID string, pinVersion int64) ([]*confab.Pin, error) {
	key := fmt.Sprintf("pins %q p%d", channelID, pinVersion)
	v, _, err := co.share(ctx, key, func(ctx context.Context) (any, int, error) {
		pins, err := st.FindPins(ctx, channelID, false)
		return pins, 96 * len(pins), err
	})
	pins, _ := v.([]*confab.Pin)
	return pins, err
}

// findChanges is store.FindChanges of a channel after a checkpoint, shared
// like findMessages: the clients of a big channel that reconnect together
// (a gateway restarted) ask for the same changes from the same checkpoint.
// The changes returned are read-only; the Memo (nil when not shared) is
// shared by every caller served the same changes.
func (co *coalescer) findChanges(ctx context.Context, st confab.Store, channelID string, version, after int64, limit int) ([]confab.Change, *Memo, error) {
	key := fmt.Sprintf("changes %q v%d a%d l%d", channelID, version, after, limit)
	v, memo, err := co.share(ctx, key, func(ctx context.Context) (any, int, error) {
		changes, err := st.FindChanges(ctx, channelID, after, limit)
		n := 0
		for _, c := range changes {
			n += 64
			if c.Message != nil {
				n += messageSize(c.Message)
			}
		}
		return changes, 2 * n, err
	})
	changes, _ := v.([]confab.Change)
	return changes, memo, err
}

// share runs read once for the callers with the same key at about the same
// time, and keeps its result — read-only, and of the size read reports —
// for hotPageTTL: a key must name the state it reads (a version that every
// change bumps).
//
// The shared read runs with a context detached from every caller (keeping
// the first caller's values) and bounded by the timeout: a caller whose
// context ends returns ctx.Err() at once and leaves the read to the others.
//
// Callers served from the same result also get the same Memo (nil when the
// result was too big to keep), for what is derived from the result alone:
// the API's encoding of a page, done once for a thousand readers.
func (co *coalescer) share(ctx context.Context, key string, read func(ctx context.Context) (any, int, error)) (any, *Memo, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if v, memo, ok := co.recent(key); ok {
		return v, memo, nil
	}
	timeout := co.timeout
	if timeout <= 0 {
		timeout = sharedReadTimeout
	}
	ch := co.group.DoChan(key, func() (any, error) {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		defer cancel()
		v, size, err := read(rctx)
		return sized{v, size}, err
	})
	if co.waiting != nil {
		co.waiting(key)
	}
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, nil, r.Err
		}
		s := r.Val.(sized)
		return s.v, co.keep(key, s.v, s.size), nil
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
}

// sized is a shared read's result with its estimated memory.
type sized struct {
	v    any
	size int
}

// readKey names a read: equal keys read the same rows, and show the
// same pins (the Memo's encoding of a page marks the pinned messages).
func readKey(version chanVersion, f confab.MessageFilter) string {
	return fmt.Sprintf("%q v%d p%d a%d b%d t%d top%t del%t desc%t l%d",
		f.ChannelID, version.seq, version.pins, f.After, f.Before, f.ThreadTS, f.TopLevel, f.IncludeDeleted, f.Desc, f.Limit)
}

func (co *coalescer) clock() time.Time {
	if co.now != nil {
		return co.now()
	}
	return time.Now()
}

// recent returns the hot page of key if it is fresh, and forgets it if
// it has expired.
func (co *coalescer) recent(key string) (any, *Memo, bool) {
	co.mu.Lock()
	defer co.mu.Unlock()
	p, ok := co.hot[key]
	if !ok {
		return nil, nil, false
	}
	if co.clock().Sub(p.at) >= hotPageTTL {
		delete(co.hot, key) // its ref in order is dropped when reached
		co.bytes -= p.size
		return nil, nil, false
	}
	return p.v, p.memo, true
}

// keep makes v (of size bytes) the hot result of key, unless a fresh one is there, and
// returns the hot page's Memo (nil if msgs is too big to keep). It drops the
// expired pages and, beyond the
// bounds, the oldest pages. Every caller of a shared read keeps it: the
// first one stores it, the others find it there.
func (co *coalescer) keep(key string, v any, size int) *Memo {
	if size > hotPageBytes {
		return nil
	}
	co.mu.Lock()
	defer co.mu.Unlock()
	now := co.clock()
	if p, ok := co.hot[key]; ok && now.Sub(p.at) < hotPageTTL {
		return p.memo
	}
	if co.hot == nil {
		co.hot = map[string]hotPage{}
	}
	for len(co.order) > 0 {
		old := co.order[0]
		p, live := co.hot[old.key]
		live = live && p.at.Equal(old.at) // else replaced: a later ref holds it
		if live && now.Sub(old.at) < hotPageTTL && co.bytes+size <= hotPageBytes && len(co.hot) < hotPageEntries {
			break
		}
		if live {
			delete(co.hot, old.key)
			co.bytes -= p.size
		}
		co.order[0] = hotRef{}
		co.order = co.order[1:]
	}
	if p, ok := co.hot[key]; ok { // expired, not yet reached in order
		co.bytes -= p.size
	}
	memo := new(Memo)
	co.hot[key] = hotPage{v: v, memo: memo, at: now, size: size}
	co.order = append(co.order, hotRef{key, now})
	co.bytes += size
	return memo
}

// pageSize estimates the memory of a page of messages and of its encoding
// in the Memo.
func pageSize(msgs []*confab.Message) int {
	n := 0
	for _, m := range msgs {
		n += messageSize(m)
	}
	return 2 * n
}

// messageSize estimates the memory of a message.
func messageSize(m *confab.Message) int {
	n := 256 + len(m.ChannelID) + len(m.UserID) + len(m.Text) + len(m.ClientMsgID)
	for _, r := range m.Reactions {
		n += 64 + len(r.Name) + 32*len(r.Users)
	}
	return n
}
