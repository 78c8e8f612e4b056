"""The store under real use: upgrades, location, many writers, and processes that die."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

import jupyter_tracker as jt
from jupyter_tracker.session import session
from jupyter_tracker.store import HOST, Store, _schema, find_store_dir
from jupyter_tracker.store._location import ENV_VAR


def _integrity(path) -> str:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def _dump(path) -> tuple[int, list[str]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA user_version").fetchone()[0], list(conn.iterdump())
    finally:
        conn.close()


# -- schema versions ------------------------------------------------------------------


def test_an_older_store_is_upgraded_in_place_without_loss(tmp_path):
    old = tmp_path / "old"
    old.mkdir()
    conn = sqlite3.connect(old / "store.db", isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    _schema.migrate(conn, upto=1)  # what version 1 of the package created
    conn.execute("INSERT INTO experiments (id, name, created_at) VALUES (0, 'Default', 1)")
    conn.execute(
        "INSERT INTO runs (id, experiment_id, name, status, start_time, end_time) "
        "VALUES ('a' || hex(randomblob(15)), 0, 'kept', 'FINISHED', 1000, 2000)"
    )
    run_id = conn.execute("SELECT id FROM runs").fetchone()[0]
    conn.execute(
        "INSERT INTO params (run_id, key, value, type, num) VALUES (?, 'alpha', '0.5', "
        "'float', 0.5)",
        (run_id,),
    )
    conn.execute("COMMIT")
    conn.close()

    jt.set_store(old)
    assert Store(old).schema_version() == _schema.SCHEMA_VERSION
    run = jt.get_run(run_id)
    assert (run.name, run.status, run.params) == ("kept", "FINISHED", {"alpha": 0.5})
    assert run.rerun_of is None and run.cell_id is None  # the new columns exist
    assert _integrity(old / "store.db") == "ok"


def test_a_version_5_store_gets_the_sorting_indexes_and_pages_the_same(tmp_path):
    from jupyter_tracker.store import queries

    old = tmp_path / "v5"
    old.mkdir()
    conn = sqlite3.connect(old / "store.db", isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    _schema.migrate(conn, upto=5)
    conn.execute("INSERT INTO experiments (id, name, created_at) VALUES (0, 'Default', 1)")
    conn.executemany(
        "INSERT INTO runs (id, experiment_id, name, status, start_time) "
        "VALUES (?, 0, ?, 'FINISHED', ?)",
        [(f"{i:032x}", f"run {i}", 1000 + i) for i in range(20)],
    )
    conn.executemany(
        "INSERT INTO series (run_id, key, count, last_value) VALUES (?, 'loss', 1, ?)",
        [(f"{i:032x}", (i * 7) % 20 / 20) for i in range(20)],
    )
    conn.execute("COMMIT")
    before = [r[0] for r in conn.execute("SELECT id FROM runs ORDER BY start_time DESC")]
    conn.close()

    store = Store.open(old)
    indexes = {n for (n,) in store.read("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"runs_by_time", "runs_by_notebook", "series_by_value"} <= indexes
    assert [r["run_id"] for r in queries.records(store)] == before
    page, after = queries.run_page(store, order_by="metrics.loss DESC", limit=3)
    assert [r["metrics"]["loss"] for r in page] == [0.95, 0.9, 0.85] and after
    assert _integrity(old / "store.db") == "ok"


def test_a_newer_store_is_refused_with_a_clear_message(tmp_path):
    newer = tmp_path / "newer"
    Store.open(newer)
    conn = sqlite3.connect(newer / "store.db")
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    before = _dump(newer / "store.db")
    with pytest.raises(jt.StoreVersionError, match="newer jupyter-tracker.*pip install -U"):
        Store.open(newer)
    assert _dump(newer / "store.db") == before


def test_many_processes_opening_a_fresh_store_at_once_make_one_schema(tmp_path):
    target = tmp_path / "fresh"
    go = tmp_path / "go"
    code = textwrap.dedent(
        f"""
        import os, time
        while not os.path.exists({str(go)!r}):
            time.sleep(0.001)
        from jupyter_tracker.store import Store
        Store.open({str(target)!r})
        """
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True)
        for _ in range(8)
    ]
    time.sleep(0.5)  # let them all import and wait at the line
    go.touch()
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 8, errors
    assert not any(errors)
    conn = sqlite3.connect(target / "store.db")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == _schema.SCHEMA_VERSION
    assert conn.execute("SELECT name FROM experiments").fetchall() == [("Default",)]
    conn.close()


# -- where the store is ---------------------------------------------------------------


def test_store_location_rules(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    project = tmp_path / "project"
    deep = project / "notebooks" / "sub"
    deep.mkdir(parents=True)
    assert find_store_dir(deep) == deep / ".jupyter_tracker"  # no repo: the working dir
    (project / ".git").mkdir()
    assert find_store_dir(deep) == project / ".jupyter_tracker"  # the git root
    (project / "notebooks" / ".jupyter_tracker").mkdir()
    assert find_store_dir(deep) == project / "notebooks" / ".jupyter_tracker"  # nearest
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "elsewhere"))
    assert find_store_dir(deep) == tmp_path / "elsewhere"  # the environment wins


def test_set_store_and_the_env_var_decide_where_runs_go(tmp_path, monkeypatch, run_script):
    run_script(
        "import jupyter_tracker as jt\nwith jt.start_run(name='via-env'): pass\n",
        store_dir=tmp_path / "from-env",
    )
    jt.set_store(tmp_path / "from-env")
    assert list(jt.search_runs()["name"]) == ["via-env"]


# -- many writers ---------------------------------------------------------------------


def test_six_processes_logging_at_once_lose_nothing(tmp_path):
    store_dir = tmp_path / "shared"
    Store.open(store_dir)
    code = textwrap.dedent(
        """
        import sys
        import jupyter_tracker as jt
        with jt.start_run(name=sys.argv[1]):
            for i in range(20_000):
                jt.log_metric(f"k{i % 5}", i)
        """
    )
    env = {**os.environ, "JUPYTER_TRACKER_STORE": str(store_dir)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, f"p{n}"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(6)
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, outputs
    assert all(out == ("", "") for out in outputs), outputs  # no "database is locked"
    conn = sqlite3.connect(store_dir / "store.db")
    assert conn.execute("SELECT COUNT(*) FROM points").fetchone()[0] == 120_000
    assert conn.execute("SELECT COUNT(*), SUM(count) FROM series").fetchone() == (30, 120_000)
    assert conn.execute("SELECT DISTINCT status FROM runs").fetchall() == [("FINISHED",)]
    conn.close()
    assert _integrity(store_dir / "store.db") == "ok"


# -- processes that die ---------------------------------------------------------------


def test_a_killed_process_keeps_what_was_flushed_and_its_run_is_crashed(tmp_path):
    store_dir = tmp_path / "store"
    code = textwrap.dedent(
        """
        import sys, time
        import jupyter_tracker as jt
        run = jt.start_run(name="doomed")
        for i in range(1000):
            jt.log_metric("loss", float(i))
        jt.search_runs()  # a read flushes everything logged so far
        print(run.id, flush=True)
        i = 1000
        while True:
            jt.log_metric("loss", float(i))
            i += 1
            time.sleep(0.0005)
        """
    )
    env = {**os.environ, "JUPYTER_TRACKER_STORE": str(store_dir)}
    proc = subprocess.Popen(
        [sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True
    )
    run_id = proc.stdout.readline().strip()
    time.sleep(1.5)  # let the background writer flush mid-run
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)

    assert _integrity(store_dir / "store.db") == "ok"
    jt.set_store(store_dir)  # opening the store marks the dead process's run
    run = jt.get_run(run_id)
    assert run.status == "CRASHED"
    steps = list(jt.metric_history(run_id, "loss")["step"])
    assert steps[:1000] == list(range(1000))  # every point flushed before the kill
    assert steps == list(range(len(steps)))  # no gaps in what landed
    assert run.end_time is not None


def test_a_run_elsewhere_is_crashed_once_its_heartbeat_stops_changing(store, monkeypatch):
    """Another host (or container) is judged by whether its heartbeat changes, timed on this
    machine's clock: a far-off clock on the other side never crashes a live run."""
    import jupyter_tracker.store as store_module

    for name in ("silent", "beating"):
        with store.write() as conn:
            conn.execute(
                "INSERT INTO runs (id, experiment_id, name, status, start_time, host, pid, "
                "heartbeat) VALUES (hex(randomblob(16)), 0, ?, 'RUNNING', 1, "
                "'some-other-host', 1, 1)",  # its clock says 1970: skew must not matter
                (name,),
            )
    assert Store.open(store.path).crashed_on_open == []  # first sighting: both alive
    later = store_module.now_ms() + int(store_module.HEARTBEAT_GRACE_S * 1000) + 1000
    monkeypatch.setattr(store_module, "now_ms", lambda: later)
    with store.write() as conn:
        conn.execute("UPDATE runs SET heartbeat = 2 WHERE name = 'beating'")
    crashed = Store.open(store.path).crashed_on_open
    statuses = dict(store.read("SELECT name, status FROM runs"))
    assert statuses == {"silent": "CRASHED", "beating": "RUNNING"}
    assert len(crashed) == 1


