"""Reading runs back: every read query, returning the records ``model`` declares.

The one serializer of runs: everything that shows or sends a run starts from these records.
"""

from __future__ import annotations

import base64
import gc
import json
import math
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal, cast

from .._limits import SYSTEM_TAG_PREFIX
from ..errors import InvalidInputError, RunNotFoundError
from ..model import RUN_COLUMNS, Artifact, Experiment, RunDetail, RunRecord
from . import Store, in_chunks
from ._schema import POINT_BLOCK
from .runs import unpack_capture

if TYPE_CHECKING:
    from ._filter import OrderKey

Row = tuple[Any, ...]
# Which runs a listing shows, by lifecycle (MLflow's ViewType): not deleted, deleted, both.
View = Literal["active", "deleted", "all"]
_VIEW_SQL = {"active": "r.deleted = 0", "deleted": "r.deleted = 1", "all": "1"}
Points = tuple[list[int], list[float], list[int]]  # steps, values, times (ms)
Position = tuple[list[Any], int]  # a cursor's values of the order keys, and the run's rowid
RunColumns = dict[str, dict[str, list[Any]]]  # "runs", "params", "metrics", "tags" -> columns
MAX_CURSOR_LENGTH = 20_000
_RUN_SELECT = (
    "SELECT r.id, r.name, r.status, e.name, r.start_time, r.end_time, r.parent_id, "
    "r.notebook, r.cell_id, r.rerun_of"
)


def _hidden_tags(system_tags: bool) -> str:
    """The GLOB pattern of the tag keys records leave out: MLflow's ``mlflow.*`` system
    tags unless asked for (``''`` matches no key: keys are never empty)."""
    return "" if system_tags else SYSTEM_TAG_PREFIX + "*"


def _nan(value: float | None) -> float:
    return math.nan if value is None else value


def records(
    store: Store,
    filter: str | None = None,
    order_by: str | list[str] | None = None,
    experiment: str | list[str] | None = None,
    offset: int = 0,
    limit: int | None = None,
    *,
    view: View = "active",
    system_tags: bool = False,
) -> list[RunRecord]:
    """Runs matching ``filter`` with their params (text), latest metrics and tags (MLflow's
    ``mlflow.*`` system tags too when ``system_tags``); ``view`` says which lifecycle.
    ``offset`` skips that many (a cost that grows with it: ``run_page`` pages by key)."""
    query = _SortedRuns(filter, order_by, experiment, view)
    with _many_rows():
        return _records(store, query.rows(store, limit, offset=offset), system_tags)


def run_page(
    store: Store,
    filter: str | None = None,
    order_by: str | list[str] | None = None,
    experiment: str | list[str] | None = None,
    limit: int = 50,
    after: str | None = None,
    *,
    skip: int = 0,
    view: View = "active",
    system_tags: bool = False,
) -> tuple[list[RunRecord], str | None]:
    """One page of ``records`` (keyset paging): the ``limit`` runs that follow the cursor
    ``after`` (None: the first page) in ``order_by``'s order, and the cursor of the next page
    (None after the last). A page costs the same wherever it is in the listing; a cursor is
    opaque text, valid for the same filter and order (else an ``InvalidInputError``).
    ``skip`` passes over that many runs after the cursor first (a jump, at its cost)."""
    query = _SortedRuns(filter, order_by, experiment, view)
    rows = query.rows(store, int(limit) + 1, int(skip), query.decode(store, after))
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = query.encode(rows[-1]) if more and rows else None
    return _records(store, rows, system_tags), cursor


def run_columns(
    store: Store,
    filter: str | None = None,
    order_by: str | list[str] | None = None,
    experiment: str | list[str] | None = None,
    limit: int | None = None,
    *,
    view: View = "active",
    system_tags: bool = False,
) -> RunColumns:
    """What ``records`` returns, as columns: ``{"runs": {column: values}, "params": {key:
    values}, "metrics": {...}, "tags": {...}}``, each list one value per run in order (None
    where a run has no such key; a NaN metric is None too). A DataFrame is built from it
    without a dict per run."""
    with _many_rows():
        rows = _SortedRuns(filter, order_by, experiment, view).rows(store, limit)
        return _columns(store, rows, system_tags)


