"""The parts of push, import and the mirror that need no MLflow: batches within MLflow's
limits, the mapping of runs both ways, retries against a local stub server, the progress
bar, and a mirror whose server is gone at exit."""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from _mlflow_server import clean_env, free_port

from jupyter_tracker.errors import TrackerError
from jupyter_tracker.mlflow_sync import mapping, rest
from jupyter_tracker.mlflow_sync.progress import Progress
from jupyter_tracker.mlflow_sync.push import (
    MAX_ENTITIES_PER_BATCH,
    MAX_PARAMS_TAGS_PER_BATCH,
    MAX_REQUEST_BYTES,
    _batches,
)


def test_batches_keep_within_mlflows_limits_and_send_everything_once():
    params = [(f"p{i}", "x" * 6000) for i in range(250)]
    tags = [(f"t{i}", "y" * 8000) for i in range(150)]
    points = [("loss", (step, float(step), 1000 + step)) for step in range(2500)]
    batches = list(_batches(params, tags, iter(points)))
    for p, t, m in batches:
        assert len(p) <= MAX_PARAMS_TAGS_PER_BATCH and len(t) <= MAX_PARAMS_TAGS_PER_BATCH
        assert len(p) + len(t) + len(m) <= MAX_ENTITIES_PER_BATCH
        body = {
            "params": [{"key": k, "value": v} for k, v in p],
            "tags": [{"key": k, "value": v} for k, v in t],
            "metrics": [{"key": k, "value": v, "timestamp": ts, "step": s} for k, (s, v, ts) in m],
        }
        assert len(json.dumps(body)) < MAX_REQUEST_BYTES + 50_000 < 1_000_000
    assert [x for p, _, _ in batches for x in p] == params
    assert [x for _, t, _ in batches for x in t] == tags
    assert [x for _, _, m in batches for x in m] == points


def _detail(**changes):
    detail = {
        "run_id": "a" * 32,
        "name": "r",
        "status": "FINISHED",
        "tags": {},
        "capture": None,
        "notebook": None,
        "cell_id": None,
        "rerun_of": None,
        "typed_params": {"alpha": ("0.5", "float"), "opt": ("adam", "str")},
        "source": None,
        "error": None,
    }
    return {**detail, **changes}


@pytest.mark.parametrize("status", ["FINISHED", "FAILED", "KILLED", "CRASHED"])
def test_a_run_maps_to_mlflow_and_back(status):
    own = {"stage": "dev", "mlflow.user": "ann"}
    detail = _detail(
        status=status, notebook="nb/train.ipynb", cell_id="c1", rerun_of="b" * 32, tags=own
    )
    tags = mapping.remote_tags(detail, own, parent_remote_id="f" * 32)
    remote = mapping.remote_status(status)
    assert remote in ("FINISHED", "FAILED", "KILLED")
    assert tags["mlflow.user"] == "ann"  # the run's own wins over the pusher's
    assert tags["mlflow.source.type"] == "NOTEBOOK"
    assert tags["mlflow.source.name"] == "nb/train.ipynb"
    assert tags["mlflow.parentRunId"] == "f" * 32
    back = mapping.local_fields(remote, tags)
    assert back["status"] == status
    assert back["tags"] == own  # what push added is dropped again
    assert (back["run_id"], back["notebook"], back["cell_id"], back["rerun_of"]) == (
        "a" * 32,
        "nb/train.ipynb",
        "c1",
        "b" * 32,
    )
    assert back["param_types"] == {"alpha": "float"}
    assert back["parent_remote_id"] == "f" * 32


def test_a_runs_own_parent_tag_comes_back_and_an_mlflow_run_reads_as_it_is():
    own = {"mlflow.parentRunId": "local-parent"}
    tags = mapping.remote_tags(_detail(tags=own), own, parent_remote_id="remote-parent")
    assert tags["mlflow.parentRunId"] == "remote-parent"
    assert mapping.local_fields("FINISHED", tags)["tags"] == {"mlflow.parentRunId": "remote-parent"}
    plain = {"mlflow.runName": "x", "mlflow.user": "bob"}  # a run MLflow itself wrote
    fields = mapping.local_fields("SCHEDULED", plain)
    assert (fields["status"], fields["tags"], fields["run_id"]) == ("RUNNING", plain, None)


