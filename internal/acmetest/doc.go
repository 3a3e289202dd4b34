// Package acmetest starts a throwaway ACME CA for tests: Let's Encrypt's
// pebble on a free 127.0.0.1 port, with pebble-challtestsrv as its DNS
// server answering 127.0.0.1 for every name, so that the CA really
// validates TLS-ALPN-01 and HTTP-01 challenges against a server of the test
// on loopback (at the ports the test names).
//
//	ca := acmetest.Start(t, acmetest.Config{TLSPort: port})
//	client := &acme.Client{DirectoryURL: ca.DirectoryURL(), HTTPClient: ca.HTTPClient()}
//	pool := ca.Roots(t) // verifies the certificates it issues
//
// Pebble serves its API over HTTPS with a certificate from a CA the package
// makes for the run (HTTPClient trusts it); each run of pebble has its own
// random issuing root (Roots). Both binaries come from Debian's pebble
// package (apt-get install pebble); where they are missing the test is
// skipped, unless the CI environment variable is set: then it fails, so
// that CI never passes by skipping. Both processes are stopped in
// tb.Cleanup.
package acmetest
