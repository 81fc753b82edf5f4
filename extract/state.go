package extract

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/revcast/revcast"
)

// State is what the Runner remembers about one stream between runs, saved as
// <data_dir>/state/<source>/<stream>.json. Seq and DeletedSeq are the highest committed
// part numbers of the stream and of its tombstone stream (<stream>__deleted); a part file
// with a higher number is an orphan of an interrupted run and is deleted on the next start.
type State struct {
	Cursor     json.RawMessage `json:"cursor,omitempty"` // the connector's cursor, opaque to the Runner
	Seq        int64           `json:"seq"`
	DeletedSeq int64           `json:"deleted_seq"`
	RunID      revcast.RunID   `json:"run_id,omitempty"` // the run that saved it
	UpdatedAt  time.Time       `json:"updated_at"`
}

// StatePath returns the file that holds the state of source's stream under dataDir.
func StatePath(dataDir, source, stream string) string {
	return filepath.Join(dataDir, "state", source, stream+".json")
}

// LoadState reads the saved state of source's stream; a stream never extracted has the
// zero State.
func LoadState(dataDir, source, stream string) (State, error) {
	var st State
	p := StatePath(dataDir, source, stream)
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("read state: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, revcast.Errorf(revcast.EINVALID, "state file %s is corrupt (%v); delete it to re-extract %s/%s from scratch", p, err, source, stream)
	}
	// The file is indented for people; the cursor goes back to connectors compact, as they
	// write it, so an unchanged cursor compares equal and does not rewrite the state.
	if len(st.Cursor) > 0 {
		var c bytes.Buffer
		if err := json.Compact(&c, st.Cursor); err == nil {
			st.Cursor = c.Bytes()
		}
	}
	return st, nil
}

// saveState writes st durably: temp file, fsync, rename, fsync of the directory.
func saveState(path, stream string, st State, trace func(TraceEvent)) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	return writeFileAtomic(path, append(b, '\n'), func() {
		if trace != nil {
			trace(TraceEvent{Kind: TraceStateTempWritten, Stream: stream, Path: path, Seq: st.Seq})
		}
	})
}

// tmpSuffix marks every file the Runner writes before renaming it into place.
const tmpSuffix = ".tmp"

// writeFileAtomic replaces path with data so that a crash leaves either the old or the
// new content. beforeRename, if not nil, runs after the temp file is durable.
func writeFileAtomic(path string, data []byte, beforeRename func()) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*"+tmpSuffix)
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if beforeRename != nil {
		beforeRename()
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(dir)
}

// syncDir makes a rename, create or delete in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil && isUnsupportedSync(err) {
		return nil // Windows and some file systems cannot fsync a directory
	}
	return err
}

func isUnsupportedSync(err error) bool {
	var pe *fs.PathError
	return errors.As(err, &pe) && (errors.Is(err, errors.ErrUnsupported) || strings.Contains(err.Error(), "invalid argument") || strings.Contains(err.Error(), "Access is denied"))
}

// mkdirAllSync creates dir and its missing parents and fsyncs each parent whose entries
// changed, so a new dt= folder survives a power loss together with the files in it.
func mkdirAllSync(dir string) error {
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
		return nil
	}
	var created []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		}
		created = append(created, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, d := range created {
		if err := syncDir(filepath.Dir(d)); err != nil {
			return err
		}
	}
	return nil
}
