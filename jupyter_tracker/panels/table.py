"""The run table: a page of runs at a time, sorted, filtered and paged by the store.

The view (``_table.js``, an anywidget ES module) shows the rows it is sent and turns
clicks into trait changes: ``filter``, ``sort_by``/``descending``, ``page``, ``columns``,
``selected``, ``opened``. Python answers each with one page of rows from
``queries.run_page`` (SQL does the filtering and sorting, from indexes; pages follow
each other by cursor, not offset), so 100,000 runs open about as fast as 50 and the browser
never holds more than a page. ``.df`` is the DataFrame of every
matching run, read only when asked for.

A filter the grammar refuses is shown in the table (``error``), never raised, and the
last good result stays. Unless columns were chosen, they are the keys of the matching runs.
While a shown page has RUNNING runs, a thread re-reads it every ``POLL_INTERVAL_S`` seconds;
it stops when none is left running or the table is closed. Runs started elsewhere appear by
themselves: while shown, the view asks every few seconds (``POLL_STORE_MS``, less often
while nothing changes) and Python reads the page again only when the store's fingerprint of
the matching runs changed (``queries.runs_signature``).

Rows of a page nest: a child run (a sweep's combination) sits indented under its parent when
both are on the page, the parent showing how many children it has; a re-run of a cell links
to the run it re-ran (``rerun_of``).
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import ipywidgets as widgets
import traitlets

from .. import tracking
from ..dataframes import runs_frame
from ..errors import InvalidInputError, TrackerError
from ..model import Experiment, RunRecord
from ..render.colors import (
    BORDER,
    ERROR,
    MUTED,
    RULE,
    STATUS_COLORS,
    UNKNOWN_STATUS_COLOR,
    css_variables,
)
from ..render.formats import (
    fmt_number,
    fmt_param,
    fmt_time,
    plural,
    run_duration,
    terminal_cell,
    terminal_text,
    text_table,
)
from ..render.html import PANEL_TEXT, WIDTH_BOUND, esc, status_badge
from ..store import queries
from . import has_frontend, with_static_view

if TYPE_CHECKING:
    import pandas as pd

    from ..store import Store
    from .comparison import Comparison

POLL_INTERVAL_S = 2.0
POLL_STORE_MS = (2_000, 15_000)  # the view's store polls: first interval, longest back-off
PAGE_SIZE = 50
MAX_DEFAULT_KEYS = 12  # params and metrics shown by default, each (the rest: Columns ▾)

# column id -> (header label, the order_by field that sorts it)
ATTRIBUTES: dict[str, tuple[str, str]] = {
    "status": ("status", "status"),
    "name": ("name", "name"),
    "run_id": ("id", "run_id"),
    "experiment": ("experiment", "experiment"),
    "start_time": ("started", "start_time"),
    "duration": ("duration", "duration"),
    "source": ("notebook · cell", "notebook"),
}
DEFAULT_ATTRIBUTES = ("status", "name", "run_id", "start_time", "duration", "source")
KINDS = {"metrics": "metric", "params": "param", "tags": "tag"}
_SINGULAR = {"metric": "metrics", "param": "params", "tag": "tags"}

_HERE = Path(__file__).parent


def order_field(column: str) -> str:
    """The ``order_by`` field of a column id (keys quoted, so any key sorts)."""
    if column in ATTRIBUTES:
        return ATTRIBUTES[column][1]
    kind, _, key = column.partition(".")
    return f"{kind}.`{key}`"


def cell_text(record: RunRecord, column: str, origin: dict | None, now_ms: int) -> str:
    """What a table cell shows for ``record`` (a ``queries.records`` dict)."""
    if column == "run_id":
        return record["run_id"][:8]
    if column == "start_time":
        return fmt_time(record["start_time"])
    if column == "duration":
        return run_duration(record["start_time"], record["end_time"], record["status"], now_ms)
    if column == "source":
        return source_text(origin or {})
    if column in ATTRIBUTES:
        value = record.get(column)
        return "" if value is None else str(value)
    kind, _, key = column.partition(".")
    values: dict[str, Any] = record.get(kind) or {}  # type: ignore[assignment]
    value = values.get(key)
    if value is None:
        return ""
    if kind == "metrics":
        return fmt_number(value)
    return fmt_param(value) if kind == "params" else str(value)


def name_marks(row: dict[str, Any]) -> tuple[str, str]:
    """What a row's name cell shows around the name in the static forms: an indent and
    ``↳`` under a parent of the page; after it, how many children it has and which run it
    re-ran (the view draws the same as controls)."""
    before = "  " * max(0, row["depth"] - 1) + ("↳ " if row["depth"] else "")
    after = []
    if row["children"]:
        after.append(f"({plural(row['children'], 'run')})")
    if row["rerun_of"]:
        after.append(f"↻ re-run of {row['rerun_of'][:8]}")
    return before, " ".join(after)


def nested(records: list[RunRecord]) -> list[tuple[RunRecord, int]]:
    """The page's runs, each child right under its parent when both are on the page, with
    its depth (0: not under another run of the page); otherwise in the page's order."""
    on_page = {r["run_id"] for r in records}
    children: dict[str, list[RunRecord]] = {}
    top = []
    for r in records:
        parent = r["parent_id"]
        if parent in on_page and parent != r["run_id"]:
            children.setdefault(parent, []).append(r)
        else:
            top.append(r)
    out: list[tuple[RunRecord, int]] = []
    seen: set[str] = set()

    def add(record: RunRecord, depth: int) -> None:
        if record["run_id"] in seen:
            return
        seen.add(record["run_id"])
        out.append((record, depth))
        for child in children.get(record["run_id"], []):
            add(child, depth + 1)

    for r in top:
        add(r, 0)
    for r in records:  # runs whose parents form a loop: at the top, once
        add(r, 0)
    return out


