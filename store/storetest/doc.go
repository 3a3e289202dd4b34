// Package storetest is the conformance suite of confab.Store: it checks
// that a backend keeps the contract that confab.Store documents. Every
// backend runs the same suite from one short test file:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) confab.Store { return MustOpenDB(t) })
//	}
//	func BenchmarkStore(b *testing.B) {
//		storetest.RunBenchmarks(b, func(b *testing.B) confab.Store { return MustOpenDB(b) })
//	}
//
// Run calls open once per subtest, so every case starts on an empty store;
// open must close the store in t.Cleanup. Subtests run in parallel. The suite
// only uses the confab.Store interface and the confab domain types: it has no
// knowledge of SQL or of any particular database, and it sets every id
// itself (confab.NewID).
//
// Concurrency contract: a Store must be safe for concurrent use; the suite
// posts from many goroutines at once and checks that seqs are neither
// duplicated nor skipped.
package storetest
