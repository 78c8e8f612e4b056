"""IPython syntax read without IPython: the one conversion to Python and the one list of cell
magics whose body is Python, shared by the dependency slice and the export.

:func:`to_python` turns ``%magic``, ``!shell``, ``x = !cmd``, ``obj?`` and a ``%%cell`` magic
into the ``get_ipython()`` calls IPython itself runs for them (the text IPython keeps in
``In``), following IPython's own rules (``IPython.core.inputtransformer2``): special syntax
counts only at the start of a logical line or right after its first ``=``, never inside a
string, a comment or brackets, and a trailing backslash continues it. Not handled: pasted
``>>>``/``In [1]:`` prompts and the single-line conveniences that depend on the shell's
state (autocall, automagic without ``%``).
"""

from __future__ import annotations

import ast
import re
import textwrap
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInputError
from .magic_line import parse_run_line, parse_sweep_line

# Cell magics whose body is Python that runs in the user namespace: the dependency slice reads
# the body and the export keeps it as code. The bodies of other cell magics (%%bash, %%html,
# %%writefile, %%timeit, which runs its body in a function of its own) define no names.
PYTHON_BODY_MAGICS = frozenset({"time", "capture", "prun", "debug", "track_run", "track_sweep"})
# Line magics whose argument is Python that runs in the user namespace: ``%time x = f()``.
PYTHON_CODE_LINE_MAGICS = frozenset({"time"})

_ESCAPES = "!?%,;/"
_HELP_END = re.compile(
    r"""(%{0,2}
    (?!\d)[\w*]+                      # a name
    (\.(?!\d)[\w*]+|\[-?[0-9]+\])*    # .attribute or [integer], repeated
    )
    (\?\??)$                          # ? or ??
    """,
    re.VERBOSE,
)
_NAME_START = re.compile(r"[ \t]*[^\W\d]")


# --------------------------------------------------------------------------- to Python


def to_python(source: str) -> str:
    """``source`` (IPython syntax allowed) as the Python text IPython would run.

    Python passes through unchanged (but for leading blank lines and a common indent), so
    text IPython already transformed (the kernel's ``In``) can be given again.
    """
    lines = (source if source.endswith("\n") else source + "\n").splitlines(keepends=True)
    while lines and lines[0].isspace():
        lines.pop(0)
    lines = textwrap.dedent("".join(lines)).splitlines(keepends=True)
    if lines and lines[0].startswith("%%") and not re.match(r"%%\w+\?", lines[0]):
        name, _, line = lines[0][2:].rstrip().partition(" ")
        body = "".join(lines[1:])
        return f"get_ipython().run_cell_magic({name!r}, {line!r}, {body!r})\n"
    out: list[str] = []
    start = 0
    while start < len(lines):
        end, helped = _logical_line(lines, start)
        special = _special(lines, start, end, helped)
        if special is None:
            out += lines[start : end + 1]
            start = end + 1
        else:
            out.append(special[0])
            start = special[1] + 1
    return "".join(out)


def _scan(line: str, depth: int, quote: str | None) -> tuple[int, str | None, bool]:
    """Bracket depth and open string after ``line``, and whether it ends in a comment."""
    i, n, escaped_newline = 0, len(line), False
    while i < n:
        char = line[i]
        if quote:
            if char == "\\":
                escaped_newline = line[i + 1 : i + 2] == "\n"
                i += 2
            elif line.startswith(quote, i):
                i += len(quote)
                quote = None
            else:
                i += 1
            continue
        if char == "#":
            return depth, None, True
        if char in "'\"":
            quote = char * 3 if line.startswith(char * 3, i) else char
            i += len(quote)
            continue
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth = max(depth - 1, 0)
        i += 1
    if quote is not None and len(quote) == 1 and not escaped_newline:
        quote = None  # an unterminated string ends with its line (a syntax error)
    return depth, quote, False


def _logical_line(lines: list[str], start: int) -> tuple[int, bool]:
    """The last physical line of the logical line at ``start``, and whether it ends in ``?``."""
    depth, quote, end = 0, None, start
    while True:
        depth, quote, comment = _scan(lines[end], depth, quote)
        joined = not comment and quote is None and lines[end].endswith("\\\n")
        if (depth == 0 and quote is None and not joined) or end == len(lines) - 1:
            return end, not comment and lines[end].rstrip().endswith("?")
        end += 1


