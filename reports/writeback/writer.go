package writeback

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/revcast/revcast"
	"github.com/revcast/revcast/extract/salesforce"
	"github.com/revcast/revcast/internal/duckx"
	"github.com/revcast/revcast/reports/audit"
)

// Thresholds decide which changes wait for approval in auto mode.
type Thresholds struct {
	// Amount: a change that moves a currency field by more than this (base currency; the
	// full value for a new record) waits. 0 turns the check off.
	Amount float64
	// ChangePct: a change that moves a currency field by more than this percentage of
	// its current (non-zero) value waits. 0 turns the check off.
	ChangePct float64
	// Kinds are change kinds (AllKinds) that always wait.
	Kinds []string
}

// Policy is the governance of a target, from the config's writeback section.
type Policy struct {
	// Modes gives each workflow's mode; a workflow not listed is read_only.
	Modes map[string]string
	// ModeKeys names the config key each workflow's mode came from, for messages
	// (default "writeback.mode").
	ModeKeys map[string]string
	// Allow lists the Object.Field entries that may be written (case-insensitive).
	Allow []string
	// AllowKey names the config key of Allow, for messages (default "writeback.allow").
	AllowKey   string
	Thresholds Thresholds
	// MaxAttempts bounds the attempts per record within a run (default 3).
	MaxAttempts int
}

func (p *Policy) mode(wf string) string {
	if m, ok := p.Modes[wf]; ok && m != "" {
		return m
	}
	return ModeReadOnly
}

func (p *Policy) modeKey(wf string) string {
	if k := p.ModeKeys[wf]; k != "" {
		return k
	}
	return "writeback.mode"
}

// CheckAllowed returns an EINVALID error naming every Object.Field of changes that is not
// allow-listed, and the config key to add it to; nil when all are.
func (p *Policy) CheckAllowed(target string, changes []Change) error {
	allowed := map[string]bool{}
	for _, a := range p.Allow {
		allowed[strings.ToLower(a)] = true
	}
	bad := map[string]string{} // Object.Field → workflow
	for _, c := range changes {
		for f := range c.Fields {
			name := c.Object + "." + f
			if !allowed[strings.ToLower(name)] {
				bad[name] = c.Workflow
			}
		}
	}
	if len(bad) == 0 {
		return nil
	}
	names := slices.Sorted(maps.Keys(bad))
	key := p.AllowKey
	if key == "" {
		key = "writeback.allow"
	}
	var wfs []string
	for _, n := range names {
		if wf := bad[n]; !slices.Contains(wfs, wf) {
			wfs = append(wfs, wf)
		}
	}
	slices.Sort(wfs)
	hint := make([]string, len(wfs))
	for i, wf := range wfs {
		hint[i] = "writeback.workflows." + wf + ": read_only"
	}
	return revcast.Errorf(revcast.EINVALID, "writeback to %s refused before any request: %s not allow-listed: add to %s, or set %s",
		target, strings.Join(names, ", "), key, strings.Join(hint, " / "))
}

// Writer runs write-back for one target.
type Writer struct {
	// DB is the warehouse: read-only is enough with DryRun.
	DB     *sql.DB
	Target Target
	Policy Policy
	// DryRun reads the CRM and reports the diff and the decisions; it writes nothing,
	// to the CRM or to the warehouse.
	DryRun bool
	// RunID identifies this write-back run in writeback_log and audit_log.
	RunID string
	// Actor is who writes (audit_log.actor); default "revcast".
	Actor string
	// Now is the clock; default time.Now.
	Now func() time.Time
	// RetryWait is the pause before the second attempt, doubled for each later one;
	// default 1s.
	RetryWait time.Duration
	// Window is how many fresh changes are read, decided and written at a time; default
	// DefaultWindow.
	Window int
	// Requests is how many write requests (batches) may wait for the CRM at once; default
	// DefaultRequests. Answers are logged in batch order whatever order they arrive in.
	Requests int
	// BatchSize is the most records one write request carries; default (and at most)
	// MaxBatch.
	BatchSize int
	Logger    *slog.Logger
}

// DefaultRequests is the default number of write requests in flight. Salesforce limits
// only concurrent requests that run 20 seconds or longer (25 in production orgs and
// sandboxes, 5 in Developer Edition and trial orgs; "Concurrent API Request Limits",
// https://developer.salesforce.com/docs/platform/salesforce-app-limits-cheatsheet/guide/salesforce-app-limits-platform-api.html);
// a collection of 200 records takes well under that. Four keep the org's other integrations room while the
// wait for one answer no longer adds up batch after batch (a CRM 100 ms away costs 22 s
// per 44k records one at a time).
const DefaultRequests = 4

// WorkflowReport counts what a run did in one workflow.
type WorkflowReport struct {
	Name, Mode                   string
	Planned                      int // records revcast wants the CRM to hold
	Unchanged                    int // the CRM already holds them
	Created, Updated             int // written
	Queued                       int // newly waiting for approval
	Waiting                      int // already waiting (or rejected with the same values)
	Failed                       int // not written after MaxAttempts (planned again next run)
	Retried                      int // record attempts that failed and were retried
	Missing                      int // updates of records the CRM does not have (not sent)
	ApprovedWritten              int // of Created+Updated, from approvals
	Notes                        []string
	byKind                       map[string]int
	firstFailure, firstFailedKey string
}

