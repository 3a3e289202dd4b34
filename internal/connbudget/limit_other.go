//go:build !unix

package connbudget

// openFileLimit is 0 where there is no RLIMIT_NOFILE: the budget then closes
// idle connections only when accept fails.
func openFileLimit() int { return 0 }
