"""The comparison of 2 to 20 runs (``jt.compare``, ``%compare``, the table's Compare button).

Sections: the runs (a colour each, the same in every chart); params, only those that differ
unless "show all params" is on; a metric summary (last, min, max) with the best run of each
metric highlighted; overlaid curves; parallel coordinates of the differing params against a
metric; a scatter of a param against a metric; side-by-side diffs of the runs' sources and
dependency slices against the first run; artifacts side by side.

Which run is best: by the last value; lower is better, unless a word of the metric key says
higher is better (``HIGHER_IS_BETTER``: acc, accuracy, f1, auc, precision, recall, score, r2,
as in ``val_accuracy``, ``f1_score``, ``roc_auc``, ``valAcc``) and no word says lower is better
(``LOWER_IS_BETTER``: loss, error, ...). NaN is never best.

Charts are static Plotly JSON in ``Output`` widgets (``application/vnd.plotly.v1+json``),
their choices (metric, param) made by Plotly dropdowns in the figure: they need no kernel and
ship no plotly.js per panel. The panel's HTML fallback has everything but the two charts
that need Plotly. In parallel coordinates a run missing a param sits on a ``missing`` tick
and params spanning decades are on log axes (``render.charts.parallel_axis``).

Every section is bounded by the output's width (``WIDTH_BOUND``): wide tables scroll inside
their box, long values and source lines wrap, so no run, value or line widens the page.
Highlights are translucent tints, readable in light and dark themes.
"""

from __future__ import annotations

import math
import re
from typing import Any

import ipywidgets as widgets

from .. import tracking
from ..errors import InvalidInputError
from ..model import CaptureReport, RunDetail
from ..render.charts import parallel_axis, plotly_template
from ..render.colors import (
    ACCENT,
    BEST,
    BORDER,
    CHANGED,
    MUTED,
    ON_COLOR,
    PLOT_COLORSCALE,
    RULE,
    run_color,
)
from ..render.diff import side_by_side
from ..render.formats import cut, fmt_number, fmt_size
from ..render.html import PANEL_TEXT, WIDTH_BOUND, download_links, esc, esc_plotly, status_badge
from ..store import Store, queries
from ..system_metrics import shown_order
from . import has_frontend, with_static_view
from .curves import build_figure, load_curves, metric_keys, plotly_json, run_records, summary_html
from .detail import artifact_preview

MIN_RUNS, MAX_RUNS = 2, 20
HIGHER_IS_BETTER = frozenset({"acc", "accuracy", "f1", "auc", "precision", "recall", "score", "r2"})
LOWER_IS_BETTER = frozenset({"loss", "error", "err", "mse", "rmse", "mae", "perplexity"})
MAX_PARALLEL_PARAMS = 12
PREVIEW_BUDGET = 4_000_000  # bytes of image previews in one comparison
MAX_LABEL = 24

H = "margin:14px 0 4px;font-weight:600;font-size:13px"
TH = f"text-align:left;padding:3px 10px;border-bottom:1px solid {BORDER};white-space:nowrap"
TD = f"padding:2px 10px;border-bottom:1px solid {RULE};white-space:nowrap;vertical-align:top"
# A value cell: long values wrap (anywhere) rather than widen the table
VALUE = f"{TD};white-space:normal;overflow-wrap:anywhere;min-width:4em;max-width:320px"
BEST_CELL = f"background:{BEST};font-weight:700"
CHANGED_CELL = f";background:{CHANGED}"


