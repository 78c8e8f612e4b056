"""jupyter-tracker: a Jupyter-native experiment tracker with MLflow's fluent API names.

``import jupyter_tracker as jt`` stays fast: pandas, plotly and widgets load only when a
function that needs them is called.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from .errors import (
    ExportEditedError,
    FilterError,
    InvalidInputError,
    OutOfScopeError,
    ParamConflictError,
    RunNotFoundError,
    StoreDamagedError,
    StoreGoneError,
    StoreReadOnlyError,
    StoreVersionError,
    TrackerError,
)
from .run import ActiveRun, Run
from .tracking import (
    MlflowClient,
    active_run,
    create_experiment,
    delete_run,
    delete_tag,
    disable_system_metrics_logging,
    enable_system_metrics_logging,
    end_run,
    get_artifact_uri,
    get_experiment,
    get_experiment_by_name,
    get_parent_run,
    get_run,
    get_tracking_uri,
    is_tracking_uri_set,
    last_active_run,
    log_artifact,
    log_artifacts,
    log_dict,
    log_figure,
    log_image,
    log_input,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    log_table,
    log_text,
    metric_history,
    param,
    restore_run,
    search_experiments,
    search_runs,
    set_experiment,
    set_store,
    set_system_metrics_sampling_interval,
    set_tag,
    set_tags,
    set_tracking_uri,
    start_run,
)

if TYPE_CHECKING:
    import os
    from pathlib import Path

    import plotly.graph_objects as go

    from .mlflow_sync.push import PushReport
    from .panels.comparison import Comparison
    from .panels.table import RunTable

from ._version import __version__ as __version__


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where JupyterLab finds the prebuilt extension (for `jupyter labextension develop`)."""
    return [{"src": "labextension", "dest": "jupyter-tracker"}]


def runs(
    filter: str | None = None, experiment: str | None = None, columns: list[str] | None = None
) -> RunTable:
    """The inline run table of the runs matching ``filter`` (the ``search_runs`` language).

    Click a header to sort, type a filter (errors show in the table), choose columns, page
    through, click a run for its detail, tick runs and press Compare. ``.df`` is the
    DataFrame of every matching run. Plain text outside a notebook.
    """
    from .panels import runs as _runs

    return _runs(filter, experiment, columns)


def compare(run_ids: list[str]) -> Comparison:
    """The comparison of 2 to 20 runs (ids or unique prefixes): differing params (all on a
    toggle), metric summary with the best run marked, curves, parallel coordinates, a param
    against a metric, source and dependency-slice diffs, artifacts side by side.

    The best run of a metric has the lowest last value, or the highest when a word of the
    key says higher is better (acc, accuracy, f1, auc, precision, recall, score, r2).
    """
    from .panels import compare as _compare

    return _compare(run_ids)


def plot(
    run_ids: str | list[str], metrics: str | list[str] | None = None, x: str = "step"
) -> go.Figure:
    """A Plotly figure of the runs' metrics: a trace per run and metric, a subplot per metric,
    smoothing (EMA) slider and log toggle. ``x``: ``"step"``, ``"time"`` or ``"relative"``
    (seconds since the run started). Long series are downsampled keeping spikes and gaps.
    A live ``FigureWidget`` in a notebook while a run is RUNNING, else a ``Figure``.
    """
    from .panels import plot as _plot

    return _plot(run_ids, metrics, x)


def export_run(
    run_id: str, directory: str | os.PathLike, *, verify: bool = False, force: bool = False
) -> Path:
    """Write run ``run_id`` as a project directory that re-runs outside Jupyter; its path.

    ``train.py`` (the cell with the cells it depended on, or the script; params as
    command-line options defaulting to the logged values), ``MLproject`` and
    ``python_env.yaml`` (``mlflow run DIR -P alpha=0.7 --env-manager local``),
    ``requirements.txt``, ``params.yaml``, ``metrics.json``, ``metrics/<key>.csv``,
    ``artifacts/``, ``run.json``, ``run.ipynb`` and ``README.md``. ``directory`` must be new,
    empty, or an earlier export of the same run: its files are then replaced, except those
    changed since, which raise ``ExportEditedError`` (naming them) unless ``force=True``
    (each is then kept beside as ``<name>.orig``). Re-running ``python train.py`` with
    jupyter-tracker installed logs a new run tagged ``jupyter_tracker.origin`` = ``run_id``,
    in the store the run came from when reachable, else in ``.jupyter_tracker/`` there.

    ``verify=True`` then re-runs ``train.py`` in a fresh process against a scratch store and
    prints whether it reproduced the run's params and final metrics; the verdict is also in
    the README and in ``run.json`` (``export.verification``).
    """
    from .export import export_run as _export
    from .tracking import current_store

    def progress(line: str) -> None:
        print(f"jupyter-tracker: {line}", file=sys.stderr)

    done = _export(current_store(), run_id, directory, progress, verify=verify, force=force)
    if done.verdict is not None:
        from .export import verdict_text

        print(verdict_text(done.verdict))
    return done.path


# jt.sklearn.autolog()...: the modules of jupyter_tracker.integrations (jt.pytorch, MLflow's
# name, is jt.lightning)
_FLAVORS = {
    "sklearn": "sklearn",
    "lightgbm": "lightgbm",
    "xgboost": "xgboost",
    "keras": "keras",
    "lightning": "lightning",
    "pytorch": "lightning",
    "transformers": "transformers",
}


