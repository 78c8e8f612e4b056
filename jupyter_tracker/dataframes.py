"""Runs as pandas DataFrames: MLflow's ``search_runs`` shape (for ``search_runs`` and the
run table's ``.df``) and metric histories (pandas is imported only when one is built)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from .model import RUN_COLUMNS, RunRecord
from .run import artifact_uri
from .store import Store, queries

if TYPE_CHECKING:
    import pandas as pd


def runs_frame(store: Store, rows: list[RunRecord]) -> pd.DataFrame:
    """Records as MLflow's ``search_runs`` DataFrame: ``run_id, experiment_id, status,
    artifact_uri, start_time, end_time``, then ``name, experiment, parent_id, notebook,
    cell_id, rerun_of``, then ``metrics.<k>`` (NaN when missing), ``params.<k>``, ``tags.<k>``."""
    import pandas as pd

    plain: list[dict[str, Any]] = [dict(r) for r in rows]
    ids = {e["name"]: str(e["id"]) for e in queries.experiments(store)} if plain else {}
    columns: dict[str, Any] = {
        "run_id": [r["run_id"] for r in plain],
        "experiment_id": [ids.get(r["experiment"]) for r in plain],
        "status": [r["status"] for r in plain],
        "artifact_uri": [artifact_uri(r["run_id"]) for r in plain],
    }
    for c in ("start_time", "end_time"):
        columns[c] = pd.to_datetime(
            pd.array([r[c] for r in plain], dtype="Int64"), unit="ms", utc=True
        )
    columns.update({c: [r[c] for r in plain] for c in RUN_COLUMNS if c not in columns})
    for kind in ("metrics", "params", "tags"):
        keys = sorted({k for r in plain for k in r[kind]})
        missing = math.nan if kind == "metrics" else None
        for key in keys:
            columns[f"{kind}.{key}"] = [r[kind].get(key, missing) for r in plain]
    frame: pd.DataFrame = pd.DataFrame(columns)
    for column in frame.columns:
        if column.startswith("metrics."):
            frame[column] = frame[column].astype("float64")
    return frame


def history_frame(steps: list[int], values: list[float], times: list[int]) -> pd.DataFrame:
    """One metric's points as ``step, value, timestamp`` (UTC)."""
    import pandas as pd

    frame: pd.DataFrame = pd.DataFrame(
        {
            "step": steps,
            "value": pd.array(values, dtype="float64"),
            "timestamp": pd.to_datetime(times, unit="ms", utc=True),
        }
    )
    return frame
