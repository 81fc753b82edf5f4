package writeback

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/revcast/revcast/extract/salesforce"
)

// Salesforce objects and fields revcast writes. ForecastingItem is read-only in
// Salesforce, so period forecasts go to a custom object keyed by an External ID; tasks
// carry the same External ID field so a follow-up is created once.
const (
	SFForecastObject = "Revenue_Forecast__c"
	SFKeyField       = "Revcast_Key__c" // External ID (text, unique) on Revenue_Forecast__c and Task
	SFOpportunity    = "Opportunity"
	SFTask           = "Task"
)

// Salesforce field types of everything the target writes.
var sfFieldTypes = map[string]map[string]string{
	SFForecastObject: {
		"Name": TypeString, SFKeyField: TypeString, "Forecast_Run__c": TypeString, "As_Of_Date__c": TypeDate,
		"Period__c": TypeString, "Segment_Type__c": TypeString, "Segment__c": TypeString,
		"Closed_Amount__c": TypeCurrency, "Expected_Amount__c": TypeCurrency, "Commit_Amount__c": TypeCurrency,
		"Stage_Weighted_Amount__c": TypeCurrency, "P10_Amount__c": TypeCurrency, "P50_Amount__c": TypeCurrency,
		"P90_Amount__c": TypeCurrency,
	},
	SFOpportunity: {
		"Revcast_Win_Probability__c": TypePercent, "Revcast_Expected_Amount__c": TypeCurrency, "Revcast_Risk__c": TypeText,
		"Revcast_Forecast_Run__c": TypeString, "Revcast_Scored_At__c": TypeDateTime,
		"Revcast_Order_Status__c": TypeString, "Revcast_Tracking_Number__c": TypeString,
	},
	SFTask: {
		SFKeyField: TypeString, "WhatId": TypeRef, "OwnerId": TypeRef, "Subject": TypeString, "Description": TypeText,
		"Status": TypeString, "Priority": TypeString, "ActivityDate": TypeDate,
	},
}

// SalesforceFields lists every Object.Field the Salesforce target can write, sorted by
// workflow: the complete allow-list for a config that lets write-back do everything.
func SalesforceFields() map[string][]string {
	out := map[string][]string{}
	add := func(wf, object string, fields ...string) {
		for _, f := range fields {
			out[wf] = append(out[wf], object+"."+f)
		}
	}
	add(WorkflowForecasts, SFForecastObject, "Name", SFKeyField, "Forecast_Run__c", "As_Of_Date__c", "Period__c", "Segment_Type__c",
		"Segment__c", "Closed_Amount__c", "Expected_Amount__c", "Commit_Amount__c", "Stage_Weighted_Amount__c", "P10_Amount__c",
		"P50_Amount__c", "P90_Amount__c")
	add(WorkflowOpportunities, SFOpportunity, "Revcast_Win_Probability__c", "Revcast_Expected_Amount__c", "Revcast_Risk__c",
		"Revcast_Forecast_Run__c", "Revcast_Scored_At__c", "Revcast_Order_Status__c", "Revcast_Tracking_Number__c")
	add(WorkflowTasks, SFTask, SFKeyField, "WhatId", "OwnerId", "Subject", "Description", "Status", "Priority", "ActivityDate")
	return out
}

// SalesforceUpdatedFields lists, per object whose existing records revcast updates, the
// fields it writes: Opportunity and its Revcast_* deal fields. Tasks are created once and
// Revenue_Forecast__c records are revcast's own, so neither is listed. A version of such a
// record that differs from the one before only in these fields and Salesforce's write
// stamps is revcast's own write-back coming back (transform.EchoRule).
func SalesforceUpdatedFields() map[string][]string {
	return map[string][]string{SFOpportunity: slices.Sorted(maps.Keys(sfFieldTypes[SFOpportunity]))}
}

