"""Fixtures of the MLflow comparison: MLflow's interpreter (``.venv-mlflow``), the control
(MLflow's results) and our side."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from mlflow_control import ROOT, Control, run_sides

MLFLOW_VENV = "`make .venv-mlflow` installs MLflow in a venv of its own"


@pytest.fixture(scope="session")
def mlflow_python() -> Path:
    """MLflow's interpreter: beside ``$JUPYTER_TRACKER_MLFLOW`` (its ``mlflow`` command, as
    ``make test`` sets it), else ``.venv-mlflow/``; a skip without it, a failure under CI."""
    command = os.environ.get("JUPYTER_TRACKER_MLFLOW")
    python = Path(command).with_name("python") if command else ROOT / ".venv-mlflow/bin/python"
    if not python.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{python} is missing: {MLFLOW_VENV}")
        pytest.skip(f"{python} is missing: {MLFLOW_VENV}")
    return python


@pytest.fixture(scope="session")
def control(mlflow_python, request, tmp_path_factory) -> Control:
    """MLflow's side of the comparison (cached between runs unless pytest's cache is off)."""
    cache = getattr(request.config, "cache", None) or MemoryCache()
    return Control(mlflow_python, cache, tmp_path_factory.mktemp("mlflow-control"))


class MemoryCache(dict):
    """pytest's cache interface for a run with ``-p no:cacheprovider``."""

    def set(self, key: str, value: object) -> None:
        self[key] = value


@pytest.fixture
def ours(tmp_path):
    """Run a snippet on jupyter-tracker (``mlflow`` is ``jupyter_tracker``); what it stored."""
    python = Path(sys.executable)
    return lambda code: run_sides(python, "jupyter_tracker", {"it": code}, tmp_path, None)["it"]
