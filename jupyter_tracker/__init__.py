"""jupyter-tracker: a Jupyter-native experiment tracker with MLflow's fluent API names.

``import jupyter_tracker as jt`` stays fast: pandas, plotly and widgets load only when a
function that needs them is called.
"""

from __future__ import annotations

from .errors import (
    FilterError,
    InvalidInputError,
    NoActiveRunError,
    ParamConflictError,
    RunNotFoundError,
    StoreVersionError,
    TrackerError,
)
from .tracking import (
    ActiveRun,
    Run,
    active_run,
    end_run,
    get_run,
    last_active_run,
    log_artifact,
    log_artifacts,
    log_dict,
    log_figure,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    log_text,
    metric_history,
    param,
    search_runs,
    set_experiment,
    set_store,
    set_tag,
    set_tags,
    start_run,
)

__version__ = "0.1.0"


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where JupyterLab finds the prebuilt extension (for `jupyter labextension develop`)."""
    return [{"src": "labextension", "dest": "jupyter-tracker"}]


def load_ipython_extension(shell) -> None:
    """``%load_ext jupyter_tracker``: register the magics (no heavy import)."""
    from .notebook.magics import load

    load(shell)


def unload_ipython_extension(shell) -> None:
    """``%unload_ext jupyter_tracker``: remove the magics and cell events."""
    from .notebook.magics import unload

    unload(shell)


__all__ = [
    "ActiveRun",
    "FilterError",
    "InvalidInputError",
    "NoActiveRunError",
    "ParamConflictError",
    "Run",
    "RunNotFoundError",
    "StoreVersionError",
    "TrackerError",
    "active_run",
    "end_run",
    "get_run",
    "last_active_run",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_figure",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_text",
    "metric_history",
    "param",
    "search_runs",
    "set_experiment",
    "set_store",
    "set_tag",
    "set_tags",
    "start_run",
]
