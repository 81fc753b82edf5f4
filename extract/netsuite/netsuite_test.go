package netsuite_test

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/revcast/revcast/extract"
	"github.com/revcast/revcast/extract/httpx"
	"github.com/revcast/revcast/extract/internal/laketest"
	"github.com/revcast/revcast/extract/netsuite"
	"github.com/revcast/revcast/fixtures"
	"github.com/revcast/revcast/fixtures/sandbox"
	"github.com/revcast/revcast/fixtures/sandbox/suiteql"
)

var (
	companies   = map[int]*fixtures.Company{}
	companiesMu sync.Mutex
)

func company(t testing.TB, n int) *fixtures.Company {
	t.Helper()
	companiesMu.Lock()
	defer companiesMu.Unlock()
	if c, ok := companies[n]; ok {
		return c
	}
	c, err := fixtures.Generate(fixtures.Options{Seed: 8, Opportunities: n})
	if err != nil {
		t.Fatal(err)
	}
	companies[n] = c
	return c
}

func newAccount(t testing.TB, c *fixtures.Company, opts sandbox.NetSuiteOptions) (*sandbox.NetSuiteAccount, *httptest.Server) {
	t.Helper()
	a := sandbox.NewNetSuiteAccount(opts)
	if c != nil {
		if err := a.Load(c); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	return a, srv
}

func newSource(t testing.TB, srv *httptest.Server, edit func(*netsuite.Source)) *netsuite.Source {
	t.Helper()
	s := netsuite.New()
	s.URL = srv.URL
	s.ClientID = sandbox.NetSuiteDemoClientID
	s.CertificateID = sandbox.NetSuiteDemoCertificateID
	s.Getenv = func(name string) string {
		if name == netsuite.DefaultPrivateKeyEnv {
			return sandbox.NetSuiteDemoPrivateKeyPEM
		}
		return ""
	}
	s.HTTP = httpx.Options{RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond, RetryMax: 30}
	s.PageSize = 250
	if edit != nil {
		edit(s)
	}
	if err := s.Init(); err != nil {
		t.Fatal(err)
	}
	return s
}

func run(t testing.TB, dir string, src extract.Source, edit func(*extract.Runner)) (extract.Result, error) {
	t.Helper()
	r := &extract.Runner{DataDir: dir, PartRows: 600, CommitInterval: -1}
	if edit != nil {
		edit(r)
	}
	return r.Extract(context.Background(), "netsuite", src, extract.ExtractOptions{})
}

func rows(t testing.TB, dir, stream string) []map[string]string {
	t.Helper()
	return laketest.Rows(t, laketest.Files(t, dir, "netsuite", stream)...)
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

// expected returns, per stream, the comparable identities of the company's records.
func expected(c *fixtures.Company) map[string][]string {
	out := map[string][]string{}
	add := func(s, k string) { out[s] = append(out[s], k) }
	for _, cu := range c.Customers {
		add(netsuite.StreamCustomer, cu.ID.String())
	}
	for _, p := range c.Products {
		add(netsuite.StreamItem, p.ID.String())
	}
	for _, o := range c.SalesOrders {
		add(netsuite.StreamSalesOrder, o.ID.String()+"="+o.Amount.String())
	}
	for _, l := range c.SalesOrderLines {
		add(netsuite.StreamSalesOrderLine, l.Order.String()+"="+l.NetAmount().String())
	}
	for _, inv := range c.Invoices {
		add(netsuite.StreamInvoice, inv.ID.String()+"="+inv.Amount.String())
	}
	for _, p := range c.Payments {
		add(netsuite.StreamPayment, p.ID.String()+"="+p.Amount.String())
	}
	for _, in := range c.Inventory {
		add(netsuite.StreamInventory, in.Product.String()+"@"+in.Plant+"="+strconv.FormatInt(in.OnHand, 10))
	}
	for _, it := range c.AROpenItems {
		k := "payment=" + (-it.OpenAmount).String()
		if it.Invoice != 0 {
			k = it.Invoice.String() + "=" + it.OpenAmount.String()
		}
		add("ar", k)
	}
	return out
}

// latest returns the latest landed row per key column value.
func latest(rs []map[string]string, key, changed string) map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, r := range rs {
		if p, ok := out[r[key]]; !ok || r[changed] >= p[changed] {
			out[r[key]] = r
		}
	}
	return out
}

// landed computes the same identities from the lake.
func landed(t *testing.T, dir string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	add := func(s, k string) { out[s] = append(out[s], k) }
	cents := func(s string) string { // decimal text "-12.30" → "12.30" negated as Money prints
		neg := strings.HasPrefix(s, "-")
		s = strings.TrimPrefix(s, "-")
		if neg {
			return s
		}
		return "-" + s
	}
	for _, r := range latest(rows(t, dir, netsuite.StreamCustomer), "id", "lastmodifieddate") {
		add(netsuite.StreamCustomer, r["entityid"])
	}
	for _, r := range latest(rows(t, dir, netsuite.StreamItem), "id", "lastmodifieddate") {
		add(netsuite.StreamItem, r["itemid"])
	}
	so := latest(rows(t, dir, netsuite.StreamSalesOrder), "id", "lastmodifieddate")
	for _, r := range so {
		add(netsuite.StreamSalesOrder, r["tranid"]+"="+r["foreigntotal"])
	}
	for _, r := range latest(rows(t, dir, netsuite.StreamSalesOrderLine), "uniquekey", "linelastmodifieddate") {
		add(netsuite.StreamSalesOrderLine, so[r["transaction"]]["tranid"]+"="+cents(r["netamount"]))
	}
	inv := latest(rows(t, dir, netsuite.StreamInvoice), "id", "lastmodifieddate")
	for _, r := range inv {
		add(netsuite.StreamInvoice, r["tranid"]+"="+r["foreigntotal"])
		if r["foreignamountremaining"] != "0.00" && r["voided"] != "true" {
			add("ar", r["tranid"]+"="+r["foreignamountremaining"])
		}
	}
	for _, r := range latest(rows(t, dir, netsuite.StreamPayment), "id", "lastmodifieddate") {
		add(netsuite.StreamPayment, r["tranid"]+"="+r["foreigntotal"])
		if r["foreignamountunapplied"] != "0.00" {
			add("ar", "payment="+r["foreignamountunapplied"])
		}
	}
	plants := map[string]string{}
	for _, r := range rows(t, dir, netsuite.StreamLocation) {
		plants[r["id"]] = r["name"]
	}
	items := map[string]string{}
	for _, r := range rows(t, dir, netsuite.StreamItem) {
		items[r["id"]] = r["itemid"]
	}
	for _, r := range rows(t, dir, netsuite.StreamInventory) {
		add(netsuite.StreamInventory, items[r["item"]]+"@"+plants[r["location"]]+"="+strings.TrimSuffix(r["quantityonhand"], ".0"))
	}
	return out
}

func checkSame(t *testing.T, got, want map[string][]string) {
	t.Helper()
	for stream, w := range want {
		g := got[stream]
		if len(g) != len(w) || checksum(g) != checksum(w) {
			sort.Strings(g)
			sort.Strings(w)
			t.Errorf("%s: %d records (checksum %x), want %d (%x); first got %v want %v", stream, len(g), checksum(g), len(w), checksum(w), head(g), head(w))
		}
	}
}

func head(s []string) []string { return s[:min(3, len(s))] }

// noDoubleVersions checks no (key, change instant) landed twice.
func noDoubleVersions(t *testing.T, dir string) {
	t.Helper()
	for _, st := range []struct{ stream, key, changed string }{
		{netsuite.StreamCustomer, "id", "lastmodifieddate"}, {netsuite.StreamSalesOrder, "id", "lastmodifieddate"},
		{netsuite.StreamSalesOrderLine, "uniquekey", "linelastmodifieddate"}, {netsuite.StreamInvoice, "id", "lastmodifieddate"},
		{netsuite.StreamPayment, "id", "lastmodifieddate"},
	} {
		seen := map[string]bool{}
		for _, r := range rows(t, dir, st.stream) {
			v := r[st.key] + "@" + r[st.changed]
			if seen[v] {
				t.Errorf("%s: %s landed twice", st.stream, v)
			}
			seen[v] = true
		}
	}
}

func TestExtract_ExactlyOnce(t *testing.T) {
	c := company(t, fixtures.ScaleSmall)
	want := expected(c)
	for _, tc := range []struct {
		name, faults string
		opts         sandbox.NetSuiteOptions
	}{
		{"clean", "", sandbox.NetSuiteOptions{}},
		{"faults", "429:0.05,503:0.03,slow:1ms:0.05,fail-page-once,dup-ts-at-page-boundary,retry-after:0", sandbox.NetSuiteOptions{}},
		{"expiring-tokens", "expire-token:every=5", sandbox.NetSuiteOptions{}},
		{"negative-offset-zone", "dup-ts-at-page-boundary", sandbox.NetSuiteOptions{DateFormat: "DD.MM.YYYY"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := sandbox.ParseFaults(tc.faults, 4)
			if err != nil {
				t.Fatal(err)
			}
			tc.opts.Faults = f
			tz := "America/Los_Angeles"
			if tc.name == "negative-offset-zone" {
				tz = "America/St_Johns" // UTC−03:30 / −02:30
				tc.opts.Location, _ = time.LoadLocation(tz)
			}
			_, srv := newAccount(t, c, tc.opts)
			src := newSource(t, srv, func(s *netsuite.Source) {
				s.TimeZone = tz
				if tc.opts.DateFormat != "" {
					s.DateFormat = tc.opts.DateFormat
				}
			})
			dir := t.TempDir()
			if _, err := run(t, dir, src, nil); err != nil {
				t.Fatal(err)
			}
			checkSame(t, landed(t, dir), want)
			noDoubleVersions(t, dir)
			for _, st := range []string{netsuite.StreamSalesOrder, netsuite.StreamSalesOrderLine, netsuite.StreamInvoice} {
				if n, w := len(rows(t, dir, st)), len(want[st]); n != w {
					t.Errorf("%s: %d rows, want exactly %d", st, n, w)
				}
			}
		})
	}
}

func TestExtract_MutateDuringExtract(t *testing.T) {
	c := company(t, fixtures.ScaleSmall)
	f, _ := sandbox.ParseFaults("mutate-during-extract,fail-page-once", 6)
	acct, srv := newAccount(t, c, sandbox.NetSuiteOptions{Faults: f})
	dir := t.TempDir()
	if _, err := run(t, dir, newSource(t, srv, nil), nil); err != nil {
		t.Fatal(err)
	}
	checkSame(t, landed(t, dir), expected(c))
	noDoubleVersions(t, dir)
	// the latest landed version of every order is the account's current one
	so := latest(rows(t, dir, netsuite.StreamSalesOrder), "id", "lastmodifieddate")
	for _, rec := range acct.Records("transaction", "SalesOrd") {
		if got := so[rec["id"]]["memo"]; got != rec["memo"] {
			t.Errorf("order %s: memo %q landed, account has %q", rec["id"], got, rec["memo"])
		}
	}
}

func TestExtract_KillAndResume(t *testing.T) {
	c := company(t, fixtures.ScaleSmall)
	want := expected(c)
	for _, k := range []int{1, 4} {
		t.Run(fmt.Sprint("after", k), func(t *testing.T) {
			f, _ := sandbox.ParseFaults("dup-ts-at-page-boundary,429:0.02", uint64(k))
			_, srv := newAccount(t, c, sandbox.NetSuiteOptions{Faults: f})
			dir := t.TempDir()
			for attempt := 0; ; attempt++ {
				if attempt > 300 {
					t.Fatal("did not finish")
				}
				ctx, cancel := context.WithCancel(context.Background())
				saves := 0
				r := &extract.Runner{DataDir: dir, PartRows: 300, CommitInterval: -1, Trace: func(ev extract.TraceEvent) {
					snapshot := ev.Stream == netsuite.StreamInventory || ev.Stream == netsuite.StreamCurrency ||
						ev.Stream == netsuite.StreamTerm || ev.Stream == netsuite.StreamLocation
					if ev.Kind == extract.TraceStateSaved && !snapshot {
						saves++
						if saves == k {
							cancel()
						}
					}
				}}
				_, err := r.Extract(ctx, "netsuite", newSource(t, srv, nil), extract.ExtractOptions{})
				cancel()
				if err == nil {
					break
				}
				if !errors.Is(err, context.Canceled) {
					t.Fatal(err)
				}
			}
			checkSame(t, landed(t, dir), want)
			noDoubleVersions(t, dir)
		})
	}
}

func TestExtract_Incremental(t *testing.T) {
	c := company(t, fixtures.ScaleSmall)
	acct, srv := newAccount(t, c, sandbox.NetSuiteOptions{})
	dir := t.TempDir()
	if _, err := run(t, dir, newSource(t, srv, nil), nil); err != nil {
		t.Fatal(err)
	}
	so, err := acct.Mutate("SalesOrd", 5, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	paid, err := acct.PayInvoices(4, 2)
	if err != nil {
		t.Fatal(err)
	}
	voided, err := acct.VoidInvoices(1, 3)
	if err != nil {
		t.Fatal(err)
	}
	cu, err := acct.Mutate("customer", 3, 0, 4)
	if err != nil {
		t.Fatal(err)
	}
	res, err := run(t, dir, newSource(t, srv, nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][2]int64{ // rows, tombstones
		netsuite.StreamSalesOrder: {5, 2}, netsuite.StreamInvoice: {5, 0}, netsuite.StreamCustomer: {3, 0},
		netsuite.StreamPayment: {0, 0}, netsuite.StreamSalesOrderLine: {0, 0}, netsuite.StreamItem: {0, 0},
	}
	for _, st := range res.Streams {
		w, ok := want[st.Stream]
		if !ok {
			continue
		}
		if !st.Incremental || st.Rows != w[0] || st.Deleted != w[1] {
			t.Errorf("%s: incremental=%v rows=%d deleted=%d, want rows=%d deleted=%d", st.Stream, st.Incremental, st.Rows, st.Deleted, w[0], w[1])
		}
	}
	tomb := laketest.Rows(t, laketest.Files(t, dir, "netsuite", netsuite.StreamSalesOrder+extract.DeletedSuffix)...)
	var gone []string
	for _, r := range tomb {
		gone = append(gone, r["key"])
	}
	sort.Strings(gone)
	if want := []string{strconv.FormatInt(so.Deleted[0], 10), strconv.FormatInt(so.Deleted[1], 10)}; strings.Join(gone, ",") != strings.Join(sortedStrings(want), ",") {
		t.Errorf("tombstones %v, want %v", gone, want)
	}
	inv := latest(rows(t, dir, netsuite.StreamInvoice), "id", "lastmodifieddate")
	for _, id := range paid.Changed {
		r := inv[strconv.FormatInt(id, 10)]
		if r["foreignamountremaining"] != "0.00" || r["status"] != "B" {
			t.Errorf("paid invoice %d: %v", id, r)
		}
	}
	if r := inv[strconv.FormatInt(voided.Changed[0], 10)]; r["voided"] != "true" || r["status"] != "V" {
		t.Errorf("voided invoice: %v", r)
	}
	_ = cu
}

func sortedStrings(s []string) []string { sort.Strings(s); return s }

// TestExtract_Windowing lowers the account's result cap to 300 rows: a plain offset pager
// fails past it, the connector's keyset reads complete.
func TestExtract_Windowing(t *testing.T) {
	c := company(t, fixtures.ScaleSmall)
	_, srv := newAccount(t, c, sandbox.NetSuiteOptions{MaxResults: 300})
	src := newSource(t, srv, func(s *netsuite.Source) { s.PageSize = 100 })
	dir := t.TempDir()
	if _, err := run(t, dir, src, nil); err != nil {
		t.Fatal(err)
	}
	got, want := landed(t, dir), expected(c)
	if len(want[netsuite.StreamSalesOrderLine]) <= 300 {
		t.Fatalf("the test needs more than 300 lines, the company has %d", len(want[netsuite.StreamSalesOrderLine]))
	}
	checkSame(t, got, want)
	// the same table through offsets hits the cap
	tok := token(t, srv)
	status, body := suiteqlPage(t, srv, tok, "SELECT id FROM transactionline ORDER BY uniquekey", 100, 300)
	if status != 400 || !strings.Contains(body, "INVALID_PARAMETER") {
		t.Fatalf("offset 300 with a cap of 300: %d %s", status, body)
	}
}

func TestExtract_HundredThousandCap(t *testing.T) {
	if testing.Short() {
		t.Skip("120,000 rows: run without -short")
	}
	acct, srv := newAccount(t, company(t, fixtures.ScaleSmall), sandbox.NetSuiteOptions{})
	acct.AddCustomers(120_000, 40)
	src := newSource(t, srv, func(s *netsuite.Source) { s.PageSize = 1000; s.StreamNames = []string{netsuite.StreamCustomer} })
	dir := t.TempDir()
	if _, err := run(t, dir, src, func(r *extract.Runner) { r.PartRows = 0 }); err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, r := range rows(t, dir, netsuite.StreamCustomer) {
		ids[r["id"]] = true
	}
	if want := acct.Count("customer", ""); len(ids) != want || want < 100_000 {
		t.Fatalf("%d customers landed, want %d", len(ids), want)
	}
}

func token(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	s := newSource(t, srv, nil)
	tok, err := netsuite.FetchTokenForTest(s, context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func suiteqlPage(t *testing.T, srv *httptest.Server, tok, q string, limit, offset int) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s%s?limit=%d&offset=%d", srv.URL, netsuite.SuiteQLPath, limit, offset),
		strings.NewReader(`{"q":`+strconv.Quote(q)+`}`))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Prefer", "transient")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestExtract_DSTAndValues puts sales orders at instants around DST changes and checks
// they land at the right UTC instant in the user's zone. A wall time the fall-back hour
// repeats is ambiguous in SuiteQL's text; rows there are placed by their order, and where
// order cannot tell (the repeat of the same wall time, or a later wall time after it) the
// row lands at the earlier instant — at most an hour early, never lost or doubled. With the
// user's zone set to GMT (recommended) every instant is exact.
func TestExtract_DSTAndValues(t *testing.T) {
	c := company(t, fixtures.ScaleSmall)
	type probe struct {
		at time.Time
	}
	for _, tz := range []string{"UTC", "America/New_York", "Europe/Berlin", "America/St_Johns"} {
		t.Run(strings.ReplaceAll(tz, "/", "_"), func(t *testing.T) {
			loc, _ := time.LoadLocation(tz)
			acct, srv := newAccount(t, c, sandbox.NetSuiteOptions{Location: loc})
			probes := []probe{
				{at: time.Date(2024, 3, 10, 6, 59, 59, 0, time.UTC)}, // 01:59:59 EST, then 03:00 EDT
				{at: time.Date(2024, 3, 10, 7, 0, 0, 0, time.UTC)},
				{at: time.Date(2024, 3, 31, 0, 59, 59, 0, time.UTC)}, // 01:59:59 CET, then 03:00 CEST
				{at: time.Date(2024, 3, 31, 1, 0, 0, 0, time.UTC)},
				{at: time.Date(2024, 10, 27, 0, 30, 0, 0, time.UTC)}, // 02:30 CEST (first)
				{at: time.Date(2024, 10, 27, 1, 30, 0, 0, time.UTC)}, // 02:30 CET (second)
				{at: time.Date(2024, 11, 3, 4, 30, 0, 0, time.UTC)},  // 01:30 NDT / 00:30 EDT
				{at: time.Date(2024, 11, 3, 5, 30, 0, 0, time.UTC)},  // 01:30 EDT (first)
				{at: time.Date(2024, 11, 3, 6, 30, 0, 0, time.UTC)},  // 01:30 EST (second)
				{at: time.Date(2024, 11, 3, 6, 45, 0, 0, time.UTC)},  // 01:45 EST (second)
			}
			orders := acct.Records("transaction", "SalesOrd")
			ids := make([]string, len(probes))
			for i, p := range probes {
				ids[i] = orders[i]["id"]
				id, _ := strconv.ParseInt(ids[i], 10, 64)
				if err := acct.SetLastModified("transaction", id, p.at); err != nil {
					t.Fatal(err)
				}
			}
			dir := t.TempDir()
			// two rows per page: DST instants fall on page boundaries
			src := newSource(t, srv, func(s *netsuite.Source) {
				s.TimeZone, s.PageSize, s.StreamNames = tz, 2, []string{netsuite.StreamSalesOrder}
			})
			if _, err := run(t, dir, src, nil); err != nil {
				t.Fatal(err)
			}
			all := rows(t, dir, netsuite.StreamSalesOrder)
			got := latest(all, "id", "lastmodifieddate")
			if len(all) != len(c.SalesOrders) || len(got) != len(c.SalesOrders) {
				t.Errorf("%d rows, %d orders, want %d", len(all), len(got), len(c.SalesOrders))
			}
			for i, p := range probes {
				landed, err := time.Parse(time.RFC3339, got[ids[i]]["lastmodifieddate"])
				if err != nil {
					t.Fatalf("order %s: %v", ids[i], err)
				}
				const wall = "2006-01-02 15:04:05"
				ambiguous := p.at.Add(-time.Hour).In(loc).Format(wall) == p.at.In(loc).Format(wall) // second occurrence
				switch {
				case landed.Equal(p.at):
				case ambiguous && !landed.Before(p.at.Add(-time.Hour)) && landed.Before(p.at):
					t.Logf("order %s at %s (%s, repeated wall time) landed at %s", ids[i], p.at.Format(time.RFC3339), p.at.In(loc).Format("15:04 MST"), landed.Format(time.RFC3339))
				default:
					t.Errorf("order %s: lastmodifieddate %s, want %s (%s)", ids[i], landed.Format(time.RFC3339), p.at.Format(time.RFC3339), p.at.In(loc).Format("15:04 MST"))
				}
			}
			o := c.SalesOrders[len(c.SalesOrders)-1]
			for _, r := range got {
				if r["tranid"] == o.ID.String() && (r["foreigntotal"] != o.Amount.String() || r["trandate"] != o.OrderDate.String()) {
					t.Errorf("%s: %v, want %s on %s", o.ID, r, o.Amount, o.OrderDate)
				}
			}
			st, _ := extract.LoadState(dir, "netsuite", netsuite.StreamSalesOrder)
			if !strings.Contains(string(st.Cursor), `Z"`) {
				t.Errorf("cursor %s is not UTC", st.Cursor)
			}
		})
	}
}

func TestExtract_SchemaDrift(t *testing.T) {
	c := company(t, fixtures.ScaleSmall)
	acct, srv := newAccount(t, c, sandbox.NetSuiteOptions{})
	dir := t.TempDir()
	one := func(s *netsuite.Source) { s.StreamNames = []string{netsuite.StreamSalesOrder} }
	if _, err := run(t, dir, newSource(t, srv, one), nil); err != nil {
		t.Fatal(err)
	}
	if err := acct.AddColumn("transaction", "custbody_region", suiteql.Text); err != nil {
		t.Fatal(err)
	}
	if err := acct.RemoveColumn("transaction", "createddate"); err != nil {
		t.Fatal(err)
	}
	if _, err := acct.Mutate("SalesOrd", 2, 0, 9); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, dir, newSource(t, srv, one), nil); err != nil {
		t.Fatal(err)
	}
	files := laketest.Files(t, dir, "netsuite", netsuite.StreamSalesOrder)
	tbl := laketest.ReadTable(t, newestPart(t, files))
	defer tbl.Release()
	if len(tbl.Schema().FieldIndices("memo")) != 1 || len(tbl.Schema().FieldIndices("createddate")) != 1 || tbl.NumRows() != 2 {
		t.Fatalf("after drift: %v rows=%d", tbl.Schema(), tbl.NumRows())
	}
	if err := acct.SetColumnType("transaction", "foreigntotal", suiteql.Text); err != nil {
		t.Fatal(err)
	}
	acct.Mutate("SalesOrd", 1, 0, 10)
	_, err := run(t, dir, newSource(t, srv, one), nil)
	var se *netsuite.SchemaError
	if !errors.As(err, &se) || se.Table != "transaction" || se.Field != "foreigntotal" {
		t.Fatalf("type change: err = %v, want a SchemaError naming transaction.foreigntotal", err)
	}
}

func TestAuth(t *testing.T) {
	_, srv := newAccount(t, company(t, fixtures.ScaleSmall), sandbox.NetSuiteOptions{})
	for _, tc := range []struct {
		name string
		edit func(*netsuite.Source)
		want string
	}{
		{"no key", func(s *netsuite.Source) { s.Getenv = func(string) string { return "" } }, "NETSUITE_PRIVATE_KEY"},
		{"wrong kid", func(s *netsuite.Source) { s.CertificateID = "other" }, "invalid_client"},
		{"wrong client", func(s *netsuite.Source) { s.ClientID = "other" }, "invalid_client"},
		{"clock skew", func(s *netsuite.Source) { s.Now = func() time.Time { return time.Now().Add(-2 * time.Hour) } }, "invalid_grant"},
		{"RS256", func(s *netsuite.Source) { s.Algorithm = "RS256" }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := newSource(t, srv, func(s *netsuite.Source) {
				s.StreamNames = []string{netsuite.StreamCurrency}
				tc.edit(s)
			})
			_, err := run(t, t.TempDir(), src, nil)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "PRIVATE KEY-----") {
				t.Fatalf("err = %v, want it to mention %q (and no key material)", err, tc.want)
			}
		})
	}
}

func TestInit_Errors(t *testing.T) {
	for _, tc := range []struct {
		edit func(*netsuite.Source)
		want string
	}{
		{func(s *netsuite.Source) { s.AccountID = "" }, "account_id"},
		{func(s *netsuite.Source) { s.ClientID = "" }, "client_id"},
		{func(s *netsuite.Source) { s.CertificateID = "" }, "certificate_id"},
		{func(s *netsuite.Source) { s.Algorithm = "HS256" }, "algorithm"},
		{func(s *netsuite.Source) { s.TimeZone = "Mars/Olympus" }, "time_zone"},
		{func(s *netsuite.Source) { s.PageSize = 5000 }, "page_size"},
		{func(s *netsuite.Source) { s.StreamNames = []string{"opportunity"} }, "unknown stream"},
	} {
		s := netsuite.New()
		s.AccountID, s.ClientID, s.CertificateID = "1234567_SB1", "c", "k"
		tc.edit(s)
		if err := s.Init(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Init() = %v, want an error mentioning %q", err, tc.want)
		}
	}
	s := netsuite.New()
	s.AccountID, s.ClientID, s.CertificateID = "1234567_SB1", "c", "k"
	if err := s.Init(); err != nil || s.URL != "https://1234567-sb1.suitetalk.api.netsuite.com" {
		t.Fatalf("Init() = %v, url %s", err, s.URL)
	}
}

func TestExtract_Medium(t *testing.T) {
	if testing.Short() {
		t.Skip("medium scale: run without -short")
	}
	c := company(t, fixtures.ScaleMedium)
	f, _ := sandbox.ParseFaults("429:0.02,503:0.02,fail-page-once,dup-ts-at-page-boundary,retry-after:0", 2)
	_, srv := newAccount(t, c, sandbox.NetSuiteOptions{Faults: f})
	dir := t.TempDir()
	if _, err := run(t, dir, newSource(t, srv, func(s *netsuite.Source) { s.PageSize = 1000 }), func(r *extract.Runner) { r.PartRows = 0 }); err != nil {
		t.Fatal(err)
	}
	checkSame(t, landed(t, dir), expected(c))
	noDoubleVersions(t, dir)
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
