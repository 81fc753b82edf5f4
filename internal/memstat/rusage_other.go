//go:build !unix

package memstat

// rusageMaxRSS has no portable source outside Unix; the caller logs no peak.
func rusageMaxRSS() (int64, bool) { return 0, false }
