package sqlite_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/confab/confab"
	"github.com/confab/confab/store/sqlite"
)

// killPostEnv names the database a re-run of this test binary posts to
// (see postUntilKilled).
const killPostEnv = "CONFAB_SQLITE_KILL_POST"

// TestAckedPostsSurviveKill: a process posting from many goroutines is
// killed (SIGKILL) mid-run; every post it had been answered for is in the
// database when it is opened again. An answer comes only after the commit
// holding the post.
func TestAckedPostsSurviveKill(t *testing.T) {
	if path := os.Getenv(killPostEnv); path != "" {
		postUntilKilled(t, path)
		return
	}
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "confab.db")
	db, err := sqlite.Open(ctx, sqlite.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	ws := &confab.Workspace{ID: "T1", Domain: "acme", Created: 1}
	if err := db.CreateWorkspace(ctx, ws, &confab.User{ID: "U1", Name: "owner", Created: 1}); err != nil {
		t.Fatal(err)
	}
	c := &confab.Channel{ID: "C1", WorkspaceID: "T1", Kind: confab.KindPublic, Name: "plaza", Created: 1}
	if err := db.CreateChannel(ctx, c, []string{"U1"}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestAckedPostsSurviveKill$")
	cmd.Env = append(os.Environ(), killPostEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill once enough posts are answered: the others are in flight, some
	// in the batch being committed.
	const enough = 2000
	var acked []int64
	lines := bufio.NewScanner(out)
	for len(acked) < enough && lines.Scan() {
		if seq, ok := strings.CutPrefix(lines.Text(), "acked "); ok {
			n, err := strconv.ParseInt(seq, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			acked = append(acked, n)
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	if len(acked) < enough {
		t.Fatalf("the poster stopped after %d answers", len(acked))
	}

	db = MustOpenDB(t, sqlite.Config{Path: path})
	msgs, err := db.FindMessages(ctx, confab.MessageFilter{ChannelID: "C1"})
	if err != nil {
		t.Fatal(err)
	}
	stored := make(map[int64]bool, len(msgs))
	for _, m := range msgs {
		stored[m.Seq] = true
	}
	for _, seq := range acked {
		if !stored[seq] {
			t.Errorf("post %d was answered but is not in the database after the kill", seq)
		}
	}
	t.Logf("%d posts answered before the kill, %d stored", len(acked), len(msgs))
}

// postUntilKilled posts to C1 from 32 goroutines and prints each answered
// post's seq, until the parent test kills the process.
func postUntilKilled(t *testing.T, path string) {
	db, err := sqlite.Open(context.Background(), sqlite.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for {
				m := &confab.Message{ChannelID: "C1", UserID: "U1", Text: "before the kill"}
				if _, err := db.CreateMessage(context.Background(), m); err != nil {
					fmt.Fprintln(os.Stderr, err)
					return
				}
				mu.Lock()
				fmt.Printf("acked %d\n", m.Seq)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}
