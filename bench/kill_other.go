//go:build !linux

package bench

import "os/exec"

// killWithParent does nothing here: the worker exits when its stdin ends.
func killWithParent(cmd *exec.Cmd) {}
