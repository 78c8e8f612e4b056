"""Runs and what they log: the fluent tracking API (MLflow's names) over the local store.

Calls here only validate and buffer; the store's writer persists in batches. Nothing here
imports IPython, pandas, plotly or widgets (pandas only inside the functions returning
DataFrames).
"""

from __future__ import annotations

import atexit
import json
import math
import numbers
import os
import sys
import threading
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import _records
from ._limits import (
    MAX_EXPERIMENT_NAME_LENGTH,
    MAX_PARAM_VALUE_LENGTH,
    MAX_RUN_NAME_LENGTH,
    MAX_TAG_VALUE_LENGTH,
    check_key,
    check_length,
)
from ._names import run_name
from .errors import InvalidInputError, ParamConflictError, TrackerError
from .store import DB_NAME, HOST, Store, find_store_dir, now_ms, process_started
from .store._writer import Series, Writer

if TYPE_CHECKING:
    from datetime import datetime

    import pandas as pd

STATUSES = ("RUNNING", "FINISHED", "FAILED", "KILLED", "CRASHED")
DEFAULT_EXPERIMENT = "Default"
MAX_ERROR_LENGTH = 100_000
MAX_SOURCE_BYTES = 1_000_000

_store: Store | None = None
_writers: dict[Store, Writer] = {}  # one per opened store, all flushed at exit
_experiment_ids: dict[tuple[Store, str], int] = {}
_stack: ContextVar[tuple[ActiveRun, ...]] = ContextVar("jupyter_tracker_runs", default=())
_main_thread = threading.main_thread()
_main_runs: tuple[ActiveRun, ...] = ()  # the main thread's runs, seen by threads users start
_implicit_end = "when the process exits"  # the notebook integration says "with this cell"
_default_experiment: str = DEFAULT_EXPERIMENT
_last_run: ActiveRun | None = None
_lock = threading.Lock()


# -- the store ------------------------------------------------------------------------


def set_store(path: str | os.PathLike | None) -> Store:
    """Use the store at ``path`` (created if missing) from now on; ``None``: the default."""
    global _store
    target = Path(path).expanduser().resolve() if path is not None else None
    if _store is not None and target == _store.path and _store.db_path.exists():
        return _store  # re-running a setup cell keeps the same store and writer
    _store = Store.open(target)
    return _store


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
    global _store
    if _store is None:
        with _lock:
            if _store is None:
                _store = Store.open()
    return _store


def crashed_runs_on_open() -> list[str]:
    """Names and short ids of runs marked CRASHED when this process opened an existing store.

    Does not create a store (nor pay for creating one) when there is none yet.
    """
    if _store is None and not (find_store_dir() / DB_NAME).exists():
        return []
    store = current_store()
    if not store.crashed_on_open:
        return []
    marks = ",".join("?" * len(store.crashed_on_open))
    rows = store.read(f"SELECT name, id FROM runs WHERE id IN ({marks})", store.crashed_on_open)  # noqa: S608
    return [f"{name} ({run_id[:8]})" for name, run_id in rows]


def _active_runs() -> tuple[ActiveRun, ...]:
    """This context's runs; in a thread of the user's own, the main thread's runs."""
    runs = _stack.get()
    if runs or threading.current_thread() is _main_thread:
        return runs
    return _main_runs


def _set_runs(runs: tuple[ActiveRun, ...]) -> None:
    global _main_runs
    _stack.set(runs)
    if threading.current_thread() is _main_thread:
        _main_runs = runs


def _writer(store: Store) -> Writer:
    writer = _writers.get(store)
    if writer is None:
        writer = _writers[store] = Writer(store)
    return writer


def set_experiment(name: str) -> str:
    """Runs started from now on (without ``experiment=``) go to experiment ``name``."""
    global _default_experiment
    _default_experiment = _check_name(name, "Experiment name", MAX_EXPERIMENT_NAME_LENGTH)
    return _default_experiment


def _experiment_id(store: Store, name: str) -> int:
    key = (store, name)
    if key not in _experiment_ids:
        _experiment_ids[key] = store.experiment_id(name)
    return _experiment_ids[key]


def _check_name(name: object, what: str, limit: int) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInputError(f"{what} must be a non-empty string, got {name!r}.")
    return check_length(name, limit, what)


# -- values ---------------------------------------------------------------------------

_LITERAL_TYPES = {"list", "tuple", "dict", "set", "complex"}


