"""The store a command works on: where it is found (and how, for `doctor`), and opening it.

Also the program's name, which messages use to say what to type next.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import TrackerError
from ..store import DB_NAME, Store, find_store_dir
from ..store._location import ENV_VAR, STORE_DIRNAME

PROG = "jupyter-tracker"


def locate_store(store_arg: str | None) -> tuple[Path, str]:
    """The store directory the command uses and how it was found."""
    if store_arg:
        return Path(store_arg).expanduser().resolve(), "--store"
    if os.environ.get(ENV_VAR):
        return find_store_dir(), f"${ENV_VAR}"
    path = find_store_dir()
    if path.is_dir():
        return path, f"nearest {STORE_DIRNAME}/ at or above the working directory"
    if (path.parent / ".git").exists():
        return path, "root of the enclosing git repository"
    return path, "the working directory: no store above it, not in a git repository"


def existing_store(store_arg: str | None) -> Store | None:
    """The store (crashed runs marked on open), or None if there is none yet: reading
    never creates one."""
    path, _ = locate_store(store_arg)
    return Store.open(path) if (path / DB_NAME).exists() else None


def open_store(store_arg: str | None) -> Store:
    """The store (crashed runs marked on open); a clear error if there is none yet."""
    store = existing_store(store_arg)
    if store is None:
        raise TrackerError(
            f"No store at {locate_store(store_arg)[0]}: nothing has been tracked there yet. "
            f"Pass --store DIR or set {ENV_VAR}."
        )
    return store
