# make run          the script against the bundled sample tailnet (mock API), printing what it would import
# make run-live     the script against the real Tailscale API (TAILSCALE_API_KEY, or
#                   TAILSCALE_OAUTH_CLIENT_ID + TAILSCALE_OAUTH_CLIENT_SECRET)
# make test         lint (gofmt, go vet, ruff), Go tests and conformance probes of the emulator, the oracle
#                   (Tailscale's own Go client against the mock and the fixtures), then pytest
# make docs         regenerate fixtures/SCENARIOS.md and the generated tables of fixtures/README.md
# make bench        requests, time and memory from 100 to 50,000 devices, into bench/out/RESULTS.md
# make bench-record the same, rewriting the tracked bench/RESULTS.md
# Set-up (Python venv with pinned requirements, the rzscript binary) happens on demand.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
RZSCRIPT := bin/rzscript
GO_SOURCES := $(shell find emulator -name '*.go' -o -name 'go.mod' -o -name 'go.sum')
GO_FILES := $(shell find . -name '*.go' -not -path './.venv/*')

.PHONY: setup run run-live lint test docs bench bench-record clean

setup: $(VENV)/.installed $(RZSCRIPT)

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(RZSCRIPT): $(GO_SOURCES)
	cd emulator && go build -o ../$(RZSCRIPT) ./cmd/rzscript

run: setup
	$(PY) -m harness.preview

run-live: setup
	$(PY) -m harness.preview --live

lint: $(VENV)/.installed
	@unformatted="$$(gofmt -l $(GO_FILES))"; \
	if [ -n "$$unformatted" ]; then echo "gofmt wants to reformat:"; echo "$$unformatted"; exit 1; fi
	cd emulator && go vet ./...
	cd oracle && go vet ./...
	$(VENV)/bin/ruff check .

test: setup lint
	cd emulator && go test ./...
	cd oracle && go test -count=1 ./...
	$(PY) -m pytest -q

docs: $(VENV)/.installed
	$(PY) -m harness.docs

bench: setup
	$(PY) -m bench.run_bench

bench-record: setup
	$(PY) -m bench.run_bench --results bench/RESULTS.md

clean:
	rm -rf $(VENV) bin out bench/out
