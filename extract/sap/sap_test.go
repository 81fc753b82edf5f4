package sap_test

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/revcast/revcast/extract"
	"github.com/revcast/revcast/extract/httpx"
	"github.com/revcast/revcast/extract/internal/laketest"
	"github.com/revcast/revcast/extract/sap"
	"github.com/revcast/revcast/fixtures"
	"github.com/revcast/revcast/fixtures/sandbox"
)

var (
	companies   = map[int]*fixtures.Company{}
	companiesMu sync.Mutex
)

// company generates (once per scale) the synthetic company the sandbox serves.
func company(t testing.TB, n int) *fixtures.Company {
	t.Helper()
	companiesMu.Lock()
	defer companiesMu.Unlock()
	if c, ok := companies[n]; ok {
		return c
	}
	c, err := fixtures.Generate(fixtures.Options{Seed: 5, Opportunities: n})
	if err != nil {
		t.Fatal(err)
	}
	companies[n] = c
	return c
}

func newSystem(t testing.TB, c *fixtures.Company, opts sandbox.SAPOptions) (*sandbox.SAPSystem, *httptest.Server) {
	t.Helper()
	sys := sandbox.NewSAPSystem(opts)
	if err := sys.Load(c); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sys)
	t.Cleanup(srv.Close)
	return sys, srv
}

func newSource(t testing.TB, srv *httptest.Server, edit func(*sap.Source)) *sap.Source {
	t.Helper()
	s := sap.New()
	s.URL = srv.URL
	s.User = sandbox.SAPDemoUser
	s.Getenv = func(name string) string {
		switch name {
		case "SAP_PASSWORD":
			return sandbox.SAPDemoPassword
		case "SAP_CLIENT_SECRET":
			return sandbox.SAPDemoClientSecret
		}
		return ""
	}
	s.HTTP = httpx.Options{RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond, RetryMax: 30}
	s.PageSize = 200
	if edit != nil {
		edit(s)
	}
	if err := s.Init(); err != nil {
		t.Fatal(err)
	}
	return s
}

func extractAll(t testing.TB, dir string, src extract.Source, edit func(*extract.Runner)) (extract.Result, error) {
	t.Helper()
	r := &extract.Runner{DataDir: dir, PartRows: 500, CommitInterval: -1}
	if edit != nil {
		edit(r)
	}
	return r.Extract(context.Background(), "sap", src, extract.ExtractOptions{})
}

// expected returns, per stream, the keys the company's ERP data must arrive as.
func expected(c *fixtures.Company) map[string][]string {
	num := func(id string) string { return id }
	out := map[string][]string{}
	for _, o := range c.SalesOrders {
		out[sap.StreamSalesOrder] = append(out[sap.StreamSalesOrder], num(o.ID.String()))
	}
	for _, l := range c.SalesOrderLines {
		out[sap.StreamSalesOrderItem] = append(out[sap.StreamSalesOrderItem], fmt.Sprintf("%s|%d", num(l.Order.String()), l.LineNo))
	}
	for _, inv := range c.Invoices {
		out[sap.StreamBillingDocument] = append(out[sap.StreamBillingDocument], num(inv.ID.String()))
		out[sap.StreamBillingDocumentItem] = append(out[sap.StreamBillingDocumentItem], num(inv.ID.String())+"|10")
	}
	for _, in := range c.Inventory {
		out[sap.StreamMaterialStock] = append(out[sap.StreamMaterialStock], in.Product.String()+"|"+in.Plant)
	}
	for _, it := range c.AROpenItems {
		out[sap.StreamARItem] = append(out[sap.StreamARItem], num(it.ID.String()))
	}
	for _, p := range c.Payments {
		if p.Invoice != 0 {
			out[sap.StreamARItem] = append(out[sap.StreamARItem], num(p.ID.String()))
		}
	}
	for _, cu := range c.Customers {
		out[sap.StreamCustomer] = append(out[sap.StreamCustomer], num(cu.ID.String()))
	}
	return out
}

// rowKey is the comparable key of a landed row of stream.
func rowKey(stream string, r map[string]string) string {
	switch stream {
	case sap.StreamSalesOrder:
		return r["SalesOrder"]
	case sap.StreamSalesOrderItem:
		return r["SalesOrder"] + "|" + r["SalesOrderItem"]
	case sap.StreamBillingDocument:
		return r["BillingDocument"]
	case sap.StreamBillingDocumentItem:
		return r["BillingDocument"] + "|" + r["BillingDocumentItem"]
	case sap.StreamMaterialStock:
		return r["Material"] + "|" + r["Plant"]
	case sap.StreamARItem:
		return r["AccountingDocument"]
	case sap.StreamCustomer:
		return r["Customer"]
	}
	panic(stream)
}

