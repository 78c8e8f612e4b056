"""One run in full, as static HTML and text: what a click on a table row opens.

Params, metrics (with small curves), tags, artifacts, the source that ran, and the capture
report. Plain HTML with inline styles, so it reads the same in a live notebook and a saved
one, never wider than the output (long source scrolls in its own box).

Each artifact is previewed by its kind (``artifact_preview``): images inline, the first
rows of a table (CSV/TSV, Parquet, a DataFrame as JSON records), the first lines of a text
(text, JSON, YAML, code). Blobs are read only through ``Store.open_blob`` with the recorded
size as the limit, and only as much as the preview needs. Every artifact has a download
link through the Jupyter server's REST route; small ones are also embedded (``data:``) so
a saved notebook keeps them.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from .. import tracking
from ..errors import TrackerError
from ..model import Artifact
from ..render.charts import sparkline
from ..render.colors import BORDER, ERROR, MUTED, RULE, SURFACE, WARNING
from ..render.formats import capture_health, fmt_number, fmt_size, fmt_time, run_duration
from ..render.html import (
    CODE_FONT,
    IMAGE_TYPES,
    PANEL_TEXT,
    WIDTH_BOUND,
    download_links,
    esc,
    image_data_uri,
    key_value_table,
    preview_note,
    status_badge,
    table_preview,
    text_preview,
)
from ..store import Store, queries

MAX_PREVIEW_BYTES = 1_000_000  # an image, a Parquet file or a JSON table is read whole up to this
PREVIEW_HEAD_BYTES = 64_000  # of a text or CSV, the head read for its preview
PREVIEW_ROWS = 20
PREVIEW_COLUMNS = 20
PREVIEW_LINES = 40
EMBED_BYTES = 256_000  # artifacts smaller than this are embedded too (a saved copy)
EMBED_BUDGET = 2_000_000  # bytes embedded in one detail, at most
SPARK_POINTS = 120
MAX_SOURCE_CHARS = 200_000

TABLE_SUFFIXES = {".csv": ",", ".tsv": "\t"}
TEXT_SUFFIXES = (".txt", ".md", ".log", ".json", ".yaml", ".yml", ".toml", ".ini", ".cfg", ".py")
TEXT_TYPES = ("application/json", "application/yaml", "application/x-yaml", "application/toml")

SECTION = "margin:10px 0 4px;font-weight:600;font-size:13px"
CELL = "padding:2px 10px 2px 0;vertical-align:top"


def _read(store: Store, artifact: Artifact, n: int) -> bytes | None:
    """The first ``n`` bytes of the artifact's blob (a regular file in the store of the
    recorded size), or None when it cannot be read."""
    try:
        with store.open_blob(artifact["sha256"], artifact["size"]) as blob:
            return blob.read(n)
    except (OSError, TrackerError):  # gone, altered, or not a regular file: no preview
        return None


def _suffix(path: str) -> str:
    name = path.rsplit("/", 1)[-1].lower()
    return name[name.rfind(".") :] if "." in name else ""


def _text(data: bytes) -> str | None:
    """Bytes as text, or None if they look binary."""
    if b"\x00" in data[:8192]:
        return None
    return data.decode("utf-8", errors="replace")


def _rows_note(shown: int, total: int | None, columns: int, total_columns: int) -> str:
    parts = []
    if total is None:
        parts.append(f"first {shown} rows")
    elif total > shown:
        parts.append(f"first {shown} of {total:,} rows")
    if total_columns > columns:
        parts.append(f"{columns} of {total_columns} columns")
    return ", ".join(parts)


def _table(header: list[Any], rows: list[list[Any]], total: int | None) -> str:
    width = len(header)
    cells = [[fmt_number(v) if v is not None else "" for v in r[:PREVIEW_COLUMNS]] for r in rows]
    note = _rows_note(len(rows), total, min(width, PREVIEW_COLUMNS), width)
    return table_preview([str(h) for h in header[:PREVIEW_COLUMNS]], cells, note)


def _csv_preview(data: bytes, delimiter: str, whole: bool) -> str:
    text = _text(data)
    if text is None:
        return ""
    lines = text.splitlines()
    if not whole:
        lines = lines[:-1]  # the last line may be cut
    rows = list(csv.reader(lines[: PREVIEW_ROWS + 1], delimiter=delimiter))
    if not rows:
        return ""
    total = len(lines) - 1 if whole else None
    return _table(rows[0], rows[1:], total if total is not None and total >= 0 else None)


def _parquet_preview(data: bytes) -> str:
    try:
        import pandas as pd

        frame = pd.read_parquet(io.BytesIO(data))
    except ImportError:
        return preview_note("no preview: reading Parquet needs pyarrow (pip install pyarrow)")
    except Exception:  # not a Parquet file after all: no preview
        return ""
    head = frame.head(PREVIEW_ROWS).reset_index()
    return _table(list(head.columns), head.to_numpy().tolist(), len(frame))


def _json_preview(data: bytes, whole: bool) -> str:
    """JSON records (a DataFrame's ``to_json(orient="records")``) as a table, else text."""
    text = _text(data)
    if text is None:
        return ""
    try:
        value = json.loads(text) if whole else None
    except ValueError:
        value = None
    if isinstance(value, list) and value and all(isinstance(r, dict) for r in value):
        header = list(dict.fromkeys(k for r in value[:PREVIEW_ROWS] for k in r))
        rows = [[_cell(r.get(k)) for k in header] for r in value[:PREVIEW_ROWS]]
        return _table(header, rows, len(value))
    if value is not None:
        text = json.dumps(value, indent=2, ensure_ascii=False)
    return _text_block(text, whole)


def _cell(value: Any) -> Any:
    return value if value is None or isinstance(value, (int, float, str)) else json.dumps(value)


def _text_block(text: str, whole: bool) -> str:
    lines = text.splitlines()
    shown = lines[:PREVIEW_LINES]
    more = len(lines) > PREVIEW_LINES or not whole
    return text_preview("\n".join(shown), f"first {len(shown)} lines" if more else "")


def artifact_preview(store: Store, artifact: Artifact, limit: int = MAX_PREVIEW_BYTES) -> str:
    """A preview of an artifact by its kind (see the module docstring), else ``""``; images
    and whole-file formats only up to ``limit`` bytes."""
    media_type, size = artifact["media_type"], artifact["size"]
    suffix = _suffix(artifact["path"])
    whole = size <= limit
    if media_type in IMAGE_TYPES or suffix in (".parquet", ".pq"):
        data = _read(store, artifact, size) if whole else None
        if data is None:
            return ""
        if media_type in IMAGE_TYPES:
            return image_data_uri(media_type, data)
        return _parquet_preview(data)
    is_text = media_type.startswith("text/") or media_type in TEXT_TYPES
    if suffix not in TABLE_SUFFIXES and not is_text and suffix not in TEXT_SUFFIXES:
        return ""
    whole = size <= min(limit, PREVIEW_HEAD_BYTES) or (suffix == ".json" and whole)
    data = _read(store, artifact, size if whole else PREVIEW_HEAD_BYTES)
    if data is None:
        return ""
    if suffix in TABLE_SUFFIXES or media_type in ("text/csv", "text/tab-separated-values"):
        delimiter = TABLE_SUFFIXES.get(suffix, "\t" if "tab" in media_type else ",")
        return _csv_preview(data, delimiter, whole)
    if suffix == ".json" or media_type == "application/json":
        return _json_preview(data, whole)
    text = _text(data)
    return "" if text is None else _text_block(text, whole)


def source_block(source: str, open_: bool = True) -> str:
    """The source text in a collapsible, escaped ``<pre>``."""
    text = source if len(source) <= MAX_SOURCE_CHARS else source[:MAX_SOURCE_CHARS] + "\n…"
    lines = source.count("\n") + 1
    return (
        f'<details{" open" if open_ else ""}><summary style="{SECTION};cursor:pointer">'
        f"Source ({lines} line{'s' if lines != 1 else ''})</summary>"
        f'<pre style="{WIDTH_BOUND};overflow:auto;background:{SURFACE};padding:6px 8px;'
        "border-radius:4px;font-size:12px;max-height:360px;"
        f'white-space:pre">{esc(text)}</pre></details>'
    )


class RunDetail:
    """Everything about one run, shown as HTML (notebooks) or text (terminals)."""

    def __init__(self, run_id: str, store: Store | None = None) -> None:
        self.store = store if store is not None else tracking.current_store()
        self.run_id = self.store.resolve_run_id(run_id)
        self.detail = queries.run_detail(self.store, self.run_id)
        self.samples = {
            key: queries.sampled_points(self.store, self.run_id, key, SPARK_POINTS)
            for key in self.detail["metric_summary"]
        }

    def _duration(self) -> str:
        d = self.detail
        return run_duration(d["start_time"], d["end_time"], d["status"])

    def html(self) -> str:
        """The run as static HTML; every user string escaped."""
        d = self.detail
        parts = [
            f'<div class="jt-run-detail" style="{PANEL_TEXT};'
            f"border:1px solid {BORDER};border-radius:6px;padding:8px 12px;margin:6px 0;"
            f'{WIDTH_BOUND};max-width:min(980px,100%)">',
            f'<div style="font-size:14px"><b>{esc(d["name"])}</b> '
            f'<code style="color:{MUTED}">{esc(d["run_id"])}</code> '
            f"{status_badge(d['status'])}</div>",
            f'<div style="color:{MUTED};margin-top:2px">experiment {esc(d["experiment"])} · '
            "started "
            f"{esc(fmt_time(d['start_time']))} · {esc(self._duration())}"
            + (f" · parent {esc(d['parent_id'][:8])}" if d["parent_id"] else "")
            + (f" · re-run of {esc(d['rerun_of'][:8])}" if d["rerun_of"] else "")
            + (f" · {esc(d['notebook'])}" if d["notebook"] else "")
            + "</div>",
        ]
        if d["error"]:
            last = d["error"].strip().splitlines()[-1] if d["error"].strip() else ""
            parts.append(
                f'<details><summary style="color:{ERROR};cursor:pointer">{esc(last)}</summary>'
                f'<pre style="{WIDTH_BOUND};overflow:auto;font-size:11px;max-height:240px">'
                f"{esc(d['error'])}"
                "</pre></details>"
            )
        columns = []
        if d["params"]:
            columns.append(
                f'<div><div style="{SECTION}">Params</div>'
                + key_value_table([(esc(k), esc(v)) for k, v in sorted(d["params"].items())], True)
                + "</div>"
            )
        if d["metric_summary"]:
            columns.append(f'<div><div style="{SECTION}">Metrics</div>{self._metrics_html()}</div>')
        if d["tags"]:
            columns.append(
                f'<div><div style="{SECTION}">Tags</div>'
                + key_value_table([(esc(k), esc(v)) for k, v in sorted(d["tags"].items())])
                + "</div>"
            )
        if columns:
            parts.append(
                '<div style="display:flex;gap:28px;flex-wrap:wrap;align-items:flex-start">'
                + "".join(columns)
                + "</div>"
            )
        if d["artifacts"]:
            parts.append(f'<div style="{SECTION}">Artifacts</div>{self._artifacts_html()}')
        if d["source"]:
            parts.append(source_block(d["source"]))
        report = self._capture_html()
        if report:
            parts.append(report)
        parts.append("</div>")
        return "".join(parts)

    def _metrics_html(self) -> str:
        head = "".join(
            f'<th style="{CELL};color:{MUTED};font-weight:500;text-align:{align}">{h}</th>'
            for h, align in (
                ("metric", "left"),
                ("last", "right"),
                ("min", "right"),
                ("max", "right"),
                ("points", "right"),
                ("", "left"),
            )
        )
        rows = []
        for key, s in self.detail["metric_summary"].items():
            numbers = "".join(
                f'<td style="{CELL};{CODE_FONT};text-align:right">{esc(fmt_number(s[k]))}</td>'
                for k in ("last", "min", "max")
            )
            rows.append(
                f'<tr><td style="{CELL}">{esc(key)}</td>{numbers}'
                f'<td style="{CELL};text-align:right;color:{MUTED}">{s["count"]}</td>'
                f'<td style="{CELL}">{sparkline(self.samples.get(key, []))}</td></tr>'
            )
        return (
            '<table style="border-collapse:collapse;font-size:12px">'
            f"<tr>{head}</tr>{''.join(rows)}</table>"
        )

    def _artifacts_html(self) -> str:
        items = []
        budget = EMBED_BUDGET
        for a in self.detail["artifacts"]:
            preview = artifact_preview(self.store, a)
            embedded = None
            if a["size"] < EMBED_BYTES and a["size"] <= budget:
                embedded = _read(self.store, a, a["size"])
                budget -= len(embedded or b"")
            version = f" v{a['version']}" if a["version"] > 1 else ""
            items.append(
                f'<div class="jt-artifact" style="border:1px solid {RULE};border-radius:4px;'
                "padding:4px 6px;width:420px;max-width:100%;box-sizing:border-box;"
                'overflow-wrap:anywhere">'
                f"<div><code>{esc(a['path'])}</code>{esc(version)} "
                f'<span style="color:{MUTED}">{esc(fmt_size(a["size"]))} · '
                f"{esc(a['media_type'])}</span></div>"
                f"<div>{download_links(self.run_id, a['path'], embedded)}</div>{preview}</div>"
            )
        return '<div style="display:flex;gap:8px;flex-wrap:wrap">' + "".join(items) + "</div>"

    def _capture_html(self) -> str:
        capture = self.detail["capture"]
        if not capture:
            return ""
        health = capture_health(capture)
        rows = [(esc(what), ("✓ " if ok else "✗ ") + esc(detail)) for what, ok, detail in health]
        slice_ = capture.get("dependency_slice") or {}
        cells = slice_.get("cells") or []
        if cells:
            counts = ", ".join(f"In [{c.get('execution_count')}]" for c in cells)
            rows.append(("depends on", esc(counts)))
        if capture.get("execution_count") is not None:
            rows.append(("execution count", esc(capture["execution_count"])))
        warnings = "".join(
            f'<div style="color:{WARNING}">⚠ {esc(w)}</div>' for w in capture.get("warnings") or []
        )
        return (
            f'<details><summary style="{SECTION};cursor:pointer">Capture report</summary>'
            f"{key_value_table(rows)}{warnings}</details>"
        )

    def text(self) -> str:
        """The run as plain text."""
        d = self.detail
        lines = [
            f"run {d['name']} ({d['run_id'][:8]}) {d['status']} · {d['experiment']} · "
            f"{fmt_time(d['start_time'])} · {self._duration()}"
        ]
        if d["params"]:
            lines.append(
                "  params: " + ", ".join(f"{k}={v}" for k, v in sorted(d["params"].items()))
            )
        for key, s in d["metric_summary"].items():
            lines.append(
                f"  {key}: last {fmt_number(s['last'])}, min {fmt_number(s['min'])}, "
                f"max {fmt_number(s['max'])} ({s['count']} points)"
            )
        if d["tags"]:
            lines.append("  tags: " + ", ".join(f"{k}={v}" for k, v in sorted(d["tags"].items())))
        for a in d["artifacts"]:
            lines.append(f"  artifact: {a['path']} ({fmt_size(a['size'])}, {a['media_type']})")
        if d["error"]:
            lines.append("  error: " + (d["error"].strip().splitlines() or [""])[-1])
        return "\n".join(lines)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict:
        return {"text/plain": self.text(), "text/html": self.html()}
