package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"text/template"

	"github.com/spf13/cobra"
)

func init() { commands = append(commands, newInitCmd) }

func newInitCmd(m *Main) *cobra.Command {
	var dir string
	var force bool
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a commented revcast.yaml and the data directory",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := writeConfig(dir, configTemplateData{DataDir: "./data", ExportsPath: "./exports"}, force)
			if err != nil {
				return err
			}
			fmt.Fprintf(m.Stdout, "wrote %s\nedit its sources, then run: cd %s && revcast extract && revcast transform\n", path, dir)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", ".", "folder for revcast.yaml and the data")
	cmd.Flags().BoolVar(&force, "force", false, "overwrite an existing revcast.yaml")
	return cmd
}

// configTemplateData fills configTemplate.
type configTemplateData struct {
	DataDir     string
	ExportsPath string
}

var configTemplate = template.Must(template.New("revcast.yaml").Parse(`# revcast configuration. Relative paths are relative to this file.
# Secrets never go in this file: connectors name the environment variables that hold them.
# Reference: README.md; every key is checked when the file is loaded.

# Where the lake (Parquet), the warehouse (warehouse.duckdb), rejects and reports go.
data_dir: {{.DataDir}}
# Amounts are converted into this ISO 4217 currency through fx_rates (amount_base columns).
base_currency: USD

# What to extract. Each source has a unique lower_snake_case name (its folder in the lake)
# and a connector type.
sources:
  # CSV or Parquet exports in a folder. By default every <table>.csv or <table>.parquet
  # whose name is a canonical table (revcast tables) is a stream; map other file names
  # and column names under streams.
  - name: exports
    type: files
    path: {{.ExportsPath}}
    # streams:
    #   opportunities:
    #     file: "opps_*.csv"                  # glob relative to path
    #     columns: {"Opp ID": opportunity_id} # source column -> canonical column
    #     date_format: "02/01/2006"           # Go layout
    #     decimal_separator: ","
    #     currency: EUR                       # when the file has no currency column

# Jobs for 'revcast schedule' (robfig/cron specs: minute hour day-of-month month day-of-week).
schedule:
  jobs:
    - name: nightly
      cron: "0 2 * * *"
      command: run            # extract, transform, forecast, report, writeback or run
      # sources: [exports]    # extract only these

forecast:
  fiscal_year_start_month: 1  # 1 = January
  horizon_quarters: 2
  seed: 1                     # Monte Carlo seed: the same data and seed give the same forecast

# The narrative in the report is written by a local Ollama model when enabled and reachable,
# and by a deterministic template otherwise.
narrative:
  enabled: false
  host: http://127.0.0.1:11434
  model: llama3.1:8b
  timeout: 60s

# What revcast may write back to the CRM. read_only writes nothing; review queues every
# write for 'revcast approvals'; auto writes what is under the thresholds.
writeback:
  mode: read_only
  target: ""                  # a source name, e.g. salesforce
  allow: []                   # Object.Field entries, e.g. Revenue_Forecast__c.Amount__c
`))

// writeConfig writes dir/revcast.yaml and dir's data folder and returns the file's path.
func writeConfig(dir string, data configTemplateData, force bool) (string, error) {
	path := filepath.Join(dir, "revcast.yaml")
	if _, err := os.Stat(path); err == nil && !force {
		return "", &usageError{fmt.Errorf("%s already exists: edit it, or pass --force to overwrite it", path)}
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	var buf bytes.Buffer
	if err := configTemplate.Execute(&buf, data); err != nil {
		panic(err) // the template and its data are ours: a failure is a bug
	}
	if err := os.MkdirAll(filepath.Join(dir, data.DataDir), 0o755); err != nil {
		return "", err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return "", err
	}
	return path, os.Rename(tmp, path)
}
