"""Static pictures for the HTML fallbacks: small SVG line charts that need no JavaScript.

Saved notebooks, GitHub and nbviewer show these where the live Plotly figure or widget is
gone. Labels go through ``_html.esc``; numbers are formatted here, never user text.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from .._html import esc, fmt_number

PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
SVG_BUCKETS = 300  # per trace, at most
SVG_POINTS = 2000  # per chart: many traces get fewer buckets each


def color(i: int) -> str:
    """The colour of the i-th run, the same in every chart of a panel."""
    return PALETTE[i % len(PALETTE)]


def _finite(v: float | None) -> bool:
    return v is not None and math.isfinite(v)


def thin(xs: Sequence[float], ys: Sequence[float | None], buckets: int = SVG_BUCKETS):
    """At most ``2 * buckets`` points: each bucket's min and max; a NaN bucket keeps a gap."""
    n = len(xs)
    if n <= 2 * buckets:
        return list(xs), list(ys)
    width = -(-n // buckets)
    out_x: list[float] = []
    out_y: list[float | None] = []
    for start in range(0, n, width):
        idx = range(start, min(n, start + width))
        good = [i for i in idx if _finite(ys[i])]
        gaps = [i for i in idx if not _finite(ys[i])]
        picks = set()
        if good:
            picks.add(min(good, key=lambda i: ys[i]))
            picks.add(max(good, key=lambda i: ys[i]))
        if gaps:
            picks.add(gaps[0])
        for i in sorted(picks):
            out_x.append(xs[i])
            out_y.append(ys[i] if _finite(ys[i]) else None)
    return out_x, out_y


def svg_chart(
    traces: Sequence[tuple[str, Sequence[float], Sequence[float | None]]],
    title: str = "",
    width: int = 420,
    height: int = 150,
) -> str:
    """One SVG line chart; ``traces`` are ``(colour, xs, ys)``; NaN/inf break the line."""
    pts = [(x, y) for _, xs, ys in traces for x, y in zip(xs, ys, strict=False) if _finite(y)]
    if not pts:
        return ""
    x0, x1 = min(p[0] for p in pts), max(p[0] for p in pts)
    y0, y1 = min(p[1] for p in pts), max(p[1] for p in pts)
    xspan, yspan = (x1 - x0) or 1.0, (y1 - y0) or 1.0
    left, right, top, bottom = 52, 8, 16, 16
    w, h = width - left - right, height - top - bottom

    def px(x: float) -> float:
        return left + (x - x0) * w / xspan

    def py(y: float) -> float:
        return top + h - (y - y0) * h / yspan

    lines = []
    buckets = max(20, min(SVG_BUCKETS, SVG_POINTS // (2 * len(traces))))
    for colour, xs, ys in traces:
        xs, ys = thin(xs, ys, buckets)
        segment: list[str] = []
        segments = [segment]
        for x, y in zip(xs, ys, strict=False):
            if _finite(y):
                segment.append(f"{px(x):.1f},{py(y):.1f}")
            elif segment:
                segment = []
                segments.append(segment)
        for seg in segments:
            if len(seg) == 1:
                cx, cy = seg[0].split(",")
                lines.append(f'<circle cx="{cx}" cy="{cy}" r="2" fill="{colour}"/>')
            elif seg:
                lines.append(
                    f'<polyline fill="none" stroke="{colour}" stroke-width="1.4" '
                    f'points="{" ".join(seg)}"/>'
                )
    axis = "#9aa0a6"
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
        f'fill="#5f6368" style="background:#fff">'
        f'<rect x="{left}" y="{top}" width="{w}" height="{h}" fill="none" stroke="{axis}" '
        f'stroke-width="0.5"/>{labels}{"".join(lines)}</svg>'
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
