package salesforce

import (
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// A minimal single-pass JSON scanner for query responses: it walks the envelope and each
// record once, handing out byte spans of the page (no copies, no maps), which is what
// lets pages decode straight into Arrow builders at loopback speed. It validates as much
// as decoding needs and never panics on malformed input.

type jsonType int

const (
	jsonInvalid jsonType = iota
	jsonString
	jsonNumber
	jsonBool
	jsonNull
	jsonObject
	jsonArray
)

func (t jsonType) String() string {
	return [...]string{"invalid", "string", "number", "boolean", "null", "object", "array"}[t]
}

type scanner struct {
	b   []byte
	i   int
	err error
}

func (s *scanner) fail(format string, args ...any) {
	if s.err == nil {
		s.err = fmt.Errorf("malformed JSON at byte %d: %s", s.i, fmt.Sprintf(format, args...))
	}
	s.i = len(s.b)
}

// abort stops the scan with err (unless an error is already recorded).
func (s *scanner) abort(err error) {
	if s.err == nil {
		s.err = err
	}
	s.i = len(s.b)
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, 0 at the end.
func (s *scanner) peek() byte {
	s.ws()
	if s.i >= len(s.b) {
		return 0
	}
	return s.b[s.i]
}

func (s *scanner) expect(c byte) bool {
	if s.peek() != c {
		s.fail("want %q", c)
		return false
	}
	s.i++
	return true
}

// str reads a string at s.i (which must be '"'): its raw bytes without quotes and
// whether they contain escapes.
func (s *scanner) str() (raw []byte, esc bool) {
	if s.peek() != '"' {
		s.fail("want a string")
		return nil, false
	}
	start := s.i + 1
	for j := start; j < len(s.b); j++ {
		switch s.b[j] {
		case '"':
			s.i = j + 1
			return s.b[start:j], esc
		case '\\':
			esc = true
			j++
		}
	}
	s.fail("unterminated string")
	return nil, false
}

// value reads any value: its type and span (strings without quotes; objects and arrays
// whole).
func (s *scanner) value() (jsonType, []byte, bool) {
	switch c := s.peek(); {
	case c == '"':
		raw, esc := s.str()
		return jsonString, raw, esc
	case c == '{' || c == '[':
		start := s.i
		s.skipBlock()
		if c == '{' {
			return jsonObject, s.b[start:s.i], false
		}
		return jsonArray, s.b[start:s.i], false
	case c == 't' || c == 'f' || c == 'n':
		for _, lit := range []string{"true", "false", "null"} {
			if len(s.b)-s.i >= len(lit) && string(s.b[s.i:s.i+len(lit)]) == lit {
				raw := s.b[s.i : s.i+len(lit)]
				s.i += len(lit)
				if lit == "null" {
					return jsonNull, raw, false
				}
				return jsonBool, raw, false
			}
		}
	case c == '-' || (c >= '0' && c <= '9'):
		start := s.i
		for s.i < len(s.b) {
			c := s.b[s.i]
			if (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' {
				s.i++
				continue
			}
			break
		}
		return jsonNumber, s.b[start:s.i], false
	}
	s.fail("want a value")
	return jsonInvalid, nil, false
}

// skipBlock skips an object or array, minding strings.
func (s *scanner) skipBlock() {
	depth := 0
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				s.i++
				return
			}
		case '"':
			if _, _ = s.str(); s.err != nil {
				return
			}
			continue
		}
		s.i++
	}
	s.fail("unterminated object or array")
}

// object calls member for each key of the object at s.i; member must consume the value.
func (s *scanner) object(member func(key []byte)) {
	if !s.expect('{') {
		return
	}
	if s.peek() == '}' {
		s.i++
		return
	}
	for s.err == nil {
		key, esc := s.str()
		if esc {
			key = unescape(key, nil)
		}
		if !s.expect(':') {
			return
		}
		member(key)
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return
		default:
			s.fail("want , or }")
		}
	}
}

// array calls elem for each element of the array at s.i; elem must consume it.
func (s *scanner) array(elem func()) {
	if !s.expect('[') {
		return
	}
	if s.peek() == ']' {
		s.i++
		return
	}
	for s.err == nil {
		elem()
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			return
		default:
			s.fail("want , or ]")
		}
	}
}

var errBadEscape = errors.New("bad escape")

// unescape decodes the escapes of a JSON string body into dst (reused when large
// enough). Malformed escapes are kept as written.
func unescape(raw, dst []byte) []byte {
	dst = dst[:0]
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' || i+1 >= len(raw) {
			dst = append(dst, c)
			continue
		}
		i++
		switch raw[i] {
		case '"', '\\', '/':
			dst = append(dst, raw[i])
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, n, err := hexRune(raw[i+1:])
			if err != nil {
				dst = append(dst, '\\', 'u')
				continue
			}
			i += n
			if utf16.IsSurrogate(r) {
				if len(raw) > i+2 && raw[i+1] == '\\' && raw[i+2] == 'u' {
					if r2, n2, err := hexRune(raw[i+3:]); err == nil {
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							r = dec
							i += 2 + n2
						}
					}
				}
			}
			dst = utf8.AppendRune(dst, r)
		default:
			dst = append(dst, '\\', raw[i])
		}
	}
	return dst
}

func hexRune(b []byte) (rune, int, error) {
	if len(b) < 4 {
		return 0, 0, errBadEscape
	}
	var r rune
	for _, c := range b[:4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, 0, errBadEscape
		}
	}
	return r, 4, nil
}
