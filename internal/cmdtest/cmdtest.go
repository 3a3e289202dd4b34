package cmdtest

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	// startAttempts is how many free ports Start tries.
	startAttempts = 3
	// healthTimeout bounds how long a process may take to answer
	// GET /healthz with 200.
	healthTimeout = 30 * time.Second
	// stopTimeout bounds how long a process may take to exit after SIGTERM
	// before it is killed.
	stopTimeout = 10 * time.Second
	// pollInterval separates health probes while a process starts.
	pollInterval = 50 * time.Millisecond
)

// build is one command compiled for this test process.
type build struct {
	once sync.Once
	path string
	err  error
}

var (
	buildsMu sync.Mutex
	builds   = map[string]*build{} // by package; guarded by buildsMu
)

// Build compiles the main package pkg, an import path such as
// "github.com/confab/confab/cmd/confab", once per test process and returns
// the binary's path, named after pkg's last element.
func Build(tb testing.TB, pkg string) string {
	tb.Helper()
	buildsMu.Lock()
	b := builds[pkg]
	if b == nil {
		b = &build{}
		builds[pkg] = b
	}
	buildsMu.Unlock()
	b.once.Do(func() {
		dir, err := os.MkdirTemp("", "confab-bin-")
		if err != nil {
			b.err = err
			return
		}
		b.path = filepath.Join(dir, path.Base(pkg))
		out, err := exec.Command("go", "build", "-tags", "sqlite_fts5", "-o", b.path, pkg).CombinedOutput()
		if err != nil {
			b.err = fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
		}
	})
	if b.err != nil {
		tb.Fatal(b.err)
	}
	return b.path
}

// Config says how Start runs a process.
type Config struct {
	// Bin is the binary, as Build returns it.
	Bin string
	// Args returns the process's arguments for addr, the free
	// 127.0.0.1:port it is to listen on.
	Args func(addr string) []string
	// Env is added to the test process's environment.
	Env []string
	// Name names the process in errors and in its log file's name; empty:
	// the binary's name.
	Name string
	// LogDir receives the log file; empty: a temp dir of the test.
	LogDir string
}

// Proc is a process Start started.
type Proc struct {
	Addr   string          // the 127.0.0.1:port it listens on
	Log    string          // the file with its stdout and stderr
	Cmd    *exec.Cmd       // started; waited for by Start's goroutine
	Exited <-chan struct{} // closed once it exited and its log is closed
}

// URL is the process's base HTTP URL.
func (p *Proc) URL() string { return "http://" + p.Addr }

// Start runs cfg.Bin on a free 127.0.0.1 port and returns once it answers
// GET /healthz with 200. The process is stopped when the test ends.
func Start(tb testing.TB, cfg Config) (*Proc, error) {
	tb.Helper()
	if cfg.Name == "" {
		cfg.Name = filepath.Base(cfg.Bin)
	}
	if cfg.LogDir == "" {
		cfg.LogDir = tb.TempDir()
	}
	var err error
	for range startAttempts {
		var p *Proc
		if p, err = start(tb, cfg); err == nil {
			return p, nil
		}
	}
	return nil, err
}

func start(tb testing.TB, cfg Config) (*Proc, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	exited := make(chan struct{})
	p := &Proc{Addr: addr, Exited: exited}
	p.Log = filepath.Join(cfg.LogDir, fmt.Sprintf("%s-%s.log",
		strings.ReplaceAll(cfg.Name, " ", "-"), strings.ReplaceAll(addr, ":", "_")))
	logf, err := os.Create(p.Log)
	if err != nil {
		return nil, err
	}
	p.Cmd = exec.Command(cfg.Bin, cfg.Args(addr)...)
	p.Cmd.Stdout, p.Cmd.Stderr = logf, logf
	p.Cmd.Env = append(os.Environ(), cfg.Env...)
	p.Cmd.SysProcAttr = sysProcAttr()
	if err := p.Cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	go func() {
		p.Cmd.Wait()
		logf.Close()
		close(exited)
	}()
	tb.Cleanup(func() {
		p.Cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(stopTimeout):
			p.Cmd.Process.Kill()
			<-exited
		}
		if tb.Failed() {
			data, _ := os.ReadFile(p.Log)
			tb.Logf("--- %s %s log:\n%s", cfg.Name, addr, tail(data, 3000))
		}
	})
	deadline := time.Now().Add(healthTimeout)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			data, _ := os.ReadFile(p.Log)
			return nil, fmt.Errorf("%s exited: %s", cfg.Name, tail(data, 2000))
		case <-tick.C:
		}
		resp, err := http.Get(p.URL() + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p, nil
			}
		}
	}
	p.Cmd.Process.Kill()
	return nil, fmt.Errorf("%s on %s not healthy within %v", cfg.Name, addr, healthTimeout)
}

// tail is the last n bytes of b, trimmed.
func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(bytes.TrimSpace(b))
}
