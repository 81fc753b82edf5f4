package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/robfig/cron/v3"

	"github.com/revcast/revcast"
	"github.com/revcast/revcast/extract"
	"github.com/revcast/revcast/reports/writeback"
	"github.com/revcast/revcast/transform"
)

// Config is revcast.yaml. Unknown keys, wrong types and missing required fields are usage
// errors naming the key and the line. Secrets are never in the file: connectors name the
// environment variables that hold them.
type Config struct {
	DataDir      string          `yaml:"data_dir"`
	BaseCurrency string          `yaml:"base_currency"`
	Sources      []ast.Node      `yaml:"sources"`
	Schedule     ScheduleConfig  `yaml:"schedule"`
	Warehouse    WarehouseConfig `yaml:"warehouse"`
	Forecast     ForecastConfig  `yaml:"forecast"`
	Narrative    NarrativeConfig `yaml:"narrative"`
	Writeback    WritebackConfig `yaml:"writeback"`

	// Path is the config file; relative paths in it are relative to its folder.
	Path string `yaml:"-"`
	// Configured holds the decoded sources in file order.
	Configured []ConfiguredSource `yaml:"-"`

	raw []byte // the file's text, to point messages at lines
}

// ConfiguredSource is one entry of `sources:` decoded into its connector.
type ConfiguredSource struct {
	Name   string
	Type   string
	Source extract.Source
	// Enabled is false when the entry says `enabled: false`: extract and run skip it
	// (unless named with --source), while its landed data still loads.
	Enabled bool
}

// ScheduleConfig lists the cron jobs `revcast schedule` runs.
type ScheduleConfig struct {
	Jobs []JobConfig `yaml:"jobs"`
}

// JobConfig is one scheduled job.
type JobConfig struct {
	Name    string   `yaml:"name"`
	Cron    string   `yaml:"cron"`    // robfig/cron spec, five fields or a descriptor like @hourly
	Command string   `yaml:"command"` // extract, transform, forecast, report, writeback or run
	Sources []string `yaml:"sources"` // for extract and run: only these sources
}

