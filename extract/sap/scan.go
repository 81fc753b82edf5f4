package sap

import (
	"bytes"
	"fmt"
)

// scanner walks one JSON document forward, once. It validates what it passes over (strings
// closed, literals spelled out, brackets matched, commas and colons in place) without
// building values: strings come back as raw views into the document, to be unescaped
// only when they hold a backslash. Escape sequences themselves are checked by whoever
// unescapes the string.
type scanner struct {
	b []byte
	i int
}

// syntaxError is a response body that is not well-formed JSON: what was expected and the
// byte offset where it was not found.
type syntaxError struct {
	offset int
	msg    string
}

func (e *syntaxError) Error() string {
	return fmt.Sprintf("malformed JSON at byte %d: %s", e.offset, e.msg)
}

func (s *scanner) fail(msg string) error { return &syntaxError{offset: s.i, msg: msg} }

// maxDepth bounds the nesting of skipped values.
const maxDepth = 512

// ws skips whitespace and returns the next byte (0 at the end).
func (s *scanner) ws() byte {
	for s.i < len(s.b) {
		switch c := s.b[s.i]; c {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return c
		}
	}
	return 0
}

// expect consumes c after optional whitespace.
func (s *scanner) expect(c byte, what string) error {
	if s.ws() != c {
		return s.fail("want " + what)
	}
	s.i++
	return nil
}

// str reads the string starting at the current byte ('"'): its raw content (still
// escaped) and whether it holds a backslash.
func (s *scanner) str() (raw []byte, esc bool, err error) {
	start := s.i + 1
	i := start
	for {
		j := bytes.IndexByte(s.b[i:], '"')
		if j < 0 {
			return nil, false, s.fail("unterminated string")
		}
		i += j
		k := i
		for k > start && s.b[k-1] == '\\' {
			k--
		}
		if (i-k)%2 == 0 {
			break // not escaped
		}
		esc = true
		i++
	}
	raw = s.b[start:i]
	if !esc {
		esc = bytes.IndexByte(raw, '\\') >= 0
	}
	s.i = i + 1
	return raw, esc, nil
}

// objectStart consumes '{' and reports whether the object has a first member (false for
// {}).
func (s *scanner) objectStart() (bool, error) {
	if err := s.expect('{', "'{'"); err != nil {
		return false, err
	}
	if s.ws() == '}' {
		s.i++
		return false, nil
	}
	return true, nil
}

// key reads a member name and its colon; the name is raw (unescape it if esc).
func (s *scanner) key() (name []byte, esc bool, err error) {
	if s.ws() != '"' {
		return nil, false, s.fail("want a member name")
	}
	if name, esc, err = s.str(); err != nil {
		return nil, false, err
	}
	if err := s.expect(':', "':' after a member name"); err != nil {
		return nil, false, err
	}
	return name, esc, nil
}

// more consumes the ',' or the closing byte after a member or element and reports
// whether another follows.
func (s *scanner) more(closing byte) (bool, error) {
	switch s.ws() {
	case ',':
		s.i++
		return true, nil
	case closing:
		s.i++
		return false, nil
	}
	return false, s.fail("want ',' or '" + string(closing) + "'")
}

// arrayStart consumes '[' and reports whether the array has a first element.
func (s *scanner) arrayStart() (bool, error) {
	if err := s.expect('[', "'['"); err != nil {
		return false, err
	}
	if s.ws() == ']' {
		s.i++
		return false, nil
	}
	return true, nil
}

// kind is the JSON type of the value at the current byte, after whitespace: one of
// '"', '{', '[', 'n' (number), 't', 'f', 'u' (null), or 0 when there is no value.
func (s *scanner) kind() byte {
	switch c := s.ws(); c {
	case '"', '{', '[':
		return c
	case 't':
		return 't'
	case 'f':
		return 'f'
	case 'n':
		return 'u'
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return 'n'
	}
	return 0
}

// literal consumes true, false or null.
func (s *scanner) literal(word string) error {
	if !bytes.HasPrefix(s.b[s.i:], []byte(word)) {
		return s.fail("want a value")
	}
	s.i += len(word)
	return nil
}

// number consumes a number (JSON's grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?)
// and returns its text.
func (s *scanner) number() ([]byte, error) {
	b, start := s.b, s.i
	i := start
	digits := func() bool {
		j := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > j
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		return nil, s.fail("malformed number")
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return nil, s.fail("malformed number")
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return nil, s.fail("malformed number")
		}
	}
	s.i = i
	return b[start:i], nil
}

// skip passes over one value of any type.
func (s *scanner) skip() error { return s.skipDepth(0) }

func (s *scanner) skipDepth(depth int) error {
	if depth > maxDepth {
		return s.fail("nested too deeply")
	}
	switch s.kind() {
	case '"':
		_, _, err := s.str()
		return err
	case 'n':
		_, err := s.number()
		return err
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'u':
		return s.literal("null")
	case '{':
		more, err := s.objectStart()
		for more && err == nil {
			if _, _, err = s.key(); err != nil {
				return err
			}
			if err = s.skipDepth(depth + 1); err != nil {
				return err
			}
			more, err = s.more('}')
		}
		return err
	case '[':
		more, err := s.arrayStart()
		for more && err == nil {
			if err = s.skipDepth(depth + 1); err != nil {
				return err
			}
			more, err = s.more(']')
		}
		return err
	}
	if s.i >= len(s.b) {
		return s.fail("unexpected end of input")
	}
	return s.fail("want a value")
}