def test_a_live_process_runs_stay_running(store):
    with jt.start_run() as run:
        store.flush()
        assert Store.open(store.path).mark_crashed() == []
        assert jt.get_run(run.id).status == "RUNNING"
    rows = store.read("SELECT host, pid FROM runs WHERE id = ?", (run.id,))
    assert rows == [(HOST, os.getpid())]


def test_a_reused_pid_does_not_keep_a_dead_run_alive(store):
    with store.write() as conn:
        conn.execute(
            "INSERT INTO runs (id, experiment_id, name, status, start_time, host, pid, "
            "pid_started, heartbeat) VALUES ('d' || hex(randomblob(15)), 0, 'old', "
            "'RUNNING', 1, ?, ?, -1, ?)",
            (HOST, os.getpid(), int(time.time() * 1000)),
        )
    if not os.path.exists(f"/proc/{os.getpid()}/stat"):
        pytest.skip("no /proc: process start times are not available here")
    Store.open(store.path)
    assert store.read("SELECT status FROM runs WHERE name = 'old'") == [("CRASHED",)]


def test_a_failing_migration_changes_nothing(tmp_path, monkeypatch):
    path = tmp_path / "store"
    Store.open(path)

    def broken(db):
        db.execute("CREATE TABLE half_done (x)")
        raise RuntimeError("migration bug")

    monkeypatch.setattr(_schema, "MIGRATIONS", [*_schema.MIGRATIONS, broken])
    monkeypatch.setattr(_schema, "SCHEMA_VERSION", len(_schema.MIGRATIONS))
    with pytest.raises(RuntimeError, match="migration bug"):
        Store.open(path)
    conn = sqlite3.connect(path / "store.db")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(_schema.MIGRATIONS) - 1
    tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
    assert "half_done" not in tables
    conn.close()


