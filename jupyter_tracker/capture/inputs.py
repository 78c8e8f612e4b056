"""The values a tracked cell read from the namespace: where each came from and, for plain
literals, the value itself, which the run keeps as an inherited param."""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from typing import Any

from ..model import Input
from .ipython import cell_magic, to_python

MAX_LITERAL_CHARS = 1000  # a longer value is an input without a value, not a param
MAX_ITEMS = 50
_SCALARS = (bool, int, float, complex, str, type(None))


def plain_literal(value: Any) -> str | None:
    """``repr(value)`` when it is a plain literal that reads back equal (numbers, text, bools,
    None, and small lists, tuples and dicts of them, nested at most twice), else None."""
    if not _plain(value, depth=0):
        return None
    text = repr(value)
    if len(text) > MAX_LITERAL_CHARS:
        return None
    try:
        same = ast.literal_eval(text) == value
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    return text if same else None  # NaN, -0.0 and the like do not read back as written


def _plain(value: Any, depth: int) -> bool:
    if type(value) in _SCALARS:
        return not isinstance(value, str) or len(value) <= MAX_LITERAL_CHARS
    if depth >= 2 or type(value) not in (list, tuple, dict) or len(value) > MAX_ITEMS:
        return False
    if type(value) is dict:
        return all(type(k) in _SCALARS and _plain(v, depth + 1) for k, v in value.items())
    return all(_plain(item, depth + 1) for item in value)


def read_inputs(
    slice_: Mapping[str, Any],
    namespace: Mapping[str, Any],
    own_params: Sequence[str],
    cell_ids: Mapping[int, str] | None = None,
) -> list[Input]:
    """The inputs of a tracked cell, from its dependency slice (``names``: name -> the
    execution count of the cell that defined it) and the namespace before the cell runs.

    A name that is one of the run's own params is not an input. A plain literal is an
    inherited param (``param``); any other value is recorded with where it came from only.
    """
    own = set(own_params)
    found: list[Input] = []
    for name, count in sorted(slice_.get("names", {}).items()):
        if name in own or name not in namespace:
            continue
        value = plain_literal(namespace[name])
        found.append(
            {
                "name": name,
                "execution_count": count,
                "cell_id": (cell_ids or {}).get(count),
                "value": value,
                "param": value is not None,
            }
        )
    return found


def risky_slice(
    slice_: Mapping[str, Any], history: Sequence[str], own_params: Sequence[str]
) -> dict[str, Any]:
    """The slice as the hidden-state warnings should see it: without the reassignments that
    cannot have changed what the cell read: names that are the run's own params (set for
    it), names whose setting cells all ran the same code (a cell re-run as it was), and
    names every setting cell gave the same literal value (``epochs = 20`` here and there) or
    the same import (``import numpy as np`` in several cells)."""
    own = set(own_params)

    def harmless(entry: Mapping[str, Any]) -> bool:
        texts = [history[c] for c in entry["counts"] if 0 <= c < len(history)]
        if len(texts) != len(entry["counts"]):
            return False
        if len({" ".join(text.split()) for text in texts}) == 1:
            return True
        values = [literal_set(text, entry["name"]) for text in texts]
        return all(v is not _UNKNOWN for v in values) and all(v == values[0] for v in values)

    kept = [
        entry
        for entry in slice_.get("reassigned", [])
        if entry["name"] not in own and not harmless(entry)
    ]
    return {**slice_, "reassigned": kept}


_UNKNOWN = object()


def literal_set(source: str, name: str) -> Any:
    """The value a cell leaves in ``name`` when it can be read from the code: its last
    top-level ``name = <literal>``, import, or the param of a ``%%track_run``/``%%track_sweep``
    line; else ``_UNKNOWN``."""
    try:
        tree = ast.parse(to_python(source))
    except SyntaxError:
        return _UNKNOWN
    magic = cell_magic(tree)
    value: Any = _UNKNOWN
    if magic is not None:
        value = magic.params().get(name, _UNKNOWN)
        if not magic.python_body:
            return value
        try:
            tree = ast.parse(to_python(magic.body))
        except SyntaxError:
            return _UNKNOWN
    for node in tree.body:
        bound = _bound(node)
        if name not in bound and "*" not in bound:
            continue
        value = _UNKNOWN
        if isinstance(node, (ast.Import, ast.ImportFrom)) and "*" not in bound:
            value = _imported(node, name)
        elif (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id == name
        ):
            try:
                value = ast.literal_eval(node.value)
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                value = _UNKNOWN
    return value


def _imported(node: ast.Import | ast.ImportFrom, name: str) -> Any:
    """What an import statement binds to ``name``: the same module or object each time."""
    base = f"{'.' * node.level}{node.module or ''}." if isinstance(node, ast.ImportFrom) else ""
    for alias in node.names:
        if (alias.asname or alias.name.split(".")[0]) == name:
            return ("import", base + (alias.name if alias.asname else alias.name.split(".")[0]))
    return _UNKNOWN


def _bound(node: ast.stmt) -> set[str]:
    """Names a top-level statement may bind, in any form (conservatively)."""
    names = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
            names.add(n.id)
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(n.name)
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in n.names)
        elif (
            isinstance(n, ast.Call)
            and isinstance(n.func, ast.Name)
            and n.func.id in ("globals", "exec", "eval", "vars", "setattr")
        ):
            names.add("*")  # may bind anything
    return names
