package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/revcast/revcast"
	"github.com/revcast/revcast/extract"
)

// fakeSource is a connector used only to test config decoding.
type fakeSource struct {
	Path    string `yaml:"path"`
	Retries int    `yaml:"retries"`
}

func (f *fakeSource) Init() error {
	if f.Retries < 0 {
		return errors.New("retries must be >= 0")
	}
	return nil
}
func (f *fakeSource) Streams(context.Context) ([]extract.Stream, error) { return nil, nil }
func (f *fakeSource) Read(context.Context, extract.Stream, json.RawMessage) (extract.Reader, error) {
	return nil, nil
}

func init() { extract.Register("configtest", func() extract.Source { return &fakeSource{Retries: 3} }) }

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		wantErr string // substring; "" means valid
	}{
		{"minimal", "data_dir: ./data\n", ""},
		{"source decoded with defaults", "data_dir: d\nsources:\n  - name: crm\n    type: configtest\n    path: x\n", ""},
		{"unknown top-level key names line", "data_dir: d\nbase_curency: EUR\n", "revcast.yaml:2:1"},
		{"wrong type names line", "data_dir: d\nforecast:\n  seed: many\n", "revcast.yaml:3:"},
		{"missing data_dir", "base_currency: USD\n", "data_dir is required"},
		{"unknown source type", "data_dir: d\nsources:\n  - name: crm\n    type: oracle\n", `unknown source type "oracle"`},
		{"unknown source key names line", "data_dir: d\nsources:\n  - name: crm\n    type: configtest\n    pth: x\n", "revcast.yaml:5:"},
		{"source Init error", "data_dir: d\nsources:\n  - name: crm\n    type: configtest\n    retries: -1\n", "retries must be >= 0"},
		{"duplicate source", "data_dir: d\nsources:\n  - {name: a, type: configtest}\n  - {name: a, type: configtest}\n", "used twice"},
		{"bad source name", "data_dir: d\nsources:\n  - {name: My-CRM, type: configtest}\n", "lower_snake_case"},
		{"bad cron", "data_dir: d\nschedule:\n  jobs:\n    - {name: n, cron: \"61 * * * *\", command: run}\n", "cron"},
		{"warehouse limits", "data_dir: d\nwarehouse:\n  memory_limit: 1.5GiB\n  threads: 2\n", ""},
		{"bad memory limit", "data_dir: d\nwarehouse:\n  memory_limit: lots\n", `warehouse.memory_limit "lots"`},
		{"negative threads", "data_dir: d\nwarehouse:\n  threads: -1\n", "warehouse.threads -1"},
		{"negative vacuum_days", "data_dir: d\nwarehouse:\n  vacuum_days: -1\n", "warehouse.vacuum_days -1"},
		{"bad job command", "data_dir: d\nschedule:\n  jobs:\n    - {name: n, cron: \"@hourly\", command: dance}\n", "command \"dance\""},
		{"bad mode", "data_dir: d\nwriteback:\n  mode: yolo\n", "writeback.mode"},
		{"duration", "data_dir: d\nnarrative:\n  timeout: 90s\n", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ParseConfig("revcast.yaml", []byte(tc.yaml))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
			}
			if revcast.ErrorCode(err) != revcast.EINVALID {
				t.Fatalf("error code = %q, want invalid (exit 2)", revcast.ErrorCode(err))
			}
			_ = cfg
		})
	}
	t.Run("values", func(t *testing.T) {
		cfg, err := ParseConfig("/x/revcast.yaml", []byte("data_dir: d\nsources:\n  - name: crm\n    type: configtest\n    path: p\nnarrative:\n  timeout: 90s\n"))
		if err != nil {
			t.Fatal(err)
		}
		src := cfg.Configured[0].Source.(*fakeSource)
		if src.Path != "p" || src.Retries != 3 || cfg.Narrative.Timeout.Seconds() != 90 || cfg.WarehousePath() != "/x/d/warehouse.duckdb" {
			t.Fatalf("decoded %+v %+v %v", src, cfg.Narrative, cfg.WarehousePath())
		}
	})
}

// TestOpenWarehouse_Settings: the warehouse opens with the config's DuckDB settings.
//   - memory_limit: DefaultMemoryLimit when the config sets none (DuckDB's own default is
//     80% of RAM), else the configured one. DuckDB reports limits in binary units: 1GB =
//     953.6 MiB.
//   - max_vacuum_tasks: by default a writable open of a fresh warehouse starts the vacuum
//     clock and turns the checkpoints' vacuum off (0: due in DefaultVacuumDays);
//     vacuum_days: 0 keeps DuckDB's vacuum at every checkpoint (100).
func TestOpenWarehouse_Settings(t *testing.T) {
	for _, tc := range []struct {
		yaml, setting, want string
		vacuum              bool
	}{
		{"", "memory_limit", "953.6 MiB", false},
		{"warehouse:\n  memory_limit: 512MB\n", "memory_limit", "488.2 MiB", false},
		{"", "max_vacuum_tasks", "0", false},
		{"warehouse:\n  vacuum_days: 0\n", "max_vacuum_tasks", "100", true},
	} {
		dir := t.TempDir()
		cfg, err := ParseConfig(dir+"/revcast.yaml", []byte("data_dir: "+dir+"\n"+tc.yaml))
		if err != nil {
			t.Fatal(err)
		}
		w, err := cfg.OpenWarehouse(context.Background(), false)
		if err != nil {
			t.Fatal(err)
		}
		var got string
		err = w.DB.QueryRow(`select cast(current_setting('` + tc.setting + `') as varchar)`).Scan(&got)
		w.Close()
		if err != nil || got != tc.want || w.Vacuum != tc.vacuum {
			t.Errorf("config %q: %s %q (%v), vacuum %v; want %q, %v", tc.yaml, tc.setting, got, err, w.Vacuum, tc.want, tc.vacuum)
		}
	}
}
