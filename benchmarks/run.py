"""jupyter-tracker against raw sqlite3 (and MLflow's sqlite store, when available).

    .venv/bin/python benchmarks/run.py [--quick] [--only NAME[,NAME]] [--json FILE]
                                       [--mlflow-python PATH] [--strict]

Prints one table: each workload's figure for every contender, the ratio and the target
(issues 2 and 13) with PASS/MISS. Only the work is timed: inputs (rows, dicts) are built
before the clock, for every contender; jupyter-tracker's figures include the final flush.
Every workload runs in a fresh interpreter per contender (see ``_workloads.py``) with fresh
temporary stores, the contenders taking turns over several rounds; the figure is the median
of the rounds, each the median of several repetitions. The machine may be shared: the load
average is printed with the table.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORKER = HERE / "_workloads.py"
NAMES = ("log_metric", "log_metrics", "lifecycle", "open_store", "search", "import", "bytes")

FULL = {
    "reps": 5,
    "rounds": 3,
    "mlflow_reps": 3,
    "calls": 100_000,
    "mlflow_calls": 500,
    "batches": 4_000,
    "mlflow_batches": 200,
    "runs": 300,
    "mlflow_runs": 50,
    "search_sizes": (1_000, 10_000),
    "search_reps": 7,
    "import_reps": 15,
    "store_reps": 15,
    "points": 1_000_000,
    "mlflow_points": 100_000,
}
QUICK = {
    "reps": 2,
    "rounds": 1,
    "mlflow_reps": 1,
    "calls": 2_000,
    "mlflow_calls": 50,
    "batches": 400,
    "mlflow_batches": 10,
    "runs": 30,
    "mlflow_runs": 5,
    "search_sizes": (100, 1_000),
    "search_reps": 3,
    "import_reps": 3,
    "store_reps": 3,
    "points": 20_000,
    "mlflow_points": 2_000,
}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Contenders:
    def __init__(self, mlflow_python: str | None) -> None:
        self.python = sys.executable
        self.mlflow = mlflow_python
        if self.mlflow is None and importlib.util.find_spec("mlflow") is not None:
            self.mlflow = sys.executable
        self.mlflow_version = None
        if self.mlflow:
            out = subprocess.run(
                [self.mlflow, "-c", "import mlflow; print(mlflow.__version__)"],
                capture_output=True,
                text=True,
            )
            if out.returncode == 0:
                self.mlflow_version = out.stdout.strip().splitlines()[-1]
            else:
                log(f"mlflow not importable with {self.mlflow}: {out.stderr.strip()[-300:]}")
                self.mlflow = None

    def names(self) -> list[str]:
        return ["jt", "raw"] + (["mlflow"] if self.mlflow else [])

    def interpreter(self, contender: str) -> str:
        return self.mlflow if contender == "mlflow" else self.python


ENV: dict[str, str] = {}


def child_env(tmp: Path) -> None:
    """The environment of every child: bytecode cached (as an installed package has it) in
    the run's temporary directory, so the repository gets no __pycache__ and an inherited
    PYTHONDONTWRITEBYTECODE does not turn "import time" into "compile time"."""
    ENV.clear()
    ENV.update(os.environ, PYTHONPYCACHEPREFIX=str(tmp / "pycache"))
    ENV.update(MLFLOW_ENABLE_ASYNC_LOGGING="false")
    ENV.pop("PYTHONDONTWRITEBYTECODE", None)


def run_worker(python: str, spec: dict) -> dict:
    """One workload in a fresh interpreter; its result dict (or {"error": ...})."""
    proc = subprocess.run(
        [python, str(WORKER), json.dumps(spec)], capture_output=True, text=True, env=ENV
    )
    for line in proc.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            return json.loads(line[len("BENCH_RESULT ") :])
    log(f"{spec['workload']}/{spec.get('contender')} failed:\n{proc.stderr[-2000:]}")
    return {"error": (proc.stderr.strip().splitlines() or ["no output"])[-1][:200]}


def bench_simple(name: str, cfg: dict, who: Contenders) -> dict:
    """Each contender's figure: the median over ``rounds`` rounds that take turns (jt, raw,
    jt, raw...), so a machine whose load shifts during the run weighs on both alike."""
    rounds: dict[str, list[dict]] = {c: [] for c in who.names()}
    for i in range(cfg["rounds"]):
        for c in who.names():
            if c == "mlflow" and i:
                continue  # MLflow is the slow reference: one round
            spec = dict(cfg, workload=name, contender=c)
            if c == "mlflow":
                spec["reps"] = cfg["mlflow_reps"]
            log(f"{name}: {c} (round {i + 1})")
            rounds[c].append(run_worker(who.interpreter(c), spec))
    out = {}
    for c, results in rounds.items():
        good = [r for r in results if "value" in r]
        out[c] = (
            dict(good[0], value=statistics.median(r["value"] for r in good)) if good else results[0]
        )
        out[c]["rounds"] = [r.get("value") for r in results]
    return out


def bench_search(cfg: dict, who: Contenders, tmp: Path) -> dict:
    out: dict = {}
    for n in cfg["search_sizes"]:
        store = tmp / f"search-{n}"
        log(f"search: building a {n:,}-run store (setup, untimed)")
        spec = {"workload": "build_search_store", "store": str(store), "n": n}
        build = run_worker(who.python, spec)
        res = {"build": build}
        for c in who.names():
            if c == "mlflow" and n != cfg["search_sizes"][0]:
                res[c] = {"skipped": "setup too slow"}
                continue
            spec = {"workload": "search", "contender": c, "store": str(store), "n": n}
            spec["reps"] = cfg["search_reps"] if c != "mlflow" else cfg["mlflow_reps"] + 2
            log(f"search {n:,}: {c}")
            res[c] = run_worker(who.interpreter(c), spec)
        out[n] = res
    return out


def bench_import(cfg: dict, who: Contenders, tmp: Path) -> dict:
    cmds = {"pass": (who.python, "pass"), "jt": (who.python, "import jupyter_tracker")}
    cmds["raw"] = (who.python, "import sqlite3")
    if who.mlflow:
        cmds["mlflow_pass"] = (who.mlflow, "pass")
        cmds["mlflow"] = (who.mlflow, "import mlflow")
    times: dict[str, list[float]] = {k: [] for k in cmds}
    log(f"import: {cfg['import_reps']} fresh interpreters per command, interleaved")
    for _ in range(cfg["import_reps"] + 1):
        for key, (python, code) in cmds.items():
            t0 = time.perf_counter()
            subprocess.run([python, "-c", code], cwd=tmp, env=ENV, check=True)
            times[key].append(time.perf_counter() - t0)
    times = {k: v[1:] for k, v in times.items()}  # the first round warms the caches
    med = {k: statistics.median(v) for k, v in times.items()}
    out: dict = {"seconds": times}
    out["jt"] = {"value": (med["jt"] - med["pass"]) * 1000}
    out["raw"] = {"value": (med["raw"] - med["pass"]) * 1000}
    if who.mlflow:
        out["mlflow"] = {"value": (med["mlflow"] - med["mlflow_pass"]) * 1000}
    out["bare_ms"] = med["pass"] * 1000
    out["heavy"] = run_worker(who.python, {"workload": "heavy_modules"}).get("loaded")
    return out


# -- the table -----------------------------------------------------------------------------


def fmt_rate(r: dict | None, unit: str = "") -> str:
    if r is None:
        return "not installed"
    if "error" in r:
        return "error"
    if "skipped" in r:
        return "not run"
    return f"{r['value']:,.0f}{unit}"


def fmt_ms(r: dict | None, key: str = "value", scale: float = 1000) -> str:
    if r is None:
        return "not installed"
    if "error" in r:
        return "error"
    if "skipped" in r:
        return "not run"
    return f"{r[key] * scale:,.1f} ms"


def div(a: dict | None, b: dict | None) -> float | None:
    """a's value / b's value, when both were measured."""
    return a["value"] / b["value"] if ok(a) and ok(b) else None


def ok(r: dict | None) -> bool:
    return r is not None and "value" in r


def verdict(good: bool | None) -> str:
    return "n/a" if good is None else ("PASS" if good else "MISS")


def build_rows(results: dict, cfg: dict, who: Contenders) -> list[list[str]]:
    rows = []
    ml = None if not who.mlflow else "mlflow"

    for name, label, size, target in (
        ("log_metric", "log_metric per call", f"{cfg['calls']:,} pts, 5 keys", 0.6),
        ("log_metrics", "log_metrics batched", f"{cfg['batches']:,} x 5 keys", 0.4),
    ):
        if name not in results:
            continue
        r = results[name]
        m = r.get(ml) if ml else None
        mtext = fmt_rate(m, " pts/s") + (f" ({m['points']:,} pts)" if ok(m) else "")
        ratio = r["jt"]["value"] / r["raw"]["value"] if ok(r["jt"]) and ok(r["raw"]) else None
        rows.append(
            [
                f"{label} ({size}), flushed",
                fmt_rate(r["jt"], " pts/s"),
                fmt_rate(r["raw"], " pts/s"),
                mtext,
                "-" if ratio is None else f"jt/raw {ratio:.2f}x",
                f">= {target}x raw",
                verdict(None if ratio is None else ratio >= target),
            ]
        )

    if "lifecycle" in results:
        r = results["lifecycle"]
        m = r.get(ml) if ml else None

        def cell(x):
            if not ok(x):
                return fmt_rate(x)
            return f"{x['value']:,.0f} runs/s ({1000 / x['value']:.2f} ms)"

        ratio = r["raw"]["value"] / r["jt"]["value"] if ok(r["jt"]) and ok(r["raw"]) else None
        rows.append(
            [
                f"run lifecycle (start, 10 params, 5 metrics, end) x {cfg['runs']}",
                cell(r["jt"]),
                cell(r["raw"]),
                cell(m) + (f" ({m['runs']} runs)" if ok(m) else ""),
                "-" if ratio is None else f"cost jt/raw {ratio:.2f}x",
                "<= 3x raw cost",
                verdict(None if ratio is None else ratio <= 3),
            ]
        )

    if "open_store" in results:
        r = results["open_store"]["jt"]
        rows.append(
            [
                "first run in a new store vs in an existing one (start+end)",
                f"{r['fresh_ms']:.1f} ms vs {r['existing_ms']:.1f} ms" if ok(r) else fmt_rate(r),
                "-",
                "-",
                f"new/existing {r['value']:.1f}x" if ok(r) else "-",
                "<= 5x (was ~0.7 s vs ms)",
                verdict(None if not ok(r) else r["value"] <= 5),
            ]
        )

    if "search" in results:
        small, big = cfg["search_sizes"]
        s, b = results["search"][small], results["search"][big]
        for n, r in ((small, s), (big, b)):
            m = r.get(ml) if ml else None
            if n == small:
                ratio = div(r["jt"], r["raw"])
                rtext = "-" if ratio is None else f"jt/raw {ratio:.2f}x"
                target, good = "<= 3x raw", None if ratio is None else ratio <= 3
            else:
                ratio = r["jt"]["value"] / s["jt"]["value"] if ok(r["jt"]) and ok(s["jt"]) else None
                raw_ratio = (
                    r["raw"]["value"] / s["raw"]["value"] if ok(r["raw"]) and ok(s["raw"]) else None
                )
                rtext = "-" if ratio is None else f"jt {big // small}x runs: {ratio:.1f}x time"
                if raw_ratio is not None:
                    rtext += f" (raw {raw_ratio:.1f}x)"
                if ok(r["jt"]) and ok(r["raw"]):
                    rtext += f"; jt/raw {r['jt']['value'] / r['raw']['value']:.2f}x"
                target, good = f"<= 12x the {small:,} time", None if ratio is None else ratio <= 12
            hits = f" [{r['jt']['rows']} rows]" if ok(r["jt"]) else ""
            rows.append(
                [
                    f"search_runs filter -> DataFrame, {n:,} runs{hits}",
                    fmt_ms(r["jt"]),
                    fmt_ms(r["raw"]),
                    fmt_ms(m),
                    rtext,
                    target,
                    verdict(good),
                ]
            )

    if "import" in results:
        r = results["import"]
        heavy = r["heavy"] or []
        light = not any(h in heavy for h in ("pandas", "plotly", "ipywidgets"))
        rows.append(
            [
                f"cold import, ms added to `python -c pass` ({r['bare_ms']:.0f} ms)",
                f"{r['jt']['value']:.1f} ms" + ("" if not heavy else f" (loads {','.join(heavy)})"),
                f"{r['raw']['value']:.1f} ms (import sqlite3)",
                f"{r['mlflow']['value']:.0f} ms" if "mlflow" in r else "not installed",
                "-",
                "<= 60 ms; no pandas/plotly/ipywidgets",
                verdict(r["jt"]["value"] <= 60 and light),
            ]
        )

    if "bytes" in results:
        r = results["bytes"]
        m = r.get(ml) if ml else None

        def cell(x):
            return f"{x['value']:.1f} B/pt" if ok(x) else fmt_rate(x)

        ratio = r["jt"]["value"] / r["raw"]["value"] if ok(r["jt"]) and ok(r["raw"]) else None
        rows.append(
            [
                f"bytes on disk per metric point, {cfg['points']:,} pts",
                cell(r["jt"]),
                cell(r["raw"]),
                cell(m) + (f" (at {m['points']:,} pts)" if ok(m) else ""),
                "-" if ratio is None else f"jt/raw {ratio:.2f}x",
                "<= 40 B/pt",
                verdict(None if not ok(r["jt"]) else r["jt"]["value"] <= 40),
            ]
        )
    return rows


def render(rows: list[list[str]]) -> str:
    head = ["workload", "jupyter-tracker", "raw sqlite3", "MLflow (sqlite:///)", "ratio", "target"]
    head.append("result")
    table = [head, *rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(head))]
    line = "+".join("-" * (w + 2) for w in widths)
    out = []
    for i, r in enumerate(table):
        out.append("|".join(f" {c:<{w}} " for c, w in zip(r, widths, strict=True)))
        if i == 0:
            out.append(line)
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes: a smoke run (~1 min)")
    ap.add_argument("--only", action="append", help=f"run only these ({', '.join(NAMES)})")
    ap.add_argument("--json", type=Path, help="also write the results to this JSON file")
    ap.add_argument("--mlflow-python", help="interpreter with mlflow installed, for its column")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = ap.parse_args(argv)
    only = [n for o in args.only or [] for n in o.split(",") if n] or list(NAMES)
    unknown = sorted(set(only) - set(NAMES))
    if unknown:
        ap.error(f"unknown workload {', '.join(unknown)}; choose from {', '.join(NAMES)}")
    cfg = QUICK if args.quick else FULL
    who = Contenders(args.mlflow_python)
    load0 = os.getloadavg()
    t0 = time.time()
    tmp = Path(tempfile.mkdtemp(prefix="jt-bench-run-"))
    child_env(tmp)
    results: dict = {}
    try:
        for name in NAMES:
            if name not in only:
                continue
            if name == "search":
                results[name] = bench_search(cfg, who, tmp)
            elif name == "open_store":
                spec = dict(cfg, workload=name, contender="jt")
                log("open_store: jt")
                results[name] = {"jt": run_worker(who.python, spec)}
            elif name == "import":
                results[name] = bench_import(cfg, who, tmp)
            else:  # the size on disk is no timing: one round
                results[name] = bench_simple(
                    name, dict(cfg, rounds=1) if name == "bytes" else cfg, who
                )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    load1 = os.getloadavg()
    rows = build_rows(results, cfg, who)
    print(
        f"jupyter-tracker benchmarks{' (--quick)' if args.quick else ''}: Python "
        f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}, {os.cpu_count()} CPUs, "
        f"MLflow {who.mlflow_version or 'not installed'}; load average "
        f"{load0[0]:.2f} -> {load1[0]:.2f}; {time.time() - t0:.0f} s"
    )
    print(
        "Medians of repetitions, each contender in its own fresh interpreter and fresh store; "
        "raw sqlite3 = executemany into an indexed table, WAL, synchronous=NORMAL, committed; "
        "imports with bytecode cached."
    )
    print(render(rows))
    if "search" in results:
        for n, r in results["search"].items():
            counts = {c: r[c].get("rows") for c in ("jt", "raw", "mlflow") if c in r}
            if len({v for v in counts.values() if v is not None}) > 1:
                print(f"WARNING: search over {n:,} runs returned different row counts: {counts}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {"config": cfg, "quick": args.quick, "results": results, "table": rows},
                indent=2,
                default=str,
            )
        )
    missed = [r[0] for r in rows if r[-1] == "MISS"]
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
