"""The one place for paths: user-given artifact and export names made safe relative paths,
and files opened without following links or blocking (regular files only)."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path, PurePosixPath
from typing import BinaryIO
from urllib.parse import unquote

from ._limits import MAX_ARTIFACT_PATH_LENGTH, check_length
from .errors import InvalidInputError

_FORBIDDEN = {"\\": "a backslash", "#": "'#'", "?": "'?'", "\x00": "a NUL character"}
_DRIVE = re.compile(r"^[A-Za-z]:")


def safe_relative_path(name: object) -> str:
    """``name`` as a normalised relative POSIX path, or a clear error if it could escape.

    Checked on the text as given and after percent-decoding (``%2e%2e`` is ``..``):
    no ``..`` segment, no absolute path or drive letter, no backslash, ``#``, ``?`` or NUL.
    """
    if not isinstance(name, str) or not name.strip():
        raise InvalidInputError(f"An artifact name must be a non-empty string, got {name!r}.")
    check_length(name, MAX_ARTIFACT_PATH_LENGTH, "The artifact name")
    forms = [name]
    while (decoded := unquote(forms[-1])) != forms[-1] and len(forms) < 5:
        forms.append(decoded)
    for form in forms:
        for char, what in _FORBIDDEN.items():
            if char in form:
                raise InvalidInputError(f"Artifact name {name!r} contains {what}; not allowed.")
        if form.startswith(("/", "~")) or _DRIVE.match(form):
            raise InvalidInputError(
                f"Artifact name {name!r} is absolute; give a path relative to the run."
            )
        if ".." in PurePosixPath(form).parts:
            raise InvalidInputError(f"Artifact name {name!r} climbs out with '..'; not allowed.")
    parts = [p for p in PurePosixPath(name).parts if p not in ("", ".")]
    if not parts:
        raise InvalidInputError(f"Artifact name {name!r} names no file.")
    return "/".join(parts)


def confined(base: Path, name: str) -> Path:
    """``base / name`` for a checked ``name``, proven (symlinks resolved) to stay in ``base``."""
    target = base / safe_relative_path(name)
    if not is_inside(target, base):
        raise InvalidInputError(f"{name!r} leads outside {base} through a symlink; not allowed.")
    return target


def is_inside(path: Path, base: Path) -> bool:
    """Whether ``path``, symlinks resolved, lies within ``base``."""
    real_base = os.path.realpath(base)
    return os.path.commonpath([os.path.realpath(path), real_base]) == real_base


def folder_files(folder: Path) -> list[tuple[Path, str]]:
    """Every regular file under ``folder`` with its relative name; refuses symlinks leading
    outside; skips, with a warning, what is not a regular file (FIFOs, sockets, devices)."""
    found, skipped = [], []
    for root, dirs, files in os.walk(folder):
        for entry in dirs + files:
            path = Path(root, entry)
            if path.is_symlink() and not is_inside(path, folder):
                raise InvalidInputError(
                    f"{path} is a symlink to {os.path.realpath(path)}, outside {folder}; "
                    "nothing was logged. Copy the file in, or log it on its own."
                )
        for entry in files:
            path = Path(root, entry)
            if path.is_file():
                found.append((path, path.relative_to(folder).as_posix()))
            else:
                skipped.append(str(path))
    if skipped:
        import warnings

        warnings.warn(
            f"Not logged (not regular files): {', '.join(skipped[:5])}"
            + (f" and {len(skipped) - 5} more" if len(skipped) > 5 else ""),
            RuntimeWarning,
            stacklevel=4,
        )
    return sorted(found, key=lambda item: item[1])


def open_regular(path: Path | str, max_bytes: int | None = None) -> BinaryIO:
    """``path`` opened for reading if it is a regular file (not a link, FIFO, device or
    folder) of at most ``max_bytes``; else a clear error. Opening never follows a symlink
    in the last component nor blocks (a FIFO is refused, not waited on)."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if os.path.islink(path):
            raise InvalidInputError(f"{path} is a symlink; only regular files are read.") from None
        raise exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InvalidInputError(f"{path} is not a regular file; only regular files are read.")
        if max_bytes is not None and info.st_size > max_bytes:
            raise InvalidInputError(
                f"{path} is {info.st_size:,} bytes; the limit here is {max_bytes:,}."
            )
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