// SalesforceAPI is what the Salesforce target needs from a client: sObject Collections
// upsert by External ID and update by Id (both at most 200 records, per-record results),
// and SOQL queries.
type SalesforceAPI interface {
	Upsert(ctx context.Context, object, extIDField string, records []map[string]any, allOrNone bool) ([]salesforce.UpsertResult, error)
	UpdateCollection(ctx context.Context, records []map[string]any, allOrNone bool) ([]salesforce.UpsertResult, error)
	Query(ctx context.Context, soql string) ([]map[string]any, error)
}

// Salesforce is the Salesforce target.
type Salesforce struct {
	name string
	api  SalesforceAPI
	// Requests is how many read queries may wait for the CRM at once; default
	// DefaultRequests (Writer.Requests governs the writes).
	Requests int
	// LakeDir is where the project's lake is now. Copy looks there for a landed file whose
	// recorded path (meta.loaded_files) is gone: a project moved or restored elsewhere.
	LakeDir string
}

// NewSalesforce returns the target for the configured Salesforce source name, talking
// through api (see NewSalesforceAPI).
func NewSalesforce(name string, api SalesforceAPI) *Salesforce {
	return &Salesforce{name: name, api: api}
}

// Name implements Target.
func (s *Salesforce) Name() string { return s.name }

var sfIDRE = regexp.MustCompile(`^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$`)

// Plan implements Target: Revenue_Forecast__c records by Revcast_Key__c for forecasts,
// Revcast_* fields on Opportunity by Id for deals, Tasks by Revcast_Key__c for follow-ups.
func (s *Salesforce) Plan(workflow string, in *Inputs) ([]Change, []string) {
	switch workflow {
	case WorkflowForecasts:
		return s.planForecasts(in), nil
	case WorkflowOpportunities:
		return s.planDeals(in)
	case WorkflowTasks:
		return s.planTasks(in)
	}
	return nil, []string{fmt.Sprintf("salesforce: no workflow %q", workflow)}
}

// ForecastKey is the External ID of a period forecast: forecast type, period, segment
// type and segment, so every run of the same forecast updates the same record.
func ForecastKey(forecastType, period, segmentType, segment string) string {
	return sanitizeKey("fc", forecastType, period, segmentType, segment)
}

func (s *Salesforce) planForecasts(in *Inputs) []Change {
	types := sfFieldTypes[SFForecastObject]
	var out []Change
	for _, p := range in.Periods {
		key := ForecastKey(p.ForecastType, p.Period, p.SegmentType, p.Segment)
		name := fmt.Sprintf("Revcast %s %s %s", p.Period, p.SegmentType, p.Segment)
		if p.ForecastType != "bookings" {
			name = fmt.Sprintf("Revcast %s %s %s %s", p.ForecastType, p.Period, p.SegmentType, p.Segment)
		}
		f := map[string]any{
			"Name": truncate(name, 80), SFKeyField: key, "Forecast_Run__c": truncate(in.RunID, 255),
			"As_Of_Date__c": in.AsOf.Format("2006-01-02"), "Period__c": truncate(p.Period, 255),
			"Segment_Type__c": truncate(p.SegmentType, 255), "Segment__c": truncate(p.Segment, 255),
			"Closed_Amount__c": money(p.Closed), "Expected_Amount__c": money(p.Expected), "Commit_Amount__c": money(p.Commit),
			"Stage_Weighted_Amount__c": money(p.StageWeighted), "P10_Amount__c": money(p.P10), "P50_Amount__c": money(p.P50),
			"P90_Amount__c": money(p.P90),
		}
		out = append(out, Change{Workflow: WorkflowForecasts, Kind: KindForecast, Object: SFForecastObject, KeyField: SFKeyField,
			Key: key, Fields: f, Types: types, Provenance: []string{"Forecast_Run__c", "As_Of_Date__c"},
			Reason:    fmt.Sprintf("%s forecast for %s, %s %s, from forecast run %s", p.ForecastType, p.Period, p.SegmentType, p.Segment, in.RunID),
			SourceRun: in.RunID, SourceIDs: []string{in.RunID + "/" + p.Period + "/" + p.SegmentType + "/" + p.Segment}})
	}
	return out
}

