"""The fluent tracking API with MLflow's signatures: start and end runs, log to the active
one (or to the run ``run_id=`` names), read runs and experiments back. Each function takes
MLflow's parameters by the same names and positions (jupyter-tracker's own are keyword-only),
validates its input and calls the process's ``Session``, its runs or ``MlflowClient``;
nothing here imports IPython, pandas, plotly or widgets (pandas only inside the functions
returning DataFrames).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from . import system_metrics
from ._limits import MAX_EXPERIMENT_NAME_LENGTH
from .client import MlflowClient as MlflowClient  # also mlflow.tracking.MlflowClient
from .client import experiment_entity, run_entity, synchronous_result
from .entities import Experiment, RunOperations, ViewType
from .errors import InvalidInputError, OutOfScopeError
from .run import ActiveRun, Run, artifact_uri
from .session import MLFLOW_RUN_ID, check_name, session
from .store import Store, now_ms, queries

if TYPE_CHECKING:
    import pandas as pd

_SESSION = session()
SEARCH_MAX_RESULTS_PANDAS = 100_000


# -- where runs go ----------------------------------------------------------------------


def set_store(path: str | os.PathLike | None) -> Store:
    """Use the store at ``path`` (created if missing) from now on; ``None``: the default.

    jupyter-tracker's own setting (as ``JUPYTER_TRACKER_STORE``): MLflow's environment
    variables (``MLFLOW_RUN_ID``, ``MLFLOW_EXPERIMENT_NAME``...) no longer apply."""
    return _SESSION.set_store(path)


def _follow_server(uri: str) -> None:
    """A tracking server: runs stay in the local store and are mirrored there live."""
    from . import mirror

    mirror.start(uri)


_SESSION.follow_server = _follow_server


def set_tracking_uri(uri: str | Path) -> None:
    """MLflow's ``set_tracking_uri``: a folder or ``file:`` URI is the store;
    ``sqlite:///path/mlflow.db`` the ``.jupyter_tracker/`` store beside that database
    (MLflow's database itself is neither read nor written: ``jupyter-tracker import``
    brings its runs in); ``sqlite:///:memory:`` a temporary store; an ``http(s)://`` MLflow
    server keeps the local store and mirrors its runs to the server while they run."""
    _SESSION.use_tracking_uri(uri)


def get_tracking_uri() -> str:
    """The tracking URI as set (``set_tracking_uri`` or ``MLFLOW_TRACKING_URI``), else the
    store's folder as a ``file:`` URI."""
    store = current_store()
    return _SESSION.tracking_uri or store.path.as_uri()


def is_tracking_uri_set() -> bool:
    """Whether a tracking URI was set (``set_tracking_uri`` or ``MLFLOW_TRACKING_URI``)."""
    current_store()
    return _SESSION.tracking_uri is not None


def current_store() -> Store:
    """The store this process uses, opened on first use (see ``set_store``)."""
    return _SESSION.current_store()


# -- experiments ------------------------------------------------------------------------


def set_experiment(
    experiment_name: str | None = None,
    experiment_id: str | None = None,
    trace_location: Any = None,
) -> Experiment:
    """Runs started from now on (without ``experiment=``/``experiment_id=``) go to the
    experiment named ``experiment_name`` (created if missing) or with ``experiment_id``
    (which must exist); ``search_runs()`` reads it. Returns the experiment. It lasts until
    the store changes."""
    if trace_location is not None:
        raise OutOfScopeError("set_experiment(trace_location=...) (tracing)")
    if (experiment_name is None) == (experiment_id is None):
        raise InvalidInputError("Give exactly one of experiment_name and experiment_id.")
    store = current_store()
    if experiment_id is not None:
        name = _SESSION.experiment_names([experiment_id])[0]
    else:
        name = check_name(experiment_name, "Experiment name", MAX_EXPERIMENT_NAME_LENGTH)
    found = _SESSION.experiment_id(store, name)
    _SESSION.experiment = name
    return experiment_entity(store, found)


