"""The layout is the architecture: who may import whom, and where SQL may be written.

Shells (notebook, panels, server, cli) -> library -> store -> base (model, errors, limits,
paths). capture and render import only the base. No package imports another in a cycle.
Imports inside functions count: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "jupyter_tracker"

SHELLS = {"notebook", "panels", "server", "cli"}
LIBRARY = {
    "tracking",
    "session",
    "run",
    "values",
    "dataframes",
    "export",
    "_artifacts",
    "_names",
    "mirror",
    "mlflow_sync",
    "dump",
    "client",
    "entities",
    "data",
    "papermill",
    "integrations",
    "system_metrics",
}
STORE = {"store"}
LEAVES = {"capture", "render"}
BASE = {"model", "errors", "_limits", "_paths", "_version"}
FACADE = {"__init__", "__main__"}  # the public surface imports lazily from every layer

# What each layer may import (besides itself).
ALLOWED = {
    "shell": SHELLS | LIBRARY | STORE | LEAVES | BASE,
    "library": LIBRARY | STORE | LEAVES | BASE,
    "store": STORE | BASE,
    "leaf": BASE,
    "base": BASE,
}


def layer(unit: str) -> str:
    for name, units in (
        ("shell", SHELLS),
        ("library", LIBRARY),
        ("store", STORE),
        ("leaf", LEAVES),
        ("base", BASE),
    ):
        if unit in units:
            return name
    raise AssertionError(
        f"jupyter_tracker/{unit} belongs to no layer: add it to one in tests/test_layout.py"
    )


def modules() -> dict[str, Path]:
    """Dotted module name (``store.queries``) -> file, for every module of the package."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        if "labextension" in path.parts:
            continue
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def imported_units(module: str, path: Path) -> set[str]:
    """The top-level units of the package (``store``, ``run``...) that ``module`` imports."""
    is_package = path.name == "__init__.py"
    here = module.split(".") if is_package else module.split(".")[:-1]
    units = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                targets = [node.module or ""]
            else:
                base = here[: len(here) - (node.level - 1)]
                dotted = ".".join(["jupyter_tracker", *base, *filter(None, [node.module])])
                # `from .. import run` imports the module run; `from ..store import x` store
                targets = [dotted] if node.module else [f"{dotted}.{a.name}" for a in node.names]
        for target in targets:
            parts = target.split(".")
            if parts[0] == "jupyter_tracker" and len(parts) > 1:
                units.add(parts[1])
    return units


def unit_of(module: str) -> str:
    return module.split(".")[0]


def test_every_import_follows_the_layers():
    broken = []
    for module, path in sorted(modules().items()):
        unit = unit_of(module)
        if unit in FACADE:
            continue
        allowed = ALLOWED[layer(unit)] | {unit}
        for target in sorted(imported_units(module, path) - allowed):
            broken.append(f"{module} ({layer(unit)}) imports {target} ({layer(target)})")
    assert not broken, "imports against the layers:\n" + "\n".join(broken)


def test_no_package_imports_another_in_a_cycle():
    graph: dict[str, set[str]] = {}
    for module, path in modules().items():
        unit = unit_of(module)
        if unit not in FACADE:
            graph.setdefault(unit, set()).update(imported_units(module, path) - {unit} - FACADE)
    cycles = []

    def visit(unit: str, trail: list[str]) -> None:
        for target in sorted(graph.get(unit, ())):
            if target in trail:
                cycles.append(" -> ".join([*trail[trail.index(target) :], target]))
            elif len(trail) < len(graph):
                visit(target, [*trail, target])

    for unit in sorted(graph):
        visit(unit, [unit])
    assert not cycles, "import cycles between units:\n" + "\n".join(sorted(set(cycles)))


_SQL = re.compile(
    r"\b(SELECT\s.+\sFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|"
    r"CREATE\s+(TABLE|INDEX|VIEW)|ALTER\s+TABLE|PRAGMA\s+\w+|BEGIN\s+IMMEDIATE)\b",
    re.S,
)


def sql_texts(path: Path) -> list[tuple[int, str]]:
    """String literals in ``path`` that are SQL statements (f-string parts included)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and _SQL.search(node.value)
        ):
            found.append((node.lineno, node.value[:60]))
    return found


def test_sql_is_written_only_in_the_store():
    outside = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {text!r}"
        for module, path in sorted(modules().items())
        if unit_of(module) != "store"
        for line, text in sql_texts(path)
    ]
    assert not outside, "SQL outside jupyter_tracker/store/:\n" + "\n".join(outside)


def test_the_sql_check_sees_sql():
    sample = PACKAGE / "store" / "runs.py"
    assert sql_texts(sample), "the SQL pattern no longer matches the store's own statements"
