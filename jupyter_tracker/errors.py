"""The error classes users can catch: one base class, subclasses that keep their fields."""

from __future__ import annotations


class TrackerError(Exception):
    """Base class of every error jupyter-tracker raises on purpose."""


class InvalidInputError(TrackerError, ValueError):
    """A key, value, name or filter that breaks a documented rule."""


class ParamConflictError(InvalidInputError):
    """A param was logged again with a different value without ``overwrite=True``."""

    def __init__(self, run_id: str, key: str, old: object, new: object) -> None:
        self.run_id, self.key, self.old, self.new = run_id, key, old, new
        super().__init__(
            f"Param {key!r} of run {run_id[:8]} is already {old!r}; got {new!r}. "
            "Pass overwrite=True to replace it (the old value stays in the param history), "
            "or start a new run for the new value."
        )


class FilterError(InvalidInputError):
    """A malformed ``search_runs`` filter; ``position`` is the 0-based offending offset."""

    def __init__(self, message: str, text: str, position: int) -> None:
        self.text, self.position = text, position
        shown = text if len(text) <= 120 else text[max(0, position - 60) : position + 60]
        caret = min(position, 60) if len(text) > 120 else position
        super().__init__(
            f"{message} at position {position} of the filter:\n  {shown}\n  {' ' * caret}^"
        )


class RunNotFoundError(TrackerError, KeyError):
    """No run with this id (or id prefix) in the store."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        super().__init__(run_id)

    def __str__(self) -> str:
        return (
            f"No run {self.run_id!r} in this store. "
            "`jupyter-tracker runs list` shows the runs it has."
        )


class StoreVersionError(TrackerError):
    """The store was written by a newer jupyter-tracker than this one."""

    def __init__(self, path: str, found: int, supported: int) -> None:
        self.path, self.found, self.supported = path, found, supported
        super().__init__(
            f"The store at {path} has schema version {found}, written by a newer "
            f"jupyter-tracker; this one reads up to version {supported}. "
            "Upgrade with `pip install -U jupyter-tracker`."
        )


class RunStillRunningError(TrackerError):
    """A RUNNING run cannot be deleted: its process may still be writing to it."""

    def __init__(self, run_id: str, name: str) -> None:
        self.run_id, self.name = run_id, name
        super().__init__(
            f"Run {run_id[:8]} ({name}) is still RUNNING; end it first "
            "(a run whose process died is marked CRASHED and can then be deleted)."
        )


class StoreGoneError(TrackerError):
    """The store's database file was deleted or replaced while this process was using it."""

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(
            f"The store at {path} was deleted (or replaced) while this process was using it; "
            "what was logged since could not be written. Call jt.set_store(...) to use a new "
            "store, or restart the kernel."
        )


class StoreDamagedError(TrackerError):
    """The store's database file is damaged: nothing more is written to it."""

    def __init__(self, path: str, detail: str) -> None:
        self.path, self.detail = path, detail
        super().__init__(
            f"The store at {path} is damaged ({detail}); nothing more is written to it, and "
            "what was logged since stays in memory. `jupyter-tracker doctor` checks it; "
            "jt.set_store(...) switches to another store."
        )


class StoreReadOnlyError(TrackerError):
    """The store can be read but not written (a read-only mount, another user's files)."""

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(
            f"The store at {path} is read-only: its runs can be read, not written. "
            "jt.set_store(...) (or JUPYTER_TRACKER_STORE) chooses a store you can write to."
        )


class ExportEditedError(TrackerError):
    """A re-export would overwrite files changed since the last export (``files``, relative
    to ``path``); nothing was written."""

    SHOWN = 10  # files named in the message; ``files`` holds them all

    def __init__(self, path: str, run_id: str, files: list[str]) -> None:
        self.path, self.run_id, self.files = path, run_id, files
        named = ", ".join(files[: self.SHOWN])
        if len(files) > self.SHOWN:
            named += f" and {len(files) - self.SHOWN} more"
        super().__init__(
            f"Not re-exporting run {run_id[:8]} to {path}: {named} changed since the last "
            "export (or were not written by it); nothing was written. Move them away, or "
            "re-export with force=True (--force): each is then kept beside as <name>.orig."
        )


class OutOfScopeError(TrackerError, AttributeError):
    """A part of MLflow jupyter-tracker does not cover: models, the model registry,
    deployments, tracing (``what`` names it). Raised when it is touched, as an attribute
    (``mlflow.sklearn``) or an argument (``model_id=``)."""

    def __init__(self, what: str) -> None:
        self.what = what
        super().__init__(
            f"{what} is not part of jupyter-tracker: it covers MLflow's tracking API (runs, "
            "params, metrics, tags, artifacts, experiments), not models, the model registry, "
            "deployments or tracing. Log runs here, then `jupyter-tracker push --to mlflow "
            "--tracking-uri URI` copies them to an MLflow tracking server, where MLflow's "
            "own API does the rest."
        )
