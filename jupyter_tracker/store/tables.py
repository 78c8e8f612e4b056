"""The store as flat tables for ``dump``: runs, params, metrics (every point), tags and
artifacts, with their columns' types, read a chunk of runs at a time.

Times are milliseconds since the epoch (as MLflow keeps them); a NaN metric value reads
as NaN.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from . import Store

_CHUNK = 500  # runs per read

# name -> ((column, type), ...), and the query (ending in ``IN``) that reads it for some runs.
TABLES: dict[str, tuple[tuple[tuple[str, str], ...], str]] = {
    "runs": (
        (
            ("run_id", "str"),
            ("name", "str"),
            ("status", "str"),
            ("experiment", "str"),
            ("start_time", "int"),
            ("end_time", "int"),
            ("parent_id", "str"),
            ("notebook", "str"),
            ("cell_id", "str"),
            ("rerun_of", "str"),
        ),
        "SELECT r.id, r.name, r.status, e.name, r.start_time, r.end_time, r.parent_id, "
        "r.notebook, r.cell_id, r.rerun_of FROM runs r "
        "JOIN experiments e ON e.id = r.experiment_id WHERE r.id IN",
    ),
    "params": (
        (("run_id", "str"), ("key", "str"), ("value", "str"), ("type", "str")),
        "SELECT run_id, key, value, type FROM params WHERE run_id IN",
    ),
    "metrics": (
        (
            ("run_id", "str"),
            ("key", "str"),
            ("step", "int"),
            ("value", "float"),
            ("timestamp", "int"),
        ),
        "SELECT s.run_id, s.key, p.step, p.value, p.time FROM points p "
        "JOIN series s ON s.id = p.series_id WHERE s.run_id IN",
    ),
    "tags": (
        (("run_id", "str"), ("key", "str"), ("value", "str")),
        "SELECT run_id, key, value FROM tags WHERE run_id IN",
    ),
    "artifacts": (
        (
            ("run_id", "str"),
            ("path", "str"),
            ("version", "int"),
            ("size", "int"),
            ("media_type", "str"),
            ("sha256", "str"),
            ("created_at", "int"),
        ),
        "SELECT run_id, path, version, size, media_type, sha256, created_at FROM artifacts "
        "WHERE run_id IN",
    ),
}
_ORDER = {
    "runs": " ORDER BY r.start_time, r.id",
    "params": " ORDER BY run_id, key",
    "metrics": " ORDER BY s.run_id, s.key, p.seq",
    "tags": " ORDER BY run_id, key",
    "artifacts": " ORDER BY run_id, path, version",
}


def table_rows(store: Store, table: str, run_ids: list[str]) -> Iterator[list[tuple[Any, ...]]]:
    """The rows of ``table`` for these runs, a chunk of runs at a time (in their order)."""
    _, select = TABLES[table]
    for i in range(0, len(run_ids), _CHUNK):
        chunk = run_ids[i : i + _CHUNK]
        rows = store.read(
            f"{select} ({','.join('?' * len(chunk))}){_ORDER[table]}",  # noqa: S608
            chunk,
        )
        if table == "metrics":
            rows = [(r, k, s, math.nan if v is None else v, t) for r, k, s, v, t in rows]
        yield rows
