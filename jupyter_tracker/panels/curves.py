"""Metric curves: Plotly figures of runs' metrics, one trace per run and metric.

A series longer than a trace's budget is downsampled in SQLite
(``queries.downsampled_points``: each bucket's min and max, and a gap where it holds NaN),
so a million-point metric costs a few thousand points in the browser and keeps its spikes,
its global extremes and its holes. Arrays travel as Plotly's typed arrays (base64).

In a notebook the figure is a FigureWidget: while one of its runs is RUNNING, a thread
extends its curves every ``POLL_INTERVAL_S`` seconds, and stops when none runs any more.

The figure carries its own controls, so they work in a saved notebook too: a smoothing
slider (exponential moving average, precomputed per level over the drawn points) and a
linear/log toggle. Its template (``render.charts.plotly_template``) reads in light and dark
themes. By time, points logged within one millisecond (one clock reading for many steps)
are spread evenly up to the next reading (``spread_ties``), so a fast loop draws a curve,
not a comb of vertical spikes. Every label made from user text goes through
``render.html.esc_plotly``; user text never reaches a hover template (where ``%{...}``
would be interpreted).
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import tracking
from ..errors import InvalidInputError
from ..model import RunRecord
from ..render import charts
from ..render.colors import MUTED, run_color
from ..render.formats import fmt_number
from ..render.html import PANEL_TEXT, esc, esc_plotly
from ..store import queries
from ..system_metrics import shown_order
from . import has_frontend

if TYPE_CHECKING:
    import numpy as np
    import plotly.graph_objects as go

    from ..store import Store

MAX_TRACE_POINTS = 3000  # points sent per trace, at most (a longer series: exactly this many)
MIN_TRACE_POINTS = 200
FIGURE_POINTS = 30_000  # shared by the traces of one figure (each gets MIN_TRACE_POINTS)
SMOOTHING = (0.0, 0.6, 0.8, 0.9, 0.95, 0.99)
MAX_DEFAULT_METRICS = 12
X_MODES = {"step": "step", "time": "time", "relative": "seconds since the run started"}
ROW_HEIGHT = 280
POLL_INTERVAL_S = 2.0  # a live figure re-reads its RUNNING runs this often


@dataclass
class Curve:
    """One run's metric as drawn: the points sent (NaN = gap) and how many were logged."""

    run_id: str
    label: str  # "name · 1a2b3c", plain text (escaped where it is shown)
    key: str
    color: str
    x: Sequence[float]  # steps, times (ms) or seconds since the start
    y: list[float]
    count: int


def run_label(record: RunRecord) -> str:
    """How a run is named in legends: its name and short id (names repeat, ids don't)."""
    return f"{record['name']} · {record['run_id'][:6]}"


def as_id_list(run_ids: Any) -> list[str]:
    """Run ids from a string, a list, a pandas Series (``df.run_id``), any iterable."""
    if isinstance(run_ids, str):
        return [run_ids]
    if not isinstance(run_ids, Iterable):
        raise InvalidInputError(f"Give run ids as a list of strings, got {type(run_ids).__name__}.")
    ids = [str(r) for r in run_ids]
    return list(dict.fromkeys(ids))


def run_records(store: Store, run_ids: Any) -> list[RunRecord]:
    """The records of these runs (full ids or unique prefixes), in the order given."""
    ids = [store.resolve_run_id(r) for r in as_id_list(run_ids)]
    ids = list(dict.fromkeys(ids))
    if not ids:
        return []
    found = {
        r["run_id"]: r
        for r in queries.records(store, "run_id IN (" + ", ".join(f"'{i}'" for i in ids) + ")")
    }
    return [found[i] for i in ids if i in found]


