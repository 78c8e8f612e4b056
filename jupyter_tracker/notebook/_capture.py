"""What a tracked cell captures: environment, git state, notebook location (the dependency
slice and hidden-state warnings live in ``_slice``).

Every function takes explicit inputs and returns JSON-serialisable data, so it can be tested
without a kernel. Nothing here imports pandas, plotly or ipywidgets; heavier standard modules
(``importlib.metadata``, ``subprocess``, ``platform``) load on first use.
"""

from __future__ import annotations

import functools
import os
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

MAX_DIFF_BYTES = 1_000_000
MAX_UNTRACKED = 100
MAX_UNPACKAGED_MODULES = 200
_MAX_STATUS_BYTES = 256_000
_MAX_SMALL_OUTPUT = 64_000


# --------------------------------------------------------------------------- environment


@functools.cache
def _distributions_by_module() -> dict[str, tuple[str, ...]]:
    """Top-level import name -> distribution names, computed once per process (~0.1 s)."""
    from importlib.metadata import packages_distributions

    return {top: tuple(sorted(set(d))) for top, d in packages_distributions().items()}


@functools.cache
def _distribution_version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


@functools.cache
def _interpreter() -> dict:
    import platform
    import socket

    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "host": socket.gethostname(),
        "executable": sys.executable,
    }


def _tracker_version() -> str | None:
    version = getattr(sys.modules.get("jupyter_tracker"), "__version__", None)
    return version if isinstance(version, str) else _distribution_version("jupyter-tracker")


@functools.lru_cache(maxsize=32)
def _packages(tops: frozenset[str]) -> tuple[dict[str, str | None], list[str]]:
    mapping = _distributions_by_module()
    packages: dict[str, str | None] = {}
    unpackaged = []
    for top in sorted(tops):
        dists = mapping.get(top)
        if dists:
            for dist in dists:
                packages[dist] = _distribution_version(dist)
        elif not top.startswith("_") and top != "jupyter_tracker":
            unpackaged.append(top)
    return dict(sorted(packages.items(), key=lambda kv: kv[0].lower())), unpackaged


def environment(modules: Iterable[str] | None = None) -> dict:
    """The interpreter and the versions of the distributions the session imported.

    ``modules`` is a collection of imported module names (a ``sys.modules``-like dict works;
    default: ``sys.modules``). Returns ``{"python", "implementation", "platform", "host",
    "pid", "executable", "jupyter_tracker": version, "packages": {distribution: version},
    "unpackaged_modules": [top-level modules from no installed distribution, e.g. a local
    ``mymodel.py``]}``. Standard-library modules are skipped. The module -> distribution map
    is built once per process and the result is cached per set of imported top-level names,
    so calling this for every run costs almost nothing while nothing new is imported.
    """
    names = sys.modules if modules is None else modules
    stdlib = sys.stdlib_module_names
    tops = frozenset(
        top
        for top in {name.partition(".")[0] for name in list(names)}
        if top not in stdlib and not top.startswith("__")
    )
    packages, unpackaged = _packages(tops)
    return {
        **_interpreter(),
        "pid": os.getpid(),
        "jupyter_tracker": _tracker_version(),
        "packages": dict(packages),
        "unpackaged_modules": unpackaged[:MAX_UNPACKAGED_MODULES],
    }


# --------------------------------------------------------------------------- git


class _GitTimeout(Exception):
    pass


class _Drain:
    """Read a pipe on a thread, keeping at most ``limit`` bytes."""

    def __init__(self, stream, limit: int) -> None:
        import threading

        self.chunks: list[bytes] = []
        self.size = 0
        self.truncated = False
        self.thread = threading.Thread(target=self._run, args=(stream, limit), daemon=True)
        self.thread.start()

    def _run(self, stream, limit: int) -> None:
        with stream:
            while chunk := stream.read1(65536):
                room = limit - self.size
                if len(chunk) > room:
                    self.chunks.append(chunk[:room])
                    self.size, self.truncated = limit, True
                    return
                self.chunks.append(chunk)
                self.size += len(chunk)

    def data(self) -> bytes:
        return b"".join(self.chunks)


