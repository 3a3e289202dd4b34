package main

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// scripts/cluster.sh, the one command that runs a local cluster, comes up,
// routes each workspace to its pocket's gateways, and cleans up on Ctrl-C.
func TestClusterScript(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("redis-server is missing")
		}
		t.Skip("redis-server is missing")
	}
	base := freeBase(t)
	cmd := exec.Command("bash", "../../scripts/cluster.sh")
	cmd.Env = append(os.Environ(), fmt.Sprintf("CONFAB_CLUSTER_BASE=%d", base))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	})

	ready := make(chan string, 1)
	go func() {
		var text strings.Builder
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			text.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "Ctrl-C stops it") {
				ready <- text.String()
			}
		}
	}()
	var banner string
	select {
	case banner = <-ready:
	case err := <-exited:
		t.Fatalf("cluster.sh exited early: %v\n%s", err, stderr.String())
	case <-time.After(3 * time.Minute):
		t.Fatalf("cluster.sh not ready within 3 minutes\n%s", stderr.String())
	}
	logDir := regexp.MustCompile(`logs in (\S+)\)`).FindStringSubmatch(banner)
	if logDir == nil {
		t.Fatalf("no log directory in the banner:\n%s", banner)
	}

	api := fmt.Sprintf("http://127.0.0.1:%d", base+81)
	for team, ports := range map[string][]int{"beta": {base + 93, base + 94}, "alpha": {base + 91, base + 92}} {
		u := &client{tb: t, base: api, name: team}
		tok := u.must("auth.signup", obj{"team": team, "name": "someone", "password": "correct horse battery"})
		u.token = tok["token"].(string)
		url := u.must("rtm.connect", nil)["url"].(string)
		if !strings.HasPrefix(url, fmt.Sprintf("ws://127.0.0.1:%d/", ports[0])) && !strings.HasPrefix(url, fmt.Sprintf("ws://127.0.0.1:%d/", ports[1])) {
			t.Fatalf("workspace %s sent to %s, want a gateway on port %v", team, url, ports)
		}
	}

	syscall.Kill(cmd.Process.Pid, syscall.SIGINT)
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		t.Fatal("cluster.sh did not stop within 30 s of Ctrl-C")
	}
	if _, err := os.Stat(logDir[1]); !os.IsNotExist(err) {
		t.Fatalf("cluster.sh left %s behind (%v)", logDir[1], err)
	}
	if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", base+80)); err == nil {
		c.Close()
		t.Fatal("an API process still listens after Ctrl-C")
	}
}

// freeBase finds a base port whose cluster ports are all free.
func freeBase(t *testing.T) int {
	t.Helper()
	for attempt := 0; attempt < 50; attempt++ {
		base := 20000 + 1000*rand.IntN(20)
		free := true
		for _, off := range []int{80, 81, 91, 92, 93, 94, 379, 380, 432} {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+off))
			if err != nil {
				free = false
				break
			}
			l.Close()
		}
		if free {
			return base
		}
	}
	t.Fatal("no free port range for the cluster")
	return 0
}
