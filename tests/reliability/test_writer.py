"""The writer under faults: nothing acknowledged is lost, a failed flush changes nothing, a
full buffer pushes back, forks and threads keep every point (issue 8, items 1, 9, 10, 11)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

import jupyter_tracker as jt
from jupyter_tracker.session import session
from jupyter_tracker.store import Store


def _fill_disk(store):
    """Make the database unable to grow (a full disk, as SQLite sees it); undo with ``_free``."""
    conn = store.connection()
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")


def _free(store):
    store.connection().execute("PRAGMA max_page_count = 1073741823")


def _points(store, run_id, key):
    return store.read(
        "SELECT COUNT(*) FROM points p JOIN series s ON s.id = p.series_id "
        "WHERE s.run_id = ? AND s.key = ?",
        (run_id, key),
    )[0][0]


def test_a_failed_first_flush_of_a_series_leaves_no_stale_id(store):
    """A rolled-back flush that created a series keeps no id: the next flush creates it
    again, and nothing is lost (it used to fail every later flush with a KeyError)."""
    with jt.start_run() as run:
        store.flush()
        _fill_disk(store)
        for i in range(50_000):
            jt.log_metric("new_series", float(i))
        with pytest.raises(Exception, match="full"):
            session().writer(store).flush()
        _free(store)
        session().writer(store).flush()
        jt.log_metric("new_series", -1.0)
    assert _points(store, run.id, "new_series") == 50_001
    assert jt.get_run(run.id).status == "FINISHED"


def test_a_purged_series_is_recreated_and_never_mixed_with_another_run(store):
    """If a run's series row disappears (``gc`` purged it) and SQLite hands its id to
    another run's series, later points still go to the right run and key."""
    with jt.start_run(name="first") as first:
        jt.log_metric("loss", 1.0)
        store.flush()
        with store.write() as conn:  # what a purge does, behind this process's back
            conn.execute("DELETE FROM points")
            conn.execute("DELETE FROM series")
        other = Store.open(store.path)  # another process logs a new series: same id again
        with other.write() as conn:
            conn.execute("INSERT INTO series (run_id, key) VALUES ('someone-else', 'acc')")
        jt.log_metric("loss", 2.0)
    assert _points(store, first.id, "loss") == 1
    assert store.read("SELECT count FROM series WHERE run_id = 'someone-else'") == [(0,)]
    assert jt.get_run(first.id).metrics == {"loss": 2.0}


def test_a_full_buffer_pushes_back_instead_of_growing(store, monkeypatch):
    writer = session().writer(store)
    monkeypatch.setattr(writer, "flush_at", 1_000)
    seen = 0
    with jt.start_run() as run:
        for i in range(10_000):
            jt.log_metric("x", float(i))
            seen = max(seen, writer.pending)
    assert seen <= 1_000
    assert _points(store, run.id, "x") == 10_000


def test_threads_logging_at_once_lose_no_point(store):
    with jt.start_run() as run:

        def work(k):
            for i in range(5_000):
                jt.log_metric(f"t{k}", float(i))
                if i % 1000 == 0:
                    store.flush()

        threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert [_points(store, run.id, f"t{k}") for k in range(6)] == [5_000] * 6


def test_a_run_is_stored_as_soon_as_start_run_returns(run_script, tmp_path):
    """Killed right after start_run: the run is there, and the next opener marks it CRASHED."""
    result = run_script(
        "import os, signal\nimport jupyter_tracker as jt\njt.start_run(name='short')\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n",
        check=False,
    )
    assert result.returncode == -signal.SIGKILL
    store = jt.set_store(tmp_path / "store")
    assert store.read("SELECT name, status FROM runs") == [("short", "CRASHED")]


FORK_SCRIPT = """
import multiprocessing as mp, os, sys
import jupyter_tracker as jt

def work(i):
    jt.log_metric("worker", float(i), step=i)
    jt.log_param(f"p{i}", i)
    return i

mp.set_start_method("fork")
with jt.start_run(name="parent") as run:
    with mp.Pool(2) as pool:   # leaving the block terminates the workers
        pool.map(work, range(8))
    pid = os.fork()
    if pid == 0:
        jt.log_metric("child", 1.0)
        sys.exit(0)            # a normal exit: it must not end the parent's run
    os.waitpid(pid, 0)
    jt.log_metric("after", 2.0)
print(run.id)
"""


def test_forked_children_log_to_the_run_and_never_end_it(run_script, tmp_path):
    if not hasattr(os, "fork"):
        pytest.skip("no fork here")
    run_id = run_script(FORK_SCRIPT).stdout.strip()
    jt.set_store(tmp_path / "store")
    run = jt.get_run(run_id)
    assert run.status == "FINISHED"
    assert sorted(run.params) == [f"p{i}" for i in range(8)]
    assert set(run.metrics) == {"worker", "child", "after"}
    assert len(jt.metric_history(run_id, "worker")) == 8