def _continued(lines: list[str], start: int) -> int:
    """The last line of the backslash-continued line at ``start``."""
    end = start
    while end < len(lines) - 1 and lines[end].endswith("\\\n"):
        end += 1
    return end


def _joined(lines: list[str], start: int, column: int, end: int) -> str:
    """Lines ``start``..``end`` from ``column`` as one line, without the backslashes."""
    parts = [lines[start][column:], *lines[start + 1 : end + 1]]
    return " ".join([p.rstrip()[:-1] for p in parts[:-1]] + [parts[-1].rstrip()])


def _special(lines: list[str], start: int, end: int, helped: bool) -> tuple[str, int] | None:
    """The Python for the logical line ``start``..``end`` if it is IPython syntax:
    (the new line, the last line it replaces); else None."""
    line = lines[start]
    rest = line.lstrip(" \t\f")
    indent = line[: len(line) - len(rest)]
    if helped:  # obj? obj?? %magic?
        match = _HELP_END.search("".join(lines[start : end + 1])[len(indent) :])
        if match:
            return indent + _help(match[1], match[3]) + "\n", end
    if _is_escape(rest):
        last = _continued(lines, start)
        call = _escaped(_joined(lines, start, len(indent), last))
        return None if call is None else (indent + call + "\n", last)
    column = _assigned_special(line)
    if column is not None:  # x = %magic args, x = !command
        last = _continued(lines, start)
        rhs = _joined(lines, start, column, last)
        if rhs.startswith("%"):
            name, _, args = rhs[1:].partition(" ")
            call = _line_magic(name, args)
        else:
            call = f"get_ipython().getoutput({rhs[1:]!r})"
        return line[:column] + call + "\n", last
    return None


def _is_escape(rest: str) -> bool:
    """Whether a logical line starts with IPython's escape (not with ``!=``, ``%=``, ``//``)."""
    char, following = rest[:1], rest[1:2]
    if not char or char not in _ESCAPES:
        return False
    if char in "!%" and following == "=":
        return False
    return not (char == "/" and following in ("/", "="))


def _line_magic(name: str, args: str) -> str:
    return f"get_ipython().run_line_magic({name!r}, {args!r})"


def _help(target: str, escape: str) -> str:
    if not target:
        return "get_ipython().show_usage()"
    method = "pinfo2" if escape == "??" else "psearch" if "*" in target else "pinfo"
    return _line_magic(method, target)


def _escaped(text: str) -> str | None:
    """The call an escaped line stands for: ``%m a`` ``!cmd`` ``!!cmd`` ``?obj`` ``,f a b``
    ``;f a b`` ``/f a b``; None for ``/`` with no name (Python then rejects the line)."""
    escape = text[:2] if text[:2] in ("!!", "??") else text[:1]
    content = text[len(escape) :]
    name, _, args = content.partition(" ")
    if escape == "%":
        return _line_magic(name, args)
    if escape == "!":
        return f"get_ipython().system({content!r})"
    if escape == "!!":
        return f"get_ipython().getoutput({content!r})"
    if escape in ("?", "??"):
        return _help(content, escape)
    if escape == ",":
        return '{}("{}")'.format(name, '", "'.join(args.split()))
    if escape == ";":
        return f'{name}("{args}")'
    return f"{name}({', '.join(args.split())})" if name else None


def _assigned_special(line: str) -> int | None:
    """Where ``%magic`` or ``!command`` starts, if it follows the line's first ``=`` outside
    brackets and strings (``files = !ls``, ``home = %env HOME``)."""
    depth, i = 0, 0
    while i < len(line):
        char = line[i]
        if char in "'\"":
            quote = char * 3 if line.startswith(char * 3, i) else char
            i = _string_end(line, i + len(quote), quote)
            if i < 0:
                return None
            continue
        if char == "#":
            return None
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth = max(depth - 1, 0)
        elif char == "=" and line[i + 1 : i + 2] == "=":
            i += 2
            continue
        elif char == "=" and depth == 0 and not (i and line[i - 1] in "=!<>+-*/%@&|^:"):
            return _special_value(line, i + 1)  # only the first ``=`` counts
        i += 1
    return None