def _stop(proc) -> None:
    import signal
    import subprocess

    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)  # git and anything it started (hooks, pagers)
        else:
            proc.kill()
    except OSError:
        pass
    try:
        proc.wait(timeout=1)
    except subprocess.TimeoutExpired:
        pass


def _git(
    args: list[str], cwd: Path, deadline: float, limit: int = _MAX_SMALL_OUTPUT
) -> tuple[int, bytes, str, bool]:
    """Run git; return (returncode, stdout up to ``limit`` bytes, stderr, truncated)."""
    import subprocess

    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _GitTimeout
    env = {
        **os.environ,
        "GIT_OPTIONAL_LOCKS": "0",  # never take the index lock the user's own git may want
        "GIT_TERMINAL_PROMPT": "0",
        "LC_ALL": "C",
    }
    proc = subprocess.Popen(
        ["git", *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=os.name == "posix",
    )
    try:
        out, err = _Drain(proc.stdout, limit), _Drain(proc.stderr, 16_000)
        out.thread.join(remaining)
        if out.thread.is_alive():
            raise _GitTimeout
        if out.truncated:
            _stop(proc)
        proc.wait(timeout=max(deadline - time.monotonic(), 0.001))
    except subprocess.TimeoutExpired:
        _stop(proc)
        raise _GitTimeout from None
    except BaseException:  # the timeout, or the user interrupting the cell: never leave git
        _stop(proc)
        raise
    err.thread.join(max(deadline - time.monotonic(), 0.1))
    stderr = err.data().decode("utf-8", "replace").strip()
    return proc.returncode, out.data(), stderr, out.truncated


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "no message"


def git_state(path: Path | str, timeout: float = 2.0) -> dict:
    """The git commit, branch and uncommitted changes of the repository holding ``path``.

    ``path`` is the notebook's folder (or the notebook file). Returns ``{"repo": root or None,
    "commit": sha or None (no commit yet), "branch": name or None (detached HEAD), "dirty":
    bool (tracked files differ from HEAD; untracked files alone do not count), "diff": text of
    ``git diff HEAD`` (at most ``MAX_DIFF_BYTES``), "diff_truncated": bool, "untracked":
    [paths, at most ``MAX_UNTRACKED``; an untracked folder is one entry ending in "/"],
    "untracked_truncated": bool, "error": None or what went wrong}``. Not a repository ->
    ``repo`` is None and ``error`` None. All git calls share one ``timeout`` (seconds); past
    it git is killed, what was learnt so far is kept and ``error`` says so.
    """
    state: dict = {
        "repo": None,
        "commit": None,
        "branch": None,
        "dirty": None,
        "diff": None,
        "diff_truncated": False,
        "untracked": [],
        "untracked_truncated": False,
        "error": None,
    }
    folder = Path(path)
    if folder.is_file():
        folder = folder.parent
    if not folder.is_dir():
        state["error"] = f"folder {str(folder)!r} does not exist; the git state was not captured."
        return state
    deadline = time.monotonic() + timeout
    try:
        code, out, err, _ = _git(["rev-parse", "--show-toplevel"], folder, deadline)
        if code != 0:
            if "not a git repository" not in err:
                state["error"] = f"git rev-parse failed: {_first_line(err)}"
            return state
        state["repo"] = out.decode("utf-8", "replace").strip()
        code, out, _, _ = _git(["rev-parse", "-q", "--verify", "HEAD"], folder, deadline)
        state["commit"] = out.decode().strip() if code == 0 else None
        code, out, _, _ = _git(["symbolic-ref", "-q", "--short", "HEAD"], folder, deadline)
        state["branch"] = out.decode("utf-8", "replace").strip() if code == 0 else None
        code, out, err, truncated = _git(
            ["status", "--porcelain=v1", "-z", "--untracked-files=normal"],
            folder,
            deadline,
            _MAX_STATUS_BYTES,
        )
        if code != 0 and not truncated:
            state["error"] = f"git status failed: {_first_line(err)}"
            return state
        dirty, untracked = _parse_status(out)
        state["dirty"] = dirty
        state["untracked"] = untracked[:MAX_UNTRACKED]
        state["untracked_truncated"] = truncated or len(untracked) > MAX_UNTRACKED
        state["diff"] = ""
        if dirty and state["commit"]:
            args = ["diff", "HEAD", "--no-color", "--no-ext-diff", "--no-textconv"]
            code, out, err, truncated = _git(args, folder, deadline, MAX_DIFF_BYTES)
            if code != 0 and not truncated:
                state["error"] = f"git diff failed: {_first_line(err)}"
            if truncated:  # end on a whole line
                out = out[: out.rfind(b"\n") + 1] or out
            state["diff"] = out.decode("utf-8", "replace")
            state["diff_truncated"] = truncated
    except FileNotFoundError:
        state["error"] = "git is not installed or not on PATH; the git state was not captured."
    except _GitTimeout:
        state["error"] = (
            f"git did not answer within {timeout:g} s and was stopped; the rest of the git "
            "state was not captured."
        )
    except OSError as exc:
        state["error"] = f"could not run git: {exc}"
    return state


def _parse_status(out: bytes) -> tuple[bool, list[str]]:
    entries = out.split(b"\0")[:-1]  # entries end with NUL; a cut-short last one is dropped
    dirty, untracked = False, []
    items = iter(entries)
    for entry in items:
        if len(entry) < 4:
            continue
        xy, name = entry[:2], entry[3:].decode("utf-8", "replace")
        if xy == b"??":
            untracked.append(name)
        elif xy != b"!!":
            dirty = True
            if b"R" in xy or b"C" in xy:
                next(items, None)  # a rename's or copy's source path follows
    return dirty, untracked


# --------------------------------------------------------------------------- notebook location


def _parent_message(shell) -> dict:
    """The execute_request being handled, from ipykernel (>= 6 or older), else {}."""
    kernel = getattr(shell, "kernel", None)
    parent = None
    get_parent = getattr(kernel, "get_parent", None)
    try:
        if callable(get_parent):  # ipykernel >= 6
            parent = get_parent("shell")
        elif kernel is not None:  # older ipykernel keeps the whole message here
            parent = getattr(kernel, "_parent_header", None)
    except Exception:
        parent = None
    if not (isinstance(parent, Mapping) and parent):
        parent = getattr(shell, "parent_header", None)  # a header, or a message in some shells
    return dict(parent) if isinstance(parent, Mapping) else {}


def notebook_location(shell) -> dict:
    """Best-effort notebook path and cell id of the cell being run.

    Returns ``{"notebook": path or None, "cell_id": id or None, "how": sentence}``. The path
    comes from VS Code's ``__vsc_ipynb_file__`` in the user namespace, else from
    ``JPY_SESSION_NAME`` (set by jupyter_server for the kernels it starts; ipykernel copies it
    to ``__session__``), made absolute against the kernel's folder when it names a file there.
    The cell id comes from the execute request's metadata (``cellId``, sent by JupyterLab,
    Notebook 7 and VS Code).
    """
    user_ns = getattr(shell, "user_ns", None) or {}
    notebook, how = None, []
    vscode = user_ns.get("__vsc_ipynb_file__")
    session = os.environ.get("JPY_SESSION_NAME") or user_ns.get("__session__")
    if isinstance(vscode, str) and vscode:
        notebook = vscode
        how.append("notebook path from VS Code (__vsc_ipynb_file__)")
    elif isinstance(session, str) and session:
        notebook = session
        if not os.path.isabs(session):
            here = Path.cwd() / Path(session).name
            if here.is_file():
                notebook = str(here)
        how.append("notebook path from the Jupyter session (JPY_SESSION_NAME)")
    else:
        how.append("notebook path unknown (the frontend did not share it)")
    metadata = _parent_message(shell).get("metadata")
    cell_id = metadata.get("cellId") if isinstance(metadata, Mapping) else None
    if isinstance(cell_id, str) and cell_id:
        how.append("cell id from the execute request's metadata")
    else:
        cell_id = None
        how.append("cell id unknown (the frontend did not send one)")
    return {"notebook": notebook, "cell_id": cell_id, "how": "; ".join(how) + "."}
