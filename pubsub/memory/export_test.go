package memory

// NumTopics returns the number of topics with at least one subscriber.
func NumTopics(b *Broker) int {
	n := 0
	for i := range b.shards {
		s := &b.shards[i]
		s.mu.RLock()
		n += len(s.subs)
		s.mu.RUnlock()
	}
	return n
}
