"""Push to and import from a real MLflow server, checked through MLflow's own client."""

from __future__ import annotations

import math
import signal
import subprocess
import sys
import uuid

import pytest
from _mlflow_server import clean_env, cli, free_port, read_with_mlflow

import jupyter_tracker as jt
from jupyter_tracker.mlflow_sync.importer import import_runs
from jupyter_tracker.mlflow_sync.rest import server_key
from jupyter_tracker.store import Store, queries, sync

pytestmark = pytest.mark.timeout(600)  # the first test waits for the server to start
MAX_FLOAT = 1.7976931348623157e308  # what an MLflow database keeps for an infinity


def _experiment() -> str:
    return f"exp-{uuid.uuid4().hex[:8]}"


def _runs(experiment: str) -> dict[str, jt.ActiveRun]:
    """A parent with a long metric, odd values and artifacts; its child; a failed run."""
    with jt.start_run(
        name="parent",
        experiment=experiment,
        params={"alpha": 0.5, "opt": "adam", "layers": [1, 2]},
        tags={"stage": "dev"},
    ) as parent:
        for step in range(2500):
            jt.log_metric("loss", 1 / (step + 1))
        for odd in (math.nan, math.inf, -math.inf):
            jt.log_metric("odd", odd)
        jt.log_artifact({"a": 1}, name="config.json")
        jt.log_artifact("hello", name="notes/hello.txt")
        with jt.start_run(name="child", experiment=experiment, nested=True) as child:
            jt.log_metric("acc", 0.9, step=3)
    with pytest.raises(ZeroDivisionError), jt.start_run(name="broken", experiment=experiment) as c:
        1 / 0  # noqa: B018
    return {"parent": parent, "child": child, "broken": c}


def _history(store: Store, run_id: str, key: str) -> list[list]:
    """A metric's points (NaN as "NaN", so that lists of points compare)."""
    steps, values, times = queries.metric_points(store, run_id, key)
    return [
        [step, "NaN" if math.isnan(v) else v, t]
        for step, v, t in zip(steps, values, times, strict=True)
    ]


def _mlflow_value(value: float):
    if math.isnan(value):
        return "NaN"
    return math.copysign(MAX_FLOAT, value) if math.isinf(value) else value


def test_push_copies_runs_whole_and_a_second_push_sends_nothing(store, mlflow_server):
    experiment = _experiment()
    runs = _runs(experiment)
    report = jt.push(mlflow_server.url, experiment=experiment)
    assert set(report.remote_ids) == {r.id for r in runs.values()}
    assert report.points == 2500 + 3 + 1
    assert jt.push(mlflow_server.url, experiment=experiment).remote_ids == {}

    remote = read_with_mlflow(mlflow_server.url, experiment)
    assert len(remote) == 3  # nothing created twice
    for name, run in runs.items():
        detail = queries.run_detail(store, run.id)
        got = remote[report.remote_ids[run.id]]
        assert (got["name"], got["status"]) == (name, detail["status"])
        assert (got["start_time"], got["end_time"]) == (detail["start_time"], detail["end_time"])
        assert got["params"] == detail["params"]
        own = sync.all_tags(store, run.id)
        own.pop("mlflow.parentRunId", None)  # the parent's local id: the server has its own
        assert {k: v for k, v in got["tags"].items() if k in own} == own
        assert got["tags"]["jupyter_tracker.run_id"] == run.id
        assert got["tags"]["mlflow.runName"] == name
        assert got["tags"]["mlflow.user"]
        assert got["tags"]["mlflow.source.type"] in ("LOCAL", "NOTEBOOK")
        for key in detail["metrics"]:
            assert got["metrics"][key] == [
                [step, _mlflow_value(float(value)), t]
                for step, value, t in _history(store, run.id, key)
            ]
        if detail["source"] is not None:
            assert got["artifacts"]["jupyter_tracker/source.py"] == detail["source"]
    parent = remote[report.remote_ids[runs["parent"].id]]
    assert [p[1] for p in parent["metrics"]["odd"]] == ["NaN", MAX_FLOAT, -MAX_FLOAT]
    assert parent["artifacts"]["notes/hello.txt"] == "hello"
    assert '"a": 1' in parent["artifacts"]["config.json"]
    child = remote[report.remote_ids[runs["child"].id]]
    assert child["tags"]["mlflow.parentRunId"] == report.remote_ids[runs["parent"].id]
    broken = remote[report.remote_ids[runs["broken"].id]]
    assert broken["status"] == "FAILED"
    assert "ZeroDivisionError" in broken["artifacts"]["jupyter_tracker/error.txt"]


def test_a_run_that_grew_pushes_only_what_is_new(store, mlflow_server):
    experiment = _experiment()
    with jt.start_run(name="long", experiment=experiment, params={"lr": 0.1}) as run:
        for step in range(1200):
            jt.log_metric("loss", float(step))
    jt.push(mlflow_server.url, run.id)
    with jt.start_run(run_id=run.id):
        for step in range(1200, 1500):
            jt.log_metric("loss", float(step))
        jt.log_param("epochs", 3)
        jt.set_tag("stage", "later")
    report = jt.push(mlflow_server.url, [run.id])
    assert (report.points, report.params) == (300, 1)
    assert report.tags >= 1 and report.artifacts == 0

    (remote,) = read_with_mlflow(mlflow_server.url, experiment).values()
    assert [p[1] for p in remote["metrics"]["loss"]] == [float(s) for s in range(1500)]
    assert remote["params"] == {"lr": "0.1", "epochs": "3"}
    assert remote["tags"]["stage"] == "later"
    assert remote["status"] == "FINISHED"


