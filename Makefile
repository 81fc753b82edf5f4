# revcast — every set-up step lives here. Two commands on a fresh machine:
#   make demo   build and run the whole job on a synthetic company into ./demo
#   make test   run every test
# Prerequisites: Go 1.26+, a C compiler (cgo links the embedded DuckDB) and npm (the report's
# ECharts is installed from the npm registry at build time; see 'assets').

GO        ?= go
# duckdb_arrow enables duckdb-go's Arrow interface (used to hand Arrow batches to DuckDB).
TAGS      ?= duckdb_arrow
BIN       := bin/revcast
SCALE     ?= small
SEED      ?= 42
DEMO_DIR  ?= ./demo
STATICCHECK_VERSION := v0.8.2
export CGO_ENABLED := 1

.PHONY: all build demo test test-short bench bench-m3 bench-compare bench-2x bench-vacuum lint check-tools clean assets

all: build

check-tools:
	@command -v $(GO) >/dev/null || { echo "Go 1.26+ is required: https://go.dev/dl/"; exit 1; }
	@$(GO) version | awk '{split($$3,v,"."); sub("go","",v[1]); if (v[1] < 1 || (v[1] == 1 && v[2] < 26)) { print "Go 1.26+ is required, found " $$3; exit 1 }}'
	@command -v $${CC:-gcc} >/dev/null || { echo "a C compiler is required for cgo (Debian: apt-get install gcc)"; exit 1; }

build: check-tools assets
	$(GO) build -tags '$(TAGS)' -o $(BIN) ./cmd/revcast

demo: build
	./$(BIN) demo --dir $(DEMO_DIR) --scale $(SCALE) --seed $(SEED)

# Tests that read ../shared/datasets skip when it is absent, except under CI=true.
test: check-tools assets
	$(GO) vet -tags '$(TAGS)' ./...
	$(GO) test -tags '$(TAGS)' -timeout 20m -count=1 ./...

test-short: check-tools assets
	$(GO) test -tags '$(TAGS)' -short ./...

# Every figure of issue 10, written under bench/results/ (git-ignored; bench/README.md says
# what each measures): the Go hot-path benchmarks in benchstat format, the stage-by-stage
# and whole-run table against the sandboxes at medium and large scale (BENCH_SCALES), the
# M3 accuracy table through 'revcast timeseries', the side-by-side comparison with
# statsmodels and scikit-learn (installs python3-statsmodels python3-sklearn from Debian)
# and, when BENCH_SCALES includes large, the peak memory of large against twice large.
BENCH_SCALES ?= medium large
bench: build
	@mkdir -p bench/results
	GO='$(GO)' TAGS='$(TAGS)' ./bench/go-bench.sh
	bash -o pipefail -c './bench/pipeline.sh ./$(BIN) $(BENCH_SCALES) | tee bench/results/pipeline.txt'
	./bench/m3.sh ./$(BIN)
	./bench/compare.sh ./$(BIN)
	@case " $(BENCH_SCALES) " in *" large "*) bash -o pipefail -c './bench/memory2x.sh ./$(BIN) | tee bench/results/memory2x.txt';; esac

# The M3 accuracy table alone, the side-by-side comparison alone, the 2x memory proof alone.
bench-m3: build
	./bench/m3.sh ./$(BIN)
bench-compare: build
	./bench/compare.sh ./$(BIN)
bench-2x: build
	@mkdir -p bench/results
	bash -o pipefail -c './bench/memory2x.sh ./$(BIN) | tee bench/results/memory2x.txt'
# What warehouse.vacuum_days buys: a week of nightly transforms, weekly vacuum against every night.
bench-vacuum: build
	@mkdir -p bench/results
	bash -o pipefail -c './bench/vacuum.sh ./$(BIN) | tee bench/results/vacuum.txt'

lint: check-tools assets
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet -tags '$(TAGS)' ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) -tags '$(TAGS)' ./...

# The HTML report embeds ECharts (reports/html/assets.go). It is third-party code, so it is
# never committed: npm installs the version pinned in package.json/package-lock.json (5.6.0,
# the release go-echarts v2.6.7 targets) and the file is copied next to the Go code that
# embeds it. Without it the build stops with "pattern assets/echarts.min.js: no matching
# files found": run 'make assets'.
ECHARTS_JS := reports/html/assets/echarts.min.js

assets: $(ECHARTS_JS)

$(ECHARTS_JS): package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is required to install ECharts for the HTML report (Debian: apt-get install npm)"; exit 1; }
	npm ci --ignore-scripts --no-audit --no-fund
	@test -f node_modules/echarts/dist/echarts.min.js || { echo "npm ci did not install node_modules/echarts/dist/echarts.min.js"; exit 1; }
	mkdir -p $(dir $@)
	cp node_modules/echarts/dist/echarts.min.js $@

clean:
	rm -rf bin $(DEMO_DIR) node_modules $(ECHARTS_JS)
