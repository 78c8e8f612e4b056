"""MLflow's tracking entities (``mlflow.entities``) for code written against them: ``Run``
with its ``RunInfo`` and ``RunData``, ``Experiment``, ``Metric``, ``Param``, ``RunTag``,
``FileInfo``, ``Dataset``, ``ViewType``, ``RunStatus``, ``LifecycleStage``, ``RunOperations``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .model import Experiment as ExperimentRecord
from .run import ActiveRun, Run, RunData, RunInfo
from .store.queries import View

__all__ = [
    "ActiveRun",
    "Dataset",
    "Experiment",
    "FileInfo",
    "LifecycleStage",
    "Metric",
    "Param",
    "Run",
    "RunData",
    "RunInfo",
    "RunOperations",
    "RunStatus",
    "RunTag",
    "ViewType",
]


class ViewType:
    """Which runs or experiments a search returns, by lifecycle (MLflow's numbers)."""

    ACTIVE_ONLY, DELETED_ONLY, ALL = 1, 2, 3
    _NAMES = {ACTIVE_ONLY: "ACTIVE_ONLY", DELETED_ONLY: "DELETED_ONLY", ALL: "ALL"}
    _VIEWS: dict[int, View] = {ACTIVE_ONLY: "active", DELETED_ONLY: "deleted", ALL: "all"}

    @classmethod
    def from_string(cls, text: str) -> int:
        """The view type named ``text`` (``"ACTIVE_ONLY"``, ``"DELETED_ONLY"``, ``"ALL"``)."""
        for number, name in cls._NAMES.items():
            if name == text.upper():
                return number
        raise ValueError(f"No view type {text!r}; use one of {', '.join(cls._NAMES.values())}.")

    @classmethod
    def to_string(cls, view_type: int) -> str:
        """The name of a view type."""
        return cls._NAMES[cls.checked(view_type)]

    @classmethod
    def checked(cls, view_type: int) -> int:
        """``view_type`` if it is one, else a clear error."""
        if view_type not in cls._NAMES:
            raise ValueError(
                f"run_view_type must be ViewType.ACTIVE_ONLY, DELETED_ONLY or ALL, "
                f"got {view_type!r}."
            )
        return view_type

    @classmethod
    def view(cls, view_type: int) -> View:
        """The store's name of a view type: ``"active"``, ``"deleted"`` or ``"all"``."""
        return cls._VIEWS[cls.checked(view_type)]


class RunStatus:
    """Run statuses with MLflow's numbers (``CRASHED`` is jupyter-tracker's own)."""

    RUNNING, SCHEDULED, FINISHED, FAILED, KILLED, CRASHED = 1, 2, 3, 4, 5, 6
    _NAMES = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED", 6: "CRASHED"}

    @classmethod
    def to_string(cls, status: int) -> str:
        """The name of a status number."""
        return cls._NAMES[status]

    @classmethod
    def from_string(cls, text: str) -> int:
        """The number of a status name."""
        for number, name in cls._NAMES.items():
            if name == text:
                return number
        raise ValueError(f"No run status {text!r}; use one of {', '.join(cls._NAMES.values())}.")

    @classmethod
    def is_terminated(cls, status: int) -> bool:
        """Whether a run with this status has ended."""
        return status not in (cls.RUNNING, cls.SCHEDULED)


class LifecycleStage:
    """A run's lifecycle: active, or deleted (until ``jupyter-tracker gc`` purges it)."""

    ACTIVE = "active"
    DELETED = "deleted"


class Experiment(NamedTuple):
    """An experiment as MLflow describes it (ids are strings; times in ms)."""

    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str = LifecycleStage.ACTIVE
    tags: dict[str, str] | None = None
    creation_time: int | None = None
    last_update_time: int | None = None

    @classmethod
    def from_record(cls, record: ExperimentRecord, artifact_location: str) -> Experiment:
        """The entity of a stored experiment."""
        created = record["created_at"]
        return cls(
            str(record["id"]), record["name"], artifact_location, "active", {}, created, created
        )


class Metric(NamedTuple):
    """One metric point (MLflow's ``Metric``): key, value, timestamp in ms, step."""

    key: str
    value: float
    timestamp: int
    step: int
    dataset_name: str | None = None
    dataset_digest: str | None = None
    run_id: str | None = None
    model_id: str | None = None


class Param(NamedTuple):
    """One param (MLflow's ``Param``), its value as text."""

    key: str
    value: str


class RunTag(NamedTuple):
    """One tag (MLflow's ``RunTag``)."""

    key: str
    value: str


class FileInfo(NamedTuple):
    """An artifact path of a run (MLflow's ``FileInfo``): a file with its size, or a folder."""

    path: str
    is_dir: bool
    file_size: int | None


class Dataset(NamedTuple):
    """A dataset a run used (MLflow's ``Dataset``, as ``jupyter_tracker.data`` makes them):
    its name, a digest of its content, where it came from and its schema and profile."""

    name: str
    digest: str
    source_type: str
    source: str
    schema: dict[str, Any] | None = None
    profile: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The dataset as JSON-ready fields (MLflow's ``Dataset.to_dict``)."""
        return {
            "name": self.name,
            "digest": self.digest,
            "source_type": self.source_type,
            "source": self.source,
            "schema": self.schema,
            "profile": self.profile,
        }


class RunOperations:
    """What an MLflow call with ``synchronous=False`` returns: ``wait()`` returns once what
    was logged is written (jupyter-tracker writes in the background in any case)."""

    def __init__(self, run: ActiveRun) -> None:
        self._run = run

    def wait(self) -> None:
        """Write what this process has buffered for the run's store."""
        self._run._store.flush()
