"""The one place user strings become HTML: escaping, and the pieces every view shares
(status badges, key/value tables, image previews, the static run card).

Every function here escapes what it is given unless its docstring says the cells are HTML
already; nothing user-given becomes markup, a URL or script.
"""

from __future__ import annotations

import base64
import html
import json
from typing import Any

from .colors import BORDER, MUTED, ON_COLOR, status_color
from .formats import fmt_number

IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "image/svg+xml")
CODE_FONT = "font-family:var(--jp-code-font-family,monospace)"


def esc(value: Any) -> str:
    """``value`` as text safe inside HTML elements and quoted attributes."""
    return html.escape(str(value), quote=True)


def esc_plotly(value: Any) -> str:
    """``value`` as text for a Plotly label (trace names, titles, tick and hover text).

    Plotly renders a few tags (``<b>``, ``<br>``, ``<a href>``...) in labels and decodes
    ``&lt; &gt; &amp;``, so escaping those three shows any string as the text it is.
    """
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def json_for_html(data: Any) -> str:
    """JSON safe to embed in a ``<script>`` element (``</`` and ``<!--`` cannot end it)."""
    text = json.dumps(data, default=str, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def status_badge(status: str) -> str:
    """A coloured status pill."""
    return (
        f'<span style="background:{status_color(status)};color:{ON_COLOR};border-radius:8px;'
        f'padding:1px 7px;font-size:11px;font-weight:600">{esc(status)}</span>'
    )


def key_value_table(rows: list[tuple[str, str]], mono: bool = False) -> str:
    """A two-column key/value table of cells that are HTML already (escape them first)."""
    cell = "padding:2px 10px 2px 0;vertical-align:top"
    font = f";{CODE_FONT}" if mono else ""
    body = "".join(
        f'<tr><td style="{cell};color:{MUTED}">{k}</td><td style="{cell}{font}">{v}</td></tr>'
        for k, v in rows
    )
    return f'<table style="border-collapse:collapse;font-size:12px">{body}</table>'


def values_table(values: dict[str, Any], mono: bool = False) -> str:
    """A key/value table of ``values`` sorted by key, numbers formatted, everything escaped."""
    return key_value_table([(esc(k), esc(fmt_number(v))) for k, v in sorted(values.items())], mono)


def image_data_uri(media_type: str, data: bytes) -> str:
    """An ``<img>`` for image bytes, as a data URI (the type from the allowlist, never user text).

    An SVG shown through ``<img>`` runs no script, so stored SVGs are safe to preview.
    """
    if media_type not in IMAGE_TYPES:
        raise ValueError(f"Not an image type to preview: {media_type!r}")
    encoded = base64.b64encode(data).decode("ascii")
    return (
        f'<img src="data:{media_type};base64,{encoded}" alt="" '
        f'style="max-width:100%;max-height:240px;border:1px solid {BORDER};border-radius:4px">'
    )


def run_card_html(run: Any) -> str:
    """A static card of a run object (``Run._repr_html_``): reads the same in saved notebooks,
    on GitHub and nbviewer."""
    parts = [
        f'<div style="border:1px solid {BORDER};border-radius:6px;padding:8px 12px;'
        'font-family:sans-serif;max-width:720px">',
        f'<div style="font-weight:600">{esc(run.name)} '
        f'<code style="color:{MUTED}">{esc(run.id[:8])}</code> {status_badge(run.status)}</div>',
    ]
    for title, values in (("params", run.params), ("metrics", run.metrics), ("tags", run.tags)):
        if values:
            parts.append(f"<div><b>{title}</b>{values_table(values)}</div>")
    parts.append("</div>")
    return "".join(parts)
