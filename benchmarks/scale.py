"""How each view's cost grows with the store: 1k, 10k and 100k runs, and a 10M-point series.

    .venv/bin/python benchmarks/scale.py [--quick] [--sizes 1000,10000,100000]
                                         [--points 10000000] [--reps N] [--keep DIR]
                                         [--json FILE]

Builds stores of each size (5 params, 3 metrics, a tag per run; through the store's own
write API, a chunk of runs per transaction: untimed setup, each in a fresh interpreter) and
one run holding a series of ``--points`` points. Then, in this one process, times every view
on every store, the sizes interleaved within each repetition so that a machine shared with
others slows them alike; each figure is the median of ``--reps`` after a warm-up. The table
shows each view's time per size, the growth from the second-largest to the largest store
(``10k -> 100k``) and the target of issue 13.

The REST row calls ``handlers._runs``, the library function the ``GET runs`` handler calls
with its parsed query (no server is started: the HTTP layer's cost does not grow with the
store). The run table row builds ``jt.runs()``'s widget (count, columns, first page).
``--keep DIR`` keeps the built stores there and reuses them on the next run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

T0 = 1_700_000_000_000
CHUNK = 5_000  # runs per transaction while building
FILTER_60 = "metrics.loss < 0.6"  # loss is uniform in [0, 1): 60% of the runs
TOP_ORDER = "metrics.loss DESC"
FULL = {"sizes": (1_000, 10_000, 100_000), "points": 10_000_000, "reps": 5}
QUICK = {"sizes": (200, 2_000), "points": 200_000, "reps": 2}

# view -> (label, target growth from the second-largest store to the largest, or None)
VIEWS = {
    "top100": ("top-100 page sorted by metrics.loss", 3.0),
    "table": ("run table (jt.runs) first page", 3.0),
    "rest": ("REST GET runs?limit=50 (handlers._runs)", 3.0),
    "filter60": (f"search_runs {FILTER_60!r} (60%) -> DataFrame", 11.0),  # its two calls
    "count": ("count of runs", 3.0),
}


def log(message: str) -> None:
    print(f"[scale {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- building (in a child interpreter) ------------------------------------------------------


def run_params(i: int, rng: random.Random) -> dict:
    return {
        "alpha": round(0.05 + 0.1 * (i % 10), 2),
        "optimizer": rng.choice(["adam", "sgd", "rmsprop"]),
        "layers": rng.randint(1, 8),
        "lr": rng.choice([1e-4, 3e-4, 1e-3, 3e-3]),
        "seed": i,
    }


def build_runs(path: Path, n: int) -> None:
    """``n`` finished runs (one in ten FAILED) with 5 params, 3 metrics and a tag each,
    written through the store's own write API, ``CHUNK`` runs per flush."""
    from jupyter_tracker.store import Store
    from jupyter_tracker.store import runs as writes
    from jupyter_tracker.store._writer import Series, Writer
    from jupyter_tracker.values import param_text

    Store.open(path)
    rng = random.Random(n)
    for start in range(0, n, CHUNK):
        writer = Writer(Store(path))  # one per chunk: it keeps its series until dropped
        for i in range(start, min(n, start + CHUNK)):
            run_id = f"{rng.getrandbits(128):032x}"
            t = T0 + i * 1000
            writes.insert_run(writer, run_id, 0, f"run-{i}", t, None, None)
            for key, value in run_params(i, rng).items():
                writes.set_param(writer, run_id, key, param_text(value))
            writes.set_tag(writer, run_id, "stage", "prod" if i % 3 == 0 else "dev")
            for key, value in (("loss", rng.random()), ("acc", rng.random()), ("f1", rng.random())):
                writer.add_series(Series(run_id, key)).append(0, value, t + 500)
            status = "FAILED" if i % 10 == 7 else "FINISHED"
            writes.record_end(writer, run_id, status, t + 900, None)
        writer.flush_waiting()


def build_series(path: Path, points: int) -> str:
    """One run with one metric of ``points`` points (a noisy falling curve); its id."""
    import jupyter_tracker as jt

    jt.set_store(path)
    rng = random.Random(7)
    with jt.start_run(name="long") as run:
        log_metric = run.log_metric
        for i in range(points):
            log_metric("loss", 1.0 / (1 + i / 1000) + rng.random() * 0.01, step=i)
    return run.id


