"""Reading an MLflow tracking database (``sqlite:///``), read-only, for ``import``.

Its tables (experiments, runs, params, tags, metrics, latest_metrics) have kept their
shape since MLflow 1; the SQL lives here with every other statement the package writes.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from ..errors import TrackerError
from . import in_chunks


class MlflowDatabase:
    """An MLflow SQLite database, opened read-only (nothing is ever written to it)."""

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise TrackerError(f"No MLflow database at {path}.")
        self.path = path
        self._conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            self._conn.execute("SELECT run_uuid, status, lifecycle_stage FROM runs LIMIT 1")
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise TrackerError(f"{path} is not an MLflow tracking database ({exc}).") from None

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    def _rows(self, sql: str, args: list[Any] | tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return self._conn.execute(sql, args).fetchall()

    def experiments(self) -> list[tuple[str, str]]:
        """(id, name) of every active experiment."""
        return [
            (str(i), n)
            for i, n in self._rows(
                "SELECT experiment_id, name FROM experiments WHERE lifecycle_stage = 'active' "
                "ORDER BY experiment_id"
            )
        ]

    def runs(self, experiment_ids: list[str]) -> list[dict[str, Any]]:
        """The active runs of these experiments, each with its params, tags and latest
        metrics ((step, timestamp, value) by key)."""
        marks = ",".join("?" * len(experiment_ids))
        keys = (
            "run_id",
            "name",
            "status",
            "start_time",
            "end_time",
            "artifact_uri",
            "experiment_id",
            "user_id",
        )
        runs = {
            row[0]: dict(zip(keys, row, strict=True)) | {"params": {}, "tags": {}, "latest": {}}
            for row in self._rows(
                "SELECT run_uuid, name, status, start_time, end_time, artifact_uri, "  # noqa: S608
                f"experiment_id, user_id FROM runs WHERE lifecycle_stage = 'active' "
                f"AND experiment_id IN ({marks}) ORDER BY start_time",
                experiment_ids,
            )
        }
        for run_id, key, value in in_chunks(
            self._rows, "SELECT run_uuid, key, value FROM params WHERE run_uuid IN", runs
        ):
            runs[run_id]["params"][key] = value
        for run_id, key, value in in_chunks(
            self._rows, "SELECT run_uuid, key, value FROM tags WHERE run_uuid IN", runs
        ):
            runs[run_id]["tags"][key] = value
        for run_id, key, step, time, value, nan in in_chunks(
            self._rows,
            "SELECT run_uuid, key, step, timestamp, value, is_nan FROM latest_metrics "
            "WHERE run_uuid IN",
            runs,
        ):
            runs[run_id]["latest"][key] = (step, time, "NaN" if nan else value)
        return list(runs.values())

    def metric_history(self, run_id: str, key: str) -> list[tuple[int, float | str, int]]:
        """Every point of one metric: (step, value or "NaN", timestamp), in time order."""
        return [
            (step, "NaN" if nan else value, time)
            for step, value, time, nan in self._rows(
                "SELECT step, value, timestamp, is_nan FROM metrics WHERE run_uuid = ? "
                "AND key = ? ORDER BY timestamp, step",
                (run_id, key),
            )
        ]