@contextmanager
def _many_rows() -> Iterator[None]:
    """Reading up to hundreds of thousands of rows with Python's cyclic garbage collector
    paused: each row is a new tuple, which would set it off again and again, and every
    pass looks at all rows read so far (a 60% filter of 100,000 runs took 25% longer)."""
    with _BULK_LOCK:  # the first of overlapping reads (threads) pauses, the last resumes
        if not _BULK[0]:
            _BULK[1] = gc.isenabled()
            gc.disable()
        _BULK[0] += 1
    try:
        yield
    finally:
        with _BULK_LOCK:
            _BULK[0] -= 1
            if not _BULK[0] and _BULK[1]:
                gc.enable()


_BULK_LOCK = threading.Lock()
_BULK: list[Any] = [0, False]  # bulk reads under way; whether the collector was on before


def _columns(store: Store, rows: list[Row], system_tags: bool) -> RunColumns:
    """``run_columns`` of these rows of ``_SortedRuns``."""
    n = len(rows)
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(RUN_COLUMNS)
    out: RunColumns = {
        "runs": {c: list(values) for c, values in zip(RUN_COLUMNS, columns, strict=False)}
    }
    index = {run_id: i for i, run_id in enumerate(out["runs"]["run_id"])}
    ids = sorted(index)  # in key order, each chunk of lookups reads neighbouring pages
    for kind, rows_of in (
        ("params", _for_runs(store, "SELECT run_id, key, value FROM params", ids)),
        ("metrics", _for_runs(store, "SELECT run_id, key, last_value FROM series", ids)),
        (
            "tags",
            _for_runs(
                store,
                "SELECT run_id, key, value FROM tags",
                ids,
                "key NOT GLOB ?",
                _hidden_tags(system_tags),
            ),
        ),
    ):
        by_key: dict[str, list[Any]] = {}
        for run_id, key, value in rows_of:
            column = by_key.get(key)
            if column is None:
                column = by_key[key] = [None] * n
            column[index[run_id]] = value
        out[kind] = by_key
    return out


def _records(store: Store, rows: list[Row], system_tags: bool) -> list[RunRecord]:
    """Records of these runs' rows (``_RUN_SELECT``'s columns first), with their params,
    latest metrics and tags, read by run id."""
    out = [
        cast(
            RunRecord,
            {
                **dict(zip(RUN_COLUMNS, row[: len(RUN_COLUMNS)], strict=True)),
                "params": {},
                "metrics": {},
                "tags": {},
            },
        )
        for row in rows
    ]
    by_id = {rec["run_id"]: rec for rec in out}
    for run_id, key, value in _for_runs(store, "SELECT run_id, key, value FROM params", by_id):
        by_id[run_id]["params"][key] = value
    for run_id, key, value in _for_runs(store, "SELECT run_id, key, last_value FROM series", by_id):
        by_id[run_id]["metrics"][key] = _nan(value)
    tags = _for_runs(
        store,
        "SELECT run_id, key, value FROM tags",
        by_id,
        "key NOT GLOB ?",
        _hidden_tags(system_tags),
    )
    for run_id, key, value in tags:
        by_id[run_id]["tags"][key] = value
    return out


# The field kinds whose index hands out runs in the order of their value: (FROM clause
# driving the query from that index, the value, the condition on the key).
_DRIVERS = {
    "metric": ("series k0 CROSS JOIN runs r ON r.id = k0.run_id", "k0.last_value", "k0.key = ?"),
}
_JOIN_EXPERIMENT = " JOIN experiments e ON e.id = r.experiment_id"


