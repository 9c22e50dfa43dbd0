# `make help` lists the targets: each is described by the `## ` comment on its own line below.
# Set-up (a Python venv with the pinned requirements, the rzscript binary) happens on demand.
#
# Variables (give them in the environment or on the command line):
#   PYTHON=python3.12      the interpreter that creates .venv (3.11 or newer; default python3)
#   TAILSCALE_STAR=PATH    the script that tests, make run and the benchmark run (default tailscale.star)
#   RZSCRIPT=PATH          the rzscript binary they use (default bin/rzscript, built here)

PYTHON ?= python3
MIN_PYTHON := 3.11
VENV := .venv
PY := $(VENV)/bin/python
# The binary this Makefile builds. RZSCRIPT and TAILSCALE_STAR are never assigned here: the harness
# reads them from the environment, so a value given by the user reaches it unchanged.
BUILT_RZSCRIPT := bin/rzscript
GO_SOURCES := $(shell find emulator -name '*.go' -o -name 'go.mod' -o -name 'go.sum')
GO_FILES := $(shell find . -name '*.go' -not -path './.venv/*')
# Which interpreter made .venv: its real path and version. A venv made by another interpreter is rebuilt.
PYTHON_ID = $(shell $(PYTHON) -c 'import os, sys; print(os.path.realpath(sys.executable), sys.version.split()[0])' 2>/dev/null)

.PHONY: help setup python-check run run-live lint test docs bench bench-record clean FORCE

help: ## list the targets
	@echo "make TARGET, where TARGET is one of:"
	@sed -n 's/^\([a-z-]*\):.*## \(.*\)/\1|\2/p' $(firstword $(MAKEFILE_LIST)) | awk -F'|' '{printf "  %-14s %s\n", $$1, $$2}'
	@echo "Variables: PYTHON (3.11 or newer, for .venv), TAILSCALE_STAR (the script), RZSCRIPT (the binary)."

setup: $(VENV)/.installed $(if $(RZSCRIPT),,$(BUILT_RZSCRIPT)) ## create .venv and build bin/rzscript (the other targets do it on demand)

python-check: ## check that PYTHON is Python 3.11 or newer
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < tuple(map(int, "$(MIN_PYTHON)".split("."))))' 2>/dev/null || { \
	  echo "make: Python $(MIN_PYTHON) or newer is needed to create $(VENV); PYTHON=$(PYTHON) is" \
	    "$$(command -v $(PYTHON) >/dev/null && $(PYTHON) --version 2>&1 || echo 'not found')." >&2; \
	  echo "make: install one and name it, e.g. make PYTHON=python3.12 $(or $(MAKECMDGOALS),help)" >&2; \
	  exit 1; }

$(VENV)/.interpreter: FORCE | python-check
	@if [ "$$(cat $@ 2>/dev/null)" != "$(PYTHON_ID)" ]; then \
	  if [ -d $(VENV) ]; then echo "make: $(VENV) was made by another Python; rebuilding it with $(PYTHON_ID)"; fi; \
	  rm -rf $(VENV); mkdir -p $(VENV); echo "$(PYTHON_ID)" > $@; fi

$(VENV)/.installed: requirements.txt $(VENV)/.interpreter
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(BUILT_RZSCRIPT): $(GO_SOURCES)
	cd emulator && go build -o ../$(BUILT_RZSCRIPT) ./cmd/rzscript

run: setup ## the script against the bundled sample tailnet (mock API), printing what it would import
	$(PY) -m harness.preview

run-live: setup ## the script against the real API: TAILSCALE_API_KEY, or TAILSCALE_OAUTH_CLIENT_SECRET (+ _ID)
	$(PY) -m harness.preview --live

lint: $(VENV)/.installed ## gofmt, go vet and ruff
	@unformatted="$$(gofmt -l $(GO_FILES))"; \
	if [ -n "$$unformatted" ]; then echo "gofmt wants to reformat:"; echo "$$unformatted"; exit 1; fi
	cd emulator && go vet ./...
	cd oracle && go vet ./...
	$(VENV)/bin/ruff check .

test: setup lint ## lint, Go tests and probes of the emulator, the oracle (Tailscale's Go client), then pytest
	cd emulator && go test ./...
	cd oracle && go test -count=1 ./...
	$(PY) -m pytest -q

docs: $(VENV)/.installed ## regenerate fixtures/SCENARIOS.md and the generated tables of fixtures/README.md
	$(PY) -m harness.docs

bench: setup ## requests, time and memory from 100 to 50,000 devices, into bench/out/RESULTS.md
	$(PY) -m bench.run_bench

bench-record: setup ## the same, rewriting the tracked bench/RESULTS.md
	$(PY) -m bench.run_bench --results bench/RESULTS.md

clean: ## remove .venv, bin/, out/ and bench/out/
	rm -rf $(VENV) bin out bench/out
