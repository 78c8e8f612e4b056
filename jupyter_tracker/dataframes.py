"""Runs as pandas DataFrames: MLflow's ``search_runs`` shape (for ``search_runs`` and the
run table's ``.df``) and metric histories (pandas is imported only when one is built)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .model import RUN_COLUMNS
from .run import artifact_uri
from .store import Store, queries

if TYPE_CHECKING:
    import pandas as pd


def runs_frame(store: Store, columns: queries.RunColumns) -> pd.DataFrame:
    """Runs (``queries.run_columns``) as MLflow's ``search_runs`` DataFrame: ``run_id,
    experiment_id, status, artifact_uri, start_time, end_time``, then ``name, experiment,
    parent_id, notebook, cell_id, rerun_of``, then ``metrics.<k>`` (NaN when missing),
    ``params.<k>``, ``tags.<k>``: built a column at a time."""
    import pandas as pd

    runs = columns["runs"]
    ids = {e["name"]: str(e["id"]) for e in queries.experiments(store)} if runs["run_id"] else {}
    frame: dict[str, Any] = {
        "run_id": runs["run_id"],
        "experiment_id": [ids.get(name) for name in runs["experiment"]],
        "status": runs["status"],
        "artifact_uri": [artifact_uri(run_id) for run_id in runs["run_id"]],
    }
    for c in ("start_time", "end_time"):
        frame[c] = pd.to_datetime(pd.array(runs[c], dtype="Int64"), unit="ms", utc=True)
    frame.update({c: runs[c] for c in RUN_COLUMNS if c not in frame})
    for kind in ("metrics", "params", "tags"):
        for key in sorted(columns[kind]):
            values = columns[kind][key]
            frame[f"{kind}.{key}"] = (
                pd.array(values, dtype="float64") if kind == "metrics" else values
            )
    built: pd.DataFrame = pd.DataFrame(frame)
    return built


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
