package sqlite

import (
	"strings"
	"sync"
)

// maxKnownTokens bounds knownTokens: about 20 MiB at most. A million
// messages of ordinary chat hold some 66,000 distinct tokens; the
// bound is for a store whose messages are mostly ids and links.
const maxKnownTokens = 250_000

// knownTokens remembers tokens search_vocab holds, so that a post leaves
// out of its vocabulary statement the ones it does not need to add
// (nearly all of them: a post rarely holds a word no message held
// before). The statement reads search_vocab's B-tree once per token it
// is given, in the committer, which every write waits for; this set is
// read outside it. A token is added only once the transaction that wrote
// it has committed, so the set never holds one the table lacks (tokens
// are never removed from search_vocab). It starts empty at each Open and
// stops growing at maxKnownTokens: a token not in it is only given to
// the statement, which ignores one the table has.
type knownTokens struct {
	mu  sync.RWMutex
	set map[string]struct{}
}

// unknown returns the tokens of ts not known to be in search_vocab.
func (k *knownTokens) unknown(ts []string) []string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	var out []string
	for _, t := range ts {
		if _, ok := k.set[t]; !ok {
			out = append(out, t)
		}
	}
	return out
}

// add records tokens a committed transaction wrote to search_vocab.
func (k *knownTokens) add(ts []string) {
	if len(ts) == 0 {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.set == nil {
		k.set = make(map[string]struct{})
	}
	for _, t := range ts {
		if len(k.set) >= maxKnownTokens {
			return
		}
		k.set[strings.Clone(t)] = struct{}{} // not the message's text it is cut from
	}
}