// memoryLimitRE is the size syntax DuckDB's memory_limit accepts (number and unit).
var memoryLimitRE = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$`)

// WarehouseConfig limits the embedded DuckDB's resources (transform.DBSettings).
type WarehouseConfig struct {
	MemoryLimit string `yaml:"memory_limit"` // e.g. 2GB; "" is DefaultMemoryLimit
	Threads     int    `yaml:"threads"`      // 0: one per core
	// VacuumDays is how often checkpoints may merge row groups thinned by deletes
	// (transform.DBSettings.VacuumDays): 0 at every checkpoint; unset, DefaultVacuumDays.
	VacuumDays *int `yaml:"vacuum_days"`
}

// DefaultVacuumDays is warehouse.vacuum_days when unset: a week of nightly runs between
// vacuums (measured: transform.DBSettings.VacuumDays).
const DefaultVacuumDays = 7

// DefaultMemoryLimit caps DuckDB's buffer manager when warehouse.memory_limit is not set
// (DuckDB's own default is 80% of RAM), for the design's 2 GiB peak of a whole run
// (DESIGN.md, Performance); beyond it DuckDB spills to the warehouse's .tmp folder.
// Measured on the synthetic company at twice the large scale (2M opportunities, 25M raw
// rows): 'revcast transform --full' peaked at 1.49 GB RSS with the cap and took 96 s,
// against 94 s for the models without it, where the run peaked at 7.5 GB. DuckDB needs a
// minimum that grows with the data (the forecast failed below 104 MB on the medium
// company, 50k opportunities); the forecast ran at 2M opportunities under this cap.
const DefaultMemoryLimit = "1GB"

// OpenWarehouse opens the config's warehouse with its warehouse: limits.
func (c *Config) OpenWarehouse(ctx context.Context, readOnly bool) (*transform.Warehouse, error) {
	ml := c.Warehouse.MemoryLimit
	if ml == "" {
		ml = DefaultMemoryLimit
	}
	days := DefaultVacuumDays
	if c.Warehouse.VacuumDays != nil {
		days = *c.Warehouse.VacuumDays
	}
	return transform.OpenWith(ctx, c.WarehousePath(), readOnly, transform.DBSettings{MemoryLimit: ml, Threads: c.Warehouse.Threads, VacuumDays: days})
}

// ForecastConfig parameterises the models.
type ForecastConfig struct {
	FiscalYearStartMonth int   `yaml:"fiscal_year_start_month"` // 1 = January
	HorizonQuarters      int   `yaml:"horizon_quarters"`
	Seed                 int64 `yaml:"seed"`
	// RefitDays > 0 reuses the last fitted model (forecast_models) while its as-of date
	// is less than this many days before the run's: such runs only score today's pipeline
	// (no training snapshots, no fit). 0 refits every run.
	RefitDays int `yaml:"refit_days"`
}

// NarrativeConfig says where the LLM that writes the narrative is.
type NarrativeConfig struct {
	Enabled bool          `yaml:"enabled"`
	Host    string        `yaml:"host"`
	Model   string        `yaml:"model"`
	Timeout time.Duration `yaml:"timeout"`
}

// WritebackConfig governs what revcast may write to the CRM (reports/writeback).
type WritebackConfig struct {
	Mode   string   `yaml:"mode"`   // read_only, review or auto: every workflow's default
	Target string   `yaml:"target"` // the source name of the CRM to write to
	Allow  []string `yaml:"allow"`  // Object.Field entries revcast may write to target
	// AllowByTarget lists Object.Field entries per CRM source name (for a config that
	// switches targets); the target's list adds to Allow.
	AllowByTarget map[string][]string `yaml:"allow_by_target"`
	// Workflows overrides Mode per workflow: forecasts, opportunities, tasks.
	Workflows map[string]string `yaml:"workflows"`
	// Thresholds send changes to approval in auto mode.
	Thresholds WritebackThresholds `yaml:"thresholds"`
	// MaxAttempts bounds the attempts per record within one run (default 3).
	MaxAttempts int `yaml:"max_attempts"`
	// ConcurrentRequests is how many requests (reads, write batches) may wait for the CRM
	// at once (default writeback.DefaultRequests; 1 sends one at a time).
	ConcurrentRequests int `yaml:"concurrent_requests"`
}

// WritebackThresholds are the approval gate of auto mode: a change that crosses one waits
// in approvals. Zero turns a check off.
type WritebackThresholds struct {
	Amount    float64  `yaml:"amount"`     // a currency field moves by more than this (base currency)
	ChangePct float64  `yaml:"change_pct"` // a currency field moves by more than this % of its CRM value
	Kinds     []string `yaml:"kinds"`      // change kinds that always wait (order_status, variance_task ...)
}

var sourceNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// configError is a config problem: exit code 2, naming the file, line and key.
func configError(path string, node ast.Node, format string, args ...any) error {
	loc := path
	if node != nil && node.GetToken() != nil {
		p := node.GetToken().Position
		loc = fmt.Sprintf("%s:%d:%d", path, p.Line, p.Column)
	}
	return revcast.Errorf(revcast.EINVALID, "%s: %s", loc, fmt.Sprintf(format, args...))
}

// yamlError turns a goccy/go-yaml error into "file:line:col: message".
func yamlError(path string, err error) error {
	var ye yaml.Error
	if errors.As(err, &ye) && ye.GetToken() != nil {
		p := ye.GetToken().Position
		return revcast.Errorf(revcast.EINVALID, "%s:%d:%d: %s", path, p.Line, p.Column, ye.GetMessage())
	}
	return revcast.Errorf(revcast.EINVALID, "%s: %v", path, err)
}

// LoadConfig reads and validates the config at path.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, revcast.Errorf(revcast.EINVALID, "config %s not found: run 'revcast init' or 'revcast demo', or pass --config FILE", path)
	}
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return ParseConfig(path, data)
}

// ParseConfig validates config text; path is used in messages and to resolve relative paths.
func ParseConfig(path string, data []byte) (*Config, error) {
	cfg := &Config{}
	if err := yaml.UnmarshalWithOptions(data, cfg, yaml.Strict()); err != nil {
		return nil, yamlError(path, err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	cfg.Path = abs
	cfg.raw = data
	cfg.setDefaults()
	if cfg.DataDir == "" {
		return nil, configError(path, nil, "data_dir is required (the folder for the lake and the warehouse)")
	}
	if len(cfg.BaseCurrency) != 3 || strings.ToUpper(cfg.BaseCurrency) != cfg.BaseCurrency {
		return nil, configError(path, nil, "base_currency %q: want an ISO 4217 code like USD", cfg.BaseCurrency)
	}
	seen := map[string]bool{}
	for _, n := range cfg.Sources {
		cs, err := decodeSource(path, filepath.Dir(abs), n)
		if err != nil {
			return nil, err
		}
		if seen[cs.Name] {
			return nil, configError(path, n, "sources: name %q is used twice", cs.Name)
		}
		seen[cs.Name] = true
		cfg.Configured = append(cfg.Configured, cs)
	}
	if err := cfg.validateSections(path, seen); err != nil {
		return nil, err
	}
	return cfg, nil
}

func (c *Config) setDefaults() {
	if c.BaseCurrency == "" {
		c.BaseCurrency = "USD"
	}
	if c.Forecast.FiscalYearStartMonth == 0 {
		c.Forecast.FiscalYearStartMonth = 1
	}
	if c.Forecast.HorizonQuarters == 0 {
		c.Forecast.HorizonQuarters = 2
	}
	if c.Narrative.Host == "" {
		c.Narrative.Host = "http://127.0.0.1:11434"
	}
	if c.Narrative.Timeout == 0 {
		c.Narrative.Timeout = 60 * time.Second
	}
	if c.Writeback.Mode == "" {
		c.Writeback.Mode = "read_only"
	}
}

func (c *Config) validateSections(path string, sources map[string]bool) error {
	if ml := c.Warehouse.MemoryLimit; ml != "" && !memoryLimitRE.MatchString(ml) {
		return configError(path, nil, "warehouse.memory_limit %q: want a size such as 512MB, 2GB or 1.5GiB", ml)
	}
	if d := c.Warehouse.VacuumDays; d != nil && *d < 0 {
		return configError(path, nil, "warehouse.vacuum_days %d: want 0 (vacuum at every checkpoint) or a number of days", *d)
	}
	if c.Warehouse.Threads < 0 {
		return configError(path, nil, "warehouse.threads %d: want 0 (one per core) or more", c.Warehouse.Threads)
	}
	if c.Forecast.RefitDays < 0 {
		return configError(path, nil, "forecast.refit_days %d: want 0 (refit every run) or a number of days", c.Forecast.RefitDays)
	}
	if m := c.Forecast.FiscalYearStartMonth; m < 1 || m > 12 {
		return configError(path, nil, "forecast.fiscal_year_start_month %d: want 1-12", m)
	}
	if err := c.validateWriteback(path); err != nil {
		return err
	}
	parser := cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
	for i, j := range c.Schedule.Jobs {
		if j.Name == "" {
			return configError(path, nil, "schedule.jobs[%d]: name is required", i)
		}
		if _, err := parser.Parse(j.Cron); err != nil {
			return configError(path, nil, "schedule.jobs[%d] (%s): cron %q: %v", i, j.Name, j.Cron, err)
		}
		switch j.Command {
		case "extract", "transform", "forecast", "report", "writeback", "run":
		default:
			return configError(path, nil, "schedule.jobs[%d] (%s): command %q: want extract, transform, forecast, report, writeback or run", i, j.Name, j.Command)
		}
		for _, s := range j.Sources {
			if !sources[s] {
				return configError(path, nil, "schedule.jobs[%d] (%s): source %q is not in sources", i, j.Name, s)
			}
		}
	}
	return nil
}

// decodeSource decodes one `sources:` entry: name and type, then the rest of the mapping,
// strictly, into the connector registered for type. Relative paths resolve against baseDir.
func decodeSource(path, baseDir string, n ast.Node) (ConfiguredSource, error) {
	m, ok := n.(*ast.MappingNode)
	if !ok {
		return ConfiguredSource{}, configError(path, n, "sources: each entry must be a mapping with name and type")
	}
	cs := ConfiguredSource{Enabled: true}
	rest := &ast.MappingNode{BaseNode: m.BaseNode, Start: m.Start, End: m.End, IsFlowStyle: m.IsFlowStyle}
	for _, kv := range m.Values {
		switch kv.Key.String() {
		case "name":
			cs.Name = strings.Trim(kv.Value.String(), `"'`)
		case "type":
			cs.Type = strings.Trim(kv.Value.String(), `"'`)
		case "enabled":
			switch v := strings.TrimSpace(kv.Value.String()); v {
			case "true":
			case "false":
				cs.Enabled = false
			default:
				return cs, configError(path, kv, "enabled: %q: want true or false", v)
			}
		default:
			rest.Values = append(rest.Values, kv)
		}
	}
	if !sourceNameRE.MatchString(cs.Name) {
		return cs, configError(path, n, "sources: name %q: want lower_snake_case like crm or sap_prod", cs.Name)
	}
	src, err := extract.New(cs.Type)
	if err != nil {
		return cs, configError(path, n, "source %s: %v", cs.Name, err)
	}
	if len(rest.Values) > 0 {
		if err := yaml.NodeToValue(rest, src, yaml.Strict()); err != nil {
			return cs, yamlError(path, fmt.Errorf("source %s: %w", cs.Name, err))
		}
	}
	if r, ok := src.(interface{ ResolvePaths(base string) }); ok {
		r.ResolvePaths(baseDir)
	}
	if err := src.Init(); err != nil {
		return cs, configError(path, n, "source %s (%s): %v", cs.Name, cs.Type, err)
	}
	cs.Source = src
	return cs, nil
}

