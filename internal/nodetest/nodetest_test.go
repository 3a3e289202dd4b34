package nodetest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// The packages require() finds are the ones package.json pins.
func TestPinnedVersions(t *testing.T) {
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	b, err := os.ReadFile(filepath.Join(Dir(t), "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &pkg); err != nil {
		t.Fatal(err)
	}
	p := Run(t, "versions.js", nil)
	var got map[string]string
	if err := json.Unmarshal([]byte(p.Wait("VERSIONS ")), &got); err != nil {
		t.Fatal(err)
	}
	for name, want := range pkg.Dependencies {
		if got[name] != want {
			t.Errorf("%s: %q installed, %q pinned: reinstall (scripts/test.sh does when package-lock.json changes)", name, got[name], want)
		}
	}
	if len(pkg.Dependencies) != 4 {
		t.Errorf("dependencies %v", pkg.Dependencies)
	}
}

func TestRunEnvAndLines(t *testing.T) {
	p := Run(t, "exit.js", map[string]string{"EXIT_STATUS": "0"})
	if got := p.Wait("BEF"); got != "ORE" {
		t.Errorf("Wait = %q", got)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(p.Stderr(), "leaving on purpose") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(p.Stderr(), "leaving on purpose") {
		t.Errorf("stderr %q", p.Stderr())
	}
	if l := p.Lines(); len(l) != 1 || l[0] != "BEFORE" {
		t.Errorf("Lines = %q", l)
	}
}

// RunFile runs a script outside testdata/node in its own directory, and
// require() finds the pinned packages there too.
func TestRunFile(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "where.js")
	src := "console.log(`WHERE ${process.cwd()} ${require('@slack/bolt/package.json').version} ${process.env.WHO}`);\n"
	if err := os.WriteFile(script, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	p := RunFile(t, script, map[string]string{"WHO": "me"})
	got := p.Wait("WHERE ")
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	b, err := os.ReadFile(filepath.Join(Dir(t), "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &pkg); err != nil {
		t.Fatal(err)
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	rest := " " + pkg.Dependencies["@slack/bolt"] + " me"
	if got != dir+rest && got != real+rest {
		t.Errorf("printed %q; want %q", got, dir+rest)
	}
}

// fatalTB records a Fatal and ends the goroutine, as testing.T's does.
type fatalTB struct {
	testing.TB
	mu  sync.Mutex
	msg string
}

func (f *fatalTB) Fatal(args ...any) { f.Fatalf("%s", fmt.Sprint(args...)) }
func (f *fatalTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.msg = fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}
func (f *fatalTB) Helper() {}

// fatal runs fn with a fatalTB and returns the message it failed with.
func fatal(t *testing.T, fn func(tb testing.TB)) string {
	f := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() { defer close(done); fn(f) }()
	<-done
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.msg
}

func TestFailsNeverSkips(t *testing.T) {
	t.Run("exited before the line", func(t *testing.T) {
		msg := fatal(t, func(tb testing.TB) { Run(tb, "exit.js", map[string]string{"EXIT_STATUS": "3"}).Wait("NEVER") })
		if !strings.Contains(msg, "exit status 3") || !strings.Contains(msg, "leaving on purpose") {
			t.Errorf("failed with %q", msg)
		}
	})
	t.Run("no line in time", func(t *testing.T) {
		msg := fatal(t, func(tb testing.TB) {
			p := Run(tb, "versions.js", nil)
			p.Timeout = time.Millisecond
			p.Wait("NEVER")
		})
		if !strings.Contains(msg, "NEVER") {
			t.Errorf("failed with %q", msg)
		}
	})
	t.Run("packages missing", func(t *testing.T) {
		t.Setenv(EnvModules, t.TempDir())
		msg := fatal(t, func(tb testing.TB) { Run(tb, "versions.js", nil) })
		if !strings.Contains(msg, "not installed") || !strings.Contains(msg, "scripts/test.sh") {
			t.Errorf("failed with %q", msg)
		}
	})
	t.Run("node missing", func(t *testing.T) {
		t.Setenv("PATH", t.TempDir())
		msg := fatal(t, func(tb testing.TB) { Run(tb, "versions.js", nil) })
		if !strings.Contains(msg, "node is not in $PATH") {
			t.Errorf("failed with %q", msg)
		}
	})
}
