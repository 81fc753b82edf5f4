# revcast — every set-up step lives here. Two commands on a fresh machine:
#   make demo   build and run the whole job on a synthetic company into ./demo
#   make test   run every test
# Prerequisites: Go 1.26+ and a C compiler (cgo links the embedded DuckDB).

GO        ?= go
# duckdb_arrow enables duckdb-go's Arrow interface (used to hand Arrow batches to DuckDB).
TAGS      ?= duckdb_arrow
BIN       := bin/revcast
SCALE     ?= small
SEED      ?= 42
DEMO_DIR  ?= ./demo
STATICCHECK_VERSION := v0.8.2
export CGO_ENABLED := 1

.PHONY: all build demo test test-short bench lint check-tools clean

all: build

check-tools:
	@command -v $(GO) >/dev/null || { echo "Go 1.26+ is required: https://go.dev/dl/"; exit 1; }
	@$(GO) version | awk '{split($$3,v,"."); sub("go","",v[1]); if (v[1] < 1 || (v[1] == 1 && v[2] < 26)) { print "Go 1.26+ is required, found " $$3; exit 1 }}'
	@command -v $${CC:-gcc} >/dev/null || { echo "a C compiler is required for cgo (Debian: apt-get install gcc)"; exit 1; }

build: check-tools
	$(GO) build -tags '$(TAGS)' -o $(BIN) ./cmd/revcast

demo: build
	./$(BIN) demo --dir $(DEMO_DIR) --scale $(SCALE) --seed $(SEED)

# Tests that read ../shared/datasets skip when it is absent, except under CI=true.
test: check-tools
	$(GO) vet -tags '$(TAGS)' ./...
	$(GO) test -tags '$(TAGS)' -timeout 20m -count=1 ./...

test-short: check-tools
	$(GO) test -tags '$(TAGS)' -short ./...

# Go benchmarks in benchstat format plus whole-run timings, written under bench/results/.
bench: build
	@mkdir -p bench/results
	$(GO) test -tags '$(TAGS)' -run '^$$' -bench . -benchmem -count 5 -timeout 60m ./... | tee bench/results/go-bench.txt
	./bench/whole-run.sh ./$(BIN) | tee bench/results/whole-run.txt

lint: check-tools
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet -tags '$(TAGS)' ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) -tags '$(TAGS)' ./...

clean:
	rm -rf bin $(DEMO_DIR)
