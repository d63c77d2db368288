# The two commands a new user needs: `make demo` and `make test`. Everything else is a convenience.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export RECSYS_HOME ?= $(CURDIR)/.recsys
export DAGSTER_HOME ?= $(RECSYS_HOME)/dagster

.PHONY: install demo test ui lint format benchmark clean smoke-dev

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip>=24"
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/recsys demo

test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

ui: install
	mkdir -p $(DAGSTER_HOME)
	test -f $(DAGSTER_HOME)/dagster.yaml || printf 'telemetry:\n  enabled: false\n' > $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

benchmark: install
	$(BIN)/python benchmarks/run_graph.py

clean:
	rm -rf $(VENV) .recsys .pytest_cache

# CI on main: a small generated dataset materialized end to end against the dev deployment
# (RECSYS_DEPLOYMENT=dev: its store and storage come from the environment, see the README). The generated orders go
# to a throw-away SQLite source (SMOKE_SOURCE_URL), never over the dev source database.
SMOKE_HOME ?= $(RECSYS_HOME)/smoke
SMOKE_SOURCE_URL ?= sqlite:///$(SMOKE_HOME)/source.db
SMOKE_ENV = RECSYS_HOME=$(SMOKE_HOME) DAGSTER_HOME=$(SMOKE_HOME)/dagster RECSYS_DEPLOYMENT=dev \
	RECSYS_SOURCE_URL=$(SMOKE_SOURCE_URL)
smoke-dev: install
	rm -rf $(SMOKE_HOME) && mkdir -p $(SMOKE_HOME)/dagster
	printf 'telemetry:\n  enabled: false\n' > $(SMOKE_HOME)/dagster/dagster.yaml
	$(SMOKE_ENV) $(BIN)/recsys generate --customers 400 --products 400 --days 20 --lines-per-day 300 --seed 1
	$(SMOKE_ENV) $(BIN)/recsys materialize
