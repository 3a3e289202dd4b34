package redistest_test

import (
	"bufio"
	"net"
	"os"
	"testing"
	"time"

	"github.com/confab/confab/internal/redistest"
)

func TestMain(m *testing.M) { os.Exit(redistest.Main(m)) }

// do sends one inline command to addr and returns the first reply line.
func do(t *testing.T, addr, cmd string) (string, error) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(cmd + "\r\n")); err != nil {
		return "", err
	}
	return bufio.NewReader(c).ReadString('\n')
}

func mustDo(t *testing.T, addr, cmd, want string) {
	t.Helper()
	got, err := do(t, addr, cmd)
	if err != nil || got != want {
		t.Fatalf("%s on %s = %q, %v; want %q", cmd, addr, got, err, want)
	}
}

func TestStartStopRestart(t *testing.T) {
	s := redistest.Start(t)
	host, _, err := net.SplitHostPort(s.Addr())
	if err != nil || host != "127.0.0.1" {
		t.Fatalf("Addr() = %q, want 127.0.0.1:port", s.Addr())
	}
	mustDo(t, s.Addr(), "PING", "+PONG\r\n")
	mustDo(t, s.Addr(), "SET k v", "+OK\r\n")
	mustDo(t, s.Addr(), "CONFIG GET save", "*2\r\n")

	s.Stop(t)
	if got, err := do(t, s.Addr(), "PING"); err == nil {
		t.Fatalf("PING after Stop = %q, want a connection error", got)
	}
	s.Stop(t) // stopping twice is harmless

	addr := s.Addr()
	s.Restart(t)
	if s.Addr() != addr {
		t.Fatalf("Addr() after Restart = %q, want %q", s.Addr(), addr)
	}
	mustDo(t, s.Addr(), "PING", "+PONG\r\n")
	mustDo(t, s.Addr(), "EXISTS k", ":0\r\n") // nothing persisted

	s.Restart(t) // restarting a running server works too
	mustDo(t, s.Addr(), "PING", "+PONG\r\n")
}

func TestServersAreSeparate(t *testing.T) {
	a, b := redistest.Start(t), redistest.Start(t)
	if a.Addr() == b.Addr() {
		t.Fatalf("two servers on %s", a.Addr())
	}
	mustDo(t, a.Addr(), "SET k v", "+OK\r\n")
	mustDo(t, b.Addr(), "EXISTS k", ":0\r\n")
}

func TestShared(t *testing.T) {
	s1, s2 := redistest.Shared(t), redistest.Shared(t)
	if s1 != s2 {
		t.Fatal("Shared returned two servers")
	}
	mustDo(t, s1.Addr(), "PING", "+PONG\r\n")
}
