"""One benchmark workload for one contender, run in a fresh interpreter by ``run.py``.

Usage: ``python _workloads.py '{"workload": ..., "contender": ..., ...}'``; prints one line
``BENCH_RESULT {json}``. Only the standard library is imported at module level, so the
MLflow contender can run under another interpreter (``--mlflow-python``).

Every timed region excludes interpreter start, imports and store creation; inputs (rows,
dicts, values) are built before the clock starts, identically for every contender.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

KEYS = ("loss", "accuracy", "lr", "grad_norm", "val_loss")
N_PARAMS = 10
RUN_ID = "0123456789abcdef0123456789abcdef"  # 32 hex characters, as jupyter-tracker and MLflow

# the search workload: the filter and its MLflow equivalent (MLflow compares params as text
# only, with no IN, OR or NOT for them, so alpha comes from a grid and "> 0.3" becomes
# "!=" each grid value below 0.3: the same rows)
ALPHAS = tuple(round(0.05 + 0.1 * i, 2) for i in range(10))
SEARCH_FILTER = "metrics.loss < 0.5 and params.alpha > 0.3 and status = 'FINISHED'"
MLFLOW_SEARCH_FILTER = " and ".join(
    ["metrics.loss < 0.5", *(f"params.alpha != '{a}'" for a in ALPHAS if a < 0.3)]
    + ["attributes.status = 'FINISHED'"]
)


# -- inputs shared by the contenders ------------------------------------------------------


def metric_values(n: int, seed: int = 1) -> list[float]:
    rng = random.Random(seed)
    return [rng.random() for _ in range(n)]


def metric_rows(calls: int, run_id: str = RUN_ID) -> list[tuple]:
    """(run_id, key, step, value, timestamp) of ``calls`` points spread over the 5 keys."""
    values = metric_values(calls)
    t0 = int(time.time() * 1000)
    return [(run_id, KEYS[i % 5], i // 5, values[i], t0 + i // 1000) for i in range(calls)]


def run_params(i: int) -> dict:
    rng = random.Random(i)
    params = {"alpha": ALPHAS[i % len(ALPHAS)], "optimizer": rng.choice(["adam", "sgd"])}
    for j in range(N_PARAMS - len(params)):
        params[f"p{j}"] = rng.randint(0, 1000)
    return params


def run_metrics(i: int) -> dict:
    rng = random.Random(-1 - i)
    return {k: rng.random() for k in KEYS}


def run_status(i: int) -> str:
    return "FAILED" if i % 10 == 7 else "FINISHED"


# -- raw sqlite3 ------------------------------------------------------------------------

RAW_SCHEMA = """
CREATE TABLE runs (id TEXT PRIMARY KEY, name TEXT, status TEXT NOT NULL,
                   start_time INTEGER NOT NULL, end_time INTEGER);
CREATE TABLE params (run_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
                     PRIMARY KEY (run_id, key)) WITHOUT ROWID;
CREATE TABLE metrics (run_id TEXT NOT NULL, key TEXT NOT NULL, step INTEGER NOT NULL,
                      value REAL, timestamp INTEGER NOT NULL);
CREATE INDEX metrics_by_key ON metrics (run_id, key, step);
"""


def raw_connect(path: Path) -> sqlite3.Connection:
    """The raw contender's database: WAL and synchronous=NORMAL, as jupyter-tracker uses."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.executescript(RAW_SCHEMA)
    return conn


def raw_insert_metrics(conn: sqlite3.Connection, rows: list[tuple]) -> None:
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO metrics (run_id, key, step, value, timestamp) VALUES (?, ?, ?, ?, ?)", rows
    )
    conn.execute("COMMIT")


def db_bytes(db: Path) -> int:
    """Size of a database and its WAL after ``PRAGMA wal_checkpoint(TRUNCATE)``."""
    conn = sqlite3.connect(db, timeout=60)
    busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    conn.close()
    if busy:
        raise RuntimeError(f"checkpoint of {db} did not complete")
    wal = db.with_name(db.name + "-wal")
    return db.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


# -- helpers --------------------------------------------------------------------------


class Scratch:
    """A fresh temporary directory per repetition."""

    def __init__(self, root: Path) -> None:
        self.root, self.n = root, 0

    def new(self) -> Path:
        self.n += 1
        path = self.root / f"rep{self.n}"
        path.mkdir()
        return path


