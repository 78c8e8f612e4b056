"""Which names a cell, and each of its top-level statements, reads, defines and changes.

A static walk of the code in evaluation order (IPython syntax allowed): assignments, imports,
``def``/``class``, ``del`` and item/attribute assignment (``df["a"] = 1`` changes ``df``).
Names set through ``exec``/``eval``, ``globals()``, ``%run`` or star imports are not seen but
recorded as ``opaque``. For a whole cell (:func:`analyse`) a name bound in any branch of an
``if``/``try``/loop counts as bound, the free variables of a function count as read when the
function is defined, and in-place changes made by method calls are not seen. For one statement
(:func:`statements`) the analysis also says which names it surely binds, on which names it calls
a method that may change them (``lst.append(1)`` as a statement, ``scaler.fit_transform(X)``,
``inplace=True``; not ``df.head()``), which functions it calls with which names, and, for a
``def`` or ``class``, what a call changes (:class:`Effects`: the names outside it, and which of
its parameters): the dependency slice decides from these which calls change what.
"""

from __future__ import annotations

import ast
import builtins
import functools
import re
from collections.abc import Sequence
from typing import NamedTuple

from .ipython import cell_magic, line_magic_code, to_python

# Line magics that may define names the analysis cannot see.
_OPAQUE_LINE_MAGICS = frozenset({"run", "store", "load_ext", "reload_ext", "autoreload"})
_OPAQUE_CALLS = frozenset({"exec", "eval", "globals", "locals", "vars"})
# Names IPython puts in the user namespace.
_IPYTHON_NAMES = frozenset(
    {"get_ipython", "display", "exit", "quit", "In", "Out", "_ih", "_oh", "_dh"}
    | {"_", "__", "___", "_i", "_ii", "_iii", "__session__", "__vsc_ipynb_file__"}
)
_IPYTHON_NAME_RE = re.compile(r"_i?\d+")
# A method called as a statement of its own (its result dropped) is called for its effect
# (lst.append(1), model.fit(X), optimizer.step()), unless it is one of these, called to look.
_LOOKING_METHODS = frozenset(
    {"head", "tail", "describe", "info", "summary", "show", "plot", "hist", "sample", "corr"}
    | {"mean", "sum", "min", "max", "std", "count", "value_counts", "nunique", "unique"}
    | {"keys", "values", "items", "get", "copy", "predict", "score", "evaluate", "format"}
)
# A method whose result is used changes its owner only with inplace=True or when it fits it.
_FITTING_METHODS = frozenset(
    {"fit", "fit_transform", "fit_predict", "partial_fit", "fit_resample", "train", "compile"}
)
_SEED = re.compile("seed", re.IGNORECASE)  # np.random.seed, torch.manual_seed, set_seed...


class Call(NamedTuple):
    """A call of a name, ``f(a, b.c, k=d, *e)``, by the names its arguments start from."""

    function: str
    positional: tuple[str | None, ...]  # ("a", "b")
    keywords: tuple[tuple[str, str | None], ...]  # (("k", "d"),)
    unpacked: frozenset[str]  # {"e"}: given as *e or **e, so it may reach any parameter


class Effects(NamedTuple):
    """What calling a function (or class) defined in the session changes."""

    outside: frozenset[str]  # globals it assigns, free names it changes in place
    params: tuple[str, ...]  # its positional parameters, in order
    named: frozenset[str]  # every parameter a keyword can name
    changed: frozenset[str]  # parameters it changes in place or passes on to a function
    rest: tuple[str | None, str | None]  # its *args and **kwargs parameters

    def of(self, call: Call) -> set[str]:
        """The names ``call`` hands to a parameter this changes, and what it changes outside."""
        names = set(self.outside) | call.unpacked
        for i, base in enumerate(call.positional):
            param = self.params[i] if i < len(self.params) else self.rest[0]
            if base is not None and param in self.changed:
                names.add(base)
        for key, base in call.keywords:
            param = key if key in self.named else self.rest[1]
            if base is not None and param in self.changed:
                names.add(base)
        return names


_NO_EFFECTS = Effects(frozenset(), (), frozenset(), frozenset(), (None, None))


class CellNames:
    """What one cell reads and binds at top level (frozensets of names)."""

    __slots__ = ("reads", "defines", "modifies", "deletes", "opaque", "parsed")

    def __init__(self, reads=(), defines=(), modifies=(), deletes=(), opaque=(), parsed=True):
        self.reads = frozenset(reads)  # includes builtins; names_read() drops them
        self.defines = frozenset(defines)
        self.modifies = frozenset(modifies)  # item/attribute assignment: df["a"] = 1
        self.deletes = frozenset(deletes)
        self.opaque = tuple(opaque)  # what may define names unseen: "%run", "exec()", ...
        self.parsed = parsed


