"""Where an MLflow run's artifacts live, and copying files there and back.

A run's ``artifact_uri`` says: ``mlflow-artifacts:`` (or an ``http(s)`` URL of the same
route) goes through the tracking server's artifact proxy; ``file:`` or a plain path is a
folder written directly, as MLflow's own client does; anything else (``s3://``, ``gs://``,
...) needs MLflow's artifact repositories, from the optional extra ``jupyter-tracker[mlflow]``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from .._paths import folder_files, is_inside, open_regular, safe_relative_path
from ..errors import TrackerError
from .rest import ARTIFACTS_API, Client

Opener = Callable[[], BinaryIO]


def local_folder(artifact_uri: str) -> Path | None:
    """The folder of a ``file:`` URI or plain path; None for any other scheme."""
    parts = urllib.parse.urlsplit(artifact_uri)
    if parts.scheme == "file":
        return Path(urllib.parse.unquote(parts.path))
    if not parts.scheme or len(parts.scheme) == 1:  # a path (a drive letter is no scheme)
        return Path(artifact_uri)
    return None


class ArtifactRoot:
    """The artifact root of one MLflow run, for writing files into it."""

    def __init__(self, client: Client, artifact_uri: str) -> None:
        self.uri = artifact_uri
        self.client = client
        parts = urllib.parse.urlsplit(artifact_uri)
        self.folder = local_folder(artifact_uri)
        self.proxy: tuple[Client, str] | None = None
        if parts.scheme == "mlflow-artifacts":
            base = client if not parts.netloc else Client(f"{_scheme(client)}://{parts.netloc}")
            self.proxy = (base, ARTIFACTS_API + parts.path.rstrip("/"))
        elif parts.scheme in ("http", "https"):
            self.proxy = (Client(f"{parts.scheme}://{parts.netloc}"), parts.path.rstrip("/"))

    def put(self, path: str, open_data: Opener) -> None:
        """Write artifact ``path`` (a checked relative path) with the bytes ``open_data``
        opens (called again for each try)."""
        if self.proxy is not None:
            base, prefix = self.proxy
            base.deadline, base.tries = self.client.deadline, self.client.tries
            base.request("PUT", f"{prefix}/{urllib.parse.quote(path)}", data=open_data)
        elif self.folder is not None:
            target = self.folder / path
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
                with open_data() as src, open(tmp, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
                os.replace(tmp, target)
            except OSError as exc:
                raise TrackerError(
                    f"The MLflow server keeps this run's artifacts in {self.folder}, which "
                    f"cannot be written from here ({exc.strerror or exc}). Start the server "
                    "with `--artifacts-destination DIR` so that artifacts go through it."
                ) from None
        else:
            _repository_put(self.uri, path, open_data)


def _scheme(client: Client) -> str:
    return urllib.parse.urlsplit(client.uri).scheme


def _repository(uri: str):  # -> mlflow's ArtifactRepository
    try:
        from mlflow.store.artifact.artifact_repository_registry import (  # type: ignore[import-not-found]
            get_artifact_repository,
        )
    except ImportError:
        raise TrackerError(
            f"The MLflow server keeps artifacts at {uri}, which needs MLflow's artifact "
            "repositories: pip install 'jupyter-tracker[mlflow]' (or start the server with "
            "`--artifacts-destination` so that artifacts go through it)."
        ) from None
    return get_artifact_repository(uri)


def _repository_put(uri: str, path: str, open_data: Opener) -> None:
    folder, _, name = path.rpartition("/")
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(tmp, name)
        with open_data() as src, open(local, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        _repository(uri).log_artifact(str(local), artifact_path=folder or None)


def folder_artifacts(folder: Path) -> list[tuple[str, int]]:
    """(path, size) of every regular file under a local artifact folder (none if missing)."""
    if not folder.is_dir():
        return []
    return [(rel, path.stat().st_size) for path, rel in folder_files(folder)]


def open_in_folder(folder: Path, path: str) -> BinaryIO:
    """Artifact ``path`` of a local artifact folder, opened without leaving the folder."""
    target = folder / safe_relative_path(path)
    if not is_inside(target, folder):
        raise TrackerError(f"{target} leads outside {folder}; not read.")
    return open_regular(target)
