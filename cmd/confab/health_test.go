package main

import (
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/confab/confab/internal/cmdtest"
)

// A store that can be read but not written — here a server whose files
// may not grow past 1.5 MB (RLIMIT_FSIZE), as on a full disk — fails every
// post; /healthz must then say so, so that a load balancer sends the node
// nothing, while reads go on being served.
func TestHealthzReportsAStoreThatCannotBeWritten(t *testing.T) {
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		t.Fatalf("prlimit (util-linux) is needed to limit the server's file size: %v", err)
	}
	bin := cmdtest.Build(t, "github.com/confab/confab/cmd/confab")
	const maxFileBytes = 1_500_000
	p, err := cmdtest.Start(t, cmdtest.Config{
		Bin: prlimit, Name: "confab",
		Args: func(addr string) []string {
			return []string{"--fsize=" + strconv.Itoa(maxFileBytes), bin, "serve", "-listen", addr, "-data", t.TempDir(),
				"-password-cost", "4", "-sqlite-sync", "normal", "-log-level", "error"}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	alice := signupAt(t, p.URL(), "acme", "alice")
	ch := alice.createChannel("plaza", false)

	// Post 2 KB messages until the store refuses one: at most a few
	// hundred fit in 1.5 MB.
	text := strings.Repeat("x", 2000)
	refused := false
	for i := 0; i < 2000 && !refused; i++ {
		_, out := alice.call("chat.postMessage", obj{"channel": ch, "text": text})
		refused = out["ok"] != true
	}
	if !refused {
		t.Fatal("2,000 posts of 2 KB were all stored under a 1.5 MB file size limit")
	}

	// The health check's last write is at most healthWriteEvery old.
	deadline := time.Now().Add(5 * time.Second)
	for {
		status, body := get(t, p.URL()+"/healthz")
		if status == http.StatusServiceUnavailable && strings.Contains(body, `"error":"store_unwritable"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz = %d %s with every write failing, want 503 store_unwritable", status, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Reads still work.
	out := alice.must("conversations.history", obj{"channel": ch, "limit": 5})
	if msgs, _ := out["messages"].([]any); len(msgs) != 5 {
		t.Fatalf("history = %v, want 5 messages", out)
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := httpClient.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