def create_experiment(
    name: str,
    artifact_location: str | None = None,
    tags: dict[str, Any] | None = None,
    trace_location: Any = None,
) -> str:
    """Create experiment ``name`` (a clear error if it exists); its id. See
    ``MlflowClient.create_experiment``."""
    if trace_location is not None:
        raise OutOfScopeError("create_experiment(trace_location=...) (tracing)")
    return MlflowClient().create_experiment(name, artifact_location, tags)


def get_experiment(experiment_id: str) -> Experiment:
    """The experiment with this id (a clear error if there is none)."""
    return MlflowClient().get_experiment(experiment_id)


def get_experiment_by_name(name: str) -> Experiment | None:
    """The experiment named ``name``, or None."""
    return MlflowClient().get_experiment_by_name(name)


def search_experiments(
    view_type: int = ViewType.ACTIVE_ONLY,
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: list[str] | None = None,
) -> list[Experiment]:
    """Experiments matching ``filter_string`` (see ``MlflowClient.search_experiments``)."""
    return list(MlflowClient().search_experiments(view_type, max_results, filter_string, order_by))


# -- runs -------------------------------------------------------------------------------


def start_run(
    run_id: str | None = None,
    experiment_id: str | None = None,
    run_name: str | None = None,
    nested: bool = False,
    parent_run_id: str | None = None,
    tags: dict[str, Any] | None = None,
    description: str | None = None,
    log_system_metrics: bool | None = None,
    *,
    name: str | None = None,
    experiment: str | None = None,
    params: dict[str, Any] | None = None,
) -> ActiveRun:
    """Start a run, or resume ``run_id`` (else ``MLFLOW_RUN_ID``, used once); use it as a
    context manager or end it with ``end_run``.

    ``run_name``/``name`` names it, ``experiment_id``/``experiment`` (a name) says where it
    goes (default: ``set_experiment``'s, ``MLFLOW_EXPERIMENT_NAME``/``_ID``, else Default);
    ``nested=True`` starts a child of the active run, ``parent_run_id`` a child of that run.
    ``params`` are logged now and are what ``jt.param`` returns for the run; ``description``
    is MLflow's note (the ``mlflow.note.content`` tag). ``log_system_metrics=True`` samples
    CPU, memory, disk, network and GPUs into the run as ``system/...`` metrics (None: as
    ``enable_system_metrics_logging`` or ``MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING`` say).
    """
    if name is not None and run_name is not None and name != run_name:
        raise InvalidInputError(f"Two names for one run: name={name!r}, run_name={run_name!r}.")
    if experiment is not None and experiment_id is not None:
        raise InvalidInputError("Give experiment (a name) or experiment_id, not both.")
    if experiment_id is not None:
        experiment = _SESSION.experiment_names([experiment_id])[0]
    if run_id is None:
        run_id = _SESSION.mlflow_env(MLFLOW_RUN_ID)
        if run_id is not None:
            del os.environ[MLFLOW_RUN_ID]  # used once, as in MLflow
    run = _SESSION.start(
        name or run_name,
        experiment,
        params,
        tags,
        nested,
        run_id,
        parent_id=parent_run_id,
        description=description,
    )
    if log_system_metrics is not None:
        system_metrics.watch(run, log_system_metrics)
    return run


def enable_system_metrics_logging() -> None:
    """Sample system metrics (``system/...``) into every run started from now on."""
    system_metrics.enable(True)


def disable_system_metrics_logging() -> None:
    """Stop sampling system metrics into runs started from now on (unless they ask)."""
    system_metrics.enable(False)


def set_system_metrics_sampling_interval(interval: float | None) -> None:
    """Sample system metrics every ``interval`` seconds (at least 1; None: 10)."""
    system_metrics.set_interval(interval)


def active_run() -> ActiveRun | None:
    """The innermost active run, or None."""
    return _SESSION.active_run()