def autolog(
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    log_datasets: bool = True,
    log_traces: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    extra_tags: dict[str, str] | None = None,
    exclude_flavors: list[str] | None = None,
) -> None:
    """Record training by scikit-learn, LightGBM, XGBoost, Keras, PyTorch Lightning and Hugging
    Face ``Trainer`` from now on (MLflow's ``mlflow.autolog``): params, metrics and a summary of
    the model go to the active run (a tracked cell's), else to a run started for the
    training call and ended with it.
    Each framework is patched when it is imported, never imported by this call.
    ``disable=True`` stops; ``exclusive=True`` records nothing into runs the user started;
    ``extra_tags`` go on the runs autolog starts; ``exclude_flavors`` (``["keras"]``...)
    are left alone. Models, signatures, input examples, datasets and traces are not
    recorded (their options are accepted as no-ops). Per framework: ``jt.sklearn.autolog``,
    ``jt.lightgbm.autolog``, ``jt.xgboost.autolog``, ``jt.keras.autolog``,
    ``jt.lightning.autolog`` (also ``jt.pytorch.autolog``), ``jt.transformers.autolog``."""
    from .integrations import autolog as _autolog

    _autolog(disable, exclusive, silent, extra_tags, exclude_flavors)


def __getattr__(name: str) -> Any:
    """``jt.data`` (MLflow's ``mlflow.data``) and the autolog flavors (``jt.sklearn``...) on
    first use; any other MLflow name that is not
    here (``mlflow.sklearn``, ``mlflow.register_model``, ``mlflow.start_span``...) is one
    clear ``OutOfScopeError`` pointing at ``jupyter-tracker push``."""
    if name in ("data", *_FLAVORS):
        import importlib

        module = ".data" if name == "data" else f".integrations.{_FLAVORS[name]}"
        return importlib.import_module(module, __name__)
    if name.startswith("_"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    raise OutOfScopeError(f"mlflow.{name}")


def push(
    tracking_uri: str, run_ids: str | list[str] | None = None, experiment: str | None = None
) -> PushReport:
    """Copy runs into the MLflow tracking server at ``tracking_uri`` (``http(s)://``): the
    runs ``run_ids`` (ids or unique prefixes) with their parents, else those of local
    ``experiment``, else all; each into the server's experiment of the same name.

    Params, full metric histories, tags (with MLflow's ``mlflow.*`` system tags), artifacts,
    the source and capture report (as artifacts under ``jupyter_tracker/``), parent links,
    status and times. Only what the server lacks is sent, so pushing again sends nothing and
    a run that grew sends only what is new; requests are retried with back-off, and an
    interrupted push resumes. A progress bar on stderr; returns what was pushed
    (``.remote_ids``: local id -> the server's run id).
    """
    from .mlflow_sync.push import push as _push
    from .tracking import current_store

    ids = [run_ids] if isinstance(run_ids, str) else run_ids
    report = _push(current_store(), tracking_uri, ids, experiment)
    for note in report.notes:
        print(f"jupyter-tracker: {note}", file=sys.stderr)
    return report


def load_ipython_extension(shell) -> None:
    """``%load_ext jupyter_tracker``: register the magics (no heavy import)."""
    from .notebook.magics import load

    load(shell)


def _load_in_ipython() -> None:
    """Imported in IPython or a kernel: the extension is loaded too, so a run started by a
    bare log call ends with its cell and ``with jt.start_run():`` shows a card (it is one
    attribute check when IPython is not running)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is not None:
        load_ipython_extension(shell)


def unload_ipython_extension(shell) -> None:
    """``%unload_ext jupyter_tracker``: remove the magics and cell events."""
    from .notebook.magics import unload

    unload(shell)


# The public API: jupyter-tracker's own names, then MLflow's tracking API (same names,
# parameters and return types as ``mlflow``: ``import jupyter_tracker as mlflow``).
__all__ = [
    # runs, logging and reading, as a notebook or script uses them
    "ActiveRun",
    "Run",
    "active_run",
    "autolog",
    "compare",
    "end_run",
    "export_run",
    "get_run",
    "last_active_run",
    "log_artifact",
    "log_artifacts",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "metric_history",
    "param",
    "plot",
    "push",
    "runs",
    "search_runs",
    "set_experiment",
    "set_store",
    "set_tag",
    "set_tags",
    "start_run",
    # the rest of MLflow's tracking API
    "MlflowClient",
    "create_experiment",
    "delete_run",
    "delete_tag",
    "disable_system_metrics_logging",
    "enable_system_metrics_logging",
    "get_artifact_uri",
    "get_experiment",
    "get_experiment_by_name",
    "get_parent_run",
    "get_tracking_uri",
    "is_tracking_uri_set",
    "log_dict",
    "log_figure",
    "log_image",
    "log_input",
    "log_table",
    "log_text",
    "restore_run",
    "search_experiments",
    "set_system_metrics_sampling_interval",
    "set_tracking_uri",
    # errors
    "ExportEditedError",
    "FilterError",
    "InvalidInputError",
    "OutOfScopeError",
    "ParamConflictError",
    "RunNotFoundError",
    "StoreDamagedError",
    "StoreGoneError",
    "StoreReadOnlyError",
    "StoreVersionError",
    "TrackerError",
]

_load_in_ipython()
