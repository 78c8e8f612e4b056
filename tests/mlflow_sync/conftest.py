"""Fixtures of the sync tests: one MLflow server for the session; tests marked
``heavy_sync`` run only with ``JUPYTER_TRACKER_HEAVY_SYNC=1`` (``make test-sync-heavy``)."""

from __future__ import annotations

import os

import pytest
from _mlflow_server import MlflowServer, mlflow_command


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "heavy_sync: a long push or mirror (JUPYTER_TRACKER_HEAVY_SYNC=1 runs it)"
    )


def pytest_collection_modifyitems(config, items):
    if os.environ.get("JUPYTER_TRACKER_HEAVY_SYNC") == "1":
        return
    skip = pytest.mark.skip(reason="heavy: `make test-sync-heavy` runs it")
    for item in items:
        if "heavy_sync" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    """One MLflow server for the session (each test uses experiments of its own)."""
    server = MlflowServer(mlflow_command(), tmp_path_factory.mktemp("mlflow-server")).start()
    yield server
    server.stop()
