"""One run in full, as static HTML and text: what a click on a table row opens.

Params, metrics (with small curves), tags, artifacts (images previewed inline as data URIs
up to ``MAX_PREVIEW_BYTES``), the source that ran, and the capture report. Plain HTML with
inline styles, so it reads the same in a live notebook and a saved one.
"""

from __future__ import annotations

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
    esc,
    image_data_uri,
    key_value_table,
    status_badge,
)
from ..store import Store, queries

MAX_PREVIEW_BYTES = 1_000_000
SPARK_POINTS = 120
MAX_SOURCE_CHARS = 200_000

SECTION = "margin:10px 0 4px;font-weight:600;font-size:13px"
CELL = "padding:2px 10px 2px 0;vertical-align:top"


def artifact_preview(store: Store, artifact: Artifact, limit: int = MAX_PREVIEW_BYTES) -> str:
    """An inline ``<img>`` of an image artifact no larger than ``limit``, else ``""``."""
    if artifact["media_type"] not in IMAGE_TYPES or artifact["size"] > limit:
        return ""
    try:
        with store.open_blob(artifact["sha256"], limit) as blob:
            data = blob.read()
    except (OSError, TrackerError):  # gone, altered, or not a regular file: no preview
        return ""
    return image_data_uri(artifact["media_type"], data)


def source_block(source: str, open_: bool = True) -> str:
    """The source text in a collapsible, escaped ``<pre>``."""
    text = source if len(source) <= MAX_SOURCE_CHARS else source[:MAX_SOURCE_CHARS] + "\n…"
    lines = source.count("\n") + 1
    return (
        f'<details{" open" if open_ else ""}><summary style="{SECTION};cursor:pointer">'
        f"Source ({lines} line{'s' if lines != 1 else ''})</summary>"
        f'<pre style="background:{SURFACE};padding:6px 8px;'
        "border-radius:4px;font-size:12px;max-height:360px;overflow:auto;"
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
            '<div class="jt-run-detail" style="font-family:system-ui,sans-serif;font-size:12px;'
            f"border:1px solid {BORDER};border-radius:6px;padding:8px 12px;margin:6px 0;"
            'max-width:980px">',
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
                f'<pre style="font-size:11px;max-height:240px;overflow:auto">{esc(d["error"])}'
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
        for a in self.detail["artifacts"]:
            preview = artifact_preview(self.store, a)
            version = f" v{a['version']}" if a["version"] > 1 else ""
            items.append(
                f'<div style="border:1px solid {RULE};border-radius:4px;padding:4px 6px;'
                'max-width:320px">'
                f"<div><code>{esc(a['path'])}</code>{esc(version)} "
                f'<span style="color:{MUTED}">{esc(fmt_size(a["size"]))} · '
                f"{esc(a['media_type'])}</span></div>{preview}</div>"
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
