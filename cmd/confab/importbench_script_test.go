package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
)

// scripts/bench-import.sh, at a size of seconds: it writes the export,
// imports all of it into a fresh server and reports the rate, the
// importer's memory and the server's CPU, then how long the server works
// on after it (the search index of the imported messages).
func TestImportBenchScript(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command("bash", "../../scripts/bench-import.sh", "sqlite", "3000")
	cmd.Env = append(os.Environ(), fmt.Sprintf("CONFAB_IMPORT_BASE=%d", port),
		"CONFAB_IMPORT_ZIP="+filepath.Join(t.TempDir(), "export.zip"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bench-import.sh: %v\n%s", err, out)
	}
	for _, want := range []string{
		`imported: +3000 new, 0 there already`,
		`import \(sqlite\): 3000 messages in [0-9.]+ s: [0-9]+ msgs/s; importer peak RSS [0-9]+ MB; server CPU [0-9.]+ s`,
		`after the import: the server busy -?[0-9.]+ s more \(CPU [0-9.]+ s\): searchable [0-9.]+ s after the start, [0-9]+ msgs/s`,
	} {
		if !regexp.MustCompile(want).Match(out) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