def db_bytes(db: Path) -> int:
    """Size of a database and its WAL after a full checkpoint."""
    conn = sqlite3.connect(db, timeout=60)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    conn.close()
    wal = db.with_name(db.name + "-wal")
    return db.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def child(spec: dict) -> dict:
    path = Path(spec["path"])
    t0 = time.perf_counter()
    if spec["kind"] == "runs":
        build_runs(path, spec["n"])
        out: dict = {}
    else:
        out = {"run_id": build_series(path, spec["n"])}
    out["seconds"] = time.perf_counter() - t0
    out["bytes"] = db_bytes(path / "store.db")
    return out


def build(spec: dict) -> dict:
    """Build one store in a fresh interpreter (or reuse a kept one); its build report."""
    path = Path(spec["path"])
    done = path / "built.json"
    if done.exists() and json.loads(done.read_text()).get("spec") == spec:
        return json.loads(done.read_text())["result"]
    shutil.rmtree(path, ignore_errors=True)
    log(f"building {spec['kind']} x {spec['n']:,} in {path}")
    proc = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(spec)], capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise SystemExit(f"building {spec} failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    done.write_text(json.dumps({"spec": spec, "result": result}))
    return result


# -- the views (in this process) ------------------------------------------------------------


def views(store) -> dict:
    """Each view as a callable on ``store``; what it returns is checked after timing."""
    from jupyter_tracker.dataframes import runs_frame
    from jupyter_tracker.panels.table import RunTable
    from jupyter_tracker.server.handlers import _runs
    from jupyter_tracker.store import queries

    def table():
        t = RunTable(store=store)
        rows = len(t.rows)
        t.close()
        return rows

    return {
        "top100": lambda: len(queries.records(store, order_by=TOP_ORDER, limit=100)),
        "table": table,
        "rest": lambda: len(
            _runs(
                store,
                {
                    "filter": None,
                    "order_by": None,
                    "experiment": None,
                    "view": "active",
                    "after": None,
                    "limit": 50,
                },
            )["runs"]
        ),
        "filter60": lambda: len(
            runs_frame(store, queries.run_columns(store, FILTER_60, system_tags=True))
        ),
        "count": lambda: queries.count_runs(store),
    }


def timed(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def measure_runs(paths: dict[int, Path], reps: int) -> dict:
    """{view: {size: {"seconds": [...], "value": median, "rows": ...}}}."""
    from jupyter_tracker.store import Store

    stores = {n: Store.open(p) for n, p in paths.items()}
    fns = {n: views(s) for n, s in stores.items()}
    out: dict = {v: {n: {"seconds": []} for n in paths} for v in VIEWS}
    for view in VIEWS:
        log(f"timing {view}")
        for n in paths:
            out[view][n]["rows"] = fns[n][view]()  # warm-up (and what it returns)
        for _ in range(reps):
            for n in paths:
                seconds, _ = timed(fns[n][view])
                out[view][n]["seconds"].append(seconds)
        for n in paths:
            out[view][n]["value"] = statistics.median(out[view][n]["seconds"])
    return out


def measure_series(path: Path, run_id: str, reps: int) -> dict:
    from jupyter_tracker.store import Store, queries

    store = Store.open(path)
    read, down = [], []
    for _ in range(max(1, reps // 2)):
        seconds, (steps, _, _) = timed(lambda: queries.metric_points(store, run_id, "loss"))
        read.append(seconds)
        points = len(steps)
        del steps
    shown = 0
    for _ in range(reps + 1):
        seconds, curve = timed(lambda: queries.downsampled_points(store, run_id, "loss"))
        down.append(seconds)
        shown = len(curve[0])
    read_s, down_s = statistics.median(read), statistics.median(down[1:])
    return {
        "points": points,
        "shown": shown,
        "read_s": read_s,
        "downsampled_s": down_s,
        "value": down_s / read_s,
    }


# -- the table ------------------------------------------------------------------------------


def fmt_s(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def fmt_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return ""


def table_rows(results: dict, sizes: tuple[int, ...]) -> list[list[str]]:
    small, big = sizes[-2], sizes[-1]
    rows = []
    for view, (label, target) in VIEWS.items():
        r = results["runs"][view]
        growth = r[big]["value"] / r[small]["value"]
        rows.append(
            [
                label,
                *(fmt_s(r[n]["value"]) for n in sizes),
                f"{growth:.2f}x",
                "-" if target is None else f"<= {target:g}x",
                "n/a" if target is None else ("PASS" if growth <= target else "MISS"),
            ]
        )
    rows.append(
        [
            "size on disk (store.db, per run)",
            *(
                f"{fmt_bytes(results['build'][n]['bytes'])} "
                f"({results['build'][n]['bytes'] / n:,.0f} B)"
                for n in sizes
            ),
            f"{results['build'][big]['bytes'] / results['build'][small]['bytes']:.2f}x",
            "-",
            "n/a",
        ]
    )
    s = results["series"]
    rows.append(
        [
            f"{s['points']:,}-point series: downsampled ({s['shown']:,} pts) / read once",
            *([""] * (len(sizes) - 1)),
            f"{fmt_s(s['downsampled_s'])} / {fmt_s(s['read_s'])}",
            f"1/{1 / s['value']:.0f}",
            "<= 1/20",
            "PASS" if s["value"] <= 1 / 20 else "MISS",
        ]
    )
    rows.append(
        [
            f"{s['points']:,}-point series on disk",
            *([""] * (len(sizes) - 1)),
            f"{fmt_bytes(s['bytes'])} ({s['bytes'] / s['points']:.1f} B/pt)",
            "-",
            "-",
            "n/a",
        ]
    )
    return rows


def render(rows: list[list[str]], sizes: tuple[int, ...]) -> str:
    head = ["view", *(f"{n:,} runs" for n in sizes), f"{sizes[-2]:,} -> {sizes[-1]:,}"]
    head += ["target", "result"]
    table = [head, *rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(head))]
    out = []
    for i, r in enumerate(table):
        out.append(" | ".join(f"{c:<{w}}" for c, w in zip(r, widths, strict=True)))
        if i == 0:
            out.append("-+-".join("-" * w for w in widths))
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small stores: a smoke run")
    ap.add_argument("--sizes", help="comma-separated store sizes in runs (at least two)")
    ap.add_argument("--points", type=int, help="points of the long series")
    ap.add_argument("--reps", type=int, help="timed repetitions per view and size")
    ap.add_argument("--keep", type=Path, help="build the stores here and reuse them next time")
    ap.add_argument("--json", type=Path, help="also write the results to this JSON file")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return 0
    cfg = dict(QUICK if args.quick else FULL)
    if args.sizes:
        cfg["sizes"] = tuple(int(s) for s in args.sizes.split(","))
    if args.points:
        cfg["points"] = args.points
    if args.reps:
        cfg["reps"] = args.reps
    sizes = tuple(sorted(cfg["sizes"]))
    if len(sizes) < 2:
        ap.error("--sizes needs at least two sizes")
    root = args.keep or Path(tempfile.mkdtemp(prefix="jt-bench-scale-"))
    root.mkdir(parents=True, exist_ok=True)
    os.environ["JUPYTER_TRACKER_STORE"] = str(root / "default-store")
    load0, t0 = os.getloadavg(), time.time()
    results: dict = {"config": {**cfg, "sizes": sizes}}
    try:
        results["build"] = {
            n: build({"kind": "runs", "n": n, "path": str(root / f"runs-{n}")}) for n in sizes
        }
        series = build({"kind": "series", "n": cfg["points"], "path": str(root / "series")})
        paths = {n: root / f"runs-{n}" for n in sizes}
        results["runs"] = measure_runs(paths, cfg["reps"])
        log("timing the long series")
        results["series"] = {
            **measure_series(root / "series", series["run_id"], cfg["reps"]),
            "bytes": series["bytes"],
        }
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    rows = table_rows(results, sizes)
    load1 = os.getloadavg()
    print(
        f"jupyter-tracker at scale{' (--quick)' if args.quick else ''}: SQLite "
        f"{sqlite3.sqlite_version}, {os.cpu_count()} CPUs, load average {load0[0]:.2f} -> "
        f"{load1[0]:.2f}; {time.time() - t0:.0f} s. Medians of {cfg['reps']} repetitions, "
        "sizes interleaved; builds (untimed): "
        + ", ".join(f"{n:,} runs {results['build'][n]['seconds']:.0f} s" for n in sizes)
    )
    print(render(rows, sizes))
    for view in VIEWS:  # each store answers with as many rows as its size says
        got = {n: results["runs"][view][n]["rows"] for n in sizes}
        if view == "filter60" and not all(0.5 < got[n] / n < 0.7 for n in sizes):
            print(f"WARNING: {view} returned {got}")
    if args.json:
        results["table"] = rows
        args.json.write_text(json.dumps(results, indent=2, default=str))
    return 0 if all(math.isfinite(results["runs"][v][sizes[-1]]["value"]) for v in VIEWS) else 1


if __name__ == "__main__":
    sys.exit(main())
