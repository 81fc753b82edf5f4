package extract

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// benchOpportunityBatches returns n record batches of rows rows each shaped like the
// Salesforce connector's opportunity stream (its 25 columns and types: 18-character ids,
// picklists, decimal(18,2) amounts, dates, booleans, microsecond timestamps), with seeded
// values whose repetition resembles a CRM's: 5,000 accounts, 50 owners, 7 stages, mostly
// empty optional fields, SystemModstamp increasing.
func benchOpportunityBatches(n, rows int) []arrow.RecordBatch {
	str := func(name string) arrow.Field {
		return arrow.Field{Name: name, Type: arrow.BinaryTypes.String, Nullable: true}
	}
	typed := func(name string, t arrow.DataType) arrow.Field {
		return arrow.Field{Name: name, Type: t, Nullable: true}
	}
	f64, boolean, date := arrow.PrimitiveTypes.Float64, arrow.FixedWidthTypes.Boolean, arrow.FixedWidthTypes.Date32
	schema := arrow.NewSchema([]arrow.Field{
		str("Id"), str("AccountId"), str("OwnerId"), str("Name"), str("Type"), str("StageName"), str("ForecastCategoryName"),
		typed("Probability", f64), typed("Amount", DecimalType), str("CurrencyIsoCode"), typed("CloseDate", date),
		typed("IsClosed", boolean), typed("IsWon", boolean), str("LeadSource"), str("NextStep"), str("ContractId"),
		typed("Discount__c", f64), typed("Revcast_Win_Probability__c", f64), typed("Revcast_Expected_Amount__c", DecimalType),
		str("Revcast_Forecast_Run__c"), typed("Revcast_Scored_At__c", TimestampType), typed("CreatedDate", TimestampType),
		typed("LastModifiedDate", TimestampType), typed("SystemModstamp", TimestampType), typed("IsDeleted", boolean),
	}, nil)
	stages := []struct {
		name, category string
		prob           float64
	}{{"Prospecting", "Pipeline", 10}, {"Qualification", "Pipeline", 20}, {"Needs Analysis", "Pipeline", 30},
		{"Proposal/Price Quote", "Best Case", 60}, {"Negotiation/Review", "Commit", 90}, {"Closed Won", "Closed", 100},
		{"Closed Lost", "Omitted", 0}}
	types := []string{"New Business", "Existing Business", "Renewal"}
	currencies := []string{"USD", "USD", "USD", "EUR", "GBP"}
	sources := []string{"Web", "Phone Inquiry", "Partner Referral", "Trade Show", "Word of mouth", "Other"}
	words := []string{"Platform", "Expansion", "Renewal", "Upgrade", "Pilot", "Services", "Hardware", "Licences"}
	r := rand.New(rand.NewPCG(1, 2))
	sfID := func(prefix string, k int) string { return fmt.Sprintf("%s5e%011dAAA", prefix, k) }
	start := time.Date(2024, 5, 20, 20, 49, 32, 0, time.UTC).UnixMicro()
	out := make([]arrow.RecordBatch, n)
	rb := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer rb.Release()
	k := 0
	for bi := range out {
		for range rows {
			k++
			st := stages[r.IntN(len(stages))]
			acct := r.IntN(5000)
			created := start + int64(k/4)*1e6 - int64(r.IntN(900))*86400e6
			stamp := start + int64(k/4)*1e6
			rb.Field(0).(*array.StringBuilder).Append(sfID("006", k))
			rb.Field(1).(*array.StringBuilder).Append(sfID("001", acct))
			rb.Field(2).(*array.StringBuilder).Append(sfID("005", r.IntN(50)))
			rb.Field(3).(*array.StringBuilder).Append(fmt.Sprintf("Account %d - %s %d", acct, words[r.IntN(len(words))], 1+r.IntN(9)))
			rb.Field(4).(*array.StringBuilder).Append(types[r.IntN(len(types))])
			rb.Field(5).(*array.StringBuilder).Append(st.name)
			rb.Field(6).(*array.StringBuilder).Append(st.category)
			rb.Field(7).(*array.Float64Builder).Append(st.prob)
			rb.Field(8).(*array.Decimal128Builder).Append(decimal128.FromI64(int64(r.ExpFloat64() * 3_000_000)))
			rb.Field(9).(*array.StringBuilder).Append(currencies[r.IntN(len(currencies))])
			rb.Field(10).(*array.Date32Builder).Append(arrow.Date32(19500 + r.IntN(1100)))
			rb.Field(11).(*array.BooleanBuilder).Append(st.prob == 0 || st.prob == 100)
			rb.Field(12).(*array.BooleanBuilder).Append(st.prob == 100)
			rb.Field(13).(*array.StringBuilder).Append(sources[r.IntN(len(sources))])
			if r.IntN(5) == 0 {
				rb.Field(14).(*array.StringBuilder).Append("Follow up with " + words[r.IntN(len(words))])
			} else {
				rb.Field(14).AppendNull()
			}
			if r.IntN(10) == 0 {
				rb.Field(15).(*array.StringBuilder).Append(sfID("800", r.IntN(20000)))
			} else {
				rb.Field(15).AppendNull()
			}
			rb.Field(16).(*array.Float64Builder).Append(float64(r.IntN(4)) * 5)
			for _, i := range []int{17, 18, 19, 20} { // write-back fields: not scored yet
				rb.Field(i).AppendNull()
			}
			rb.Field(21).(*array.TimestampBuilder).Append(arrow.Timestamp(created))
			rb.Field(22).(*array.TimestampBuilder).Append(arrow.Timestamp(stamp))
			rb.Field(23).(*array.TimestampBuilder).Append(arrow.Timestamp(stamp))
			rb.Field(24).(*array.BooleanBuilder).Append(false)
		}
		out[bi] = rb.NewRecordBatch()
	}
	return out
}

// BenchmarkLandParquet measures the Runner's landing of an opportunity-shaped stream:
// 100 Arrow batches of 2,000 rows (one Salesforce page each) written by a lane into one
// Parquet part with the Runner's writer properties (zstd level 1, row groups of 128k rows,
// dictionaries only where values repeat, decimals as INT64), then the footer metadata,
// flush, fsync, rename and folder fsync of closing the part. MB/s is of in-memory Arrow
// bytes; disk-B/op is the part's size.
func BenchmarkLandParquet(b *testing.B) {
	const batches, rows = 100, 2000
	recs := benchOpportunityBatches(batches, rows)
	defer func() {
		for _, rec := range recs {
			rec.Release()
		}
	}()
	var arrowBytes int64
	for _, rec := range recs {
		arrowBytes += recordBytes(rec)
	}
	dir := b.TempDir()
	r := &Runner{DataDir: dir, runID: "20240520T204932Z-000000"}
	root := filepath.Join(dir, "lake", "bench", "opportunity")
	l := &lane{r: r, source: "bench", name: "opportunity", root: root, dtDir: filepath.Join(root, "dt=2024-05-20"), keys: []string{"Id"}}
	cursor := []byte(`{"ts":"2024-05-20T20:49:32.000000Z","ids":["0065e00000000001AAA"]}`)
	b.SetBytes(arrowBytes)
	b.ReportAllocs()
	var diskBytes int64
	for b.Loop() {
		for _, rec := range recs {
			if err := l.write(rec, cursor); err != nil {
				b.Fatal(err)
			}
		}
		if err := l.closePart(); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		for _, p := range l.committedNow() {
			diskBytes += p.size
			if err := os.Remove(p.path); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(batches*rows*b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(diskBytes)/float64(b.N), "disk-B/op")
}
