package extract

import (
	"fmt"
	"strings"
)

// SelectNamed resolves the names a source's configuration lists under key (e.g. "objects"),
// or defaults when it lists none, to their definitions through lookup, in order. An unknown
// name is an error naming the known ones; a name listed twice (by id, its canonical spelling)
// is an error too. noun names one entry in messages ("object", "entity set", "stream").
func SelectNamed[T any](key, noun string, names, defaults, known []string, lookup func(string) (T, bool), id func(T) string) ([]T, error) {
	if len(names) == 0 {
		names = defaults
	}
	out := make([]T, 0, len(names))
	seen := map[string]bool{}
	for _, n := range names {
		def, ok := lookup(n)
		if !ok {
			return nil, fmt.Errorf("%s: unknown %s %q (known: %s)", key, noun, n, strings.Join(known, ", "))
		}
		if seen[id(def)] {
			return nil, fmt.Errorf("%s: %s is listed twice", key, id(def))
		}
		seen[id(def)] = true
		out = append(out, def)
	}
	return out, nil
}