def test_importing_what_was_pushed_reproduces_it_once(store, mlflow_server, tmp_path):
    experiment = _experiment()
    runs = _runs(experiment)
    jt.push(mlflow_server.url, experiment=experiment)

    other = Store.open(tmp_path / "other")
    first = import_runs(other, mlflow_server.url, experiment, progress=False)
    assert sorted(first.imported) == sorted(r.id for r in runs.values())  # the same ids
    again = import_runs(other, mlflow_server.url, experiment, progress=False)
    assert (again.imported, again.updated, again.unchanged) == ([], [], 3)
    for run in runs.values():
        mine, theirs = queries.run_detail(store, run.id), queries.run_detail(other, run.id)
        for field in (
            "name",
            "status",
            "experiment",
            "start_time",
            "end_time",
            "parent_id",
            "typed_params",
            "source",
            "error",
            "capture",
        ):
            assert theirs[field] == mine[field], field
        assert sync.all_tags(other, run.id) == sync.all_tags(store, run.id)
        for key in mine["metrics"]:
            assert _history(other, run.id, key) == _history(store, run.id, key)
        assert [(a["path"], a["sha256"]) for a in theirs["artifacts"]] == [
            (a["path"], a["sha256"]) for a in mine["artifacts"]
        ]
    assert jt.get_run(runs["parent"].id).params == {"alpha": 0.5, "opt": "adam", "layers": [1, 2]}

    # into the store they came from: nothing comes back as a copy
    before = queries.count_runs(store)
    back = import_runs(store, mlflow_server.url, experiment, progress=False)
    assert (back.imported, back.from_here) == ([], 3)
    assert queries.count_runs(store) == before
    # and the imported copy is known to the server: pushing it sends nothing
    assert jt.push(mlflow_server.url, experiment=experiment).remote_ids == {}


def test_the_command_line_pushes_and_imports(store, mlflow_server, tmp_path):
    experiment = _experiment()
    with jt.start_run(name="cli", experiment=experiment) as run:
        jt.log_metric("m", 1.0)
    store.flush()
    pushed = cli(
        "push", "--to", "mlflow", "--tracking-uri", mlflow_server.url, run.id[:8], store=store.path
    )
    assert pushed.returncode == 0, pushed.stderr
    assert pushed.stdout.startswith(f"Pushed 1 run to {mlflow_server.url}: 1 metric point")
    assert "100%" in pushed.stderr  # the progress bar
    imported = cli(
        "import",
        "--from",
        "mlflow",
        "--tracking-uri",
        mlflow_server.url,
        "--experiment",
        experiment,
        store=tmp_path / "fresh",
    )
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.startswith(f"Imported 1 new run from {mlflow_server.url}")


def test_an_unreachable_or_refusing_server_is_one_line_and_writes_nothing(store, mlflow_server):
    with jt.start_run(name="lonely") as run:
        jt.log_metric("m", 1.0)
    store.flush()
    nobody = f"http://127.0.0.1:{free_port()}"
    result = cli("push", "--tracking-uri", nobody, store=store.path)
    assert result.returncode == 1
    (line,) = [s for s in result.stderr.splitlines() if s.startswith("jupyter-tracker: error")]
    assert f"Cannot reach the MLflow server at {nobody} (connection refused" in line
    refusing = f"{mlflow_server.url}/not-mlflow"
    result = cli("push", "--tracking-uri", refusing, store=store.path)
    assert result.returncode == 1
    (line,) = [s for s in result.stderr.splitlines() if s.startswith("jupyter-tracker: error")]
    assert f"The MLflow server at {refusing} refused" in line and "HTTP 404" in line
    for server in (nobody, refusing):
        assert sync.link(store, run.id, server_key(server)) is None


def test_push_watch_pushes_new_runs_until_interrupted(store, mlflow_server):
    experiment = _experiment()
    with jt.start_run(name="first", experiment=experiment):
        jt.log_metric("m", 1.0)
    store.flush()
    watch = subprocess.Popen(
        [sys.executable, "-m", "jupyter_tracker.cli", "--store", str(store.path), "push"]
        + ["--tracking-uri", mlflow_server.url, "--experiment", experiment, "--watch"]
        + ["--interval", "0.2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )
    assert watch.stdout is not None
    try:
        assert watch.stdout.readline().startswith(f"Pushed 1 run to {mlflow_server.url}")
        with jt.start_run(name="second", experiment=experiment):
            jt.log_metric("m", 2.0)
        store.flush()
        assert watch.stdout.readline().startswith(f"Pushed 1 run to {mlflow_server.url}")
    finally:
        watch.send_signal(signal.SIGINT)
        _, err = watch.communicate(timeout=60)
    assert watch.returncode == 0, err
    remote = read_with_mlflow(mlflow_server.url, experiment)
    assert sorted(r["name"] for r in remote.values()) == ["first", "second"]
