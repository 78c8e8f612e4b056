"""Runs: ``Run`` (a run as stored, what ``get_run`` returns) and ``ActiveRun`` (a run this
process is logging to), with the one rule that turns how code ended into a run status.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Literal

from ._limits import MAX_TAG_VALUE_LENGTH, check_key, check_length, storable
from .errors import InvalidInputError, ParamConflictError
from .model import FINAL_STATUSES, Artifact, CaptureReport, RunDetail
from .store import Store, now_ms, queries
from .store import runs as writes
from .store._writer import Series, Writer
from .values import INT64_MAX, metric_step, metric_timestamp, metric_value, param_text, typed_param

if TYPE_CHECKING:
    from datetime import datetime
    from types import TracebackType

MAX_ERROR_LENGTH = 100_000


def outcome(exc: BaseException | None) -> str:
    """The status of a run whose code ended by raising ``exc`` (None: it returned):
    FINISHED, KILLED for an interrupt (stop button, Ctrl-C), else FAILED."""
    if exc is None:
        return "FINISHED"
    return "KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED"


def error_text(exc: BaseException | None) -> str | None:
    """The traceback kept with a run that ended by ``exc`` (its last 100,000 characters)."""
    if exc is None:
        return None
    import traceback  # only when a run fails: kept off `import jupyter_tracker`

    text = storable("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    return text if len(text) <= MAX_ERROR_LENGTH else "...\n" + text[-MAX_ERROR_LENGTH:]


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

    def __init__(self, detail: RunDetail) -> None:
        self.id = detail["run_id"]
        self.name = detail["name"]
        self.status = detail["status"]
        self.experiment = detail["experiment"]
        self.experiment_id = detail["experiment_id"]
        self.parent_id = detail["parent_id"]
        self.params = {k: typed_param(*v) for k, v in detail["typed_params"].items()}
        self._metrics = detail["metrics"]
        self.tags = detail["tags"]
        self._artifacts = detail["artifacts"]
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
    def artifacts(self) -> list[Artifact]:
        """The latest version of each artifact path."""
        return self._artifacts

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
        from .render.html import run_card_html

        return run_card_html(self)


class ActiveRun(Run):
    """A run this process is writing: a context manager and the handle to log through.

    ``session`` is told when the run ends (it keeps the stack of active runs).
    """

    def __init__(
        self,
        session: Any,
        writer: Writer,
        run_id: str,
        name: str,
        experiment: tuple[str, int],
        parent_id: str | None,
        start_ms: int,
        implicit: bool = False,
    ) -> None:
        self._session = session
        self._store: Store = writer.store
        self._writer = writer
        self.id, self.name, self.status = run_id, name, "RUNNING"
        self.experiment, self.experiment_id = experiment
        self.parent_id = parent_id
        self.params, self.tags = {}, {}
        self._series: dict[str, Series] = {}
        self.source = self.error = self.rerun_of = self.notebook = self.cell_id = None
        self.capture = None
        self._start_ms, self._end_ms = start_ms, None
        self._implicit = implicit
        self.pid = os.getpid()  # the process that started it (a forked child does not end it)

    # context manager: the outcome becomes the status
    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Literal[False]:
        self.end(outcome(exc), error=error_text(exc))
        return False

    @property
    def metrics(self) -> dict[str, float]:
        """The latest value of each metric logged so far."""
        return {k: s.last[1] for k, s in self._series.items() if s.last is not None}

    @property
    def artifacts(self) -> list[Artifact]:
        """The artifacts logged so far (one entry per path, latest version)."""
        return queries.artifacts(self._store, self.id)

    def end(self, status: str = "FINISHED", error: str | None = None) -> None:
        """End this run with ``status``; its buffered data is written before this returns."""
        if status not in FINAL_STATUSES:
            raise InvalidInputError(
                f"Status {status!r} cannot end a run; use one of {', '.join(FINAL_STATUSES)}."
            )
        self._session.ended(self)
        if self.status != "RUNNING":
            return
        self.status, self._end_ms = status, now_ms()
        self.error = error
        writes.end_run(self._writer, self.id, status, self._end_ms, error)
        self._session.notify(self, "ended")

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
        replaced = now_ms() if key in self.params else None
        self.params[key] = typed_param(text, kind)
        writes.set_param(self._writer, self.id, key, (text, kind, num), replaced)
        return value

    def log_metric(
        self, key: str, value: Any, step: int | None = None, timestamp: int | None = None
    ) -> None:
        """Buffer one metric point (the writer persists it within a second)."""
        series = self._series.get(key) or self._new_series(key)
        if type(value) is not float:
            value = metric_value(value)
        if step is None:
            step = series.next_step
            series.next_step = step + 1
        else:
            step = metric_step(step)
            if step >= series.next_step:
                series.next_step = min(step + 1, INT64_MAX)
        series.append((step, value, now_ms() if timestamp is None else metric_timestamp(timestamp)))

    def _new_series(self, key: str) -> Series:
        check_key(key, "Metric")
        series = self._series[key] = self._writer.add_series(Series(self.id, key))
        return series

    def set_tag(self, key: str, value: Any) -> None:
        """Set (or replace) one tag."""
        check_key(key, "Tag")
        text = check_length(str(value), MAX_TAG_VALUE_LENGTH, "A tag value")
        self.tags[key] = text
        writes.set_tag(self._writer, self.id, key, text)

    def set_origin(self, notebook: str | None, cell_id: str | None, rerun_of: str | None) -> None:
        """Record which notebook cell the run came from (the notebook integration)."""
        notebook = None if notebook is None else storable(notebook)
        cell_id = None if cell_id is None else storable(cell_id)
        self.notebook, self.cell_id, self.rerun_of = notebook, cell_id, rerun_of
        writes.set_origin(self._writer, self.id, notebook, cell_id, rerun_of)

    def set_capture(self, capture: CaptureReport) -> None:
        """Keep the capture report (environment, git, dependency slice, warnings)."""
        self.capture = capture
        writes.set_capture(self._writer, self.id, capture)

    def log_artifact(self, obj: Any, name: str | None = None) -> list[str]:
        """Log a file, a folder or an in-memory object; the stored names."""
        from ._artifacts import artifact_blobs

        logged = []
        for path, sha, size, media_type in artifact_blobs(self._store, obj, name):
            writes.add_artifact(self._writer, self.id, path, (sha, size, media_type), now_ms())
            logged.append(path)
        return logged

    # starting and resuming
    def insert(self, source: str | None) -> None:
        """Record this new run in the store, written before this returns (so a process
        killed right after still leaves a run that can be marked CRASHED)."""
        self.source = source
        writes.insert_run(
            self._writer,
            self.id,
            self.experiment_id,
            self.name,
            self._start_ms,
            self.parent_id,
            source,
        )
        self._writer.flush_waiting()

    def resume(self, detail: RunDetail) -> None:
        """Make the stored run ``detail`` RUNNING again in this process."""
        self.params = Run(detail).params
        self.tags = dict(detail["tags"])
        self.source = detail["source"]
        for key, last_step, last in queries.series_state(self._store, self.id):
            self._series[key] = self._writer.add_series(Series(self.id, key, last_step + 1, last))
        writes.resume_run(self._writer, self.id, now_ms())

    def rename(self, name: str) -> None:
        """Give the run a new name."""
        self.name = name
        writes.rename_run(self._writer, self.id, name)