// scoreProvenance and orderStatusKinds are shared by every deal's Change (a large CRM
// plans half a million; nothing modifies a Change's Provenance or FieldKinds after
// planning; the full slice expression makes an append copy).
var (
	scoreProvenance  = []string{"Revcast_Forecast_Run__c", "Revcast_Scored_At__c"}[:2:2]
	orderStatusKinds = map[string]string{"Revcast_Order_Status__c": KindOrderStatus, "Revcast_Tracking_Number__c": KindOrderStatus}
)

func (s *Salesforce) planDeals(in *Inputs) ([]Change, []string) {
	types := sfFieldTypes[SFOpportunity]
	out := make([]Change, 0, len(in.Deals))
	bad := 0
	for _, d := range in.Deals {
		if !sfIDRE.MatchString(d.RecordID) {
			bad++
			continue
		}
		f := make(map[string]any, 7)
		var kinds map[string]string
		var prov []string
		if d.Scored {
			f["Revcast_Win_Probability__c"] = round(d.PWin*100, 1)
			f["Revcast_Expected_Amount__c"] = money(d.Expected)
			f["Revcast_Forecast_Run__c"] = truncate(in.RunID, 255)
			f["Revcast_Scored_At__c"] = in.CreatedAt.Format("2006-01-02T15:04:05Z")
			prov = scoreProvenance
		}
		f["Revcast_Risk__c"] = nilIfEmpty(strings.Join(d.Flags, "; "))
		if d.HasOrder {
			f["Revcast_Order_Status__c"] = nilIfEmpty(truncate(d.ERPStatus, 255))
			f["Revcast_Tracking_Number__c"] = nilIfEmpty(truncate(d.Tracking, 255))
			kinds = orderStatusKinds
		}
		reason := "deal score"
		switch {
		case d.Scored && d.HasOrder:
			reason = fmt.Sprintf("win probability and risk from forecast run %s; ERP order %s is %s", in.RunID, d.OrderID, d.ERPStatus)
		case d.Scored:
			reason = fmt.Sprintf("win probability and risk from forecast run %s", in.RunID)
		case d.HasOrder:
			reason = fmt.Sprintf("ERP order %s is %s", d.OrderID, d.ERPStatus)
		}
		src := []string{d.OpportunityID}
		if d.OrderID != "" {
			src = append(src, d.OrderID)
		}
		out = append(out, Change{Workflow: WorkflowOpportunities, Kind: KindOpportunity, Object: SFOpportunity, KeyField: "Id",
			Key: d.RecordID, Fields: f, Types: types, FieldKinds: kinds, Provenance: prov, Reason: reason, SourceRun: in.RunID, SourceIDs: src})
	}
	var notes []string
	if bad > 0 {
		notes = append(notes, fmt.Sprintf("%d deals have a source_id that is not a Salesforce id; skipped", bad))
	}
	return out, notes
}

