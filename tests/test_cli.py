"""The `jupyter-tracker` command as a user types it: list, show, delete, gc, doctor."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

import jupyter_tracker as jt
from jupyter_tracker.cli import main
from jupyter_tracker.store._schema import SCHEMA_VERSION

BIN = Path(sys.executable).parent


@pytest.fixture
def runs(store):
    """Three runs: a baseline, a better one (with an overwritten param) and a failed one."""
    with jt.start_run(name="baseline", params={"alpha": 0.5}, tags={"stage": "dev"}) as a:
        for loss in (0.9, 0.6, 0.4):
            jt.log_metric("loss", loss)
        jt.log_artifact("shared content", name="notes.txt")
        jt.log_artifact(b"only in the baseline", name="model.bin")
    with jt.start_run(name="better", params={"alpha": 0.1}) as b:
        jt.log_param("alpha", 0.2, overwrite=True)
        jt.log_metric("loss", 0.2)
        jt.log_metric("acc", float("nan"))
        jt.log_artifact("shared content", name="notes.txt")
    with pytest.raises(ZeroDivisionError), jt.start_run(name="broken") as c:
        1 / 0  # noqa: B018
    store.flush()
    return {"baseline": a.id, "better": b.id, "broken": c.id}


def cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_runs_list_is_an_aligned_table(store, runs, capsys):
    code, out, err = cli(
        capsys, "--store", str(store.path), "runs", "list", "--order-by", "name DESC"
    )
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split()[:5] == ["ID", "NAME", "STATUS", "START", "DURATION"]
    assert "params.alpha" in lines[0] and "metrics.loss" in lines[0]
    assert [line.split()[1] for line in lines[1:]] == ["broken", "better", "baseline"]
    assert lines[1].startswith(runs["broken"][:8]) and "FAILED" in lines[1]
    better = lines[2]
    assert "FINISHED" in better and "0.2" in better and "NaN" in better
    status = lines[0].index("STATUS")  # aligned: every row's status starts under the header
    assert [line[status:].split()[0] for line in lines[1:]] == ["FAILED", "FINISHED", "FINISHED"]


def test_runs_list_filter_order_limit_and_json(store, runs, capsys):
    code, out, _ = cli(
        capsys, "runs", "list", "--store", str(store.path), "--filter", "metrics.loss < 0.5"
    )
    assert code == 0
    assert "better" in out and "baseline" in out and "broken" not in out

    code, out, _ = cli(
        capsys, "--store", str(store.path), "runs", "list", "--order-by", "metrics.loss", "--json"
    )
    rows = json.loads(out)
    assert [r["name"] for r in rows[:2]] == ["better", "baseline"]
    assert rows[0]["params"] == {"alpha": "0.2"}
    assert rows[0]["metrics"]["acc"] == "NaN"  # JSON has no NaN: the string stands for it

    code, out, err = cli(capsys, "--store", str(store.path), "runs", "list", "--limit", "1")
    assert code == 0 and len(out.splitlines()) == 2
    assert "--limit" in err

    code, out, _ = cli(capsys, "--store", str(store.path), "runs", "list", "-e", "Default")
    assert len(out.splitlines()) == 4


def test_bad_filter_and_unknown_names_are_one_line_errors(store, runs, capsys):
    code, out, err = cli(
        capsys, "--store", str(store.path), "runs", "list", "--filter", "metrics.loss <<< 3"
    )
    assert code == 1 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert "position" in err and "Traceback" not in err

    for args in (["runs", "show", "feedbeef"], ["runs", "delete", "nope"]):
        code, out, err = cli(capsys, "--store", str(store.path), *args)
        assert code == 1
        assert len(err.strip().splitlines()) == 1 and "No run" in err

    code, _, err = cli(capsys, "--store", str(store.path), "runs", "list", "-e", "missing")
    assert code == 1 and "missing" in err


def test_usage_errors_exit_2(store, capsys):
    assert cli(capsys)[0] == 2
    assert cli(capsys, "runs")[0] == 2
    assert cli(capsys, "runs", "lst")[0] == 2
    assert cli(capsys, "runs", "list", "--limit", "-3")[0] == 2
    assert cli(capsys, "runs", "show")[0] == 2
    code, out, _ = cli(capsys, "--version")
    assert code == 0 and jt.__version__ in out


def test_runs_show_has_params_history_metrics_tags_artifacts_and_error(store, runs, capsys):
    code, out, _ = cli(capsys, "--store", str(store.path), "runs", "show", runs["better"][:10])
    assert code == 0
    assert out.startswith(f"Run {runs['better']}")
    assert "alpha  0.2" in out and "earlier: 0.1" in out
    metrics = out.split("Metrics")[1]
    assert "loss" in metrics and "NaN" in metrics
    assert "notes.txt" in out and "14 B" in out

    code, out, _ = cli(capsys, "--store", str(store.path), "runs", "show", runs["baseline"])
    assert "stage  dev" in out
    loss = next(line for line in out.splitlines() if line.strip().startswith("loss"))
    assert loss.split()[1:] == ["0.4", "2", "0.4", "0.9", "3"]  # last step min max count

    code, out, _ = cli(capsys, "--store", str(store.path), "runs", "show", runs["broken"])
    assert "FAILED" in out and "ZeroDivisionError" in out.split("\nError\n")[1]

    code, out, _ = cli(capsys, "--store", str(store.path), "runs", "show", runs["better"], "--json")
    detail = json.loads(out)
    assert detail["run_id"] == runs["better"] and detail["deleted"] is False
    assert detail["param_history"][0]["value"] == "0.1"
    assert detail["metric_summary"]["acc"]["last"] == "NaN"


def test_user_strings_cannot_drive_the_terminal(store, capsys):
    with jt.start_run(name="evil\x1b[2Jname", params={"p": "a\nb\x07"}):
        pass
    store.flush()
    _, out, _ = cli(capsys, "--store", str(store.path), "runs", "list")
    assert "\x1b" not in out and "\x07" not in out and "evilname" in out
    run_id = jt.search_runs().run_id[0]
    _, out, _ = cli(capsys, "--store", str(store.path), "runs", "show", run_id)
    assert "\x1b" not in out and "\x07" not in out and "a\\nb\\x07" in out


def test_escape_sequences_in_stored_names_are_neutralised(store, capsys):
    name = "\x1b[31mred\x1b]0;title\x07"  # a colour, then a window title (OSC ... BEL)
    with jt.start_run(name=name, tags={"t": name}) as run:
        pass
    store.flush()
    for args in (["runs", "list"], ["runs", "show", run.id], ["runs", "delete", run.id]):
        code, out, err = cli(capsys, "--store", str(store.path), *args)
        assert code == 0, err
        assert "\x1b" not in out and "\x07" not in out
        assert "red\\x1b]0;title\\x07" in out  # shown as text, not acted on


def test_delete_hides_a_run_and_restore_brings_it_back(store, runs, capsys):
    code, out, _ = cli(capsys, "--store", str(store.path), "runs", "delete", runs["broken"][:8])
    assert code == 0 and "deleted" in out and runs["broken"][:8] in out
    _, out, _ = cli(capsys, "--store", str(store.path), "runs", "list")
    assert "broken" not in out
    assert runs["broken"] not in set(jt.search_runs().run_id)
    assert len(jt.search_runs(filter="status = 'FAILED'")) == 0
    _, out, _ = cli(capsys, "--store", str(store.path), "runs", "show", runs["broken"])
    assert "deleted" in out  # still there until gc

    code, out, _ = cli(capsys, "--store", str(store.path), "runs", "restore", runs["broken"])
    assert code == 0 and "restored" in out
    assert runs["broken"] in set(jt.search_runs().run_id)


def test_a_running_run_is_not_deleted(store, capsys):
    with jt.start_run(name="live") as run:
        store.flush()
        code, _, err = cli(capsys, "--store", str(store.path), "runs", "delete", run.id)
    assert code == 1 and "RUNNING" in err
    assert run.id in set(jt.search_runs().run_id)


def _blob_files(store) -> set[str]:
    return {p.parent.name + p.name for p in store.blob_dir.rglob("*") if p.is_file()}


def _sha(text: str | bytes) -> str:
    import hashlib

    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def test_gc_purges_deleted_runs_and_their_blobs_but_keeps_shared_ones(store, runs, capsys):
    shared, own = _sha("shared content"), _sha(b"only in the baseline")
    assert {shared, own} <= _blob_files(store)
    stale = store.blob_dir / "incoming.1.2.tmp"
    stale.write_bytes(b"half")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    fresh = store.blob_dir / "incoming.3.4.tmp"
    fresh.write_bytes(b"in flight")
    cli(capsys, "--store", str(store.path), "runs", "delete", runs["baseline"])
    past = time.time() - 60  # freed blobs go once untouched for a few seconds
    for sha in (shared, own):
        os.utime(store.blob_path(sha), (past, past))

    code, out, _ = cli(capsys, "--store", str(store.path), "gc", "--dry-run")
    assert code == 0 and "Would purge 1 deleted run" in out
    assert own in _blob_files(store) and stale.exists()
    assert store.read("SELECT COUNT(*) FROM runs WHERE id = ?", (runs["baseline"],)) == [(1,)]

    code, out, _ = cli(capsys, "--store", str(store.path), "gc")
    assert code == 0
    assert "Purged 1 deleted run" in out and "3 metric points" in out
    assert "Removed 1 unreferenced blob" in out and "1 leftover temporary file" in out
    assert "VACUUM" in out or "--vacuum" in out
    blobs = _blob_files(store)
    assert own not in blobs and shared in blobs
    assert not stale.exists() and fresh.exists()
    for table in ("params", "param_history", "tags", "series", "artifacts"):
        sql = f"SELECT COUNT(*) FROM {table} WHERE run_id = ?"  # noqa: S608
        assert store.read(sql, (runs["baseline"],)) == [(0,)]
    assert store.read(
        "SELECT COUNT(*) FROM points p LEFT JOIN series s ON s.id = p.series_id WHERE s.id IS NULL"
    ) == [(0,)]
    with pytest.raises(jt.RunNotFoundError):
        jt.get_run(runs["baseline"])
    better = jt.get_run(runs["better"])
    assert better.params == {"alpha": 0.2} and better.metrics["loss"] == 0.2
    assert store.blob_path(shared).read_text() == "shared content"

    code, out, _ = cli(capsys, "--store", str(store.path), "gc", "--vacuum", "--json")
    report = json.loads(out)
    assert report["runs_purged"] == [] and report["blobs_removed"] == 0
    assert "database_bytes_freed" in report


def test_gc_keeps_a_young_orphan_blob_and_removes_an_old_one(store, capsys):
    young = store.put_blob(b"written, its row not yet committed")
    old = store.put_blob(b"orphaned long ago")
    past = time.time() - 7200
    os.utime(store.blob_path(old), (past, past))
    code, out, _ = cli(capsys, "--store", str(store.path), "gc")
    assert code == 0 and "Kept 1 unreferenced blob younger than an hour" in out
    assert young in _blob_files(store) and old not in _blob_files(store)


def test_doctor_reports_versions_location_integrity_and_counts(store, runs, capsys):
    code, out, err = cli(capsys, "--store", str(store.path), "doctor")
    assert code == 0, err
    fields = {line[:17].strip(): line[17:] for line in out.splitlines()}
    assert fields["jupyter-tracker"] == jt.__version__
    assert fields["SQLite"] == sqlite3.sqlite_version
    assert str(store.path) in fields["store"] and "--store" in fields["store"]
    assert fields["schema version"].startswith(f"{SCHEMA_VERSION} (")
    assert fields["integrity check"] == "ok"
    assert fields["journal mode"] == "wal"
    assert fields["runs"].startswith("3 ") and "FAILED 1" in fields["runs"]
    assert fields["metrics"] == "3 series, 5 points"
    assert fields["blobs"].startswith("2 files")
    assert fields["result"] == "ok"


def test_doctor_fails_on_a_corrupt_database(tmp_path, capsys):
    store = tmp_path / "broken"
    store.mkdir()
    (store / "store.db").write_bytes(b"this is not a database" * 100)
    code, out, _ = cli(capsys, "--store", str(store), "doctor")
    assert code == 1 and "FAILED" in out
    code, _, err = cli(capsys, "--store", str(store), "runs", "list")
    assert code == 1 and len(err.strip().splitlines()) == 1 and "doctor" in err


def test_a_store_from_a_newer_version_is_a_one_line_error(store, capsys):
    store.connection().execute("PRAGMA user_version = 99")
    code, _, err = cli(capsys, "--store", str(store.path), "runs", "list")
    assert code == 1 and "newer" in err and len(err.strip().splitlines()) == 1
    code, out, err = cli(capsys, "--store", str(store.path), "doctor")
    assert code == 1 and "99" in out and "newer" in err


def test_no_store_yet(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JUPYTER_TRACKER_STORE", raising=False)
    code, out, _ = cli(capsys, "runs", "list")
    assert code == 0 and "No runs" in out
    code, out, _ = cli(capsys, "doctor")
    assert code == 0 and "no store here yet" in out and "working directory" in out
    assert cli(capsys, "runs", "show", "abcd")[0] == 1
    assert not (tmp_path / ".jupyter_tracker").exists()  # reading never creates a store


def test_the_store_is_found_like_the_python_api_finds_it(store, runs, capsys, monkeypatch):
    monkeypatch.setenv("JUPYTER_TRACKER_STORE", str(store.path))
    code, out, _ = cli(capsys, "runs", "list")
    assert code == 0 and "baseline" in out
    _, out, _ = cli(capsys, "doctor")
    assert "$JUPYTER_TRACKER_STORE" in out

    monkeypatch.delenv("JUPYTER_TRACKER_STORE")
    project = store.path.parent / "project"
    (project / ".jupyter_tracker").mkdir(parents=True)
    (project / "notebooks").mkdir()
    monkeypatch.chdir(project / "notebooks")
    _, out, _ = cli(capsys, "doctor")
    assert str(project / ".jupyter_tracker") in out and "nearest" in out


def test_runs_of_a_killed_process_show_as_crashed(store, run_script, capsys):
    run_script(
        """
        import os, signal
        import jupyter_tracker as jt
        run = jt.start_run(name="doomed")
        jt.log_metric("loss", 1.0)
        jt.tracking.current_store().flush()
        os.kill(os.getpid(), signal.SIGKILL)
        """,
        store_dir=store.path,
        check=False,
    )
    code, out, _ = cli(capsys, "--store", str(store.path), "runs", "list")
    assert code == 0
    line = next(line for line in out.splitlines() if "doomed" in line)
    assert "CRASHED" in line


def _env(store) -> dict:
    return {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "JUPYTER_TRACKER_STORE": str(store.path),
    }


def test_the_installed_console_script(store, runs):
    result = subprocess.run(
        [str(BIN / "jupyter-tracker"), "runs", "list", "--filter", "params.alpha > 0.3"],
        env=_env(store),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "baseline" in result.stdout and "better" not in result.stdout

    result = subprocess.run(
        [str(BIN / "jupyter-tracker"), "runs", "show", "0000"],
        env=_env(store),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_jupyter_tracker_as_a_jupyter_subcommand(store, runs):
    result = subprocess.run(
        [str(BIN / "jupyter"), "tracker", "doctor"],
        env=_env(store),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "integrity check  ok" in result.stdout

    result = subprocess.run(
        [str(BIN / "jupyter"), "tracker", "runs", "list", "--json"],
        env=_env(store),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert {r["name"] for r in json.loads(result.stdout)} == {"baseline", "better", "broken"}


def test_listing_runs_does_not_import_pandas(store, runs):
    code = (
        "import sys\n"
        "from jupyter_tracker.cli import main\n"
        f"assert main(['--store', {str(store.path)!r}, 'runs', 'list']) == 0\n"
        f"assert main(['--store', {str(store.path)!r}, 'runs', 'show', {runs['better']!r}]) == 0\n"
        "assert 'pandas' not in sys.modules, 'pandas imported'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_a_store_that_cannot_be_opened_is_one_line_and_exit_1(tmp_path, capsys):
    folder = tmp_path / "store"
    folder.mkdir()
    (folder / "store.db").mkdir()  # not a database file: SQLite cannot open it
    code = main(["--store", str(folder), "runs", "list"])
    err = capsys.readouterr().err
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "cannot use the store" in err and "Traceback" not in err
