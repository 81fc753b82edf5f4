package memstat

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestParseStatusKB(t *testing.T) {
	tests := []struct {
		name   string
		status string
		want   int64
		ok     bool
	}{
		{"linux", "Name:\trevcast\nVmPeak:\t 900 kB\nVmHWM:\t  320796 kB\nVmRSS:\t 100 kB\n", 320796 << 10, true},
		{"missing", "Name:\trevcast\nVmRSS:\t 100 kB\n", 0, false},
		{"other unit", "VmHWM:\t 3 MB\n", 0, false},
		{"garbage", "VmHWM:\t x kB\n", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseStatusKB([]byte(tt.status), "VmHWM:")
			if got != tt.want || ok != tt.ok {
				t.Fatalf("parseStatusKB = %d, %v; want %d, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

// sink keeps the test's allocation reachable so the compiler cannot drop it.
var sink []byte

// TestWatchAndPeakSeeAnAllocation touches 64 MiB while a watch runs and expects both the
// sampled and the process peak to include it.
func TestWatchAndPeakSeeAnAllocation(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("resident size is read from /proc (Linux)")
	}
	const n = 64 << 20
	before, ok := Current()
	if !ok {
		t.Fatal("Current: no figure on Linux")
	}
	stop := Watch(time.Millisecond)
	sink = make([]byte, n)
	for i := 0; i < n; i += 4096 {
		sink[i] = 1
	}
	time.Sleep(20 * time.Millisecond)
	sink = nil
	runtime.GC()
	debug.FreeOSMemory()
	watched, ok := stop()
	if !ok || watched < before+n/2 {
		t.Fatalf("watched peak %d (ok %v) after touching %d bytes from %d resident", watched, ok, n, before)
	}
	if after, _ := Current(); after >= watched {
		t.Fatalf("resident %d after freeing, not below the watched peak %d", after, watched)
	}
	// The kernel updates its high-water mark from counters that lag the resident size by
	// a few pages: allow 1 MiB.
	if peak, ok := Peak(); !ok || peak < watched-1<<20 {
		t.Fatalf("process peak %d (ok %v) below the watched %d", peak, ok, watched)
	}
}
