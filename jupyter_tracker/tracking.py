"""The fluent tracking API (MLflow's names): start and end runs, log to the active one, read
runs back. Each function validates its input and calls the process's ``Session`` or the store;
nothing here imports IPython, pandas, plotly or widgets (pandas only inside the functions
returning DataFrames).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._limits import MAX_EXPERIMENT_NAME_LENGTH
from .errors import InvalidInputError
from .run import ActiveRun, Run
from .session import check_name, session
from .store import Store, now_ms, queries

if TYPE_CHECKING:
    import pandas as pd

_SESSION = session()


def set_store(path: str | os.PathLike | None) -> Store:
    """Use the store at ``path`` (created if missing) from now on; ``None``: the default."""
    return _SESSION.set_store(path)


def set_tracking_uri(uri: str | os.PathLike) -> None:
    """MLflow's ``set_tracking_uri`` for a local folder (or ``file:`` URI): ``set_store``.

    Tracking servers are not written to directly: runs stay local, with no server to run.
    """
    text = os.fspath(uri)
    if "://" in text and not text.startswith("file://"):
        raise InvalidInputError(
            f"jupyter-tracker keeps runs in a local store; {text!r} is not a local folder. "
            "Give a folder (or a file: URI), or leave the default store."
        )
    set_store(text.removeprefix("file://"))


def get_tracking_uri() -> str:
    """The store's folder as a ``file:`` URI (MLflow's ``get_tracking_uri``)."""
    return current_store().path.as_uri()


def current_store() -> Store:
    """The store this process uses, opened on first use (see ``set_store``)."""
    return _SESSION.current_store()


def set_experiment(name: str) -> str:
    """Runs started from now on (without ``experiment=``) go to experiment ``name``."""
    _SESSION.default_experiment = check_name(name, "Experiment name", MAX_EXPERIMENT_NAME_LENGTH)
    return _SESSION.default_experiment


# -- the fluent API -------------------------------------------------------------------


def start_run(
    name: str | None = None,
    experiment: str | None = None,
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    nested: bool = False,
    run_id: str | None = None,
    *,
    run_name: str | None = None,
    description: str | None = None,
    experiment_id: str | int | None = None,
) -> ActiveRun:
    """Start a run (or resume ``run_id``); use it as a context manager or end it with
    ``end_run``. ``params`` are logged now and are what ``jt.param`` returns for the run.
    ``run_name``, ``description`` and ``experiment_id`` are MLflow's spellings."""
    if experiment is None and experiment_id is not None:
        experiment = _SESSION.experiment_names([experiment_id])[0]
    return _SESSION.start(
        name or run_name, experiment, params, tags, nested, run_id, description=description
    )


def active_run() -> ActiveRun | None:
    """The innermost active run, or None."""
    return _SESSION.active_run()


def last_active_run() -> ActiveRun | None:
    """The run that ended last in this process (MLflow's ``last_active_run``)."""
    return _SESSION.active_run() or _SESSION.last_run


def end_run(status: str = "FINISHED") -> None:
    """End the innermost active run with ``status`` (no-op when none is active)."""
    run = active_run()
    if run is not None:
        run.end(status)


def log_param(key: str, value: Any, overwrite: bool = False) -> Any:
    """Log one param of the active run (starting one if none is active); returns ``value``."""
    return _SESSION.run_for("log_param").log_param(key, value, overwrite)


def log_params(params: dict[str, Any], overwrite: bool = False) -> None:
    """Log several params of the active run."""
    run = _SESSION.run_for("log_params")
    for key, value in params.items():
        run.log_param(key, value, overwrite)


def param(key: str, default: Any = None) -> Any:
    """The value of param ``key`` set for this run (``%%track_run``, ``start_run(params=)``,
    a re-run of an export), else ``default``; what it returns is logged."""
    run = _SESSION.run_for("param")
    if key in run.params:
        return run.params[key]
    return run.log_param(key, default)


def log_metric(
    key: str, value: float, step: int | None = None, timestamp: int | None = None
) -> None:
    """Log one metric point; without ``step`` it gets the next step of that key (0, 1, ...)."""
    run = _SESSION.active_run() or _SESSION.run_for("log_metric")
    run.log_metric(key, value, step, timestamp)