def metric_keys(records: list[RunRecord], metrics: Any = None) -> tuple[list[str], str]:
    """The metrics to draw (given, else every one the runs have) and a note if cut."""
    if metrics is not None:
        keys = [metrics] if isinstance(metrics, str) else list(dict.fromkeys(metrics))
        return [str(k) for k in keys], ""
    keys = sorted({k for r in records for k in r["metrics"]}, key=shown_order)
    if len(keys) > MAX_DEFAULT_METRICS:
        note = f"{MAX_DEFAULT_METRICS} of {len(keys)} metrics: pass metrics=[...] for others"
        return keys[:MAX_DEFAULT_METRICS], note
    return keys, ""


def load_curves(
    store: Store, records: list[RunRecord], keys: list[str], x: str = "step"
) -> list[Curve]:
    """The downsampled series of each run and metric (runs without the metric skipped)."""
    if x not in X_MODES:
        raise InvalidInputError(f"x must be one of {', '.join(X_MODES)}; got {x!r}.")
    pairs = [(i, r, k) for k in keys for i, r in enumerate(records) if k in r["metrics"]]
    budget = max(MIN_TRACE_POINTS, min(MAX_TRACE_POINTS, FIGURE_POINTS // max(1, len(pairs))))
    counts = queries.series_counts(store, [r["run_id"] for r in records])
    curves = []
    for i, record, key in pairs:
        count = counts.get((record["run_id"], key), 0)
        steps, values, times = queries.downsampled_points(store, record["run_id"], key, budget)
        xs: Sequence[float]
        if x == "step":
            xs = steps
        elif x == "time":
            xs = spread_ties(times)
        else:
            xs = [(t - record["start_time"]) / 1000 for t in spread_ties(times)]
        ys = [v if math.isfinite(v) else math.nan for v in values]
        curves.append(Curve(record["run_id"], run_label(record), key, run_color(i), xs, ys, count))
    return curves


def spread_ties(times: Sequence[float]) -> list[float]:
    """``times`` (ms) with each run of equal readings spread evenly up to the next reading;
    a last run (or one followed by an earlier time) at the series' mean interval, 1 ms if
    every reading is the same."""
    n = len(times)
    out = [float(t) for t in times]
    mean = (out[-1] - out[0]) / (n - 1) if n > 1 else 0.0
    i = 0
    while i < n:
        j = i
        while j + 1 < n and times[j + 1] == times[i]:
            j += 1
        if j > i:
            after = times[j + 1] if j + 1 < n else None
            if after is not None and after > times[i]:
                step = (after - times[i]) / (j - i + 1)
            else:
                step = mean if mean > 0 else 1.0
            for k in range(1, j - i + 1):
                out[i + k] = times[i] + k * step
        i = j + 1
    return out


def ema(values: list[float], alpha: float) -> list[float]:
    """Exponential moving average, debiased (as TensorBoard's); NaN stays a gap."""
    if alpha <= 0:
        return list(values)
    out, last, n = [], 0.0, 0
    for v in values:
        if not math.isfinite(v):
            out.append(math.nan)
            continue
        n += 1
        last = alpha * last + (1 - alpha) * v
        out.append(last / (1 - alpha**n))
    return out


def typed_array(values: Any, dtype: str = "f4") -> dict:
    """A Plotly typed-array spec (``{"dtype", "bdata"}``): compact, decoded by plotly.js."""
    import numpy as np

    data = np.asarray(values, dtype="<" + dtype)
    return {"dtype": dtype, "bdata": base64.b64encode(data.tobytes()).decode("ascii")}


def _x_array(curve: Curve, x: str) -> np.ndarray:
    import numpy as np

    if x == "step" and curve.x and min(curve.x) >= -(2**31) and max(curve.x) < 2**31:
        return np.asarray(curve.x, dtype="<i4")
    return np.asarray(curve.x, dtype="<f8")


def build_figure(
    curves: list[Curve], keys: list[str], x: str = "step", note: str = "", figure: Any = None
) -> go.Figure:
    """The figure: a subplot per metric, a colour per run, the smoothing and log controls."""
    import numpy as np
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    shown = [k for k in keys if any(c.key == k for c in curves)] or keys[:1] or [""]
    cols = 1 if len(shown) == 1 else 2
    rows = -(-len(shown) // cols)
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[esc_plotly(k) for k in shown],
        horizontal_spacing=0.08,
        vertical_spacing=min(0.12, 0.5 / rows),
        figure=figure if figure is not None else go.Figure(),
    )
    seen = set()
    for curve in curves:
        index = shown.index(curve.key)
        fig.add_trace(
            go.Scatter(
                x=_x_array(curve, x),
                y=np.asarray(curve.y, dtype="<f4"),
                mode="lines+markers" if len(curve.y) <= 30 else "lines",
                marker={"size": 4},
                line={"color": curve.color, "width": 1.6},
                name=esc_plotly(curve.label),
                legendgroup=curve.run_id,
                showlegend=curve.run_id not in seen,
                hovertemplate=f"{X_MODES[x]} %{{x}}<br>%{{y:.6g}}",
            ),
            row=index // cols + 1,
            col=index % cols + 1,
        )
        seen.add(curve.run_id)
    axes = [name for name in fig.layout if name.startswith("yaxis")] or ["yaxis"]
    if x == "time":
        fig.update_xaxes(type="date")
    fig.update_xaxes(title_text=X_MODES[x], title_standoff=4, title_font_size=11)
    layout: dict[str, Any] = {
        "height": ROW_HEIGHT * rows + 130,
        "margin": {"l": 60, "r": 20, "t": 70 if note else 50, "b": 90},
        "template": charts.plotly_template(),
        "legend": {"font": {"size": 11}},
        "hovermode": "closest",
        "updatemenus": [
            {
                "type": "buttons",
                "direction": "right",
                "x": 1,
                "xanchor": "right",
                "y": 0,
                "yanchor": "top",
                "pad": {"t": 44},
                "showactive": True,
                "buttons": [
                    {
                        "label": scale,
                        "method": "relayout",
                        "args": [{f"{axis}.type": scale for axis in axes}],
                    }
                    for scale in ("linear", "log")
                ],
            }
        ],
    }
    if note:
        layout["title"] = {"text": esc_plotly(note), "font": {"size": 12}, "x": 0}
    if curves and max(len(c.y) for c in curves) > 2:
        layout["sliders"] = [
            {
                "active": 0,
                "x": 0,
                "len": 0.55,
                "y": 0,
                "yanchor": "top",
                "pad": {"t": 40},
                "currentvalue": {"prefix": "smoothing (EMA) ", "font": {"size": 11}},
                "steps": smoothing_steps(curves),
            }
        ]
    fig.update_layout(layout)
    return fig


def smoothing_steps(curves: list[Curve]) -> list[dict]:
    """The smoothing slider's steps: each restyles every trace to its EMA at one level."""
    return [
        {
            "label": f"{alpha:g}",
            "method": "restyle",
            "args": [{"y": [typed_array(ema(c.y, alpha)) for c in curves]}],
        }
        for alpha in SMOOTHING
    ]


def refresh(fig: Any) -> bool:
    """Re-read the curves of the figure's RUNNING runs into it; whether any still runs.

    What a live figure's thread does every ``POLL_INTERVAL_S`` seconds (see ``_figures``).
    """
    import numpy as np

    store, x = fig._jt_store, fig._jt_x
    was_running = {r["run_id"] for r in fig._jt_records if r["status"] == "RUNNING"}
    records = run_records(store, [r["run_id"] for r in fig._jt_records])
    fig._jt_records = records
    if was_running:
        fresh = {(c.run_id, c.key): c for c in load_curves(store, records, fig._jt_keys, x)}
        curves = list(fig._jt_curves)
        with fig.batch_update():
            for i, old in enumerate(curves):
                new = fresh.get((old.run_id, old.key))
                if old.run_id in was_running and new is not None:
                    fig.data[i].x = _x_array(new, x)
                    fig.data[i].y = np.asarray(new.y, dtype="<f4")
                    curves[i] = new
            if fig.layout.sliders:
                fig.layout.sliders[0].steps = smoothing_steps(curves)
        fig._jt_curves = curves
    return any(r["status"] == "RUNNING" for r in records)


# -- what plot() returns ------------------------------------------------------------------


def summary_text(curves: list[Curve], keys: list[str], x: str) -> str:
    """The curves as plain text: per run and metric, points, last, min and max."""
    runs = len({c.run_id for c in curves})
    lines = [f"Curves: {runs} run(s) × {len(keys)} metric(s), x = {x}"]
    for c in curves:
        finite = [v for v in c.y if math.isfinite(v)]
        stats = (
            f"last {fmt_number(finite[-1])}, min {fmt_number(min(finite))}, "
            f"max {fmt_number(max(finite))}"
            if finite
            else "no finite value"
        )
        drawn = f" (drawn from {len(c.y)})" if len(c.y) < c.count else ""
        lines.append(f"  {c.key} · {c.label}: {c.count} points{drawn}, {stats}")
    if not curves:
        lines.append("  no points")
    return "\n".join(lines)


def summary_html(curves: list[Curve], keys: list[str], x: str) -> str:
    """The curves as static SVG charts (one per metric) with a legend; all escaped."""
    figures = []
    for key in keys:
        mine = [c for c in curves if c.key == key]
        if mine:
            figures.append(
                charts.line_chart([(c.color, c.x, c.y) for c in mine], title=f"{key} by {x}")
            )
    runs = list(dict.fromkeys((c.color, c.label) for c in curves))
    return (
        f'<div class="jt-curves" style="{PANEL_TEXT}">'
        + charts.legend(runs)
        + '<div style="display:flex;flex-wrap:wrap;gap:8px">'
        + "".join(figures)
        + "</div>"
        + f'<div style="color:{MUTED};font-size:11px">Static summary; run the cell for the '
        "interactive figure.</div></div>"
        if curves
        else f"<div>{esc('No points to draw.')}</div>"
    )


def figure_class(widget: bool):
    """``Curves`` (a FigureWidget) or ``StaticCurves`` (a Figure); plotly loads on first use."""
    from . import _figures

    return _figures.Curves if widget else _figures.StaticCurves


def plotly_json(fig: Any) -> dict:
    """The figure as the JSON of ``application/vnd.plotly.v1+json`` (typed arrays kept)."""
    import json

    return json.loads(fig.to_json())


def plot(
    run_ids: Any,
    metrics: Any = None,
    x: str = "step",
    *,
    store: Store | None = None,
    widget: bool | None = None,
) -> go.Figure:
    """The runs' metric curves as a Plotly figure.

    A ``FigureWidget`` (whose curves grow live) only when shown in a notebook while one of
    the runs is RUNNING; otherwise a static ``Figure``, which JupyterLab renders from its
    JSON, so saved notebooks do not carry Plotly's 5 MB script per figure.
    """
    store = store if store is not None else tracking.current_store()
    if x not in X_MODES:
        raise InvalidInputError(f"x must be one of {', '.join(X_MODES)}; got {x!r}.")
    records = run_records(store, run_ids)
    if not records:
        raise InvalidInputError("Give at least one run id to plot.")
    keys, note = metric_keys(records, metrics)
    curves = load_curves(store, records, keys, x)
    if widget is None:
        widget = has_frontend() and any(r["status"] == "RUNNING" for r in records)
    cls = figure_class(widget)
    fig = build_figure(curves, keys, x, note, figure=cls())
    fig._jt_curves, fig._jt_keys, fig._jt_x = curves, keys, x
    fig._jt_store, fig._jt_records = store, records
    return fig
