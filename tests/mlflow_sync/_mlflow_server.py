"""A real MLflow tracking server for the sync tests, started on 127.0.0.1 with a temporary
SQLite backend and artifact folder, and MLflow's own client (run with MLflow's interpreter)
to write runs and to read what a server, database or folder holds.

MLflow lives in a venv of its own (``make .venv-mlflow``; ``$JUPYTER_TRACKER_MLFLOW`` names
its ``mlflow``): without it these tests skip, and fail under CI.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MLFLOW_VENV = "`make .venv-mlflow` installs MLflow in a venv of its own"
START_TIMEOUT_S = 240.0  # a loaded 2-core machine imports MLflow slowly


def mlflow_command() -> Path:
    """The `mlflow` command of MLflow's venv; a skip without it, a failure under CI."""
    mlflow = Path(os.environ.get("JUPYTER_TRACKER_MLFLOW") or ROOT / ".venv-mlflow/bin/mlflow")
    if not mlflow.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{mlflow} is missing: {MLFLOW_VENV}")
        pytest.skip(f"{mlflow} is missing: {MLFLOW_VENV}")
    return mlflow


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without MLflow's and the tracker's own settings, plus ``extra``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("MLFLOW_") and k != "JUPYTER_TRACKER_STORE"
    }
    return {**env, **extra}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MlflowServer:
    """``mlflow server`` with a SQLite backend and an artifact folder under ``workdir``."""

    def __init__(self, mlflow: Path, workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.mlflow, self.workdir = mlflow, workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> MlflowServer:
        """Start it (on the same port, backend and artifacts as before) and wait until it
        answers."""
        log = open(self.workdir / "server.log", "ab")  # noqa: SIM115 - the server's for life
        self.proc = subprocess.Popen(
            [
                str(self.mlflow),
                "server",
                "--backend-store-uri",
                f"sqlite:///{self.workdir / 'mlflow.db'}",
                "--artifacts-destination",
                str(self.workdir / "artifacts"),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                "1",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=clean_env(MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false"),
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mlflow server exited: {self.log()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        return self
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"mlflow server did not answer in {START_TIMEOUT_S:.0f} s")

    def log(self) -> str:
        return (self.workdir / "server.log").read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the server and everything it started (as a machine that goes away)."""
        self._signal(signal.SIGKILL)

    def stop(self) -> None:
        self._signal(signal.SIGTERM)

    def _signal(self, sig: int) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)
        self.proc = None


_READ = r"""
import json, math, sys
from mlflow import MlflowClient

uri, experiment = sys.argv[1], sys.argv[2]
client = MlflowClient(uri)
exp = client.get_experiment_by_name(experiment)
runs = [] if exp is None else client.search_runs([exp.experiment_id], max_results=50000)

def value(v):
    return "NaN" if math.isnan(v) else ("Infinity" if v == float("inf") else
        ("-Infinity" if v == float("-inf") else v))

def files(run_id, path=None):
    for f in client.list_artifacts(run_id, path):
        if f.is_dir:
            yield from files(run_id, f.path)
        else:
            yield f.path

out = {}
for r in runs:
    rid = r.info.run_id
    arts = {}
    for path in files(rid):
        local = client.download_artifacts(rid, path)
        with open(local, "rb") as f:
            arts[path] = f.read().decode("utf-8", "replace")
    out[rid] = {
        "name": r.info.run_name,
        "status": r.info.status,
        "start_time": r.info.start_time,
        "end_time": r.info.end_time,
        "params": r.data.params,
        "tags": r.data.tags,
        "metrics": {
            k: [[m.step, value(m.value), m.timestamp]
                for m in client.get_metric_history(rid, k)]
            for k in r.data.metrics
        },
        "artifacts": arts,
    }
print(json.dumps(out))
"""


def mlflow_python() -> Path:
    return mlflow_command().parent / "python"


def read_with_mlflow(uri: str, experiment: str) -> dict:
    """Every run of ``experiment`` at ``uri`` as MLflow's own client reads it: id -> name,
    status, times, params, tags, full metric histories (NaN and infinities as strings) and
    artifact contents."""
    result = subprocess.run(
        [str(mlflow_python()), "-c", _READ, uri, experiment],
        capture_output=True,
        text=True,
        timeout=600,
        env=clean_env(MLFLOW_ALLOW_FILE_STORE="true"),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def run_with_mlflow(code: str, cwd: Path, **env: str) -> str:
    """Run ``code`` with MLflow's interpreter (real MLflow writing runs); its stdout."""
    result = subprocess.run(
        [str(mlflow_python()), "-c", code],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=cwd,
        env=clean_env(**env),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def cli(
    *args: str, store: Path, timeout: float = 600, pythonpath: Path | None = None
) -> subprocess.CompletedProcess:
    """``jupyter-tracker --store STORE ARGS...`` in a fresh interpreter (``pythonpath`` first
    on its import path)."""
    extra = {} if pythonpath is None else {"PYTHONPATH": str(pythonpath)}
    return subprocess.run(
        [sys.executable, "-m", "jupyter_tracker.cli", "--store", str(store), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=clean_env(**extra),
    )
