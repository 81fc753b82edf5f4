package writeback

import (
	"context"
	"database/sql"
)

// MaxBatch is the most records one write request carries (Salesforce sObject Collections'
// limit; the other CRMs' batch APIs take at most as many).
const MaxBatch = 200

// Target is a CRM that write-back writes to. Salesforce, HubSpot and Dynamics each map
// revcast's results to their own objects and fields, and read and write them over their
// own API; the Writer does the rest (allow-list, diff, approvals, retries, logs).
type Target interface {
	// Name is the CRM's source name in the config (writeback.target).
	Name() string
	// Plan maps the inputs of one workflow to records of this CRM, and notes what it
	// left out and why.
	Plan(workflow string, in *Inputs) (changes []Change, notes []string)
	// Current reads what the CRM holds now for the records of object addressed by
	// keyField with the given keys: key → record, absent when there is none. It only
	// reads.
	Current(ctx context.Context, object, keyField string, keys, fields []string) (map[string]Current, error)
	// Write creates or updates records of object (at most MaxBatch): each record is
	// field → value and carries keyField. Results come back in record order; the error
	// is for a request that failed as a whole.
	Write(ctx context.Context, object, keyField string, records []map[string]any) ([]Result, error)
}

// CopyReader is a Target whose records the warehouse also holds, as its extraction landed
// them. The Writer diffs each planned change against that copy first and reads from the CRM
// only the records whose copy does not already hold the wanted values: on a nightly run
// most of revcast's deal fields are unchanged, and reading every scored deal back cost
// one query per 200 records (API calls a real org counts against its daily limit).
// A copy is as fresh as the last extraction: a field a person overwrote since then is
// set back by the first run after the next extraction.
type CopyReader interface {
	// Copy calls fn with the key of each record of object among keys that the warehouse
	// holds (addressed by keyField) and what its latest landed version holds for fields. It calls fn for
	// no record when it cannot vouch for these fields of object (not landed, or not
	// addressed by its id); ok says whether it could. fn must not keep cur.Fields after it
	// returns (the map is reused for the next record).
	Copy(ctx context.Context, db *sql.DB, object, keyField string, keys, fields []string, fn func(key string, cur Current)) (ok bool, err error)
}

// Current is a record as the CRM holds it.
type Current struct {
	ID     string
	Fields map[string]any
}

// Result is the outcome of writing one record.
type Result struct {
	OK      bool
	ID      string
	Created bool
	Code    string // the CRM's error code, like UNABLE_TO_LOCK_ROW
	Message string
	// Transient errors (a locked row, a timeout) are retried within the run; the others
	// are recorded and planned again by the next run.
	Transient bool
}
