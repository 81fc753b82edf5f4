// Package writeback puts revcast's results into the CRM, under governance: period
// forecasts into a forecast object, scores, risk flags and ERP order status onto
// opportunities, and follow-up tasks for orders that need review and for high-severity
// reconciliation variances.
//
// A run (Writer.Run) goes:
//
//  1. Plan: read the latest forecast run and the marts from the warehouse and let the
//     Target map them to CRM records (Change: object, key, fields), one workflow at a
//     time; workflows in read_only mode plan nothing. Approved approvals not yet applied
//     join the plan with their approved payload.
//  2. Least privilege: every field of every change must be on the target's allow-list,
//     else the run stops before any request is made, naming Object.Field and the config key.
//  3. Diff: read what the CRM holds now for exactly those records and drop the fields that
//     already hold the wanted value (tasks are created once and never overwritten). A
//     target whose records the warehouse also holds (CopyReader: the Opportunities the
//     last extraction landed) is diffed against that copy first, and only the records
//     whose copy differs are read from the CRM.
//  4. Gate: in review mode every change waits in approvals; in auto mode a change waits
//     when it moves an amount by more than the amount threshold or by more than change_pct
//     percent, or touches a flagged kind. A change that was rejected with the same content
//     is not queued again; a pending one that a newer change replaces is rejected as
//     superseded.
//  5. Write: the rest goes out in batches of 200 (sObject Collections for Salesforce), by
//     a deterministic key, so a re-run or retry updates instead of duplicating; up to
//     Writer.Requests batches wait for the CRM at once, their answers logged in batch order. Record
//     errors are retried up to MaxAttempts (transient ones within the run; the others on
//     the next run, since the diff plans them again).
//
// Every attempt's outcome is one writeback_log row and one audit_log row, committed
// together after the CRM answered the batch (with the answers of the batches that arrived
// while the one before was logged): a run cut short leaves a log that holds exactly what
// the CRM confirmed, and the next run's diff finds the rest.
//
// With DryRun the run stops after step 4 and the diff is the result: the CRM is only read.
package writeback

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/revcast/revcast/reports/audit"
)

// Workflows are the kinds of write-back, each with its own mode.
const (
	WorkflowForecasts     = "forecasts"     // period forecasts into the CRM's forecast object
	WorkflowOpportunities = "opportunities" // win probability, risk flags, ERP order status on deals
	WorkflowTasks         = "tasks"         // follow-up tasks for orders and variances to review
)

// AllWorkflows lists the workflows in the order a run handles them.
var AllWorkflows = []string{WorkflowForecasts, WorkflowOpportunities, WorkflowTasks}

// Modes of a workflow.
const (
	ModeReadOnly = "read_only" // write nothing
	ModeReview   = "review"    // every change waits for approval
	ModeAuto     = "auto"      // write what is under the thresholds, queue the rest
)

// Kinds of change, for the thresholds' flagged kinds.
const (
	KindForecast        = "forecast"          // a period forecast record
	KindOpportunity     = "opportunity_score" // win probability, expected amount, risk flags
	KindOrderStatus     = "order_status"      // ERP order status and tracking number on a deal
	KindOrderReviewTask = "order_review_task" // a task for an order that needs review
	KindVarianceTask    = "variance_task"     // a task for a high-severity variance
)

// AllKinds lists the change kinds.
var AllKinds = []string{KindForecast, KindOpportunity, KindOrderStatus, KindOrderReviewTask, KindVarianceTask}

// Field types, for comparing values and for the amount thresholds.
const (
	TypeString   = "string"
	TypeText     = "textarea"
	TypeCurrency = "currency"
	TypePercent  = "percent"
	TypeNumber   = "double"
	TypeDate     = "date"
	TypeDateTime = "datetime"
	TypeRef      = "reference"
)

