"""A server that dies mid-push, and the live mirror: runs on the server while they run."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
import uuid

import pytest
from _mlflow_server import MlflowServer, clean_env, cli, mlflow_command, read_with_mlflow

import jupyter_tracker as jt
from jupyter_tracker.mlflow_sync.rest import Client, server_key
from jupyter_tracker.store import sync

pytestmark = pytest.mark.timeout(900)
WAIT_S = 240.0


def _until(what: str, check, timeout: float = WAIT_S):
    """Poll ``check`` until it returns something true (a server on the other end of a
    socket cannot be waited for otherwise)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def own_server(tmp_path_factory):
    """A server of this module's own, to kill and start again."""
    server = MlflowServer(mlflow_command(), tmp_path_factory.mktemp("own-server")).start()
    yield server
    server.stop()


def _remote_run(url: str, experiment: str, run_id: str) -> dict | None:
    """The server's run pushed from local run ``run_id`` (by its tag), or None."""
    client = Client(url, tries=1)
    found = client.experiment_by_name(experiment)
    if found is None:
        return None
    runs = list(
        client.search_runs([found["experiment_id"]], f"tags.`jupyter_tracker.run_id` = '{run_id}'")
    )
    return runs[0] if runs else None


def _push_until_killed(store, server: MlflowServer, run_id: str, points: int) -> int:
    """Start `jupyter-tracker push`, kill the server once some points are confirmed; how
    many the ledger holds then."""
    push = subprocess.Popen(
        [sys.executable, "-m", "jupyter_tracker.cli", "--store", str(store.path), "push"]
        + ["--tracking-uri", server.url, "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )
    server_id = server_key(server.url)

    def confirmed() -> int:
        link = sync.link(store, run_id, server_id)
        return link["series"].get("loss", 0) if link else 0

    _until("the first confirmed batch", confirmed)
    server.kill()
    _, err = push.communicate(timeout=WAIT_S)
    assert push.returncode == 1, err
    lines = [line for line in err.splitlines() if line.startswith("jupyter-tracker: error")]
    assert len(lines) == 1 and f"Cannot reach the MLflow server at {server.url}" in lines[0]
    sent = confirmed()
    assert 0 < sent < points
    return sent


def _big_run(experiment: str, points: int) -> str:
    with jt.start_run(name="big", experiment=experiment, params={"n": points}) as run:
        for step in range(points):
            jt.log_metric("loss", float(step))
    return run.id


def _check_whole(url: str, experiment: str, points: int) -> None:
    (remote,) = read_with_mlflow(url, experiment).values()  # one run: none created twice
    assert remote["status"] == "FINISHED"
    assert [p[1] for p in remote["metrics"]["loss"]] == [float(s) for s in range(points)]


def _kill_mid_push_then_push_again(store, server: MlflowServer, points: int) -> None:
    experiment = f"outage-{uuid.uuid4().hex[:8]}"
    run_id = _big_run(experiment, points)
    store.flush()
    sent = _push_until_killed(store, server, run_id, points)
    server.start()
    result = cli("push", "--tracking-uri", server.url, "--quiet", store=store.path)
    assert result.returncode == 0, result.stderr
    assert f"{points - sent:,} metric points" in result.stdout  # nothing confirmed went again
    _check_whole(server.url, experiment, points)


def test_killing_the_server_mid_push_then_pushing_again_duplicates_nothing(store, own_server):
    _kill_mid_push_then_push_again(store, own_server, 20_000)


@pytest.mark.heavy_sync
def test_a_long_run_survives_a_server_killed_mid_push(store, own_server):
    _kill_mid_push_then_push_again(store, own_server, 200_000)


LIVE = """
import sys
import jupyter_tracker as jt
from jupyter_tracker import mirror

jt.set_store({store!r})
mirror.start({url!r}, interval=0.3)
with jt.start_run(name="live", experiment={experiment!r}) as run:
    print(run.id, flush=True)
    logged = 0
    for line in sys.stdin:
        if line.strip() == "end":
            break
        for _ in range(int(line)):
            jt.log_metric("loss", float(logged))
            logged += 1
        print(logged, flush=True)
"""


def _live_process(tmp_path, url: str, experiment: str) -> tuple[subprocess.Popen, str]:
    code = LIVE.format(store=str(tmp_path / "live-store"), url=url, experiment=experiment)
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )
    assert proc.stdin is not None and proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def _log(proc: subprocess.Popen, points: int) -> None:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(f"{points}\n")
    proc.stdin.flush()
    proc.stdout.readline()


def _points_on_server(url: str, experiment: str, run_id: str) -> tuple[str, int] | None:
    try:
        run = _remote_run(url, experiment, run_id)
    except jt.TrackerError:
        return None
    if run is None:
        return None
    history = Client(url, tries=1).metric_history(run["info"]["run_id"], "loss")
    return run["info"]["status"], len(history)


def _end(proc: subprocess.Popen) -> str:
    _, err = proc.communicate("end\n", timeout=WAIT_S)
    assert proc.returncode == 0, err
    return err


def test_the_live_mirror_shows_a_running_run_then_its_end(tmp_path, mlflow_server):
    experiment = f"live-{uuid.uuid4().hex[:8]}"
    proc, run_id = _live_process(tmp_path, mlflow_server.url, experiment)
    try:
        _log(proc, 1500)
        _until(
            "the running run on the server",
            lambda: _points_on_server(mlflow_server.url, experiment, run_id) == ("RUNNING", 1500),
        )
        _log(proc, 500)
    finally:
        err = _end(proc)  # at exit: the run ends and its last points go, within a bound
    assert "paused" not in err
    _check_whole(mlflow_server.url, experiment, 2000)


@pytest.mark.heavy_sync
def test_the_live_mirror_survives_the_server_going_away(tmp_path, own_server):
    experiment = f"live-{uuid.uuid4().hex[:8]}"
    proc, run_id = _live_process(tmp_path, own_server.url, experiment)
    try:
        _log(proc, 1000)
        _until(
            "the running run on the server",
            lambda: _points_on_server(own_server.url, experiment, run_id) == ("RUNNING", 1000),
        )
        own_server.kill()
        _log(proc, 1000)  # logging goes on, locally and fast
        own_server.start()
        _until(
            "the mirror to catch up",
            lambda: _points_on_server(own_server.url, experiment, run_id) == ("RUNNING", 2000),
        )
    finally:
        err = _end(proc)
    assert "paused" in err and "resumed" in err
    _check_whole(own_server.url, experiment, 2000)
