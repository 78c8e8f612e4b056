"""What a tracked cell captures: environment, git state, dependency slice, notebook location.

Every function takes explicit inputs and returns JSON-serialisable data, so it can be tested
without a kernel. Nothing here imports pandas, plotly or ipywidgets; heavier standard modules
(``importlib.metadata``, ``subprocess``, ``platform``) load on first use.

What is approximate
-------------------
The dependency slice is a static analysis of the kernel's input history (``In``): it sees
assignments, imports, ``def``/``class``, ``del`` and item/attribute assignment (``df["a"] = 1``
changes ``df``), but not names set through ``exec``/``eval``, ``globals()``, ``%run``, star
imports or other magics, nor in-place changes made by method calls (``lst.append(1)``,
``df.drop(..., inplace=True)``). A cell that raised counts as having run to the end, a name
bound in any branch of an ``if``/``try``/loop counts as bound, and the free variables of a
function count as read when the function is defined.
"""

from __future__ import annotations

import ast
import builtins
import functools
import os
import re
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

APPROXIMATE = (
    "Static analysis of the kernel's input history: names set by exec/eval, globals(), %run, "
    "star imports or other magics and in-place changes made by method calls (lst.append, "
    "inplace=True) are not seen; a cell that raised counts as run to the end, and a name bound "
    "in any branch of an if/try/loop counts as bound."
)

MAX_DIFF_BYTES = 1_000_000
MAX_UNTRACKED = 100
MAX_UNPACKAGED_MODULES = 200
_MAX_STATUS_BYTES = 256_000
_MAX_SMALL_OUTPUT = 64_000

# Cell magics whose body is Python run in the user namespace; other cell magics (%%bash,
# %%html, %%writefile, ...) neither read nor define Python names.
_PYTHON_BODY_MAGICS = frozenset({"time", "capture", "prun", "debug", "track_run", "track_sweep"})
# Cell magics whose ``key=value`` arguments become variables before the body runs.
_PARAM_MAGICS = frozenset({"track_run", "track_sweep"})
_VALUE_OPTIONS = frozenset({"--name", "--experiment", "--tag", "--metric"})
# Line magics that may define names the analysis cannot see.
_OPAQUE_LINE_MAGICS = frozenset({"run", "store", "load_ext", "reload_ext", "autoreload"})
_OPAQUE_CALLS = frozenset({"exec", "eval", "globals", "locals", "vars"})
# Names IPython puts in the user namespace.
_IPYTHON_NAMES = frozenset(
    {"get_ipython", "display", "exit", "quit", "In", "Out", "_ih", "_oh", "_dh"}
    | {"_", "__", "___", "_i", "_ii", "_iii", "__session__", "__vsc_ipynb_file__"}
)
_IPYTHON_NAME_RE = re.compile(r"_i?\d+")


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


# --------------------------------------------------------------------------- cell analysis


class _Cell:
    """What one cell reads and binds at top level (frozensets of names)."""

    __slots__ = ("reads", "defines", "modifies", "deletes", "opaque", "parsed")

    def __init__(self, reads=(), defines=(), modifies=(), deletes=(), opaque=(), parsed=True):
        self.reads = frozenset(reads)  # includes builtins; names_read() drops them
        self.defines = frozenset(defines)
        self.modifies = frozenset(modifies)  # item/attribute assignment: df["a"] = 1
        self.deletes = frozenset(deletes)
        self.opaque = tuple(opaque)  # what may define names unseen: "%run", "exec()", ...
        self.parsed = parsed


@functools.cache
def _transformer():
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:
        return None
    return TransformerManager()


_SHELL_ASSIGN_RE = re.compile(r"^(\s*)([\w.\[\], ]+?)\s*=\s*[!%]")


def _strip_magics(source: str) -> str:
    """Without IPython: a cell magic becomes a run_cell_magic call, magic and shell lines
    become ``pass`` (``x = !ls`` becomes ``x = None``), so the rest still parses."""
    lines = source.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        name, _, line = lines[0].lstrip()[2:].partition(" ")
        body = "\n".join(lines[1:]) + "\n"
        return f"get_ipython().run_cell_magic({name!r}, {line.strip()!r}, {body!r})\n"
    out = []
    for line in lines:
        stripped = line.lstrip()
        indent = line[: len(line) - len(stripped)]
        if stripped.startswith(("%", "!")):
            out.append(indent + "pass")
        elif match := _SHELL_ASSIGN_RE.match(line):
            out.append(f"{match[1]}{match[2]} = None")
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def _to_python(source: str) -> str:
    transformer = _transformer()
    if transformer is not None:
        try:
            return transformer.transform_cell(source)
        except Exception:  # IPython's transformers can fail on odd input; strip instead
            pass
    return _strip_magics(source)


