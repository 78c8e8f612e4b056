"""Turning what users log (files, folders, in-memory objects) into content-addressed blobs."""

from __future__ import annotations

import functools
import io
import json
import mimetypes
import os
from collections.abc import Callable
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
    """The bytes and default name of an in-memory object, in the format its name asks for
    (a name whose extension the object cannot be written as is a clear error)."""
    module = type(obj).__module__.split(".")[0]
    ext = Path(name).suffix.lower() if name else ""
    if isinstance(obj, str):
        return obj.encode("utf-8"), "text.txt"
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return bytes(obj), "data.bin"
    if isinstance(obj, (dict, list)):
        if ext in (".yaml", ".yml"):
            yaml = _optional("yaml", "PyYAML", name)
            return yaml.safe_dump(obj, sort_keys=False).encode("utf-8"), "data.yaml"
        return json.dumps(obj, indent=2, default=str).encode("utf-8"), "data.json"
    writers: dict[str, Callable[[], bytes]]
    if module == "pandas" and hasattr(obj, "to_csv"):
        writers = {
            "": lambda: obj.to_csv(index=True).encode("utf-8"),
            ".csv": lambda: obj.to_csv(index=True).encode("utf-8"),
            ".json": lambda: obj.to_json(orient="records", indent=2).encode("utf-8"),
            ".html": lambda: obj.to_html().encode("utf-8"),
            ".parquet": lambda: _parquet(obj, name),
        }
        return _by_extension(writers, ext, name, "a DataFrame")(), "table.csv"
    if module == "matplotlib" and hasattr(obj, "savefig"):
        buffer = io.BytesIO()
        obj.savefig(buffer, format=ext.lstrip(".") or "png")
        return buffer.getvalue(), f"figure{ext or '.png'}"
    if module == "plotly" and hasattr(obj, "to_json"):
        writers = {
            "": lambda: obj.to_json().encode("utf-8"),
            ".json": lambda: obj.to_json().encode("utf-8"),
            ".html": lambda: obj.to_html(include_plotlyjs=True).encode("utf-8"),
            **{
                image: functools.partial(_plotly_image, obj, image, name)
                for image in (".png", ".jpg", ".jpeg", ".svg", ".pdf", ".webp")
            },
        }
        return _by_extension(writers, ext, name, "a Plotly figure")(), "figure.plotly.json"
    if module == "numpy" and hasattr(obj, "dtype"):
        import numpy as np

        if ext not in ("", ".npy"):
            raise InvalidInputError(f"A numpy array is logged as .npy, not as {name!r}.")
        buffer = io.BytesIO()
        np.save(buffer, obj, allow_pickle=False)
        return buffer.getvalue(), "array.npy"
    raise TypeError(
        f"Cannot log a {type(obj).__name__} as an artifact: give a file path, a folder, "
        "str, bytes, dict, a pandas DataFrame, a numpy array or a matplotlib/Plotly figure."
    )


def _by_extension(writers: dict, ext: str, name: str | None, what: str):
    if ext not in writers:
        known = ", ".join(e for e in writers if e)
        raise InvalidInputError(f"{what} can be logged as {known}; not as {name!r}.")
    return writers[ext]


def _optional(module: str, package: str, name: str | None):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise InvalidInputError(
            f"Writing {name!r} needs {package} (pip install {package}); "
            "or log it under another name."
        ) from None


def _parquet(frame: Any, name: str | None) -> bytes:
    _optional("pyarrow", "pyarrow", name)
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    return buffer.getvalue()


def _plotly_image(figure: Any, ext: str, name: str | None) -> bytes:
    _optional("kaleido", "kaleido", name)
    return figure.to_image(format=ext.lstrip(".").replace("jpg", "jpeg"))


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
