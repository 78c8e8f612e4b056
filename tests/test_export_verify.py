"""Export proofs and safety: `--verify`, where re-runs of an export log, re-exports that keep
the user's edits."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap

import pytest
from IPython.core.error import UsageError
from test_export import cell, new_runs, rerun, tracked_run

import jupyter_tracker as jt
from jupyter_tracker import cli
from jupyter_tracker.export import _verify, export_run
from jupyter_tracker.store import Store, queries


def verification(path) -> dict:
    return json.loads((path / "run.json").read_text())["export"]["verification"]


def script_run(tmp_path, store, code: str, *args: str) -> str:
    """Run ``code`` as a script (with command-line ``args``) logging into ``store``; its id."""
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(code))
    env = {**os.environ, "JUPYTER_TRACKER_STORE": str(store.path)}
    subprocess.run(
        [sys.executable, str(script), *args], env=env, cwd=tmp_path, check=True, timeout=120
    )
    return jt.search_runs()["run_id"][0]


# -- --verify -------------------------------------------------------------------------------


def test_verify_reproduces_a_deterministic_run(ip, store, tmp_path, capsys):
    run = tracked_run(ip)  # NaN among its metrics: NaN equals NaN
    capsys.readouterr()
    path = jt.export_run(run.id, tmp_path / "project", verify=True)
    metrics, params = len(run.metrics), len(run.params)
    line = f"reproduced: {metrics}/{metrics} metrics identical, {params}/{params} params"
    captured = capsys.readouterr()
    assert captured.out.strip() == f"verify: {line}"
    assert "verify: running train.py in a fresh process" in captured.err
    verdict = verification(path)
    assert verdict["outcome"] == "reproduced" and verdict["summary"] == line
    assert verdict["reruns"] == 1 and verdict["mismatches"] == [] and verdict["error"] is None
    readme = (path / "README.md").read_text()
    assert "## Verification" in readme and "**reproduced: " in readme
    assert new_runs(run) == []  # the re-run went to a scratch store, not this one
    # the README that carries the verdict is the one the manifest vouches for
    record = json.loads((path / "run.json").read_text())
    assert record["export"]["files"]["README.md"] == _verify_sha(path / "README.md")


def _verify_sha(path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_verify_says_when_the_code_is_not_deterministic(ip, store, tmp_path, capsys):
    cell(ip, "import random\nimport jupyter_tracker as jt")
    cell(
        ip,
        "%%track_run alpha=0.5 --quiet\n"
        "jt.log_metric('draw', random.random())\njt.log_metric('loss', alpha * 2)\n",
    )
    run = jt.get_run(jt.last_active_run().id)
    capsys.readouterr()
    code = cli.main(["--store", str(store.path), "export", run.id, str(tmp_path / "p"), "--verify"])
    out = capsys.readouterr().out
    assert code == 1
    verdict = verification(tmp_path / "p")
    assert verdict["outcome"] == "not deterministic" and verdict["varying"] == ["draw"]
    assert verdict["reruns"] == 2
    assert "verify: not deterministic: two re-runs gave different values of draw" in out
    (row,) = verdict["mismatches"]
    assert row["kind"] == "metric" and row["key"] == "draw"
    assert row["original"] == repr(run.metrics["draw"]) and row["second"] is not None
    assert "metric draw" in out and "re-run 2" in out
    readme = (tmp_path / "p" / "README.md").read_text()
    assert "seed it" in readme and "| metric draw |" in readme


def test_verify_names_what_differs_when_an_override_the_params_miss_changed_the_result(
    store, tmp_path, capsys
):
    run_id = script_run(
        tmp_path,
        store,
        """
        import sys
        import jupyter_tracker as jt
        alpha = jt.param("alpha", 0.5)
        if len(sys.argv) > 1:  # an override the run's params never saw
            alpha = float(sys.argv[1])
        jt.log_metric("loss", alpha * 2)
        jt.log_metric("steps", 3.0)
        """,
        "0.75",
    )
    capsys.readouterr()
    target = tmp_path / "p"
    assert cli.main(["--store", str(store.path), "export", run_id, str(target), "--verify"]) == 1
    out = capsys.readouterr().out
    verdict = verification(target)
    assert verdict["outcome"] == "not reproduced" and verdict["varying"] == []
    assert verdict["summary"] == "not reproduced: 1/2 metrics identical, 1/1 param"
    assert verdict["mismatches"] == [
        {"kind": "metric", "key": "loss", "original": "1.5", "rerun": "1.0", "second": "1.0"}
    ]
    assert "verify: not reproduced: 1/2 metrics identical, 1/1 param" in out
    assert "metric loss  1.5       1.0     1.0" in out
    assert "| metric loss | 1.5 | 1.0 | 1.0 |" in (target / "README.md").read_text()


def test_verify_reports_a_failing_or_hanging_rerun(store, tmp_path, monkeypatch, capsys):
    wait = tmp_path / "wait.txt"
    wait.write_text("0")
    run_id = script_run(
        tmp_path,
        store,
        f"""
        import time
        import jupyter_tracker as jt
        print("step one")
        seconds = float(open({str(wait)!r}).read())
        if seconds < 0:
            raise RuntimeError("the data is gone")
        time.sleep(seconds)
        jt.log_metric("loss", 1.0)
        """,
    )
    wait.write_text("-1")
    capsys.readouterr()
    target = tmp_path / "p"
    assert cli.main(["--store", str(store.path), "export", run_id, str(target), "--verify"]) == 1
    out = capsys.readouterr().out
    verdict = verification(target)
    assert verdict["outcome"] == "failed" and verdict["reruns"] == 1
    assert verdict["summary"].startswith("failed: train.py exited with status 1")
    assert "RuntimeError: the data is gone" in verdict["summary"]
    assert "step one" in out and "RuntimeError" in out

    wait.write_text("60")
    monkeypatch.setattr(_verify, "TIMEOUT_S", 1.5)
    monkeypatch.setattr(_verify, "PROGRESS_EVERY_S", 0.3)
    lines: list[str] = []
    done = export_run(store, run_id, target, lines.append, verify=True)
    assert done.verdict is not None and done.verdict["outcome"] == "failed"
    assert re.search(r"did not finish within \d+ s and was stopped", done.verdict["summary"])
    assert any(line.startswith("verify: train.py running for") for line in lines)
    assert any("step one" in line for line in lines)  # its latest output, while it runs
    assert done.verdict["seconds"] < 30


def test_export_run_magic_verifies_and_forces(ip, store, tmp_path, capsys):
    run = tracked_run(ip)
    target = tmp_path / "m"
    capsys.readouterr()
    ip.run_line_magic("export_run", f"{run.id[:8]} '{target}' --verify")
    assert "verify: reproduced: " in capsys.readouterr().out
    (target / "train.py").write_text("# mine\n")
    with pytest.raises(UsageError, match="train.py changed since the last export"):
        ip.run_line_magic("export_run", f"{run.id[:8]} '{target}'")
    ip.run_line_magic("export_run", f"--force {run.id[:8]} '{target}'")
    assert "kept as train.py.orig" in capsys.readouterr().out
    with pytest.raises(UsageError, match="unknown option --verfy"):
        ip.run_line_magic("export_run", f"{run.id[:8]} '{target}' --verfy")


# -- where re-runs log ----------------------------------------------------------------------


def test_a_rerun_logs_into_the_store_the_run_came_from(ip, store, tmp_path):
    run = tracked_run(ip)
    path = jt.export_run(run.id, tmp_path / "project")
    record = json.loads((path / "run.json").read_text())
    assert record["export"]["origin_store"] == str(store.path)
    result = rerun(path, "--alpha", "0.25")  # no $JUPYTER_TRACKER_STORE
    assert result.stderr.splitlines()[0] == (
        f"jupyter-tracker: this re-run is logged in the store the run came from: {store.path}"
    )
    (again,) = new_runs(run)
    assert again.params["alpha"] == 0.25
    assert not (path / ".jupyter_tracker").exists()


def test_a_rerun_logs_locally_when_the_origin_store_is_gone(ip, store, tmp_path):
    run = tracked_run(ip)
    path = jt.export_run(run.id, tmp_path / "project")
    store.flush()
    moved = tmp_path / "moved"
    shutil.move(store.path, moved)
    try:
        result = rerun(path, "--alpha", "0.25")
    finally:
        shutil.move(moved, store.path)
    local = path / ".jupyter_tracker"
    assert result.stderr.splitlines()[0] == (
        "jupyter-tracker: this re-run is logged in a local store, as the store the run came "
        f"from ({store.path}) is not reachable: {local}"
    )
    there = Store.open(local)
    try:
        (record,) = queries.records(there)
    finally:
        there.close()
    assert record["tags"]["jupyter_tracker.origin"] == run.id
    assert record["params"]["alpha"] == "0.25"
    assert new_runs(run) == []


def test_jupyter_tracker_store_wins_over_the_origin(ip, store, tmp_path):
    run = tracked_run(ip)
    path = jt.export_run(run.id, tmp_path / "project")
    elsewhere = Store.open(tmp_path / "elsewhere")
    result = rerun(path, store=elsewhere)
    assert result.stderr.splitlines()[0] == (
        f"jupyter-tracker: this re-run is logged in $JUPYTER_TRACKER_STORE: {elsewhere.path}"
    )
    assert new_runs(run) == []
    assert len(queries.records(elsewhere)) == 1
    elsewhere.close()


# -- re-exports keep edits ------------------------------------------------------------------


def test_a_reexport_refuses_to_overwrite_edited_files_unless_forced(ip, store, tmp_path, capsys):
    run = tracked_run(ip)
    path = jt.export_run(run.id, tmp_path / "project")
    (path / "train.py").write_text("# my edits\n")
    (path / "artifacts" / "notes.txt").write_text("edited too")
    (path / "mine.txt").write_text("added by me")
    (path / "README.md").unlink()  # removed, not edited: simply written again
    before = {p: p.read_bytes() for p in path.rglob("*") if p.is_file()}

    with pytest.raises(jt.ExportEditedError) as caught:
        jt.export_run(run.id, path)
    assert caught.value.files == ["artifacts/notes.txt", "train.py"]
    assert "artifacts/notes.txt, train.py changed since the last export" in str(caught.value)
    assert "force=True (--force)" in str(caught.value)
    assert {p: p.read_bytes() for p in path.rglob("*") if p.is_file()} == before  # untouched

    capsys.readouterr()
    assert cli.main(["--store", str(store.path), "export", run.id, str(path)]) == 1
    (error,) = [e for e in capsys.readouterr().err.splitlines() if not e.startswith("export:")]
    assert error.startswith("jupyter-tracker: error: Not re-exporting run")
    assert "train.py changed since the last export" in error

    assert cli.main(["--store", str(store.path), "export", run.id, str(path), "--force"]) == 0
    out = capsys.readouterr().out
    assert "train.py changed since the last export: kept as train.py.orig" in out
    assert (path / "train.py.orig").read_text() == "# my edits\n"
    assert (path / "artifacts" / "notes.txt.orig").read_text() == "edited too"
    assert (path / "artifacts" / "notes.txt").read_text() == "hello"
    assert "import argparse" in (path / "train.py").read_text()
    assert (path / "README.md").exists()
    assert (path / "mine.txt").read_text() == "added by me"

    jt.export_run(run.id, path)  # nothing changed since: replaced quietly, .orig files kept
    (path / "train.py").write_text("# edited again\n")
    jt.export_run(run.id, path, force=True)
    assert (path / "train.py.orig").read_text() == "# my edits\n"
    assert (path / "train.py.orig2").read_text() == "# edited again\n"


def test_a_users_file_where_the_export_now_writes_is_kept(store, tmp_path):
    with jt.start_run() as run:
        jt.log_metric("a", 1.0)
    path = jt.export_run(run.id, tmp_path / "project")
    (path / "metrics" / "b.csv").write_text("my own table")
    with jt.start_run(run_id=run.id):
        jt.log_metric("b", 2.0)
    with pytest.raises(jt.ExportEditedError, match="metrics/b.csv") as caught:
        jt.export_run(run.id, path)
    assert caught.value.files == ["metrics/b.csv"]
    jt.export_run(run.id, path, force=True)
    assert (path / "metrics" / "b.csv.orig").read_text() == "my own table"
    assert (path / "metrics" / "b.csv").read_text().startswith("step,value,timestamp")
