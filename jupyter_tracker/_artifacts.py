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
    if _is_figure(obj):
        default = f"figure{ext or '.png'}" if module == "matplotlib" else "figure.plotly.json"
        return figure_bytes(obj, name), default
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


def _is_figure(obj: Any) -> bool:
    module = type(obj).__module__.split(".")[0]
    return (module == "matplotlib" and hasattr(obj, "savefig")) or (
        module == "plotly" and hasattr(obj, "to_json")
    )


def figure_bytes(figure: Any, name: str | None, save_kwargs: dict[str, Any] | None = None) -> bytes:
    """A matplotlib or Plotly figure in the format ``name``'s extension asks for (PNG, or
    Plotly's JSON, without one); ``save_kwargs`` go to ``savefig`` (or Plotly's ``to_html``).
    Anything else is a ``TypeError``, as in MLflow's ``log_figure``."""
    if not _is_figure(figure):
        raise TypeError(
            f"A figure is a matplotlib Figure or a Plotly figure, got {type(figure).__name__}."
        )
    ext = Path(name).suffix.lower() if name else ""
    options = dict(save_kwargs or {})
    if type(figure).__module__.startswith("matplotlib"):
        buffer = io.BytesIO()
        figure.savefig(buffer, **{"format": ext.lstrip(".") or "png", **options})
        return buffer.getvalue()
    writers: dict[str, Callable[[], bytes]] = {
        "": lambda: figure.to_json().encode("utf-8"),
        ".json": lambda: figure.to_json().encode("utf-8"),
        ".html": lambda: figure.to_html(**{"include_plotlyjs": True, **options}).encode("utf-8"),
        **{
            image: functools.partial(_plotly_image, figure, image, name)
            for image in (".png", ".jpg", ".jpeg", ".svg", ".pdf", ".webp")
        },
    }
    return _by_extension(writers, ext, name, "a Plotly figure")()


def image_bytes(image: Any, name: str) -> bytes:
    """A numpy array (H x W, or H x W x 1, 3 or 4 channels; integers 0 to 255 or floats 0 to
    1) or a PIL image, encoded as ``name``'s extension says (PNG by default), as MLflow's
    ``log_image``; anything else is a clear error."""
    pil = _optional("PIL.Image", "Pillow", name)
    if type(image).__module__.split(".")[0] == "numpy" and hasattr(image, "dtype"):
        image = pil.fromarray(_image_array(image))
    elif not isinstance(image, pil.Image):
        raise TypeError(f"An image is a numpy array or a PIL image, got {type(image).__name__}.")
    buffer = io.BytesIO()
    image_format = pil.registered_extensions().get(Path(name).suffix.lower(), "PNG")
    image.save(buffer, format=image_format)
    return buffer.getvalue()


def _image_array(array: Any) -> Any:
    """An image array as 8-bit pixels (MLflow's rules for ``log_image``), or a clear error."""
    import numpy as np

    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise InvalidInputError(
            f"An image array is H x W, or H x W x 1, 3 or 4 channels; got shape {array.shape}."
        )
    if np.issubdtype(array.dtype, np.floating):
        if not (np.isfinite(array).all() and array.min() >= 0 and array.max() <= 1):
            raise InvalidInputError("A float image array holds values from 0 to 1.")
        return (array * 255).round().astype(np.uint8)
    if np.issubdtype(array.dtype, np.integer) or array.dtype == bool:
        if array.size and (array.min() < 0 or array.max() > 255):
            raise InvalidInputError("An integer image array holds values from 0 to 255.")
        return array.astype(np.uint8)
    raise TypeError(f"An image array holds integers or floats, not {array.dtype}.")


def table_bytes(data: Any, name: str, before: bytes | None) -> bytes:
    """MLflow's ``log_table``: a dict of columns (or of scalars: one row) or a DataFrame,
    after the rows of ``before`` (the table's earlier version), as ``.json`` (pandas' split
    orient, no index) or ``.parquet``."""
    import pandas as pd

    ext = Path(name).suffix.lower()
    if ext not in (".json", ".parquet"):
        raise InvalidInputError(f"A table is logged as .json or .parquet, not as {name!r}.")
    if isinstance(data, dict):
        try:
            frame = pd.DataFrame(data)
        except ValueError:  # all scalars: one row
            frame = pd.DataFrame([data])
    elif isinstance(data, pd.DataFrame):
        frame = data
    else:
        raise TypeError(f"A table is a dict of columns or a DataFrame, got {type(data).__name__}.")
    if before is not None:
        old = (
            pd.read_json(io.StringIO(before.decode("utf-8")), orient="split")
            if ext == ".json"
            else pd.read_parquet(io.BytesIO(before))
        )
        frame = pd.concat([old, frame], ignore_index=True)
    if ext == ".parquet":
        return _parquet(frame.reset_index(drop=True), name)
    try:
        text = frame.to_json(orient="split", index=False, date_format="iso")
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidInputError(f"The table {name!r} cannot be written as JSON: {exc}") from None
    return text.encode("utf-8")


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
