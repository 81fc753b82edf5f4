package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/revcast/revcast/fixtures"
	"github.com/revcast/revcast/fixtures/sandbox"
)

func init() { commands = append(commands, newSandboxCmd) }

func newSandboxCmd(m *Main) *cobra.Command {
	var addr, scale, faults, split, exports, asOfFlag string
	var seed int64
	var netsuiteKey bool
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "Serve a synthetic company over the vendors' APIs on loopback until stopped",
		Long: `Generate a synthetic company and serve it over local HTTP servers that speak each
vendor's documented wire format — Salesforce REST on --addr's port, HubSpot CRM v3 on the
next port, Dynamics 365 Web API on the one after, SAP S/4HANA OData v2 on the fourth and
NetSuite SuiteQL on the fifth (both ERPs serve the same ERP side: extract one of them) — so
every connector can be tried by hand:

  revcast sandbox --addr 127.0.0.1:8700 --exports try/exports &
  revcast init --dir try --sandbox http://127.0.0.1:8700 --exports ./exports
  export SF_CLIENT_SECRET=... HUBSPOT_ACCESS_TOKEN=... DYNAMICS_CLIENT_SECRET=... SAP_PASSWORD=...   (printed below)
  cd try && revcast extract && revcast transform

--faults injects seeded failures (e.g. 429:0.02,503:0.01,expire-token:every=500,
slow:200ms:0.01,fail-page-once,dup-ts-at-page-boundary,mutate-during-extract).
Each server's /__sandbox/ path (not part of any vendor API) has admin endpoints for tests:
mutate records, read the request log.

--exports DIR writes what none of these APIs serves — products, shipments, supply receipts
and FX rates — as CSV files for a files source ('revcast init --exports'), so the sandbox
sources plus those files make a complete company.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if netsuiteKey {
				_, err := fmt.Fprint(m.Stdout, sandbox.NetSuiteDemoPrivateKeyPEM)
				return err
			}
			n, err := fixtures.ParseScale(scale)
			if err != nil {
				return &usageError{fmt.Errorf("--scale: %w", err)}
			}
			var sp sandbox.Split
			switch split {
			case "region":
				sp = sandbox.SplitByRegion
			case "salesforce", "hubspot", "dynamics":
				sp = sandbox.WholeCompany(sandbox.CRM(split))
			default:
				return &usageError{fmt.Errorf("--split %q: want region, salesforce, hubspot or dynamics", split)}
			}
			asOf, err := parseAsOf(asOfFlag)
			if err != nil {
				return err
			}
			if asOf.IsZero() {
				// The company's today is today, so 'revcast run' against it forecasts from now.
				asOf = time.Now().UTC().Truncate(24 * time.Hour)
			}
			company, err := fixtures.Generate(fixtures.Options{Seed: seed, Opportunities: n, AsOf: asOf})
			if err != nil {
				return err
			}
			if exports != "" {
				if err := company.WriteCSVWith(exports, fixtures.CSVOptions{Tables: demoFileTables}); err != nil {
					return fmt.Errorf("--exports: %w", err)
				}
			}
			srv, err := sandbox.Start(company, addr, sandbox.ServerOptions{Faults: faults, Seed: uint64(seed), Split: sp, SAP: true, NetSuite: true})
			if err != nil {
				return &usageError{err}
			}
			defer srv.Close()
			out := m.Stdout
			fmt.Fprintf(out, "revcast sandbox: %d opportunities (seed %d), split %s", len(company.Opportunities), seed, split)
			if faults != "" {
				fmt.Fprintf(out, ", faults %s", faults)
			}
			fmt.Fprintln(out)
			for _, v := range []string{"salesforce", "hubspot", "dynamics", "sap", "netsuite"} {
				fmt.Fprintf(out, "  %-10s %s\n", v, srv.URLs[v])
			}
			fmt.Fprintf(out, "\nDemo credentials (not secrets; connectors read them from the environment):\n")
			fmt.Fprintf(out, "  export SF_CLIENT_SECRET=%s\n", sandbox.SalesforceDemoClientSecret)
			fmt.Fprintf(out, "  export HUBSPOT_ACCESS_TOKEN=%s\n", sandbox.HubSpotDemoToken)
			fmt.Fprintf(out, "  export DYNAMICS_CLIENT_SECRET=%s\n", sandbox.DynamicsDemoClientSecret)
			fmt.Fprintf(out, "  export SAP_PASSWORD=%s\n", sandbox.SAPDemoPassword)
			fmt.Fprintf(out, "  export NETSUITE_PRIVATE_KEY=\"$(revcast sandbox --netsuite-key)\"\n")
			if exports != "" {
				fmt.Fprintf(out, "\nWrote %s to %s.\n", strings.Join(demoFileTables, ", "), exports)
				fmt.Fprintf(out, "A config for them: revcast init --dir DIR --sandbox %s --exports %s\nStop with Ctrl-C.\n", srv.URLs["salesforce"], exports)
			} else {
				fmt.Fprintf(out, "\nA config for them: revcast init --dir DIR --sandbox %s\nStop with Ctrl-C.\n", srv.URLs["salesforce"])
			}
			<-cmd.Context().Done()
			fmt.Fprintln(out, strings.TrimSpace("\nrevcast sandbox: stopped"))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "addr", "127.0.0.1:8700", "host:port of the Salesforce server; HubSpot and Dynamics use the next two ports (port 0: any free ports)")
	f.StringVar(&scale, "scale", "small", "small, medium, large or a number of opportunities")
	f.Int64Var(&seed, "seed", 42, "generator and fault seed")
	f.StringVar(&faults, "faults", "", "fault spec, e.g. 429:0.02,503:0.01,expire-token:every=5000")
	f.BoolVar(&netsuiteKey, "netsuite-key", false, "print the NetSuite sandbox's demo private key (PEM) and exit")
	f.StringVar(&exports, "exports", "", "also write products, shipments, supply receipts and FX rates (what the APIs do not serve) as CSV files into this folder")
	f.StringVar(&asOfFlag, "as-of", "", "the company's today, YYYY-MM-DD (default: today, UTC)")
	f.StringVar(&split, "split", "region", "which CRM holds which accounts: region (NA Salesforce, EMEA Dynamics, APAC HubSpot) or one CRM name for the whole company")
	return cmd
}