// versionKey identifies one version of a record: its key and change timestamp.
func versionKey(stream string, r map[string]string) string {
	return rowKey(stream, r) + "@" + r["LastChangeDateTime"] + r[sap.SnapshotColumn]
}

func checksum(keys []string) uint64 {
	var sum uint64
	for _, k := range keys {
		h := fnv.New64a()
		h.Write([]byte(k))
		sum += h.Sum64()
	}
	return sum
}

func lakeRows(t testing.TB, dir, stream string) []map[string]string {
	t.Helper()
	return laketest.Rows(t, laketest.Files(t, dir, "sap", stream)...)
}

// checkExactlyOnce asserts that every expected key landed, nothing else did, and no
// version of a record landed twice. It returns the landed rows.
func checkExactlyOnce(t *testing.T, dir string, want map[string][]string) map[string][]map[string]string {
	t.Helper()
	out := map[string][]map[string]string{}
	for _, stream := range sap.DefaultStreams {
		rows := lakeRows(t, dir, stream)
		out[stream] = rows
		seen := map[string]bool{}
		versions := map[string]bool{}
		var keys []string
		for _, r := range rows {
			v := versionKey(stream, r)
			if versions[v] {
				t.Errorf("%s: version %s landed twice", stream, v)
			}
			versions[v] = true
			k := rowKey(stream, r)
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
		if len(keys) != len(want[stream]) || checksum(keys) != checksum(want[stream]) {
			t.Errorf("%s: %d distinct records (checksum %x), want %d (checksum %x)", stream, len(keys), checksum(keys), len(want[stream]), checksum(want[stream]))
		}
	}
	return out
}

func TestExtract_ExactlyOnce(t *testing.T) {
	c := company(t, fixtures.ScaleSmall)
	want := expected(c)
	for _, tc := range []struct {
		name   string
		faults string
		auth   string
	}{
		{"clean", "", "basic"},
		{"faults", "429:0.05,503:0.05,slow:1ms:0.05,fail-page-once,dup-ts-at-page-boundary,retry-after:0", "basic"},
		{"oauth-expiring", "expire-token:every=7,429:0.03,retry-after:0", "oauth"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := sandbox.ParseFaults(tc.faults, 3)
			if err != nil {
				t.Fatal(err)
			}
			_, srv := newSystem(t, c, sandbox.SAPOptions{Faults: f, PageSize: 150})
			src := newSource(t, srv, func(s *sap.Source) {
				if tc.auth == "oauth" {
					s.Auth, s.ClientID = "oauth", sandbox.SAPDemoClientID
				}
			})
			dir := t.TempDir()
			res, err := extractAll(t, dir, src, nil)
			if err != nil {
				t.Fatal(err)
			}
			rows := checkExactlyOnce(t, dir, want)
			// no faults that change data: exactly one row per record
			for _, st := range res.Streams {
				if int(st.Rows) != len(rows[st.Stream]) || len(rows[st.Stream]) != len(want[st.Stream]) {
					t.Errorf("%s: %d rows landed, %d in the lake, want %d", st.Stream, st.Rows, len(rows[st.Stream]), len(want[st.Stream]))
				}
			}
		})
	}
}

func TestExtract_MutateDuringExtract(t *testing.T) {
	c := company(t, fixtures.ScaleSmall)
	f, _ := sandbox.ParseFaults("mutate-during-extract,fail-page-once", 9)
	sys, srv := newSystem(t, c, sandbox.SAPOptions{Faults: f, PageSize: 150})
	src := newSource(t, srv, nil)
	dir := t.TempDir()
	if _, err := extractAll(t, dir, src, nil); err != nil {
		t.Fatal(err)
	}
	rows := checkExactlyOnce(t, dir, expected(c))
	// The latest landed version of every record is the system's current one.
	for stream, set := range map[string]string{sap.StreamSalesOrder: sandbox.SAPSalesOrder, sap.StreamARItem: sandbox.SAPARItem,
		sap.StreamCustomer: sandbox.SAPCustomer, sap.StreamBillingDocument: sandbox.SAPBillingDocument} {
		latest := map[string]string{}
		for _, r := range rows[stream] {
			k := rowKey(stream, r)
			if r["LastChangeDateTime"] >= latest[k] {
				latest[k] = r["LastChangeDateTime"]
			}
		}
		for _, rec := range sys.Records(set) {
			key := rec.Key
			if stream == sap.StreamARItem {
				key = strings.Split(rec.Key, "|")[2]
			}
			if got, want := latest[key], rec.Values["LastChangeDateTime"].(string); !sameInstant(got, want) {
				t.Errorf("%s %s: latest landed %s, system has %s", stream, key, got, want)
			}
		}
	}
}

