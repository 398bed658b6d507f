// Package procstat reads the current process's resource usage, for
// benchmarks that report CPU time per event beside wall-clock rates (a
// figure that stays meaningful on a machine shared with other work).
package procstat

import (
	"syscall"
	"time"
)

// CPU returns the user and system CPU time the process has used so far (0
// if the system does not say).
func CPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
