//go:build !unix

package memstat

import "time"

// rusageMaxRSS has no portable source outside Unix; the caller logs no peak.
func rusageMaxRSS() (int64, bool) { return 0, false }

// cpuTime has no portable source outside Unix; the caller logs no CPU time.
func cpuTime() (time.Duration, bool) { return 0, false }
