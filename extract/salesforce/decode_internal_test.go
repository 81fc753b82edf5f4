package salesforce

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestParseCents(t *testing.T) {
	tests := []struct {
		in    string
		cents int64
		ok    bool
	}{
		{"15000.0", 1500000, true},
		{"1234.56", 123456, true},
		{"0.05", 5, true},
		{"-12.5", -1250, true},
		{"1.25E7", 1250000000, true}, // Java's Double.toString of 12,500,000
		{"1.0E-4", 0, true},
		{"0.005", 1, true},        // rounded half away from zero
		{"-0.005", -1, true},      // likewise
		{"12.344999", 1234, true}, // a double's rendering of 12.34(5)
		{"9999999999999999.99", 999999999999999999, true},
		{"99999999999999999.99", 0, false}, // beyond decimal(18,2)
		{"1e400", 0, false},
		{"", 0, false},
		{"-", 0, false},
		{"1.2.3", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseCents([]byte(tt.in))
		if got != tt.cents || ok != tt.ok {
			t.Errorf("parseCents(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.cents, tt.ok)
		}
	}
}

func TestParseTimestamp(t *testing.T) {
	const want = 1716238172123000 // 2024-05-20T20:49:32.123Z in microseconds
	for _, in := range []string{"2024-05-20T20:49:32.123+0000", "2024-05-20T20:49:32.123Z", "2024-05-20T22:49:32.123+02:00", "2024-05-20T18:49:32.123-0200"} {
		if got, ok := parseTimestamp([]byte(in)); !ok || got != want {
			t.Errorf("parseTimestamp(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{"2024-05-20", "2024-02-30T00:00:00Z", "2024-05-20T20:49:32", "2024-05-20T25:00:00Z", "2024-05-20T20:49:32.Z"} {
		if _, ok := parseTimestamp([]byte(in)); ok {
			t.Errorf("parseTimestamp(%q) accepted", in)
		}
	}
}

func TestUnescape(t *testing.T) {
	for in, want := range map[string]string{
		`a\"b\\c\/d`:      `a"b\c/d`,
		`line\nnext\ttab`: "line\nnext\ttab",
		`caf\u00e9`:       "café",
		`\ud83d\ude00`:    "😀",
		`bad\u12`:         `bad\u12`,
	} {
		if got := string(unescape([]byte(in), nil)); got != want {
			t.Errorf("unescape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestScanner_Malformed(t *testing.T) {
	d := newDecoder(memory.DefaultAllocator, "Opportunity", []fieldDef{s("Id"), ts("SystemModstamp")}, nil)
	defer d.release()
	for _, body := range []string{``, `{`, `{"done":true,"records":[`, `{"done":true,"records":[{"Id":"x"`, `{"done":tru,"records":[]}`,
		`{"done":true,"records":[1]}`, `{"done":true,"records":[]} x`, `{"records":[]}`, `{"done":false,"records":[]}`, `[]`} {
		if _, _, err := d.decodePage([]byte(body), func(recordInfo) bool { return true }); err == nil {
			t.Errorf("decodePage(%q) accepted", body)
		}
	}
}

// FuzzDecodePage checks that no response body panics the decoder.
func FuzzDecodePage(f *testing.F) {
	f.Add(`{"totalSize":2,"done":false,"nextRecordsUrl":"/services/data/v62.0/queryAll/01g5e0000000001AAA-2000","records":[` +
		`{"attributes":{"type":"Opportunity","url":"/x"},"Id":"0065e0000000001AAA","Name":"A \"q\" \u00e9","Amount":1.25E7,"CloseDate":"2024-06-30",` +
		`"IsWon":false,"Probability":10.0,"SystemModstamp":"2024-05-20T20:49:32.000+0000","IsDeleted":false,"New__c":{"a":[1,"]"]}},` +
		`{"Id":"0065e0000000002AAA","Amount":null,"SystemModstamp":"2024-05-20T20:49:32.000+0000","IsDeleted":true}]}`)
	f.Add(`{"done":true,"records":[]}`)
	f.Add(`{"done":true,"records":[{"Id":"x","SystemModstamp":"bad","Amount":"12"}]}`)
	f.Fuzz(func(t *testing.T, body string) {
		d := newDecoder(memory.DefaultAllocator, "Opportunity", []fieldDef{s("Id"), s("Name"), dc("Amount"), da("CloseDate"), bo("IsWon"),
			fl("Probability"), in("Count"), ts("SystemModstamp"), bo("IsDeleted")}, []string{"New__c"})
		defer d.release()
		d.decodePage([]byte(body), func(recordInfo) bool { return true })
		if rec := d.flush(); rec != nil {
			rec.Release()
		}
	})
}

func TestPeekNext(t *testing.T) {
	tests := []struct {
		name, body, next string
		ok               bool
	}{
		{"documented order", `{"totalSize":5000,"done":false,"nextRecordsUrl":"/services/data/v62.0/query/01gD-2000","records":[{"Id":"x"}]}`, "/services/data/v62.0/query/01gD-2000", true},
		{"escaped url", `{"done":false,"nextRecordsUrl":"\/services\/data\/v62.0\/query\/01gD-2000","records":[]}`, "/services/data/v62.0/query/01gD-2000", true},
		{"spaces", "{ \"done\" : false ,\n \"nextRecordsUrl\" : \"/q/1\" , \"records\" : [ ] }", "/q/1", true},
		{"last page", `{"totalSize":5000,"done":true,"records":[]}`, "", false},
		{"done true with a url", `{"done":true,"nextRecordsUrl":"/q/1","records":[]}`, "", false},
		{"records first", `{"records":[],"done":false,"nextRecordsUrl":"/q/1"}`, "", false},
		{"no done", `{"nextRecordsUrl":"/q/1","records":[]}`, "", false},
		{"done not a boolean", `{"done":"false","nextRecordsUrl":"/q/1","records":[]}`, "", false},
		{"url not a string", `{"done":false,"nextRecordsUrl":null,"records":[]}`, "", false},
		{"malformed", `{"done":false,"nextRecordsUrl":"/q/1"`, "", false},
		{"error document", `[{"message":"expired","errorCode":"INVALID_QUERY_LOCATOR"}]`, "", false},
	}
	for _, tt := range tests {
		next, ok := peekNext([]byte(tt.body))
		if next != tt.next || ok != tt.ok {
			t.Errorf("%s: peekNext = %q, %v; want %q, %v", tt.name, next, ok, tt.next, tt.ok)
		}
	}
}
