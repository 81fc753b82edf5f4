//go:build !unix

package extract

// lockDir is a no-op where flock is unavailable; the scheduler's data-dir lock still
// prevents two pipelines from running at once.
func lockDir(dir string) (unlock func(), err error) { return func() {}, nil }
