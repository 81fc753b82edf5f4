package memstat

import (
	"runtime"
	"runtime/debug"
	"testing"
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

// TestPeakSeesAnAllocationAndReset touches 64 MiB and expects the peak to include it; after
// a Reset (where the system supports one) and freeing it, the peak is back below it.
func TestPeakSeesAnAllocationAndReset(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the reset is Linux-only (/proc/self/clear_refs)")
	}
	const n = 64 << 20
	before, ok := Peak()
	if !ok {
		t.Fatal("Peak: no figure on Linux")
	}
	sink = make([]byte, n)
	for i := 0; i < n; i += 4096 {
		sink[i] = 1
	}
	during, _ := Peak()
	if during < before+n/2 || during < n {
		t.Fatalf("peak %d after touching %d bytes (before %d)", during, n, before)
	}
	sink = nil
	runtime.GC()
	debug.FreeOSMemory()
	if !Reset() {
		t.Skip("/proc/self/clear_refs not writable here")
	}
	after, _ := Peak()
	if after >= during {
		t.Fatalf("peak %d after Reset, not below %d", after, during)
	}
}
