"""Run by MLflow's own interpreter (``.venv-mlflow/bin/python``), never imported by the tests:
prints, as JSON, MLflow's signatures of the names asked for, or the code examples of their
docstrings, read from the installed MLflow (verbatim, and of the version the control runs).

    python mlflow_side.py signatures NAME...     # fluent names, MlflowClient.method, flavor.name
    python mlflow_side.py examples NAME...       # {"NAME[i]": code} for each code block
"""

from __future__ import annotations

import inspect
import json
import sys
import textwrap
import warnings

warnings.simplefilter("ignore")

import mlflow  # noqa: E402
from mlflow import MlflowClient  # noqa: E402


def _target(name: str):
    if name.startswith("MlflowClient."):
        return getattr(MlflowClient, name.split(".", 1)[1], None)
    target = mlflow
    for part in name.split("."):  # a flavor's function: pytorch.autolog
        try:
            target = getattr(target, part, None)
        except ImportError:  # a flavor whose framework this venv lacks (keras)
            return None
    return target


def _default(value) -> str | None:
    return None if value is inspect.Parameter.empty else repr(value)


def signatures(names: list[str]) -> dict:
    out = {}
    for name in names:
        target = _target(name)
        if not inspect.isfunction(target):
            out[name] = None
            continue
        params = list(inspect.signature(target).parameters.values())
        if name.startswith("MlflowClient."):
            params = params[1:]  # self
        out[name] = [[p.name, p.kind.name, _default(p.default)] for p in params]
    return {"version": mlflow.__version__, "signatures": out}


def code_blocks(doc: str) -> list[str]:
    """The ``.. code-block:: python`` blocks of a docstring, dedented, options dropped."""
    lines, blocks, i = (doc or "").splitlines(), [], 0
    while i < len(lines):
        if lines[i].strip().startswith(".. code-block:: python"):
            indent = len(lines[i]) - len(lines[i].lstrip())
            i += 1
            body = []
            while i < len(lines) and (
                not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > indent
            ):
                body.append(lines[i])
                i += 1
            while body and body[0].strip().startswith(":"):
                body.pop(0)  # :test:, :caption: ...
            blocks.append(textwrap.dedent("\n".join(body)).strip() + "\n")
        else:
            i += 1
    return blocks


def examples(names: list[str]) -> dict:
    out = {}
    for name in names:
        for i, block in enumerate(code_blocks(getattr(_target(name), "__doc__", "") or "")):
            out[f"{name}[{i}]"] = block
    return {"version": mlflow.__version__, "examples": out}


if __name__ == "__main__":
    command, *names = sys.argv[1:]
    result = signatures(names) if command == "signatures" else examples(names)
    print(json.dumps(result))