def _argument_names(args: ast.arguments) -> set[str]:
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
    return {a.arg for a in every if a is not None}


class _Names(ast.NodeVisitor):
    """Walks a scope in evaluation order, reporting names through the hooks below."""

    def __init__(self) -> None:
        self.opaque: list[str] = []
        self.methods: set[str] = set()  # names a method that may change them is called on
        self.calls: list[Call] = []  # calls of a name, f(a, b.c)
        self.callables: dict[str, Effects] = {}  # def/class name -> what a call changes
        self._dropped: ast.expr | None = None  # the value of the expression statement

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
        self.callables[node.name] = self._function_body(node.args, node.body)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._signature(node)
        self._function_body(node.args, [node.body])

    def _function_body(self, args: ast.arguments, body: Sequence[ast.AST]) -> Effects:
        """Report what a function reads when called; return what a call changes: the globals
        it assigns, the free names and the parameters it changes in place (``x[0] = 1``,
        ``x.append(1)``, ``x += 1``) or passes on to a function that is not a builtin."""
        scope = _Scope()
        for statement in body:
            scope.visit(statement)
        parameters = _argument_names(args)
        local = (parameters | scope.stores | scope.walrus) - scope.globals
        local -= scope.nonlocals
        free = (scope.loads | scope.nested) - local
        global_writes = (scope.stores & scope.globals) | scope.global_writes
        self._nested(free, global_writes)
        for what in scope.opaque:
            self._opaque(what)
        passed = {
            name
            for call in scope.calls
            if not predefined(call.function)
            for name in {*call.positional, *(b for _, b in call.keywords), *call.unpacked}
            if name is not None
        }
        changed = scope.methods | scope.mutated | scope.augmented | passed
        return Effects(
            outside=frozenset(global_writes | (changed - local)),
            params=tuple(a.arg for a in [*args.posonlyargs, *args.args]),
            named=frozenset(a.arg for a in [*args.args, *args.kwonlyargs]),
            changed=frozenset(changed & parameters),
            rest=(args.vararg.arg if args.vararg else None, args.kwarg.arg if args.kwarg else None),
        )

    def _ran_here(self, scope: _Scope) -> None:
        """A class or comprehension body runs at once: its calls count where it stands."""
        self.methods |= scope.methods - scope.stores
        self.calls += scope.calls

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
        self._ran_here(scope)
        self._bind(node.name)
        init = scope.callables.get("__init__", _NO_EFFECTS)  # a call runs __init__(self, ...)
        self.callables[node.name] = init._replace(params=init.params[1:])

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
        self._ran_here(scope)

    def visit_ListComp(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp) -> None:
        self._comprehension(node, [node.elt])

    visit_SetComp = visit_GeneratorExp = visit_ListComp

    def visit_DictComp(self, node: ast.DictComp) -> None:
        self._comprehension(node, [node.key, node.value])

    def visit_Expr(self, node: ast.Expr) -> None:
        self._dropped = node.value
        self.visit(node.value)

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
        if isinstance(func, ast.Attribute):
            owner = _base_name(func.value)
            inplace = any(
                k.arg == "inplace" and isinstance(k.value, ast.Constant) and k.value.value is True
                for k in node.keywords
            )
            if node is self._dropped:
                changes = func.attr not in _LOOKING_METHODS
            else:
                changes = func.attr in _FITTING_METHODS
            if owner is not None and (changes or inplace):
                self.methods.add(owner)
        elif isinstance(func, ast.Name):
            starred = [a.value for a in node.args if isinstance(a, ast.Starred)]
            starred += [k.value for k in node.keywords if k.arg is None]
            unpacked = {_base_name(a) for a in starred}
            call = Call(
                func.id,
                tuple(_base_name(a) for a in node.args if not isinstance(a, ast.Starred)),
                tuple((k.arg, _base_name(k.value)) for k in node.keywords if k.arg is not None),
                frozenset(name for name in unpacked if name is not None),
            )
            self.calls.append(call)
        self.generic_visit(node)


def _base_name(node: ast.expr) -> str | None:
    """The name an attribute/item chain starts from: ``df["a"].values`` -> ``df``."""
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


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
        self.mutated: set[str] = set()
        self.augmented: set[str] = set()

    def _read(self, name: str) -> None:
        self.loads.add(name)

    def _bind(self, name: str) -> None:
        self.stores.add(name)

    _delete = _bind

    def _mutate(self, name: str) -> None:
        self.mutated.add(name)

    def _walrus(self, name: str) -> None:
        self.walrus.add(name)

    def _nested(self, free: set[str], global_writes: set[str]) -> None:
        self.nested |= free
        self.global_writes |= global_writes

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        if isinstance(node.target, ast.Name):  # in place for a list or an array
            self.augmented.add(node.target.id)
        super().visit_AugAssign(node)

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

    def result(self) -> CellNames:
        defines = self.bound | self.global_writes
        return CellNames(
            reads=self.reads | (self.later - self.ever),
            defines=defines,
            modifies=self.mutated - defines,
            deletes=self.deleted - defines,
            opaque=self.opaque,
        )


