//go:build !unix

package lockfile

import "errors"

// ErrLocked is returned (wrapped) when another process holds the lock.
var ErrLocked = errors.New("locked by another process")

// Lock is a no-op where flock is unavailable.
func Lock(path, what string) (unlock func(), err error) { return func() {}, nil }
