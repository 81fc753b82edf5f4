// Package files is the "files" source: CSV and Parquet exports dropped in a folder.
//
// Each stream is a canonical table (revcast.Tables). By default a table's files are
// <table>.csv, <table>.tsv, <table>.parquet, <table>-*.<ext> and <table>/*.<ext> under
// path; a streams entry replaces the pattern and adds a column mapping and per-stream
// formats:
//
//   - name: exports
//     type: files
//     path: ./exports
//     date_format: "2006-01-02"      # Go layout; default ISO
//     decimal_separator: "."
//     streams:
//     opportunities:
//     file: "opps_*.csv"         # glob relative to path
//     columns: {"Opp ID": opportunity_id, "Amt": amount, "Notes": "-"}
//     date_format: "02/01/2006"
//     decimal_separator: ","
//     currency: EUR
//
// A file lands with the canonical schema of its table, in the table's column order,
// followed by the file's unmapped columns as strings (schema drift: a new column lands, a
// missing optional column is null, a missing required column fails the file with an
// error naming it). Source columns map to canonical ones by the columns mapping (source
// name → canonical name, "-" drops the column), else by name (compared after lower-casing
// and turning spaces and punctuation into "_", so "Close Date" is close_date). Extra
// columns keep that normalised name.
//
// Values are converted with extract.Parser (see its documentation for the decimal, date,
// timestamp and boolean rules); a row with a value that does not convert, or without a
// required value, is rejected with its 1-based line (the data row number for Parquet),
// the column and the reason, and the rest of the file lands. currency, when configured,
// fills the currency column of rows that have none (and of files without the column); a
// file without modified_at gets the file's modification time.
//
// Incremental: the cursor lists the files landed with their size, modification time and
// SHA-256. A new file lands; a file whose size or time changed is hashed and lands again
// in full if its content changed (a touch alone lands nothing); files are read in path
// order. A file is the unit the cursor advances by: its batches carry the previous
// cursor and only its last batch the new one, so a run killed mid-file re-reads the whole
// file and the Runner discards the parts it had landed.
package files

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/revcast/revcast"
	"github.com/revcast/revcast/extract"
)

// TypeName is the source type under which the connector registers.
const TypeName = "files"

// DefaultBatchRows is the number of source rows per Arrow record batch.
const DefaultBatchRows = 64 << 10

func init() {
	extract.Register(TypeName, func() extract.Source { return New() })
}

// New returns a Files source with its defaults set.
func New() *Files {
	return &Files{StreamOptions: StreamOptions{DateFormat: extract.ISODate, DecimalSeparator: "."}, BatchRows: DefaultBatchRows}
}

// Files is the files source and its configuration (decoded from YAML, then Init).
type Files struct {
	// Name and Type are the source's entry in the config's sources list; the connector
	// does not use them (the Runner is given the name).
	Name string `yaml:"name"`
	Type string `yaml:"type"`

	Path string `yaml:"path"` // folder holding the exports; required

	StreamOptions `yaml:",inline"` // defaults for every stream

	// BatchRows is the number of source rows per record batch (default 65536).
	BatchRows int `yaml:"batch_rows"`

	// StreamConfigs configures streams by canonical table name (YAML key "streams").
	// Tables not listed still land from files with their default names.
	StreamConfigs map[string]*StreamConfig `yaml:"streams"`

	streams map[string]*streamSettings
}

// StreamOptions are the value formats; set on the source they are the defaults of every
// stream, set on a stream they override them.
type StreamOptions struct {
	DateFormat         string `yaml:"date_format"`         // Go layout, e.g. "02/01/2006"
	TimestampFormat    string `yaml:"timestamp_format"`    // Go layout tried before RFC 3339
	DecimalSeparator   string `yaml:"decimal_separator"`   // "." or ","
	ThousandsSeparator string `yaml:"thousands_separator"` // "", ",", ".", " ", "'" or "_"
	Delimiter          string `yaml:"delimiter"`           // CSV field separator, default ","; "tab" or "\t" for tabs
	Currency           string `yaml:"currency"`            // ISO 4217 code filling an empty currency
	Timezone           string `yaml:"timezone"`            // IANA zone of timestamps without one; default UTC
}

// StreamConfig configures one stream (canonical table).
type StreamConfig struct {
	// File is a glob relative to Path (filepath.Match syntax) replacing the default names.
	File string `yaml:"file"`
	// Columns maps source column names to canonical column names; "-" drops a column.
	Columns map[string]string `yaml:"columns"`

	StreamOptions `yaml:",inline"`
}

// streamSettings is a stream's resolved configuration.
type streamSettings struct {
	table    revcast.Table
	patterns []string
	columns  map[string]string // source name → canonical name or "-"
	parser   extract.Parser
	delim    rune
	currency string
}

