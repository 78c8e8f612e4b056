"""Runs as pandas DataFrames: MLflow's ``search_runs`` shape and metric histories (pandas is
imported only when one is built)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from .model import RUN_COLUMNS, RunRecord

if TYPE_CHECKING:
    import pandas as pd


def runs_frame(rows: list[RunRecord]) -> pd.DataFrame:
    """Records as MLflow's ``search_runs`` DataFrame (``params.k``, ``metrics.k``, ``tags.k``)."""
    import pandas as pd

    plain: list[dict[str, Any]] = [dict(r) for r in rows]
    columns: dict[str, Any] = {c: [r[c] for r in plain] for c in RUN_COLUMNS}
    for c in ("start_time", "end_time"):
        columns[c] = pd.to_datetime(pd.array(columns[c], dtype="Int64"), unit="ms", utc=True)
    for kind in ("params", "metrics", "tags"):
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