func sameInstant(a, b string) bool {
	x, err1 := time.Parse(time.RFC3339Nano, a)
	y, err2 := time.Parse(time.RFC3339Nano, b)
	return err1 == nil && err2 == nil && x.Equal(y)
}

// TestExtract_KillAndResume stops the run after k commits, restarts from the saved
// cursors, and checks the union is exactly once.
func TestExtract_KillAndResume(t *testing.T) {
	c := company(t, fixtures.ScaleSmall)
	want := expected(c)
	for _, k := range []int{1, 3, 6} {
		t.Run(fmt.Sprint("after", k), func(t *testing.T) {
			f, _ := sandbox.ParseFaults("dup-ts-at-page-boundary,429:0.02,retry-after:0", uint64(k))
			_, srv := newSystem(t, c, sandbox.SAPOptions{Faults: f, PageSize: 100})
			dir := t.TempDir()
			for attempt := 0; ; attempt++ {
				if attempt > 200 {
					t.Fatal("did not finish")
				}
				src := newSource(t, srv, func(s *sap.Source) { s.PageSize = 80 })
				ctx, cancel := context.WithCancel(context.Background())
				saves := 0
				r := &extract.Runner{DataDir: dir, PartRows: 120, CommitInterval: -1, Trace: func(ev extract.TraceEvent) {
					// the stock snapshot saves once per run: counting it would stop every
					// attempt at the same place
					if ev.Kind == extract.TraceStateSaved && ev.Stream != sap.StreamMaterialStock {
						saves++
						if saves == k {
							cancel()
						}
					}
				}}
				_, err := r.Extract(ctx, "sap", src, extract.ExtractOptions{})
				cancel()
				if err == nil {
					break
				}
				if !errors.Is(err, context.Canceled) {
					t.Fatal(err)
				}
			}
			rows := checkExactlyOnce(t, dir, want)
			for _, stream := range sap.DefaultStreams {
				if stream == sap.StreamMaterialStock {
					continue // a snapshot: re-read whole by every attempt that reached it
				}
				if len(rows[stream]) != len(want[stream]) {
					t.Errorf("%s: %d rows, want %d", stream, len(rows[stream]), len(want[stream]))
				}
			}
		})
	}
}