def param_text(value: Any) -> tuple[str, str, float | None]:
    """A param value as stored: MLflow's text form, its Python type name, and its number."""
    kind = type(value)
    if kind is str:
        text, name = value, "str"
    elif kind is int or kind is float or kind is bool or value is None:
        text, name = str(value), kind.__name__
    elif isinstance(value, numbers.Integral) and not isinstance(value, bool):
        text, name = str(int(value)), "int"
    elif isinstance(value, numbers.Real):
        text, name = str(float(value)), "float"
    else:
        text, name = str(value), kind.__name__
    check_length(text, MAX_PARAM_VALUE_LENGTH, "A param value")
    num = None
    if name in ("int", "float", "str") and text:
        try:
            num = float(text)
        except ValueError:
            num = None
        if num is not None and not math.isfinite(num):
            num = None
    return text, name, num


def typed_param(text: str, kind: str) -> Any:
    """The Python value of a stored param (its text form when the type can't be rebuilt)."""
    try:
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
        if kind == "bool":
            return text == "True"
        if kind == "NoneType":
            return None
        if kind in _LITERAL_TYPES:
            import ast

            return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        pass
    return text


def _metric_value(value: Any) -> float:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__float__"):
        raise TypeError(
            f"A metric value must be a number, got {type(value).__name__} {str(value)[:40]!r}. "
            "Log text with jt.set_tag or jt.log_param."
        )
    return float(value)


# -- runs -----------------------------------------------------------------------------


class RunInfo:
    """MLflow's ``run.info``: ids, status and times in milliseconds."""

    def __init__(self, run: Run) -> None:
        self.run_id = self.run_uuid = run.id
        self.run_name = run.name
        self.status = run.status
        self.experiment_id = str(run.experiment_id)
        self.start_time = run._start_ms
        self.end_time = run._end_ms
        self.lifecycle_stage = "active"
        self.artifact_uri = None

    def __repr__(self) -> str:
        return f"<RunInfo run_id={self.run_id!r} status={self.status!r}>"


class RunData:
    """MLflow's ``run.data``: params as text, latest metrics, tags."""

    def __init__(self, run: Run) -> None:
        self.params = {k: param_text(v)[0] for k, v in run.params.items()}
        self.metrics = dict(run.metrics)
        self.tags = dict(run.tags)

    def __repr__(self) -> str:
        return f"<RunData params={self.params!r} metrics={self.metrics!r}>"


class Run:
    """A run as stored: what ``get_run`` returns; ``start_run`` returns a live ``ActiveRun``."""

    id: str
    name: str
    status: str
    experiment: str
    experiment_id: int
    parent_id: str | None
    params: dict[str, Any]
    tags: dict[str, str]
    source: str | None
    error: str | None
    _start_ms: int
    _end_ms: int | None

    def __init__(self, detail: dict) -> None:
        self.id = detail["run_id"]
        self.name = detail["name"]
        self.status = detail["status"]
        self.experiment = detail["experiment"]
        self.experiment_id = detail["experiment_id"]
        self.parent_id = detail["parent_id"]
        self.params = {k: typed_param(*v) for k, v in detail["typed_params"].items()}
        self._metrics = detail["metrics"]
        self.tags = detail["tags"]
        self.artifacts = detail["artifacts"]
        self.source = detail["source"]
        self.error = detail["error"]
        self.rerun_of = detail["rerun_of"]
        self.notebook = detail["notebook"]
        self.cell_id = detail["cell_id"]
        self.capture = detail["capture"]
        self._start_ms = detail["start_time"]
        self._end_ms = detail["end_time"]

    @property
    def metrics(self) -> dict[str, float]:
        """The latest value of each metric (NaN and ±inf as logged)."""
        return self._metrics

    @property
    def start_time(self) -> datetime:
        """When the run started (UTC)."""
        from datetime import datetime, timezone

        return datetime.fromtimestamp(self._start_ms / 1000, timezone.utc)

    @property
    def end_time(self) -> datetime | None:
        """When the run ended (UTC), or None while it runs."""
        from datetime import datetime, timezone

        end = self._end_ms
        return None if end is None else datetime.fromtimestamp(end / 1000, timezone.utc)

    @property
    def info(self) -> RunInfo:
        """MLflow-style ``info`` (``run_id``, ``status``, ``start_time`` in ms...)."""
        return RunInfo(self)

    @property
    def data(self) -> RunData:
        """MLflow-style ``data`` (``params`` as text, ``metrics``, ``tags``)."""
        return RunData(self)

    def __repr__(self) -> str:
        return f"<Run {self.name!r} ({self.id[:8]}) {self.status}>"

    def _repr_html_(self) -> str:
        from ._html import run_card_html

        return run_card_html(self)