def test_running_runs_keep_their_heartbeat_fresh(store, monkeypatch):
    from jupyter_tracker.store import _writer

    monkeypatch.setattr(_writer, "HEARTBEAT_INTERVAL_S", 0.05)
    with jt.start_run() as run:
        store.flush()
        (first,) = store.read("SELECT heartbeat FROM runs WHERE id = ?", (run.id,))[0]
        time.sleep(0.1)
        store.flush()  # the writer's loop does this every second
        (later,) = store.read("SELECT heartbeat FROM runs WHERE id = ?", (run.id,))[0]
    assert later > first


def test_the_writers_thread_copies_the_wal_into_the_database_file(store):
    """Runs' commits only append to the WAL (SQLite's own copying would make the caller of
    ``end_run`` wait for it); the writer's thread copies it into ``store.db`` every second,
    so the WAL stays short without anyone reading or closing the store."""
    before = store.db_path.stat().st_size
    for i in range(200):
        with jt.start_run():
            jt.log_params({f"p{k}": i for k in range(10)})
            jt.log_metrics({f"m{k}": float(i) for k in range(5)})
    writer = session().writer(store)
    deadline = time.monotonic() + 30
    while writer._thread is not None and time.monotonic() < deadline:  # idle: it stops
        time.sleep(0.05)
    assert writer._thread is None
    assert store.db_path.stat().st_size > before + 200 * 1000  # 200 runs' pages landed


def test_a_full_disk_is_reported_as_such_and_nothing_acknowledged_is_lost(store):
    with jt.start_run() as run:
        jt.log_metric("x", 0.0)
        store.flush()
        conn = store.connection()
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")  # the "disk" is now full
        for i in range(1, 50_000):
            jt.log_metric("x", float(i))
        with pytest.raises(sqlite3.OperationalError, match="full"):
            store.flush()
        with pytest.warns(RuntimeWarning, match="stays buffered"):
            assert store.read("SELECT COUNT(*) FROM points") == [(1,)]  # reads still answer
        conn.execute("PRAGMA max_page_count = 1073741823")  # space again
    assert len(jt.metric_history(run.id, "x")) == 50_000


def test_a_deleted_store_is_a_clear_error_and_a_new_one_can_be_set(store, tmp_path):
    import shutil

    doomed = jt.set_store(tmp_path / "doomed")
    with jt.start_run(name="before"):
        pass
    shutil.rmtree(doomed.path)
    with pytest.raises(jt.TrackerError, match="was deleted"), jt.start_run(name="after"):
        jt.log_metric("x", 1.0)  # ending the run cannot write: a clear error, not silence
    with pytest.raises(jt.TrackerError, match="was deleted"):
        jt.search_runs()
    fresh = jt.set_store(doomed.path)
    assert fresh is not doomed and jt.search_runs().empty
    assert (doomed.path / ".gitignore").read_text().endswith("*\n")


def test_a_live_process_is_not_crashed_for_a_stale_heartbeat(store):
    with jt.start_run() as run:
        store.flush()
        with store.write() as conn:  # as after a laptop sleep
            conn.execute("UPDATE runs SET heartbeat = 1 WHERE id = ?", (run.id,))
        assert Store.open(store.path).crashed_on_open == []
        assert jt.get_run(run.id).status == "RUNNING"


def test_a_crashed_run_ends_when_it_was_last_heard_of(store, run_script, tmp_path):
    run_script(
        """
        import os
        import jupyter_tracker as jt
        jt.start_run()
        jt.log_metric("x", 1.0, timestamp=4_000_000_000_000)
        jt.search_runs()
        os._exit(0)
        """,
        store_dir=store.path,
    )
    Store.open(store.path)
    (end,) = store.read("SELECT end_time FROM runs WHERE status = 'CRASHED'")[0]
    assert end == 4_000_000_000_000