def log_metrics(metrics: dict[str, float], step: int | None = None) -> None:
    """Log several metric points at once (same step and time)."""
    run = _SESSION.run_for("log_metrics")
    t = now_ms()
    for key, value in metrics.items():
        run.log_metric(key, value, step, t)


def set_tag(key: str, value: Any) -> None:
    """Set a tag on the active run."""
    _SESSION.run_for("set_tag").set_tag(key, value)


def set_tags(tags: dict[str, Any]) -> None:
    """Set several tags on the active run."""
    run = _SESSION.run_for("set_tags")
    for key, value in tags.items():
        run.set_tag(key, value)


def log_artifact(
    path_or_object: Any, name: str | None = None, *, artifact_path: str | None = None
) -> list[str]:
    """Log a file, a folder, or an in-memory object (str, bytes, dict, DataFrame, figure).

    Each call keeps a new version; identical content is stored once. ``artifact_path``
    (MLflow's folder argument) puts a file under that folder.
    """
    if artifact_path is not None and name is None and isinstance(path_or_object, (str, Path)):
        name = f"{artifact_path.rstrip('/')}/{Path(path_or_object).name}"
    return _SESSION.run_for("log_artifact").log_artifact(path_or_object, name)


def log_artifacts(
    directory: str | os.PathLike, name: str | None = None, *, artifact_path: str | None = None
) -> list[str]:
    """Log every file under ``directory``, under the folder ``name`` (default: the root)."""
    from ._artifacts import as_folder

    return _SESSION.run_for("log_artifacts").log_artifact(
        as_folder(directory), name if name is not None else artifact_path
    )


def log_text(text: str, artifact_file: str) -> list[str]:
    """Log ``text`` as the artifact ``artifact_file`` (MLflow's ``log_text``); the text
    itself, even when it happens to name a file."""
    return _SESSION.run_for("log_text").log_artifact(str(text).encode("utf-8"), artifact_file)


def log_dict(dictionary: dict, artifact_file: str) -> list[str]:
    """Log ``dictionary`` as JSON under ``artifact_file`` (MLflow's ``log_dict``)."""
    return _SESSION.run_for("log_dict").log_artifact(dictionary, artifact_file)


def log_figure(figure: Any, artifact_file: str) -> list[str]:
    """Log a matplotlib or Plotly figure under ``artifact_file``."""
    return _SESSION.run_for("log_figure").log_artifact(figure, artifact_file)


# -- reading --------------------------------------------------------------------------


def get_run(run_id: str) -> Run:
    """The run ``run_id`` (a full id or a unique prefix) as stored now."""
    store = current_store()
    return Run(queries.run_detail(store, store.resolve_run_id(run_id)))


def search_runs(
    filter: str | None = None,
    order_by: str | list[str] | None = None,
    experiment: str | None = None,
    max_results: int | None = None,
    *,
    filter_string: str | None = None,
    experiment_names: list[str] | None = None,
    experiment_ids: list[str | int] | None = None,
) -> pd.DataFrame:
    """Runs matching ``filter`` as a DataFrame, one row a run: ``run_id, name, status,
    start_time, end_time, ..., params.<k>, metrics.<k>, tags.<k>``. ``filter_string``,
    ``experiment_names`` and ``experiment_ids`` are MLflow's spellings."""
    experiments: str | list[str] | None = experiment
    if experiments is None and experiment_names:
        experiments = list(experiment_names)
    if experiments is None and experiment_ids:
        experiments = _SESSION.experiment_names(list(experiment_ids))
    rows = queries.records(
        current_store(),
        filter if filter is not None else filter_string,
        order_by,
        experiments,
        0,
        max_results,
    )
    from .dataframes import runs_frame

    return runs_frame(rows)


def metric_history(run_id: str, key: str) -> pd.DataFrame:
    """Every point of metric ``key`` of a run, in logging order: ``step, value, timestamp``."""
    from .dataframes import history_frame

    store = current_store()
    return history_frame(*queries.metric_points(store, store.resolve_run_id(run_id), key))