def last_active_run() -> Run | None:
    """The active run, else the run that ended last in this process, as stored now
    (MLflow's ``last_active_run``); None if there was none."""
    active = _SESSION.active_run()
    run_id = active.id if active is not None else _SESSION.last_run_id
    return None if run_id is None else get_run(run_id)


def end_run(status: str = "FINISHED") -> None:
    """End the innermost active run with ``status`` (no-op when none is active)."""
    run = active_run()
    if run is not None:
        run.end(status)


def get_run(run_id: str) -> Run:
    """The run ``run_id`` (a full id or a unique prefix) as stored now."""
    return run_entity(current_store(), run_id)


def get_parent_run(run_id: str) -> Run | None:
    """The parent of run ``run_id``, or None."""
    return MlflowClient().get_parent_run(run_id)


def delete_run(run_id: str) -> None:
    """Delete run ``run_id`` (soft; ``restore_run`` undoes it)."""
    MlflowClient().delete_run(run_id)


def restore_run(run_id: str) -> None:
    """Undo ``delete_run``."""
    MlflowClient().restore_run(run_id)


# -- logging ----------------------------------------------------------------------------


def log_param(
    key: str, value: Any, synchronous: bool | None = None, *, overwrite: bool = False
) -> Any:
    """Log one param of the active run (starting one if none is active); returns ``value``.
    The same value again is a no-op; another one is a clear error unless ``overwrite``."""
    run = _SESSION.run_for("log_param")
    run.log_param(key, value, overwrite)
    synchronous_result(run, synchronous)
    return value


def log_params(
    params: dict[str, Any],
    synchronous: bool | None = None,
    run_id: str | None = None,
    *,
    overwrite: bool = False,
) -> RunOperations | None:
    """Log several params of the active run (or of run ``run_id``)."""
    with _SESSION.target("log_params", run_id) as run:
        for key, value in params.items():
            run.log_param(key, value, overwrite)
        return synchronous_result(run, synchronous)


def param(key: str, default: Any = None) -> Any:
    """The value of param ``key`` set for this run (``%%track_run``, ``start_run(params=)``,
    a re-run of an export), else ``default``; what it returns is logged."""
    run = _SESSION.run_for("param")
    if key in run.params:
        return run.params[key]
    return run.log_param(key, default)


def _no_model(model_id: str | None, call: str) -> None:
    if model_id is not None:
        raise OutOfScopeError(f"{call}(model_id=...)")


def log_metric(
    key: str,
    value: float,
    step: int | None = None,
    synchronous: bool | None = None,
    timestamp: int | None = None,
    run_id: str | None = None,
    model_id: str | None = None,
    dataset: Any = None,
) -> RunOperations | None:
    """Log one metric point; without ``step`` it gets the next step of that key (0, 1, ...).
    Buffered: no database transaction per call. The ``dataset`` a point was computed on is
    not kept (``log_input`` records datasets)."""
    _no_model(model_id, "log_metric")
    if run_id is None and synchronous is None:  # the hot path
        run = _SESSION.active_run() or _SESSION.run_for("log_metric")
        run.log_metric(key, value, step, timestamp)
        return None
    with _SESSION.target("log_metric", run_id) as run:
        run.log_metric(key, value, step, timestamp)
        return synchronous_result(run, synchronous)


def log_metrics(
    metrics: dict[str, float],
    step: int | None = None,
    synchronous: bool | None = None,
    run_id: str | None = None,
    timestamp: int | None = None,
    model_id: str | None = None,
    dataset: Any = None,
) -> RunOperations | None:
    """Log several metric points at once (same step and time)."""
    _no_model(model_id, "log_metrics")
    with _SESSION.target("log_metrics", run_id) as run:
        t = now_ms() if timestamp is None else timestamp
        for key, value in metrics.items():
            run.log_metric(key, value, step, t)
        return synchronous_result(run, synchronous)


def set_tag(key: str, value: Any, synchronous: bool | None = None) -> RunOperations | None:
    """Set a tag on the active run."""
    run = _SESSION.run_for("set_tag")
    run.set_tag(key, value)
    return synchronous_result(run, synchronous)


