// Package redistest starts throwaway redis-server processes for tests, on a
// free 127.0.0.1 port, with persistence off (--save "" --appendonly no) and
// their working directory in a temp dir.
//
// Two ways to get a server:
//
//	srv := redistest.Start(t) // one server for t, stopped in t.Cleanup
//
//	func TestMain(m *testing.M) { os.Exit(redistest.Main(m)) }
//	srv := redistest.Shared(t) // one server for the whole package run
//
// Tests sharing a server keep apart by key and channel prefix. A server of
// one's own can be stopped (Stop) and restarted on the same port (Restart),
// to test what clients do while Redis is down and after it comes back.
//
// redis-server is looked up in $PATH, then in /usr/bin, /usr/sbin and
// /usr/local/bin. Where it is missing the test is skipped, unless the CI
// environment variable is set: then it fails, so that CI never passes by
// skipping. Start returns only once the server answers PING.
//
// Concurrency contract: Addr may be called from any goroutine; Stop and
// Restart must not run concurrently with each other. Shared starts at most
// one server per process.
package redistest
