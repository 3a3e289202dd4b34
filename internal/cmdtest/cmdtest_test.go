package cmdtest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestStart builds a command once and runs it until /healthz answers,
// here confab-nullserver in front of a server whose /healthz is 200.
func TestStart(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer up.Close()
	const pkg = "github.com/confab/confab/cmd/confab-nullserver"
	bin := Build(t, pkg)
	if again := Build(t, pkg); again != bin {
		t.Fatalf("Build(%q) = %q, then %q; want one build", pkg, bin, again)
	}
	p, err := Start(t, Config{Bin: bin, Args: func(addr string) []string {
		return []string{"-listen", addr, "-upstream", up.URL, "-method", "auth.test"}
	}})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(p.URL() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /healthz = %d, want 200", resp.StatusCode)
	}
}

// TestStartExited: a process that exits before it is healthy is an error
// that quotes the end of its output.
func TestStartExited(t *testing.T) {
	_, err := Start(t, Config{Bin: "/bin/sh", Args: func(addr string) []string {
		return []string{"-c", "echo cannot listen on " + addr + "; exit 3"}
	}})
	if err == nil || !strings.Contains(err.Error(), "sh exited: cannot listen on 127.0.0.1:") {
		t.Fatalf("Start = %v, want an error quoting the output", err)
	}
}