func TestExtract_Incremental(t *testing.T) {
	c := company(t, fixtures.ScaleSmall)
	sys, srv := newSystem(t, c, sandbox.SAPOptions{PageSize: 300})
	dir := t.TempDir()
	if _, err := extractAll(t, dir, newSource(t, srv, nil), nil); err != nil {
		t.Fatal(err)
	}
	before := map[string]int{}
	for _, st := range sap.DefaultStreams {
		before[st] = len(lakeRows(t, dir, st))
	}
	so, err := sys.Mutate(sandbox.SAPSalesOrder, 5, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	bd, err := sys.Mutate(sandbox.SAPBillingDocument, 0, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	ar, err := sys.ClearARItems(4, 3)
	if err != nil {
		t.Fatal(err)
	}
	res, err := extractAll(t, dir, newSource(t, srv, nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	items := 0
	changedOrders := map[string]bool{}
	for _, k := range append(so.Changed, so.Cancelled...) {
		changedOrders[k] = true
	}
	for _, l := range c.SalesOrderLines {
		if changedOrders[l.Order.String()] {
			items++
		}
	}
	wantNew := map[string]int{sap.StreamSalesOrder: 7, sap.StreamSalesOrderItem: items, sap.StreamBillingDocument: 1,
		sap.StreamBillingDocumentItem: 1, sap.StreamARItem: 4, sap.StreamCustomer: 0, sap.StreamMaterialStock: len(c.Inventory)}
	for _, st := range res.Streams {
		if !st.Incremental && st.Stream != sap.StreamMaterialStock {
			t.Errorf("%s: second run not incremental", st.Stream)
		}
		if int(st.Rows) != wantNew[st.Stream] {
			t.Errorf("%s: second run landed %d rows, want %d", st.Stream, st.Rows, wantNew[st.Stream])
		}
	}
	latest := func(stream string) map[string]map[string]string {
		out := map[string]map[string]string{}
		for _, r := range lakeRows(t, dir, stream) {
			k := rowKey(stream, r)
			if p, ok := out[k]; !ok || r["LastChangeDateTime"] >= p["LastChangeDateTime"] {
				out[k] = r
			}
		}
		return out
	}
	arRows := latest(sap.StreamARItem)
	for _, k := range ar.Cleared {
		doc := strings.Split(k, "|")[2]
		if arRows[doc]["ClearingDate"] == "" || arRows[doc]["ClearingAccountingDocument"] == "" {
			t.Errorf("AR item %s: not cleared in the lake: %v", doc, arRows[doc])
		}
	}
	bdRows := latest(sap.StreamBillingDocument)
	if got := bdRows[bd.Cancelled[0]]["BillingDocumentIsCancelled"]; got != "true" {
		t.Errorf("billing document %s: BillingDocumentIsCancelled = %q", bd.Cancelled[0], got)
	}
	soRows := latest(sap.StreamSalesOrder)
	for _, k := range so.Cancelled {
		if soRows[k]["OverallSDDocumentRejectionSts"] != "C" {
			t.Errorf("order %s: not rejected in the lake", k)
		}
	}
	// a third run with no change lands nothing but the stock snapshot
	res, err = extractAll(t, dir, newSource(t, srv, nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range res.Streams {
		if st.Stream != sap.StreamMaterialStock && st.Rows != 0 {
			t.Errorf("%s: unchanged run landed %d rows", st.Stream, st.Rows)
		}
	}
	_ = before
}

func TestExtract_ValuesRoundTrip(t *testing.T) {
	c := company(t, fixtures.ScaleSmall)
	sys, srv := newSystem(t, c, sandbox.SAPOptions{})
	o := c.SalesOrders[0]
	key := o.ID.String()
	// Instants around the US and EU DST changes: UTC in, UTC out, whatever the zone of
	// the machine or of the SAP user.
	instants := []time.Time{
		time.Date(2024, 3, 10, 6, 59, 59, 999e6, time.UTC), // 01:59:59.999 EST, just before spring forward
		time.Date(2024, 3, 31, 1, 0, 0, 0, time.UTC),       // 02:00 CET → 03:00 CEST
		time.Date(2024, 11, 3, 5, 30, 0, 0, time.UTC),      // 01:30 EDT (first)
		time.Date(2024, 11, 3, 6, 30, 0, 0, time.UTC),      // 01:30 EST (second)
		time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC),   // negative /Date(-1000)/
	}
	sort.Slice(instants, func(i, j int) bool { return instants[i].Before(instants[j]) })
	keys := []string{}
	for i, at := range instants {
		k := c.SalesOrders[i].ID.String()
		if err := sys.SetStamp(sandbox.SAPSalesOrder, k, at); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	dir := t.TempDir()
	src := newSource(t, srv, func(s *sap.Source) { s.StreamNames = []string{sap.StreamSalesOrder, sap.StreamARItem} })
	if _, err := extractAll(t, dir, src, nil); err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string]string{}
	for _, r := range lakeRows(t, dir, sap.StreamSalesOrder) {
		got[r["SalesOrder"]] = r
	}
	for i, k := range keys {
		if want := instants[i].Format(time.RFC3339Nano); got[k]["LastChangeDateTime"] != want {
			t.Errorf("order %s: LastChangeDateTime %s, want %s", k, got[k]["LastChangeDateTime"], want)
		}
	}
	r := got[key]
	if r["TotalNetAmount"] != o.Amount.String() || r["SalesOrderDate"] != o.OrderDate.String() || r["SoldToParty"] != o.Customer.String() {
		t.Errorf("order %s: %v, want amount %s date %s", key, r, o.Amount, o.OrderDate)
	}
	// decimals keep their scale, to the cent, including negative credit items
	ar := map[string]map[string]string{}
	for _, r := range lakeRows(t, dir, sap.StreamARItem) {
		ar[r["AccountingDocument"]] = r
	}
	for _, it := range c.AROpenItems {
		r := ar[it.ID.String()]
		if r["AmountInTransactionCurrency"] != it.OpenAmount.String() || r["NetDueDate"] != it.DueDate.String() {
			t.Fatalf("AR %s: %v, want %s due %s", it.ID, r, it.OpenAmount, it.DueDate)
		}
	}
	st, err := extract.LoadState(dir, "sap", sap.StreamSalesOrder)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(st.Cursor), `Z"`) {
		t.Errorf("cursor %s is not in UTC", st.Cursor)
	}
}

func TestExtract_SchemaDrift(t *testing.T) {
	c := company(t, fixtures.ScaleSmall)
	sys, srv := newSystem(t, c, sandbox.SAPOptions{})
	dir := t.TempDir()
	one := func(s *sap.Source) { s.StreamNames = []string{sap.StreamSalesOrder} }
	if _, err := extractAll(t, dir, newSource(t, srv, one), nil); err != nil {
		t.Fatal(err)
	}
	if err := sys.AddProperty(sandbox.SAPSalesOrder, "YY1_SalesRegion_SDH", "Edm.String"); err != nil {
		t.Fatal(err)
	}
	if err := sys.RemoveProperty(sandbox.SAPSalesOrder, "DeliveryBlockReason"); err != nil {
		t.Fatal(err)
	}
	if _, err := sys.Mutate(sandbox.SAPSalesOrder, 3, 0, 4); err != nil {
		t.Fatal(err)
	}
	if _, err := extractAll(t, dir, newSource(t, srv, one), nil); err != nil {
		t.Fatal(err)
	}
	files := laketest.Files(t, dir, "sap", sap.StreamSalesOrder)
	last := laketest.ReadTable(t, newestPart(t, files))
	defer last.Release()
	if len(last.Schema().FieldIndices("YY1_SalesRegion_SDH")) != 1 || len(last.Schema().FieldIndices("DeliveryBlockReason")) != 1 {
		t.Fatalf("schema after drift: %v", last.Schema())
	}
	if err := sys.SetPropertyType(sandbox.SAPSalesOrder, "TotalNetAmount", "Edm.String"); err != nil {
		t.Fatal(err)
	}
	_, err := extractAll(t, dir, newSource(t, srv, one), nil)
	var se *sap.SchemaError
	if !errors.As(err, &se) || se.Entity != "A_SalesOrder" || se.Field != "TotalNetAmount" {
		t.Fatalf("type change: err = %v, want a SchemaError naming A_SalesOrder.TotalNetAmount", err)
	}
}

func TestInit_Errors(t *testing.T) {
	for _, tc := range []struct {
		edit func(*sap.Source)
		want string
	}{
		{func(s *sap.Source) { s.URL = "" }, "url"},
		{func(s *sap.Source) { s.User = "" }, "user is required"},
		{func(s *sap.Source) { s.Auth = "saml" }, "auth"},
		{func(s *sap.Source) { s.Auth, s.ClientID = "oauth", "" }, "client_id"},
		{func(s *sap.Source) { s.PageSize = 9000 }, "page_size"},
		{func(s *sap.Source) { s.StreamNames = []string{"A_Nope"} }, "unknown stream"},
	} {
		s := sap.New()
		s.URL, s.User = "https://s4.example.com", "U"
		tc.edit(s)
		if err := s.Init(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Init() = %v, want an error mentioning %q", err, tc.want)
		}
	}
	// a missing password names the env var, never a secret
	_, srv := newSystem(t, company(t, fixtures.ScaleSmall), sandbox.SAPOptions{})
	s := newSource(t, srv, func(s *sap.Source) { s.Getenv = func(string) string { return "" } })
	_, err := extractAll(t, t.TempDir(), s, nil)
	if err == nil || !strings.Contains(err.Error(), "SAP_PASSWORD") {
		t.Fatalf("err = %v, want it to name SAP_PASSWORD", err)
	}
	s = newSource(t, srv, func(s *sap.Source) { s.Getenv = func(string) string { return "wrong-password" } })
	_, err = extractAll(t, t.TempDir(), s, nil)
	if err == nil || !strings.Contains(err.Error(), "401") || strings.Contains(err.Error(), "wrong-password") {
		t.Fatalf("err = %v, want a 401 naming password_env without the secret", err)
	}
}

func TestExtract_Medium(t *testing.T) {
	if testing.Short() {
		t.Skip("medium scale: run without -short")
	}
	c := company(t, fixtures.ScaleMedium)
	f, _ := sandbox.ParseFaults("429:0.02,503:0.02,fail-page-once,dup-ts-at-page-boundary,retry-after:0", 1)
	_, srv := newSystem(t, c, sandbox.SAPOptions{Faults: f})
	dir := t.TempDir()
	if _, err := extractAll(t, dir, newSource(t, srv, func(s *sap.Source) { s.PageSize = 1000 }), func(r *extract.Runner) { r.PartRows = 0 }); err != nil {
		t.Fatal(err)
	}
	checkExactlyOnce(t, dir, expected(c))
}

// newestPart returns the part file with the highest sequence number (run ids of runs in
// the same second do not sort by time).
func newestPart(t *testing.T, files []string) string {
	t.Helper()
	best := files[0]
	for _, f := range files {
		if laketest.Seq(t, f) > laketest.Seq(t, best) {
			best = f
		}
	}
	return best
}
