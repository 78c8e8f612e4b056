"""Runs: ``Run`` (a run as stored, what ``get_run`` returns, with MLflow's ``info`` and
``data``) and ``ActiveRun`` (a run this process is logging to), with the one rule that turns
how code ended into a run status.
"""

from __future__ import annotations

import os
from pathlib import Path
from time import time as _time
from typing import TYPE_CHECKING, Any, Literal

from ._limits import (
    MAX_TAG_VALUE_LENGTH,
    SYSTEM_TAG_PREFIX,
    check_key,
    check_length,
    storable,
)
from .errors import InvalidInputError, ParamConflictError
from .model import FINAL_STATUSES, Artifact, CaptureReport, RunDetail
from .store import Store, now_ms, queries
from .store import runs as writes
from .store._writer import Series, Writer
from .values import (
    INT64_MAX,
    metric_step,
    metric_timestamp,
    metric_value,
    param_text,
    typed_param,
)

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


def artifact_uri(run_id: str, path: str | None = None) -> str:
    """Where a run's artifacts (or the one at ``path``) are, as MLflow's run-relative URI
    ``runs:/<run_id>/<path>`` (they live content-addressed in the store, not in a folder)."""
    return f"runs:/{run_id}" + (f"/{path.strip('/')}" if path else "")


def _joined(folder: str | None, name: str) -> str:
    """``name`` inside the artifact folder ``folder`` (MLflow's ``artifact_path``)."""
    return f"{folder.strip('/')}/{name}" if folder and folder.strip("/") else name


class RunInfo:
    """MLflow's ``run.info``: ids, name, status, lifecycle, artifact URI, times in ms."""

    def __init__(self, run: Run) -> None:
        self.run_id = self.run_uuid = run.id
        self.run_name = run.name
        self.experiment_id = str(run.experiment_id)
        self.user_id = run.data_tags().get("mlflow.user", "")
        self.status = run.status
        self.start_time = run._start_ms
        self.end_time = run._end_ms
        self.lifecycle_stage = "deleted" if run.deleted else "active"
        self.artifact_uri = artifact_uri(run.id)

    def __repr__(self) -> str:
        return f"<RunInfo run_id={self.run_id!r} status={self.status!r}>"