def set_tags(tags: dict[str, Any], synchronous: bool | None = None) -> RunOperations | None:
    """Set several tags on the active run."""
    run = _SESSION.run_for("set_tags")
    for key, value in tags.items():
        run.set_tag(key, value)
    return synchronous_result(run, synchronous)


def delete_tag(key: str) -> None:
    """Remove a tag of the active run."""
    _SESSION.run_for("delete_tag").delete_tag(key)


# -- artifacts --------------------------------------------------------------------------


def log_artifact(
    local_path: Any,
    artifact_path: str | None = None,
    run_id: str | None = None,
    *,
    name: str | None = None,
) -> list[str]:
    """Log the file (or folder) ``local_path`` under the folder ``artifact_path`` of the
    run's artifacts, as MLflow; or an in-memory object (str, bytes, dict -> JSON, DataFrame,
    numpy array, matplotlib or Plotly figure) as ``name`` (``jt.log_artifact(df,
    name="table.parquet")``). Each call keeps a new version; identical content is stored
    once. The stored names."""
    with _SESSION.target("log_artifact", run_id) as run:
        return run.log_file(local_path, artifact_path, name)


def log_artifacts(
    local_dir: str | os.PathLike, artifact_path: str | None = None, run_id: str | None = None
) -> list[str]:
    """Log every file under ``local_dir`` under the folder ``artifact_path`` (default: the
    root). The stored names."""
    with _SESSION.target("log_artifacts", run_id) as run:
        return run.log_folder(local_dir, artifact_path)


def log_text(text: str, artifact_file: str, run_id: str | None = None) -> list[str]:
    """Log ``text`` as the artifact ``artifact_file``: the text itself, even when it
    happens to name a file."""
    with _SESSION.target("log_text", run_id) as run:
        return run.log_text(text, artifact_file)


def log_dict(
    dictionary: dict[str, Any], artifact_file: str, run_id: str | None = None
) -> list[str]:
    """Log ``dictionary`` under ``artifact_file``: YAML for ``.yaml``/``.yml``, else JSON."""
    with _SESSION.target("log_dict", run_id) as run:
        return run.log_dict(dictionary, artifact_file)


def log_figure(
    figure: Any, artifact_file: str, *, save_kwargs: dict[str, Any] | None = None
) -> list[str]:
    """Log a matplotlib or Plotly figure under ``artifact_file`` in the format its extension
    says (anything else is a ``TypeError``); ``save_kwargs`` go to ``savefig``."""
    return _SESSION.run_for("log_figure").log_figure(figure, artifact_file, save_kwargs)


def log_image(
    image: Any,
    artifact_file: str | None = None,
    key: str | None = None,
    step: int | None = None,
    timestamp: int | None = None,
    synchronous: bool | None = False,
) -> list[str]:
    """Log a numpy array or PIL image as ``artifact_file``, or, with ``key``, as that key's
    image at ``step`` (``images/<key>/step-<step>.png``)."""
    run = _SESSION.run_for("log_image")
    logged = run.log_image(image, artifact_file, key, step, timestamp)
    if synchronous:
        run._writer.flush_waiting()
    return logged


def log_table(data: Any, artifact_file: str, run_id: str | None = None) -> list[str]:
    """Log a dict of columns or a DataFrame as the table ``artifact_file`` (``.json`` or
    ``.parquet``); logging to the same file again appends rows, as in MLflow."""
    with _SESSION.target("log_table", run_id) as run:
        return run.log_table(data, artifact_file)


def log_input(
    dataset: Any = None,
    context: str | None = None,
    tags: dict[str, str] | None = None,
    model: Any = None,
) -> None:
    """Record that the active run used ``dataset`` (``jupyter_tracker.data.from_pandas`` or
    ``from_numpy``): its name, digest, source, schema and profile, with ``context`` and
    ``tags``, go to the artifact ``datasets/<digest>.json``."""
    if model is not None:
        raise OutOfScopeError("log_input(model=...)")
    if dataset is None:
        raise InvalidInputError("log_input records a dataset: give one (jt.data.from_pandas).")
    _SESSION.run_for("log_input").log_input(dataset, context, tags)