@functools.lru_cache(maxsize=1024)
def _parsed(source: str) -> tuple[str, ast.Module]:
    """``source`` as Python and its tree (never changed by its readers); SyntaxError or
    ValueError when it does not parse."""
    python = to_python(source)
    return python, ast.parse(python)


@functools.lru_cache(maxsize=4096)
def analyse(source: str, given: frozenset[str] = frozenset()) -> CellNames:
    """Analyse one cell (IPython syntax allowed); cached, as history cells recur every run.

    ``given`` are names bound before the code runs (the params a cell magic sets).
    """
    try:
        tree = _parsed(source)[1]
    except (SyntaxError, ValueError):
        return CellNames(defines=given, parsed=False)
    magic = cell_magic(tree)
    if magic is not None:
        if not magic.python_body:
            return CellNames(defines=given)
        output = {magic.output} if magic.output else set()
        return analyse(magic.body, given | set(magic.params()) | output)
    scope = _CellScope(given)
    for statement in tree.body:
        code = line_magic_code(statement)  # %time x = f() runs x = f() in the namespace
        for inner in ast.parse(code).body if code is not None else [statement]:
            scope.visit(inner)
    return scope.result()


class Statement:
    """One top-level statement of the code a cell runs in the namespace (frozensets of names).

    ``text`` is its source as the kernel ran it (IPython syntax as ``get_ipython()`` calls),
    with the comment lines just above it; a param of a ``%%track_run`` line is ``name = value``.
    """

    __slots__ = (
        "text",
        "reads",
        "later",
        "defines",
        "definite",
        "modifies",
        "deletes",
        "methods",
        "calls",
        "callables",
        "imported",
        "constants",
        "opaque",
        "seeds",
    )

    def __init__(self, text: str, names: _CellScope, definite: set[str]) -> None:
        defines = names.bound | names.global_writes
        self.text = text
        self.reads = frozenset(names.reads)  # when it runs, before it binds them
        self.later = frozenset(names.later - names.ever)  # when the functions it defines run
        self.defines = frozenset(defines)  # bound after it, on some path
        self.definite = frozenset(definite) & frozenset(names.bound)  # bound on every path
        self.modifies = frozenset(names.mutated - defines)  # item/attribute assignment
        self.deletes = frozenset(names.deleted - defines)  # ``del x`` (top level only)
        self.methods = frozenset(names.methods)  # x.append(1), model.fit(X): x, model
        self.calls = tuple(names.calls)
        self.callables = dict(names.callables)  # def/class name -> what a call changes
        self.imported: frozenset[str] = frozenset()  # names bound by an import
        self.constants: frozenset[str] = frozenset()  # bound to a number, text... (immutable)
        self.opaque = tuple(names.opaque)
        self.seeds = False  # a call that seeds a random generator (np.random.seed(0))


def _given(name: str, text: str, value: object = None) -> Statement:
    """A name a cell magic binds (a param of ``%%track_run``, the output of ``%%capture``)."""
    names = _CellScope(frozenset({name}))
    given = Statement(text, names, {name})
    if isinstance(value, _IMMUTABLE):
        given.constants = frozenset({name})
    return given


_IMMUTABLE = (bool, int, float, complex, str, bytes)
_CONSTANT_PARTS = (ast.Constant, ast.UnaryOp, ast.BinOp, ast.Tuple, ast.unaryop, ast.operator)


def _constant(node: ast.expr) -> bool:
    """Whether an expression is made of constants only (``20``, ``-1e-3``, ``2 ** 10``,
    ``(1, 'a')``): its value cannot be changed in place."""
    return all(isinstance(n, (*_CONSTANT_PARTS, ast.expr_context)) for n in ast.walk(node))


def _targets(node: ast.expr | None) -> set[str]:
    if isinstance(node, ast.Name):
        return {node.id}
    if isinstance(node, (ast.Tuple, ast.List)):
        return set().union(*(_targets(e) for e in node.elts))
    if isinstance(node, ast.Starred):
        return _targets(node.value)
    return set()