def _special_value(line: str, start: int) -> int | None:
    """Where ``%magic`` or ``!command`` starts in the value after an ``=``, else None."""
    value = start + len(line[start:]) - len(line[start:].lstrip(" \t"))
    escape, following = line[value : value + 1], line[value + 1 : value + 2]
    if following == "=":
        return None
    if escape == "%" and _NAME_START.match(line, value + 1):
        return value
    if escape == "!" and not line.lstrip().startswith("="):
        return value
    return None


def _string_end(line: str, i: int, quote: str) -> int:
    """The index just past the string that ``quote`` opened before ``i``; -1 if the line ends
    first."""
    while i < len(line):
        if line[i] == "\\":
            i += 2
        elif line.startswith(quote, i):
            return i + len(quote)
        else:
            i += 1
    return -1


# --------------------------------------------------------------------------- the calls


def ipython_call(node: ast.AST | None) -> tuple[str, list[str]] | None:
    """``get_ipython().METHOD('a', 'b')`` -> ``('METHOD', ['a', 'b'])`` (string constants only)."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return None
    owner = node.func.value
    if not (
        isinstance(owner, ast.Call)
        and isinstance(owner.func, ast.Name)
        and owner.func.id == "get_ipython"
        and not node.keywords
    ):
        return None
    args = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    return (node.func.attr, args) if len(args) == len(node.args) else None


def ipython_text(method: str, args: list[str]) -> str | None:
    """The IPython syntax that :func:`to_python` turned into ``get_ipython().method(*args)``."""
    if method == "run_line_magic" and len(args) == 2:
        return f"%{args[0]} {args[1]}".rstrip()
    if method in ("system", "getoutput") and len(args) == 1:
        return f"!{args[0]}"
    if method == "run_cell_magic" and len(args) == 3:
        return f"%%{args[0]} {args[1]}".rstrip() + "\n" + args[2]
    return None


def line_magic_code(node: ast.stmt) -> str | None:
    """The Python a line-magic statement runs in the user namespace (``%time x = f()`` ->
    ``x = f()``), for the magics of ``PYTHON_CODE_LINE_MAGICS`` when that code parses."""
    call = ipython_call(node.value) if isinstance(node, ast.Expr) else None
    if call is None or call[0] != "run_line_magic" or len(call[1]) != 2:
        return None
    name, code = call[1][0], call[1][1].strip()
    if name not in PYTHON_CODE_LINE_MAGICS or not code or "\n" in code:
        return None
    try:
        ast.parse(code)
    except (SyntaxError, ValueError):
        return None
    return code


@dataclass(frozen=True)
class CellMagic:
    """A cell that is one cell magic: ``%%name line`` over ``body``."""

    name: str
    line: str
    body: str

    @property
    def python_body(self) -> bool:
        """Whether the body is Python that runs in the user namespace (``%%time``,
        ``%%debug``, ``%%track_run``...): the slice reads it and the export keeps it."""
        return self.name in PYTHON_BODY_MAGICS

    def params(self) -> dict[str, Any]:
        """The variables the magic sets before its body runs: the params of ``%%track_run``;
        for ``%%track_sweep`` those of its last run (what the namespace holds after it).
        Empty for other magics and for a line the magic refuses (its body never ran)."""
        try:
            if self.name == "track_run":
                return parse_run_line(self.line)[0]
            if self.name == "track_sweep":
                grid = parse_sweep_line(self.line)[0]
                return {key: values[-1] for key, values in grid.items()}
        except InvalidInputError:
            pass
        return {}

    @property
    def output(self) -> str | None:
        """The variable ``%%capture [options] NAME`` sets to the captured output."""
        if self.name != "capture":
            return None
        words = [word for word in self.line.split() if not word.startswith("-")]
        return words[-1] if words and words[-1].isidentifier() else None


def cell_magic(tree: ast.Module) -> CellMagic | None:
    """The cell magic a whole cell is (``get_ipython().run_cell_magic(name, line, body)``)."""
    only = tree.body[0] if len(tree.body) == 1 else None
    if not isinstance(only, ast.Expr):
        return None
    call = ipython_call(only.value)
    if call is None or call[0] != "run_cell_magic" or len(call[1]) != 3:
        return None
    return CellMagic(*call[1])
