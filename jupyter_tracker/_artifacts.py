"""Turning what users log (files, folders, in-memory objects) into content-addressed blobs."""

from __future__ import annotations

import io
import json
import mimetypes
import os
from pathlib import Path
from typing import Any

from ._paths import folder_files, safe_relative_path
from .errors import InvalidInputError
from .store import Store


class _Folder:
    """A directory given to ``log_artifacts``: its files go under the name, not its own."""

    def __init__(self, path: Path) -> None:
        self.path = path


def as_folder(directory: str | os.PathLike) -> _Folder:
    """Mark ``directory`` for ``log_artifacts`` (a clear error if it is not a folder)."""
    path = Path(directory)
    if not path.is_dir():
        raise InvalidInputError(f"{directory} is not a folder; log a file with log_artifact.")
    return _Folder(path)


def _media_type(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def _object_bytes(obj: Any, name: str | None) -> tuple[bytes, str]:
    """The bytes and default name of an in-memory object."""
    module = type(obj).__module__.split(".")[0]
    if isinstance(obj, str):
        return obj.encode("utf-8"), "text.txt"
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return bytes(obj), "data.bin"
    if isinstance(obj, (dict, list)):
        return json.dumps(obj, indent=2, default=str).encode("utf-8"), "data.json"
    if module == "pandas" and hasattr(obj, "to_csv"):
        return obj.to_csv(index=True).encode("utf-8"), "table.csv"
    if module == "matplotlib" and hasattr(obj, "savefig"):
        buffer = io.BytesIO()
        fmt = (Path(name).suffix.lstrip(".") if name else "") or "png"
        obj.savefig(buffer, format=fmt)
        return buffer.getvalue(), f"figure.{fmt}"
    if module == "plotly" and hasattr(obj, "to_json"):
        if name and name.endswith(".html"):
            return obj.to_html(include_plotlyjs=True).encode("utf-8"), "figure.html"
        return obj.to_json().encode("utf-8"), "figure.plotly.json"
    if module == "numpy" and hasattr(obj, "dtype"):
        import numpy as np

        buffer = io.BytesIO()
        np.save(buffer, obj, allow_pickle=False)
        return buffer.getvalue(), "array.npy"
    raise TypeError(
        f"Cannot log a {type(obj).__name__} as an artifact: give a file path, a folder, "
        "str, bytes, dict, a pandas DataFrame, a numpy array or a matplotlib/Plotly figure."
    )


def _is_file(text: str) -> bool:
    return len(text) < 4096 and "\n" not in text and "\x00" not in text and Path(text).is_file()


def artifact_blobs(store: Store, obj: Any, name: str | None) -> list[tuple[str, str, int, str]]:
    """Store ``obj``'s content; (name, sha256, size, media type) of each stored file.

    Every name is checked before anything is stored, so a refused name writes nothing.
    """
    if isinstance(obj, _Folder) or (isinstance(obj, (str, os.PathLike)) and Path(obj).is_dir()):
        folder = obj.path if isinstance(obj, _Folder) else Path(obj)
        prefix = name if name is not None else (None if isinstance(obj, _Folder) else folder.name)
        prefix = safe_relative_path(prefix) + "/" if prefix else ""
        files = [(path, safe_relative_path(prefix + rel)) for path, rel in folder_files(folder)]
        out = []
        for path, rel in files:
            sha, size = store.put_blob_file(path)
            out.append((rel, sha, size, _media_type(rel)))
        return out
    if isinstance(obj, os.PathLike) or (isinstance(obj, str) and (name is None or _is_file(obj))):
        path = Path(obj)
        if not path.is_file():
            raise FileNotFoundError(
                f"No file {str(obj)[:200]!r} to log. To log text itself, pass a name: "
                "jt.log_artifact(text, name='notes.txt')."
            )
        rel = safe_relative_path(name if name is not None else path.name)
        sha, size = store.put_blob_file(path)
        return [(rel, sha, size, _media_type(rel))]
    data, default = _object_bytes(obj, name)
    rel = safe_relative_path(name if name is not None else default)
    return [(rel, store.put_blob(data), len(data), _media_type(rel))]