def test_sigkill_under_load_loses_nothing_acknowledged_more_than_a_second_before(tmp_path):
    """A process logging as fast as it can is killed; what it had acknowledged more than a
    second (plus one flush) earlier is stored."""
    marks = tmp_path / "marks"
    code = (
        "import time, jupyter_tracker as jt\n"
        "jt.start_run(name='load')\n"
        f"out = open({str(marks)!r}, 'w', buffering=1)\n"
        "i = 0\n"
        "while True:\n"
        "    jt.log_metric('x', float(i)); i += 1\n"
        "    if i % 20000 == 0: out.write(f'{time.monotonic()} {i}\\n')\n"
    )
    env = {**os.environ, "JUPYTER_TRACKER_STORE": str(tmp_path / "store")}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env)
    time.sleep(6)
    killed_at = time.monotonic()
    proc.kill()
    proc.wait()
    acknowledged = [
        int(n)
        for t, n in (line.split() for line in marks.read_text().splitlines())
        if float(t) < killed_at - 2.5
    ]
    store = jt.set_store(tmp_path / "store")
    (stored,) = store.read("SELECT count FROM series WHERE key = 'x'")[0]
    assert acknowledged and stored >= acknowledged[-1]


DAMAGE_SCRIPT = """
import os, jupyter_tracker as jt
store = jt.set_store(os.environ["JUPYTER_TRACKER_STORE"])
with jt.start_run():
    for i in range(20_000):
        jt.log_metric("x", float(i))
store.flush(); store.close()
size = os.path.getsize(store.db_path)
with open(store.db_path, "r+b") as f:
    for offset in range(4096, size, 4096):
        f.seek(offset); f.write(b"\\xde\\xad\\xbe\\xef" * 64)
before = os.path.getmtime(store.db_path)
for attempt in range(2):
    try:
        jt.start_run(name="into the damage")
    except jt.StoreDamagedError as exc:
        print("refused:", exc)
"""


def test_a_damaged_database_stops_writes_with_a_clear_error(run_script):
    result = run_script(DAMAGE_SCRIPT)
    refusals = [line for line in result.stdout.splitlines() if line.startswith("refused:")]
    assert len(refusals) == 2 and "is damaged" in refusals[0]


def test_a_second_writer_of_a_run_never_overwrites_a_param(store):
    """Two processes log to one run (one resumed it): the value stored first stays."""
    from jupyter_tracker.session import Session

    with jt.start_run() as run:
        store.flush()
        other = Session()  # another process's tracking state
        other.set_store(store.path)
        resumed = other.start(run_id=run.id)
        resumed.log_param("lr", 0.5)
        other.writer(other.current_store()).flush()
        jt.log_param("lr", 0.1)  # this process had not seen it: it does not overwrite
        with pytest.raises(ValueError, match="already 0.5"):
            other.start(run_id=run.id, params={"lr": 0.7}, nested=True)
        resumed.end()
    assert jt.get_run(run.id).params["lr"] == 0.5


def test_gc_never_removes_a_blob_that_a_live_run_is_logging_again(store):
    """A run logs content that a purged run also had, while gc runs in another process: the
    blob stays (it used to be removed in 5 of 5 trials, leaving a missing blob)."""
    from jupyter_tracker.store._maintenance import collect_garbage, delete_runs

    with jt.start_run(name="old") as old:
        jt.log_text("the same weights", "model.txt")
    (artifact,) = jt.get_run(old.id).artifacts
    blob = store.blob_path(artifact["sha256"])
    past = time.time() - 3 * 3600
    os.utime(blob, (past, past))
    delete_runs(store, [old.id])
    with jt.start_run(name="new") as new:
        jt.log_text("the same weights", "model.txt")  # touches the blob; its row is buffered
        report = collect_garbage(Store.open(store.path))  # another process's gc, meanwhile
        assert report["blobs_removed"] == 0
    (artifact,) = jt.get_run(new.id).artifacts
    with store.open_blob(artifact["sha256"]) as f:
        assert f.read() == b"the same weights"


READ_ONLY = """
import jupyter_tracker as jt
jt.set_store("{path}")
print(jt.search_runs()["name"].tolist())
try:
    jt.start_run()
except jt.StoreReadOnlyError as exc:
    print("refused:", exc)
"""


def test_a_read_only_store_can_be_read_and_refuses_writes_clearly(run_script, tmp_path):
    """A store on a read-only mount (or another user's): reads work, a write is one clear
    error. Needs a private mount namespace (root in a container)."""
    import shutil

    run_script("import jupyter_tracker as jt\nwith jt.start_run(name='kept'): pass\n")
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root and unshare to make a read-only mount")
    path = tmp_path / "store"
    script = tmp_path / "read_only.py"
    script.write_text(READ_ONLY.format(path=path))
    mount = f"mount --bind {path} {path} && mount -o remount,bind,ro {path}"
    result = subprocess.run(
        ["unshare", "-m", "sh", "-c", f"{mount} && {sys.executable} {script}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if "mount:" in result.stderr:
        pytest.skip(f"no read-only mount here: {result.stderr.strip()}")
    assert result.returncode == 0, result.stderr
    assert "['kept']" in result.stdout and "refused: The store at" in result.stdout
    assert "could not write" not in result.stderr
