"""This process's tracking state in one object: the store and how it was chosen, its
writers, the active runs, the chosen experiment, MLflow's environment variables, and what
happens to runs at exit.

``session()`` is the one ``Session`` of the process; the fluent API, ``MlflowClient`` and
the notebook integration all go through it (nothing else keeps module globals about runs).
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from ._limits import (
    MAX_EXPERIMENT_NAME_LENGTH,
    MAX_RUN_NAME_LENGTH,
    MAX_TAG_VALUE_LENGTH,
    check_key,
    check_length,
)
from ._names import run_name
from .errors import InvalidInputError, ParamConflictError, StoreReadOnlyError, TrackerError
from .run import ActiveRun, Run, error_text, outcome
from .store import DB_NAME, Store, find_store_dir, now_ms, queries
from .store._location import ENV_VAR, STORE_DIRNAME
from .store._maintenance import is_deleted
from .store._writer import Writer
from .values import param_text

DEFAULT_EXPERIMENT = "Default"
MAX_SOURCE_BYTES = 1_000_000
# MLflow's environment variables (read when jupyter-tracker's own store setting is absent).
MLFLOW_TRACKING_URI = "MLFLOW_TRACKING_URI"
MLFLOW_EXPERIMENT_NAME = "MLFLOW_EXPERIMENT_NAME"
MLFLOW_EXPERIMENT_ID = "MLFLOW_EXPERIMENT_ID"
MLFLOW_RUN_ID = "MLFLOW_RUN_ID"
# How the store was chosen: jupyter-tracker's own setting (JUPYTER_TRACKER_STORE,
# set_store), MLflow's (MLFLOW_TRACKING_URI, set_tracking_uri), or the default.
ChosenBy = Literal["jupyter-tracker", "mlflow", "default"]
SERVER_SCHEMES = ("http://", "https://")


def check_name(name: object, what: str, limit: int) -> str:
    """``name`` if it is a non-empty string within ``limit`` characters, else a clear error."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidInputError(f"{what} must be a non-empty string, got {name!r}.")
    return check_length(name, limit, what)


def check_values(params: dict | None, tags: dict | None) -> None:
    """Refuse bad param and tag keys and values before anything is written."""
    for key, value in (params or {}).items():
        check_key(key, "Param")
        param_text(value)
    for key, value in (tags or {}).items():
        check_key(key, "Tag")
        check_length(str(value), MAX_TAG_VALUE_LENGTH, "A tag value")


def store_path_for_uri(uri: str | os.PathLike) -> Path:
    """The local store folder a tracking URI names.

    A folder or a ``file:`` URI is the store itself, unless it holds MLflow's own file store
    (experiment folders with a ``meta.yaml``): that is never written, and the store is the
    ``.jupyter_tracker/`` folder beside it. ``sqlite:///path/mlflow.db`` is the
    ``.jupyter_tracker/`` folder beside that database (MLflow's database is never read or
    written; ``jupyter-tracker import --tracking-uri sqlite:///...`` brings its runs in);
    ``sqlite:///:memory:`` is a temporary store, gone when the process exits. A server
    (``http(s)://``) is not a store: see ``set_tracking_uri``. Any other scheme is a clear error.
    """
    text = os.fspath(uri)
    if text.startswith("file:"):
        from urllib.parse import unquote, urlparse

        return _beside_mlflows(Path(unquote(urlparse(text).path)))
    if text.startswith("sqlite:"):
        database = text.removeprefix("sqlite:").removeprefix("///")
        if database in ("", ":memory:", "//", "//:memory:"):
            return _temporary_store()
        return Path(database).expanduser().resolve().parent / STORE_DIRNAME
    if "://" in text or text.startswith(("databricks", "postgresql:", "mysql:", "mssql:")):
        raise InvalidInputError(
            f"jupyter-tracker keeps runs in a local store; {text!r} is not one. Give a folder, "
            "a file: or sqlite:/// URI, or an http(s):// MLflow server to mirror to; "
            "`jupyter-tracker push --to mlflow --tracking-uri URI` copies runs to any MLflow "
            "tracking server."
        )
    return _beside_mlflows(Path(text))


def _beside_mlflows(folder: Path) -> Path:
    """``folder``, or the store beside it when it is MLflow's own file store (``mlruns``)."""
    if folder.is_dir() and next(folder.glob("*/meta.yaml"), None) is not None:
        return folder.expanduser().resolve().parent / STORE_DIRNAME
    return folder


_TEMPORARY_STORES: list[Path] = []  # removed at exit, after the last flush


