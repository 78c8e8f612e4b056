"""Where MLflow runs are read from for ``import``: a tracking server (REST), an MLflow
SQLite database (``sqlite:///``) or an ``mlruns`` folder written by MLflow's file store.

Each source lists experiments and runs, and reads a run's metric histories and artifact
files; ``open_source`` picks one from a tracking URI. Nothing is ever written to a source.
"""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from .._paths import open_regular
from ..errors import TrackerError
from ..store.mlflow_db import MlflowDatabase
from ..store.sync import digest
from . import mapping
from .artifacts import folder_artifacts, local_folder, open_in_folder
from .rest import Client, metric_from_json

Point = tuple[int, float, int]  # (step, value, timestamp in ms)
MAX_META_BYTES = 64 << 20  # a run's own files (source, capture report, traceback) read whole


@dataclass
class RemoteRun:
    """One MLflow run as a source lists it (metric histories and artifacts read apart)."""

    run_id: str
    experiment_id: str
    experiment: str
    name: str
    status: str  # MLflow's: RUNNING, SCHEDULED, FINISHED, FAILED, KILLED
    start_time: int
    end_time: int | None
    artifact_uri: str
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    # Metric key -> a mark that changes when the metric grows (its latest point, or the
    # size of its file).
    metrics: dict[str, Any] = field(default_factory=dict)

    def state(self) -> str:
        """A digest of what the listing says: it changes when the run changes."""
        return digest(
            json.dumps(
                [
                    self.name,
                    self.status,
                    self.end_time,
                    sorted(self.params.items()),
                    sorted(self.tags.items()),
                    sorted(self.metrics.items()),
                ],
                default=str,
            )
        )


class Source:
    """What ``import`` reads from; ``server`` names it in the ledger."""

    server: str
    notes: list[str]

    def experiments(self) -> list[tuple[str, str]]:
        """(id, name) of every active experiment."""
        raise NotImplementedError

    def runs(self, experiments: dict[str, str]) -> list[RemoteRun]:
        """The active runs of these experiments (id -> name)."""
        raise NotImplementedError

    def history(self, run: RemoteRun, key: str) -> list[Point]:
        """Every point of one metric, in logging order (time, then step)."""
        raise NotImplementedError

    def artifact_files(self, run: RemoteRun) -> list[tuple[str, int]]:
        """(path, size) of every artifact file of the run."""
        raise NotImplementedError

    def fetch(self, run: RemoteRun, path: str, sink: BinaryIO) -> None:
        """Write one artifact file of the run to ``sink``."""
        raise NotImplementedError

    def close(self) -> None:
        """Let go of what the source holds open."""


def open_source(uri: str) -> Source:
    """The source a tracking URI names: ``http(s)://`` a server, ``sqlite:///`` a database,
    else (``file:`` or a path) an ``mlruns`` folder."""
    scheme = urllib.parse.urlsplit(uri).scheme.lower()
    if scheme in ("http", "https"):
        return ServerSource(Client(uri))
    if scheme == "sqlite":
        return DatabaseSource(
            Path(uri[len("sqlite:///") :] if uri.startswith("sqlite:///") else "")
        )
    folder = local_folder(uri)
    if folder is None:
        raise TrackerError(
            f"Cannot import from {uri!r}: give an MLflow server's URL (http://...), an MLflow "
            "database (sqlite:///path/to/mlflow.db) or an mlruns folder."
        )
    return FolderSource(folder)


def _by_time(points: list[Point]) -> list[Point]:
    return sorted(points, key=lambda p: (p[2], p[0]))


# -- a tracking server ----------------------------------------------------------------