func (s *Salesforce) planTasks(in *Inputs) ([]Change, []string) {
	types := sfFieldTypes[SFTask]
	var out []Change
	task := func(kind, key, subject, desc, priority, due string, d *DealRow, reason string, src ...string) {
		f := map[string]any{SFKeyField: key, "WhatId": d.RecordID, "Subject": truncate(subject, 255), "Description": desc,
			"Status": "Not Started", "Priority": priority}
		if due != "" {
			f["ActivityDate"] = due
		}
		if strings.HasPrefix(d.OwnerID, "005") && sfIDRE.MatchString(d.OwnerID) {
			f["OwnerId"] = d.OwnerID
		}
		out = append(out, Change{Workflow: WorkflowTasks, Kind: kind, Object: SFTask, KeyField: SFKeyField, Key: key, Fields: f,
			Types: types, CreateOnly: true, Provenance: []string{"ActivityDate"}, Reason: reason, SourceRun: in.RunID,
			SourceIDs: append([]string{d.OpportunityID}, src...)})
	}
	for _, r := range in.OrderReviews {
		if !sfIDRE.MatchString(r.Deal.RecordID) {
			continue
		}
		key := sanitizeKey("task", "order", r.Deal.OpportunityID, r.ERPStatus, r.StatusDate)
		desc := fmt.Sprintf("The ERP order %s of this deal is %s", r.OrderID, r.ERPStatus)
		if r.StatusDate != "" {
			desc += " since " + r.StatusDate
		}
		desc += "."
		if r.WhatChanged != "" {
			desc += " Change: " + r.WhatChanged + "."
		}
		if r.Deal.Tracking != "" {
			desc += " Tracking: " + r.Deal.Tracking + "."
		}
		desc += " Check with fulfilment and tell the customer. (Created by revcast.)"
		task(KindOrderReviewTask, key, fmt.Sprintf("Revcast: ERP order %s is %s", r.OrderID, r.ERPStatus), desc, "High",
			addDays(r.AsOf, 2), r.Deal, fmt.Sprintf("ERP order %s needs review (%s)", r.OrderID, r.ERPStatus), r.OrderID)
	}
	for _, v := range in.Variances {
		if !sfIDRE.MatchString(v.Deal.RecordID) {
			continue
		}
		key := sanitizeKey("task", "variance", v.VarianceID)
		desc := strings.TrimSuffix(strings.TrimSpace(v.Explanation), ".")
		if v.CRMAmount.Valid || v.ERPAmount.Valid {
			desc += fmt.Sprintf(" (CRM %s, ERP %s, base currency)", amountText(v.CRMAmount), amountText(v.ERPAmount))
		}
		desc += ". Reconcile the CRM and the ERP. (Created by revcast.)"
		due := ""
		if !in.AsOf.IsZero() {
			due = in.AsOf.AddDate(0, 0, 5).Format("2006-01-02")
		}
		src := []string{v.VarianceID}
		if v.ERPRecordID != "" {
			src = append(src, v.ERPRecordID)
		}
		task(KindVarianceTask, key, "Revcast: "+strings.ReplaceAll(v.Kind, "_", " ")+" (high severity)", strings.TrimSpace(desc), "High",
			due, v.Deal, fmt.Sprintf("high-severity variance %s", v.VarianceID), src...)
	}
	return out, nil
}