// Report is the outcome of a run.
type Report struct {
	RunID, Target string
	DryRun        bool
	Workflows     []*WorkflowReport
	// Planned holds the changes with their diff and decision, in plan order (approved
	// changes first). Fresh changes the CRM already holds are only counted
	// (WorkflowReport.Unchanged), and a real run keeps only what it did not write (queued,
	// skipped, failed); writeback_log has the rest. A dry run keeps every change to write.
	Planned []*Planned
	Notes   []string
	// Pending is the number of approvals waiting after the run.
	Pending int
}

// Workflow returns the report of workflow name.
func (r *Report) Workflow(name string) *WorkflowReport {
	for _, w := range r.Workflows {
		if w.Name == name {
			return w
		}
	}
	return nil
}

// Failed returns the records not written.
func (r *Report) Failed() int {
	n := 0
	for _, w := range r.Workflows {
		n += w.Failed
	}
	return n
}

// Written returns the records created or updated.
func (r *Report) Written() int {
	n := 0
	for _, w := range r.Workflows {
		n += w.Created + w.Updated
	}
	return n
}

// ErrRecordsFailed is matched by errors.Is when a run left records unwritten.
var ErrRecordsFailed = errors.New("writeback: records failed")

func (w *Writer) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

func (w *Writer) actor() string {
	if w.Actor != "" {
		return w.Actor
	}
	return "revcast"
}

