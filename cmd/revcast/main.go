// Command revcast is the one binary: it wires config, connectors, the warehouse, the models
// and the reports together. One file per command; no business logic here.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/revcast/revcast"
	_ "github.com/revcast/revcast/extract/all" // register every connector
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := NewMain(os.Stdout, os.Stderr).Run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// Main holds what a command run needs; tests build one and call Run directly.
type Main struct {
	Stdout, Stderr io.Writer

	configPath string
	logFormat  string
	logLevel   string
	profiles   profiles
	Logger     *slog.Logger
}

// NewMain returns a Main writing to the given streams.
func NewMain(stdout, stderr io.Writer) *Main {
	return &Main{Stdout: stdout, Stderr: stderr}
}

// Run executes the command line args and returns the process exit code: 0 ok, 1 failure,
// 2 bad usage or bad configuration.
func (m *Main) Run(ctx context.Context, args []string) int {
	root := m.rootCommand()
	root.SetArgs(args)
	root.SetOut(m.Stdout)
	root.SetErr(m.Stderr)
	err := root.ExecuteContext(ctx)
	if perr := m.profiles.stop(); perr != nil {
		fmt.Fprintln(m.Stderr, "revcast:", perr)
	}
	if err == nil {
		return 0
	}
	fmt.Fprintln(m.Stderr, "revcast:", err)
	var ue *usageError
	if errors.As(err, &ue) || revcast.ErrorCode(err) == revcast.EINVALID {
		return 2
	}
	return 1
}

// usageError marks a command-line mistake (exit code 2).
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func (m *Main) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "revcast",
		Short: "Revenue operations analytics and forecasting between your CRM and ERP",
		Long: `revcast extracts CRM pipeline and ERP orders, stock, billing and receivables,
lands them as Parquet, builds a DuckDB warehouse with SQL models, forecasts bookings,
cash and renewals, writes an HTML report and writes results back to the CRM.

Start with 'revcast demo' (a synthetic company, end to end) or 'revcast init'.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if err := m.setupLogging(); err != nil {
				return err
			}
			return m.profiles.start()
		},
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return &usageError{err} })
	pf := root.PersistentFlags()
	pf.StringVar(&m.configPath, "config", "revcast.yaml", "config file")
	pf.StringVar(&m.logFormat, "log-format", "text", "log format: text or json")
	pf.StringVar(&m.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	pf.StringVar(&m.profiles.cpuPath, "cpuprofile", "", "write a Go CPU profile of the command to this file (go tool pprof)")
	pf.StringVar(&m.profiles.memPath, "memprofile", "", "write a Go allocation profile of the command to this file at its end (go tool pprof)")
	for _, add := range commands {
		root.AddCommand(add(m))
	}
	return root
}

// commands is filled by each command file's init, so adding a command touches one file.
var commands []func(*Main) *cobra.Command

func (m *Main) setupLogging() error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(m.logLevel)); err != nil {
		return &usageError{fmt.Errorf("--log-level %q: want debug, info, warn or error", m.logLevel)}
	}
	opts := &slog.HandlerOptions{Level: level}
	switch m.logFormat {
	case "text":
		m.Logger = slog.New(slog.NewTextHandler(m.Stderr, opts))
	case "json":
		m.Logger = slog.New(slog.NewJSONHandler(m.Stderr, opts))
	default:
		return &usageError{fmt.Errorf("--log-format %q: want text or json", m.logFormat)}
	}
	return nil
}

// exactArgs is cobra.ExactArgs returning a usage error.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(n)(cmd, args); err != nil {
			return &usageError{err}
		}
		return nil
	}
}
