package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/robfig/cron/v3"

	"github.com/revcast/revcast"
	"github.com/revcast/revcast/extract"
)

// Config is revcast.yaml. Unknown keys, wrong types and missing required fields are usage
// errors naming the key and the line. Secrets are never in the file: connectors name the
// environment variables that hold them.
type Config struct {
	DataDir      string          `yaml:"data_dir"`
	BaseCurrency string          `yaml:"base_currency"`
	Sources      []ast.Node      `yaml:"sources"`
	Schedule     ScheduleConfig  `yaml:"schedule"`
	Forecast     ForecastConfig  `yaml:"forecast"`
	Narrative    NarrativeConfig `yaml:"narrative"`
	Writeback    WritebackConfig `yaml:"writeback"`

	// Path is the config file; relative paths in it are relative to its folder.
	Path string `yaml:"-"`
	// Configured holds the decoded sources in file order.
	Configured []ConfiguredSource `yaml:"-"`
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

// ForecastConfig parameterises the models.
type ForecastConfig struct {
	FiscalYearStartMonth int   `yaml:"fiscal_year_start_month"` // 1 = January
	HorizonQuarters      int   `yaml:"horizon_quarters"`
	Seed                 int64 `yaml:"seed"`
}

// NarrativeConfig says where the LLM that writes the narrative is.
type NarrativeConfig struct {
	Enabled bool          `yaml:"enabled"`
	Host    string        `yaml:"host"`
	Model   string        `yaml:"model"`
	Timeout time.Duration `yaml:"timeout"`
}

// WritebackConfig governs what revcast may write to the CRM.
type WritebackConfig struct {
	Mode   string   `yaml:"mode"`   // read_only, review or auto
	Target string   `yaml:"target"` // the source name of the CRM to write to
	Allow  []string `yaml:"allow"`  // Object.Field entries revcast may write
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
	if m := c.Forecast.FiscalYearStartMonth; m < 1 || m > 12 {
		return configError(path, nil, "forecast.fiscal_year_start_month %d: want 1-12", m)
	}
	switch c.Writeback.Mode {
	case "read_only", "review", "auto":
	default:
		return configError(path, nil, "writeback.mode %q: want read_only, review or auto", c.Writeback.Mode)
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
