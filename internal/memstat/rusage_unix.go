//go:build unix

package memstat

import (
	"runtime"
	"syscall"
	"time"
)

// rusageMaxRSS is getrusage(RUSAGE_SELF).ru_maxrss: kilobytes on Linux and the BSDs, bytes
// on macOS (getrusage(2) on each).
func rusageMaxRSS() (int64, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		return int64(ru.Maxrss), true
	}
	return int64(ru.Maxrss) << 10, true
}

// cpuTime is getrusage(RUSAGE_SELF)'s user plus system time: every thread of the process,
// the ones DuckDB starts included (getrusage(2)).
func cpuTime() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
