# `make lab` and `make test` are the only commands a newcomer needs (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# MLflow in a venv of its own (our package's dependencies stay lean): the export test runs
# `mlflow run DIR --env-manager local` with it, our .venv's python first on PATH.
MLFLOW_VENV := .venv-mlflow
MLFLOW_STAMP := $(MLFLOW_VENV)/.installed

.PHONY: lab test lint unit browser bench clean test-sync-heavy $(MLFLOW_VENV)

$(STAMP): pyproject.toml labextension/package.json labextension/package-lock.json \
		labextension/npm_ci.py $(wildcard labextension/src/*.ts labextension/style/* labextension/schema/*)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

$(MLFLOW_STAMP):
	test -x $(MLFLOW_VENV)/bin/python || $(PYTHON) -m venv $(MLFLOW_VENV)
	$(MLFLOW_VENV)/bin/pip install --quiet mlflow
	touch $(MLFLOW_STAMP)

$(MLFLOW_VENV): $(MLFLOW_STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

lint: $(STAMP)
	$(BIN)/ruff check jupyter_tracker tests benchmarks
	$(BIN)/ruff format --check jupyter_tracker tests benchmarks
	$(BIN)/mypy

unit: $(STAMP) $(MLFLOW_STAMP)
	JUPYTER_TRACKER_MLFLOW=$(CURDIR)/$(MLFLOW_VENV)/bin/mlflow $(BIN)/python -m pytest -m "not browser"

browser: $(STAMP)
	$(BIN)/python -m pytest tests/browser -m browser

test: lint unit browser
	cd labextension && npm test --silent

# The long MLflow sync tests, not part of `make test`: a 200,000-point push through a server
# killed mid-way, and the live mirror across a server restart (several minutes).
test-sync-heavy: $(STAMP) $(MLFLOW_STAMP)
	JUPYTER_TRACKER_MLFLOW=$(CURDIR)/$(MLFLOW_VENV)/bin/mlflow JUPYTER_TRACKER_HEAVY_SYNC=1 \
		$(BIN)/python -m pytest tests/mlflow_sync -m heavy_sync

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/card_overhead.py
	$(BIN)/python benchmarks/panels.py
	$(BIN)/python benchmarks/autolog.py

clean:
	rm -rf $(VENV) $(MLFLOW_VENV) build dist
