# ons-pipeline — two commands on a fresh Debian machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: setup system-deps venv checkov fluxlsp demo test lint format servers-start servers-stop dev clean

CHECKOV_VENV := .venv-checkov
FLUXLSP := ons_pipeline/lib/query/fluxlsp

setup: system-deps venv checkov fluxlsp ## install everything (idempotent)

DEBIAN_PACKAGES := influxdb influxdb-client postgresql openssl util-linux

system-deps: ## Debian packages: InfluxDB 1.x and PostgreSQL servers (real servers for tests and demo)
	@if ! command -v influxd >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		echo "installing Debian packages: $(DEBIAN_PACKAGES)"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(DEBIAN_PACKAGES) >/dev/null; \
	fi

venv: $(BIN)/.installed ## Python virtual environment with the project and its dev tools

$(BIN)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	set -o pipefail; $(BIN)/python -m pip install -q --upgrade pip 2>&1 | { grep -v "^WARNING: Location" || true; }
	@# CPU torch first (a wheel on this machine's disk); otherwise a dependency pulls a CUDA build
	set -o pipefail; $(BIN)/python -m pip install -q torch==2.13.0 2>&1 | { grep -v "^WARNING: Location" || true; }
	set -o pipefail; $(BIN)/python -m pip install -q -e '.[dev]' 2>&1 | { grep -v "^WARNING: Location" || true; }
	@$(BIN)/python -c "import ons_pipeline, dagster, pyarrow, moto" && touch $@

checkov: $(CHECKOV_VENV)/bin/checkov ## checkov in its own venv (it pins an older boto3)

$(CHECKOV_VENV)/bin/checkov:
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	set -o pipefail; $(CHECKOV_VENV)/bin/python -m pip install -q checkov==3.3.30 2>&1 | { grep -v "^WARNING: Location" || true; }

fluxlsp: $(FLUXLSP)/node_modules/.package-lock.json ## InfluxData's Flux parser (WebAssembly) for query tests

$(FLUXLSP)/node_modules/.package-lock.json: $(FLUXLSP)/package-lock.json
	@command -v npm >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq nodejs npm >/dev/null; }
	npm ci --silent --no-audit --no-fund --prefix $(FLUXLSP)

demo: setup ## start local servers, generate ONS data, stage it in the Timestream stand-in, migrate it
	$(BIN)/ons-pipeline demo

test: setup ## the whole suite (starts its own servers on loopback)
	$(BIN)/python -m pytest

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

servers-start: setup
	$(BIN)/ons-pipeline servers start

servers-stop:
	$(BIN)/ons-pipeline servers stop

dev: setup ## the Dagster UI on http://127.0.0.1:3000 (with the local servers)
	$(BIN)/ons-pipeline servers start
	mkdir -p $(DAGSTER_HOME) && cp dagster.yaml $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/dagster dev -h 127.0.0.1 -p 3000 -w workspace.yaml

clean:
	-$(BIN)/ons-pipeline servers stop
	rm -rf .ons-pipeline .dagster_home