class _SortedRuns:
    """The matching runs in ``order_by``'s order, read a page at a time in two parts: the
    runs that have a value for the first field, in that value's order (read from an index
    in that order when there is one: start time, status, run id, a metric; so a page costs
    about the page), then those without, in creation order.
    The order is ``compile_order_by``'s (missing values last, creation order breaks ties)."""

    def __init__(
        self,
        filter: str | None,
        order_by: str | list[str] | None,
        experiment: str | list[str] | None,
        view: View,
    ) -> None:
        from ._filter import order_keys

        self.keys = order_keys(order_by)
        self.where, self.args = _where(filter, experiment, view)
        self.op = "<" if self.keys[0].descending else ">"
        self.direction = "DESC" if self.keys[0].descending else "ASC"

    def _value(self) -> tuple[str, list[Any]]:
        """The first field's value in the first part, and its args."""
        primary = self.keys[0]
        if primary.kind in _DRIVERS:
            return _DRIVERS[primary.kind][1], []
        return primary.sql, list(primary.args)

    def _part(self, first: int, after: Position | None) -> tuple[str, list[Any]]:
        """``FROM ... WHERE ...`` and its args of part ``first`` (0: runs with a value for
        the first field, 1: without), after the cursor's position when given."""
        primary = self.keys[0]
        value, value_args = self._value()
        if first == 0 and primary.kind in _DRIVERS:
            source, _, on_key = _DRIVERS[primary.kind]
            sql = f"FROM {source}{_JOIN_EXPERIMENT} WHERE {on_key} AND {value} IS NOT NULL"
            args: list[Any] = [primary.key]
        elif first == 0:
            sql = f"FROM runs r{_JOIN_EXPERIMENT} WHERE {value} IS NOT NULL"
            args = list(value_args)
        else:
            sql = f"FROM runs r{_JOIN_EXPERIMENT} WHERE {primary.sql} IS NULL"
            args = list(primary.args)
        sql += f" AND {self.where}"
        args += self.args
        if after is not None:
            values, rowid = after
            tail, tail_args = self._after(self.keys[1:], values[1:], rowid)
            if first == 0:  # a range of the index, then the ties
                o = self.op
                tail = f"{value} {o}= ? AND ({value} {o} ? OR ({value} = ? AND {tail}))"
                tail_args = [*value_args, values[0]] * 3 + tail_args
            sql += f" AND {tail}"
            args += tail_args
        return sql, args

    def _after(self, keys: list[OrderKey], values: list[Any], rowid: int) -> tuple[str, list[Any]]:
        """The condition that a run comes after ``values`` (of ``keys``), then ``rowid``."""
        if not keys:
            return f"r.rowid {self.op} ?", [rowid]
        key, value = keys[0], values[0]
        tail, tail_args = self._after(keys[1:], values[1:], rowid)
        if value is None:  # only other missing values tie with it; none come after
            return f"({key.sql} IS NULL AND {tail})", [*key.args, *tail_args]
        op = "<" if key.descending else ">"
        sql = f"({key.sql} IS NULL OR {key.sql} {op} ? OR ({key.sql} = ? AND {tail}))"
        return sql, [*key.args, *key.args, value, *key.args, value, *tail_args]

    def _columns(self, first: int) -> tuple[str, list[Any], str, list[Any]]:
        """The SELECT list (run columns, each key's value, the rowid) and the ORDER BY of
        part ``first``, each with its args."""
        value, value_args = self._value() if first == 0 else ("NULL", [])
        columns, column_args = [value], list(value_args)
        order: list[str] = []
        order_args: list[Any] = []
        if first == 0:
            order.append(f"{value} {self.direction}")
            order_args += value_args
        for k in self.keys[1:]:
            columns.append(k.sql)
            column_args += k.args
            order.append(f"{k.sql} IS NULL, {k.sql} {'DESC' if k.descending else 'ASC'}")
            order_args += k.args + k.args
        order.append(f"r.rowid {self.direction}")
        select = f"{_RUN_SELECT}, {', '.join(columns)}, r.rowid"
        return select, column_args, ", ".join(order), order_args

    def rows(
        self, store: Store, limit: int | None, offset: int = 0, after: Position | None = None
    ) -> list[Row]:
        """Up to ``limit`` (None: all) rows, from ``offset`` or after the position ``after``."""
        rows: list[Row] = []
        in_second = after is not None and after[0][0] is None
        for first in (1,) if in_second else (0, 1):
            wanted = None if limit is None else limit - len(rows)
            if wanted is not None and wanted <= 0:
                break
            where, where_args = self._part(first, after if first == 0 or in_second else None)
            select, column_args, order, order_args = self._columns(first)
            got = store.read(
                f"{select} {where} ORDER BY {order} LIMIT ? OFFSET ?",
                [*column_args, *where_args, *order_args, -1 if wanted is None else wanted, offset],
            )
            if offset and not got and first == 0:  # the offset lies past the first part
                offset -= store.read(f"SELECT COUNT(*) {where}", where_args)[0][0]  # noqa: S608
            elif got:
                offset = 0
            rows += got
        return rows

    def encode(self, row: Row) -> str:
        """The cursor after ``row`` (one of ``rows``'): its keys' values, id and rowid."""
        n = len(RUN_COLUMNS)
        position = [list(row[n : n + len(self.keys)]), row[0], row[-1]]
        text = json.dumps(position, separators=(",", ":"))
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    def decode(self, store: Store, cursor: str | None) -> Position | None:
        """The position a cursor of ``encode`` names; the rowid is the run's own while it
        exists (``VACUUM`` may renumber rowids), else the one the cursor kept."""
        if cursor is None:
            return None
        try:
            if not isinstance(cursor, str) or len(cursor) > MAX_CURSOR_LENGTH:
                raise ValueError
            text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
            values, run_id, rowid = json.loads(text)
            if (
                not isinstance(values, list)
                or len(values) != len(self.keys)
                or not all(_sortable(v) for v in values)
                or type(run_id) is not str
                or type(rowid) is not int
                or not _SQL_INTEGERS[0] <= rowid <= _SQL_INTEGERS[1]
            ):
                raise ValueError
        except (ValueError, TypeError, UnicodeDecodeError, RecursionError):
            raise InvalidInputError(
                "This page cursor (after) was not given out by this listing with the same "
                "filter and order; start again from the first page."
            ) from None
        found = store.read("SELECT rowid FROM runs WHERE id = ?", (run_id,))
        return values, found[0][0] if found else rowid