// DataPath returns a path inside the configured data_dir.
func (c *Config) DataPath(elem ...string) string {
	dir := c.DataDir
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(filepath.Dir(c.Path), dir)
	}
	return filepath.Join(append([]string{dir}, elem...)...)
}

// WarehousePath is the DuckDB file.
func (c *Config) WarehousePath() string { return c.DataPath("warehouse.duckdb") }

// loadConfig loads the --config file for a command.
func (m *Main) loadConfig() (*Config, error) {
	return LoadConfig(m.configPath)
}

// node returns the YAML node at a path like "$.writeback.allow[2]", for messages that
// name a line; nil when the path is not in the file.
func (c *Config) node(p string) ast.Node {
	if c.raw == nil {
		return nil
	}
	file, err := parser.ParseBytes(c.raw, 0)
	if err != nil {
		return nil
	}
	yp, err := yaml.PathString(p)
	if err != nil {
		return nil
	}
	n, err := yp.FilterFile(file)
	if err != nil {
		return nil
	}
	return n
}

var allowEntryRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*\.[A-Za-z][A-Za-z0-9_]*$`)

// validateWriteback checks the writeback section; messages name the key and its line.
func (c *Config) validateWriteback(path string) error {
	wb := &c.Writeback
	validMode := func(m string) bool {
		return m == writeback.ModeReadOnly || m == writeback.ModeReview || m == writeback.ModeAuto
	}
	if !validMode(wb.Mode) {
		return configError(path, c.node("$.writeback.mode"), "writeback.mode %q: want read_only, review or auto", wb.Mode)
	}
	writes := wb.Mode != writeback.ModeReadOnly
	for _, name := range slices.Sorted(maps.Keys(wb.Workflows)) {
		mode := wb.Workflows[name]
		n := c.node("$.writeback.workflows." + name)
		if !slices.Contains(writeback.AllWorkflows, name) {
			return configError(path, n, "writeback.workflows: unknown workflow %q: want %s", name, strings.Join(writeback.AllWorkflows, ", "))
		}
		if !validMode(mode) {
			return configError(path, n, "writeback.workflows.%s %q: want read_only, review or auto", name, mode)
		}
		writes = writes || mode != writeback.ModeReadOnly
	}
	byName := map[string]ConfiguredSource{}
	for _, cs := range c.Configured {
		byName[cs.Name] = cs
	}
	if wb.Target != "" {
		cs, ok := byName[wb.Target]
		if !ok {
			return configError(path, c.node("$.writeback.target"), "writeback.target %q is not in sources: name the CRM source to write to", wb.Target)
		}
		if writes && cs.Type != "salesforce" {
			return configError(path, c.node("$.writeback.target"), "writeback.target %q is a %s source: write-back supports salesforce so far; set writeback.mode: read_only", wb.Target, cs.Type)
		}
	} else if writes {
		return configError(path, c.node("$.writeback"), "writeback.target is required when a workflow is review or auto: name the CRM source to write to")
	}
	for i, a := range wb.Allow {
		if !allowEntryRE.MatchString(a) {
			return configError(path, c.node(fmt.Sprintf("$.writeback.allow[%d]", i)), "writeback.allow[%d] %q: want Object.Field, like Revenue_Forecast__c.Expected_Amount__c", i, a)
		}
	}
	for _, t := range slices.Sorted(maps.Keys(wb.AllowByTarget)) {
		if _, ok := byName[t]; !ok {
			return configError(path, c.node("$.writeback.allow_by_target."+t), "writeback.allow_by_target: %q is not in sources", t)
		}
		for i, a := range wb.AllowByTarget[t] {
			if !allowEntryRE.MatchString(a) {
				return configError(path, c.node(fmt.Sprintf("$.writeback.allow_by_target.%s[%d]", t, i)), "writeback.allow_by_target.%s[%d] %q: want Object.Field", t, i, a)
			}
		}
	}
	th := wb.Thresholds
	if th.Amount < 0 {
		return configError(path, c.node("$.writeback.thresholds.amount"), "writeback.thresholds.amount %v: want 0 (off) or a positive amount in %s", th.Amount, c.BaseCurrency)
	}
	if th.ChangePct < 0 {
		return configError(path, c.node("$.writeback.thresholds.change_pct"), "writeback.thresholds.change_pct %v: want 0 (off) or a positive percentage", th.ChangePct)
	}
	for i, k := range th.Kinds {
		if !slices.Contains(writeback.AllKinds, k) {
			return configError(path, c.node(fmt.Sprintf("$.writeback.thresholds.kinds[%d]", i)), "writeback.thresholds.kinds[%d] %q: want one of %s", i, k, strings.Join(writeback.AllKinds, ", "))
		}
	}
	if wb.MaxAttempts < 0 || wb.MaxAttempts > 10 {
		return configError(path, c.node("$.writeback.max_attempts"), "writeback.max_attempts %d: want 1 to 10 (0 means 3)", wb.MaxAttempts)
	}
	if wb.ConcurrentRequests < 0 || wb.ConcurrentRequests > 25 {
		return configError(path, c.node("$.writeback.concurrent_requests"), "writeback.concurrent_requests %d: want 1 to 25, Salesforce's limit of concurrent long requests (0 means %d)",
			wb.ConcurrentRequests, writeback.DefaultRequests)
	}
	return nil
}

// writebackPolicy is the governance of the configured target.
func (c *Config) writebackPolicy() writeback.Policy {
	wb := c.Writeback
	p := writeback.Policy{Modes: map[string]string{}, ModeKeys: map[string]string{}, AllowKey: "writeback.allow",
		Thresholds:  writeback.Thresholds{Amount: wb.Thresholds.Amount, ChangePct: wb.Thresholds.ChangePct, Kinds: wb.Thresholds.Kinds},
		MaxAttempts: wb.MaxAttempts}
	for _, wf := range writeback.AllWorkflows {
		p.Modes[wf], p.ModeKeys[wf] = wb.Mode, "writeback.mode"
		if m, ok := wb.Workflows[wf]; ok {
			p.Modes[wf], p.ModeKeys[wf] = m, "writeback.workflows."+wf
		}
	}
	p.Allow = append(p.Allow, wb.Allow...)
	if extra, ok := wb.AllowByTarget[wb.Target]; ok {
		p.Allow = append(p.Allow, extra...)
		p.AllowKey = "writeback.allow (or writeback.allow_by_target." + wb.Target + ")"
	}
	return p
}
