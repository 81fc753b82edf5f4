//go:build unix

package memstat

import (
	"runtime"
	"testing"
	"time"
)

// spin keeps the test's busy loops from being optimised away.
var spin uint64

// TestCPUCountsEveryThread checks CPU against work done elsewhere: two goroutines spin
// until the process has used 300 ms of CPU while the test's goroutine, locked to its own
// thread, only waits. A CPU that counted the calling thread alone (RUSAGE_THREAD) would
// never get there; one that counted wall time would grow while the process sleeps, which
// the idle check rejects. The spinners stop on CPU used, not on time spent, so a loaded
// host makes the test slower, not flaky.
func TestCPUCountsEveryThread(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start := time.Now()
	before, ok := CPU()
	if !ok {
		t.Fatal("CPU: no figure on Unix")
	}
	const target = 300 * time.Millisecond
	deadline := time.Now().Add(30 * time.Second)
	done := make(chan uint64)
	for range 2 {
		go func() {
			var x uint64
			for {
				for i := range 100000 {
					x += uint64(i) * 2654435761
				}
				if now, _ := CPU(); now-before >= target || time.Now().After(deadline) {
					done <- x
					return
				}
			}
		}()
	}
	spin += <-done + <-done
	wall := time.Since(start)
	after, _ := CPU()
	if used := after - before; used < target {
		t.Fatalf("CPU grew %v in %v while two goroutines spun until it grew %v", used, wall, target)
	} else if limit := wall*time.Duration(runtime.NumCPU()) + 50*time.Millisecond; used > limit {
		t.Fatalf("CPU grew %v in %v of wall time on %d cores", used, wall, runtime.NumCPU())
	}

	// Idle: a sleeping process uses next to no CPU.
	idle0, _ := CPU()
	time.Sleep(300 * time.Millisecond)
	if idle1, _ := CPU(); idle1-idle0 > 150*time.Millisecond {
		t.Fatalf("CPU grew %v while the process slept 300 ms", idle1-idle0)
	}
}
