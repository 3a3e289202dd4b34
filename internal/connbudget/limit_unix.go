//go:build unix

package connbudget

import "syscall"

// openFileLimit is RLIMIT_NOFILE's soft limit, or 0 if it cannot be read.
func openFileLimit() int {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil || r.Cur > 1<<30 {
		return 0
	}
	return int(r.Cur)
}
