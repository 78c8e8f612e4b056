"""Reading runs back: every read query, returning the records ``model`` declares.

The one serializer of runs: everything that shows or sends a run starts from these records.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any, Literal, cast

from .._limits import SYSTEM_TAG_PREFIX
from ..errors import RunNotFoundError
from ..model import RUN_COLUMNS, Artifact, Experiment, RunDetail, RunRecord
from . import Store, in_chunks
from .runs import unpack_capture

Row = tuple[Any, ...]
# Which runs a listing shows, by lifecycle (MLflow's ViewType): not deleted, deleted, both.
View = Literal["active", "deleted", "all"]
_VIEW_SQL = {"active": "r.deleted = 0", "deleted": "r.deleted = 1", "all": "1"}
Points = tuple[list[int], list[float], list[int]]  # steps, values, times (ms)
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
    ``mlflow.*`` system tags too when ``system_tags``); ``view`` says which lifecycle."""
    from ._filter import compile_order_by

    matching, args = _matching(filter, experiment, view)
    order, order_args = compile_order_by(order_by)
    sql = f"{_RUN_SELECT} {matching} ORDER BY {order} LIMIT ? OFFSET ?"
    rows = store.read(sql, [*args, *order_args, -1 if limit is None else int(limit), int(offset)])
    out = [
        cast(
            RunRecord,
            {**dict(zip(RUN_COLUMNS, row, strict=True)), "params": {}, "metrics": {}, "tags": {}},
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


def _for_runs(
    store: Store, select: str, run_ids: Iterable[str], where: str = "1", *args: Any
) -> list[Row]:
    """Rows of ``select`` for these runs (and the condition ``where`` with its ``args``)."""
    return in_chunks(store.read, f"{select} WHERE {where} AND run_id IN", run_ids, args)


def _source_text(store: Store, sha256: str) -> str:
    rows = store.read("SELECT text FROM sources WHERE sha256 = ?", (sha256,))
    return rows[0][0] if rows else ""


def run_detail(store: Store, run_id: str, system_tags: bool = False) -> RunDetail:
    """Everything stored about one run (its full id): record, typed params, source, capture
    (and MLflow's ``mlflow.*`` system tags among its tags when ``system_tags``)."""
    rows = store.read(
        "SELECT r.id, r.name, r.status, e.name, r.start_time, r.end_time, r.parent_id, "
        "r.notebook, r.cell_id, r.rerun_of, r.experiment_id, r.error, r.capture, s.text, "
        "r.host, r.pid FROM runs r JOIN experiments e ON e.id = r.experiment_id "
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
    """Every experiment with its run count."""
    return [
        cast(Experiment, dict(zip(("id", "name", "created_at", "runs"), r, strict=True)))
        for r in store.read(
            "SELECT e.id, e.name, e.created_at, COUNT(r.id) FROM experiments e "
            "LEFT JOIN runs r ON r.experiment_id = e.id AND r.deleted = 0 "
            "GROUP BY e.id ORDER BY e.id"
        )
    ]


# -- for the panels: counting, columns and drawing without reading every row ---------------


def _matching(
    filter: str | None, experiment: str | list[str] | None, view: View = "active"
) -> tuple[str, list[Any]]:
    """``FROM ... WHERE ...`` of the runs a filter selects (in one experiment, or any of a
    list; not deleted, or as ``view`` says), and its bound args."""
    from ._filter import compile_filter

    where, args = compile_filter(filter)
    sql = (
        "FROM runs r JOIN experiments e ON e.id = r.experiment_id "
        f"WHERE {_VIEW_SQL[view]} AND ({where})"
    )
    if isinstance(experiment, str):
        sql += " AND e.name = ?"
        args = [*args, experiment]
    elif experiment is not None:
        names = list(experiment)
        sql += f" AND e.name IN ({','.join('?' * len(names))})"
        args = [*args, *names]
    return sql, args


def count_runs(store: Store, filter: str | None = None, experiment: str | None = None) -> int:
    """How many runs ``records`` would return with no limit."""
    sql, args = _matching(filter, experiment)
    count: int = store.read(f"SELECT COUNT(*) {sql}", args)[0][0]  # noqa: S608
    return count


def run_keys(
    store: Store, filter: str | None = None, experiment: str | None = None
) -> dict[str, list[str]]:
    """The param, metric and tag keys of the matching runs, sorted (the table's columns;
    MLflow's system tags left out, as in ``records``)."""
    sql, args = _matching(filter, experiment)
    out = {}
    for kind, table in (("params", "params"), ("metrics", "series"), ("tags", "tags")):
        rows = store.read(
            f"SELECT DISTINCT key FROM {table} WHERE run_id IN (SELECT r.id {sql}) "  # noqa: S608
            "AND key NOT GLOB ? ORDER BY key",
            [*args, _hidden_tags(table != "tags")],
        )
        out[kind] = [key for (key,) in rows]
    return out


def runs_signature(
    store: Store, filter: str | None = None, experiment: str | None = None
) -> tuple[Any, ...]:
    """A cheap fingerprint of the matching runs (count, newest row, how many run, latest
    end): it changes when a run is added, deleted or ends. The run table polls it."""
    sql, args = _matching(filter, experiment)
    select = "SELECT COUNT(*), MAX(r.rowid), SUM(r.status = 'RUNNING'), MAX(r.end_time)"
    return tuple(store.read(f"{select} {sql}", args)[0])


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
    are never read into Python.
    """
    rows = store.read(
        "SELECT s.id, s.count FROM series s WHERE s.run_id = ? AND s.key = ?", (run_id, key)
    )
    if not rows or rows[0][1] <= max_points:
        return metric_points(store, run_id, key)
    series_id, count = rows[0]
    seqs = {0, count - 1}
    buckets = max(0, (max_points - 2) // 3)
    if buckets:
        width = -(-count // buckets)
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
