# The two commands a new user needs: `make demo` and `make test`. Everything else is a convenience.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export RECSYS_HOME ?= $(CURDIR)/.recsys
export DAGSTER_HOME ?= $(RECSYS_HOME)/dagster

.PHONY: install demo demo-drift test ui lint format benchmark clean chromium serve benchmark-serving tools benchmark-cosmos

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip>=24"
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/recsys demo

test: install tools chromium
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

benchmark-selection: install
	$(BIN)/python benchmarks/model_selection.py

demo-drift: install
	$(BIN)/recsys demo-drift

# The review-page test drives Debian's chromium (through playwright's bundled driver; never `playwright install`).
chromium:
	command -v chromium >/dev/null || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium)

serve: install
	$(BIN)/recsys serve

benchmark-serving: install
	$(BIN)/python benchmarks/serving.py

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
