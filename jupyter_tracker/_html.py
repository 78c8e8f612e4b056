"""The one place user strings become HTML: escaping, and the static run card."""

from __future__ import annotations

import html
import json
import math
from typing import Any


def esc(value: Any) -> str:
    """``value`` as text safe inside HTML elements and quoted attributes."""
    return html.escape(str(value), quote=True)


def json_for_html(data: Any) -> str:
    """JSON safe to embed in a ``<script>`` element (``</`` and ``<!--`` cannot end it)."""
    text = json.dumps(data, default=str, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def fmt_number(value: Any) -> str:
    """Numbers as people read them; NaN and ±inf spelled out."""
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        text = f"{value:.6g}"
        return text if any(c in text for c in ".en") else text + ".0"  # 10.0 stays a float
    return str(value)


_STATUS_COLORS = {
    "RUNNING": "#1a73e8",
    "FINISHED": "#188038",
    "FAILED": "#d93025",
    "KILLED": "#e37400",
    "CRASHED": "#a50e0e",
}


def status_badge(status: str) -> str:
    """A coloured status pill."""
    color = _STATUS_COLORS.get(status, "#5f6368")
    return (
        f'<span style="background:{color};color:#fff;border-radius:8px;padding:1px 7px;'
        f'font-size:11px;font-weight:600">{esc(status)}</span>'
    )


def table(rows: list[tuple[Any, Any]]) -> str:
    """A two-column key/value table, every cell escaped."""
    body = "".join(
        f'<tr><td style="padding:1px 8px 1px 0;color:#5f6368">{esc(k)}</td>'
        f'<td style="padding:1px 0">{esc(fmt_number(v))}</td></tr>'
        for k, v in rows
    )
    return f'<table style="border-collapse:collapse;font-size:12px">{body}</table>'


def run_card_html(run: Any) -> str:
    """A static card for a run: works in saved notebooks, on GitHub and nbviewer."""
    parts = [
        '<div style="border:1px solid #dadce0;border-radius:6px;padding:8px 12px;'
        'font-family:sans-serif;max-width:720px">',
        f'<div style="font-weight:600">{esc(run.name)} '
        f'<code style="color:#5f6368">{esc(run.id[:8])}</code> {status_badge(run.status)}</div>',
    ]
    if run.params:
        parts.append("<div><b>params</b>" + table(sorted(run.params.items())) + "</div>")
    if run.metrics:
        parts.append("<div><b>metrics</b>" + table(sorted(run.metrics.items())) + "</div>")
    if run.tags:
        parts.append("<div><b>tags</b>" + table(sorted(run.tags.items())) + "</div>")
    parts.append("</div>")
    return "".join(parts)


def esc_plotly(value: Any) -> str:
    """``value`` as text for a Plotly label (trace names, titles, tick and hover text).

    Plotly renders a few tags (``<b>``, ``<br>``, ``<a href>``...) in labels and decodes
    ``&lt; &gt; &amp;``, so escaping those three shows any string as the text it is.
    """
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def status_color(status: str) -> str:
    """The colour of a status, as in its badge."""
    return _STATUS_COLORS.get(status, "#5f6368")


IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "image/svg+xml")


def image_data_uri(media_type: str, data: bytes) -> str:
    """An ``<img>`` for image bytes, as a data URI (the type from the allowlist, never user text).

    An SVG shown through ``<img>`` runs no script, so stored SVGs are safe to preview.
    """
    import base64

    if media_type not in IMAGE_TYPES:
        raise ValueError(f"Not an image type to preview: {media_type!r}")
    encoded = base64.b64encode(data).decode("ascii")
    return (
        f'<img src="data:{media_type};base64,{encoded}" alt="" '
        'style="max-width:100%;max-height:240px;border:1px solid #dadce0;border-radius:4px">'
    )


def fmt_duration(seconds: float | None) -> str:
    """A duration as people read it: ``850ms``, ``12.3s``, ``4m 05s``, ``2h 03m``."""
    if seconds is None or seconds != seconds:
        return ""
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    seconds = int(seconds)
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds // 60 % 60:02d}m"


def fmt_time(ms: int | None) -> str:
    """A store time (ms since the epoch) in local time, to the second."""
    if ms is None:
        return ""
    import time

    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ms / 1000))