// ResolvePaths makes a relative Path relative to base, the folder of the config file, so a
// config works from any working directory.
func (f *Files) ResolvePaths(base string) {
	if f.Path != "" && !filepath.IsAbs(f.Path) {
		f.Path = filepath.Join(base, f.Path)
	}
}

// Init validates the configuration. It checks that Path is a folder and touches nothing
// else.
func (f *Files) Init() error {
	name := f.Name
	if name == "" {
		name = TypeName
	}
	bad := func(format string, args ...any) error {
		return revcast.Errorf(revcast.EINVALID, "files source %q: "+format, append([]any{name}, args...)...)
	}
	if f.Path == "" {
		return bad("path is required (the folder holding the CSV/Parquet exports)")
	}
	fi, err := os.Stat(f.Path)
	if err != nil {
		return bad("path %q: %v", f.Path, err)
	}
	if !fi.IsDir() {
		return bad("path %q is not a folder", f.Path)
	}
	if f.BatchRows == 0 {
		f.BatchRows = DefaultBatchRows
	}
	if f.BatchRows < 0 {
		return bad("batch_rows must be positive, not %d", f.BatchRows)
	}
	f.streams = map[string]*streamSettings{}
	for _, t := range revcast.Tables {
		s, err := resolve(t, nil, f.StreamOptions)
		if err != nil {
			return bad("%v", err)
		}
		f.streams[t.Name] = s
	}
	for _, key := range slices.Sorted(maps.Keys(f.StreamConfigs)) {
		sc := f.StreamConfigs[key]
		t, ok := revcast.LookupTable(key)
		if !ok {
			names := make([]string, len(revcast.Tables))
			for i, t := range revcast.Tables {
				names[i] = t.Name
			}
			return bad("streams.%s: not a canonical table (one of %s)", key, strings.Join(names, ", "))
		}
		if sc == nil {
			sc = &StreamConfig{}
		}
		s, err := resolve(t, sc, f.StreamOptions)
		if err != nil {
			return bad("streams.%s: %v", key, err)
		}
		f.streams[key] = s
	}
	return nil
}

var defaultExts = []string{".csv", ".tsv", ".parquet"}

func resolve(t revcast.Table, sc *StreamConfig, def StreamOptions) (*streamSettings, error) {
	o := def
	s := &streamSettings{table: t, columns: map[string]string{}}
	if sc != nil {
		o = merge(def, sc.StreamOptions)
		if sc.File != "" {
			if _, err := filepath.Match(sc.File, ""); err != nil {
				return nil, fmt.Errorf("file %q: %v", sc.File, err)
			}
			s.patterns = []string{sc.File}
		}
		targets := map[string]string{}
		for src, dst := range sc.Columns {
			if dst == "-" {
				s.columns[src] = dst
				continue
			}
			if _, ok := t.Column(dst); !ok {
				return nil, fmt.Errorf("columns: %q maps to %q, which is not a column of %s", src, dst, t.Name)
			}
			if prev, dup := targets[dst]; dup {
				a, b := min(prev, src), max(prev, src)
				return nil, fmt.Errorf("columns: %q and %q both map to %s", a, b, dst)
			}
			targets[dst] = src
			s.columns[src] = dst
		}
	}
	if s.patterns == nil {
		for _, ext := range defaultExts {
			s.patterns = append(s.patterns, t.Name+ext, t.Name+"-*"+ext, filepath.Join(t.Name, "*"+ext))
		}
	}
	if o.DateFormat != "" {
		s.parser.DateLayouts = []string{o.DateFormat}
	}
	if o.TimestampFormat != "" {
		s.parser.TimestampLayouts = []string{o.TimestampFormat}
	}
	switch o.DecimalSeparator {
	case "", ".":
		s.parser.DecimalSeparator = '.'
	case ",":
		s.parser.DecimalSeparator = ','
	default:
		return nil, fmt.Errorf("decimal_separator %q: use \".\" or \",\"", o.DecimalSeparator)
	}
	switch o.ThousandsSeparator {
	case "":
	case ",", ".", " ", "'", "_":
		s.parser.ThousandsSeparator = o.ThousandsSeparator[0]
		if s.parser.ThousandsSeparator == s.parser.DecimalSeparator {
			return nil, fmt.Errorf("thousands_separator and decimal_separator are both %q", o.ThousandsSeparator)
		}
	default:
		return nil, fmt.Errorf("thousands_separator %q: use \",\", \".\", \" \", \"'\" or \"_\"", o.ThousandsSeparator)
	}
	switch d := o.Delimiter; {
	case d == "":
		s.delim = ','
	case d == "tab" || d == `\t`:
		s.delim = '\t'
	case utf8.RuneCountInString(d) == 1 && d != "\"" && d != "\r" && d != "\n":
		s.delim, _ = utf8.DecodeRuneInString(d)
	default:
		return nil, fmt.Errorf("delimiter %q: use a single character (\",\", \";\", \"|\", \"tab\")", d)
	}
	if o.Currency != "" {
		if !currencyRe.MatchString(o.Currency) {
			return nil, fmt.Errorf("currency %q: use an ISO 4217 code such as EUR", o.Currency)
		}
		s.currency = o.Currency
	}
	if o.Timezone != "" {
		loc, err := time.LoadLocation(o.Timezone)
		if err != nil {
			return nil, fmt.Errorf("timezone %q: %v", o.Timezone, err)
		}
		s.parser.Location = loc
	}
	return s, nil
}