def get_artifact_uri(artifact_path: str | None = None) -> str:
    """The URI of the active run's artifacts (or of the one at ``artifact_path``): MLflow's
    ``runs:/<run_id>/<path>`` form (they live content-addressed in the store)."""
    return artifact_uri(_SESSION.run_for("get_artifact_uri").id, artifact_path)


# -- reading ----------------------------------------------------------------------------


def search_runs(
    experiment_ids: list[str] | None = None,
    filter_string: str = "",
    run_view_type: int = ViewType.ACTIVE_ONLY,
    max_results: int = SEARCH_MAX_RESULTS_PANDAS,
    order_by: list[str] | None = None,
    output_format: Literal["pandas", "list"] = "pandas",
    search_all_experiments: bool = False,
    experiment_names: list[str] | None = None,
    *,
    filter: str | None = None,
    experiment: str | None = None,
) -> Any:
    """Runs matching ``filter_string`` (or ``filter``), newest first unless ``order_by``
    says, as a DataFrame (one row a run: ``run_id, experiment_id, status, artifact_uri,
    start_time, end_time``, then ``name, experiment, parent_id, notebook, cell_id,
    rerun_of``, then ``metrics.<k>, params.<k>, tags.<k>`` with MLflow's ``tags.mlflow.*``),
    or as a list of ``Run`` (``output_format="list"``).

    Which experiments: ``experiment_ids``, ``experiment_names`` or ``experiment`` (a name);
    else every one with ``search_all_experiments``; else the chosen one (``set_experiment``,
    ``MLFLOW_EXPERIMENT_NAME``/``_ID``); else every experiment.
    """
    if filter is not None and filter_string:
        raise InvalidInputError("Give filter or filter_string, not both.")
    if output_format not in ("pandas", "list"):
        raise InvalidInputError(f"output_format is 'pandas' or 'list', not {output_format!r}.")
    store = current_store()
    experiments = _searched_experiments(
        experiment_ids, experiment_names, experiment, search_all_experiments
    )
    query = (
        store,
        filter if filter is not None else filter_string or None,
        order_by,
        experiments,
    )
    view = ViewType.view(run_view_type)
    if output_format == "list":
        rows = queries.records(*query, limit=max_results, view=view, system_tags=True)
        return [run_entity(store, r["run_id"]) for r in rows]
    from .dataframes import runs_frame

    columns = queries.run_columns(*query, limit=max_results, view=view, system_tags=True)
    return runs_frame(store, columns)


def _searched_experiments(
    ids: Any, names: list[str] | None, experiment: str | None, every: bool
) -> list[str] | None:
    """The experiment names a search covers (None: every one)."""
    if sum(bool(x) for x in (ids, names, experiment)) > 1:
        raise InvalidInputError("Give experiment_ids, experiment_names or experiment, not two.")
    if experiment:
        return [experiment]
    if names:
        return list(names)
    if ids:
        ids = [ids] if isinstance(ids, (str, int)) else list(ids)
        try:
            return _SESSION.experiment_names(ids)
        except InvalidInputError as exc:
            if any(isinstance(i, str) and not i.strip().isdigit() for i in ids):
                raise InvalidInputError(
                    f"{exc} search_runs' first argument is experiment_ids, as in MLflow; give "
                    "a filter as filter_string='...'."
                ) from None
            raise
    if every:
        return None
    chosen = _SESSION.chosen_experiment()
    return None if chosen is None else [chosen]


def metric_history(run_id: str, key: str) -> pd.DataFrame:
    """Every point of metric ``key`` of a run, in logging order: ``step, value, timestamp``."""
    from .dataframes import history_frame

    store = current_store()
    return history_frame(*queries.metric_points(store, store.resolve_run_id(run_id), key))
