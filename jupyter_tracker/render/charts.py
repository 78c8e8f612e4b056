"""Static SVG line charts that need no JavaScript: the sparklines of the run card and the
run detail, and the curve charts of the panels' HTML fallbacks (saved notebooks, GitHub).

Labels are escaped here; every other piece of the SVG is a number formatted here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TypeGuard

from .colors import ACCENT, BACKGROUND, FAINT, MUTED
from .formats import fmt_number
from .html import esc

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
