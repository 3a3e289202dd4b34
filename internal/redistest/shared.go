package redistest

import (
	"os"
	"sync"
	"testing"
)

// shared is the package run's server of Shared.
var shared struct {
	mu      sync.Mutex
	inMain  bool    // guarded by mu; Main is running the tests
	srv     *Server // guarded by mu; started by the first Shared
	dir     string  // guarded by mu; srv's directory, removed by Main
	failure error   // guarded by mu; why the shared server could not start
}

// Main runs the tests of a package that uses Shared and then stops the shared
// server, if one was started. Call it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(redistest.Main(m)) }
func Main(m *testing.M) int {
	shared.mu.Lock()
	shared.inMain = true
	shared.mu.Unlock()

	code := m.Run()

	shared.mu.Lock()
	defer shared.mu.Unlock()
	shared.inMain = false
	if shared.srv != nil {
		if err := shared.srv.stop(); err != nil {
			os.Stderr.WriteString("redistest: " + err.Error() + "\n")
			if code == 0 {
				code = 1
			}
		}
		shared.srv = nil
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
		shared.dir = ""
	}
	return code
}

// Shared returns the package run's server, starting it on first use; Main
// stops it when every test has run. Tests that share it must keep apart by
// key and channel prefix, and must not Stop or Restart it. It skips tb (fails
// it when CI is set) if redis-server is not installed, and fails tb if the
// package has no TestMain calling Main.
func Shared(tb testing.TB) *Server {
	tb.Helper()
	bin := mustBinary(tb)
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.inMain {
		tb.Fatal("redistest: Shared needs a TestMain that calls redistest.Main")
	}
	if shared.srv == nil && shared.failure == nil {
		dir, err := os.MkdirTemp("", "redistest-")
		if err != nil {
			shared.failure = err
		} else {
			shared.dir = dir
			shared.srv, shared.failure = start(bin, dir)
		}
	}
	if shared.failure != nil {
		tb.Fatalf("redistest: shared server: %v", shared.failure)
	}
	return shared.srv
}