def test_the_run_own_files_round_trip():
    detail = _detail(source="x = 1\n", capture={"git": {"commit": "abc"}}, error="Traceback")
    files = mapping.meta_artifacts(detail)
    assert sorted(files) == sorted(mapping.META_ARTIFACTS)
    assert mapping.read_meta_artifacts(files) == {
        "source": "x = 1\n",
        "capture": {"git": {"commit": "abc"}},
        "error": "Traceback",
    }


def test_metric_values_cross_json_both_ways():
    for value in (1.5, math.inf, -math.inf):
        assert rest.metric_from_json(rest.metric_json(value)) == value
    assert math.isnan(rest.metric_from_json(rest.metric_json(math.nan)))
    assert rest.metric_from_json(1.7976931348623157e308) == math.inf  # as a database keeps it
    assert rest.server_key("HTTP://Example.org:5000/") == "http://example.org:5000"


class _Stub(BaseHTTPRequestHandler):
    """Answers from ``server.answers``, one per request: (status, JSON body)."""

    def do_POST(self):  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        status, body = self.server.answers.pop(0)  # type: ignore[attr-defined]
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def stub():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    server.answers = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_busy_answers_are_retried_and_a_refusal_is_one_clear_error(stub, monkeypatch):
    monkeypatch.setattr(rest, "FIRST_WAIT_S", 0.01)
    client = rest.Client(f"http://127.0.0.1:{stub.server_port}")
    stub.answers += [(503, {}), (429, {}), (200, {"ok": 1})]
    assert client.call("runs/log-batch", {"run_id": "x"}) == {"ok": 1}
    stub.answers += [(400, {"error_code": "INVALID_PARAMETER_VALUE", "message": "bad\nkey"})]
    with pytest.raises(rest.ServerRefusedError) as refused:
        client.call("runs/log-batch", {"run_id": "x"})
    assert refused.value.code == "INVALID_PARAMETER_VALUE"
    assert str(refused.value).endswith(
        "refused POST runs/log-batch (HTTP 400, INVALID_PARAMETER_VALUE): bad key"
    )


def test_an_unreachable_server_is_retried_then_named(monkeypatch):
    monkeypatch.setattr(rest, "FIRST_WAIT_S", 0.01)
    client = rest.Client(f"http://127.0.0.1:{free_port()}", tries=3)
    with pytest.raises(rest.ServerUnreachableError, match=r"connection refused; 3 tries"):
        client.call("runs/get", query={"run_id": "x"})
    with pytest.raises(TrackerError, match="not the URL of an MLflow tracking server"):
        rest.Client("sqlite:///mlflow.db")


def test_the_progress_bar_redraws_in_place():
    out = io.StringIO()
    bar = Progress("push", 200, "points", stream=out)
    bar.update(50, note="run 1/2")
    bar.update(150)
    bar.close()
    text = out.getvalue()
    assert text.startswith("\rpush  25%|██████") and "50/200 points  run 1/2" in text
    assert text.rstrip().endswith("]") and "100%|" in text.split("\r")[-1]
    assert text.endswith("\n") and text.count("\n") == 1


def test_a_mirror_whose_server_is_gone_lets_the_process_exit_in_time(tmp_path):
    code = f"""
        import jupyter_tracker as jt
        from jupyter_tracker import mirror
        jt.set_store({str(tmp_path / "store")!r})
        mirror.start("http://127.0.0.1:{free_port()}", interval=0.2)
        with jt.start_run(name="alone"):
            jt.log_metric("m", 1.0)
    """
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(),
    )
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 60
    assert "mirroring to http://127.0.0.1" in result.stderr and "is paused" in result.stderr
    assert "`jupyter-tracker push --to mlflow --tracking-uri" in result.stderr
