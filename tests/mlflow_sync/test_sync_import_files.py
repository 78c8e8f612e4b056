"""Import from what real MLflow wrote on disk: an mlruns folder and a sqlite:/// database."""

from __future__ import annotations

import math

import pytest
from _mlflow_server import cli, read_with_mlflow, run_with_mlflow

from jupyter_tracker.store import Store, queries, sync

pytestmark = pytest.mark.timeout(600)
EXPERIMENT = "made-by-mlflow"
MAX_FLOAT = 1.7976931348623157e308

WRITE = f"""
import os
import mlflow
from mlflow import MlflowClient

root = os.getcwd()
for uri in [f"file://{{root}}/mlruns", f"sqlite:///{{root}}/mlflow.db"]:
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment({EXPERIMENT!r})
    with mlflow.start_run(run_name="parent"):
        mlflow.log_params({{"alpha": 0.5, "opt": "adam"}})
        for i in range(50):
            mlflow.log_metric("loss", 1 / (i + 1), step=i)
        mlflow.log_metric("odd", float("nan"), step=0)
        mlflow.log_metric("odd", float("inf"), step=1)
        mlflow.set_tag("stage", "dev")
        mlflow.log_text("hello", "notes/hello.txt")
        mlflow.log_dict({{"a": 1}}, "config.json")
        with mlflow.start_run(run_name="child", nested=True):
            mlflow.log_metric("acc", 0.9)
    mlflow.start_run(run_name="failed")
    mlflow.end_run(status="FAILED")
    experiment_id = mlflow.get_experiment_by_name({EXPERIMENT!r}).experiment_id
    MlflowClient().create_run(experiment_id, run_name="still running")
"""


@pytest.fixture(scope="module")
def written_by_mlflow(tmp_path_factory):
    """An mlruns folder and a SQLite database, each with the same four runs written by
    MLflow's own fluent API (one still RUNNING)."""
    folder = tmp_path_factory.mktemp("by-mlflow")
    run_with_mlflow(WRITE, folder, MLFLOW_ALLOW_FILE_STORE="true")
    return folder


def _local_value(value):
    """MLflow's value as the store keeps it (an infinity an MLflow database kept as the
    largest float is an infinity again)."""
    if isinstance(value, str):  # "NaN", "Infinity" (an mlruns folder keeps infinities)
        return "NaN" if value == "NaN" else float(value)
    return math.copysign(math.inf, value) if abs(value) == MAX_FLOAT else value


@pytest.mark.parametrize("kind", ["mlruns", "sqlite"])
def test_import_brings_in_what_mlflow_wrote_once(written_by_mlflow, tmp_path, kind):
    uri = (
        str(written_by_mlflow / "mlruns")
        if kind == "mlruns"
        else f"sqlite:///{written_by_mlflow / 'mlflow.db'}"
    )
    expected = read_with_mlflow(uri, EXPERIMENT)
    first = cli("import", "--from", "mlflow", "--tracking-uri", uri, store=tmp_path / "s")
    assert first.returncode == 0, first.stderr
    assert "Imported 3 new runs" in first.stdout and "1 run still running" in first.stdout
    again = cli("import", "--tracking-uri", uri, "-q", store=tmp_path / "s")
    assert again.stdout.startswith("Nothing new") and "3 runs unchanged" in again.stdout

    store = Store.open(tmp_path / "s")
    ended = {i: r for i, r in expected.items() if r["status"] != "RUNNING"}
    assert {r["run_id"] for r in queries.records(store)} == set(ended)  # MLflow's ids kept
    for run_id, theirs in ended.items():
        mine = queries.run_detail(store, run_id)
        assert (mine["name"], mine["status"], mine["experiment"]) == (
            theirs["name"],
            theirs["status"],
            EXPERIMENT,
        )
        assert (mine["start_time"], mine["end_time"]) == (theirs["start_time"], theirs["end_time"])
        assert mine["params"] == theirs["params"]
        # mlflow.* tags too; MLflow's ids are kept, so mlflow.parentRunId names the parent here
        assert sync.all_tags(store, run_id) == theirs["tags"]
        assert mine["parent_id"] == theirs["tags"].get("mlflow.parentRunId")
        for key, points in theirs["metrics"].items():
            steps, values, times = queries.metric_points(store, run_id, key)
            assert [
                [s, "NaN" if math.isnan(v) else v, t]
                for s, v, t in zip(steps, values, times, strict=True)
            ] == [[s, _local_value(v), t] for s, v, t in points]
        artifacts = {
            a["path"]: store.open_blob(a["sha256"]).read().decode() for a in mine["artifacts"]
        }
        assert artifacts == theirs["artifacts"]
    parent = next(r for r in queries.records(store) if r["name"] == "parent")
    assert parent["metrics"]["odd"] == math.inf
    assert queries.run_detail(store, parent["run_id"])["typed_params"]["alpha"] == ("0.5", "str")
