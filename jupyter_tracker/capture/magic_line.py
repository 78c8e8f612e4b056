"""The line of ``%%track_run`` and ``%%track_sweep``: params, tags and options, parsed one way
for the magics, the dependency slice and the export.

A broken line raises ``InvalidInputError`` with a sentence saying what to write instead; the
magics show it as a ``UsageError``.
"""

from __future__ import annotations

import ast
from typing import Any

from ..errors import InvalidInputError

FLAGS = frozenset({"--nested", "--quiet", "--maximize", "--system"})
RUN_OPTIONS = frozenset({"--name", "--experiment", "--tag", "--nested", "--quiet", "--system"})
SWEEP_OPTIONS = RUN_OPTIONS | {"--metric", "--maximize"}


def split_line(line: str, separator: str | None = None) -> list[str]:
    """Split a magic line on spaces (or on ``separator``) outside quotes and brackets:
    ``lr=[1e-3, 1e-2] name='a b'``; a backslash escapes a quote inside quotes."""
    tokens: list[str] = []
    current: list[str] = []
    depth, quote, escaped = 0, None, False
    for char in line:
        if quote:
            current.append(char)
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = None
            continue
        at_break = char == separator if separator else char.isspace()
        if at_break and depth <= 0:
            if current or separator:
                tokens.append("".join(current))
            current = []
            continue
        if char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        current.append(char)
    if quote or depth > 0:
        raise InvalidInputError(f"Unbalanced quote or bracket in: {line.strip()}")
    if current or separator:
        tokens.append("".join(current))
    return tokens


def literal(text: str) -> Any:
    """A Python literal (``0.5``, ``'adam'``, ``[1, 2]``, ``True``, ``None``), else the text."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text


def _parse(line: str, allowed: frozenset[str]) -> tuple[dict[str, str], dict[str, Any], dict]:
    """``k=v`` params (as text), ``--tag k=v`` tags and the other options of a magic line."""
    params: dict[str, str] = {}
    tags: dict[str, Any] = {}
    options: dict[str, Any] = {}
    tokens = split_line(line)
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.startswith("--"):
            if token not in allowed:
                raise InvalidInputError(
                    f"Unknown option {token}; this magic takes {', '.join(sorted(allowed))}."
                )
            if token in FLAGS:
                options[token[2:]] = True
                i += 1
                continue
            if i + 1 >= len(tokens):
                raise InvalidInputError(f"{token} needs a value, e.g. {token} something.")
            value = tokens[i + 1]
            if value[:1] in ("'", '"'):  # --tag "stage=dev", --name "my run"
                value = str(literal(value))
            if token == "--tag":
                key, sep, tag_value = value.partition("=")
                if not sep or not key:
                    raise InvalidInputError(f"--tag takes key=value, got {value!r}.")
                tags[key] = literal(tag_value)
            else:
                options[token[2:]] = value
            i += 2
            continue
        key, sep, value = token.partition("=")
        if not sep:
            raise InvalidInputError(f"Expected key=value, got {token!r} (e.g. alpha=0.5).")
        if not key.isidentifier():
            raise InvalidInputError(
                f"{key!r} is not a Python name, so it cannot become a variable."
            )
        if not value:
            raise InvalidInputError(f"{key}= has no value; write e.g. {key}=0.5.")
        if key in params:
            raise InvalidInputError(f"{key} is given twice.")
        params[key] = value
        i += 1
    return params, tags, options


def parse_run_line(line: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """``%%track_run alpha=0.5 --name N --tag k=v`` -> (params as values, tags, options)."""
    params, tags, options = _parse(line, RUN_OPTIONS)
    return {key: literal(text) for key, text in params.items()}, tags, options


def parse_sweep_line(line: str) -> tuple[dict[str, list[Any]], dict[str, Any], dict[str, Any]]:
    """``%%track_sweep alpha=0.1,0.5 lr=[1e-3,1e-2] --metric loss`` -> (the values of each
    param, tags, options)."""
    params, tags, options = _parse(line, SWEEP_OPTIONS)
    grid = {key: _sweep_values(key, text) for key, text in params.items()}
    if not grid:
        raise InvalidInputError("Give at least one parameter list, e.g. alpha=0.1,0.5,1.0.")
    return grid, tags, options


def _sweep_values(key: str, text: str) -> list[Any]:
    """``0.1,0.5,1`` or ``[1e-3, 1e-2]`` or ``'a,b',c``: the values to sweep over."""
    value = literal(text)
    if isinstance(value, (list, tuple)):
        values = list(value)
    else:
        values = [literal(part) for part in split_line(text, ",")]
    if not values or any(v == "" for v in values):
        raise InvalidInputError(f"{key}={text} has an empty value in its list.")
    return values
