// Package nodetest runs Node.js scripts from testdata/node for tests, so
// that Slack's own JavaScript packages (@slack/bolt, @slack/socket-mode,
// @slack/web-api, pinned in testdata/node/package-lock.json) can be run
// against confab:
//
//	p := nodetest.Run(t, "bolt-socket.js", map[string]string{"SLACK_API_URL": url})
//	p.Wait("READY")
//	line := p.Wait("EVENT ") // the rest of the first line that starts so
//
// RunFile runs a script kept elsewhere (an example of the repository) on
// the same packages.
//
// The packages are looked up in $CONFAB_NODE_MODULES (a node_modules
// directory; scripts/test.sh installs them there) or else in
// testdata/node/node_modules (npm ci --prefix testdata/node). A test that
// runs a script fails, never skips, when node or the packages are missing:
// these tests are what shows that Slack's apps run unchanged.
//
// Concurrency contract: Wait must be called from the test's goroutine;
// Lines and Stderr from any.
package nodetest

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// EnvModules names the node_modules directory that scripts/test.sh installs.
const EnvModules = "CONFAB_NODE_MODULES"

// DefaultTimeout is how long Wait waits for a line.
const DefaultTimeout = 30 * time.Second

// Proc is a running node script.
type Proc struct {
	t       testing.TB
	script  string
	cmd     *exec.Cmd
	Timeout time.Duration // for Wait; DefaultTimeout unless changed

	mu      sync.Mutex
	lines   []string      // guarded by mu: stdout, line by line
	changed chan struct{} // guarded by mu: closed and replaced when lines grow or the process exits
	exited  bool          // guarded by mu
	waitErr error         // guarded by mu: the exit status, once exited
	stderr  bytes.Buffer  // guarded by mu
	next    int           // Wait's place in lines; test goroutine only
}

// Dir returns testdata/node, found from the working directory up to the
// module's root; it fails tb if there is none.
func Dir(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatalf("nodetest: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			nd := filepath.Join(dir, "testdata", "node")
			if _, err := os.Stat(filepath.Join(nd, "package.json")); err != nil {
				tb.Fatalf("nodetest: no testdata/node/package.json in the module at %s", dir)
			}
			return nd
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("nodetest: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Modules returns the node_modules directory holding testdata/node's
// packages, failing tb if they are not installed.
func Modules(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv(EnvModules)
	where := "$" + EnvModules
	if dir == "" {
		dir = filepath.Join(Dir(tb), "node_modules")
		where = "testdata/node/node_modules"
	}
	if _, err := os.Stat(filepath.Join(dir, "@slack", "bolt", "package.json")); err != nil {
		tb.Fatalf("nodetest: Slack's npm packages are not installed in %s (%s): run scripts/test.sh, which installs them, or npm ci --prefix testdata/node", where, dir)
	}
	return dir
}

// Run starts node on script, a file of testdata/node, in that directory,
// with the environment and env on top, and NODE_PATH set so that
// require('@slack/bolt') finds the pinned packages. The process is killed
// when tb ends; its stderr is logged then if tb failed.
func Run(tb testing.TB, script string, env map[string]string) *Proc {
	tb.Helper()
	return start(tb, filepath.Join(Dir(tb), script), script, env)
}

// RunFile is Run for a script anywhere (path, absolute or from the working
// directory), run in its own directory with the same NODE_PATH: so that a
// script kept elsewhere, such as an example of the repository, runs on the
// pinned packages too.
func RunFile(tb testing.TB, path string, env map[string]string) *Proc {
	tb.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		tb.Fatalf("nodetest: %v", err)
	}
	return start(tb, abs, path, env)
}

// start runs node on the script at path (absolute) in its directory; name
// is what messages call it.
func start(tb testing.TB, path, name string, env map[string]string) *Proc {
	tb.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		tb.Fatal("nodetest: node is not in $PATH: install Debian's nodejs (scripts/test.sh does)")
	}
	modules := Modules(tb)
	if _, err := os.Stat(path); err != nil {
		tb.Fatalf("nodetest: %v", err)
	}
	cmd := exec.Command(node, path)
	cmd.Dir = filepath.Dir(path)
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &Proc{t: tb, script: name, cmd: cmd, Timeout: DefaultTimeout, changed: make(chan struct{})}
	cmd.Stderr = stderrWriter{p}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatalf("nodetest: %v", err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("nodetest: starting node %s: %v", name, err)
	}
	done := make(chan struct{})
	go p.read(stdout, done)
	tb.Cleanup(func() {
		cmd.Process.Kill()
		<-done
		if tb.Failed() {
			tb.Logf("nodetest: %s's stderr:\n%s", name, p.Stderr())
		}
	})
	return p
}

// read collects stdout's lines until it closes, then waits for the process.
func (p *Proc) read(stdout io.Reader, done chan struct{}) {
	defer close(done)
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		p.mu.Lock()
		p.lines = append(p.lines, sc.Text())
		p.signal()
		p.mu.Unlock()
	}
	io.Copy(io.Discard, stdout) // a line past the scanner's limit: keep node from blocking
	err := p.cmd.Wait()
	p.mu.Lock()
	p.exited, p.waitErr = true, err
	p.signal()
	p.mu.Unlock()
}

// signal wakes waiters; p.mu is held.
func (p *Proc) signal() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// Wait returns the rest of the first line of stdout that starts with
// prefix, after the line the previous Wait returned (lines in between are
// passed over). It fails the test if the process exits first or no such
// line comes within p.Timeout.
func (p *Proc) Wait(prefix string) string {
	p.t.Helper()
	deadline := time.NewTimer(p.Timeout)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		for ; p.next < len(p.lines); p.next++ {
			if rest, ok := strings.CutPrefix(p.lines[p.next], prefix); ok {
				p.next++
				p.mu.Unlock()
				return rest
			}
		}
		exited, waitErr, changed := p.exited, p.waitErr, p.changed
		p.mu.Unlock()
		if exited {
			p.t.Fatalf("nodetest: %s exited (%v) before printing %q; its stderr:\n%s", p.script, exitStatus(waitErr), prefix, p.Stderr())
		}
		select {
		case <-changed:
		case <-deadline.C:
			p.t.Fatalf("nodetest: %s printed no line starting with %q within %v; its stdout:\n%s\nits stderr:\n%s",
				p.script, prefix, p.Timeout, strings.Join(p.Lines(), "\n"), p.Stderr())
		}
	}
}

// Lines returns what the script has printed to stdout so far, line by line.
func (p *Proc) Lines() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.lines...)
}

// Stderr returns what the script has printed to stderr so far.
func (p *Proc) Stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

func exitStatus(err error) string {
	var ee *exec.ExitError
	if err == nil {
		return "status 0"
	}
	if errors.As(err, &ee) {
		return ee.ProcessState.String()
	}
	return err.Error()
}

// stderrWriter keeps a process's stderr in its Proc.
type stderrWriter struct{ p *Proc }

func (w stderrWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	const max = 1 << 20 // enough to tell what went wrong
	if w.p.stderr.Len() < max {
		w.p.stderr.Write(b[:min(len(b), max-w.p.stderr.Len())])
	}
	return len(b), nil
}
