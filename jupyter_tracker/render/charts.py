"""Charts: static SVG that needs no JavaScript (the sparklines of the run card and the run
detail, the curve charts of the panels' HTML fallbacks) and the theme and axes of the
panels' Plotly figures, as plain dicts (this module imports no plotly).

Labels are escaped here; every other piece of the SVG is a number formatted here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, TypeGuard

from .colors import (
    ACCENT,
    BACKGROUND,
    FAINT,
    MUTED,
    PALETTE,
    PLOT_AXIS,
    PLOT_BACKGROUND,
    PLOT_CONTROL,
    PLOT_CONTROL_ACTIVE,
    PLOT_CONTROL_BORDER,
    PLOT_CONTROL_TEXT,
    PLOT_GRID,
    PLOT_TEXT,
)
from .formats import cut, fmt_number
from .html import esc, esc_plotly

SVG_BUCKETS = 300  # per trace, at most
SVG_POINTS = 2000  # per chart: many traces get fewer buckets each


def _finite(v: float | None) -> TypeGuard[float]:
    return v is not None and math.isfinite(v)


def _segments(
    xs: Sequence[float],
    ys: Sequence[float | None],
    px: Callable[[float], float],
    py: Callable[[float], float],
) -> list[list[str]]:
    """The ``"x,y"`` points of each unbroken stretch: a NaN, an infinity or None breaks it."""
    segment: list[str] = []
    segments = [segment]
    for x, y in zip(xs, ys, strict=False):
        if _finite(y):
            segment.append(f"{px(x):.1f},{py(y):.1f}")
        elif segment:
            segment = []
            segments.append(segment)
    return [s for s in segments if s]


def sparkline(values: list[float], width: int = 120, height: int = 22) -> str:
    """An inline SVG curve of ``values``, the latest marked by a dot; NaN and ±inf break it."""
    finite = [v for v in values if math.isfinite(v)]
    if len(finite) < 2:
        return ""
    lo, hi = min(finite), max(finite)
    span = (hi - lo) or 1.0
    n = len(values) - 1
    segments = _segments(
        range(len(values)),
        values,
        lambda i: i * width / n,
        lambda v: height - 2 - (v - lo) * (height - 4) / span,
    )
    lines = "".join(
        f'<polyline fill="none" style="stroke:{ACCENT}" stroke-width="1.5" '
        f'points="{" ".join(seg)}"/>'
        for seg in segments
    )
    if math.isfinite(values[-1]):  # the latest value, so live updates are easy to follow
        x, y = segments[-1][-1].split(",")
        lines += f'<circle cx="{x}" cy="{y}" r="2.2" style="fill:{ACCENT}"/>'
    return (
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'style="vertical-align:middle">{lines}</svg>'
    )


def thin(
    xs: Sequence[float], ys: Sequence[float | None], buckets: int = SVG_BUCKETS
) -> tuple[list[float], list[float | None]]:
    """At most ``2 * buckets`` points: each bucket's min and max; a NaN bucket keeps a gap."""
    n = len(xs)
    if n <= 2 * buckets:
        return list(xs), list(ys)
    width = -(-n // buckets)
    out_x: list[float] = []
    out_y: list[float | None] = []
    for start in range(0, n, width):
        idx = range(start, min(n, start + width))
        good = {i: y for i in idx if _finite(y := ys[i])}
        gaps = [i for i in idx if i not in good]
        picks = set()
        if good:
            picks.add(min(good, key=good.__getitem__))
            picks.add(max(good, key=good.__getitem__))
        if gaps:
            picks.add(gaps[0])
        for i in sorted(picks):
            out_x.append(xs[i])
            out_y.append(good.get(i))
    return out_x, out_y


def line_chart(
    traces: Sequence[tuple[str, Sequence[float], Sequence[float | None]]],
    title: str = "",
    width: int = 420,
    height: int = 150,
) -> str:
    """One SVG line chart with its axes' extremes; ``traces`` are ``(colour, xs, ys)``."""
    pts = [(x, y) for _, xs, ys in traces for x, y in zip(xs, ys, strict=False) if _finite(y)]
    if not pts:
        return ""
    x0, x1 = min(p[0] for p in pts), max(p[0] for p in pts)
    y0, y1 = min(p[1] for p in pts), max(p[1] for p in pts)
    xspan, yspan = (x1 - x0) or 1.0, (y1 - y0) or 1.0
    left, right, top, bottom = 52, 8, 16, 16
    w, h = width - left - right, height - top - bottom

    lines = []
    buckets = max(20, min(SVG_BUCKETS, SVG_POINTS // (2 * len(traces))))
    for colour, xs, ys in traces:
        xs, ys = thin(xs, ys, buckets)
        segments = _segments(
            xs,
            ys,
            lambda x: left + (x - x0) * w / xspan,
            lambda y: top + h - (y - y0) * h / yspan,
        )
        for seg in segments:
            if len(seg) == 1:
                cx, cy = seg[0].split(",")
                lines.append(f'<circle cx="{cx}" cy="{cy}" r="2" fill="{colour}"/>')
            else:
                lines.append(
                    f'<polyline fill="none" stroke="{colour}" stroke-width="1.4" '
                    f'points="{" ".join(seg)}"/>'
                )
    labels = (
        f'<text x="{left - 4}" y="{top + 4}" text-anchor="end">{esc(fmt_number(y1))}</text>'
        f'<text x="{left - 4}" y="{top + h}" text-anchor="end">{esc(fmt_number(y0))}</text>'
        f'<text x="{left}" y="{height - 3}">{esc(fmt_number(x0))}</text>'
        f'<text x="{left + w}" y="{height - 3}" text-anchor="end">{esc(fmt_number(x1))}</text>'
        f'<text x="{left}" y="11" font-weight="600">{esc(title)}</text>'
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="system-ui,sans-serif" font-size="10" '
        f'style="fill:{MUTED};background:{BACKGROUND}">'
        f'<rect x="{left}" y="{top}" width="{w}" height="{h}" fill="none" '
        f'style="stroke:{FAINT}" stroke-width="0.5"/>{labels}{"".join(lines)}</svg>'
    )


def legend(items: Sequence[tuple[str, str]]) -> str:
    """Colour swatches with escaped labels: ``(colour, label)``."""
    return (
        '<div style="display:flex;gap:12px;flex-wrap:wrap;font-size:12px;margin:2px 0">'
        + "".join(
            f'<span><span style="display:inline-block;width:10px;height:10px;'
            f'background:{c};border-radius:2px;margin-right:4px"></span>{esc(label)}</span>'
            for c, label in items
        )
        + "</div>"
    )


# -- Plotly -------------------------------------------------------------------------------

LOG_SPAN = 100  # a positive numeric axis whose max / min reaches this is drawn in log10
MAX_VALUE_TICKS = 8  # an axis with at most this many distinct values has a tick at each
MISSING = "missing"  # the tick of runs that lack the value
MAX_TICK_LABEL = 24  # characters of a category's tick text, at most


def plotly_template() -> dict[str, Any]:
    """A Plotly template that reads in JupyterLab's light and dark themes: transparent
    backgrounds (the theme's shows through), grey text and grid, the run palette, light
    menus and sliders with dark text."""
    axis = {
        "gridcolor": PLOT_GRID,
        "zerolinecolor": PLOT_AXIS,
        "linecolor": PLOT_AXIS,
        "tickcolor": PLOT_AXIS,
        "automargin": True,
    }
    control = {
        "bgcolor": PLOT_CONTROL,
        "bordercolor": PLOT_CONTROL_BORDER,
        "font": {"color": PLOT_CONTROL_TEXT},
    }
    plain = {"shadow": "none"}  # parcoords outlines its text in a colour of its own choosing
    return {
        "data": {"parcoords": [{"tickfont": plain, "labelfont": plain, "rangefont": plain}]},
        "layout": {
            "paper_bgcolor": PLOT_BACKGROUND,
            "plot_bgcolor": PLOT_BACKGROUND,
            "font": {"color": PLOT_TEXT},
            "colorway": list(PALETTE),
            "xaxis": axis,
            "yaxis": axis,
            "legend": {"bgcolor": PLOT_BACKGROUND},
            "updatemenudefaults": control,
            "sliderdefaults": {
                "bgcolor": PLOT_CONTROL,
                "activebgcolor": PLOT_CONTROL_ACTIVE,
                "bordercolor": PLOT_CONTROL_BORDER,
                "tickcolor": PLOT_AXIS,
                "font": {"color": PLOT_TEXT},
            },
        },
    }


def _value_ticks(values: list[float], shown: Callable[[float], float]) -> tuple[list, list]:
    """Ticks at each distinct value (few), else five evenly spread over a linear range."""
    distinct = sorted(set(values))
    if len(distinct) <= MAX_VALUE_TICKS:
        return [shown(v) for v in distinct], [_tick_label(v) for v in distinct]
    lo, hi = shown(distinct[0]), shown(distinct[-1])
    ticks = [lo + (hi - lo) * i / 4 for i in range(5)]
    return ticks, [_tick_label(t) for t in ticks]


def _tick_label(value: float) -> str:
    """A tick's value as people read it: whole numbers without ``.0``."""
    return fmt_number(int(value) if value.is_integer() and abs(value) < 1e15 else value)


def _decade_ticks(values: list[float]) -> tuple[list, list]:
    """Ticks at the powers of ten of a log axis (every few, if they are many)."""
    lo, hi = math.floor(math.log10(min(values))), math.ceil(math.log10(max(values)))
    step = max(1, -(-(hi - lo) // MAX_VALUE_TICKS))
    ticks = list(range(lo, hi + 1, step))
    return ticks, [_tick_label(10.0**t) for t in ticks]


def parallel_axis(label: str, values: Sequence[Any], numeric: bool) -> dict[str, Any]:
    """One axis (a Plotly ``parcoords`` dimension) of a value per run; ``None`` is missing.

    Runs missing the value sit on their own ``missing`` tick below the others, so their
    line stays on the chart; numbers that are all positive and span ``LOG_SPAN`` or more
    are drawn in log10 with ticks labelled in the values themselves; anything else is a
    category (its tick text cut to ``MAX_TICK_LABEL``). The label is escaped for Plotly; tick
    text is not: parcoords draws it as plain text.
    """
    present = [v for v in values if v is not None]
    if numeric and present:
        numbers = [float(v) for v in present]
        log = min(numbers) > 0 and max(numbers) / min(numbers) >= LOG_SPAN
        shown: Callable[[float], float] = math.log10 if log else float
        if log and len(set(numbers)) > MAX_VALUE_TICKS:
            ticks, labels = _decade_ticks(numbers)
        else:
            ticks, labels = _value_ticks(numbers, shown)
        lo = min([*ticks, *map(shown, numbers)])
        hi = max([*ticks, *map(shown, numbers)])
        positions = [None if v is None else shown(float(v)) for v in values]
        label += " (log)" if log else ""
    else:
        categories = sorted({str(v) for v in present})
        codes = {c: i for i, c in enumerate(categories)}
        positions = [None if v is None else float(codes[str(v)]) for v in values]
        ticks = list(range(len(categories)))
        labels = [cut(c, MAX_TICK_LABEL) for c in categories]
        lo, hi = 0.0, float(max(0, len(categories) - 1))
    span = (hi - lo) or 1.0
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    if any(p is None for p in positions):
        missing = lo - 0.2 * span
        positions = [missing if p is None else p for p in positions]
        ticks, labels, lo = [missing, *ticks], [MISSING, *labels], missing
    return {
        "label": esc_plotly(label),
        "values": positions,
        "range": [lo, hi],
        "tickvals": ticks,
        "ticktext": labels,
    }
