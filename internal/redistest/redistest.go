package redistest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	// startTimeout bounds how long a server may take to answer PING.
	startTimeout = 15 * time.Second
	// stopTimeout bounds how long a server may take to exit after SIGTERM
	// before it is killed.
	stopTimeout = 10 * time.Second
	// pollInterval separates readiness probes while a server starts.
	pollInterval = 5 * time.Millisecond
)

// Server is one redis-server process on 127.0.0.1.
type Server struct {
	// immutable after construction
	bin  string
	dir  string
	port int
	addr string

	mu   sync.Mutex
	proc *process // guarded by mu; nil while stopped
}

// process is one run of redis-server.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once the process has exited and been reaped
}

// Start starts a redis-server for tb and stops it in tb.Cleanup. It skips tb
// (fails it when CI is set) if redis-server is not installed, and fails tb if
// the server does not come up.
func Start(tb testing.TB) *Server {
	tb.Helper()
	bin := mustBinary(tb)
	s, err := start(bin, tb.TempDir())
	if err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.stop(); err != nil {
			tb.Errorf("redistest: %v", err)
		}
	})
	return s
}

// Addr returns the server's "127.0.0.1:port". It stays the same across
// Restart.
func (s *Server) Addr() string { return s.addr }

// Stop stops the server (SIGTERM, then SIGKILL after a timeout) and waits
// for it to exit; clients see their connections closed and new connections
// refused until Restart. Stopping a stopped server does nothing.
func (s *Server) Stop(tb testing.TB) {
	tb.Helper()
	if err := s.stop(); err != nil {
		tb.Fatalf("redistest: %v", err)
	}
}

// Restart stops the server if it runs and starts it again, empty, on the same
// port, returning once it answers PING.
func (s *Server) Restart(tb testing.TB) {
	tb.Helper()
	if err := s.stop(); err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := launch(s.bin, s.dir, s.port)
	if err != nil {
		tb.Fatalf("redistest: restart on %s: %v", s.addr, err)
	}
	s.proc = p
}

// start launches a server on a free port of 127.0.0.1, trying another port if
// the one it picked was taken in the meantime.
func start(bin, dir string) (*Server, error) {
	var err error
	for range 3 {
		var port int
		port, err = freePort()
		if err != nil {
			return nil, err
		}
		var p *process
		p, err = launch(bin, dir, port)
		if err == nil {
			return &Server{
				bin:  bin,
				dir:  dir,
				port: port,
				addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
				proc: p,
			}, nil
		}
	}
	return nil, err
}

// stop stops the running process, if any, and waits for it.
func (s *Server) stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return nil
	}
	err := s.proc.stop()
	s.proc = nil
	if err != nil {
		return fmt.Errorf("stop %s: %w", s.addr, err)
	}
	return nil
}

// freePort returns a port of 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// launch starts redis-server on port and waits until it answers PING.
func launch(bin, dir string, port int) (*process, error) {
	logFile := filepath.Join(dir, "redis-"+strconv.Itoa(port)+".log")
	cmd := exec.Command(bin,
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", dir,
		"--logfile", logFile,
		"--daemonize", "no",
	)
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		cmd.Wait() // the exit status of a server we stop is of no interest
		close(p.done)
	}()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if err := waitReady(addr, p); err != nil {
		p.stop()
		return nil, fmt.Errorf("redis-server on %s: %w; log:\n%s", addr, err, tail(logFile))
	}
	return p, nil
}

// waitReady probes addr with PING until it answers PONG, the process exits,
// or startTimeout passes.
func waitReady(addr string, p *process) error {
	deadline := time.NewTimer(startTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	var last error
	for {
		if last = ping(addr); last == nil {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("exited during startup (%v)", p.cmd.ProcessState)
		case <-deadline.C:
			return fmt.Errorf("no PONG after %v: %w", startTimeout, last)
		case <-tick.C:
		}
	}
}

// ping sends one PING on a new connection and checks the answer.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

// stop terminates the process and waits until it has been reaped.
func (p *process) stop() error {
	select {
	case <-p.done:
		return nil // already gone
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal: %w", err)
	}
	t := time.NewTimer(stopTimeout)
	defer t.Stop()
	select {
	case <-p.done:
		return nil
	case <-t.C:
	}
	p.cmd.Process.Kill()
	<-p.done
	return fmt.Errorf("did not exit within %v of SIGTERM; killed", stopTimeout)
}

// tail returns the end of a log file, for failure messages.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	const max = 2000
	if len(b) > max {
		b = b[len(b)-max:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return string(b)
}

// binary returns the path of redis-server, or "" if it is not installed.
func binary() string {
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/bin", "/usr/sbin", "/usr/local/bin"} {
		p := filepath.Join(dir, "redis-server")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// mustBinary returns the path of redis-server, or skips tb (fails it when the
// CI environment variable is set) if it is missing.
func mustBinary(tb testing.TB) string {
	tb.Helper()
	bin := binary()
	if bin == "" {
		if os.Getenv("CI") != "" {
			tb.Fatal("redistest: redis-server not found and CI is set; install redis-server (apt-get install redis-server)")
		}
		tb.Skip("redistest: redis-server not found; install redis-server to run this test")
	}
	return bin
}
