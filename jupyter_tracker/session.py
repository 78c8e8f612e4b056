"""This process's tracking state in one object: the store, its writers, the active runs,
the default experiment, and what happens to runs at exit.

``session()`` is the one ``Session`` of the process; the fluent API and the notebook
integration both go through it (nothing else keeps module globals about runs).
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path
from typing import Any

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
from .store._writer import Writer
from .values import param_text

DEFAULT_EXPERIMENT = "Default"
MAX_SOURCE_BYTES = 1_000_000


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


class Session:
    """The tracking state of this process."""

    def __init__(self) -> None:
        self.store: Store | None = None
        self.writers: dict[Store, Writer] = {}  # one per opened store, all flushed at exit
        self.default_experiment = DEFAULT_EXPERIMENT
        # How a run started by a bare log call ends, in the sentence that announces it
        # (the notebook integration says "with this cell").
        self.implicit_end = "when the process exits"
        self.last_run: ActiveRun | None = None
        self._experiment_ids: dict[tuple[Store, str], int] = {}
        self._stack: ContextVar[tuple[ActiveRun, ...]] = ContextVar(
            "jupyter_tracker_runs", default=()
        )
        self._main_thread = threading.main_thread()
        self._main_runs: tuple[ActiveRun, ...] = ()  # seen by threads the user starts
        self._lock = threading.Lock()
        self._script_source: dict[str, str | None] = {}
        # Called with (run, "started" | "ended"): how a shell shows runs it did not start.
        self.watchers: list[Callable[[ActiveRun, str], None]] = []

    # -- the store ------------------------------------------------------------------------

    def set_store(self, path: str | os.PathLike | None) -> Store:
        """Use the store at ``path`` (created if missing) from now on; None: the default."""
        target = Path(path).expanduser().resolve() if path is not None else None
        store = self.store
        if store is not None and target == store.path and store.db_path.exists():
            return store  # re-running a setup cell keeps the same store and writer
        self.store = Store.open(target)
        return self.store

    def current_store(self) -> Store:
        """The store this process uses, opened on first use."""
        if self.store is None:
            with self._lock:
                if self.store is None:
                    self.store = Store.open()
        return self.store

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

    def experiment_id(self, store: Store, name: str) -> int:
        """The id of experiment ``name`` (created on first use), cached."""
        key = (store, name)
        if key not in self._experiment_ids:
            found = store.experiment_id(name)
            assert found is not None  # created when missing
            self._experiment_ids[key] = found
        return self._experiment_ids[key]

    def experiment_names(self, ids: list[str | int]) -> list[str]:
        """Experiment names for MLflow-style experiment ids (a clear error for unknown ones)."""
        known = {str(e["id"]): e["name"] for e in queries.experiments(self.current_store())}
        unknown = [str(i) for i in ids if str(i) not in known]
        if unknown:
            raise InvalidInputError(
                f"No experiment with id {', '.join(unknown)}; this store has "
                f"{', '.join(f'{i} ({n})' for i, n in known.items())}."
            )
        return [known[str(i)] for i in ids]

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
        """``run`` ends: it leaves the active runs and becomes the last active run."""
        self._set_runs(tuple(r for r in self._stack.get() if r is not run))
        if run.status == "RUNNING":
            self.last_run = run

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
        description: str | None = None,
        source: str | None = None,
        implicit: bool = False,
    ) -> ActiveRun:
        """Start a run (or resume ``run_id``); ``source`` is the code it runs (default: the
        script's text); ``implicit``: started by a log call, not by the user."""
        store = self.current_store()
        if store.read_only:
            raise StoreReadOnlyError(str(store.path))
        active = self.active_runs()
        if active and not nested:
            raise TrackerError(
                f"Run {active[-1].name!r} ({active[-1].id[:8]}) is still active. End it with "
                "jt.end_run(), or pass nested=True to start a child run inside it."
            )
        if name is not None:
            check_name(name, "Run name", MAX_RUN_NAME_LENGTH)
        check_values(params, tags)  # a bad key or value starts no run
        if run_id is not None:
            run = self._resume(store, run_id, name, params)
        else:
            experiment = check_name(
                self.default_experiment if experiment is None else experiment,
                "Experiment name",
                MAX_EXPERIMENT_NAME_LENGTH,
            )
            run = ActiveRun(
                self,
                self.writer(store),
                os.urandom(16).hex(),
                name or run_name(),
                (experiment, self.experiment_id(store, experiment)),
                active[-1].id if active else None,
                now_ms(),
                implicit,
            )
            run.insert(source if source is not None else self._script())
        self._set_runs((*active, run))
        for key, value in (params or {}).items():
            run.log_param(key, value)
        for key, value in (tags or {}).items():
            run.set_tag(key, value)
        if description is not None:
            run.set_tag("mlflow.note.content", description)
        if run_id is None:
            self.notify(run, "started")
        return run

    def _resume(
        self, store: Store, run_id: str, name: str | None, params: dict[str, Any] | None
    ) -> ActiveRun:
        detail = queries.run_detail(store, store.resolve_run_id(run_id))
        stored = Run(detail).params
        for key, value in (params or {}).items():
            if key in stored and param_text(stored[key])[0] != param_text(value)[0]:
                raise ParamConflictError(detail["run_id"], key, stored[key], value)
        run = ActiveRun(
            self,
            self.writer(store),
            detail["run_id"],
            detail["name"],
            (detail["experiment"], detail["experiment_id"]),
            detail["parent_id"],
            detail["start_time"],
        )
        run.resume(detail)
        if name is not None and name != run.name:
            run.rename(name)
        return run

    def run_for(self, call: str) -> ActiveRun:
        """The run a log call goes to: the active one, else a new one (announced once)."""
        active = self.active_runs()
        if active:
            return active[-1]
        run = self.start(implicit=True)
        print(
            f"jupyter-tracker: {call}() with no active run started run {run.name!r} "
            f"({run.id[:8]}); it ends with jt.end_run() or {self.implicit_end}.",
            file=sys.stderr,
        )
        return run

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
        self._lock = threading.Lock()
        self._main_thread = threading.main_thread()

    def flush(self) -> None:
        """Write what every writer of this process has buffered (errors are reported)."""
        for writer in list(self.writers.values()):
            try:
                writer.flush()
            except Exception as exc:
                print(f"jupyter-tracker: could not write the last data: {exc}", file=sys.stderr)

    def at_exit(self) -> None:
        """End the runs this process started (as the uncaught exception that ends the script
        says), then write what is still buffered. A forked child only writes: the parent's
        runs are the parent's to end."""
        failed = getattr(sys, "last_value", None)
        for run in reversed(self._stack.get()):
            if run.pid != os.getpid():
                continue
            try:
                run.end(outcome(failed), error=error_text(failed))
            except Exception as exc:
                print(f"jupyter-tracker: could not end run {run.name!r}: {exc}", file=sys.stderr)
        self.flush()


_SESSION = Session()
atexit.register(_SESSION.at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_SESSION.after_fork_in_child)


def session() -> Session:
    """The tracking state of this process."""
    return _SESSION