def _temporary_store() -> Path:
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="jupyter-tracker-"))
    _TEMPORARY_STORES.append(folder)
    return folder / STORE_DIRNAME


class Session:
    """The tracking state of this process."""

    def __init__(self) -> None:
        self.store: Store | None = None
        self.chosen_by: ChosenBy = "default"
        self.tracking_uri: str | None = None  # as given to set_tracking_uri
        # How a server tracking URI is followed (the tracking API sets it: the live mirror).
        self.follow_server: Callable[[str], None] | None = None
        self.writers: dict[Store, Writer] = {}  # one per opened store, all flushed at exit
        self.experiment: str | None = None  # chosen by set_experiment, for the current store
        # How a run started by a bare log call ends, in the sentence that announces it
        # (the notebook integration says "with this cell").
        self.implicit_end = "when the process exits"
        self.last_run_id: str | None = None
        self._experiment_ids: dict[tuple[Store, str], int] = {}
        self._other_stores: dict[Path, Store] = {}
        self._stack: ContextVar[tuple[ActiveRun, ...]] = ContextVar(
            "jupyter_tracker_runs", default=()
        )
        self._main_thread = threading.main_thread()
        self._main_runs: tuple[ActiveRun, ...] = ()  # seen by threads the user starts
        # Every run this process is writing (started, resumed, or created by MlflowClient)
        # until it ends: what a call naming a run id logs through.
        self._live: dict[tuple[Store, str], ActiveRun] = {}
        self._lock = threading.RLock()
        self._script_source: dict[str, str | None] = {}
        self._pid = os.getpid()
        # Called with (run, "started" | "ended"): how a shell shows runs it did not start.
        self.watchers: list[Callable[[ActiveRun, str], None]] = []
        # The run of a papermill execution (made on first call): the parent of runs started
        # with none active, and where log calls outside any run go.
        self.default_parent: Callable[[], ActiveRun] | None = None

    # -- the store ------------------------------------------------------------------------

    def set_store(self, path: str | os.PathLike | None, chosen_by: ChosenBy | None = None) -> Store:
        """Use the store at ``path`` (created if missing) from now on; None: the default.
        A different store forgets the experiment chosen for the last one."""
        target = Path(path).expanduser().resolve() if path is not None else None
        self.chosen_by = chosen_by or ("default" if path is None else "jupyter-tracker")
        self.tracking_uri = None  # use_tracking_uri sets it after
        store = self.store
        if store is not None and target == store.path and store.db_path.exists():
            return store  # re-running a setup cell keeps the same store and writer
        self.store = Store.open(target)
        self.experiment = None
        return self.store

    def open_store(self, path: Path) -> Store:
        """The store at ``path`` for a client of it (``MlflowClient(tracking_uri)``): the one
        in use if it is that one, else one opened once per process (never made current)."""
        target = path.expanduser().resolve()
        with self._lock:
            if self.store is not None and self.store.path == target:
                return self.store
            if target not in self._other_stores:
                self._other_stores[target] = Store.open(target)
            return self._other_stores[target]

    def current_store(self) -> Store:
        """The store this process uses, opened on first use: ``JUPYTER_TRACKER_STORE``, else
        ``MLFLOW_TRACKING_URI``, else the default one."""
        if self.store is None:
            with self._lock:
                if self.store is None:
                    uri = None if os.environ.get(ENV_VAR) else os.environ.get(MLFLOW_TRACKING_URI)
                    if uri:
                        self.use_tracking_uri(uri)
                    else:
                        self.chosen_by = "jupyter-tracker" if os.environ.get(ENV_VAR) else "default"
                        self.store = Store.open()
        assert self.store is not None
        return self.store

    def use_tracking_uri(self, uri: str | os.PathLike) -> None:
        """MLflow's tracking URI: a local folder, ``file:`` or ``sqlite:`` URI selects the
        store (``store_path_for_uri``); a server keeps the store and is followed by
        ``follow_server`` (the live mirror)."""
        text = os.fspath(uri)
        if text.startswith(SERVER_SCHEMES):
            if self.store is None:
                self.store = Store.open()
            assert self.follow_server is not None, "the tracking API sets follow_server"
            self.follow_server(text)
        else:
            self.set_store(store_path_for_uri(text), "mlflow")
        self.chosen_by = "mlflow"
        self.tracking_uri = text

    def mlflow_env(self, name: str) -> str | None:
        """MLflow's environment variable ``name``, unless jupyter-tracker's own setting chose
        the store (then MLflow's environment is not this store's: under ``mlflow run`` of an
        exported project, for one)."""
        self.current_store()
        return None if self.chosen_by == "jupyter-tracker" else os.environ.get(name) or None

    def crashed_runs_on_open(self) -> list[str]:
        """Names and short ids of runs marked CRASHED when this process opened the store.

        Does not create a store (nor pay for creating one) when there is none yet.
        """
        if self.store is None and not (find_store_dir() / DB_NAME).exists():
            return []
        store = self.current_store()
        return queries.run_labels(store, store.crashed_on_open) if store.crashed_on_open else []

    def writer(self, store: Store) -> Writer:
        """The writer of ``store`` in this process."""
        writer = self.writers.get(store)
        if writer is None:
            writer = self.writers[store] = Writer(store)
        return writer

    # -- experiments ----------------------------------------------------------------------

    def experiment_id(self, store: Store, name: str) -> int:
        """The id of experiment ``name`` (created on first use), cached."""
        key = (store, name)
        if key not in self._experiment_ids:
            found = store.experiment_id(name)
            assert found is not None  # created when missing
            self._experiment_ids[key] = found
        return self._experiment_ids[key]

    def experiment_names(self, ids: list[str | int], store: Store | None = None) -> list[str]:
        """Experiment names for MLflow-style experiment ids (a clear error for unknown ones)."""
        known = {
            str(e["id"]): e["name"] for e in queries.experiments(store or self.current_store())
        }
        unknown = [str(i) for i in ids if str(i) not in known]
        if unknown:
            raise InvalidInputError(
                f"No experiment with id {', '.join(unknown)}; this store has "
                f"{', '.join(f'{i} ({n})' for i, n in known.items())}."
            )
        return [known[str(i)] for i in ids]

    def chosen_experiment(self) -> str | None:
        """The experiment chosen for this store: by ``set_experiment``, else by
        ``MLFLOW_EXPERIMENT_NAME`` or ``MLFLOW_EXPERIMENT_ID``; None if none was."""
        if self.experiment is not None:
            return self.experiment
        name = self.mlflow_env(MLFLOW_EXPERIMENT_NAME)
        if name is not None:
            return name
        experiment_id = self.mlflow_env(MLFLOW_EXPERIMENT_ID)
        return None if experiment_id is None else self.experiment_names([experiment_id])[0]

    # -- active runs ----------------------------------------------------------------------

    def active_runs(self) -> tuple[ActiveRun, ...]:
        """This context's runs; in a thread of the user's own, the main thread's runs."""
        runs = self._stack.get()
        if runs or threading.current_thread() is self._main_thread:
            return runs
        return self._main_runs

    def active_run(self) -> ActiveRun | None:
        """The innermost active run, or None."""
        runs = self.active_runs()
        return runs[-1] if runs else None

    def _set_runs(self, runs: tuple[ActiveRun, ...]) -> None:
        self._stack.set(runs)
        if threading.current_thread() is self._main_thread:
            self._main_runs = runs

    def notify(self, run: ActiveRun, event: str) -> None:
        """Tell the watchers (e.g. the notebook's run cards) that ``run`` has ``event``
        ("started" or "ended"); a failing watcher never stops the run."""
        for watcher in list(self.watchers):
            try:
                watcher(run, event)
            except Exception as exc:
                print(f"jupyter-tracker: {watcher!r} failed on {event}: {exc}", file=sys.stderr)

    def ended(self, run: ActiveRun) -> None:
        """``run`` ends: it leaves the active runs (becoming the last active run) and the
        runs this process writes."""
        own = self._stack.get()
        if run in own:
            self._set_runs(tuple(r for r in own if r is not run))
            self.last_run_id = run.id
        with self._lock:
            self._live.pop((run._store, run.id), None)

    def writing(self, store: Store, run_id: str) -> ActiveRun | None:
        """The run ``run_id`` (a full id) if this process writes it, else None."""
        return self._live.get((store, run_id))

    def live(self, run: ActiveRun) -> ActiveRun:
        """Count ``run`` among the runs this process writes (until it ends)."""
        with self._lock:
            self._live[(run._store, run.id)] = run
        return run

    # -- starting -------------------------------------------------------------------------

    def start(
        self,
        name: str | None = None,
        experiment: str | None = None,
        params: dict[str, Any] | None = None,
        tags: dict[str, Any] | None = None,
        nested: bool = False,
        run_id: str | None = None,
        *,
        parent_id: str | None = None,
        description: str | None = None,
        source: str | None = None,
        implicit: bool = False,
    ) -> ActiveRun:
        """Start a run (or resume ``run_id``) and make it this context's active run.

        A context with an active run starts another only ``nested`` (a child of it); a
        thread of the user's own with no run of its own starts its own run, as in MLflow.
        ``parent_id`` makes the new run a child of that run (the active one, if any).
        ``source`` is the code it runs (default: the script's text); ``implicit``: started
        by a log call, not by the user.
        """
        store = self.current_store()
        if store.read_only:
            raise StoreReadOnlyError(str(store.path))
        own = self._stack.get()
        if own and not nested:
            raise TrackerError(
                f"Run {own[-1].name!r} ({own[-1].id[:8]}) is still active. End it with "
                "jt.end_run(), or pass nested=True to start a child run inside it."
            )
        if name is not None:
            check_name(name, "Run name", MAX_RUN_NAME_LENGTH)
        check_values(params, tags)  # a bad key or value starts no run
        if run_id is not None:
            run = self._resume(store, run_id, params)
            if name is not None and name != run.name:
                run.rename(name)
        else:
            parent = self._parent(store, parent_id, nested)
            experiment = check_name(
                (self.chosen_experiment() or DEFAULT_EXPERIMENT)
                if experiment is None
                else experiment,
                "Experiment name",
                MAX_EXPERIMENT_NAME_LENGTH,
            )
            run = self.create(store, experiment, name, parent, source, implicit=implicit)
        self._set_runs((*own, run))
        for key, value in (params or {}).items():
            run.log_param(key, value)
        for key, value in (tags or {}).items():
            run.set_tag(key, value)
        if description is not None:
            run.set_tag("mlflow.note.content", description)
        if run_id is None:
            self.notify(run, "started")
        return run

    def create(
        self,
        store: Store,
        experiment: str,
        name: str | None = None,
        parent_id: str | None = None,
        source: str | None = None,
        start_ms: int | None = None,
        *,
        implicit: bool = False,
    ) -> ActiveRun:
        """A new RUNNING run of this process (not made active), with MLflow's system tags."""
        run = ActiveRun(
            self,
            self.writer(store),
            os.urandom(16).hex(),
            name or run_name(),
            (experiment, self.experiment_id(store, experiment)),
            parent_id,
            now_ms() if start_ms is None else start_ms,
            implicit,
        )
        run.insert(source if source is not None else self._script())
        for key, value in self._system_tags(run).items():
            run.set_tag(key, value)
        return self.live(run)

    def _system_tags(self, run: ActiveRun) -> dict[str, str]:
        """MLflow's tags for a new run: its name, user, source and parent."""
        tags = {
            "mlflow.runName": run.name,
            "mlflow.user": _user(),
            "mlflow.source.name": sys.argv[0] if sys.argv and sys.argv[0] else "<console>",
            "mlflow.source.type": "LOCAL",
        }
        if run.parent_id is not None:
            tags["mlflow.parentRunId"] = run.parent_id
        return tags

    def _parent(self, store: Store, parent_id: str | None, nested: bool) -> str | None:
        """The parent of a new run: ``parent_id`` (which must be the active run, if there is
        one), else the active run when ``nested``."""
        active = self.active_run()
        if parent_id is None:
            if active is None and self.default_parent is not None:
                return self.default_parent().id
            return active.id if nested and active is not None else None
        parent_id = store.resolve_run_id(parent_id)
        if active is not None and active.id != parent_id:
            raise TrackerError(
                f"Run {active.name!r} ({active.id[:8]}) is active, not {parent_id[:8]}: a "
                "child run starts inside its parent. End the active run first."
            )
        if is_deleted(store, parent_id):
            raise InvalidInputError(f"Run {parent_id[:8]} is deleted; it cannot be a parent.")
        return parent_id

    def _resume(self, store: Store, run_id: str, params: dict[str, Any] | None) -> ActiveRun:
        full_id = store.resolve_run_id(run_id)
        live = self.writing(store, full_id)
        if live is not None:  # a run this process writes (say, created by MlflowClient)
            return live
        if is_deleted(store, full_id):
            raise InvalidInputError(
                f"Run {full_id[:8]} is deleted; `jupyter-tracker runs restore {full_id[:8]}` "
                "brings it back."
            )
        detail = queries.run_detail(store, full_id, system_tags=True)
        stored = Run(detail).params
        for key, value in (params or {}).items():
            if key in stored and param_text(stored[key])[0] != param_text(value)[0]:
                raise ParamConflictError(detail["run_id"], key, stored[key], value)
        run = self.attached(store, detail)
        run.resume()
        return self.live(run)

    def attached(self, store: Store, detail: Any) -> ActiveRun:
        """A handle on the stored run ``detail`` (a ``RunDetail`` with system tags) that
        logs to it as it is (its status unchanged)."""
        run = ActiveRun(
            self,
            self.writer(store),
            detail["run_id"],
            detail["name"],
            (detail["experiment"], detail["experiment_id"]),
            detail["parent_id"],
            detail["start_time"],
        )
        run.attach(detail)
        return run

    @contextmanager
    def logging_to(self, run_id: str, store: Store | None = None) -> Iterator[ActiveRun]:
        """The run ``run_id`` to log to: the object this process writes it through, else a
        handle on the stored run, written (and let go) when the block ends. A deleted run
        is a clear error, as in MLflow."""
        store = store or self.current_store()
        full_id = store.resolve_run_id(run_id)
        live = self.writing(store, full_id)
        if live is not None:
            yield live
            return
        if is_deleted(store, full_id):
            raise InvalidInputError(
                f"Run {full_id[:8]} is deleted; restore it before logging to it."
            )
        run = self.attached(store, queries.run_detail(store, full_id, system_tags=True))
        try:
            yield run
        finally:
            run.detach()

    def run_for(self, call: str, run_id: str | None = None) -> ActiveRun:
        """The run a log call goes to: the active one, else a new one (announced once)."""
        active = self.active_runs()
        if active:
            return active[-1]
        if self.default_parent is not None:
            return self.default_parent()
        run = self.start(implicit=True)
        print(
            f"jupyter-tracker: {call}() with no active run started run {run.name!r} "
            f"({run.id[:8]}); it ends with jt.end_run() or {self.implicit_end}.",
            file=sys.stderr,
        )
        return run

    @contextmanager
    def target(self, call: str, run_id: str | None) -> Iterator[ActiveRun]:
        """The run a log call with MLflow's ``run_id=`` goes to: that run when given, else
        the active one (``run_for``)."""
        if run_id is None:
            yield self.run_for(call)
        else:
            with self.logging_to(run_id) as run:
                yield run

    def _script(self) -> str | None:
        """The text of the script being run (``python train.py``), read once per process."""
        main = sys.modules.get("__main__")
        path = getattr(main, "__file__", None)
        if not path:
            return None
        if path not in self._script_source:
            try:
                data = Path(path).read_bytes()
                text = data.decode("utf-8", "replace") if len(data) <= MAX_SOURCE_BYTES else None
            except OSError:
                text = None
            self._script_source[path] = text
        return self._script_source[path]

    # -- exit -----------------------------------------------------------------------------

    def after_fork_in_child(self) -> None:
        """A forked child (``os.fork``, ``multiprocessing``) gets its own writers and
        connections and writes each call at once; it logs to the parent's runs until it
        starts its own, and never ends them."""
        for writer in self.writers.values():
            writer.after_fork_in_child()
        self._lock = threading.RLock()
        self._main_thread = threading.main_thread()

    def flush(self) -> None:
        """Write what every writer of this process has buffered (errors are reported)."""
        for writer in list(self.writers.values()):
            try:
                writer.flush()
            except Exception as exc:
                print(f"jupyter-tracker: could not write the last data: {exc}", file=sys.stderr)

    def at_exit(self) -> None:
        """End the runs this process started and still writes, innermost first (as the
        uncaught exception that ends the script says), then write what is still buffered.
        A forked child only writes: the parent's runs are the parent's to end. Temporary
        stores (``sqlite:///:memory:``) go last."""
        failed = getattr(sys, "last_value", None)
        for run in reversed(list(self._live.values())):
            if run.pid != os.getpid():
                continue
            try:
                run.end(outcome(failed), error=error_text(failed))
            except Exception as exc:
                print(f"jupyter-tracker: could not end run {run.name!r}: {exc}", file=sys.stderr)
        self.flush()
        if os.getpid() == self._pid:
            import shutil

            for folder in _TEMPORARY_STORES:
                shutil.rmtree(folder, ignore_errors=True)


_USER: list[str] = []


def _user() -> str:
    """Who runs this process (MLflow's ``mlflow.user``), read once."""
    if not _USER:
        import getpass

        try:
            _USER.append(getpass.getuser())
        except Exception:  # no user name in this container
            _USER.append("unknown")
    return _USER[0]


_SESSION = Session()
atexit.register(_SESSION.at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_SESSION.after_fork_in_child)


def session() -> Session:
    """The tracking state of this process."""
    return _SESSION