def _cell_magic_call(tree: ast.Module) -> tuple[str, str, str] | None:
    """``get_ipython().run_cell_magic(name, line, body)`` as the whole cell -> its arguments."""
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Expr):
        return None
    call = tree.body[0].value
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)):
        return None
    owner = call.func.value
    if not (
        call.func.attr == "run_cell_magic"
        and isinstance(owner, ast.Call)
        and isinstance(owner.func, ast.Name)
        and owner.func.id == "get_ipython"
        and len(call.args) == 3
        and all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in call.args)
    ):
        return None
    return tuple(a.value for a in call.args)


def _magic_params(magic: str, line: str) -> frozenset[str]:
    """Names a cell magic's line sets before the body runs."""
    if magic == "capture":  # %%capture [--no-stdout ...] [output]
        words = [w for w in line.split() if not w.startswith("-")]
        return frozenset(w for w in words[-1:] if w.isidentifier())
    if magic not in _PARAM_MAGICS:
        return frozenset()
    import shlex

    try:
        words = shlex.split(line)
    except ValueError:
        words = line.split()
    names, skip = set(), False
    for word in words:
        if skip:
            skip = False
        elif word in _VALUE_OPTIONS:
            skip = True
        elif not word.startswith("-"):
            key, eq, _ = word.partition("=")
            if eq and key.isidentifier():
                names.add(key)
    return frozenset(names)


def _argument_names(args: ast.arguments) -> set[str]:
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
    return {a.arg for a in every if a is not None}


