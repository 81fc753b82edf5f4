package extract_test

import (
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/revcast/revcast/extract"
)

func TestParser_ParseDecimal(t *testing.T) {
	dot := extract.Parser{}
	comma := extract.Parser{DecimalSeparator: ','}
	euro := extract.Parser{DecimalSeparator: ',', ThousandsSeparator: '.'}
	us := extract.Parser{ThousandsSeparator: ','}
	tests := []struct {
		name    string
		p       extract.Parser
		in      string
		want    string // decimal(18,2) text; "" when an error is expected
		wantErr string
	}{
		{"plain", dot, "1200.00", "1200.00", ""},
		{"no decimals", dot, "1200", "1200.00", ""},
		{"one decimal", dot, "12.5", "12.50", ""},
		{"negative", dot, "-350.50", "-350.50", ""},
		{"plus sign", dot, "+0.01", "0.01", ""},
		{"leading dot", dot, ".5", "0.50", ""},
		{"trailing dot", dot, "12.", "12.00", ""},
		{"spaces trimmed", dot, "  7.25 ", "7.25", ""},
		{"extra zero decimals are exact", dot, "12.500", "12.50", ""},
		{"three decimals rejected, not rounded", dot, "12.345", "", "more than 2 decimal places"},
		{"comma separator", comma, "1234,56", "1234.56", ""},
		{"comma negative", comma, "-0,5", "-0.50", ""},
		{"comma rejects dot", comma, "12.50", "", "not a number"},
		{"comma three decimals", comma, "12,345", "", "more than 2 decimal places"},
		{"european thousands", euro, "1.234.567,89", "1234567.89", ""},
		{"us thousands", us, "1,234,567.89", "1234567.89", ""},
		{"thousands not configured", dot, "1,234.00", "", "not a number"},
		{"letters", dot, "12,x", "", "not a number"},
		{"exponent", dot, "1e5", "", "not a number"},
		{"currency symbol", dot, "$12", "", "not a number"},
		{"lone sign", dot, "-", "", "not a number"},
		{"16 integer digits fit", dot, "9999999999999999.99", "9999999999999999.99", ""},
		{"17 integer digits overflow", dot, "10000000000000000", "", "too large"},
		{"leading zeros do not count", dot, "000000000000000000012.30", "12.30", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.p.ParseDecimal(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseDecimal(%q) = %s, %v; want error containing %q", tt.in, got.ToString(2), err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseDecimal(%q): %v", tt.in, err)
			}
			if s := got.ToString(2); s != tt.want {
				t.Errorf("ParseDecimal(%q) = %s, want %s", tt.in, s, tt.want)
			}
		})
	}
}

func TestParser_ParseDate(t *testing.T) {
	iso := extract.Parser{}
	eu := extract.Parser{DateLayouts: []string{"02/01/2006"}}
	two := extract.Parser{DateLayouts: []string{"02/01/2006", extract.ISODate}}
	tests := []struct {
		name string
		p    extract.Parser
		in   string
		want string // YYYY-MM-DD, "" for an error
	}{
		{"iso", iso, "2026-03-31", "2026-03-31"},
		{"leap day", iso, "2024-02-29", "2024-02-29"},
		{"not a leap year", iso, "2023-02-29", ""},
		{"day 30 of february", iso, "2026-02-30", ""},
		{"month 13", iso, "2026-13-01", ""},
		{"before 1970", iso, "1969-12-31", "1969-12-31"},
		{"year 1600", iso, "1600-03-01", "1600-03-01"},
		{"european layout", eu, "31/03/2026", "2026-03-31"},
		{"european layout rejects iso", eu, "2026-03-31", ""},
		{"second layout", two, "2026-03-31", "2026-03-31"},
		{"garbage", iso, "soon", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.p.ParseDate(tt.in)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("ParseDate(%q) = %s, want an error", tt.in, got.FormattedString())
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseDate(%q): %v", tt.in, err)
			}
			if s := got.FormattedString(); s != tt.want {
				t.Errorf("ParseDate(%q) = %s, want %s", tt.in, s, tt.want)
			}
		})
	}
}

func TestParser_ParseTimestamp(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	utc := extract.Parser{}
	tests := []struct {
		name string
		p    extract.Parser
		in   string
		want time.Time // zero for an error
	}{
		{"rfc3339", utc, "2024-05-20T20:49:32Z", time.Date(2024, 5, 20, 20, 49, 32, 0, time.UTC)},
		{"rfc3339 offset and micros", utc, "2024-05-20T22:49:32.123456+02:00", time.Date(2024, 5, 20, 20, 49, 32, 123456000, time.UTC)},
		{"salesforce", utc, "2024-05-20T20:49:32.000+0000", time.Date(2024, 5, 20, 20, 49, 32, 0, time.UTC)},
		{"odata v2", utc, "/Date(1716238172000)/", time.Date(2024, 5, 20, 20, 49, 32, 0, time.UTC)},
		{"zone-less in UTC", utc, "2024-05-20 20:49:32", time.Date(2024, 5, 20, 20, 49, 32, 0, time.UTC)},
		{"zone-less in Berlin", extract.Parser{Location: berlin}, "2024-05-20 22:49:32", time.Date(2024, 5, 20, 20, 49, 32, 0, time.UTC)},
		{"custom layout", extract.Parser{TimestampLayouts: []string{"02.01.2006 15:04"}}, "20.05.2024 20:49", time.Date(2024, 5, 20, 20, 49, 0, 0, time.UTC)},
		{"date only is midnight", utc, "2024-05-20", time.Date(2024, 5, 20, 0, 0, 0, 0, time.UTC)},
		{"garbage", utc, "yesterday", time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.p.ParseTimestamp(tt.in)
			if tt.want.IsZero() {
				if err == nil {
					t.Fatalf("ParseTimestamp(%q) = %v, want an error", tt.in, got.ToTime(arrow.Microsecond))
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseTimestamp(%q): %v", tt.in, err)
			}
			if g := got.ToTime(arrow.Microsecond); !g.Equal(tt.want) {
				t.Errorf("ParseTimestamp(%q) = %v, want %v", tt.in, g, tt.want)
			}
		})
	}
}

func TestParseBool(t *testing.T) {
	for in, want := range map[string]bool{"true": true, "TRUE": true, "T": true, "1": true, "yes": true, "Y": true,
		"false": false, "F": false, "0": false, "No": false, " n ": false} {
		got, err := extract.ParseBool(in)
		if err != nil || got != want {
			t.Errorf("ParseBool(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "2", "ja", "truthy"} {
		if _, err := extract.ParseBool(in); err == nil {
			t.Errorf("ParseBool(%q): want an error", in)
		}
	}
}

func TestParser_ParseInt64AndFloat64(t *testing.T) {
	p := extract.Parser{DecimalSeparator: ','}
	if v, err := p.ParseInt64("12,00"); err != nil || v != 12 {
		t.Errorf("ParseInt64(12,00) = %d, %v", v, err)
	}
	if _, err := p.ParseInt64("12,5"); err == nil {
		t.Error("ParseInt64(12,5): want an error")
	}
	if v, err := p.ParseFloat64("0,25"); err != nil || v != 0.25 {
		t.Errorf("ParseFloat64(0,25) = %v, %v", v, err)
	}
	if _, err := p.ParseFloat64("NaN"); err == nil {
		t.Error("ParseFloat64(NaN): want an error")
	}
}