class ActiveRun(Run):
    """A run this process is writing: a context manager and the handle to log through."""

    def __init__(
        self,
        store: Store,
        run_id: str,
        name: str,
        experiment: str,
        experiment_id: int,
        parent_id: str | None,
        start_ms: int,
        implicit: bool = False,
    ) -> None:
        self._store = store
        self._writer = _writer(store)
        self.id, self.name, self.status = run_id, name, "RUNNING"
        self.experiment, self.experiment_id = experiment, experiment_id
        self.parent_id = parent_id
        self.params, self.tags = {}, {}
        self._series: dict[str, Series] = {}
        self.source = self.error = self.rerun_of = self.notebook = self.cell_id = None
        self.capture = None
        self._start_ms, self._end_ms = start_ms, None
        self._implicit = implicit

    # context manager: the outcome becomes the status
    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None:
            self.end("FINISHED")
        elif issubclass(exc_type, KeyboardInterrupt):
            self.end("KILLED", error=_format_error(exc_type, exc, tb))
        else:
            self.end("FAILED", error=_format_error(exc_type, exc, tb))
        return False

    @property
    def metrics(self) -> dict[str, float]:
        """The latest value of each metric logged so far."""
        return {k: s.last[1] for k, s in self._series.items() if s.last is not None}

    @property
    def artifacts(self) -> list[dict]:
        """The artifacts logged so far (one entry per path, latest version)."""
        return _records.artifacts(self._store, self.id)

    def end(self, status: str = "FINISHED", error: str | None = None) -> None:
        """End this run with ``status``; its buffered data is written before this returns."""
        global _last_run
        if status not in STATUSES or status == "RUNNING":
            raise InvalidInputError(
                f"Status {status!r} cannot end a run; use one of "
                f"{', '.join(s for s in STATUSES if s != 'RUNNING')}."
            )
        _set_runs(tuple(r for r in _stack.get() if r is not self))
        if self.status != "RUNNING":
            return
        self.status, self._end_ms = status, now_ms()
        self.error = error
        self._writer.execute(
            "UPDATE runs SET status = ?, end_time = ?, error = ? WHERE id = ?",
            (status, self._end_ms, error, self.id),
        )
        self._writer.running.discard(self.id)
        self._writer.flush()
        self._writer.drop_series(self.id)
        _last_run = self

    # logging
    def log_param(self, key: str, value: Any, overwrite: bool = False) -> Any:
        """Log one param; the same value again is a no-op, a new one needs ``overwrite``."""
        check_key(key, "Param")
        text, kind, num = param_text(value)
        if key in self.params:
            old = self.params[key]
            if param_text(old)[0] == text:  # the same text is the same param (as MLflow)
                return value
            if not overwrite:
                raise ParamConflictError(self.id, key, old, value)
            self._writer.execute(
                "INSERT INTO param_history (run_id, key, value, type, replaced_at) "
                "SELECT run_id, key, value, type, ? FROM params WHERE run_id = ? AND key = ?",
                (now_ms(), self.id, key),
            )
        self.params[key] = typed_param(text, kind)
        self._writer.execute(
            "INSERT INTO params (run_id, key, value, type, num) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (run_id, key) DO UPDATE SET "
            "value = excluded.value, type = excluded.type, num = excluded.num",
            (self.id, key, text, kind, num),
        )
        return value

    def log_metric(
        self, key: str, value: Any, step: int | None = None, timestamp: int | None = None
    ) -> None:
        """Buffer one metric point (the writer persists it within a second)."""
        series = self._series.get(key) or self._new_series(key)
        if type(value) is not float:
            value = _metric_value(value)
        if step is None:
            step = series.next_step
            series.next_step = step + 1
        else:
            step = _check_step(step)
            if step >= series.next_step:
                series.next_step = step + 1
        point = (step, value, now_ms() if timestamp is None else int(timestamp))
        series.pts.append(point)
        series.last = point

    def _new_series(self, key: str) -> Series:
        check_key(key, "Metric")
        series = self._series[key] = self._writer.add_series(Series(self.id, key))
        return series

    def set_tag(self, key: str, value: Any) -> None:
        """Set (or replace) one tag."""
        check_key(key, "Tag")
        text = check_length(str(value), MAX_TAG_VALUE_LENGTH, "A tag value")
        self.tags[key] = text
        self._writer.execute(
            "INSERT INTO tags (run_id, key, value) VALUES (?, ?, ?) "
            "ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value",
            (self.id, key, text),
        )

    def set_origin(self, notebook: str | None, cell_id: str | None, rerun_of: str | None) -> None:
        """Record which notebook cell the run came from (the notebook integration)."""
        self.notebook, self.cell_id, self.rerun_of = notebook, cell_id, rerun_of
        self._writer.execute(
            "UPDATE runs SET notebook = ?, cell_id = ?, rerun_of = ? WHERE id = ?",
            (notebook, cell_id, rerun_of, self.id),
        )

    def set_capture(self, capture: dict) -> None:
        """Keep the capture report (environment, git, dependency slice, warnings).

        Its bulky parts (the git diff, the input history), the same for every run of a
        sweep and for most runs of a session, go to the deduplicated sources table.
        """
        self.capture = capture
        stored = dict(capture)
        git = dict(stored.get("git") or {})
        if git.get("diff"):
            git["diff"] = {"$source": self._writer.add_source(git["diff"])}
            stored["git"] = git
        if stored.get("history"):
            history = json.dumps(stored["history"])
            stored["history"] = {"$source": self._writer.add_source(history)}
        self._writer.execute(
            "UPDATE runs SET capture = ? WHERE id = ?",
            (json.dumps(stored, default=str), self.id),
        )

    def log_artifact(self, obj: Any, name: str | None = None) -> list[str]:
        """Log a file, a folder or an in-memory object; the stored names."""
        from ._artifacts import artifact_blobs

        logged = []
        for path, sha, size, media_type in artifact_blobs(self._store, obj, name):
            self._writer.execute(
                "INSERT INTO artifacts "
                "(run_id, path, version, sha256, size, media_type, created_at) VALUES "
                "(?, ?, (SELECT COALESCE(MAX(version), 0) + 1 FROM artifacts "
                "WHERE run_id = ? AND path = ?), ?, ?, ?, ?)",
                (self.id, path, self.id, path, sha, size, media_type, now_ms()),
            )
            logged.append(path)
        return logged

    # starting
    @classmethod
    def _create(
        cls,
        store: Store,
        name: str | None,
        experiment: str,
        parent_id: str | None,
        source: str | None,
        implicit: bool = False,
    ) -> ActiveRun:
        run = cls(
            store,
            os.urandom(16).hex(),
            name or run_name(),
            experiment,
            _experiment_id(store, experiment),
            parent_id,
            now_ms(),
            implicit,
        )
        run.source = source
        run._writer.execute(
            "INSERT INTO runs (id, experiment_id, name, status, start_time, parent_id, host, "
            "pid, pid_started, heartbeat, source_id) VALUES (?, ?, ?, 'RUNNING', ?, ?, ?, ?, ?, "
            "?, (SELECT id FROM sources WHERE sha256 = ?))",
            (
                run.id,
                run.experiment_id,
                run.name,
                run._start_ms,
                parent_id,
                HOST,
                os.getpid(),
                _own_start(),
                run._start_ms,
                None if source is None else run._writer.add_source(source),
            ),
        )
        run._writer.running.add(run.id)
        return run

    @classmethod
    def _resume(cls, store: Store, detail: dict) -> ActiveRun:
        run = cls(
            store,
            detail["run_id"],
            detail["name"],
            detail["experiment"],
            detail["experiment_id"],
            detail["parent_id"],
            detail["start_time"],
        )
        run.params = Run(detail).params
        run.tags = dict(detail["tags"])
        run.source = detail["source"]
        for key, last_step, last in _records.series_state(store, run.id):
            series = run._series[key] = run._writer.add_series(
                Series(run.id, key, last_step + 1, last)
            )
            series.last = last
        run._writer.execute(
            "UPDATE runs SET status = 'RUNNING', end_time = NULL, error = NULL, host = ?, "
            "pid = ?, pid_started = ?, heartbeat = ? WHERE id = ?",
            (HOST, os.getpid(), _own_start(), now_ms(), run.id),
        )
        run._writer.running.add(run.id)
        return run


