// Package pgtest starts throwaway PostgreSQL servers for tests: initdb into
// a temp dir, then postgres on a free 127.0.0.1 port, stopped (and the
// directory removed) when the test ends.
//
// Two ways to get a server:
//
//	srv := pgtest.Start(t) // one server for t, stopped in t.Cleanup
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//	srv := pgtest.Shared(t) // one server for the whole package run
//
// and then srv.NewDatabase(t) for a fresh, empty database per test, dropped
// in t.Cleanup.
//
// The server binaries (initdb, postgres) are looked up in $PATH, then in
// /usr/lib/postgresql/*/bin (newest version first). Where they are missing
// the test is skipped, unless the CI environment variable is set: then it
// fails, so that CI never passes by skipping. PostgreSQL refuses to run as
// root; when the test runs as root, the server runs as the "postgres"
// system user, which must exist.
//
// The server is for tests only: trust authentication on loopback, fsync off.
//
// Concurrency contract: a *Server is safe for concurrent use (NewDatabase
// may be called from parallel tests); Shared starts at most one server per
// process.
package pgtest