def _jt(store_dir: Path):
    import jupyter_tracker as jt

    jt.set_store(store_dir)
    return jt


def _mlflow(dir_: Path):
    import logging

    logging.getLogger("mlflow").setLevel(logging.ERROR)
    logging.getLogger("alembic").setLevel(logging.ERROR)
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{dir_ / 'mlflow.db'}")
    mlflow.set_experiment("bench")  # creates the schema (alembic), untimed
    return mlflow


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


# -- workloads: each returns (value, unit, extra) from its repetitions' seconds ---------------


def _metric_workload(c: str, spec: dict, scratch: Scratch, rows: list, jt_loop, mlflow_loop):
    """Seconds per repetition of logging ``rows``: through jupyter-tracker (``jt_loop(jt)``
    in one run, flushed by its end), raw ``executemany`` of the same rows, or MLflow."""
    times = []
    for _ in range(spec["reps"]):
        d = scratch.new()
        if c == "jt":
            jt = _jt(d / "store")
            jt.start_run(name="bench")

            def work(jt=jt):
                jt_loop(jt)
                jt.end_run()

        elif c == "raw":
            conn = raw_connect(d / "raw.db")

            def work(conn=conn):
                raw_insert_metrics(conn, rows)

        else:
            mlflow = _mlflow(d)
            mlflow.start_run(run_name="bench")

            def work(mlflow=mlflow):
                mlflow_loop(mlflow)
                mlflow.end_run()

        times.append(_timed(work))
    return times


