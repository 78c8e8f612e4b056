"""The one place user strings become HTML: escaping, and the pieces every view shares
(status badges, key/value tables, artifact previews and download links, the static run card).

Every function here escapes what it is given unless its docstring says the cells are HTML
already; nothing user-given becomes markup, a URL or script.
"""

from __future__ import annotations

import base64
import html
import json
from typing import Any
from urllib.parse import quote

from ..model import API_PREFIX
from .colors import ACCENT, BORDER, MUTED, ON_COLOR, RULE, SURFACE, status_color
from .formats import fmt_number

IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "image/svg+xml")
CODE_FONT = "font-family:var(--jp-code-font-family,monospace)"
# The text of every panel; the line height too (in a widget, lines would be 28 px apart).
PANEL_TEXT = "font-family:system-ui,sans-serif;font-size:12px;line-height:1.45"
# A box never wider than its container, whatever it holds (a long line, a wide table): its
# content scrolls inside it. ``contain`` keeps the content's width from widening a flex
# parent (the output area of a widget).
WIDTH_BOUND = "max-width:100%;min-width:0;box-sizing:border-box;contain:inline-size;overflow-x:auto"
PREVIEW_CELL = 60  # characters of a previewed table cell, at most
# Run when a download link is clicked: the link's API path under the page's base URL, which
# JupyterLab and Notebook 7 publish in #jupyter-config-data (the classic Notebook on <body>).
# Constant code: the path is read from the link's data attribute, never written in here.
_UNDER_BASE_URL = (
    "var c=document.getElementById('jupyter-config-data');"
    "var b=c?JSON.parse(c.textContent).baseUrl:document.body.dataset.baseUrl;"
    "this.href=(b||'/').replace(/\\/?$/,'/')+this.dataset.jtApi"
)


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


def artifact_api_path(run_id: str, path: str) -> str:
    """The REST route of an artifact, relative to the server's base URL."""
    return f"{API_PREFIX}/runs/{quote(run_id, safe='')}/artifacts/{quote(path, safe='/')}"


def download_links(run_id: str, path: str, embedded: bytes | None = None) -> str:
    """``download``: the artifact through the REST route of the Jupyter server showing the page
    (its base URL read when clicked); with ``embedded`` bytes also ``saved copy``, a ``data:``
    URI that a saved notebook keeps. Both download (``application/octet-stream``), never
    render."""
    name = path.rsplit("/", 1)[-1]
    api = artifact_api_path(run_id, path)
    style = f"color:{ACCENT};text-decoration:none"
    links = [
        f'<a href="/{esc(api)}" data-jt-api="{esc(api)}" onclick="{esc(_UNDER_BASE_URL)}" '
        f'download="{esc(name)}" title="Download through the Jupyter server" '
        f'style="{style}">⬇ download</a>'
    ]
    if embedded is not None:
        encoded = base64.b64encode(embedded).decode("ascii")
        links.append(
            f'<a href="data:application/octet-stream;base64,{encoded}" download="{esc(name)}" '
            f'title="A copy kept in the notebook" style="{style}">saved copy</a>'
        )
    return f'<span class="jt-downloads">{" · ".join(links)}</span>'


def preview_note(note: str) -> str:
    """A small grey line under (or instead of) a preview: what it leaves out, or why none."""
    return f'<div style="color:{MUTED};font-size:10px">{esc(note)}</div>' if note else ""


def table_preview(header: list[str], rows: list[list[str]], note: str = "") -> str:
    """The first rows of a table (a CSV, a DataFrame...), every cell escaped and cut."""

    def cell(tag: str, value: str) -> str:
        text = value if len(value) <= PREVIEW_CELL else value[: PREVIEW_CELL - 1] + "…"
        return (
            f'<{tag} style="padding:1px 6px;border-bottom:1px solid {RULE};white-space:nowrap;'
            f'text-align:left">{esc(text)}</{tag}>'
        )

    head = "".join(cell("th", h) for h in header)
    body = "".join("<tr>" + "".join(cell("td", v) for v in row) + "</tr>" for row in rows)
    return (
        f'<div class="jt-preview" style="{WIDTH_BOUND};max-height:220px;overflow-y:auto;'
        f'margin:4px 0;font-size:11px"><table style="border-collapse:collapse">'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>" + preview_note(note)
    )


def text_preview(text: str, note: str = "") -> str:
    """The first lines of a text (text, JSON, YAML...), escaped, scrolling inside its box."""
    return (
        f'<pre class="jt-preview" style="{WIDTH_BOUND};max-height:220px;overflow-y:auto;'
        f"margin:4px 0;padding:4px 6px;background:{SURFACE};border-radius:3px;font-size:11px;"
        f'white-space:pre">{esc(text)}</pre>' + preview_note(note)
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