def _definite(node: ast.stmt) -> set[str]:
    """Names a statement binds on every path that completes (a branch, loop or handler may
    not run, so what only they bind is not definite)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, ast.Import):
        return {a.asname or a.name.partition(".")[0] for a in node.names}
    if isinstance(node, ast.ImportFrom):
        return {a.asname or a.name for a in node.names if a.name != "*"}
    if isinstance(node, ast.Assign):
        return set().union(*(_targets(t) for t in node.targets))
    if isinstance(node, (ast.AnnAssign, ast.AugAssign)):
        return _targets(node.target) if getattr(node, "value", None) is not None else set()
    if isinstance(node, (ast.With, ast.AsyncWith)):
        bound = set().union(*(_targets(i.optional_vars) for i in node.items))
        return bound | _definite_block(node.body)
    if isinstance(node, ast.If):
        return _definite_block(node.body) & _definite_block(node.orelse)
    if isinstance(node, ast.Try | getattr(ast, "TryStar", ast.Try)):
        paths = [_definite_block([*node.body, *node.orelse])]
        paths += [_definite_block(h.body) for h in node.handlers]
        return set.intersection(*paths) | _definite_block(node.finalbody)
    return set()


def _definite_block(body: Sequence[ast.stmt]) -> set[str]:
    return set().union(*(_definite(s) for s in body))


def _texts(python: str, body: list[ast.stmt]) -> list[str]:
    """The source of each statement: its whole lines with the comment lines just above it,
    or only its own text when it shares a line with another (``a = 1; b = 2``)."""
    lines = python.splitlines(keepends=True)
    texts = []
    for k, node in enumerate(body):
        decorators = getattr(node, "decorator_list", [])
        first = min([node.lineno, *(d.lineno for d in decorators)]) - 1
        last = (node.end_lineno or node.lineno) - 1
        before = (body[k - 1].end_lineno or 0) if k else 0  # lines above that are not its own
        shared = before > first or (k + 1 < len(body) and body[k + 1].lineno - 1 <= last)
        if shared:
            texts.append(ast.get_source_segment(python, node) or "")
            continue
        while first > before and lines[first - 1].lstrip().startswith("#"):
            first -= 1
        texts.append("".join(lines[first : last + 1]).rstrip())
    return texts


def _statement(text: str, node: ast.stmt) -> Statement:
    code = line_magic_code(node)  # %time x = f() runs x = f() in the namespace
    inner = ast.parse(code).body if code is not None else [node]
    names = _CellScope(frozenset())
    for part in inner:
        names.visit(part)
    if not isinstance(node, ast.Delete):
        names.deleted.clear()  # a del in a branch may not run: the name may still be set
    found = Statement(text, names, _definite_block(inner))
    if all(isinstance(part, (ast.Import, ast.ImportFrom)) for part in inner):
        found.imported = found.definite
    if len(inner) == 1 and isinstance(inner[0], ast.Assign) and _constant(inner[0].value):
        found.constants = found.definite
    for part in inner:  # np.random.seed(0), also as %time np.random.seed(0)
        call = part.value if isinstance(part, ast.Expr) else None
        if isinstance(call, ast.Call):
            func = call.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            found.seeds |= bool(_SEED.search(name))
    return found


@functools.lru_cache(maxsize=1024)
def statements(source: str) -> tuple[Statement, ...]:
    """The top-level statements of the code a cell runs in the namespace, in order.

    IPython syntax allowed. The body of a cell magic whose body is Python (``%%time``,
    ``%%debug``, ``%%track_run``...) is the code; the params of ``%%track_run`` and
    ``%%track_sweep`` (for a sweep, its last run's) come first as ``name = value``, the output
    of ``%%capture NAME`` last. Other cell magics and code that does not parse: none.
    """
    try:
        python, tree = _parsed(source)
    except (SyntaxError, ValueError):
        return ()
    magic = cell_magic(tree)
    if magic is not None:
        if not magic.python_body:
            return ()
        params = [_given(k, f"{k} = {v!r}", v) for k, v in magic.params().items()]
        output = magic.output
        captured = (
            [_given(output, f"{output} = None  # the output %%capture kept exists only in IPython")]
            if output
            else []
        )
        return (*params, *statements(magic.body), *captured)
    return tuple(map(_statement, _texts(python, tree.body), tree.body))


def predefined(name: str) -> bool:
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
    return {name for name in analyse(source).reads if not predefined(name)}


def names_defined(source: str) -> set[str]:
    """Names the cell binds at top level and leaves bound.

    Assignments (plain, augmented, annotated with a value, walrus, ``for``/``with``
    targets), imports, ``def``/``class``, match captures, names a function declares
    ``global`` and assigns, and the parameters of ``%%track_run``; a later ``del`` removes a
    name. ``except E as e`` binds ``e`` only inside the handler (Python deletes it after), so
    it is not included. ``df["a"] = 1`` changes ``df`` but does not define it.
    """
    return set(analyse(source).defines)
