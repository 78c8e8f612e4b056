"""The git state of the repository holding a notebook: commit, branch, diff and untracked
files, with every git call bounded in time and in output size.

Git runs with optional locks off, no prompt and in its own process group, so a stuck git (a
hook, a network file system) is killed at the deadline with everything it started.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

MAX_DIFF_BYTES = 1_000_000
MAX_UNTRACKED = 100
_MAX_STATUS_BYTES = 256_000
_MAX_SMALL_OUTPUT = 64_000


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


# A repository's own config must not make us run its commands: no fsmonitor daemon or
# hook, no pager, no untracked cache writes. (Diffs add --no-ext-diff and --no-textconv.)
_SAFE_CONFIG = (
    "-c",
    "core.fsmonitor=false",
    "-c",
    "core.hooksPath=/dev/null",
    "-c",
    "core.pager=cat",
    "-c",
    "core.untrackedCache=false",
)


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
        ["git", *_SAFE_CONFIG, *args],
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
