"""Where the store lives: explicit path, env var, nearest `.jupyter_tracker/`, git root, cwd."""

from __future__ import annotations

import os
from pathlib import Path

STORE_DIRNAME = ".jupyter_tracker"
ENV_VAR = "JUPYTER_TRACKER_STORE"


def find_store_dir(start: Path | None = None) -> Path:
    """The store directory a process in ``start`` (default: cwd) should use.

    Like git finding `.git`: the nearest existing `.jupyter_tracker/` upwards, else a new
    one at the enclosing git repository's root, else in ``start`` itself, so a notebook in
    a subfolder and the CLI run from the root see the same runs.
    """
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser().resolve()
    start = (start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / STORE_DIRNAME).is_dir():
            return folder / STORE_DIRNAME
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder / STORE_DIRNAME
    return start / STORE_DIRNAME
