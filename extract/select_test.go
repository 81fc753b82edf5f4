package extract_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/revcast/revcast/extract"
)

func TestSelectNamed(t *testing.T) {
	known := []string{"Account", "Opportunity"}
	lookup := func(n string) (string, bool) { // case-insensitive, canonical spelling out
		for _, k := range known {
			if strings.EqualFold(k, n) {
				return k, true
			}
		}
		return "", false
	}
	tests := []struct {
		names   []string
		want    []string
		wantErr string
	}{
		{nil, []string{"Opportunity"}, ""},
		{[]string{"account", "Opportunity"}, []string{"Account", "Opportunity"}, ""},
		{[]string{"Lead"}, nil, `objects: unknown object "Lead" (known: Account, Opportunity)`},
		{[]string{"Account", "ACCOUNT"}, nil, "objects: Account is listed twice"},
	}
	for _, tt := range tests {
		got, err := extract.SelectNamed("objects", "object", tt.names, []string{"Opportunity"}, known, lookup, func(s string) string { return s })
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("%v: err %v, want %q", tt.names, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("%v: %v, %v; want %v", tt.names, got, err, tt.want)
		}
	}
}