_SQL_INTEGERS = (-(2**63), 2**63 - 1)  # what SQLite binds


def _sortable(value: object) -> bool:
    """Whether a cursor's value is one SQLite can compare: text, a finite float, an integer
    SQLite holds, or NULL."""
    if value is None or type(value) is str:
        return True
    if type(value) is float:
        return math.isfinite(value)
    return type(value) is int and _SQL_INTEGERS[0] <= value <= _SQL_INTEGERS[1]


def _for_runs(
    store: Store, select: str, run_ids: Iterable[str], where: str = "1", *args: Any
) -> list[Row]:
    """Rows of ``select`` for these runs (and the condition ``where`` with its ``args``)."""
    return in_chunks(store.read, f"{select} WHERE {where} AND run_id IN", run_ids, args)


def _source_text(store: Store, sha256: str) -> str:
    rows = store.read("SELECT text FROM sources WHERE sha256 = ?", (sha256,))
    return rows[0][0] if rows else ""


def run_detail(store: Store, run_id: str, system_tags: bool = False) -> RunDetail:
    """Everything stored about one run (its full id): record, typed params, source, capture,
    whether it is deleted (and MLflow's ``mlflow.*`` system tags among its tags when
    ``system_tags``)."""
    rows = store.read(
        "SELECT r.id, r.name, r.status, e.name, r.start_time, r.end_time, r.parent_id, "
        "r.notebook, r.cell_id, r.rerun_of, r.experiment_id, r.error, r.capture, s.text, "
        "r.host, r.pid, r.deleted FROM runs r JOIN experiments e ON e.id = r.experiment_id "
        "LEFT JOIN sources s ON s.id = r.source_id WHERE r.id = ?",
        (run_id,),
    )
    if not rows:
        raise RunNotFoundError(run_id)
    row = rows[0]
    detail: dict[str, Any] = dict(zip(RUN_COLUMNS, row, strict=False))
    detail.update(
        experiment_id=row[10],
        error=row[11],
        capture=(
            None
            if row[12] is None
            else unpack_capture(json.loads(row[12]), lambda sha: _source_text(store, sha))
        ),
        source=row[13],
        host=row[14],
        pid=row[15],
        deleted=bool(row[16]),
    )
    params = store.read("SELECT key, value, type FROM params WHERE run_id = ?", (run_id,))
    detail["params"] = {k: v for k, v, _ in params}
    detail["typed_params"] = {k: (v, t) for k, v, t in params}
    detail["param_history"] = [
        dict(zip(("key", "value", "type", "replaced_at"), r, strict=True))
        for r in store.read(
            "SELECT key, value, type, replaced_at FROM param_history WHERE run_id = ? "
            "ORDER BY replaced_at",
            (run_id,),
        )
    ]
    summaries = store.read(
        "SELECT key, last_value, last_step, count, min, max FROM series WHERE run_id = ? "
        "ORDER BY key",
        (run_id,),
    )
    detail["metrics"] = {k: _nan(v) for k, v, *_ in summaries}
    detail["metric_summary"] = {
        k: {"last": _nan(v), "step": s, "count": n, "min": _nan(lo), "max": _nan(hi)}
        for k, v, s, n, lo, hi in summaries
    }
    detail["tags"] = dict(
        store.read(
            "SELECT key, value FROM tags WHERE run_id = ? AND key NOT GLOB ?",
            (run_id, _hidden_tags(system_tags)),
        )
    )
    detail["artifacts"] = artifacts(store, run_id)
    return cast(RunDetail, detail)