class ServerSource(Source):
    """An MLflow tracking server, over REST."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.server = client.uri
        self.notes = []

    def experiments(self) -> list[tuple[str, str]]:
        return [(str(e["experiment_id"]), e["name"]) for e in self.client.experiments()]

    def runs(self, experiments: dict[str, str]) -> list[RemoteRun]:
        found = []
        for run in self.client.search_runs(list(experiments)):
            info, data = run["info"], run.get("data", {})
            found.append(
                RemoteRun(
                    run_id=info["run_id"],
                    experiment_id=str(info["experiment_id"]),
                    experiment=experiments[str(info["experiment_id"])],
                    name=info.get("run_name") or "",
                    status=info["status"],
                    start_time=int(info.get("start_time") or 0),
                    end_time=None if info.get("end_time") is None else int(info["end_time"]),
                    artifact_uri=info.get("artifact_uri", ""),
                    params={p["key"]: p.get("value", "") for p in data.get("params", [])},
                    tags={t["key"]: t.get("value", "") for t in data.get("tags", [])},
                    metrics={
                        m["key"]: [m.get("step", 0), m["timestamp"], m["value"]]
                        for m in data.get("metrics", [])
                    },
                )
            )
        return found

    def history(self, run: RemoteRun, key: str) -> list[Point]:
        return _by_time(
            [
                (int(m.get("step", 0)), metric_from_json(m["value"]), int(m["timestamp"]))
                for m in self.client.metric_history(run.run_id, key)
            ]
        )

    def artifact_files(self, run: RemoteRun) -> list[tuple[str, int]]:
        return self.client.artifact_files(run.run_id)

    def fetch(self, run: RemoteRun, path: str, sink: BinaryIO) -> None:
        self.client.download_artifact(run.run_id, path, sink)


# -- files on this machine: a database, an mlruns folder ----------------------------------


class _LocalArtifacts(Source):
    """Artifacts kept in folders on this machine (``file:`` artifact roots)."""

    def _folder(self, run: RemoteRun) -> Path | None:
        return local_folder(run.artifact_uri)

    def artifact_files(self, run: RemoteRun) -> list[tuple[str, int]]:
        folder = self._folder(run)
        if folder is None:
            self.notes.append(
                f"The artifacts of run {run.run_id[:8]} are at {run.artifact_uri}, not on this "
                "machine: import from the tracking server's URL to bring them."
            )
            return []
        return folder_artifacts(folder)

    def fetch(self, run: RemoteRun, path: str, sink: BinaryIO) -> None:
        folder = self._folder(run)
        assert folder is not None  # only files listed by artifact_files are fetched
        with open_in_folder(folder, path) as src:
            while chunk := src.read(1 << 20):
                sink.write(chunk)


class DatabaseSource(_LocalArtifacts):
    """An MLflow SQLite database (what ``mlflow server --backend-store-uri sqlite:///...``
    or ``mlflow.set_tracking_uri("sqlite:///...")`` writes)."""

    def __init__(self, path: Path) -> None:
        self.db = MlflowDatabase(path)
        self.server = f"sqlite:///{path.resolve()}"
        self.notes = []

    def close(self) -> None:
        self.db.close()

    def experiments(self) -> list[tuple[str, str]]:
        return self.db.experiments()

    def runs(self, experiments: dict[str, str]) -> list[RemoteRun]:
        return [
            RemoteRun(
                run_id=r["run_id"],
                experiment_id=str(r["experiment_id"]),
                experiment=experiments[str(r["experiment_id"])],
                name=r["name"] or r["tags"].get(mapping.RUN_NAME_TAG, ""),
                status=r["status"],
                start_time=int(r["start_time"] or 0),
                end_time=r["end_time"],
                artifact_uri=r["artifact_uri"] or "",
                params=r["params"],
                tags=r["tags"],
                metrics=r["latest"],
            )
            for r in self.db.runs(list(experiments))
        ]

    def history(self, run: RemoteRun, key: str) -> list[Point]:
        return _by_time(
            [
                (step, metric_from_json(v), t)
                for step, v, t in self.db.metric_history(run.run_id, key)
            ]
        )


class FolderSource(_LocalArtifacts):
    """An ``mlruns`` folder: ``<experiment id>/meta.yaml`` and ``<experiment>/<run id>/``
    with ``meta.yaml``, ``params/``, ``tags/``, ``metrics/`` and usually ``artifacts/``."""

    def __init__(self, root: Path) -> None:
        if not root.is_dir() or not any(root.glob("*/meta.yaml")):
            raise TrackerError(
                f"{root} is not an mlruns folder (no <experiment>/meta.yaml in it); give the "
                "folder MLflow wrote (the one holding 0/, 1/, ...)."
            )
        self.root = root
        self.server = root.resolve().as_uri()
        self.notes = []
        self._dirs: dict[str, Path] = {}  # run id -> its folder

    @staticmethod
    def _meta(path: Path) -> dict[str, Any]:
        import yaml

        with open_regular(path, 1 << 20) as f:
            meta = yaml.safe_load(f)
        return meta if isinstance(meta, dict) else {}

    @staticmethod
    def _files(folder: Path) -> dict[str, Path]:
        """Key -> file under ``folder`` (a key with ``/`` is a sub-folder)."""
        if not folder.is_dir():
            return {}
        return {
            path.relative_to(folder).as_posix(): path
            for path in sorted(folder.rglob("*"))
            if path.is_file()
        }

    @classmethod
    def _entries(cls, folder: Path) -> dict[str, str]:
        """Key -> text of the files under ``folder``."""
        out = {}
        for key, path in cls._files(folder).items():
            with open_regular(path, 1 << 20) as f:
                out[key] = f.read().decode("utf-8", "replace")
        return out

    def experiments(self) -> list[tuple[str, str]]:
        found = []
        for meta_file in sorted(self.root.glob("*/meta.yaml")):
            meta = self._meta(meta_file)
            if meta.get("lifecycle_stage", "active") == "active":
                found.append((str(meta.get("experiment_id", meta_file.parent.name)), meta["name"]))
        return found

    def runs(self, experiments: dict[str, str]) -> list[RemoteRun]:
        found = []
        for experiment_id, experiment in experiments.items():
            for meta_file in sorted((self.root / experiment_id).glob("*/meta.yaml")):
                meta, folder = self._meta(meta_file), meta_file.parent
                if meta.get("lifecycle_stage", "active") != "active":
                    continue
                run_id = str(meta.get("run_id") or meta.get("run_uuid") or folder.name)
                self._dirs[run_id] = folder
                status = meta.get("status", 3)
                run = RemoteRun(
                    run_id=run_id,
                    experiment_id=experiment_id,
                    experiment=experiment,
                    name=str(meta.get("run_name") or ""),
                    status=mapping.MLFLOW_STATUSES.get(status, str(status)),
                    start_time=int(meta.get("start_time") or 0),
                    end_time=None if meta.get("end_time") is None else int(meta["end_time"]),
                    artifact_uri=str(meta.get("artifact_uri") or ""),
                    params=self._entries(folder / "params"),
                    tags=self._entries(folder / "tags"),
                )
                run.name = run.name or run.tags.get(mapping.RUN_NAME_TAG, "")
                for key, path in self._files(folder / "metrics").items():
                    info = path.stat()
                    run.metrics[key] = [info.st_size, info.st_mtime_ns]
                found.append(run)
        return sorted(found, key=lambda r: r.start_time)

    def history(self, run: RemoteRun, key: str) -> list[Point]:
        points = []
        with open_regular(self._dirs[run.run_id] / "metrics" / key) as f:  # a listed key
            for line in f:
                parts = line.split()  # timestamp value [step]
                if len(parts) >= 2:
                    step = int(parts[2]) if len(parts) > 2 else 0
                    points.append((step, float(parts[1]), int(parts[0])))
        return _by_time(points)

    def _folder(self, run: RemoteRun) -> Path | None:
        own = self._dirs[run.run_id] / "artifacts"  # the folder may have moved since
        return own if own.is_dir() else local_folder(run.artifact_uri)
