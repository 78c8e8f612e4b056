"""The dependency slice of a tracked cell and hidden-state warnings, from the input history.

Pure functions over source text (IPython syntax allowed): which names a cell reads and
defines, which earlier cells (by execution count) its inputs came from, and sentences
warning that those inputs may not be what the notebook shows.

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
import re
from collections.abc import Iterable, Mapping, Sequence

APPROXIMATE = (
    "Static analysis of the kernel's input history: names set by exec/eval, globals(), %run, "
    "star imports or other magics and in-place changes made by method calls (lst.append, "
    "inplace=True) are not seen; a cell that raised counts as run to the end, and a name bound "
    "in any branch of an if/try/loop counts as bound."
)

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
    for statement in _inline_time_magics(tree.body):
        scope.visit(statement)
    return scope.result()


def _inline_time_magics(body: list[ast.stmt]) -> list[ast.stmt]:
    """``%time x = f()`` runs its code in the user namespace: analyse that code itself."""
    out = []
    for statement in body:
        call = statement.value if isinstance(statement, ast.Expr) else None
        if (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and call.func.attr == "run_line_magic"
            and len(call.args) == 2
            and all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in call.args)
            and call.args[0].value == "time"
        ):
            try:
                out += ast.parse(call.args[1].value).body
                continue
            except SyntaxError:
                pass
        out.append(statement)
    return out


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
