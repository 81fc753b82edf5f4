// Package memstat reads the process's peak resident memory from the operating system, so
// that each stage of a run can say how much memory it needed (the design's 2 GiB budget is
// a peak RSS, which Go's own heap statistics do not see: DuckDB allocates outside the Go
// heap).
//
// On Linux the peak is VmHWM in /proc/self/status and it can be reset by writing "5" to
// /proc/self/clear_refs (proc(5), since Linux 4.0), which gives a per-stage peak. Elsewhere
// the peak is getrusage's ru_maxrss, which cannot be reset: a stage's figure is then the
// process's peak so far.
package memstat

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
)

// Peak returns the process's peak resident set size in bytes since the start or the last
// successful Reset; ok is false when the system does not say.
func Peak() (bytes int64, ok bool) {
	if b, ok := procHWM(); ok {
		return b, true
	}
	return rusageMaxRSS()
}

// Reset starts a new peak at the current resident size. It reports false where the system
// cannot reset the peak (then Peak keeps returning the peak since the start).
func Reset() bool {
	f, err := os.OpenFile("/proc/self/clear_refs", os.O_WRONLY, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	_, err = f.WriteString("5")
	return err == nil
}

// Current returns the process's resident set size in bytes (VmRSS); ok is false where the
// system does not say (outside Linux).
func Current() (bytes int64, ok bool) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	return parseStatusKB(data, "VmRSS:")
}

// procHWM reads VmHWM ("VmHWM:   320796 kB") from /proc/self/status.
func procHWM() (int64, bool) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	return parseStatusKB(data, "VmHWM:")
}

// parseStatusKB reads the field named by key ("VmHWM:   320796 kB") from a /proc/<pid>/status
// file, in bytes; the kernel prints memory in kB (kibibytes, despite the unit's spelling).
func parseStatusKB(status []byte, key string) (int64, bool) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		line := sc.Bytes()
		rest, found := bytes.CutPrefix(line, []byte(key))
		if !found {
			continue
		}
		fields := bytes.Fields(rest)
		if len(fields) != 2 || string(fields[1]) != "kB" {
			return 0, false
		}
		kb, err := strconv.ParseInt(string(fields[0]), 10, 64)
		if err != nil {
			return 0, false
		}
		return kb << 10, true
	}
	return 0, false
}