// Current implements Target with SOQL: SELECT Id, keyField, fields FROM object WHERE
// keyField IN (...), in chunks that keep the query URL short.
func (s *Salesforce) Current(ctx context.Context, object, keyField string, keys, fields []string) (map[string]Current, error) {
	sel := []string{"Id"}
	if keyField != "Id" {
		sel = append(sel, keyField)
	}
	for _, f := range fields {
		if !strings.EqualFold(f, "Id") && !strings.EqualFold(f, keyField) {
			sel = append(sel, f)
		}
	}
	var chunks [][]string
	for start := 0; start < len(keys); {
		end, size := start, 0
		for end < len(keys) && (end == start || size+len(keys[end]) < 6000) && end-start < MaxBatch {
			size += len(keys[end]) + 4
			end++
		}
		chunks = append(chunks, keys[start:end])
		start = end
	}
	// The queries run concurrently (reads change nothing, so their order does not matter);
	// the results are merged in chunk order.
	found := make([]map[string]Current, len(chunks))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(cmp.Or(max(s.Requests, 0), DefaultRequests))
	for i, chunk := range chunks {
		g.Go(func() error {
			lits := make([]string, 0, len(chunk))
			match := newKeyMatcher(chunk)
			for _, k := range chunk {
				lits = append(lits, soqlString(k))
			}
			q := fmt.Sprintf("SELECT %s FROM %s WHERE %s IN (%s)", strings.Join(sel, ", "), object, keyField, strings.Join(lits, ", "))
			recs, err := s.api.Query(gctx, q)
			if err != nil {
				return fmt.Errorf("read %s records by %s: %w", object, keyField, err)
			}
			part := make(map[string]Current, len(recs))
			for _, r := range recs {
				id, _ := r["Id"].(string)
				k, _ := r[keyField].(string)
				if keyField == "Id" {
					k = match(id)
				} else {
					k = match(k)
				}
				cur := Current{ID: id, Fields: map[string]any{}}
				for _, f := range fields {
					cur.Fields[f] = lookupFold(r, f)
				}
				part[k] = cur
			}
			found[i] = part
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out := map[string]Current{}
	for _, part := range found {
		maps.Copy(out, part)
	}
	return out, nil
}

// newKeyMatcher returns a function that gives the key of keys a returned value v stands
// for (Salesforce compares External IDs case-insensitively and accepts 15- for
// 18-character ids), or v itself.
func newKeyMatcher(keys []string) func(v string) string {
	fold := make(map[string]string, len(keys))
	short := map[string]string{}
	for _, k := range keys {
		fold[strings.ToLower(k)] = k
		if len(k) == 15 {
			short[k] = k
		}
	}
	return func(v string) string {
		if k, ok := fold[strings.ToLower(v)]; ok {
			return k
		}
		if len(v) == 18 {
			if k, ok := short[v[:15]]; ok {
				return k
			}
		}
		return v
	}
}

func lookupFold(r map[string]any, f string) any {
	if v, ok := r[f]; ok {
		return v
	}
	for k, v := range r {
		if strings.EqualFold(k, f) {
			return v
		}
	}
	return nil
}

// Write implements Target: upsert by External ID, or update by Id, through sObject
// Collections without allOrNone, so one bad record does not hold back the others.
func (s *Salesforce) Write(ctx context.Context, object, keyField string, records []map[string]any) ([]Result, error) {
	var res []salesforce.UpsertResult
	var err error
	if keyField == "Id" {
		recs := make([]map[string]any, len(records))
		for i, r := range records {
			m := make(map[string]any, len(r)+2)
			for k, v := range r {
				m[k] = v
			}
			m["attributes"] = map[string]string{"type": object}
			recs[i] = m
		}
		res, err = s.api.UpdateCollection(ctx, recs, false)
	} else {
		res, err = s.api.Upsert(ctx, object, keyField, records, false)
	}
	if err != nil {
		return nil, err
	}
	if len(res) != len(records) {
		return nil, fmt.Errorf("salesforce: write %s: %d results for %d records", object, len(res), len(records))
	}
	out := make([]Result, len(res))
	for i, r := range res {
		out[i] = Result{OK: r.Success, ID: r.ID, Created: r.Created}
		if !r.Success {
			var codes, msgs []string
			transient := len(r.Errors) > 0
			for _, e := range r.Errors {
				codes = append(codes, e.StatusCode)
				msg := e.Message
				if len(e.Fields) > 0 {
					msg += " [" + strings.Join(e.Fields, ", ") + "]"
				}
				msgs = append(msgs, msg)
				transient = transient && sfTransient[e.StatusCode]
			}
			out[i].Code, out[i].Message, out[i].Transient = strings.Join(codes, ","), strings.Join(msgs, "; "), transient
		}
	}
	return out, nil
}

// sfTransient are the record errors worth retrying within a run.
var sfTransient = map[string]bool{
	"UNABLE_TO_LOCK_ROW": true, "REQUEST_RUNNING_TOO_LONG": true, "SERVER_UNAVAILABLE": true,
	"ALL_OR_NONE_OPERATION_ROLLED_BACK": true, "QUERY_TIMEOUT": true, "TXN_SECURITY_METERING_ERROR": true,
}

// soqlEscaper escapes a SOQL string literal's characters (built once: a Replacer builds
// its lookup table on first use, which per call was a third of a large write-back's
// allocations).
var soqlEscaper = strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`, "\r", `\r`, "\t", `\t`)

// soqlString quotes s as a SOQL string literal.
func soqlString(s string) string {
	return "'" + soqlEscaper.Replace(s) + "'"
}

func money(v sql.NullFloat64) any {
	if !v.Valid || math.IsNaN(v.Float64) || math.IsInf(v.Float64, 0) {
		return nil
	}
	return round(v.Float64, 2)
}

func round(v float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(v*p) / p
}

func amountText(v sql.NullFloat64) string {
	if !v.Valid {
		return "-"
	}
	return fmt.Sprintf("%.2f", v.Float64)
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

func addDays(date string, n int) string {
	t, err := time.Parse("2006-01-02", date)
	if err != nil {
		return ""
	}
	return t.AddDate(0, 0, n).Format("2006-01-02")
}
