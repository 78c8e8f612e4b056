# `make lab` and `make test` are the only commands a newcomer needs (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Tools in venvs of their own (our package's dependencies stay lean), each made by the
# .venv-% rule from its PACKAGES_%. MLflow: the export test runs `mlflow run DIR
# --env-manager local` with it, our .venv's python first on PATH. Torch: the Lightning and
# Transformers autolog tests, with jupyter-tracker editable and the stack pinned in
# requirements-torch.txt (torch's CPU build).
MLFLOW_VENV := .venv-mlflow
MLFLOW_STAMP := $(MLFLOW_VENV)/.installed
PACKAGES_mlflow := mlflow
TORCH_VENV := .venv-torch
TORCH_STAMP := $(TORCH_VENV)/.installed
PACKAGES_torch := -e . -r requirements-torch.txt

.PHONY: lab test lint unit browser bench clean test-sync-heavy test-autolog-torch \
	$(MLFLOW_VENV) $(TORCH_VENV)

$(STAMP): pyproject.toml labextension/package.json labextension/package-lock.json \
		labextension/npm_ci.py $(wildcard labextension/src/*.ts labextension/style/* labextension/schema/*)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

.venv-%/.installed:
	test -x .venv-$*/bin/python || $(PYTHON) -m venv .venv-$*
	.venv-$*/bin/pip install --quiet $(PACKAGES_$*)
	touch $@

$(TORCH_STAMP): requirements-torch.txt pyproject.toml

$(MLFLOW_VENV): $(MLFLOW_STAMP)
$(TORCH_VENV): $(TORCH_STAMP)

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

# The PyTorch Lightning and Hugging Face Trainer autolog tests (tiny models on CPU, nothing
# downloaded), not part of `make test`: they install the torch stack in .venv-torch.
test-autolog-torch: $(TORCH_STAMP)
	JUPYTER_TRACKER_TORCH_TESTS=1 HF_HUB_OFFLINE=1 \
		$(TORCH_VENV)/bin/python -m pytest tests/test_autolog_torch.py

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/card_overhead.py
	$(BIN)/python benchmarks/panels.py
	$(BIN)/python benchmarks/autolog.py

clean:
	rm -rf $(VENV) $(MLFLOW_VENV) $(TORCH_VENV) build dist
