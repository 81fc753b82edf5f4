package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
)

// profiles holds the --cpuprofile and --memprofile flags: where a command writes Go's pprof
// profiles, for finding bottlenecks ('go tool pprof bin/revcast FILE'; see bench/README.md).
type profiles struct {
	cpuPath, memPath string
	cpu              *os.File
}

// start begins CPU profiling when asked.
func (p *profiles) start() error {
	if p.cpuPath == "" {
		return nil
	}
	f, err := os.Create(p.cpuPath)
	if err != nil {
		return &usageError{fmt.Errorf("--cpuprofile: %w", err)}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return fmt.Errorf("--cpuprofile: %w", err)
	}
	p.cpu = f
	return nil
}

// stop ends CPU profiling and writes the heap profile (allocations since the start, and
// what is live after a GC) when asked. Errors go to the returned error; the command's own
// result is not changed by them.
func (p *profiles) stop() error {
	var first error
	if p.cpu != nil {
		pprof.StopCPUProfile()
		if err := p.cpu.Close(); err != nil {
			first = fmt.Errorf("--cpuprofile: %w", err)
		}
		p.cpu = nil
	}
	if p.memPath != "" {
		f, err := os.Create(p.memPath)
		if err != nil {
			return fmt.Errorf("--memprofile: %w", err)
		}
		defer f.Close()
		runtime.GC()
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil && first == nil {
			first = fmt.Errorf("--memprofile: %w", err)
		}
	}
	return first
}
