// Package revcast holds the domain vocabulary shared by revcast's packages: error kinds,
// run identifiers, as-of dates and the canonical table contract. Nothing here imports a
// subpackage; extract, transform, models and reports all import it.
package revcast

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Error kinds. They decide the process exit code and tell a caller whether retrying or
// fixing input is the way forward (the WTF Dial pattern: one error type with a code).
const (
	EINVALID  = "invalid"  // bad input or configuration; exit code 2
	ENOTFOUND = "notfound" // a named thing does not exist
	EINTERNAL = "internal" // a bug or an unexpected failure; exit code 1
)

// Error is an error with a kind and a message meant for the user.
type Error struct {
	Code    string // one of the E* kinds
	Message string // what went wrong and what to do, for the user
	Err     error  // the underlying cause, if any
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for any other
// non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ForecastRunOrder is the ORDER BY of forecast_runs that puts the current forecast first:
// the latest as-of date, then the latest made. Write-back sends that run and the report
// shows it, so a past-dated 'revcast forecast --as-of' made later does not replace it.
const ForecastRunOrder = "as_of desc, created_at desc, run_id desc"

// RunID identifies one pipeline run. It sorts by start time: "20260527T141503Z-3f9a1c".
type RunID string

// NewRunID returns a run id for a run started at now; the suffix is random so two runs
// started in the same second differ.
func NewRunID(now time.Time) RunID {
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return RunID(now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:]))
}

// DateLayout is the layout of an as-of date and of every date revcast prints.
const DateLayout = "2006-01-02"

// ParseDate parses a YYYY-MM-DD date as midnight UTC.
func ParseDate(s string) (time.Time, error) {
	t, err := time.Parse(DateLayout, s)
	if err != nil {
		return time.Time{}, Errorf(EINVALID, "date %q is not YYYY-MM-DD", s)
	}
	return t, nil
}
