"""Open formats: the store's runs written as tables any tool reads (Parquet, CSV, JSON).

``dump`` writes ``runs``, ``params``, ``metrics`` (every point), ``tags`` and ``artifacts``
(their metadata) into a folder, one file per table: ``pandas.read_parquet``,
``pandas.read_csv`` and ``pandas.read_json`` read them as they are. Times are
milliseconds since the epoch. CSV writes NaN and infinities as ``nan``, ``inf`` and
``-inf``; JSON (an array of objects per table) as the strings ``"NaN"``, ``"Infinity"``
and ``"-Infinity"``, as the REST API does (``frame.value.astype(float)`` reads them back).
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import InvalidInputError, TrackerError
from .model import json_ready
from .render.formats import plural
from .store import Store, queries
from .store.tables import TABLES, table_rows

FORMATS = ("parquet", "csv", "json")


@dataclass
class DumpReport:
    """The files written and how many rows each holds."""

    directory: Path
    format: str
    rows: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        """One line: what was written where."""
        files = ", ".join(f"{t}.{self.format}: {n:,} rows" for t, n in self.rows.items())
        runs = plural(self.rows.get("runs", 0), "run")
        return f"Wrote {runs} to {self.directory} as {self.format} ({files})."


def dump(
    store: Store,
    directory: str | os.PathLike,
    format: str = "parquet",
    filter: str | None = None,
    experiment: str | None = None,
) -> DumpReport:
    """Write the runs matching ``filter`` (the ``search_runs`` language; all by default) as
    one ``<table>.<format>`` file per table in ``directory`` (created; files replaced)."""
    if format not in FORMATS:
        raise InvalidInputError(f"Unknown format {format!r}; use one of {', '.join(FORMATS)}.")
    if format == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise TrackerError(
                "Writing Parquet needs pyarrow: pip install pyarrow (or "
                "pip install 'jupyter-tracker[parquet]'), or use --format csv or json."
            ) from None
    run_ids = [r["run_id"] for r in queries.records(store, filter, "start_time", experiment)]
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    report = DumpReport(folder, format)
    for table, (columns, _) in TABLES.items():
        target = folder / f"{table}.{format}"
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            report.rows[table] = _WRITERS[format](tmp, columns, table_rows(store, table, run_ids))
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
    return report


Columns = tuple[tuple[str, str], ...]
Chunks = Iterator[list[tuple[Any, ...]]]


def _write_csv(path: Path, columns: Columns, chunks: Chunks) -> int:
    count = 0
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow([name for name, _ in columns])
        for rows in chunks:
            writer.writerows(rows)
            count += len(rows)
    return count


def _write_json(path: Path, columns: Columns, chunks: Chunks) -> int:
    names = [name for name, _ in columns]
    count = 0
    with open(path, "w", encoding="utf-8") as f:
        f.write("[")
        for rows in chunks:
            for row in rows:
                f.write(",\n" if count else "\n")
                f.write(json.dumps(json_ready(dict(zip(names, row, strict=True)))))
                count += 1
        f.write("\n]\n")
    return count


def _write_parquet(path: Path, columns: Columns, chunks: Chunks) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    types = {"str": pa.string(), "int": pa.int64(), "float": pa.float64()}
    schema = pa.schema([(name, types[kind]) for name, kind in columns])
    count = 0
    with pq.ParquetWriter(path, schema) as writer:
        for rows in chunks:
            if rows:
                cols = zip(*rows, strict=True)
                arrays = [pa.array(list(c), type=f.type) for c, f in zip(cols, schema, strict=True)]
                writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
                count += len(rows)
    return count


_WRITERS = {"csv": _write_csv, "json": _write_json, "parquet": _write_parquet}