def log_metric_per_call(c: str, spec: dict, scratch: Scratch) -> dict:
    calls = spec["calls"] if c != "mlflow" else spec["mlflow_calls"]
    rows = metric_rows(calls)
    pairs = [(r[1], r[3]) for r in rows]

    def jt_loop(jt):
        log_metric = jt.log_metric
        for k, v in pairs:
            log_metric(k, v)

    def mlflow_loop(mlflow):
        for i, (k, v) in enumerate(pairs):
            mlflow.log_metric(k, v, step=i // 5)

    times = _metric_workload(c, spec, scratch, rows, jt_loop, mlflow_loop)
    return {"points": calls, "seconds": times, "value": calls / statistics.median(times)}


def log_metrics_batched(c: str, spec: dict, scratch: Scratch) -> dict:
    calls = spec["batches"] if c != "mlflow" else spec["mlflow_batches"]
    rows = metric_rows(calls * 5)
    dicts = [{r[1]: r[3] for r in rows[i * 5 : i * 5 + 5]} for i in range(calls)]

    def jt_loop(jt):
        log_metrics = jt.log_metrics
        for m in dicts:
            log_metrics(m)

    def mlflow_loop(mlflow):
        for i, m in enumerate(dicts):
            mlflow.log_metrics(m, step=i)

    times = _metric_workload(c, spec, scratch, rows, jt_loop, mlflow_loop)
    points = calls * 5
    return {"points": points, "seconds": times, "value": points / statistics.median(times)}


def lifecycle(c: str, spec: dict, scratch: Scratch) -> dict:
    runs = spec["runs"] if c != "mlflow" else spec["mlflow_runs"]
    params = [run_params(i) for i in range(runs)]
    metrics = [run_metrics(i) for i in range(runs)]
    times = []
    for _ in range(spec["reps"]):
        d = scratch.new()
        if c == "jt":
            jt = _jt(d / "store")

            def work(jt=jt):
                for p, m in zip(params, metrics):  # noqa: B905
                    jt.start_run()
                    jt.log_params(p)
                    jt.log_metrics(m)
                    jt.end_run()

        elif c == "raw":
            conn = raw_connect(d / "raw.db")
            t = int(time.time() * 1000)
            ids = [os.urandom(16).hex() for _ in range(runs)]
            rows = [  # built before the clock: only the writes are timed
                (
                    (run_id, "run", t),
                    [(run_id, k, str(v)) for k, v in p.items()],
                    [(run_id, k, v, t) for k, v in m.items()],
                    (t + 1, run_id),
                )
                for run_id, p, m in zip(ids, params, metrics)  # noqa: B905
            ]

            def work(conn=conn, rows=rows):
                for run, param_rows, metric_rows, end in rows:
                    conn.execute("BEGIN IMMEDIATE")
                    conn.execute(
                        "INSERT INTO runs (id, name, status, start_time) "
                        "VALUES (?, ?, 'RUNNING', ?)",
                        run,
                    )
                    conn.executemany(
                        "INSERT INTO params (run_id, key, value) VALUES (?, ?, ?)", param_rows
                    )
                    conn.executemany(
                        "INSERT INTO metrics (run_id, key, step, value, timestamp) "
                        "VALUES (?, ?, 0, ?, ?)",
                        metric_rows,
                    )
                    conn.execute(
                        "UPDATE runs SET status = 'FINISHED', end_time = ? WHERE id = ?", end
                    )
                    conn.execute("COMMIT")

        else:
            mlflow = _mlflow(d)

            def work(mlflow=mlflow):
                for p, m in zip(params, metrics):  # noqa: B905
                    mlflow.start_run()
                    mlflow.log_params(p)
                    mlflow.log_metrics(m)
                    mlflow.end_run()

        times.append(_timed(work))
    return {"runs": runs, "seconds": times, "value": runs / statistics.median(times)}


def build_search_store(spec: dict) -> dict:
    """Setup (untimed): a jupyter-tracker store of ``n`` runs at ``store``, via the fluent API."""
    jt = _jt(Path(spec["store"]))
    t0 = time.perf_counter()
    for i in range(spec["n"]):
        with jt.start_run(
            params=run_params(i), tags={"stage": "dev" if i % 3 else "prod", "seed": i}
        ) as run:
            jt.log_metrics(run_metrics(i))
            if run_status(i) != "FINISHED":
                run.end(run_status(i))
    jt.end_run()
    return {"seconds": time.perf_counter() - t0}


# the filter, hand-written over jupyter-tracker's own tables (the same database jt reads)
_RAW_RUNS = (
    "SELECT r.id, r.name, r.status, e.name, r.start_time, r.end_time FROM runs r "
    "JOIN experiments e ON e.id = r.experiment_id "
    "JOIN series m ON m.run_id = r.id AND m.key = 'loss' "
    "JOIN params p ON p.run_id = r.id AND p.key = 'alpha' "
    "WHERE r.deleted = 0 AND r.status = 'FINISHED' AND m.last_value < 0.5 "
    "AND CAST(p.value AS REAL) > 0.3 ORDER BY r.start_time DESC, r.id"
)
_RAW_VALUES = (
    ("params.", "SELECT run_id, key, value FROM params WHERE run_id IN "),
    ("metrics.", "SELECT run_id, key, last_value FROM series WHERE run_id IN "),
    ("tags.", "SELECT run_id, key, value FROM tags WHERE run_id IN "),
)


def raw_search(db: Path):
    """The hand-written baseline: the filter in SQL, the matching runs' params, metrics and
    tags by run id, pivoted into a DataFrame of columns."""
    import pandas as pd

    conn = sqlite3.connect(db)
    runs = conn.execute(_RAW_RUNS).fetchall()
    names = ("run_id", "name", "status", "experiment", "start_time", "end_time")
    columns = {name: [row[i] for row in runs] for i, name in enumerate(names)}
    index = {row[0]: i for i, row in enumerate(runs)}
    marks = "(" + ",".join("?" * len(runs)) + ")"
    for prefix, select in _RAW_VALUES:
        for rid, key, value in conn.execute(select + marks, list(index)):
            col = columns.get(prefix + key)
            if col is None:
                col = columns[prefix + key] = [None] * len(runs)
            col[index[rid]] = value
    conn.close()
    frame = pd.DataFrame(columns)
    for col in ("start_time", "end_time"):
        frame[col] = pd.to_datetime(frame[col], unit="ms", utc=True)
    return frame


def search(c: str, spec: dict, scratch: Scratch) -> dict:
    import pandas  # noqa: F401  (imported before the clock, for every contender)

    times = []
    if c == "jt":
        jt = _jt(Path(spec["store"]))

        def work():
            return jt.search_runs(filter_string=SEARCH_FILTER)

    elif c == "raw":
        db = Path(spec["store"]) / "store.db"

        def work():
            return raw_search(db)

    else:
        mlflow = _mlflow(scratch.new())
        client = mlflow.MlflowClient()
        exp_id = mlflow.get_experiment_by_name("bench").experiment_id
        from mlflow.entities import Metric, Param, RunTag

        for i in range(spec["n"]):
            run_id = client.create_run(exp_id).info.run_id
            t = int(time.time() * 1000)
            client.log_batch(
                run_id,
                metrics=[Metric(k, v, t, 0) for k, v in run_metrics(i).items()],
                params=[Param(k, str(v)) for k, v in run_params(i).items()],
                tags=[RunTag("stage", "dev" if i % 3 else "prod"), RunTag("seed", str(i))],
            )
            client.set_terminated(run_id, run_status(i))

        def work():
            return mlflow.search_runs(
                experiment_names=["bench"], filter_string=MLFLOW_SEARCH_FILTER, max_results=50000
            )

    rows = None
    for _ in range(spec["reps"]):
        t0 = time.perf_counter()
        frame = work()
        times.append(time.perf_counter() - t0)
        rows = len(frame)
    return {"rows": rows, "runs": spec["n"], "seconds": times, "value": statistics.median(times)}


def bytes_per_point(c: str, spec: dict, scratch: Scratch) -> dict:
    points = spec["points"] if c != "mlflow" else spec["mlflow_points"]
    d = scratch.new()
    rows = metric_rows(points)
    if c == "jt":
        jt = _jt(d / "store")
        jt.start_run(name="bench")
        log_metric = jt.log_metric
        for _, k, _, v, _ in rows:
            log_metric(k, v)
        jt.end_run()
        db = d / "store" / "store.db"
    elif c == "raw":
        db = d / "raw.db"
        conn = raw_connect(db)
        for i in range(0, points, 100_000):
            raw_insert_metrics(conn, rows[i : i + 100_000])
        conn.close()
    else:
        mlflow = _mlflow(d)
        from mlflow.entities import Metric

        client = mlflow.MlflowClient()
        run_id = mlflow.start_run(run_name="bench").info.run_id
        batch = []
        for _, k, step, v, t in rows:
            batch.append(Metric(k, v, t, step))
            if len(batch) == 1000:  # MLflow's log_batch limit
                client.log_batch(run_id, metrics=batch)
                batch = []
        if batch:
            client.log_batch(run_id, metrics=batch)
        mlflow.end_run()
        db = d / "mlflow.db"
    size = db_bytes(db)
    return {"points": points, "bytes": size, "value": size / points}


def heavy_modules(spec: dict) -> dict:
    """Which heavy modules ``import jupyter_tracker`` pulls in (none should be)."""
    import jupyter_tracker  # noqa: F401

    heavy = ("pandas", "numpy", "plotly", "ipywidgets", "IPython", "sqlite_utils", "anywidget")
    return {"loaded": [m for m in heavy if m in sys.modules]}


def open_store(c: str, spec: dict, scratch: Scratch) -> dict:
    """The first run of a project: a new store created and a run started and ended in it,
    against the same in an existing store (each a new Store object, as a new process
    opens it). Only jupyter-tracker: the value is the ratio new / existing."""
    import jupyter_tracker as jt
    from jupyter_tracker.session import session

    existing = scratch.new() / "store"
    jt.set_store(existing)
    with jt.start_run():
        pass
    fresh_s, existing_s = [], []
    for _ in range(spec["store_reps"]):
        for target, times in ((scratch.new() / "store", fresh_s), (existing, existing_s)):
            session().store = None
            t0 = time.perf_counter()
            jt.set_store(target)
            with jt.start_run():
                pass
            times.append(time.perf_counter() - t0)
    fresh, old = statistics.median(fresh_s), statistics.median(existing_s)
    return {"fresh_ms": fresh * 1000, "existing_ms": old * 1000, "value": fresh / old}


WORKLOADS = {
    "open_store": open_store,
    "log_metric": log_metric_per_call,
    "log_metrics": log_metrics_batched,
    "lifecycle": lifecycle,
    "search": search,
    "bytes": bytes_per_point,
}


def main() -> None:
    spec = json.loads(sys.argv[1])
    root = Path(tempfile.mkdtemp(prefix="jt-bench-"))
    os.environ["JUPYTER_TRACKER_STORE"] = str(root / "default-store")
    os.chdir(root)
    try:
        if spec["workload"] == "build_search_store":
            result = build_search_store(spec)
        elif spec["workload"] == "heavy_modules":
            result = heavy_modules(spec)
        else:
            result = WORKLOADS[spec["workload"]](spec["contender"], spec, Scratch(root))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print("BENCH_RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