class _Names(ast.NodeVisitor):
    """Walks a scope in evaluation order, reporting names through the hooks below."""

    def __init__(self) -> None:
        self.opaque: list[str] = []

    # hooks
    def _read(self, name: str) -> None: ...
    def _bind(self, name: str) -> None: ...
    def _delete(self, name: str) -> None: ...
    def _mutate(self, name: str) -> None: ...
    def _walrus(self, name: str) -> None: ...
    def _nested(self, free: set[str], global_writes: set[str]) -> None: ...

    def _opaque(self, what: str) -> None:
        if what not in self.opaque:
            self.opaque.append(what)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self._read(node.id)
        elif isinstance(node.ctx, ast.Store):
            self._bind(node.id)
        else:
            self._delete(node.id)

    def _target(self, target: ast.expr) -> None:
        if isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self._target(element)
            return
        if isinstance(target, ast.Starred):
            self._target(target.value)
            return
        base = target
        while isinstance(base, (ast.Attribute, ast.Subscript)):
            base = base.value
        if base is not target and isinstance(base, ast.Name):
            self._mutate(base.id)
        self.visit(target)

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        for target in node.targets:
            self._target(target)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        if isinstance(node.target, ast.Name):
            self._read(node.target.id)
        self.visit(node.value)
        self._target(node.target)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self.visit(node.annotation)
        if node.value is not None:
            self.visit(node.value)
            self._target(node.target)
        elif not isinstance(node.target, ast.Name):  # ``a.b: int`` evaluates ``a``
            self.visit(node.target.value)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            self._target(target)

    def visit_For(self, node: ast.For | ast.AsyncFor) -> None:
        self.visit(node.iter)
        self._target(node.target)
        for statement in [*node.body, *node.orelse]:
            self.visit(statement)

    visit_AsyncFor = visit_For

    def visit_withitem(self, node: ast.withitem) -> None:
        self.visit(node.context_expr)
        if node.optional_vars is not None:
            self._target(node.optional_vars)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        self._walrus(node.target.id)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.type is not None:
            self.visit(node.type)
        if node.name:
            self._bind(node.name)
        for statement in node.body:
            self.visit(statement)
        if node.name:  # Python deletes ``e`` of ``except E as e`` when the handler ends
            self._delete(node.name)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._bind(alias.asname or alias.name.partition(".")[0])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            if alias.name == "*":
                self._opaque(f"from {'.' * node.level}{node.module or ''} import *")
            else:
                self._bind(alias.asname or alias.name)

    def visit_MatchAs(self, node: ast.MatchAs) -> None:
        if node.pattern is not None:
            self.visit(node.pattern)
        if node.name:
            self._bind(node.name)

    def visit_MatchStar(self, node: ast.MatchStar) -> None:
        if node.name:
            self._bind(node.name)

    def visit_MatchMapping(self, node: ast.MatchMapping) -> None:
        self.generic_visit(node)
        if node.rest:
            self._bind(node.rest)

    def _signature(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        """What a def or lambda evaluates where it stands: decorators, defaults, annotations."""
        args = node.args
        for expr in [*getattr(node, "decorator_list", ()), *args.defaults, *args.kw_defaults]:
            if expr is not None:
                self.visit(expr)
        every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
        annotations = [a.annotation for a in every if a is not None]
        for expr in [*annotations, getattr(node, "returns", None)]:
            if expr is not None:
                self.visit(expr)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self._signature(node)
        self._bind(node.name)
        self._function_body(node.args, node.body)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._signature(node)
        self._function_body(node.args, [node.body])

    def _function_body(self, args: ast.arguments, body: list[ast.AST]) -> None:
        scope = _Scope()
        for statement in body:
            scope.visit(statement)
        local = (_argument_names(args) | scope.stores | scope.walrus) - scope.globals
        local -= scope.nonlocals
        free = (scope.loads | scope.nested) - local
        self._nested(free, (scope.stores & scope.globals) | scope.global_writes)
        for what in scope.opaque:
            self._opaque(what)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for expr in [*node.decorator_list, *node.bases, *node.keywords]:
            self.visit(expr)
        scope = _Scope()
        for statement in node.body:
            scope.visit(statement)
        for name in scope.loads - scope.stores:  # a class body runs at once
            self._read(name)
        self._nested(scope.nested, scope.global_writes)
        for what in scope.opaque:
            self._opaque(what)
        self._bind(node.name)

    def _comprehension(self, node, results: list[ast.expr]) -> None:
        first, scope = node.generators[0], _Scope()
        self.visit(first.iter)  # evaluated in the enclosing scope
        for index, generator in enumerate(node.generators):
            if index:
                scope.visit(generator.iter)
            scope.visit(generator.target)
            for condition in generator.ifs:
                scope.visit(condition)
        for result in results:
            scope.visit(result)
        for name in scope.loads - scope.stores:
            self._read(name)
        for name in scope.walrus:  # ``:=`` in a comprehension binds in the enclosing scope
            self._walrus(name)
        self._nested(scope.nested, scope.global_writes)
        for what in scope.opaque:
            self._opaque(what)

    def visit_ListComp(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp) -> None:
        self._comprehension(node, [node.elt])

    visit_SetComp = visit_GeneratorExp = visit_ListComp

    def visit_DictComp(self, node: ast.DictComp) -> None:
        self._comprehension(node, [node.key, node.value])

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name) and func.id in _OPAQUE_CALLS:
            self._opaque(f"{func.id}()")
        elif (
            isinstance(func, ast.Attribute)
            and func.attr in ("run_line_magic", "magic")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            magic = node.args[0].value.split(" ", 1)[0].lstrip("%")
            if magic in _OPAQUE_LINE_MAGICS:
                self._opaque(f"%{magic}")
        self.generic_visit(node)


class _Scope(_Names):
    """A function, class or comprehension body: which names it loads and binds, any order."""

    def __init__(self) -> None:
        super().__init__()
        self.loads: set[str] = set()
        self.stores: set[str] = set()
        self.walrus: set[str] = set()
        self.nested: set[str] = set()
        self.globals: set[str] = set()
        self.nonlocals: set[str] = set()
        self.global_writes: set[str] = set()

    def _read(self, name: str) -> None:
        self.loads.add(name)

    def _bind(self, name: str) -> None:
        self.stores.add(name)

    _delete = _bind

    def _mutate(self, name: str) -> None:
        pass

    def _walrus(self, name: str) -> None:
        self.walrus.add(name)

    def _nested(self, free: set[str], global_writes: set[str]) -> None:
        self.nested |= free
        self.global_writes |= global_writes

    def visit_Global(self, node: ast.Global) -> None:
        self.globals.update(node.names)

    def visit_Nonlocal(self, node: ast.Nonlocal) -> None:
        self.nonlocals.update(node.names)


class _CellScope(_Names):
    """A cell's top level, in order: a name is read if loaded before the cell binds it."""

    def __init__(self, given: frozenset[str]) -> None:
        super().__init__()
        self.bound = set(given)
        self.ever = set(given)
        self.reads: set[str] = set()
        self.later: set[str] = set()  # free names of functions, resolved at the end
        self.mutated: set[str] = set()
        self.deleted: set[str] = set()
        self.global_writes: set[str] = set()

    def _read(self, name: str) -> None:
        if name not in self.bound:
            self.reads.add(name)

    def _bind(self, name: str) -> None:
        self.bound.add(name)
        self.ever.add(name)
        self.deleted.discard(name)

    _walrus = _bind

    def _delete(self, name: str) -> None:
        self.bound.discard(name)
        self.deleted.add(name)

    def _mutate(self, name: str) -> None:
        self.mutated.add(name)

    def _nested(self, free: set[str], global_writes: set[str]) -> None:
        self.later |= free
        self.global_writes |= global_writes

    def result(self) -> _Cell:
        defines = self.bound | self.global_writes
        return _Cell(
            reads=self.reads | (self.later - self.ever),
            defines=defines,
            modifies=self.mutated - defines,
            deletes=self.deleted - defines,
            opaque=self.opaque,
        )


@functools.lru_cache(maxsize=4096)
def _analyse(source: str, given: frozenset[str] = frozenset()) -> _Cell:
    """Analyse one cell (IPython syntax allowed); cached, as history cells recur every run."""
    try:
        tree = ast.parse(_to_python(source))
    except (SyntaxError, ValueError):
        return _Cell(defines=given, parsed=False)
    magic = _cell_magic_call(tree)
    if magic is not None:
        name, line, body = magic
        if name not in _PYTHON_BODY_MAGICS:
            return _Cell(defines=given)
        return _analyse(body, given | _magic_params(name, line))
    scope = _CellScope(given)
    for statement in tree.body:
        scope.visit(statement)
    return scope.result()


def _is_known(name: str) -> bool:
    """Builtins, module dunders and IPython's names: never a dependency on an earlier cell."""
    return (
        name in _IPYTHON_NAMES
        or (name.startswith("__") and name.endswith("__"))
        or hasattr(builtins, name)
        or bool(_IPYTHON_NAME_RE.fullmatch(name))
    )


def names_read(source: str) -> set[str]:
    """Names the cell reads before binding them itself (builtins and IPython's names left out).

    ``source`` may use IPython syntax (``%magic``, ``!shell``, ``%%cell_magic``); the
    ``key=value`` names of ``%%track_run``/``%%track_sweep`` count as bound before the body.
    Free variables of functions and lambdas the cell defines count as reads unless the cell
    binds them; ``x += 1`` and ``df.x = 1``/``df["x"] = 1`` read ``x``/``df``. Approximate:
    a name bound in any branch counts as bound for the rest of the cell, and ``exec``,
    ``globals()`` and star imports are not followed. Unparseable source reads nothing.
    """
    return {name for name in _analyse(source).reads if not _is_known(name)}


def names_defined(source: str) -> set[str]:
    """Names the cell binds at top level and leaves bound.

    Assignments (plain, augmented, annotated with a value, walrus, ``for``/``with``
    targets), imports, ``def``/``class``, match captures, names a function declares
    ``global`` and assigns, and the parameters of ``%%track_run``; a later ``del`` removes a
    name. ``except E as e`` binds ``e`` only inside the handler (Python deletes it after), so
    it is not included. ``df["a"] = 1`` changes ``df`` but does not define it.
    """
    return set(_analyse(source).defines)


# --------------------------------------------------------------------------- dependency slice


@functools.lru_cache(maxsize=1024)
def _normalised(source: str) -> str:
    return "\n".join(line.rstrip() for line in _to_python(source).strip().splitlines())


def dependency_slice(history: Sequence[str], current_count: int, source: str) -> dict:
    """Which earlier cells (by execution count) the current cell's values came from.

    ``history`` is the kernel's input history (IPython's ``In``/``_ih``: index = execution
    count); only counts below ``current_count`` are used. Each name the cell reads is traced
    to the last earlier cell that defined it or changed it (``df["a"] = 1``), then the names
    those cells read, transitively. Returns::

        {"execution_count": current_count,
         "cells": [{"execution_count", "source", "defines": [...], "provides": [names this
                    slice takes from the cell]}, ...] sorted by count,
         "names": {name the cell reads: count of the cell it comes from},
         "unresolved": [names read (directly or by a cell in the slice) that no earlier cell
                        defines and that are not builtins],
         "deleted": {unresolved name: count of the cell that deleted it},
         "reassigned": [{"name", "counts": [cells that set it, in order], "used": count,
                         "rerun_of": count or None}],
         "mixed": [{"name", "versions": [{"from": count, "readers": [counts]}, ...]}],
         "opaque": [{"execution_count", "what": ["%run", "from m import *", "exec()", ...]}],
         "approximate": APPROXIMATE}

    ``reassigned`` lists names the cell reads directly that several earlier cells set, unless
    every later one read the old value and ran different code (a plain chain of steps such as
    load -> clean -> merge). ``mixed`` lists names the slice uses in two versions: a cell in
    the slice computed something from an older value than another one uses.
    """
    cells: dict[int, _Cell] = {}
    sources: dict[int, str] = {}
    for count in range(1, min(current_count, len(history))):
        text = history[count]
        if isinstance(text, str) and text.strip():
            cells[count], sources[count] = _analyse(text), text
    # name -> [(count, kind)] in execution order; kind: "set" (define or change) or "del"
    events: dict[str, list[tuple[int, str]]] = {}
    for count, cell in cells.items():
        for name in cell.defines | cell.modifies:
            events.setdefault(name, []).append((count, "set"))
        for name in cell.deletes:
            events.setdefault(name, []).append((count, "del"))

    def origin(name: str, before: int) -> tuple[int, str] | None:
        for count, kind in reversed(events.get(name, ())):
            if count < before:
                return count, kind
        return None

    current = _analyse(source)
    names: dict[str, int] = {}
    unresolved: set[str] = set()
    deleted: dict[str, int] = {}
    provides: dict[int, set[str]] = {}
    versions: dict[str, dict[int, set[int]]] = {}
    pending = [(current_count, current.reads)]
    while pending:
        reader, reads = pending.pop()
        reader_sets = cells[reader].defines | cells[reader].modifies if reader in cells else ()
        for name in reads:
            found = origin(name, reader)
            if found is None or found[1] == "del":
                if found is None and _is_known(name):
                    continue
                unresolved.add(name)
                if found is not None:
                    deleted[name] = found[0]
                continue
            count = found[0]
            if reader == current_count:
                names[name] = count
            if name not in reader_sets:  # an update step (df = df.dropna()) is not a use
                versions.setdefault(name, {}).setdefault(count, set()).add(reader)
            if count not in provides:
                provides[count] = set()
                pending.append((count, cells[count].reads))
            provides[count].add(name)

    reassigned = []
    for name, used in sorted(names.items()):
        sets = []
        for count, kind in events[name]:
            if count >= current_count:
                break
            sets = [] if kind == "del" else [*sets, count]
        rerun_of = None
        plain_chain = True
        for index, count in enumerate(sets[1:], start=1):
            same = [
                c for c in sets[:index] if _normalised(sources[c]) == _normalised(sources[count])
            ]
            if same:
                rerun_of = same[-1]
            if same or name not in cells[count].reads:
                plain_chain = False
        if len(sets) > 1 and not plain_chain:
            reassigned.append({"name": name, "counts": sets, "used": used, "rerun_of": rerun_of})

    mixed = [
        {
            "name": name,
            "versions": [
                {"from": count, "readers": sorted(readers)}
                for count, readers in sorted(by_count.items())
            ],
        }
        for name, by_count in sorted(versions.items())
        if len(by_count) > 1
    ]
    return {
        "execution_count": current_count,
        "cells": [
            {
                "execution_count": count,
                "source": sources[count],
                "defines": sorted(cells[count].defines),
                "provides": sorted(provides[count]),
            }
            for count in sorted(provides)
        ],
        "names": dict(sorted(names.items())),
        "unresolved": sorted(unresolved),
        "deleted": dict(sorted(deleted.items())),
        "reassigned": reassigned,
        "mixed": mixed,
        "opaque": [
            {"execution_count": count, "what": list(cell.opaque)}
            for count, cell in cells.items()
            if cell.opaque
        ],
        "approximate": APPROXIMATE,
    }


def _names_text(names: Iterable[str]) -> str:
    return ", ".join(f"`{name}`" for name in sorted(names))


def hidden_state(
    slice: Mapping,
    current_sources: Mapping[int, str] | None = None,
    notebook_order: Sequence[int | None] | None = None,
) -> list[str]:
    """Human sentences warning that the cell's inputs may not be what the notebook shows.

    ``slice`` is a :func:`dependency_slice` result. Warnings, in this order:

    - *edited*: ``current_sources`` maps an execution count to the source the notebook now
      shows for the cell that ran with that count (from the frontend). A slice cell whose
      code differs from what ran was edited and not re-run. Counts not in the mapping are
      skipped (unknown); without the mapping this check is skipped.
    - *below* / *gone*: ``notebook_order`` lists the execution counts of the notebook's code
      cells from top to bottom (None for a cell never run) and includes this cell's count. A
      slice cell placed below this one means running the notebook top to bottom would not
      give this cell that value; a slice cell whose count is no longer shown was deleted or
      re-run since. Without ``notebook_order`` this check is skipped.
    - *mixed*: a cell in the slice computed a value from an older version of a name than
      another cell in the slice (or this cell) uses, so the two may be out of step.
    - *reassigned*: a name this cell reads was set by several earlier cells other than as a
      chain of different update steps (e.g. replaced, or the same cell re-run); this cell
      uses the last value.
    - *unresolved*: a name read that no earlier cell in the input history defines (deleted
      by a ``del``, or set by ``%run``, a star import, ``exec`` or code the history does not
      show).
    """
    warnings: list[str] = []
    cells = slice.get("cells", [])
    this = slice.get("execution_count")
    if current_sources is not None:
        for cell in cells:
            now = current_sources.get(cell["execution_count"])
            if now is not None and _normalised(now) != _normalised(cell["source"]):
                warnings.append(
                    f"Cell [{cell['execution_count']}], which set {_names_text(cell['provides'])}"
                    " for this cell, was edited after it ran; the values come from the old code."
                )
    if notebook_order is not None and this in notebook_order:
        position = {count: i for i, count in enumerate(notebook_order) if count is not None}
        for cell in cells:
            count, what = cell["execution_count"], _names_text(cell["provides"])
            if count not in position:
                warnings.append(
                    f"Cell [{count}], which set {what} for this cell, is no longer in the "
                    "notebook (deleted, or re-run since)."
                )
            elif position[count] > position[this]:
                warnings.append(
                    f"Cell [{count}], which set {what} for this cell, is below it in the "
                    "notebook; running the notebook top to bottom would not give this cell "
                    "that value."
                )
    for entry in slice.get("mixed", []):
        old, new = entry["versions"][0], entry["versions"][-1]
        readers = ", ".join(f"[{r}]" for r in old["readers"])
        users = ", ".join("this cell" if r == this else f"[{r}]" for r in new["readers"])
        warnings.append(
            f"`{entry['name']}` is used in two versions: {readers} computed from the one set at "
            f"[{old['from']}], while {users} used the one set at [{new['from']}]; results "
            "from the older one may be out of date."
        )
    for entry in slice.get("reassigned", []):
        earlier = ", ".join(f"[{c}]" for c in entry["counts"][1:])
        sentence = (
            f"`{entry['name']}` was set at [{entry['counts'][0]}] and again at {earlier}; "
            f"this cell used the value from [{entry['used']}]"
        )
        if entry.get("rerun_of") is not None:
            sentence += f" (the code of [{entry['rerun_of']}] ran more than once)"
        warnings.append(sentence + ".")
    opaque = [
        f"{', '.join(o['what'])} at [{o['execution_count']}]"
        for o in slice.get("opaque", [])
        if this is None or o["execution_count"] < this
    ]
    deleted = slice.get("deleted", {})
    for name in slice.get("unresolved", []):
        if name in deleted:
            warnings.append(
                f"`{name}` is read but was deleted at [{deleted[name]}] and not defined since."
            )
        else:
            where = (
                f"it may come from {'; '.join(opaque)}"
                if opaque
                else ("it may come from a module, a magic or code the history does not show")
            )
            warnings.append(
                f"`{name}` is read but no earlier cell in this session defines it; {where}."
            )
    return warnings


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