func (w *Writer) log() *slog.Logger {
	if w.Logger != nil {
		return w.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Run plans, checks, diffs, gates and (unless DryRun) writes; see the package
// documentation. The report is returned with the error when records failed.
func (w *Writer) Run(ctx context.Context) (_ *Report, runErr error) {
	if w.Target == nil || w.DB == nil {
		return nil, errors.New("writeback: Writer needs a DB and a Target")
	}
	if w.RunID == "" {
		w.RunID = string(revcast.NewRunID(w.now()))
	}
	name := w.Target.Name()
	rep := &Report{RunID: w.RunID, Target: name, DryRun: w.DryRun}
	// The wall time of each step, logged at the end; a run that fails logs the time of the
	// step it failed in as "failed".
	steps := newStepTimer()
	defer func() {
		if runErr != nil {
			steps.done("failed")
		}
		w.log().Debug("write-back steps (seconds)", steps.args("target", name)...)
	}()
	if !w.DryRun {
		if err := EnsureTables(ctx, w.DB); err != nil {
			return nil, err
		}
	}
	steps.done("tables")
	in, err := LoadInputs(ctx, w.DB, name)
	if err != nil {
		return nil, err
	}
	steps.done("inputs")
	rep.Notes = append(rep.Notes, in.Notes...)
	wfs := map[string]*WorkflowReport{}
	var fresh []Change
	for _, wf := range AllWorkflows {
		wr := &WorkflowReport{Name: wf, Mode: w.Policy.mode(wf), byKind: map[string]int{}}
		rep.Workflows = append(rep.Workflows, wr)
		wfs[wf] = wr
		if wr.Mode == ModeReadOnly {
			continue
		}
		ch, notes := w.Target.Plan(wf, in)
		wr.Notes = append(wr.Notes, notes...)
		fresh = append(fresh, ch...)
	}
	steps.done("plan")
	st, err := loadApprovalState(ctx, w.DB, name)
	if err != nil {
		return nil, err
	}
	steps.done("approvals")
	var approved []*Approval
	for _, a := range st.approved {
		if wr := wfs[a.Change.Workflow]; wr == nil || wr.Mode == ModeReadOnly {
			rep.Notes = append(rep.Notes, fmt.Sprintf("approval %d (%s) is approved but workflow %s is read_only: not written", a.ID, a.Change.RecordKey(), a.Change.Workflow))
			continue
		}
		approved = append(approved, a)
	}

	// Least privilege, before any request.
	ach := make([]Change, len(approved))
	for i, a := range approved {
		ach[i] = a.Change
	}
	for _, changes := range [][]Change{ach, fresh} {
		if err := w.Policy.CheckAllowed(name, changes); err != nil {
			return nil, err
		}
	}
	steps.done("allowed")
	if len(ach)+len(fresh) == 0 {
		rep.Pending = len(st.pendingAll)
		return rep, nil
	}

	// Fresh changes the warehouse's copy of the CRM already agrees with need no read.
	approvedKeys := map[string]bool{}
	for _, a := range approved {
		approvedKeys[a.Change.RecordKey()] = true
	}
	settled, err := w.settledByCopy(ctx, fresh, approvedKeys)
	if err != nil {
		return nil, fmt.Errorf("writeback: %s: %w", name, err)
	}
	steps.done("copy diff")
	if len(settled) > 0 {
		w.log().Debug("write-back diff against the warehouse copy", "target", name, "unchanged", len(settled), "to_read", len(ach)+len(fresh)-len(settled))
	}

	// Approved changes first: the approved values, against the CRM as it is. Fresh changes
	// of the same records compare with the approved values (next).
	cur, err := w.current(ctx, ach)
	if err != nil {
		return nil, fmt.Errorf("writeback: %s: %w", name, err)
	}
	approvedContent := map[string]string{}
	next := map[string]*Current{}
	var approvedPlan []*Planned
	for _, a := range approved {
		rk := a.Change.RecordKey()
		p := diffChange(a.Change, cur[rk])
		p.ApprovalID, p.Approved = a.ID, true
		approvedContent[rk] = a.Change.ContentHash()
		wr := wfs[a.Change.Workflow]
		wr.Planned++
		if len(p.Diffs) == 0 {
			p.Decision, p.Why = DecisionUnchanged, fmt.Sprintf("approval %d: the CRM already holds these values", a.ID)
			wr.Unchanged++
		} else {
			p.Decision, p.Why = DecisionWrite, fmt.Sprintf("approved as approval %d by %s", a.ID, a.DecidedBy)
			n := &Current{Fields: map[string]any{}}
			if c := cur[rk]; c != nil {
				n.ID = c.ID
				maps.Copy(n.Fields, c.Fields)
			}
			maps.Copy(n.Fields, a.Change.Fields)
			next[rk] = n
		}
		approvedPlan = append(approvedPlan, p)
	}
	rep.Planned = append(rep.Planned, approvedPlan...)
	if !w.DryRun {
		if err := w.markApplied(ctx, rep, DecisionUnchanged); err != nil {
			return rep, err
		}
		var writes []*Planned
		for _, p := range approvedPlan {
			if p.Decision == DecisionWrite {
				writes = append(writes, p)
			}
		}
		if err := w.write(ctx, rep, wfs, writes); err != nil {
			return rep, err
		}
	}

	steps.done("approved") // the approved changes' read and write included

	// Then the fresh changes, window by window: read, diff, gate, queue and write one
	// window before the next, so a run holds one window of CRM records and of planned
	// writes at a time, whatever the size of the CRM. A run stopped by an error (a quota,
	// a lost connection) has queued and written the windows before it; the next run plans
	// the rest again.
	queued := 0
	window := w.Window
	if window <= 0 {
		window = DefaultWindow
	}
	for start := 0; start < len(fresh); start += window {
		win := fresh[start:min(start+window, len(fresh))]
		var read []Change
		for i, c := range win {
			if _, ok := settled[start+i]; !ok && next[c.RecordKey()] == nil {
				read = append(read, c)
			}
		}
		steps.done("decide")
		cur, err := w.current(ctx, read)
		if err != nil {
			return rep, fmt.Errorf("writeback: %s: %w", name, err)
		}
		steps.done("read")
		maps.Copy(cur, next)
		var planned []*Planned
		var supersede []supersession
		for i, c := range win {
			id, isSettled := settled[start+i]
			p, sup := w.decide(c, cur, id, isSettled, approvedContent, st, wfs[c.Workflow])
			supersede = append(supersede, sup...)
			if p != nil {
				planned = append(planned, p)
			}
		}
		for _, p := range planned {
			if p.Decision == DecisionQueue {
				queued++
			}
		}
		steps.done("decide")
		if w.DryRun {
			rep.Planned = append(rep.Planned, planned...)
			continue
		}
		if err := w.queue(ctx, rep, planned, supersede); err != nil {
			return rep, err
		}
		steps.done("queue")
		var writes []*Planned
		for _, p := range planned {
			if p.Decision == DecisionWrite {
				writes = append(writes, p)
			}
		}
		if err := w.write(ctx, rep, wfs, writes); err != nil {
			return rep, err
		}
		steps.done("write")
		// Kept: what was not written (queued, skipped, failed), for the caller.
		for _, p := range planned {
			if p.Decision != DecisionWrite || p.Error != "" {
				rep.Planned = append(rep.Planned, p)
			}
		}
	}
	if w.DryRun {
		rep.Pending = len(st.pendingAll) + queued
		return rep, nil
	}
	pending, err := ListApprovals(ctx, w.DB, StatusPending)
	if err != nil {
		return rep, err
	}
	steps.done("pending")
	rep.Pending = len(pending)
	if n := rep.Failed(); n > 0 {
		var first string
		for _, wr := range rep.Workflows {
			if wr.firstFailure != "" {
				first = fmt.Sprintf("first: %s: %s", wr.firstFailedKey, wr.firstFailure)
				break
			}
		}
		return rep, fmt.Errorf("%w: %d records of %s were not written (%s; transient errors are tried %d times per run); see writeback_log for run %s — the next run tries them again",
			ErrRecordsFailed, n, name, first, w.maxAttempts(), w.RunID)
	}
	return rep, nil
}

func (w *Writer) maxAttempts() int {
	if w.Policy.MaxAttempts > 0 {
		return w.Policy.MaxAttempts
	}
	return 3
}

// DefaultWindow is how many fresh changes a run reads, decides and writes at a time: 50
// write batches. It bounds the CRM records and planned writes a run holds (a large
// company's first run writes over half a million opportunities).
const DefaultWindow = 10_000

// decide diffs and gates one fresh change against the CRM's record (cur, or settled by
// the warehouse copy) and counts it in wr. It returns nil for a change that needs
// nothing (the approved change itself, or one the CRM already holds), and the pending
// approvals of the record that the change supersedes.
func (w *Writer) decide(c Change, cur map[string]*Current, settledID string, settled bool, approvedContent map[string]string, st *approvalState, wr *WorkflowReport) (*Planned, []supersession) {
	rk := c.RecordKey()
	var hash string // the content hash, computed only when an approval needs it (JSON of the fields)
	contentHash := func() string {
		if hash == "" {
			hash = c.ContentHash()
		}
		return hash
	}
	if a, ok := approvedContent[rk]; ok && a == contentHash() {
		return nil, nil // the approved change is this one
	}
	wr.Planned++
	var p *Planned
	if settled {
		p = &Planned{Change: c, Exists: true, RecordID: settledID}
	} else {
		p = diffChange(c, cur[rk])
	}
	var sup []supersession
	for _, old := range st.pending[rk] {
		if old.ContentSHA != contentHash() {
			sup = append(sup, supersession{old: old, by: p})
		}
	}
	if len(p.Diffs) == 0 {
		wr.Unchanged++ // counted, not kept: on a nightly run most records are unchanged
		return nil, sup
	}
	if !p.Exists && strings.EqualFold(c.KeyField, "Id") {
		// An update by id of a record the CRM does not have (deleted, merged, or not
		// visible to the integration user) cannot succeed: say so, do not send it.
		p.Decision = DecisionSkip
		p.Why = fmt.Sprintf("%s %s does not exist in %s (deleted, merged or not visible to the integration user)", c.Object, c.Key, w.Target.Name())
		wr.Missing++
		return p, sup
	}
	queue, why := w.gate(p, wr.Mode)
	switch {
	case !queue:
		p.Decision = DecisionWrite
	case st.pendingSame(rk, contentHash()) != nil:
		a := st.pendingSame(rk, hash)
		p.Decision, p.ApprovalID = DecisionSkip, a.ID
		p.Why = fmt.Sprintf("already waiting as approval %d (%s)", a.ID, why)
		wr.Waiting++
	case st.rejected[contentHash()] != nil:
		a := st.rejected[hash]
		p.Decision, p.ApprovalID = DecisionSkip, a.ID
		p.Why = fmt.Sprintf("rejected as approval %d by %s; the same values are not queued again", a.ID, a.DecidedBy)
		wr.Waiting++
	default:
		p.Decision, p.Why = DecisionQueue, why
		wr.Queued++
	}
	return p, sup
}

// settledByCopy returns the fresh changes (index in fresh → CRM id) that the target's copy
// in the warehouse (CopyReader) shows the CRM already holds, leaving out create-only
// records and those with an approved change to apply.
func (w *Writer) settledByCopy(ctx context.Context, fresh []Change, skip map[string]bool) (map[int]string, error) {
	cr, ok := w.Target.(CopyReader)
	if !ok {
		return nil, nil
	}
	settled := map[int]string{}
	for _, g := range groupChanges(fresh, func(c Change) bool { return c.CreateOnly || skip[c.RecordKey()] }) {
		// Provenance fields (the run id, when scored) never make a write alone, so the copy
		// need not hold them: leaving out those of every change in the group makes the
		// query's result (which DuckDB materializes: a million rows at large) narrower.
		fields := slices.DeleteFunc(g.fieldList(), func(f string) bool { return g.provenance[f] })
		_, err := cr.Copy(ctx, w.DB, g.object, g.keyField, g.keys, fields, func(key string, cur Current) {
			for _, i := range g.index[key] {
				if settles(&fresh[i], &cur) {
					settled[i] = cur.ID
				}
			}
		})
		if err != nil {
			return nil, fmt.Errorf("read the warehouse copy of %s: %w", g.object, err)
		}
	}
	return settled, nil
}

// settles reports whether the record cur already holds c's content, as diffChange would
// find it (no diff but provenance), without building the diff: the copy is compared with
// every planned change of a large CRM.
func settles(c *Change, cur *Current) bool {
	if c.CreateOnly {
		return false
	}
	for f, v := range c.Fields {
		if strings.EqualFold(f, c.KeyField) || slices.Contains(c.Provenance, f) {
			continue
		}
		if !sameValue(c.Types[f], cur.Fields[f], v) {
			return false
		}
	}
	return true
}

// changeGroup is the changes of one object addressed by one key field.
type changeGroup struct {
	object, keyField string
	keys             []string         // distinct, in order of first appearance
	index            map[string][]int // key → indexes of its changes
	fields           map[string]bool  // the fields the changes write, the key field left out
	provenance       map[string]bool  // the fields that are provenance in every change
}

func (g *changeGroup) fieldList() []string { return slices.Sorted(maps.Keys(g.fields)) }

// groupChanges groups changes by object and key field, in order of first appearance,
// leaving out those skip says to.
func groupChanges(changes []Change, skip func(Change) bool) []*changeGroup {
	var order []*changeGroup
	groups := map[string]*changeGroup{}
	for i, c := range changes {
		if skip != nil && skip(c) {
			continue
		}
		gk := c.Object + "\x00" + c.KeyField
		g := groups[gk]
		if g == nil {
			g = &changeGroup{object: c.Object, keyField: c.KeyField, index: map[string][]int{}, fields: map[string]bool{}}
			groups[gk] = g
			order = append(order, g)
		}
		if _, seen := g.index[c.Key]; !seen {
			g.keys = append(g.keys, c.Key)
		}
		g.index[c.Key] = append(g.index[c.Key], i)
		for f := range c.Fields {
			if strings.EqualFold(f, c.KeyField) {
				continue
			}
			prov := slices.Contains(c.Provenance, f)
			if !g.fields[f] {
				g.fields[f] = true
				if g.provenance == nil {
					g.provenance = map[string]bool{}
				}
				g.provenance[f] = prov
			} else if !prov {
				g.provenance[f] = false
			}
		}
	}
	return order
}

// current reads the CRM's records for all changes, grouped by object and key field.
func (w *Writer) current(ctx context.Context, all []Change) (map[string]*Current, error) {
	out := map[string]*Current{}
	for _, g := range groupChanges(all, nil) {
		got, err := w.Target.Current(ctx, g.object, g.keyField, g.keys, g.fieldList())
		if err != nil {
			return nil, err
		}
		for k, c := range got {
			out[g.object+":"+k] = &c
		}
	}
	return out, nil
}

// diffChange compares c with the CRM's record (nil when there is none).
func diffChange(c Change, cur *Current) *Planned {
	p := &Planned{Change: c}
	if cur != nil {
		p.Exists, p.RecordID = true, cur.ID
	}
	if p.Exists && c.CreateOnly {
		return p
	}
	content := false
	for _, f := range c.fieldNames() {
		if strings.EqualFold(f, c.KeyField) && p.Exists {
			continue
		}
		var old any
		if cur != nil {
			old = cur.Fields[f]
		}
		if sameValue(c.Types[f], old, c.Fields[f]) {
			continue
		}
		p.Diffs = append(p.Diffs, FieldDiff{Field: f, Old: old, New: c.Fields[f]})
		if !slices.Contains(c.Provenance, f) {
			content = true
		}
	}
	if p.Exists && !content {
		p.Diffs = nil // only provenance moved: nothing worth a write
	}
	return p
}

// sameValue compares a CRM value with a wanted one of the given field type.
func sameValue(typ string, old, new any) bool {
	if isEmpty(old) || isEmpty(new) {
		return isEmpty(old) && isEmpty(new)
	}
	switch typ {
	case TypeCurrency, TypePercent, TypeNumber:
		a, ok1 := toFloat(old)
		b, ok2 := toFloat(new)
		return ok1 && ok2 && math.Abs(a-b) <= 0.005
	case TypeDate:
		return dateOnly(fmt.Sprint(old)) == dateOnly(fmt.Sprint(new))
	case TypeDateTime:
		a, ok1 := parseInstant(fmt.Sprint(old))
		b, ok2 := parseInstant(fmt.Sprint(new))
		return ok1 && ok2 && a.Truncate(time.Second).Equal(b.Truncate(time.Second))
	case TypeRef:
		a, b := fmt.Sprint(old), fmt.Sprint(new)
		return a == b || (len(a) >= 15 && len(b) >= 15 && a[:15] == b[:15])
	}
	return strings.TrimRight(fmt.Sprint(old), " \n") == strings.TrimRight(fmt.Sprint(new), " \n")
}

func isEmpty(v any) bool {
	if v == nil {
		return true
	}
	s, ok := v.(string)
	return ok && s == ""
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case string:
		var f float64
		_, err := fmt.Sscan(x, &f)
		return f, err == nil
	}
	return 0, false
}

func parseInstant(s string) (time.Time, bool) {
	for _, layout := range []string{"2006-01-02T15:04:05.000-0700", "2006-01-02T15:04:05-0700", time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// gate decides whether a change with diffs waits for approval, and says why (naming the
// config key).
func (w *Writer) gate(p *Planned, mode string) (bool, string) {
	if mode == ModeReview {
		return true, fmt.Sprintf("workflow %s is in review mode (%s)", p.Workflow, w.Policy.modeKey(p.Workflow))
	}
	t := w.Policy.Thresholds
	for _, d := range p.Diffs {
		if slices.Contains(p.Provenance, d.Field) {
			continue
		}
		if k := p.kindOf(d.Field); slices.Contains(t.Kinds, k) {
			return true, fmt.Sprintf("%s is a %s change, listed in writeback.thresholds.kinds", d.Field, k)
		}
		if p.Types[d.Field] != TypeCurrency {
			continue
		}
		nv, ok := toFloat(d.New)
		if !ok {
			nv = 0
		}
		ov, hasOld := toFloat(d.Old)
		delta := math.Abs(nv - ov)
		if t.Amount > 0 && delta > t.Amount {
			return true, fmt.Sprintf("%s moves by %.2f, over writeback.thresholds.amount %.2f", d.Field, delta, t.Amount)
		}
		if t.ChangePct > 0 && hasOld && ov != 0 {
			if pct := delta / math.Abs(ov) * 100; pct > t.ChangePct {
				return true, fmt.Sprintf("%s moves by %.1f%% (%.2f → %.2f), over writeback.thresholds.change_pct %g", d.Field, pct, ov, nv, t.ChangePct)
			}
		}
	}
	return false, ""
}

// approvalState is what the approvals table says about a target.
type approvalState struct {
	pending    map[string][]*Approval // record key → pending approvals
	pendingAll []*Approval
	rejected   map[string]*Approval // content hash → a rejection
	approved   []*Approval          // approved, not yet written
}

func (s *approvalState) pendingSame(rk, hash string) *Approval {
	for _, a := range s.pending[rk] {
		if a.ContentSHA == hash {
			return a
		}
	}
	return nil
}

func loadApprovalState(ctx context.Context, db *sql.DB, target string) (*approvalState, error) {
	st := &approvalState{pending: map[string][]*Approval{}, rejected: map[string]*Approval{}}
	list, err := ListApprovals(ctx, db, "")
	if err != nil {
		return nil, err
	}
	for i := range list {
		a := &list[i]
		if a.Target != target {
			continue
		}
		switch a.Status {
		case StatusPending:
			rk := a.Change.RecordKey()
			st.pending[rk] = append(st.pending[rk], a)
			st.pendingAll = append(st.pendingAll, a)
		case StatusRejected:
			if a.DecidedBy != "revcast" { // superseded ones were not a person's no
				st.rejected[a.ContentSHA] = a
			}
		case StatusApproved:
			if !a.AppliedAt.Valid {
				st.approved = append(st.approved, a)
			}
		}
	}
	return st, nil
}

// supersession is a pending approval that a newer change of the same record replaces.
type supersession struct {
	old *Approval
	by  *Planned
}

// queue stores the run's queued changes as pending approvals and rejects the pending
// approvals they supersede, with their log and audit rows, in one transaction.
func (w *Writer) queue(ctx context.Context, rep *Report, planned []*Planned, supersede []supersession) error {
	var queued []*Planned
	for _, p := range planned {
		if p.Decision == DecisionQueue {
			queued = append(queued, p)
		}
	}
	if len(queued) == 0 && len(supersede) == 0 {
		return nil
	}
	now := w.now().UTC().Truncate(time.Microsecond)
	tx, err := duckx.Begin(ctx, w.DB)
	if err != nil {
		return fmt.Errorf("writeback: queue approvals: %w", err)
	}
	defer tx.Rollback()
	var next int64
	if err := tx.QueryRowContext(ctx, `select coalesce(max(approval_id), 0) + 1 from approvals`).Scan(&next); err != nil {
		return fmt.Errorf("writeback: queue approvals: %w", err)
	}
	var entries []audit.Entry
	done := map[int64]bool{}
	var ids []string
	note := fmt.Sprintf("superseded by newer values in write-back run %s", w.RunID)
	for _, s := range supersede {
		if done[s.old.ID] {
			continue
		}
		done[s.old.ID] = true
		ids = append(ids, strconv.FormatInt(s.old.ID, 10))
		entries = append(entries, audit.Entry{Actor: w.actor(), Action: audit.ActionReject, Target: rep.Target,
			RecordKey: s.old.Change.RecordKey(), Payload: []byte(s.old.Payload), Response: "rejected: " + note,
			SourceRun: s.old.Change.SourceRun, Detail: map[string]any{"approval_id": s.old.ID, "run_id": w.RunID}})
	}
	// One statement per 1,000 approvals, the ids inline (integers from approvals itself): a
	// nightly run supersedes every pending approval whose values moved, 11k at large, and
	// one UPDATE each took most of an incremental write-back.
	const perUpdate = 1000
	for start := 0; start < len(ids); start += perUpdate {
		chunk := ids[start:min(start+perUpdate, len(ids))]
		if _, err := tx.ExecContext(ctx, `update approvals set status = 'rejected', decided_at = ?, decided_by = 'revcast',
			decision_note = ? where status = 'pending' and approval_id in (`+strings.Join(chunk, ", ")+`)`, now, note); err != nil {
			return fmt.Errorf("writeback: supersede approvals %s-%s: %w", chunk[0], chunk[len(chunk)-1], err)
		}
	}
	var logRows []LogRow
	var approvals [][]driver.Value
	for _, p := range queued {
		payload, err := json.Marshal(p.Change)
		if err != nil {
			return fmt.Errorf("writeback: queue %s: %w", p.RecordKey(), err)
		}
		p.ApprovalID = next
		next++
		reason := p.Reason + " — waits because " + p.Why
		// In the column order of Schema's approvals.
		approvals = append(approvals, []driver.Value{p.ApprovalID, StatusPending, rep.Target, p.Object, p.Key, string(payload), reason, now,
			nil, nil, nil, p.ContentHash(), w.RunID, nil, nil})
		logRows = append(logRows, LogRow{RunID: w.RunID, Target: rep.Target, Object: p.Object, Key: p.Key, RecordID: p.RecordID,
			Action: p.Action(), Status: "queued", Error: p.Why, Attempt: 0, At: now, PayloadSHA256: audit.SHA256(p.Payload()),
			ApprovalID: p.ApprovalID})
		entries = append(entries, audit.Entry{Actor: w.actor(), Action: audit.ActionQueue, Target: rep.Target, RecordKey: p.RecordKey(),
			Payload: p.Payload(), Response: fmt.Sprintf("pending approval %d: %s", p.ApprovalID, p.Why), SourceRun: p.SourceRun,
			Detail: w.detail(p, 0)})
	}
	if err := tx.Append("main", "approvals", len(approvals), func(i int) ([]driver.Value, error) { return approvals[i], nil }); err != nil {
		return fmt.Errorf("writeback: queue approvals: %w", err)
	}
	if err := insertLog(tx, logRows...); err != nil {
		return err
	}
	if _, err := audit.AppendTx(ctx, tx, now, entries...); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("writeback: queue approvals: %w", err)
	}
	return nil
}

// markApplied records that approved changes with the given decision are done.
func (w *Writer) markApplied(ctx context.Context, rep *Report, decision string) error {
	for _, p := range rep.Planned {
		if !p.Approved || p.Decision != decision {
			continue
		}
		if _, err := w.DB.ExecContext(ctx, `update approvals set applied_at = ?, applied_run = ? where approval_id = ?`,
			w.now().UTC(), w.RunID, p.ApprovalID); err != nil {
			return fmt.Errorf("writeback: mark approval %d applied: %w", p.ApprovalID, err)
		}
	}
	return nil
}

func (w *Writer) detail(p *Planned, attempt int) map[string]any {
	d := map[string]any{"run_id": w.RunID, "object": p.Object, "key": p.Key, "action": p.Action(), "workflow": p.Workflow,
		"kind": p.Kind, "reason": p.Reason}
	if attempt > 0 {
		d["attempt"] = attempt
	}
	if p.ApprovalID > 0 {
		d["approval_id"] = p.ApprovalID
	}
	if p.RecordID != "" {
		d["record_id"] = p.RecordID
	}
	if len(p.SourceIDs) > 0 {
		d["source_ids"] = p.SourceIDs
	}
	return d
}

// write sends items in batches of MaxBatch per object, retrying transient record errors
// up to MaxAttempts; the answers are logged and audited as they arrive (writeAttempt).
func (w *Writer) write(ctx context.Context, rep *Report, wfs map[string]*WorkflowReport, items []*Planned) error {
	max := w.maxAttempts()
	wait := w.RetryWait
	if wait == 0 {
		wait = time.Second
	}
	for attempt := 1; len(items) > 0; attempt++ {
		if attempt > 1 {
			w.log().Info("retrying records", "target", rep.Target, "records", len(items), "attempt", attempt)
			if wait > 0 {
				t := time.NewTimer(wait << (attempt - 2))
				select {
				case <-ctx.Done():
					t.Stop()
					return ctx.Err()
				case <-t.C:
				}
			}
		}
		size := MaxBatch
		if w.BatchSize > 0 {
			size = min(w.BatchSize, MaxBatch)
		}
		retry, err := w.writeAttempt(ctx, rep, wfs, batches(items, size), attempt, attempt < max)
		if err != nil {
			return err
		}
		items = retry
	}
	return nil
}

// sentBatch is one write request and the CRM's answer.
type sentBatch struct {
	chunk   []*Planned
	results []Result
	err     error
	done    chan struct{}
}

// writeAttempt sends the batches with up to Requests waiting for the CRM and logs the
// answers in batch order (the audit chain and writeback_log read as if sent one by one).
// An answer waits to be logged until those of the batches before it are: the answers at
// the head of the queue that have all arrived are logged together, in one transaction.
// A transaction has a fixed cost besides its rows (the audit chain's head read and
// updated, a commit), and the sandbox CRM answers a batch in about as much time: logged
// one by one, a large first run's 2,762 batches cost 34.5 s of CPU to log; grouped,
// 790 transactions, 25.3 s. A request counts against Requests until the CRM answers it,
// not until it is logged: the slots freed by answers that arrived during a log
// transaction are refilled right after it, not one per logged batch. (Nothing is sent
// during a transaction or while waiting for the head's answer.)
//
// After a fatal answer (a quota, a cancelled run) no further batch is sent, but the
// batches already sent are still awaited and logged: the CRM may have applied them. It
// returns the records to retry.
func (w *Writer) writeAttempt(ctx context.Context, rep *Report, wfs map[string]*WorkflowReport, chunks [][]*Planned, attempt int, canRetry bool) ([]*Planned, error) {
	inflight := w.Requests
	if inflight <= 0 {
		inflight = DefaultRequests
	}
	var queue []*sentBatch // sent, not yet logged, in batch order
	waiting := 0           // of queue, not yet answered
	answered := make(chan struct{}, len(chunks))
	next := 0
	send := func() {
		b := &sentBatch{chunk: chunks[next], done: make(chan struct{})}
		next++
		queue = append(queue, b)
		waiting++
		go func() {
			defer func() { answered <- struct{}{} }()
			defer close(b.done)
			b.results, b.err = w.Target.Write(ctx, b.chunk[0].Object, b.chunk[0].KeyField, records(b.chunk))
		}()
	}
	// stop reports whether nothing more may be sent: the run is cancelled or an answer
	// that arrived (logged or not) was fatal.
	var first error
	stopped := false
	stop := func() bool {
		if first != nil || stopped {
			return true
		}
		if ctx.Err() != nil {
			first = fmt.Errorf("writeback: %s: %w", rep.Target, ctx.Err()) // cancelled: send nothing more
			return true
		}
		for _, b := range queue {
			if isDone(b) && fatalAnswer(ctx, b.err) {
				stopped = true // the error itself is returned once the batch is logged
				return true
			}
		}
		return false
	}
	var retry []*Planned
	for len(queue) > 0 || (!stop() && next < len(chunks)) {
		for drained := false; !drained; {
			select {
			case <-answered:
				waiting--
			default:
				drained = true
			}
		}
		for !stop() && next < len(chunks) && waiting < inflight {
			send()
		}
		if len(queue) == 0 {
			break
		}
		// Wait for the head's answer, counting the others that arrive meanwhile.
		for !isDone(queue[0]) {
			<-answered
			waiting--
		}
		n := 1
		for n < len(queue) && isDone(queue[n]) {
			n++
		}
		group := queue[:n]
		queue = queue[n:]
		again, err := w.logBatches(ctx, rep, wfs, group, attempt, canRetry)
		if err != nil && first == nil {
			first = err
		}
		retry = append(retry, again...)
	}
	return retry, first
}

// isDone reports whether the CRM has answered b, without waiting.
func isDone(b *sentBatch) bool {
	select {
	case <-b.done:
		return true
	default:
		return false
	}
}

// fatalAnswer reports whether a write request's error stops the run (a quota, a
// cancelled run) rather than making its records retry.
func fatalAnswer(ctx context.Context, werr error) bool {
	return werr != nil && (errors.Is(werr, salesforce.ErrQuota) || ctx.Err() != nil)
}

// records is what a batch sends: each change's fields with its key.
func records(chunk []*Planned) []map[string]any {
	recs := make([]map[string]any, len(chunk))
	for i, p := range chunk {
		r := maps.Clone(p.Fields)
		r[p.KeyField] = p.Key
		recs[i] = r
	}
	return recs
}

// batches groups items by object and key field (in order of first appearance) and cuts
// each group into batches of size records.
func batches(items []*Planned, size int) [][]*Planned {
	var order []string
	groups := map[string][]*Planned{}
	for _, p := range items {
		k := p.Object + "\x00" + p.KeyField
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], p)
	}
	var out [][]*Planned
	for _, k := range order {
		g := groups[k]
		for len(g) > 0 {
			n := min(len(g), size)
			out = append(out, g[:n])
			g = g[n:]
		}
	}
	return out
}