def artifacts(store: Store, run_id: str) -> list[Artifact]:
    """The latest version of each artifact path of a run."""
    return [
        _artifact(r)
        for r in store.read(
            "SELECT path, MAX(version), sha256, size, media_type, created_at FROM artifacts "
            "WHERE run_id = ? GROUP BY path ORDER BY path",
            (run_id,),
        )
    ]


def _artifact(row: Row) -> Artifact:
    keys = ("path", "version", "sha256", "size", "media_type", "created_at")
    return cast(Artifact, dict(zip(keys, row, strict=True)))


def artifact_version(
    store: Store, run_id: str, path: str, version: int | None = None
) -> Artifact | None:
    """One stored version of an artifact path (the latest when ``version`` is None), or None."""
    sql = (
        "SELECT path, version, sha256, size, media_type, created_at FROM artifacts "
        "WHERE run_id = ? AND path = ?"
    )
    args: list[Any] = [run_id, path]
    if version is None:
        sql += " ORDER BY version DESC LIMIT 1"
    else:
        sql += " AND version = ?"
        args.append(version)
    rows = store.read(sql, args)
    return _artifact(rows[0]) if rows else None


def series_state(store: Store, run_id: str) -> list[tuple[str, int, tuple[int, float, int] | None]]:
    """For resuming: each metric's key, last step and last point."""
    return [
        (key, -1 if step is None else step, None if step is None else (step, _nan(value), t))
        for key, step, value, t in store.read(
            "SELECT key, last_step, last_value, last_time FROM series WHERE run_id = ?",
            (run_id,),
        )
    ]


def metric_points(store: Store, run_id: str, key: str) -> Points:
    """Steps, values (NaN kept) and times (ms) of one metric, in logging order."""
    rows = store.read(
        "SELECT p.step, p.value, p.time FROM points p JOIN series s ON s.id = p.series_id "
        "WHERE s.run_id = ? AND s.key = ? ORDER BY p.seq",
        (run_id, key),
    )
    if not rows:
        return [], [], []
    steps, values, times = (list(c) for c in zip(*rows, strict=True))
    return steps, [_nan(v) for v in values], times


