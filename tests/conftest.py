"""Shared fixtures: every test gets its own store in tmp_path and no run left active."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import jupyter_tracker as jt
from jupyter_tracker.session import session

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A fresh store, set as the current one; runs left active are ended afterwards."""
    monkeypatch.delenv("JUPYTER_TRACKER_STORE", raising=False)
    opened = jt.set_store(tmp_path / "store")
    yield opened
    while jt.active_run() is not None:
        jt.end_run()
    opened.flush()
    session().store = None


@pytest.fixture
def ip(store):
    """A real IPython shell with the extension loaded and a fresh store."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "jupyter_tracker")
    yield shell
    shell.run_line_magic("unload_ext", "jupyter_tracker")


@pytest.fixture
def run_script(tmp_path):
    """Run Python code in a fresh interpreter with the store at ``tmp_path/store``."""

    def run(code: str, *, store_dir: Path | None = None, check: bool = True, **kwargs):
        env = {**os.environ, "JUPYTER_TRACKER_STORE": str(store_dir or tmp_path / "store")}
        script = tmp_path / f"script_{abs(hash(code))}.py"
        script.write_text(textwrap.dedent(code))
        result = subprocess.run(
            [sys.executable, str(script)],
            env=env,
            capture_output=True,
            text=True,
            timeout=kwargs.pop("timeout", 120),
            cwd=tmp_path,
            **kwargs,
        )
        if check:
            assert result.returncode == 0, result.stderr
        return result

    return run
