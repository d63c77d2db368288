# The two commands a new user needs: `make demo` and `make test`. Everything else is a convenience.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export RECSYS_HOME ?= $(CURDIR)/.recsys
export DAGSTER_HOME ?= $(RECSYS_HOME)/dagster
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: docs docs-build postgres install demo demo-drift demo-online test test-fast test-services ui monitor-ui mlflow-ui lint format benchmark clean chromium serve benchmark-serving benchmark-fold-in tools benchmark-cosmos smoke-dev benchmark-selection prod-local faketime

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip>=24"
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/recsys demo

# Two workers (pytest-xdist), one per core of CI's machine (a third made every test slower than it gained). Each
# worker takes whole test files, so a module's fixtures (a materialized graph, a server) are built once; the longest
# files go first (LONGEST_FIRST in tests/conftest.py; --no-loadscope-reorder keeps that order).
TEST_WORKERS ?= 2
test: install tools chromium postgres faketime
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

# The quick loop (about 95 s on two cores): every test that needs no service and runs no graph. The lanes are pytest markers
# (pyproject.toml, tests/conftest.py); docs/how-to/develop.md lists them.
FAST_LANE := not emulator and not postgres and not browser and not slow
test-fast: install
	$(BIN)/pytest -q -n $(TEST_WORKERS) -m "$(FAST_LANE)"

# Only the tests that start the emulators, PostgreSQL or Chromium.
test-services: install tools chromium postgres faketime
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder -m "emulator or postgres or browser"

UI_PORT ?= 3000
ui: install
	mkdir -p $(DAGSTER_HOME)
	test -f $(DAGSTER_HOME)/dagster.yaml || cp recsys_assets/instance/dagster.yaml $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p $(UI_PORT)

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

benchmark-selection: install
	$(BIN)/python benchmarks/model_selection.py

demo-drift: install
	$(BIN)/recsys demo-drift

# The PostgreSQL tests start a real server from Debian's postgresql (initdb and postgres, run as the postgres user).
postgres:
	command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
		($(SUDO) apt-get update && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y postgresql)

# The topology test runs its two serving APIs a day behind with Debian's faketime (libfaketime, preloaded), so that
# online_metrics can measure their servings (recsys_assets/topology/clock.py).
faketime:
	command -v faketime >/dev/null || \
		($(SUDO) apt-get update && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y faketime)

demo-online: install
	$(BIN)/recsys demo-online

# The Evidently UI on the monitoring workspace (project `recsys`: drift, skew, online snapshots and the dashboard).
# DO_NOT_TRACK: no usage telemetry leaves the machine.
MONITOR_UI_PORT ?= 8001
monitor-ui: install
	mkdir -p "$${RECSYS_EVIDENTLY_WORKSPACE:-$(RECSYS_HOME)/evidently}"
	DO_NOT_TRACK=1 $(BIN)/evidently ui --workspace "$${RECSYS_EVIDENTLY_WORKSPACE:-$(RECSYS_HOME)/evidently}" \
		--host 127.0.0.1 --port $(MONITOR_UI_PORT)

# The MLflow UI on the local model registry (a SQLite store under RECSYS_HOME/mlflow; every model version as a run
# of the experiment recsys-local and a version of the registered model recsys-local). With MLFLOW_TRACKING_URI set
# (dev / prod), open that server's own UI instead.
MLFLOW_UI_PORT ?= 5000
MLFLOW_HOME = $(abspath $(RECSYS_HOME))/mlflow
mlflow-ui: install
	mkdir -p $(MLFLOW_HOME)/artifacts
	MLFLOW_DISABLE_TELEMETRY=true MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false $(BIN)/mlflow ui --backend-store-uri sqlite:///$(MLFLOW_HOME)/mlflow.db \
		--default-artifact-root file://$(MLFLOW_HOME)/artifacts --host 127.0.0.1 --port $(MLFLOW_UI_PORT)

# The review-page test drives Debian's chromium (through playwright's bundled driver; never `playwright install`).
chromium:
	command -v chromium >/dev/null || ($(SUDO) apt-get update && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y chromium)

serve: install
	$(BIN)/recsys serve

benchmark-serving: install
	$(BIN)/python benchmarks/serving.py

# Order -> updated list through POST /events/orders and through the fold-in sensor at scale M (6-10 min).
benchmark-fold-in: install
	$(BIN)/python benchmarks/fold_in_latency.py

# Azure emulators for the tests (Cosmos DB SQL API, Azurite Blob), versions locked in emulators/package-lock.json
TOOLS := .tools
$(TOOLS)/.installed: emulators/package.json emulators/package-lock.json
	mkdir -p $(TOOLS)
	cp emulators/package.json emulators/package-lock.json $(TOOLS)/
	npm ci --prefix $(TOOLS) --no-audit --no-fund
	touch $@

tools: $(TOOLS)/.installed

benchmark-cosmos: install tools
	$(BIN)/python benchmarks/cosmos_publish.py --write-results

# CI on main: a small generated dataset materialized end to end against the dev deployment
# (RECSYS_DEPLOYMENT=dev: its store and storage come from the environment, see the README). The generated orders go
# to a throw-away SQLite source (SMOKE_SOURCE_URL), never over the dev source database; the models to a throw-away
# MLflow store unless the environment names the dev tracking server (MLFLOW_TRACKING_URI).
SMOKE_HOME ?= $(RECSYS_HOME)/smoke
SMOKE_SOURCE_URL ?= sqlite:///$(SMOKE_HOME)/source.db
SMOKE_ENV = RECSYS_HOME=$(SMOKE_HOME) DAGSTER_HOME=$(SMOKE_HOME)/dagster RECSYS_DEPLOYMENT=dev \
	RECSYS_SOURCE_URL=$(SMOKE_SOURCE_URL) MLFLOW_TRACKING_URI=$${MLFLOW_TRACKING_URI:-sqlite:///$(SMOKE_HOME)/mlflow.db}
smoke-dev: install
	rm -rf $(SMOKE_HOME) && mkdir -p $(SMOKE_HOME)/dagster
	printf 'telemetry:\n  enabled: false\n' > $(SMOKE_HOME)/dagster/dagster.yaml
	$(SMOKE_ENV) $(BIN)/recsys generate --customers 400 --products 400 --days 20 --lines-per-day 300 --seed 1
	$(SMOKE_ENV) $(BIN)/recsys materialize

# The docs site (docs/, mkdocs.yml), built offline from PyPI packages; the reference pages are generated from the code.
DOCS_PORT ?= 8002
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve -a 127.0.0.1:$(DOCS_PORT)

docs-build: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# The production topology on this machine (recsys_assets/topology/stack.py): PostgreSQL, the Cosmos DB and Blob
# emulators, MLflow, the Evidently UI, the code server, webserver, daemon and two serving APIs, each its own process
# with its own read-only home, RECSYS_DEPLOYMENT=dev, on a small generated shop. Prints the UIs; Ctrl-C stops it all.
prod-local: install tools postgres
	$(BIN)/python -m recsys_assets.topology
