package cmdtest

import "syscall"

// sysProcAttr makes the kernel kill the process if the test process dies
// without running its cleanups (a timeout panic, SIGKILL), so that no
// server outlives its test binary.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
