// Package extract moves data out of source systems into the lake.
//
// Every connector is a Source registered under a type name (the Telegraf / database/sql
// pattern). A Source lists its Streams; reading a stream from a saved cursor yields Arrow
// record batches, each with the cursor that becomes valid once that batch is durably landed.
// The Runner lands batches as Parquet under
//
//	<data_dir>/lake/<source>/<stream>/dt=YYYY-MM-DD/<run-id>-<seq>.parquet
//
// and saves the cursor only after the file is renamed into place, so a crash at any point
// followed by a re-run loses nothing and lands nothing twice.
//
// Connectors live in subpackages (extract/files, extract/salesforce, ...) and register
// themselves from init; cmd/revcast imports them for their side effect.
package extract

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
)

// Source is one configured system revcast extracts from. The value returned by a Factory is
// also the connector's configuration: the config loader decodes the source's YAML section
// into it (field tags `yaml:"..."`), then calls Init.
type Source interface {
	// Init validates the configuration and prepares the source. It must not touch the
	// network or the file system beyond checking that configured paths exist.
	Init() error
	// Streams lists what the source can read. On an unconfigured Source (no Init) it
	// must list, without touching the network, every stream the connector can land: the
	// warehouse creates those raw tables empty so every staging model compiles.
	Streams(ctx context.Context) ([]Stream, error)
	// Read opens stream for reading after cursor (nil: from the beginning, or a full
	// refresh). The Reader's batches carry the cursor to save after each is landed.
	Read(ctx context.Context, stream Stream, cursor json.RawMessage) (Reader, error)
}

// Stream is one object or table of a source: Opportunity, A_SalesOrder, opportunities.csv.
type Stream struct {
	Name   string        // lake folder name and raw table suffix, lower_snake_case
	Schema *arrow.Schema // columns as landed; connectors may add columns (schema drift)
	Key    []string      // columns that identify a record in the source
}

// Batch is a unit of landing: records, rows rejected while reading them, and the cursor that
// is valid once Record is landed.
//
// Cursor rules the Runner relies on: a batch whose Cursor is nil or byte-equal to the
// previous batch's does not advance the cursor, and its rows are committed only together
// with a later batch that does. So a unit that cannot be resumed half-way (a file, a page
// range) emits its new cursor on its last batch only; earlier batches carry the previous
// cursor (or nil). The last batch before io.EOF must carry the cursor that covers every
// row returned. The Runner releases Record after landing it.
type Batch struct {
	Record  arrow.RecordBatch // may be nil when a batch only advances the cursor or carries rejects
	Rejects []Reject
	Cursor  json.RawMessage
	// Deleted lists keys of records deleted in the source since the previous cursor
	// (Salesforce IsDeleted, Dynamics removed entities); landed as a tombstone stream.
	Deleted []string
}

// Reject is a source row that could not be read. Line is 1-based in the source file (or
// the record's position in the page for API sources).
type Reject struct {
	Line   int64
	Field  string
	Reason string
	Raw    string
}

// Reader yields batches until it returns io.EOF. The Runner calls Next from a goroutine
// of its own (reading one batch ahead of landing), never concurrently, and Close after
// the last Next has returned.
type Reader interface {
	Next(ctx context.Context) (Batch, error)
	Close() error
}

// Factory returns a new, unconfigured Source with its defaults set.
type Factory func() Source

var (
	registryMu sync.RWMutex
	registry   = map[string]Factory{}
)

// Register makes a connector available under typeName. It panics if called twice with
// the same name or with a nil factory, like database/sql.Register.
func Register(typeName string, f Factory) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if f == nil {
		panic("extract: Register factory is nil")
	}
	if _, dup := registry[typeName]; dup {
		panic("extract: Register called twice for " + typeName)
	}
	registry[typeName] = f
}

// New returns a new Source of the registered type typeName.
func New(typeName string) (Source, error) {
	registryMu.RLock()
	f, ok := registry[typeName]
	registryMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("unknown source type %q (known: %v)", typeName, Types())
	}
	return f(), nil
}

// Types lists the registered connector type names, sorted.
func Types() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