def higher_is_better(key: str) -> bool:
    """Whether a larger value of metric ``key`` is better (see the module docstring)."""
    words = set(re.split(r"[^a-z0-9]+", re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", key).lower()))
    return not (words & LOWER_IS_BETTER) and bool(words & HIGHER_IS_BETTER)


def best_run(values: dict[str, float | None], higher: bool) -> str | None:
    """The run id with the best finite value (ties: the first given)."""
    finite = {r: v for r, v in values.items() if v is not None and math.isfinite(v)}
    if not finite:
        return None
    return (max if higher else min)(finite, key=finite.__getitem__)


def _number(text: str | None) -> float | None:
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


def _short(text: str) -> str:
    return cut(text, MAX_LABEL)


def slice_text(capture: CaptureReport | None) -> str | None:
    """A run's dependency slice (the earlier cells its inputs came from) as one text."""
    cells = ((capture or {}).get("dependency_slice") or {}).get("cells") or []
    if not cells:
        return None
    return "\n".join(
        f"# In [{cell.get('execution_count')}]\n{cell.get('source') or ''}".rstrip()
        for cell in cells
    )


class Comparison(widgets.VBox):
    """The comparison panel of 2 to 20 runs; ``show_all`` toggles the identical params."""

    def __init__(self, run_ids: Any, store: Store | None = None) -> None:
        self.store = store if store is not None else tracking.current_store()
        records = run_records(self.store, run_ids)
        if not MIN_RUNS <= len(records) <= MAX_RUNS:
            raise InvalidInputError(
                f"Compare takes {MIN_RUNS} to {MAX_RUNS} different runs; got {len(records)}."
            )
        self.records = records
        self.run_ids = [r["run_id"] for r in records]
        self.details = [queries.run_detail(self.store, run_id) for run_id in self.run_ids]
        self.colors = [run_color(i) for i in range(len(records))]
        self.labels = [f"{r['name']} · {r['run_id'][:6]}" for r in records]

        keys = sorted({k for d in self.details for k in d["params"]})
        self.param_keys = keys
        self.differing = [k for k in keys if len({d["params"].get(k) for d in self.details}) > 1]
        self.metric_keys = sorted(
            {k for d in self.details for k in d["metric_summary"]}, key=shown_order
        )
        self.best = {
            key: best_run(
                {d["run_id"]: self._last(d, key) for d in self.details},
                higher_is_better(key),
            )
            for key in self.metric_keys
        }
        curve_keys, self._curve_note = metric_keys(records)
        self.curves = load_curves(self.store, records, curve_keys)
        self._curve_keys = curve_keys

        self.show_all = widgets.ToggleButton(
            value=False,
            description=f"show all {len(keys)} params",
            tooltip="Show the params that are the same in every run too",
            layout=widgets.Layout(width="auto"),
        )
        self.params_html = widgets.HTML(self._params_table(False))
        self.show_all.observe(self._on_show_all, "value")
        self.curves_output = _figure_output(
            build_figure(self.curves, curve_keys, "step", self._curve_note) if self.curves else None
        )
        self.parallel_output = _figure_output(self.parallel_figure())
        self.scatter_output = _figure_output(self.scatter_figure())
        super().__init__(
            [
                widgets.HTML(self._header()),
                widgets.HBox(
                    [
                        widgets.HTML(f'<div style="{H};margin-right:12px">Params</div>'),
                        self.show_all,
                    ],
                    layout=widgets.Layout(align_items="center"),
                ),
                self.params_html,
                widgets.HTML(self._summary()),
                widgets.HTML(f'<div style="{H}">Curves</div>'),
                self.curves_output,
                widgets.HTML(f'<div style="{H}">Params against metrics</div>'),
                widgets.HBox(
                    [self.parallel_output, self.scatter_output],
                    layout=widgets.Layout(flex_flow="row wrap"),
                ),
                widgets.HTML(self._diffs()),
                widgets.HTML(self._artifacts()),
            ],
            layout=widgets.Layout(padding="4px 0"),
        )
        self.add_class("jt-comparison")

    # -- sections as HTML -------------------------------------------------------------

    def _header(self) -> str:
        cards = "".join(
            f'<div style="border-left:4px solid {c};padding:2px 8px;margin:2px 0">'
            f'<b>{esc(r["name"])}</b> <code style="color:{MUTED}">{esc(r["run_id"][:8])}</code>'
            f" {status_badge(r['status'])}</div>"
            for c, r in zip(self.colors, self.records, strict=True)
        )
        return (
            f'<div style="{PANEL_TEXT};overflow-wrap:anywhere">'
            f'<div style="font-size:14px;font-weight:600;margin-bottom:4px">Comparing '
            f"{len(self.records)} runs</div>"
            f'<div style="display:flex;flex-wrap:wrap;gap:4px 16px">{cards}</div></div>'
        )

    def _run_heads(self) -> str:
        return "".join(
            f'<th style="{TH};border-top:3px solid {c}">{esc(_short(r["name"]))}</th>'
            for c, r in zip(self.colors, self.records, strict=True)
        )

    def _params_table(self, show_all: bool) -> str:
        keys = self.param_keys if show_all else self.differing
        hidden = len(self.param_keys) - len(self.differing)
        if not self.param_keys:
            return f'<div style="color:{MUTED};font-size:12px">No params logged.</div>'
        note = f"{len(self.differing)} of {len(self.param_keys)} params differ" + (
            "" if show_all or not hidden else f"; {hidden} identical hidden"
        )
        rows = []
        for key in keys:
            values = [d["params"].get(key) for d in self.details]
            differs = len(set(values)) > 1
            style = VALUE + (CHANGED_CELL if differs and show_all else "")
            cells = "".join(
                f'<td style="{style}">{esc(v) if v is not None else "—"}</td>' for v in values
            )
            rows.append(f'<tr><td style="{TD};color:{MUTED}">{esc(key)}</td>{cells}</tr>')
        return (
            f'<div class="jt-params" style="{PANEL_TEXT}">'
            f'<div style="color:{MUTED};margin-bottom:2px">{esc(note)}</div>'
            f'<div style="{WIDTH_BOUND}"><table style="border-collapse:collapse">'
            f'<tr><th style="{TH}">param</th>{self._run_heads()}</tr>{"".join(rows)}'
            "</table></div></div>"
        )

    def _on_show_all(self, change: dict) -> None:
        self.params_html.value = self._params_table(change["new"])

    def _summary(self) -> str:
        if not self.metric_keys:
            return f'<div style="{H}">Metrics</div><div style="font-size:12px">None logged.</div>'
        rows = []
        for key in self.metric_keys:
            higher = higher_is_better(key)
            cells = []
            for d in self.details:
                s = d["metric_summary"].get(key)
                if s is None:
                    cells.append(f'<td style="{TD}">—</td>')
                    continue
                best = self.best[key] == d["run_id"]
                cells.append(
                    f'<td style="{TD}{";" + BEST_CELL if best else ""}" '
                    f'class="{"jt-best" if best else ""}">'
                    f'<span style="font-family:monospace">{esc(fmt_number(s["last"]))}</span>'
                    f"{' ★' if best else ''}"
                    f'<div style="color:{MUTED};font-size:10px;font-weight:400">'
                    f"min {esc(fmt_number(s['min']))} · max {esc(fmt_number(s['max']))}</div></td>"
                )
            arrow = "▲ higher is better" if higher else "▼ lower is better"
            rows.append(
                f'<tr><td style="{TD}">{esc(key)}<div style="color:{MUTED};font-size:10px">'
                f"{arrow}</div></td>{''.join(cells)}</tr>"
            )
        return (
            f'<div class="jt-metrics" style="{PANEL_TEXT}">'
            f'<div style="{H}">Metrics (last value; ★ best)</div>'
            f'<div style="{WIDTH_BOUND}"><table style="border-collapse:collapse">'
            f'<tr><th style="{TH}">metric</th>{self._run_heads()}</tr>{"".join(rows)}'
            "</table></div></div>"
        )

    def _diffs(self) -> str:
        parts = [f'<div style="{H}">Source</div>']
        parts.append(self._diff_against_first([d["source"] for d in self.details], "source"))
        slices = [slice_text(d["capture"]) for d in self.details]
        if any(s is not None for s in slices):
            parts.append(
                f'<div style="{H}">Dependency slices (the cells the inputs came from)</div>'
            )
            parts.append(self._diff_against_first(slices, "slice"))
        return f'<div class="jt-diffs" style="{PANEL_TEXT}">' + "".join(parts) + "</div>"

    def _diff_against_first(self, texts: list[str | None], what: str) -> str:
        first = texts[0]
        out = []
        for label, text in zip(self.labels[1:], texts[1:], strict=True):
            if text == first:
                shown = "no " + what if text is None else f"same {what}"
                out.append(
                    f'<div style="color:{MUTED}">{esc(label)}: {esc(shown)} as '
                    f"{esc(self.labels[0])}</div>"
                )
            else:
                out.append(side_by_side(first or "", text or "", self.labels[0], label))
        return "".join(out)

    def _artifacts(self) -> str:
        paths = sorted({a["path"] for d in self.details for a in d["artifacts"]})
        if not paths:
            return ""
        by_run = [{a["path"]: a for a in d["artifacts"]} for d in self.details]
        budget = PREVIEW_BUDGET
        rows = []
        for path in paths:
            found = [runs.get(path) for runs in by_run]
            same = len({a["sha256"] if a else None for a in found}) == 1
            cells = []
            for run_id, a in zip(self.run_ids, found, strict=True):
                if a is None:
                    cells.append(f'<td style="{TD}">—</td>')
                    continue
                preview = artifact_preview(self.store, a) if a["size"] <= budget else ""
                budget -= a["size"] if preview else 0
                cells.append(
                    f'<td style="{VALUE};min-width:200px;max-width:280px">{preview}'
                    f'<div style="color:{MUTED};font-size:10px">{esc(fmt_size(a["size"]))} · '
                    f"{esc(a['sha256'][:8])} · {download_links(run_id, a['path'])}</div></td>"
                )
            mark = f' <span style="color:{MUTED}">(identical)</span>' if same else ""
            rows.append(
                f'<tr><td style="{TD}"><code>{esc(path)}</code>{mark}</td>{"".join(cells)}</tr>'
            )
        return (
            f'<div class="jt-artifacts" style="{PANEL_TEXT}">'
            f'<div style="{H}">Artifacts</div><div style="{WIDTH_BOUND}">'
            f'<table style="border-collapse:collapse"><tr><th style="{TH}">artifact</th>'
            f"{self._run_heads()}</tr>{''.join(rows)}</table></div></div>"
        )

    # -- charts ---------------------------------------------------------------------------

    def _param_columns(self) -> list[tuple[str, list[Any], bool]]:
        """(key, values per run, numeric?) of the params worth plotting: those that differ."""
        keys = (self.differing or self.param_keys)[:MAX_PARALLEL_PARAMS]
        out = []
        for key in keys:
            texts = [d["params"].get(key) for d in self.details]
            numbers = [_number(t) for t in texts]
            numeric = all(
                n is not None for n, t in zip(numbers, texts, strict=True) if t is not None
            )
            out.append((key, numbers if numeric else texts, numeric))
        return out

    @staticmethod
    def _last(detail: RunDetail, key: str) -> float | None:
        summary = detail["metric_summary"].get(key)
        return None if summary is None else summary["last"]

    def _metric_values(self, key: str) -> list[float | None]:
        values = [self._last(d, key) for d in self.details]
        return [v if v is not None and math.isfinite(v) else None for v in values]

    def parallel_figure(self) -> Any:
        """Parallel coordinates: the differing params, then the chosen metric (a dropdown);
        lines coloured by the metric (a run without it: the lowest colour, on ``missing``)."""
        import plotly.graph_objects as go

        params = self._param_columns()
        if not params or not self.metric_keys:
            return None
        base = [parallel_axis(_short(k), v, n) for k, v, n in params]

        def choice(key: str) -> dict:
            values = self._metric_values(key)
            axis = parallel_axis(_short(key), values, True)
            drawn = [p for p, v in zip(axis["values"], values, strict=True) if v is not None]
            return {
                "dimensions": [[*base, axis]],
                "line.color": [axis["values"]],
                "line.cmin": [min(drawn, default=0)],
                "line.cmax": [max(drawn, default=1)],
            }

        first = choice(self.metric_keys[0])
        fig = go.Figure(
            go.Parcoords(
                dimensions=first["dimensions"][0],
                line={
                    "color": first["line.color"][0],
                    "cmin": first["line.cmin"][0],
                    "cmax": first["line.cmax"][0],
                    "colorscale": [list(stop) for stop in PLOT_COLORSCALE],
                    "showscale": True,
                },
            )
        )
        fig.update_layout(
            height=380,
            width=560,
            template=plotly_template(),
            margin={"l": 60, "r": 40, "t": 100, "b": 30},
            updatemenus=[
                _dropdown(
                    [
                        ("metric: " + esc_plotly(_short(k)), "restyle", [choice(k)])
                        for k in self.metric_keys
                    ],
                    "metric",
                    x=0,
                )
            ],
        )
        return fig

    def scatter_figure(self) -> Any:
        """A param (x, a dropdown) against a metric (y, a dropdown), a point per run."""
        import plotly.graph_objects as go

        params = self._param_columns()
        if not params or not self.metric_keys:
            return None

        def xs(values: list, numeric: bool) -> list:
            return values if numeric else [esc_plotly(v) if v is not None else None for v in values]

        key0, values0, numeric0 = params[0]
        fig = go.Figure(
            go.Scatter(
                x=xs(values0, numeric0),
                y=self._metric_values(self.metric_keys[0]),
                mode="markers",
                marker={"color": self.colors, "size": 11, "line": {"width": 1, "color": ON_COLOR}},
                text=[esc_plotly(label) for label in self.labels],
                hovertemplate="%{text}<br>x %{x}<br>y %{y:.6g}<extra></extra>",
            )
        )
        fig.update_layout(
            height=380,
            width=440,
            template=plotly_template(),
            margin={"l": 60, "r": 20, "t": 100, "b": 50},
            xaxis_title=esc_plotly(key0),
            yaxis_title=esc_plotly(self.metric_keys[0]),
            updatemenus=[
                _dropdown(
                    [
                        (
                            "x: " + esc_plotly(_short(k)),
                            "update",
                            [{"x": [xs(v, n)]}, {"xaxis.title.text": esc_plotly(k)}],
                        )
                        for k, v, n in params
                    ],
                    "param",
                    x=0,
                ),
                _dropdown(
                    [
                        (
                            "y: " + esc_plotly(_short(k)),
                            "update",
                            [{"y": [self._metric_values(k)]}, {"yaxis.title.text": esc_plotly(k)}],
                        )
                        for k in self.metric_keys
                    ],
                    "metric",
                    x=0.45,
                ),
            ],
        )
        return fig

    # -- display -----------------------------------------------------------------------

    def html(self) -> str:
        """The whole comparison as static HTML (saved notebooks); every user string escaped."""
        full = (
            f'<details><summary style="cursor:pointer;color:{ACCENT};font-size:12px">show all '
            f"{len(self.param_keys)} params</summary>{self._params_table(True)}</details>"
            if len(self.param_keys) > len(self.differing)
            else ""
        )
        return (
            f'<div class="jt-comparison" style="{PANEL_TEXT}">'
            + self._header()
            + f'<div style="{H}">Params</div>'
            + self._params_table(False)
            + full
            + self._summary()
            + f'<div style="{H}">Curves</div>'
            + summary_html(self.curves, self._curve_keys, "step")
            + self._diffs()
            + self._artifacts()
            + "</div>"
        )

    def text(self) -> str:
        """The comparison as plain text (terminals)."""
        lines = [f"Comparing {len(self.records)} runs:"]
        lines += [f"  [{i + 1}] {label}" for i, label in enumerate(self.labels)]
        hidden = len(self.param_keys) - len(self.differing)
        lines.append(f"params that differ ({hidden} identical hidden):" if hidden else "params:")
        for key in self.differing:
            values = [d["params"].get(key) for d in self.details]
            lines.append(f"  {key}: " + " | ".join("—" if v is None else str(v) for v in values))
        if self.metric_keys:
            lines.append("metrics (last; * best):")
        for key in self.metric_keys:
            cells = []
            for d in self.details:
                s = d["metric_summary"].get(key)
                mark = "*" if self.best[key] == d["run_id"] else ""
                cells.append("—" if s is None else fmt_number(s["last"]) + mark)
            lines.append(f"  {key}: " + " | ".join(cells))
        sources = {d["source"] for d in self.details}
        lines.append("source: " + ("identical" if len(sources) == 1 else "differs"))
        return "\n".join(lines)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict:
        if not has_frontend():
            return {"text/plain": self.text()}
        return with_static_view(super()._repr_mimebundle_(**kwargs), self.text(), self.html())

    def __repr__(self) -> str:
        return f"<Comparison of {len(self.run_ids)} runs>"


def _dropdown(options: list[tuple[str, str, list]], name: str, x: float) -> dict:
    return {
        "type": "dropdown",
        "name": name,
        "x": x,
        "xanchor": "left" if x < 1 else "right",
        "y": 1.02,
        "yanchor": "bottom",
        "pad": {"b": 40},
        "showactive": True,
        "buttons": [
            {"label": label, "method": method, "args": args} for label, method, args in options
        ],
    }


def _figure_output(fig: Any) -> widgets.Output:
    """An Output widget holding a static Plotly figure (its JSON, no plotly.js shipped)."""
    out = widgets.Output()
    if fig is not None:
        out.outputs = (
            {
                "output_type": "display_data",
                "data": {
                    "application/vnd.plotly.v1+json": {
                        **plotly_json(fig),
                        "config": {"displaylogo": False, "responsive": True},
                    },
                    "text/plain": "A Plotly figure (shown by JupyterLab's Plotly renderer).",
                },
                "metadata": {},
            },
        )
    return out