def sampled_points(store: Store, run_id: str, key: str, n: int = 120) -> list[float]:
    """About ``n`` evenly spaced values of a metric (NaN kept), always with the last one."""
    rows = store.read(
        "SELECT s.id, s.count FROM series s WHERE s.run_id = ? AND s.key = ?", (run_id, key)
    )
    if not rows:
        return []
    series_id, count = rows[0]
    seqs = sorted({*range(0, count, max(1, -(-count // n))), count - 1} - {-1})
    marks = ",".join("?" * len(seqs))
    values = store.read(  # index lookups of the chosen points, not a scan of the series
        f"SELECT value FROM points WHERE series_id = ? AND seq IN ({marks}) ORDER BY seq",  # noqa: S608
        [series_id, *seqs],
    )
    return [_nan(v) for (v,) in values]


def previous_cell_run(store: Store, cell_id: str, run_id: str) -> str | None:
    """The latest earlier top-level run of the same notebook cell (``rerun_of``)."""
    rows = store.read(
        "SELECT id FROM runs WHERE cell_id = ? AND id != ? AND deleted = 0 "
        "AND parent_id IS NULL ORDER BY start_time DESC, rowid DESC LIMIT 1",
        (cell_id, run_id),
    )
    return rows[0][0] if rows else None


def experiments(store: Store) -> list[Experiment]:
    """Every experiment with its run count (kept by the store: no run is read)."""
    return [
        cast(Experiment, dict(zip(("id", "name", "created_at", "runs"), r, strict=True)))
        for r in store.read(
            "SELECT e.id, e.name, e.created_at, COALESCE(c.runs, 0) FROM experiments e "
            "LEFT JOIN run_counts c ON c.experiment_id = e.id ORDER BY e.id"
        )
    ]


# -- for the panels: counting, columns and drawing without reading every row ---------------


def _where(
    filter: str | None, experiment: str | list[str] | None, view: View = "active"
) -> tuple[str, list[Any]]:
    """The condition (over runs ``r`` and their experiment ``e``) that a run is one a filter
    selects (in one experiment, or any of a list; not deleted, or as ``view`` says), and its
    bound args."""
    from ._filter import compile_filter

    where, args = compile_filter(filter)
    sql = f"{_VIEW_SQL[view]} AND ({where})"
    if isinstance(experiment, str):
        sql += " AND e.name = ?"
        args = [*args, experiment]
    elif experiment is not None:
        names = list(experiment)
        sql += f" AND e.name IN ({','.join('?' * len(names))})"
        args = [*args, *names]
    return sql, args


def _matching(
    filter: str | None, experiment: str | list[str] | None, view: View = "active"
) -> tuple[str, list[Any]]:
    """``FROM ... WHERE ...`` of the runs a filter selects (see ``_where``), and its args;
    the experiment joined only when named (so SQLite may pick a partial index of runs)."""
    where, args = _where(filter, experiment, view)
    join = "" if experiment is None else _JOIN_EXPERIMENT
    return f"FROM runs r{join} WHERE {where}", args


def _unfiltered(filter: str | None) -> bool:
    return filter is None or not filter.strip()


def count_runs(store: Store, filter: str | None = None, experiment: str | None = None) -> int:
    """How many runs ``records`` would return with no limit (without a filter, the store's
    count per experiment: no run is read)."""
    if _unfiltered(filter):
        sql = "SELECT COALESCE(SUM(c.runs), 0) FROM run_counts c"
        if experiment is None:
            return int(store.read(sql)[0][0])
        sql += " JOIN experiments e ON e.id = c.experiment_id WHERE e.name = ?"
        return int(store.read(sql, (experiment,))[0][0])
    sql, args = _matching(filter, experiment)
    count: int = store.read(f"SELECT COUNT(*) {sql}", args)[0][0]  # noqa: S608
    return count


def any_runs(store: Store, filter: str | None = None, experiment: str | None = None) -> bool:
    """Whether ``records`` would return any run (it stops at the first)."""
    sql, args = _matching(filter, experiment)
    return bool(store.read(f"SELECT EXISTS (SELECT 1 {sql})", args)[0][0])  # noqa: S608


_KEY_TABLES = (("params", "params"), ("metrics", "series"), ("tags", "tags"))


def run_keys(
    store: Store, filter: str | None = None, experiment: str | None = None
) -> dict[str, list[str]]:
    """The param, metric and tag keys of the matching runs, sorted (the table's columns;
    MLflow's system tags left out, as in ``records``). Of every run (no filter, no
    experiment): the store's count of runs per key, so no run is read."""
    where, args = _where(filter, experiment)
    join = "" if experiment is None else _JOIN_EXPERIMENT
    out = {}
    for kind, table in _KEY_TABLES:
        hidden = _hidden_tags(table != "tags")
        if _unfiltered(filter) and experiment is None:
            rows = store.read(
                "SELECT key FROM key_counts WHERE kind = ? AND runs > 0 AND key NOT GLOB ? "
                "ORDER BY key",
                (kind, hidden),
            )
        else:
            rows = store.read(
                f"SELECT DISTINCT key FROM {table} WHERE run_id IN (SELECT r.id "  # noqa: S608
                f"FROM runs r{join} WHERE {where}) AND key NOT GLOB ? ORDER BY key",
                [*args, hidden],
            )
        out[kind] = [key for (key,) in rows]
    return out


def runs_signature(
    store: Store, filter: str | None = None, experiment: str | None = None
) -> tuple[Any, ...]:
    """A cheap fingerprint of the matching runs (how many; which run, as a count and a sum of
    rowids; the store's newest row): it changes when a matching run is added, deleted, ends
    or runs again. Each part is read from an index or a kept count. The run table polls it."""
    sql, args = _matching(filter, experiment)
    running = store.read(
        f"SELECT COUNT(*), TOTAL(r.rowid) {sql} AND r.status = 'RUNNING'",  # noqa: S608
        args,
    )[0]
    newest = store.read("SELECT MAX(rowid) FROM runs")[0][0]
    return count_runs(store, filter, experiment), *running, newest


def child_counts(store: Store, run_ids: list[str]) -> dict[str, int]:
    """How many (not deleted) child runs each of these runs has, for those with any."""
    from collections import Counter

    parents = _in_chunks(
        store, "SELECT parent_id FROM runs WHERE deleted = 0 AND parent_id IN", run_ids
    )
    return dict(Counter(parent for (parent,) in parents))


def origins(store: Store, run_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Where each run came from: notebook, cell id and execution count (from the capture)."""
    return {
        run_id: {"notebook": notebook, "cell_id": cell_id, "execution_count": count}
        for run_id, notebook, cell_id, count in _in_chunks(
            store,
            "SELECT id, notebook, cell_id, json_extract(capture, '$.execution_count') FROM runs "
            "WHERE id IN",
            run_ids,
        )
    }


def downsampled_points(store: Store, run_id: str, key: str, max_points: int = 4000) -> Points:
    """Like ``metric_points``, with ``min(max_points, count)`` points that keep the shape.

    A longer series keeps its first and last points; it is cut into ``(max_points - 2) // 3``
    buckets of consecutive points, each keeping its lowest and its highest point and, when it
    holds NaN points, its first NaN (a gap in the line); points evenly spread over the series
    fill the rest of the budget. Spikes, the global minimum and maximum, the gaps and both
    ends survive; SQLite finds the picks (index range scans per bucket), so a million points
    are never read into Python. A series long enough for buckets of whole blocks of
    ``POINT_BLOCK`` points takes its picks from the blocks' stored summaries instead: ten
    million points cost ten thousand summaries.
    """
    rows = store.read(
        "SELECT s.id, s.count FROM series s WHERE s.run_id = ? AND s.key = ?", (run_id, key)
    )
    if not rows or rows[0][1] <= max_points:
        return metric_points(store, run_id, key)
    series_id, count = rows[0]
    seqs = {0, count - 1}
    buckets = max(0, (max_points - 2) // 3)
    width = -(-count // buckets) if buckets else 0
    if width >= POINT_BLOCK and _from_blocks(store, series_id, count, width, seqs):
        buckets = 0  # picked from the blocks' summaries
    if buckets:
        in_bucket = "series_id = ?1 AND seq >= b * ?2 AND seq < (b + 1) * ?2"
        picks = store.read(
            "WITH RECURSIVE r(b) AS (SELECT 0 UNION ALL SELECT b + 1 FROM r WHERE b + 1 < ?3) "  # noqa: S608
            f"SELECT (SELECT CASE WHEN MIN(value) IS NULL THEN NULL ELSE seq END FROM points "
            f"WHERE {in_bucket}), "
            f"(SELECT CASE WHEN MAX(value) IS NULL THEN NULL ELSE seq END FROM points "
            f"WHERE {in_bucket}), "
            f"(SELECT MIN(CASE WHEN value IS NULL THEN seq END) FROM points WHERE {in_bucket}) "
            "FROM r",
            (series_id, width, -(-count // width)),
        )
        seqs |= {seq for row in picks for seq in row if seq is not None}
    seqs |= _spread(count, max_points - len(seqs), seqs)
    points = _in_chunks(
        store,
        "SELECT seq, step, value, time FROM points WHERE series_id = ? AND seq IN",
        sorted(seqs),
        [series_id],
    )
    points.sort()
    return (
        [p[1] for p in points],
        [_nan(p[2]) for p in points],
        [p[3] for p in points],
    )


def _from_blocks(store: Store, series_id: int, count: int, width: int, seqs: set[int]) -> bool:
    """Add to ``seqs`` the picks of ``downsampled_points`` from the summaries of the series'
    full blocks (buckets of whole blocks, at least ``width`` points each), and from the
    points after them; False, adding nothing, if a block has no summary (points written
    before schema 6 or by another tool): the caller then reads the points."""
    full = count // POINT_BLOCK
    blocks = store.read(
        "SELECT block, lo_seq, lo, hi_seq, hi, nan_seq FROM point_blocks "
        "WHERE series_id = ? AND block < ? ORDER BY block",
        (series_id, full),
    )
    if len(blocks) != full:
        return False
    per_bucket = -(-width // POINT_BLOCK)
    tail = store.read(
        "SELECT seq, value FROM points WHERE series_id = ? AND seq >= ?",
        (series_id, full * POINT_BLOCK),
    )
    groups = [blocks[i : i + per_bucket] for i in range(0, full, per_bucket)]
    groups.append([(full, *_summary(tail))] if tail else [])
    for group in groups:
        lows = [(lo, lo_seq) for _, lo_seq, lo, _, _, _ in group if lo is not None]
        highs = [(-hi, hi_seq) for _, _, _, hi_seq, hi, _ in group if hi is not None]
        gaps = [nan_seq for *_, nan_seq in group if nan_seq is not None]
        seqs |= {min(lows)[1], min(highs)[1]} if lows else set()
        seqs |= {min(gaps)} if gaps else set()
    return True


def _summary(points: list[Row]) -> tuple[Any, ...]:
    """(lo_seq, lo, hi_seq, hi, nan_seq) of ``(seq, value)`` rows, as ``point_blocks``."""
    numbers = [(v, seq) for seq, v in points if v is not None]
    gaps = [seq for seq, v in points if v is None]
    if not numbers:
        return None, None, None, None, gaps[0] if gaps else None
    lo = min(numbers)
    hi = min(numbers, key=lambda p: (-p[0], p[1]))
    return lo[1], lo[0], hi[1], hi[0], gaps[0] if gaps else None


def _spread(count: int, n: int, taken: set[int]) -> set[int]:
    """``n`` positions of ``range(count)`` outside ``taken``, evenly spread (``count`` is
    larger than ``n + len(taken)``, so a grid of that many positions has ``n`` free ones)."""
    if n <= 0:
        return set()
    grid = n + len(taken)
    free = sorted({round(i * (count - 1) / (grid - 1)) for i in range(grid)} - taken)
    if len(free) <= n:
        return set(free)
    return {free[round(j * (len(free) - 1) / max(1, n - 1))] for j in range(n)}


def _in_chunks(
    store: Store, select: str, values: list[Any], args: tuple[Any, ...] | list[Any] = ()
) -> list[Row]:
    return in_chunks(store.read, select, values, args)


def series_counts(store: Store, run_ids: list[str]) -> dict[tuple[str, str], int]:
    """How many points each metric of these runs has: ``{(run_id, key): count}``."""
    return {
        (run_id, key): count
        for run_id, key, count in _for_runs(store, "SELECT run_id, key, count FROM series", run_ids)
    }


def run_labels(store: Store, run_ids: list[str]) -> list[str]:
    """``name (short id)`` of each of these runs, for messages."""
    return [
        f"{name} ({run_id[:8]})"
        for run_id, name in _in_chunks(store, "SELECT id, name FROM runs WHERE id IN", run_ids)
    ]
