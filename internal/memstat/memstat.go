// Package memstat reads the process's resident memory and CPU time from the operating
// system, so that each stage of a run can say how much memory it needed (the design's
// 2 GiB budget is a peak RSS, which Go's own heap statistics do not see: DuckDB allocates
// outside the Go heap) and how much processor time it used (CPU: DuckDB's own threads
// included, which a Go profile only partly attributes).
//
// The process's peak is VmHWM in /proc/self/status on Linux and getrusage's ru_maxrss
// elsewhere. A stage's own peak is sampled (Watch): the kernel's peak could be reset per
// stage (/proc/self/clear_refs), but that also resets what time(1) and getrusage report
// for the whole process, which is how a run's peak is measured from outside.
package memstat

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"sync"
	"time"
)

// Peak returns the process's peak resident set size in bytes since it started; ok is
// false when the system does not say.
func Peak() (bytes int64, ok bool) {
	if b, ok := procHWM(); ok {
		return b, true
	}
	return rusageMaxRSS()
}

// Watch samples the resident size every interval until the returned stop is called, and
// stop returns the largest sample (taken at the start, every interval and at the stop);
// ok is false where the system does not say (outside Linux). A spike shorter than the
// interval can be missed: the figure is a lower bound of the true peak.
func Watch(interval time.Duration) (stop func() (peak int64, ok bool)) {
	var mu sync.Mutex
	var peak int64
	var ok bool
	sample := func() {
		if b, has := Current(); has {
			mu.Lock()
			peak, ok = max(peak, b), true
			mu.Unlock()
		}
	}
	sample()
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				sample()
			}
		}
	}()
	return func() (int64, bool) {
		close(done)
		<-finished
		sample()
		mu.Lock()
		defer mu.Unlock()
		return peak, ok
	}
}

// CPU returns the processor time the process has used since it started, user plus system,
// summed over all its threads (so on 2 cores it grows up to twice as fast as the wall
// clock); ok is false where the system does not say (outside Unix). The difference of two
// readings is all the process used between them, on any thread: the code in between, and
// the garbage collector and any other goroutine running meanwhile.
func CPU() (d time.Duration, ok bool) { return cpuTime() }

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