class RunData:
    """MLflow's ``run.data``: params as text, latest metrics, tags (MLflow's ``mlflow.*``
    system tags included)."""

    def __init__(self, run: Run) -> None:
        self.params = {k: param_text(v)[0] for k, v in run.params.items()}
        self.metrics = dict(run.metrics)
        self.tags = run.data_tags()

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
    deleted: bool
    source: str | None
    error: str | None
    _start_ms: int
    _end_ms: int | None

    def __init__(self, detail: RunDetail, deleted: bool = False) -> None:
        self.id = detail["run_id"]
        self.name = detail["name"]
        self.status = detail["status"]
        self.experiment = detail["experiment"]
        self.experiment_id = detail["experiment_id"]
        self.parent_id = detail["parent_id"]
        self.params = {k: typed_param(*v) for k, v in detail["typed_params"].items()}
        self._metrics = detail["metrics"]
        self._tags = detail["tags"]
        self.deleted = deleted
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
        """The latest value of each metric: the one at the highest step (NaN and ±inf as
        logged)."""
        return self._metrics

    @property
    def tags(self) -> dict[str, str]:
        """The run's tags (MLflow's ``mlflow.*`` system tags are in ``.data.tags``)."""
        return {k: v for k, v in self._tags.items() if not k.startswith(SYSTEM_TAG_PREFIX)}

    def data_tags(self) -> dict[str, str]:
        """Every tag, MLflow's system tags included (``run.data.tags``)."""
        return dict(self._tags)

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
        self.params, self._tags, self.deleted = {}, {}, False
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
        """The latest value of each metric logged so far (the one at the highest step)."""
        return {k: s.last[1] for k, s in self._series.items() if s.last is not None}

    @property
    def artifacts(self) -> list[Artifact]:
        """The artifacts logged so far (one entry per path, latest version)."""
        return queries.artifacts(self._store, self.id)

    def end(
        self, status: str = "FINISHED", error: str | None = None, end_ms: int | None = None
    ) -> None:
        """End this run with ``status`` (at ``end_ms``, default now); its buffered data is
        written before this returns. A run that has ended already stays as it ended."""
        if status not in FINAL_STATUSES:
            raise InvalidInputError(
                f"Status {status!r} cannot end a run; use one of {', '.join(FINAL_STATUSES)}."
            )
        self._session.ended(self)
        if self.status != "RUNNING":
            return
        self.status, self._end_ms = status, now_ms() if end_ms is None else end_ms
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
        if timestamp is None:  # now_ms, inline: this is the per-point path
            series.append(step, value, int(_time() * 1000))
        else:
            series.append(step, value, metric_timestamp(timestamp))

    def _new_series(self, key: str) -> Series:
        check_key(key, "Metric")
        series = self._series[key] = self._writer.add_series(Series(self.id, key))
        return series

    def set_tag(self, key: str, value: Any) -> None:
        """Set (or replace) one tag."""
        check_key(key, "Tag")
        text = check_length(str(value), MAX_TAG_VALUE_LENGTH, "A tag value")
        self._tags[key] = text
        writes.set_tag(self._writer, self.id, key, text)

    def delete_tag(self, key: str) -> None:
        """Remove one tag (a clear error if the run has none by that key, as in MLflow)."""
        if key not in self._tags:
            raise InvalidInputError(f"Run {self.id[:8]} has no tag {key!r} to delete.")
        del self._tags[key]
        writes.delete_tag(self._writer, self.id, key)

    def set_origin(self, notebook: str | None, cell_id: str | None, rerun_of: str | None) -> None:
        """Record which notebook cell the run came from (the notebook integration); the
        notebook is MLflow's source of the run."""
        notebook = None if notebook is None else storable(notebook)
        cell_id = None if cell_id is None else storable(cell_id)
        self.notebook, self.cell_id, self.rerun_of = notebook, cell_id, rerun_of
        writes.set_origin(self._writer, self.id, notebook, cell_id, rerun_of)
        if notebook is not None:
            self.set_tag("mlflow.source.name", notebook)
            self.set_tag("mlflow.source.type", "NOTEBOOK")

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

    # MLflow's artifact calls, shared by the fluent API and MlflowClient
    def log_file(
        self, local_path: Any, artifact_path: str | None = None, name: str | None = None
    ) -> list[str]:
        """MLflow's ``log_artifact``: the file (or folder) ``local_path`` under the folder
        ``artifact_path``; an in-memory object (or a file renamed) under ``name``."""
        if name is not None:
            return self.log_artifact(local_path, _joined(artifact_path, name))
        if isinstance(local_path, (str, os.PathLike)):
            path = Path(local_path)
            if not path.exists():
                raise FileNotFoundError(
                    f"No file {str(local_path)[:200]!r} to log. To log text or another "
                    "object itself, pass a name: jt.log_artifact(obj, name='notes.txt')."
                )
            return self.log_artifact(path, _joined(artifact_path, path.name))
        if artifact_path is not None:
            raise InvalidInputError(
                f"A {type(local_path).__name__} is logged under a name: "
                f"jt.log_artifact(obj, {artifact_path!r}, name='file.ext')."
            )
        return self.log_artifact(local_path)

    def log_folder(
        self, local_dir: str | os.PathLike, artifact_path: str | None = None
    ) -> list[str]:
        """MLflow's ``log_artifacts``: every file under ``local_dir``, under ``artifact_path``."""
        from ._artifacts import as_folder

        return self.log_artifact(as_folder(local_dir), artifact_path)

    def log_text(self, text: str, artifact_file: str) -> list[str]:
        """``text`` itself as ``artifact_file`` (even when it happens to name a file)."""
        return self.log_artifact(str(text).encode("utf-8"), artifact_file)

    def log_dict(self, dictionary: Any, artifact_file: str) -> list[str]:
        """``dictionary`` as YAML for a ``.yaml``/``.yml`` name, else as JSON."""
        if not isinstance(dictionary, (dict, list)):
            raise TypeError(f"log_dict logs a dict, got {type(dictionary).__name__}.")
        return self.log_artifact(dictionary, artifact_file)

    def log_figure(
        self, figure: Any, artifact_file: str, save_kwargs: dict[str, Any] | None = None
    ) -> list[str]:
        """A matplotlib or Plotly figure in the format of ``artifact_file``'s extension
        (anything else is a ``TypeError``); ``save_kwargs`` go to ``savefig``/``to_html``."""
        from ._artifacts import figure_bytes

        return self.log_artifact(figure_bytes(figure, artifact_file, save_kwargs), artifact_file)

    def log_image(
        self,
        image: Any,
        artifact_file: str | None = None,
        key: str | None = None,
        step: int | None = None,
        timestamp: int | None = None,
    ) -> list[str]:
        """A numpy array or PIL image as ``artifact_file``, or, with ``key``, as the image of
        that key at ``step`` (``images/<key>/step-<step>.png``, each version kept)."""
        from ._artifacts import image_bytes

        if (artifact_file is None) == (key is None):
            raise InvalidInputError(
                "log_image takes either artifact_file (one image) or key (an image per step), "
                "not both nor neither."
            )
        if key is not None:
            check_key(key, "Image")
            step = 0 if step is None else metric_step(step)
            if timestamp is not None:
                metric_timestamp(timestamp)
            artifact_file = f"images/{key}/step-{step}.png"
            if self._tags.get("mlflow.loggedImages") != "True":
                self.set_tag("mlflow.loggedImages", "True")  # as MLflow marks such runs
        assert artifact_file is not None
        return self.log_artifact(image_bytes(image, artifact_file), artifact_file)

    def log_table(self, data: Any, artifact_file: str) -> list[str]:
        """A dict of columns or a DataFrame as the table ``artifact_file`` (``.json``, in
        pandas' split orient, or ``.parquet``), appended to the rows already there, as in
        MLflow; listed in the ``mlflow.loggedArtifacts`` tag."""
        import json

        from ._artifacts import table_bytes
        from ._paths import safe_relative_path

        artifact_file = safe_relative_path(artifact_file)
        previous = queries.artifact_version(self._store, self.id, artifact_file)
        rows_before = None
        if previous is not None:
            with self._store.open_blob(previous["sha256"], previous["size"]) as blob:
                rows_before = blob.read()
        logged = self.log_artifact(table_bytes(data, artifact_file, rows_before), artifact_file)
        listed = json.loads(self._tags.get("mlflow.loggedArtifacts", "[]"))
        entry = {"path": logged[0], "type": "table"}
        if entry not in listed:
            self.set_tag("mlflow.loggedArtifacts", json.dumps([*listed, entry]))
        return logged

    def log_input(self, dataset: Any, context: str | None, tags: dict[str, str] | None) -> None:
        """Record that the run used ``dataset`` (``jupyter_tracker.data``'s, or anything
        with MLflow's ``to_dict()``): its description, the context (``"training"``...) and
        tags go to the artifact ``datasets/<digest>.json``."""
        described = dict(dataset.to_dict())
        described.update(context=context, tags=dict(tags or {}))
        self.log_artifact(described, f"datasets/{described['digest']}.json")

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

    def attach(self, detail: RunDetail) -> None:
        """Take the state of the stored run ``detail`` (with its system tags): params, tags,
        status and where each metric's steps go on, to log to it from this process."""
        self.params = Run(detail).params
        self._tags = dict(detail["tags"])
        self.source = detail["source"]
        self.status, self._end_ms = detail["status"], detail["end_time"]
        for key, last_step, last in queries.series_state(self._store, self.id):
            self._series[key] = self._writer.add_series(Series(self.id, key, last_step + 1, last))

    def detach(self) -> None:
        """Write what was logged through this handle and let the run go."""
        self._writer.flush_waiting()
        self._writer.drop_series(self.id)

    def resume(self) -> None:
        """Make the attached run RUNNING again in this process."""
        self.status, self._end_ms, self.error = "RUNNING", None, None
        self.pid = os.getpid()
        writes.resume_run(self._writer, self.id, now_ms())

    def rename(self, name: str) -> None:
        """Give the run a new name (MLflow's ``mlflow.runName`` too)."""
        self.name = name
        writes.rename_run(self._writer, self.id, name)
        self.set_tag("mlflow.runName", name)