def _check_step(step: Any) -> int:
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        raise TypeError(f"A metric step must be an integer, got {type(step).__name__}.")
    return int(step)


_OWN_START: list[float | None] = []


def _own_start() -> float | None:
    if not _OWN_START:
        _OWN_START.append(process_started(os.getpid()))
    return _OWN_START[0]


def _format_error(exc_type, exc, tb) -> str:
    import traceback

    text = "".join(traceback.format_exception(exc_type, exc, tb))
    return text if len(text) <= MAX_ERROR_LENGTH else "...\n" + text[-MAX_ERROR_LENGTH:]


_SCRIPT_SOURCE: dict[str, str | None] = {}


def _script_source() -> str | None:
    """The text of the script being run (``python train.py``), read once per process."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if not path:
        return None
    if path not in _SCRIPT_SOURCE:
        try:
            data = Path(path).read_bytes()
            text = data.decode("utf-8", "replace") if len(data) <= MAX_SOURCE_BYTES else None
        except OSError:
            text = None
        _SCRIPT_SOURCE[path] = text
    return _SCRIPT_SOURCE[path]


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
        experiment = _experiment_names([experiment_id])[0]
    return _start(name or run_name, experiment, params, tags, nested, run_id, description)


def _experiment_names(ids: list[str | int]) -> list[str]:
    """Experiment names for MLflow-style experiment ids (a clear error for unknown ones)."""
    known = {str(e["id"]): e["name"] for e in _records.experiments(current_store())}
    unknown = [str(i) for i in ids if str(i) not in known]
    if unknown:
        raise InvalidInputError(
            f"No experiment with id {', '.join(unknown)}; this store has "
            f"{', '.join(f'{i} ({n})' for i, n in known.items())}."
        )
    return [known[str(i)] for i in ids]


def _start(
    name: str | None,
    experiment: str | None,
    params: dict[str, Any] | None,
    tags: dict[str, Any] | None,
    nested: bool,
    run_id: str | None,
    description: str | None = None,
    source: str | None = None,
    implicit: bool = False,
) -> ActiveRun:
    store = current_store()
    active = _active_runs()
    if active and not nested:
        raise TrackerError(
            f"Run {active[-1].name!r} ({active[-1].id[:8]}) is still active. End it with "
            "jt.end_run(), or pass nested=True to start a child run inside it."
        )
    if name is not None:
        _check_name(name, "Run name", MAX_RUN_NAME_LENGTH)
    _check_values(params, tags)  # a bad key or value starts no run
    if run_id is not None:
        detail = _records.run_detail(store, store.resolve_run_id(run_id))
        stored = Run(detail).params
        for key, value in (params or {}).items():
            if key in stored and param_text(stored[key])[0] != param_text(value)[0]:
                raise ParamConflictError(detail["run_id"], key, stored[key], value)
        run = ActiveRun._resume(store, detail)
        if name is not None and name != run.name:
            run.name = name
            run._writer.execute("UPDATE runs SET name = ? WHERE id = ?", (name, run.id))
    else:
        experiment = _check_name(
            _default_experiment if experiment is None else experiment,
            "Experiment name",
            MAX_EXPERIMENT_NAME_LENGTH,
        )
        parent = active[-1].id if active else None
        run = ActiveRun._create(
            store,
            name,
            experiment,
            parent,
            source if source is not None else _script_source(),
            implicit,
        )
    _set_runs((*active, run))
    if params:
        for key, value in params.items():
            run.log_param(key, value)
    if tags:
        for key, value in tags.items():
            run.set_tag(key, value)
    if description is not None:
        run.set_tag("mlflow.note.content", description)
    return run


def _check_values(params: dict | None, tags: dict | None) -> None:
    for key, value in (params or {}).items():
        check_key(key, "Param")
        param_text(value)
    for key, value in (tags or {}).items():
        check_key(key, "Tag")
        check_length(str(value), MAX_TAG_VALUE_LENGTH, "A tag value")


def active_run() -> ActiveRun | None:
    """The innermost active run, or None."""
    active = _active_runs()
    return active[-1] if active else None


def last_active_run() -> ActiveRun | None:
    """The run that ended last in this process (MLflow's ``last_active_run``)."""
    return active_run() or _last_run


def end_run(status: str = "FINISHED") -> None:
    """End the innermost active run with ``status`` (no-op when none is active)."""
    run = active_run()
    if run is not None:
        run.end(status)


def _run_for(call: str) -> ActiveRun:
    active = _active_runs()
    if active:
        return active[-1]
    run = _start(None, None, None, None, False, None, implicit=True)
    print(
        f"jupyter-tracker: {call}() with no active run started run {run.name!r} "
        f"({run.id[:8]}); it ends with jt.end_run() or {_implicit_end}.",
        file=sys.stderr,
    )
    return run


def log_param(key: str, value: Any, overwrite: bool = False) -> Any:
    """Log one param of the active run (starting one if none is active); returns ``value``."""
    return _run_for("log_param").log_param(key, value, overwrite)


def log_params(params: dict[str, Any], overwrite: bool = False) -> None:
    """Log several params of the active run."""
    run = _run_for("log_params")
    for key, value in params.items():
        run.log_param(key, value, overwrite)


def param(key: str, default: Any = None) -> Any:
    """The value of param ``key`` set for this run (``%%track_run``, ``start_run(params=)``,
    a re-run of an export), else ``default``; what it returns is logged."""
    run = _run_for("param")
    if key in run.params:
        return run.params[key]
    return run.log_param(key, default)


def log_metric(
    key: str, value: float, step: int | None = None, timestamp: int | None = None
) -> None:
    """Log one metric point; without ``step`` it gets the next step of that key (0, 1, ...)."""
    active = _stack.get()
    (active[-1] if active else _run_for("log_metric")).log_metric(key, value, step, timestamp)


def log_metrics(metrics: dict[str, float], step: int | None = None) -> None:
    """Log several metric points at once (same step and time)."""
    run = _run_for("log_metrics")
    t = now_ms()
    for key, value in metrics.items():
        run.log_metric(key, value, step, t)


def set_tag(key: str, value: Any) -> None:
    """Set a tag on the active run."""
    _run_for("set_tag").set_tag(key, value)


def set_tags(tags: dict[str, Any]) -> None:
    """Set several tags on the active run."""
    run = _run_for("set_tags")
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
    return _run_for("log_artifact").log_artifact(path_or_object, name)


def log_artifacts(
    directory: str | os.PathLike, name: str | None = None, *, artifact_path: str | None = None
) -> list[str]:
    """Log every file under ``directory``, under the folder ``name`` (default: the root)."""
    from ._artifacts import as_folder

    return _run_for("log_artifacts").log_artifact(
        as_folder(directory), name if name is not None else artifact_path
    )


def log_text(text: str, artifact_file: str) -> list[str]:
    """Log ``text`` as the artifact ``artifact_file`` (MLflow's ``log_text``)."""
    return _run_for("log_text").log_artifact(str(text), artifact_file)


def log_dict(dictionary: dict, artifact_file: str) -> list[str]:
    """Log ``dictionary`` as JSON under ``artifact_file`` (MLflow's ``log_dict``)."""
    return _run_for("log_dict").log_artifact(dictionary, artifact_file)


def log_figure(figure: Any, artifact_file: str) -> list[str]:
    """Log a matplotlib or Plotly figure under ``artifact_file``."""
    return _run_for("log_figure").log_artifact(figure, artifact_file)


# -- reading --------------------------------------------------------------------------


def get_run(run_id: str) -> Run:
    """The run ``run_id`` (a full id or a unique prefix) as stored now."""
    store = current_store()
    return Run(_records.run_detail(store, store.resolve_run_id(run_id)))


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
    if experiment is None and experiment_names:
        experiment = list(experiment_names)
    if experiment is None and experiment_ids:
        experiment = _experiment_names(list(experiment_ids))
    rows = _records.records(
        current_store(),
        filter if filter is not None else filter_string,
        order_by,
        experiment,
        0,
        max_results,
    )
    return _records.to_frame(rows)


def metric_history(run_id: str, key: str) -> pd.DataFrame:
    """Every point of metric ``key`` of a run, in logging order: ``step, value, timestamp``."""
    import pandas as pd

    store = current_store()
    steps, values, times = _records.metric_points(store, store.resolve_run_id(run_id), key)
    return pd.DataFrame(
        {
            "step": steps,
            "value": pd.array(values, dtype="float64"),
            "timestamp": pd.to_datetime(times, unit="ms", utc=True),
        }
    )


# -- exit -----------------------------------------------------------------------------


@atexit.register
def _at_exit() -> None:
    """End this process's runs (FAILED if an uncaught exception ends the script, KILLED on
    Ctrl-C), then write what is still buffered."""
    failed = getattr(sys, "last_value", None)
    for run in reversed(_stack.get()):
        try:
            if failed is None:
                run.end("FINISHED")
            else:
                status = "KILLED" if isinstance(failed, KeyboardInterrupt) else "FAILED"
                run.end(status, error=_format_error(type(failed), failed, failed.__traceback__))
        except Exception as exc:
            print(f"jupyter-tracker: could not end run {run.name!r}: {exc}", file=sys.stderr)
    for writer in list(_writers.values()):
        try:
            writer.flush()
        except Exception as exc:
            print(f"jupyter-tracker: could not write the last data: {exc}", file=sys.stderr)