var currencyRe = regexp.MustCompile(`^[A-Z]{3}$`)

func merge(def, o StreamOptions) StreamOptions {
	return StreamOptions{
		DateFormat:         cmp.Or(o.DateFormat, def.DateFormat),
		TimestampFormat:    cmp.Or(o.TimestampFormat, def.TimestampFormat),
		DecimalSeparator:   cmp.Or(o.DecimalSeparator, def.DecimalSeparator),
		ThousandsSeparator: cmp.Or(o.ThousandsSeparator, def.ThousandsSeparator),
		Delimiter:          cmp.Or(o.Delimiter, def.Delimiter),
		Currency:           cmp.Or(o.Currency, def.Currency),
		Timezone:           cmp.Or(o.Timezone, def.Timezone),
	}
}

// Streams lists the canonical tables that have at least one file, plus the configured
// streams.
func (f *Files) Streams(ctx context.Context) ([]extract.Stream, error) {
	if f.streams == nil {
		return nil, fmt.Errorf("files: Init was not called")
	}
	var out []extract.Stream
	for _, t := range revcast.Tables {
		_, configured := f.StreamConfigs[t.Name]
		if !configured {
			files, err := f.list(f.streams[t.Name])
			if err != nil {
				return nil, err
			}
			if len(files) == 0 {
				continue
			}
		}
		out = append(out, extract.Stream{Name: t.Name, Schema: extract.SchemaFor(t), Key: t.Key})
	}
	return out, nil
}

// list returns the stream's files, relative to Path with forward slashes, sorted.
func (f *Files) list(s *streamSettings) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, pat := range s.patterns {
		matches, err := filepath.Glob(filepath.Join(f.Path, pat))
		if err != nil {
			return nil, fmt.Errorf("files: pattern %q: %w", pat, err)
		}
		for _, m := range matches {
			base := filepath.Base(m)
			if strings.HasPrefix(base, ".") || strings.HasPrefix(base, "~$") || strings.HasSuffix(base, ".tmp") {
				continue // hidden, Office lock and partial files
			}
			fi, err := os.Stat(m)
			if err != nil || !fi.Mode().IsRegular() {
				continue
			}
			rel, err := filepath.Rel(f.Path, m)
			if err != nil {
				return nil, err
			}
			rel = filepath.ToSlash(rel)
			if !seen[rel] {
				seen[rel] = true
				out = append(out, rel)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// Read plans which files of stream to land after cursor and returns a reader over them.
func (f *Files) Read(ctx context.Context, stream extract.Stream, cursor json.RawMessage) (extract.Reader, error) {
	if f.streams == nil {
		return nil, fmt.Errorf("files: Init was not called")
	}
	s, ok := f.streams[stream.Name]
	if !ok {
		return nil, fmt.Errorf("files: unknown stream %q", stream.Name)
	}
	prev, err := decodeCursor(cursor)
	if err != nil {
		return nil, err
	}
	rels, err := f.list(s)
	if err != nil {
		return nil, err
	}
	next := cursorState{Files: map[string]fileMark{}}
	var tasks []task
	for _, rel := range rels {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		abs := filepath.Join(f.Path, filepath.FromSlash(rel))
		fi, err := os.Stat(abs)
		if err != nil {
			return nil, fmt.Errorf("files: %s: %w", rel, err)
		}
		t := task{rel: rel, abs: abs, size: fi.Size(), mtime: fi.ModTime()}
		mark, known := prev.Files[rel]
		switch {
		case known && mark.Size == t.size && mark.ModTime.Equal(t.mtime):
			next.Files[rel] = mark // unchanged
			continue
		case known && mark.Size == t.size:
			sum, err := hashFile(abs)
			if err != nil {
				return nil, fmt.Errorf("files: %s: %w", rel, err)
			}
			if sum == mark.SHA256 {
				mark.ModTime = t.mtime // touched, same content: remember the new time only
				next.Files[rel] = mark
				continue
			}
		}
		tasks = append(tasks, t)
	}
	return &reader{f: f, s: s, tasks: tasks, state: next, prev: cursor}, nil
}

// task is one file to land.
type task struct {
	rel   string
	abs   string
	size  int64
	mtime time.Time
}