// logBatches records the CRM's answers to a run of consecutive batches (each one's
// results, or its request's error) in writeback_log and audit_log, in batch order and in
// one transaction, and returns the records to retry. The error is the first fatal answer's
// (after the answers are logged) or the warehouse's.
func (w *Writer) logBatches(ctx context.Context, rep *Report, wfs map[string]*WorkflowReport, group []*sentBatch, attempt int, canRetry bool) ([]*Planned, error) {
	now := w.now().UTC().Truncate(time.Microsecond)
	// The CRM has answered: log it even if the run is being cancelled.
	lctx := context.WithoutCancel(ctx)
	tx, err := duckx.Begin(lctx, w.DB)
	if err != nil {
		return nil, fmt.Errorf("writeback: log batch: %w", err)
	}
	defer tx.Rollback()
	var retry []*Planned
	var entries []audit.Entry
	var logRows []LogRow
	var fatalErr error // the first fatal request error
	for _, b := range group {
		chunk, results, werr := b.chunk, b.results, b.err
		fatal := fatalAnswer(ctx, werr)
		if fatal && fatalErr == nil {
			fatalErr = werr
		}
		if werr != nil {
			w.log().Warn("write request failed", "target", rep.Target, "object", chunk[0].Object, "records", len(chunk), "attempt", attempt, "err", werr)
			results = make([]Result, len(chunk))
			for i := range results {
				results[i] = Result{Code: "REQUEST_FAILED", Message: werr.Error(), Transient: !fatal}
			}
		}
		for i, p := range chunk {
			r := results[i]
			wr := wfs[p.Workflow]
			status, errText, response := "ok", "", ""
			switch {
			case r.OK:
				if r.ID != "" {
					p.RecordID = r.ID
				}
				created := r.Created || (!p.Exists && p.KeyField != "Id")
				if created {
					wr.Created++
					response = "ok: created " + p.RecordID
				} else {
					wr.Updated++
					response = "ok: updated " + p.RecordID
				}
				if p.Approved {
					wr.ApprovedWritten++
					if _, err := tx.ExecContext(lctx, `update approvals set applied_at = ?, applied_run = ? where approval_id = ?`,
						now, w.RunID, p.ApprovalID); err != nil {
						return nil, fmt.Errorf("writeback: mark approval %d applied: %w", p.ApprovalID, err)
					}
				}
			case r.Transient && canRetry:
				status, errText = "retry", r.Code+": "+r.Message
				response = "error (will retry): " + errText
				wr.Retried++
				retry = append(retry, p)
			default:
				status, errText = "failed", r.Code+": "+r.Message
				response = "error: " + errText
				p.Error = errText
				wr.Failed++
				if wr.firstFailure == "" {
					wr.firstFailure, wr.firstFailedKey = errText, p.RecordKey()
				}
			}
			payload := p.Payload()
			logRows = append(logRows, LogRow{RunID: w.RunID, Target: rep.Target, Object: p.Object, Key: p.Key, RecordID: p.RecordID,
				Action: p.Action(), Status: status, Error: errText, Attempt: attempt, At: now, PayloadSHA256: audit.SHA256(payload),
				ApprovalID: p.ApprovalID})
			entries = append(entries, audit.Entry{Actor: w.actor(), Action: audit.ActionWrite, Target: rep.Target, RecordKey: p.RecordKey(),
				Payload: payload, Response: response, SourceRun: p.SourceRun, Detail: w.detail(p, attempt)})
		}
	}
	if err := insertLog(tx, logRows...); err != nil {
		return nil, err
	}
	if _, err := audit.AppendTx(lctx, tx, now, entries...); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("writeback: log batch: %w", err)
	}
	if fatalErr != nil {
		if cerr := ctx.Err(); cerr != nil && !errors.Is(fatalErr, cerr) {
			// A client error that lost the cancellation's identity on the way (a token
			// request cut short): the run was cancelled, and says so.
			return nil, fmt.Errorf("writeback: %s: %w (%v)", rep.Target, cerr, fatalErr)
		}
		return nil, fmt.Errorf("writeback: %s: %w", rep.Target, fatalErr)
	}
	return retry, nil
}

// stepTimer adds up the wall time of a run's steps, for the debug log: a step that recurs
// (each window's read, decide, queue and write) is summed over its occurrences.
type stepTimer struct {
	last  time.Time
	order []string
	secs  map[string]float64
}

func newStepTimer() *stepTimer {
	return &stepTimer{last: time.Now(), secs: map[string]float64{}}
}

// done ends step name: the time since the previous step ended is added to it.
func (s *stepTimer) done(name string) {
	now := time.Now()
	if _, ok := s.secs[name]; !ok {
		s.order = append(s.order, name)
	}
	s.secs[name] += now.Sub(s.last).Seconds()
	s.last = now
}

// args returns the steps as slog key-value pairs after prefix, in the order they first ran,
// rounded to the millisecond.
func (s *stepTimer) args(prefix ...any) []any {
	out := slices.Clone(prefix)
	for _, n := range s.order {
		out = append(out, n, math.Round(s.secs[n]*1000)/1000)
	}
	return out
}
