package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// confabProc is a "confab serve" the search scenario started on the data
// it loaded.
type confabProc struct {
	cmd  *exec.Cmd
	URL  string
	done chan struct{} // closed when the process has exited
	err  error         // its exit, once done
}

// confabBinary finds the confab binary: bin if set, else "confab" next to
// this executable, else on PATH.
func confabBinary(bin string) (string, error) {
	if bin != "" {
		return bin, nil
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), "confab")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	p, err := exec.LookPath("confab")
	if err != nil {
		return "", errors.New("no confab binary: build it (go build -tags sqlite_fts5 ./cmd/confab) and name it with -confab")
	}
	return p, nil
}

// startConfab starts "bin serve" on a free loopback port with the SQLite
// database of dataDir, or on PostgreSQL when dsn is set, with limits that
// do not throttle the bench, and waits until /healthz answers 200. Its
// log (warnings and errors) goes to logTo.
func startConfab(ctx context.Context, bin, dataDir, dsn string, logTo io.Writer) (*confabProc, error) {
	var lastErr error
	for range 3 { // the free port may be taken before the server binds it
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		addr := l.Addr().String()
		l.Close()
		args := []string{"serve", "-listen", addr, "-data", dataDir, "-log-level", "warn",
			"-rate-limit", "1000000", "-rate-burst", "1000000", "-auth-rate-limit", "100000",
			"-max-conns-per-user", "0", "-max-conns-per-addr", "0", "-handshake-rate", "0"}
		if dsn != "" {
			args = append(args, "-postgres", dsn)
		}
		cmd := exec.Command(bin, args...)
		cmd.Stdout, cmd.Stderr = logTo, logTo
		killWithParent(cmd)
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("start %s: %w", bin, err)
		}
		p := &confabProc{cmd: cmd, URL: "http://" + addr, done: make(chan struct{})}
		go func() {
			p.err = cmd.Wait()
			close(p.done)
		}()
		if lastErr = p.waitHealthy(ctx, time.Minute); lastErr == nil {
			return p, nil
		}
		p.stop()
	}
	return nil, lastErr
}

func (p *confabProc) waitHealthy(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	hc := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := hc.Get(p.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.done:
			return fmt.Errorf("confab serve exited: %v", p.err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("confab serve at %s: not healthy after %s", p.URL, limit)
		}
	}
}

// stop asks the server to stop (SIGTERM), kills it after 15 s, and waits.
func (p *confabProc) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}
