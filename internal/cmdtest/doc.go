// Package cmdtest builds this module's commands and runs them as processes
// for tests: confab servers on free 127.0.0.1 ports, and the programs that
// are pointed at them.
//
//	bin := cmdtest.Build(t, "github.com/confab/confab/cmd/confab")
//	p, err := cmdtest.Start(t, cmdtest.Config{Bin: bin, Args: func(addr string) []string {
//		return []string{"serve", "-listen", addr, "-data", t.TempDir()}
//	}})
//	// p.URL() answers GET /healthz with 200
//
// Build compiles a command once per test process, whichever test asks
// first, into a new temp directory, which is left behind. Start picks a
// free port, runs the process with its stdout and stderr in a log file, and
// returns once GET /healthz answers 200; it tries three ports, since a
// free port can be taken before the process binds it. In t.Cleanup the
// process gets SIGTERM, then SIGKILL after 10 s, and when the test failed
// the tail of its log is logged. On Linux the kernel kills it if the test
// process dies without cleaning up.
//
// Concurrency contract: Build and Start may be called from parallel tests.
// A Proc's fields do not change after Start returns it.
package cmdtest
