"""The inline panels against the reads they stand on (issue 4's targets).

    .venv/bin/python benchmarks/panels.py [--quick] [--reps N]

1. Run table: building ``jt.runs()`` on a store of 10,000 runs x 20 params x 10 metrics
   against ``jt.search_runs()`` on the same store (target <= 2x), and the bytes the first
   page sends to the browser: every widget's state (JSON and binary buffers, the table's
   ES module and CSS included) plus the HTML and text fallbacks (target < 1 MB).
2. Curve: ``jt.plot`` of a 1,000,000-point metric against reading the series once with
   ``jt.metric_history`` (target <= 1x), and the bytes the figure sends against the raw
   series (8-byte step + 8-byte value per point; target <= 1/100). The FigureWidget's
   plotly.js bundle (the same ~5 MB for every FigureWidget, Plotly's own) is shown apart.

Stores are built with direct SQL (untimed setup) in a temporary directory; every figure is
the median of several repetitions after a warm-up (imports excluded).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jupyter_tracker as jt  # noqa: E402
from jupyter_tracker.store import Store  # noqa: E402

T0 = 1_700_000_000_000


def build_table_store(path: Path, runs: int, params: int, metrics: int) -> Store:
    """``runs`` finished runs with ``params`` params, ``metrics`` metrics and 2 tags each."""
    store = Store.open(path)
    with store.write() as conn:
        conn.executemany(
            "INSERT INTO runs (id, experiment_id, name, status, start_time, end_time) "
            "VALUES (?, 0, ?, ?, ?, ?)",
            [
                (
                    f"{i:032x}",
                    f"run-{i}",
                    "FAILED" if i % 7 == 0 else "FINISHED",
                    T0 + i,
                    T0 + i + 9,
                )
                for i in range(runs)
            ],
        )
        conn.executemany(
            "INSERT INTO params (run_id, key, value, type, num) VALUES (?, ?, ?, 'float', ?)",
            [
                (f"{i:032x}", f"param_{j:02d}", str(v), v)
                for i in range(runs)
                for j in range(params)
                for v in [round((i * 31 + j * 17) % 1000 / 1000, 3)]
            ],
        )
        conn.executemany(
            "INSERT INTO series (run_id, key, count, last_step, last_value, last_time, min, max) "
            "VALUES (?, ?, 100, 99, ?, ?, 0, 1)",
            [
                (f"{i:032x}", f"metric_{j:02d}", ((i * 13 + j) % 997) / 997, T0)
                for i in range(runs)
                for j in range(metrics)
            ],
        )
        conn.executemany(
            "INSERT INTO tags (run_id, key, value) VALUES (?, ?, ?)",
            [(f"{i:032x}", k, f"{k}-{i % 5}") for i in range(runs) for k in ("stage", "owner")],
        )
    return store


def build_curve_store(path: Path, points: int) -> tuple[Store, str]:
    """One run with a ``points``-point ``loss``: a decay, noise, a spike and a NaN hole."""
    store = Store.open(path)
    run_id = "c" * 32
    rows = []
    for i in range(points):
        value = math.exp(-i / (points / 3)) + 0.05 * ((i * 7919) % 1000) / 1000
        if i == points // 8:
            value = 50.0
        if points // 2 <= i < points // 2 + 300:
            value = None
        rows.append((1, i, i, value, T0 + i))
    finite = [r[3] for r in rows if r[3] is not None]
    with store.write() as conn:
        conn.execute(
            "INSERT INTO runs (id, experiment_id, name, status, start_time, end_time) "
            "VALUES (?, 0, 'curve', 'FINISHED', ?, ?)",
            (run_id, T0, T0 + points),
        )
        conn.execute(
            "INSERT INTO series (id, run_id, key, count, last_step, last_value, last_time, "
            "min, max) VALUES (1, ?, 'loss', ?, ?, ?, ?, ?, ?)",
            (run_id, points, points - 1, rows[-1][3], T0 + points - 1, min(finite), max(finite)),
        )
        conn.executemany(
            "INSERT INTO points (series_id, seq, step, value, time) VALUES (?, ?, ?, ?, ?)", rows
        )
    return store, run_id


def timed(fn, reps: int) -> tuple[float, object]:
    fn()  # warm-up: imports, caches
    times, result = [], None
    for _ in range(reps):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def widget_bytes(widget, skip: tuple[str, ...] = ()) -> tuple[int, int]:
    """(state bytes, skipped-trait bytes) of ``widget`` and every widget it holds."""
    import ipywidgets as widgets
    from ipywidgets.widgets.widget import _remove_buffers

    total = skipped = 0
    seen, todo = set(), [widget]
    while todo:
        w = todo.pop()
        if w.model_id in seen:
            continue
        seen.add(w.model_id)
        state, _, buffers = _remove_buffers(w.get_state())
        for key in skip:
            if key in state:
                skipped += len(json.dumps(state.pop(key)))
        total += len(json.dumps(state, default=str)) + sum(memoryview(b).nbytes for b in buffers)
        for key in w.keys:
            value = getattr(w, key)
            for child in value if isinstance(value, (list, tuple)) else [value]:
                if isinstance(child, widgets.Widget):
                    todo.append(child)
    return total, skipped


def bundle_bytes(bundle: dict) -> int:
    return sum(len(json.dumps(v)) for k, v in bundle.items() if not k.endswith("widget-view+json"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 runs, 100,000 points")
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    runs, points = (1_000, 100_000) if args.quick else (10_000, 1_000_000)

    from jupyter_tracker.panels import curves, table

    table.has_frontend = curves.has_frontend = lambda: True  # measure what a notebook gets
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t = time.perf_counter()
        store = build_table_store(tmp / "table", runs, 20, 10)
        print(f"setup: {runs:,} runs x 20 params x 10 metrics in {time.perf_counter() - t:.1f}s")
        jt.set_store(store.path)

        search_s, frame = timed(lambda: jt.search_runs(), args.reps)
        table_s, widget = timed(lambda: jt.runs(), args.reps)
        df_s, _ = timed(lambda: jt.runs().df, args.reps)
        assert len(frame) == runs == widget.total
        bundle = widget._repr_mimebundle_()
        state, _ = widget_bytes(widget.panel)
        first_page = state + bundle_bytes(bundle)
        rows += [
            ("search_runs, all runs (s)", search_s, None, ""),
            (
                "jt.runs() build: count, columns, first page (s)",
                table_s,
                table_s / search_s,
                "<= 2x",
            ),
            ("jt.runs().df: the table and every run's row (s)", df_s, df_s / search_s, "(info)"),
            ("first page sent: widget state + fallbacks (bytes)", first_page, None, "< 1 MB"),
        ]
        page_ok = first_page < 1_000_000

        t = time.perf_counter()
        store, run_id = build_curve_store(tmp / "curve", points)
        print(f"setup: one {points:,}-point metric in {time.perf_counter() - t:.1f}s")
        jt.set_store(store.path)
        read_s, history = timed(lambda: jt.metric_history(run_id, "loss"), args.reps)
        assert len(history) == points
        static_s, fig = timed(lambda: curves.plot([run_id], widget=False), args.reps)
        widget_s, fw = timed(lambda: curves.plot([run_id], widget=True), args.reps)
        fw_bundle = fw._repr_mimebundle_()
        sent, plotly_js = widget_bytes(fw, skip=("_esm",))
        sent += bundle_bytes(fw_bundle)
        static_sent = len(fig.to_json())
        raw_binary = points * 16
        raw_json = len(
            json.dumps({"step": list(range(points)), "value": history["value"].fillna(0).tolist()})
        )
        drawn = len(fig.data[0].y)
        rows += [
            ("metric_history, 1M points (s)", read_s, None, ""),
            ("jt.plot -> Figure (s)", static_s, static_s / read_s, "<= 1x"),
            ("jt.plot -> FigureWidget, in a notebook (s)", widget_s, widget_s / read_s, "<= 1x"),
            (f"points per trace sent (of {points:,})", drawn, drawn / points, "few 1000s"),
            (
                "FigureWidget sends: data, layout, fallbacks (bytes)",
                sent,
                sent / raw_binary,
                "<= 1/100",
            ),
            (
                "Figure JSON, plotly mimetype (bytes)",
                static_sent,
                static_sent / raw_binary,
                "<= 1/100",
            ),
            ("raw series, 16 bytes/point (bytes)", raw_binary, None, ""),
            ("raw series as JSON (bytes)", raw_json, None, ""),
            (
                "FigureWidget's plotly.js ES module, per widget (bytes)",
                plotly_js,
                None,
                "(Plotly's)",
            ),
        ]
        curve_ok = widget_s <= read_s and sent * 100 <= raw_binary and static_s <= read_s

    print(f"\nload average {os.getloadavg()[0]:.2f} · median of {args.reps} after a warm-up\n")
    width = max(len(r[0]) for r in rows)
    print(f"{'measure'.ljust(width)}  {'value':>12}  {'ratio':>9}  target")
    for name, value, ratio, target in rows:
        shown = f"{value:.3f}" if isinstance(value, float) else f"{value:,}"
        ratio_text = (
            "" if ratio is None else (f"1/{1 / ratio:.0f}" if ratio < 0.1 else f"{ratio:.2f}x")
        )
        print(f"{name.ljust(width)}  {shown:>12}  {ratio_text:>9}  {target}")
    table_ok = table_s <= 2 * search_s
    print(
        "\nrun table "
        + ("PASS" if table_ok and page_ok else "MISS")
        + " · curve "
        + ("PASS" if curve_ok else "MISS")
    )


if __name__ == "__main__":
    main()