def source_text(origin: dict) -> str:
    """``analysis.ipynb · In [12]``: the notebook and cell a run came from, if known."""
    notebook = origin.get("notebook")
    count = origin.get("execution_count")
    cell = f"In [{count}]" if count is not None else (origin.get("cell_id") or "")[:8]
    parts = [os.path.basename(notebook) if notebook else "", cell]
    return " · ".join(p for p in parts if p)


class RunTable(anywidget.AnyWidget):
    """The inline run table (``jt.runs()``); ``.df`` is the DataFrame of every matching run.

    Set ``filter``, ``sort_by``/``descending``, ``page`` or ``columns`` from Python or
    click in the table; ``open_run(run_id)`` shows a run's detail and ``compare(ids)`` the
    comparison below the table.
    """

    _esm = (_HERE / "_table.js").read_text()
    _css = f".jt-table{{{css_variables()}}}" + (_HERE / "_table.css").read_text()

    filter = traitlets.Unicode("").tag(sync=True)
    sort_by = traitlets.Unicode("start_time").tag(sync=True)
    descending = traitlets.Bool(True).tag(sync=True)
    page = traitlets.Int(0).tag(sync=True)
    page_size = traitlets.Int(PAGE_SIZE).tag(sync=True)
    total = traitlets.Int(0).tag(sync=True)
    columns = traitlets.List(traitlets.Unicode()).tag(sync=True)
    all_columns: traitlets.List[list[str]] = traitlets.List().tag(sync=True)  # [id, group, label]
    rows: traitlets.List[dict[str, Any]] = traitlets.List().tag(
        sync=True
    )  # {"id", "status", "cells"}
    error = traitlets.Unicode("").tag(sync=True)
    selected = traitlets.List(traitlets.Unicode()).tag(sync=True)
    opened = traitlets.Unicode("").tag(sync=True)
    live = traitlets.Bool(False).tag(sync=True)
    # The statuses and their badge colours: the view has no list of its own.
    status_colors = traitlets.Dict(STATUS_COLORS).tag(sync=True)
    unknown_status_color = traitlets.Unicode(UNKNOWN_STATUS_COLOR).tag(sync=True)
    poll_store_ms = traitlets.List(traitlets.Int(), list(POLL_STORE_MS)).tag(sync=True)

    def __init__(
        self,
        filter: str | None = None,
        experiment: str | None = None,
        columns: list[str] | None = None,
        page_size: int = PAGE_SIZE,
        store: Store | None = None,
    ) -> None:
        super().__init__()
        self.store = store if store is not None else tracking.current_store()
        self.experiment = experiment
        self._lock = threading.RLock()
        self._ready = False
        self._shown_filter: str | None = None  # the last filter that parsed
        self._df: pd.DataFrame | None = None
        self._cursors: dict[int, str | None] = {0: None}  # page -> the cursor that reads it
        self._displayed = False
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None
        self.below = widgets.VBox()
        self.panel = widgets.VBox([self, self.below])
        self.on_msg(self._on_message)

        self._signature = queries.runs_signature(self.store, filter, experiment)
        self.total = queries.count_runs(self.store, filter, experiment)  # a bad filter raises
        self.filter = filter or ""
        self._shown_filter = filter or None
        self._chosen_columns = columns is not None  # else they follow the matching runs
        self.page_size = page_size
        self._load_columns()
        self.columns = self._resolve(columns) if columns is not None else self._default_columns()
        self._ready = True
        self._load_page()

    # -- columns ------------------------------------------------------------------------

    def _load_columns(self) -> None:
        """The columns the chooser offers: the run's attributes and the keys of the runs the
        shown filter matches."""
        keys = queries.run_keys(self.store, self._shown_filter, self.experiment)
        self._keys = keys
        columns = [[c, "", label] for c, (label, _) in ATTRIBUTES.items()]
        for kind, group in KINDS.items():
            columns += [[f"{kind}.{key}", group, key] for key in keys[kind]]
        known = {c[0] for c in columns}
        columns += [
            [c, KINDS[c.partition(".")[0]], c.partition(".")[2]]
            for c in self.columns
            if c not in known
        ]
        self.all_columns = columns

    def _default_columns(self) -> list[str]:
        attributes = list(DEFAULT_ATTRIBUTES)
        in_notebooks = "notebook IS NOT NULL"
        if self._shown_filter:
            in_notebooks = f"({self._shown_filter}) and {in_notebooks}"
        if not queries.any_runs(self.store, in_notebooks, self.experiment):
            attributes.remove("source")  # no run came from a notebook: an empty column
        if self.experiment is None and sum(e["runs"] > 0 for e in self._experiments()) > 1:
            attributes.insert(3, "experiment")
        return (
            attributes
            + [f"metrics.{k}" for k in self._keys["metrics"][:MAX_DEFAULT_KEYS]]
            + [f"params.{k}" for k in self._keys["params"][:MAX_DEFAULT_KEYS]]
        )

    def _experiments(self) -> list[Experiment]:
        return queries.experiments(self.store)

    def _resolve(self, columns: list[str]) -> list[str]:
        """Column ids from what users write: ``status``, ``params.alpha``, or a bare key."""
        out = []
        for column in columns:
            kind, dot, key = str(column).partition(".")
            kind = _SINGULAR.get(kind, kind)
            if column in ATTRIBUTES:
                out.append(column)
            elif dot and kind in KINDS and key:
                out.append(f"{kind}.{key}")
            else:
                matches = [f"{k}.{column}" for k in KINDS if column in self._keys[k]]
                if len(matches) != 1:
                    raise InvalidInputError(
                        f"Unknown column {column!r}: give one of {', '.join(ATTRIBUTES)}, or "
                        "params.<key>, metrics.<key>, tags.<key>"
                        + (f" (it could be {' or '.join(matches)})." if matches else ".")
                    )
                out.append(matches[0])
        self.columns = out
        self._load_columns()
        return out

    # -- queries ------------------------------------------------------------------------

    @property
    def order_by(self) -> list[str]:
        """The ``order_by`` the table sorts with (as ``search_runs`` takes it)."""
        if not self.sort_by:
            return []
        return [f"{order_field(self.sort_by)} {'DESC' if self.descending else 'ASC'}"]

    def _load_page(self) -> None:
        """Read the current page of the current (valid) query into ``rows``."""
        with self._lock:
            pages = max(1, -(-self.total // max(1, self.page_size)))
            if self.page >= pages:
                self.page = pages - 1  # observed: loads that page
                return
            page = max(0, self.page)
            known = max(p for p in self._cursors if p <= page)  # the nearest page before
            records, after = queries.run_page(
                self.store,
                self._shown_filter,
                self.order_by,
                self.experiment,
                limit=self.page_size,
                after=self._cursors[known],
                skip=(page - known) * self.page_size,
            )
            if after is not None:
                self._cursors[page + 1] = after
            columns = list(self.columns)
            ids = [r["run_id"] for r in records]
            origins = queries.origins(self.store, ids) if "source" in columns else {}
            children = queries.child_counts(self.store, ids)
            now = int(time.time() * 1000)
            self._records = records
            self.rows = [
                {
                    "id": r["run_id"],
                    "status": r["status"],
                    "cells": [cell_text(r, c, origins.get(r["run_id"]), now) for c in columns],
                    "parent_id": r["parent_id"] or "",
                    "depth": depth,
                    "children": children.get(r["run_id"], 0),
                    "rerun_of": r["rerun_of"] or "",
                }
                for r, depth in nested(records)
            ]
            self.live = any(r["status"] == "RUNNING" for r in records)
        if self.live:
            self._start_polling()

    def _query(self, filter: str | None) -> None:
        """Run ``filter`` (and the sort); its error is shown, the last good rows stay. The
        columns follow the matching runs unless they were chosen."""
        with self._lock:
            try:
                from ..store._filter import compile_order_by

                compile_order_by(self.order_by)
                signature = queries.runs_signature(self.store, filter, self.experiment)
                total = queries.count_runs(self.store, filter, self.experiment)
            except TrackerError as exc:
                self.error = str(exc)
                return
            self.error = ""
            self._shown_filter = filter
            self._signature = signature
            self._df = None
            self._cursors = {0: None}
            self.total = total
            self._load_columns()
            if not self._chosen_columns:
                ready, self._ready = self._ready, False  # one page load, below
                try:
                    self.columns = self._default_columns()
                finally:
                    self._ready = ready
            self._load_page()

    @traitlets.observe("filter", "sort_by", "descending")
    def _on_query(self, change: dict) -> None:
        if not self._ready:
            return
        with self._lock:
            self._ready = False  # a new query starts on its first page
            self.page = 0
            self._ready = True
            self._query(self.filter.strip() or None)

    @traitlets.observe("page", "page_size", "columns")
    def _on_page(self, change: dict) -> None:
        if not self._ready:
            return
        if change["name"] == "columns":
            self._chosen_columns = True
            self._load_columns()
        elif change["name"] == "page_size":
            self._cursors = {0: None}
        self._load_page()

    def refresh(self) -> None:
        """Read the store again: new runs, new keys (columns), changed statuses."""
        self._query(self._shown_filter)

    def poll_store(self) -> bool:
        """Read the store again if its matching runs changed (added, deleted, ended) since the
        table last read them; whether they had. What the shown view asks every few seconds."""
        with self._lock:
            try:
                signature = queries.runs_signature(self.store, self._shown_filter, self.experiment)
            except TrackerError:
                return False
            if signature == self._signature:
                return False
            self._query(self._shown_filter)
            return True

    @property
    def df(self) -> pd.DataFrame:
        """Every run the table's filter matches, in its order, as ``search_runs`` returns."""
        with self._lock:
            if self._df is None:
                self._df = runs_frame(
                    self.store,
                    queries.run_columns(
                        self.store,
                        self._shown_filter,
                        self.order_by,
                        self.experiment,
                        system_tags=True,
                    ),
                )
            return self._df

    # -- opening runs, comparing them -------------------------------------------------------

    def _on_message(self, _widget: Any, content: dict, _buffers: Any) -> None:
        event = content.get("event") if isinstance(content, dict) else None
        if event == "compare":
            self.compare()
        elif event == "refresh":
            self.refresh()
        elif event == "poll":
            self.send({"event": "polled", "changed": self.poll_store()})

    def open_run(self, run_id: str) -> None:
        """Show the detail of run ``run_id`` below the table (``""`` closes it)."""
        self.opened = run_id

    @traitlets.observe("opened")
    def _on_opened(self, change: dict) -> None:
        run_id = change["new"]
        if not run_id:
            self.below.children = ()
            return
        from .detail import RunDetail

        try:
            detail = RunDetail(self.store.resolve_run_id(run_id), store=self.store)
        except TrackerError as exc:
            self._note(str(exc))
            return
        self.below.children = (widgets.HTML(detail.html()),)

    def compare(self, run_ids: list[str] | None = None) -> Comparison | None:
        """Show the comparison of ``run_ids`` (default: the selected runs) below the table."""
        from .comparison import Comparison

        try:
            comparison = Comparison(self.selected if run_ids is None else run_ids, store=self.store)
        except TrackerError as exc:
            self._note(str(exc))
            return None
        self.opened = ""
        self.below.children = (comparison,)
        return comparison

    def _note(self, text: str) -> None:
        self.below.children = (
            widgets.HTML(f'<div style="color:{ERROR};font-size:12px">{esc(text)}</div>'),
        )

    # -- live refresh of RUNNING rows --------------------------------------------------------

    def _start_polling(self) -> None:
        with self._lock:
            if not self._displayed or self._stop.is_set():
                return
            if self._poller is not None and self._poller.is_alive():
                return
            self._poller = threading.Thread(
                target=_poll,
                args=(weakref.ref(self), self._stop),
                name="jupyter-tracker-table",
                daemon=True,
            )
            self._poller.start()

    def poll_once(self) -> bool:
        """Re-read the shown page (what the live thread does); whether any run still runs."""
        with self._lock:
            try:
                self.total = queries.count_runs(self.store, self._shown_filter, self.experiment)
                self._load_page()
            except TrackerError:
                self.live = False
            if not self.live:
                self._poller = None
            return self.live

    def close(self) -> None:
        """Stop the live refresh and close the table, its detail area and its panel."""
        stop = getattr(self, "_stop", None)
        if stop is not None:
            stop.set()
        below = getattr(self, "below", None)
        if below is not None:
            for child in below.children:
                child.close()
            below.close()
            self.panel.close()
        super().close()

    # -- display --------------------------------------------------------------------------

    def _repr_mimebundle_(self, **kwargs: Any) -> dict:  # type: ignore[override]
        text = self.text()
        if not has_frontend():
            return {"text/plain": text}
        self._displayed = True
        if self.live:
            self._start_polling()
        return with_static_view(self.panel._repr_mimebundle_(**kwargs), text, self.html())

    def __repr__(self) -> str:
        return f"<RunTable: {self.total} runs, filter {self._shown_filter or ''!r}>"

    def _header(self) -> str:
        first = self.page * self.page_size + 1 if self.total else 0
        last = min(self.total, (self.page + 1) * self.page_size)
        text = f"{first}–{last} of {self.total} runs"
        if self._shown_filter:
            text += f" matching {self._shown_filter}"
        if self.sort_by:
            text += f", sorted by {self.sort_by} {'desc' if self.descending else 'asc'}"
        return text

    def _labels(self) -> list[str]:
        labels = {c[0]: c[2] for c in self.all_columns}
        return [labels.get(c, c) for c in self.columns]

    def text(self) -> str:
        """The shown page as plain text (terminals, ``text/plain``): the run columns aligned,
        then the shown metrics, params and tags as ``key=value`` (wide tables stay legible)."""
        plain = [i for i, c in enumerate(self.columns) if c in ATTRIBUTES]
        groups = [
            (kind, [i for i, c in enumerate(self.columns) if c.startswith(kind + ".")])
            for kind in KINDS
        ]
        groups = [(kind, idx) for kind, idx in groups if idx]
        labels = self._labels()
        header = [labels[i] for i in plain] + [kind for kind, _ in groups]

        def cell(row: dict, i: int) -> str:
            if self.columns[i] != "name":
                return terminal_cell(row["cells"][i])
            before, after = name_marks(row)
            return before + terminal_cell(row["cells"][i]) + (" " + after if after else "")

        rows = [
            [cell(row, i) for i in plain]
            + [
                terminal_text(
                    ", ".join(f"{labels[i]}={row['cells'][i]}" for i in idx if row["cells"][i])
                )
                for _, idx in groups
            ]
            for row in self.rows
        ]
        footer = self._header() + (" (.df has them all)" if self.total > len(self.rows) else "")
        if self.error:
            footer += "\nfilter error: " + self.error
        if not self.rows:
            return f"No runs. ({self._header()})"
        return text_table(header, rows) + "\n" + footer

    def html(self) -> str:
        """The shown page as static HTML (saved notebooks, GitHub, nbviewer); all escaped."""
        head = "".join(
            f'<th style="text-align:left;padding:3px 8px;border-bottom:1px solid {BORDER};'
            f'white-space:nowrap">{esc(label)}</th>'
            for label in self._labels()
        )
        body = []
        for row in self.rows:
            cells = []
            for column, value in zip(self.columns, row["cells"], strict=True):
                shown = status_badge(value) if column == "status" else esc(value)
                if column == "name":
                    before, after = name_marks(row)
                    shown = esc(before) + shown
                    shown += f' <span style="color:{MUTED}">{esc(after)}</span>' if after else ""
                align = "right" if column.startswith("metrics.") else "left"
                cells.append(
                    f'<td style="text-align:{align};padding:2px 8px;border-bottom:1px solid '
                    f'{RULE};white-space:nowrap">{shown}</td>'
                )
            body.append("<tr>" + "".join(cells) + "</tr>")
        return (
            f'<div class="jt-runs" style="{PANEL_TEXT}">'
            f'<div style="color:{MUTED};margin-bottom:4px">{esc(self._header())}</div>'
            f'<div style="{WIDTH_BOUND}"><table style="border-collapse:collapse">'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div></div>"
        )


def _poll(ref: weakref.ref, stop: threading.Event) -> None:
    """The live thread: re-read the table's page until nothing on it runs (or it closes)."""
    while not stop.wait(POLL_INTERVAL_S):
        table = ref()
        if table is None or table.comm is None:  # collected, or closed by the frontend
            return
        try:
            running = table.poll_once()
        except Exception:  # the store went away, the widget closed: stop quietly
            running = False
        del table
        if not running:
            return