// Change is one record revcast wants the CRM to hold.
type Change struct {
	Workflow string `json:"workflow"`
	Kind     string `json:"kind"`
	Object   string `json:"object"`
	// KeyField is the field the record is addressed by: an External ID field (upsert) or
	// "Id" (update of an existing record).
	KeyField string `json:"key_field"`
	Key      string `json:"key"`
	// Fields are the values to write (the External ID field included for an upsert).
	Fields map[string]any `json:"fields"`
	// Types gives each field's type (TypeCurrency ...).
	Types map[string]string `json:"types"`
	// FieldKinds overrides Kind for some fields (order status on a deal).
	FieldKinds map[string]string `json:"field_kinds,omitempty"`
	// CreateOnly records are created once and never updated (tasks: a person works them).
	CreateOnly bool `json:"create_only,omitempty"`
	// Provenance fields (run id, as-of date) are written but do not count as a change of
	// content: they neither trigger a write alone nor make a rejected change new again.
	Provenance []string `json:"provenance,omitempty"`
	// Reason says why revcast writes it, for people reading approvals and the audit log.
	Reason string `json:"reason"`
	// SourceRun is the forecast run (or build) the values come from; SourceIDs the
	// warehouse records behind them.
	SourceRun string   `json:"source_run"`
	SourceIDs []string `json:"source_ids,omitempty"`
}

// RecordKey is "Object:key", the record's name in logs and approvals.
func (c *Change) RecordKey() string { return c.Object + ":" + c.Key }

// kindOf returns the kind of a field of c.
func (c *Change) kindOf(field string) string {
	if k, ok := c.FieldKinds[field]; ok {
		return k
	}
	return c.Kind
}

// Payload is the canonical JSON of what is written: the fields, sorted by name.
func (c *Change) Payload() []byte {
	b, err := json.Marshal(c.Fields) // encoding/json sorts map keys
	if err != nil {
		panic(fmt.Sprintf("writeback: payload of %s: %v", c.RecordKey(), err)) // values are ours: strings, numbers, bools
	}
	return b
}

// ContentHash hashes the record key and the fields except provenance: two changes with
// the same content hash ask for the same values.
func (c *Change) ContentHash() string {
	content := maps.Clone(c.Fields)
	for _, f := range c.Provenance {
		delete(content, f)
	}
	b, _ := json.Marshal(map[string]any{"object": c.Object, "key": c.Key, "fields": content})
	return audit.SHA256(b)
}

// fieldNames returns c's fields sorted.
func (c *Change) fieldNames() []string {
	names := slices.Collect(maps.Keys(c.Fields))
	slices.Sort(names)
	return names
}

// FieldDiff is one field whose CRM value differs from the wanted one.
type FieldDiff struct {
	Field string
	Old   any // nil when the record or the value does not exist
	New   any
}

// Planned is a change after the diff: what differs, and what the gate decided.
type Planned struct {
	Change
	// RecordID is the CRM id of the existing record, empty when it will be created.
	RecordID string
	Exists   bool
	Diffs    []FieldDiff
	// Decision is write, queue (held for approval), unchanged, or skip (rejected before
	// with the same content, or already queued).
	Decision string
	// Why explains a queue or skip decision, naming the threshold's config key.
	Why string
	// ApprovalID is the approval this change comes from (Approved) or waits in (queued,
	// or skipped because it already waits or was rejected).
	ApprovalID int64
	// Approved is set for a change that a person approved: it is written as approved.
	Approved bool
	// Error is the CRM's answer to a write that failed for good in this run.
	Error string
}

// Decisions of the gate.
const (
	DecisionWrite     = "write"
	DecisionQueue     = "queue"
	DecisionUnchanged = "unchanged"
	DecisionSkip      = "skip"
)

// Action returns create or update.
func (p *Planned) Action() string {
	if p.Exists {
		return "update"
	}
	return "create"
}

// sanitizeKey makes an External ID value from parts: printable, at most 255 characters
// (Salesforce's limit for a text External ID), distinct parts joined by '|'. A long key is
// cut and suffixed with a hash of the whole, so it stays unique and deterministic.
func sanitizeKey(parts ...string) string {
	clean := make([]string, len(parts))
	for i, p := range parts {
		clean[i] = strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f || r == '|' {
				return '_'
			}
			return r
		}, strings.TrimSpace(p))
	}
	k := strings.Join(clean, "|")
	if len(k) <= 255 {
		return k
	}
	sum := audit.SHA256([]byte(k))[:16]
	cut := 255 - 17
	for cut > 0 && !utf8.RuneStart(k[cut]) {
		cut--
	}
	return k[:cut] + "~" + sum
}
