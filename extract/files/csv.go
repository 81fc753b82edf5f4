package files

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/revcast/revcast/extract"
)

// csvFile streams one CSV file: encoding/csv with a reused record, hashing the bytes as
// they are read.
type csvFile struct {
	t        task
	s        *streamSettings
	batch    int
	f        *os.File
	hc       *countingHash
	br       *bufio.Reader
	cr       *csv.Reader
	lay      *layout
	rb       *extract.RowBuilder
	rows     int64
	rejected int64
	eof      bool
	raw      bytes.Buffer
	rawW     *csv.Writer
}

func openCSV(t task, s *streamSettings, batch int) (*csvFile, error) {
	f, err := os.Open(t.abs)
	if err != nil {
		return nil, fmt.Errorf("files: %s: %w", t.rel, err)
	}
	c := &csvFile{t: t, s: s, batch: batch, f: f, hc: &countingHash{h: sha256.New()}}
	c.br = bufio.NewReaderSize(io.TeeReader(f, c.hc), 256<<10)
	c.cr = csv.NewReader(c.br)
	c.cr.Comma = s.delim
	if strings.HasSuffix(strings.ToLower(t.rel), ".tsv") && s.delim == ',' {
		c.cr.Comma = '\t'
	}
	c.cr.ReuseRecord = true
	c.cr.FieldsPerRecord = -1
	header, err := c.cr.Read()
	if err == io.EOF {
		c.eof = true // an empty file lands nothing
		return c, nil
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("files: %s: header: %w", t.rel, err)
	}
	header = slices.Clone(header)
	header[0] = strings.TrimPrefix(header[0], "\ufeff") // Excel's UTF-8 byte order mark
	if c.lay, err = newLayout(s, t.rel, header); err != nil {
		f.Close()
		return nil, err
	}
	c.rb = extract.NewRowBuilder(nil, s.table.Name, c.lay.cols, s.parser)
	c.rb.Reserve(batch)
	c.rawW = csv.NewWriter(&c.raw)
	c.rawW.Comma = c.cr.Comma
	return c, nil
}

func (c *csvFile) read(ctx context.Context) (arrow.RecordBatch, []extract.Reject, bool, error) {
	if c.eof {
		return nil, nil, true, nil
	}
	var rejects []extract.Reject
	rb, lay := c.rb, c.lay
	for rb.Len()+len(rejects) < c.batch {
		rec, err := c.cr.Read()
		if err == io.EOF {
			c.eof = true
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				rejects = append(rejects, extract.Reject{Line: int64(pe.StartLine), Reason: "malformed CSV: " + pe.Err.Error()})
				continue
			}
			return nil, nil, false, fmt.Errorf("files: %s: %w", c.t.rel, err)
		}
		line, _ := c.cr.FieldPos(0)
		if len(rec) != len(lay.srcIdx) {
			rejects = append(rejects, extract.Reject{Line: int64(line),
				Reason: fmt.Sprintf("row has %d fields, the header has %d", len(rec), len(lay.srcIdx)), Raw: c.rawRow(rec)})
			continue
		}
		for i, v := range rec {
			if j := lay.srcIdx[i]; j >= 0 {
				rb.SetString(j, v)
			}
		}
		lay.fill(rb, c.s, c.t.mtime)
		if err := rb.EndRow(); err != nil {
			rejects = append(rejects, lay.reject(rb, int64(line), err, c.rawRow(rec)))
		}
	}
	if c.eof {
		if _, err := io.Copy(io.Discard, c.br); err != nil { // hash every byte
			return nil, nil, false, fmt.Errorf("files: %s: %w", c.t.rel, err)
		}
	}
	c.rejected += int64(len(rejects))
	var out arrow.RecordBatch
	if rb.Len() > 0 {
		c.rows += int64(rb.Len())
		out = rb.NewRecord()
	}
	return out, rejects, c.eof, nil
}

// rawRow re-encodes a rejected row as one CSV line.
func (c *csvFile) rawRow(rec []string) string {
	c.raw.Reset()
	c.rawW.Write(rec)
	c.rawW.Flush()
	return strings.TrimRight(c.raw.String(), "\r\n")
}

func (c *csvFile) mark() fileMark {
	return fileMark{Size: c.hc.n, ModTime: c.t.mtime, SHA256: hex.EncodeToString(c.hc.h.Sum(nil)),
		Rows: c.rows, Rejected: c.rejected}
}

func (c *csvFile) close() error {
	if c.rb != nil {
		c.rb.Release()
		c.rb = nil
	}
	if c.f == nil {
		return nil
	}
	err := c.f.Close()
	c.f = nil
	return err
}
