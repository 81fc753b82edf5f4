package sap

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// newPageReader returns a reader of stream whose pages tests hand to decodePage directly;
// cursorJSON is its cursor ("" for a full read).
func newPageReader(t *testing.T, stream, cursorJSON string) (*reader, *memory.CheckedAllocator) {
	t.Helper()
	e, ok := lookup(stream)
	if !ok {
		t.Fatalf("no stream %s", stream)
	}
	cur, err := parseCursor(json.RawMessage(cursorJSON))
	if err != nil {
		t.Fatal(err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	s := New()
	s.Allocator = mem
	r := &reader{s: s, e: e, cur: cur, index: map[string]int{}, cols: e.columns()}
	r.build()
	t.Cleanup(func() {
		r.Close()
		mem.AssertSize(t, 0)
	})
	return r, mem
}

// rows returns the batch's rows as column name → value text ("" for null).
func rows(rec arrow.RecordBatch) []map[string]string {
	out := make([]map[string]string, rec.NumRows())
	for i := range out {
		out[i] = map[string]string{}
		for c, f := range rec.Schema().Fields() {
			col := rec.Column(c)
			if col.IsNull(i) {
				continue
			}
			out[i][f.Name] = col.ValueStr(i)
		}
	}
	return out
}

func decodeRows(t *testing.T, r *reader, body string) (page, []map[string]string) {
	t.Helper()
	p, err := r.decodePage([]byte(body))
	if err != nil {
		r.discard()
		t.Fatalf("decodePage: %v", err)
	}
	rec := r.rb.NewRecord()
	defer rec.Release()
	return p, rows(rec)
}

const customerPage = `{"d":{"__count":"3","results":[
 {"__metadata":{"id":"x","uri":"x","type":"API_BUSINESS_PARTNER.A_CustomerType"},"Customer":"C1","CustomerName":"M\u00fcller \"&\" S\u00f6hne\/GmbH",
  "CreationDate":"\/Date(1700000000000)\/","CreditLimitAmount":"1234.50","OrderIsBlockedForCustomer":null,"LastChangeDateTime":"\/Date(1717200000123+0000)\/"},
 {"Customer":"C2","CreditLimitAmount":"12x","CreationDate":"/Date(-86400000)/","LastChangeDateTime":"\/Date(1717200000124+0000)\/"},
 {"Customer":"C3","CreationDate":"\/Date(oops)\/","LastChangeDateTime":"\/Date(1717200000125)\/","CreditLimitAmount":"-0.05"}
],"__next":"http:\/\/s4\/sap\/opu\/odata\/sap\/API_BUSINESS_PARTNER\/A_Customer?$skiptoken=3"}}`

func TestDecodePage_Entities(t *testing.T) {
	r, _ := newPageReader(t, StreamCustomer, "")
	p, got := decodeRows(t, r, customerPage)
	if p.n != 3 || p.landed != 3 || p.next != "http://s4/sap/opu/odata/sap/API_BUSINESS_PARTNER/A_Customer?$skiptoken=3" {
		t.Errorf("page %+v", p)
	}
	if len(got) != 1 {
		t.Fatalf("%d rows landed, want 1 (two rejected): %v", len(got), got)
	}
	want := map[string]string{"Customer": "C1", "CustomerName": `Müller "&" Söhne/GmbH`, "CreationDate": "2023-11-14",
		"CreditLimitAmount": "1234.5", "LastChangeDateTime": "2024-06-01T00:00:00.123Z"}
	for k, v := range want {
		if got[0][k] != v && !(k == "LastChangeDateTime" && strings.HasPrefix(got[0][k], "2024-06-01 00:00:00.123")) {
			t.Errorf("%s = %q, want %q", k, got[0][k], v)
		}
	}
	// Conversion errors reject the record, naming it and the field; the cursor still
	// moves past it.
	if len(p.rejects) != 2 {
		t.Fatalf("rejects %+v", p.rejects)
	}
	if rj := p.rejects[0]; rj.Line != 2 || rj.Raw != "C2" || rj.Field != "CreditLimitAmount" {
		t.Errorf("reject %+v", rj)
	}
	if rj := p.rejects[1]; rj.Line != 3 || rj.Raw != "C3" || rj.Field != "CreationDate" || rj.Reason != "not an OData date" {
		t.Errorf("reject %+v", rj)
	}
	if r.cur.ts() != "2024-06-01T00:00:00.125Z" || len(r.cur.Keys) != 1 || r.cur.Keys[0] != "C3" {
		t.Errorf("cursor %+v", r.cur)
	}
}

func TestDecodePage_CursorSkipsLanded(t *testing.T) {
	r, _ := newPageReader(t, StreamCustomer, `{"ts":"2024-06-01T00:00:00.124Z","keys":["C2"]}`)
	p, got := decodeRows(t, r, customerPage)
	if p.n != 3 || p.landed != 1 || len(got) != 0 || len(p.rejects) != 1 || p.rejects[0].Raw != "C3" {
		t.Errorf("page %+v, rows %v", p, got)
	}
}

// itemPage returns a page of two sales orders with expanded items, with the header's
// to_Item placed first or last.
func itemPage(itemsFirst bool) string {
	hdr := func(key, ts, items string) string {
		items = `"to_Item":{"results":[` + items + `]}`
		props := `"SalesOrder":"` + key + `","LastChangeDateTime":"\/Date(` + ts + `+0000)\/"`
		if itemsFirst {
			return `{"__metadata":{"uri":"u"},` + items + `,` + props + `}`
		}
		return `{"__metadata":{"uri":"u"},` + props + `,` + items + `}`
	}
	item := func(key, no, amount string) string {
		return `{"__metadata":{"id":"i"},"SalesOrder":"` + key + `","SalesOrderItem":"` + no + `","Material":"M-1","RequestedQuantity":"7.000",` +
			`"NetAmount":"` + amount + `","SalesDocumentRjcnReason":null}`
	}
	return `{"d":{"results":[` +
		hdr("SO1", "1000", item("SO1", "10", "1.00")+","+item("SO1", "20", "bad")+","+item("SO1", "30", "3.00")) + "," +
		hdr("SO2", "2000", item("SO2", "10", "4.00")) +
		`]}}`
}

func TestDecodePage_Items(t *testing.T) {
	for _, first := range []bool{false, true} {
		name := "items last"
		if first {
			name = "items before the key"
		}
		t.Run(name, func(t *testing.T) {
			r, _ := newPageReader(t, StreamSalesOrderItem, "")
			p, got := decodeRows(t, r, itemPage(first))
			if p.n != 2 || p.landed != 2 || len(got) != 3 {
				t.Fatalf("page %+v, rows %v", p, got)
			}
			keys := []string{}
			for _, row := range got {
				keys = append(keys, row["SalesOrder"]+"|"+row["SalesOrderItem"]+"|"+row["NetAmount"]+"|"+row["LastChangeDateTime"][:19])
			}
			if w := "SO1|10|1|1970-01-01T00:00:01 SO1|30|3|1970-01-01T00:00:01 SO2|10|4|1970-01-01T00:00:02"; strings.Join(keys, " ") != w &&
				strings.Join(keys, " ") != strings.ReplaceAll(w, "T", " ") {
				t.Errorf("rows %v, want %s", keys, w)
			}
			if len(p.rejects) != 1 || p.rejects[0].Raw != "SO1" || p.rejects[0].Field != "NetAmount" || p.rejects[0].Line != 1 {
				t.Errorf("rejects %+v", p.rejects)
			}
			if r.cur.Keys[0] != "SO2" {
				t.Errorf("cursor %+v", r.cur)
			}
		})
	}
	t.Run("header landed before", func(t *testing.T) {
		r, _ := newPageReader(t, StreamSalesOrderItem, `{"ts":"1970-01-01T00:00:01.000Z","keys":["SO1"]}`)
		p, got := decodeRows(t, r, itemPage(false))
		if p.landed != 1 || len(got) != 1 || got[0]["SalesOrder"] != "SO2" || len(p.rejects) != 0 {
			t.Errorf("page %+v, rows %v", p, got)
		}
	})
}

func TestDecodePage_Unknown(t *testing.T) {
	r, _ := newPageReader(t, StreamCustomer, "")
	_, got := decodeRows(t, r, `{"d":{"results":[{"Customer":"C1","ZZ_New":"x","LastChangeDateTime":"\/Date(1)\/","_hidden":1,"to_X":{"__deferred":{}}}]}}`)
	if len(got) != 1 || strings.Join(r.unknown, ",") != "ZZ_New" {
		t.Errorf("rows %v, unknown %v", got, r.unknown)
	}
}

// Malformed pages fail with an error that names the record (position and key when
// known) and the property being read.
func TestDecodePage_Malformed(t *testing.T) {
	ok := `{"Customer":"C1","LastChangeDateTime":"\/Date(1)\/"}`
	cases := []struct {
		name, stream, body, want string
	}{
		{"not JSON", StreamCustomer, `<html>`, "malformed OData response: malformed JSON at byte 0: want '{'"},
		{"no d", StreamCustomer, `{"error":{}}`, `no "d" object`},
		{"no results", StreamCustomer, `{"d":{"__next":"x"}}`, `no "d.results" array`},
		{"results not an array", StreamCustomer, `{"d":{"results":{}}}`, `"d.results" is not an array`},
		{"result not an object", StreamCustomer, `{"d":{"results":[` + ok + `,"x"]}}`, "result 2 is not an object"},
		{"truncated", StreamCustomer, `{"d":{"results":[` + ok + `,{"Customer":"C2","CustomerName":"Ab`, `result 2 (C2): CustomerName: malformed JSON at byte`},
		{"unterminated string", StreamCustomer, `{"d":{"results":[{"Customer":"C2","CustomerName":"Ab}]}}`, "result 1 (C2): CustomerName: malformed JSON at byte 49: unterminated string"},
		{"missing comma", StreamCustomer, `{"d":{"results":[{"Customer":"C2" "CityName":"x"}]}}`, "result 1 (C2): after Customer: malformed JSON at byte 34: want ',' or '}'"},
		{"bad literal", StreamCustomer, `{"d":{"results":[{"Customer":"C3","CreditLimitAmount":nul}]}}`, "result 1 (C3): CreditLimitAmount: malformed JSON"},
		{"bad number", StreamCustomer, `{"d":{"results":[{"Customer":"C3","CreditLimitAmount":-}]}}`, "result 1 (C3): CreditLimitAmount: malformed JSON at byte 54: malformed number"},
		{"unknown property malformed", StreamCustomer, `{"d":{"results":[{"Customer":"C3","ZZ":[1,}]}}`, "result 1 (C3): ZZ: malformed JSON"},
		{"between results", StreamCustomer, `{"d":{"results":[` + ok + ` ` + ok + `]}}`, "after result 1"},
		{"trailing data", StreamCustomer, `{"d":{"results":[` + ok + `]}} x`, "data after the response object"},
		{"no key", StreamCustomer, `{"d":{"results":[{"LastChangeDateTime":"\/Date(1)\/"}]}}`, "result 1 has no key (Customer)"},
		{"no timestamp", StreamCustomer, `{"d":{"results":[{"Customer":"C9"}]}}`, "result 1 (C9) has no LastChangeDateTime"},
		{"bad timestamp", StreamCustomer, `{"d":{"results":[{"Customer":"C9","LastChangeDateTime":"\/Date(1x)\/"}]}}`,
			`result 1 (C9): LastChangeDateTime "/Date(1x)/": not an OData date`},
		{"header timestamp", StreamSalesOrderItem, `{"d":{"results":[{"SalesOrder":"SO1","LastChangeDateTime":"yesterday","to_Item":{"results":[]}}]}}`,
			`result 1: LastChangeDateTime "yesterday" is not an OData date`},
		{"items not expanded", StreamSalesOrderItem, `{"d":{"results":[{"SalesOrder":"SO1","LastChangeDateTime":"\/Date(1)\/","to_Item":{"__deferred":{"uri":"u"}}}]}}`,
			"result 1: to_Item of SO1 is missing or not expanded"},
		{"item not an object", StreamSalesOrderItem, `{"d":{"results":[{"SalesOrder":"SO1","LastChangeDateTime":"\/Date(1)\/","to_Item":{"results":[{"SalesOrderItem":"10"},7]}}]}}`,
			"result 1 (SO1): to_Item: item 2 is not an object"},
		{"item malformed", StreamSalesOrderItem, `{"d":{"results":[{"SalesOrder":"SO1","LastChangeDateTime":"\/Date(1)\/","to_Item":{"results":[{"SalesOrderItem":"10","NetAmount":1.2.}]}}]}}`,
			"result 1 (SO1): to_Item: item 1: after NetAmount: malformed JSON at byte 132: want ',' or '}'"},
		{"leading zero", StreamCustomer, `{"d":{"results":[{"Customer":"C3","CreditLimitAmount":01}]}}`, "result 1 (C3): after CreditLimitAmount: malformed JSON at byte 55: want ',' or '}'"},
		{"items malformed before the key", StreamSalesOrderItem, `{"d":{"results":[{"to_Item":{"results":[{"SalesOrderItem":"10",]}},"SalesOrder":"SO1","LastChangeDateTime":"\/Date(1)\/"}]}}`,
			"result 1: to_Item: malformed JSON at byte"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, _ := newPageReader(t, c.stream, "")
			_, err := r.decodePage([]byte(c.body))
			r.discard()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

// FuzzDecodePage feeds arbitrary bytes to the decoder of both kinds of stream: it must
// answer with rows or an error, never panic, and leave the builder usable.
func FuzzDecodePage(f *testing.F) {
	f.Add([]byte(customerPage))
	f.Add([]byte(itemPage(false)))
	f.Add([]byte(itemPage(true)))
	f.Add([]byte(`{"d":{"results":[{"Customer":"C1","LastChangeDateTime":"\/Date(1)\/","X":[{"a":[1,2e5,-0.5,true,false,null]}]}]}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, stream := range []string{StreamCustomer, StreamSalesOrderItem} {
			r, _ := newPageReader(t, stream, "")
			if _, err := r.decodePage(body); err != nil {
				r.discard()
				continue
			}
			rec := r.rb.NewRecord()
			rec.Release()
		}
	})
}
