"""The code of a run as a plain Python script (and as notebook cells).

A tracked cell becomes: the statements of earlier cells its dependency slice needs, in
execution order (an earlier tracked cell gives only what is read from it: its params as plain
assignments, never its whole body), then the run's own params and the literal values it read
from earlier cells (its inherited params) assigned from the command line, so nothing before
can override them, then the cell body without its ``%%track_run`` line. Runs recorded before
the slice kept statements get whole cells. IPython syntax is read by :mod:`..capture.ipython`,
the same reading the dependency slice uses: IPython-only statements (``%magic``, ``!shell``,
``get_ipython()``, other cell magics) become ``pass`` with a comment saying they were skipped,
so the script runs under plain ``python``; ``%time CODE`` and the bodies of the cell magics
whose body is Python (``PYTHON_BODY_MAGICS``: ``%%time``, ``%%debug``...) stay code, so
whatever the slice traced to them is defined. The params become command-line options whose
defaults are the logged values (a sweep child's own), parsed back to their logged types.
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass, field
from keyword import iskeyword

from ..capture.ipython import (
    CellMagic,
    cell_magic,
    ipython_call,
    ipython_text,
    line_magic_code,
    to_python,
)
from ..model import Input, RunDetail
from ..store import DB_NAME
from ..store._location import ENV_VAR, STORE_DIRNAME

SCRIPT = "train.py"
MANIFEST = "run.json"  # the run as stored, and the export's record (files, origin store)
_BLOCK_FIELDS = ("body", "orelse", "finalbody", "handlers", "cases")
_OPTION_CHARS = re.compile(r"[^A-Za-z0-9_]+")
_RESERVED_OPTIONS = frozenset({"help", "h"})
_CONVERTERS = {"int": "int", "float": "float", "str": "str", "bool": "_bool"}
_LITERAL_KINDS = frozenset({"list", "tuple", "dict", "set", "NoneType"})
_WAS = {
    "track_run": "was a tracked run of its own; its params become variables and its log "
    "calls now log into this run",
    "track_sweep": "was a sweep of runs; the params of its last run become variables and "
    "its log calls now log into this run",
}


def one_line(text: object) -> str:
    """``text`` safe inside a ``#`` comment or a Markdown line: no line breaks or controls."""
    return "".join(
        c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in str(text)
    )


# -- IPython syntax -------------------------------------------------------------------------


@dataclass
class Converted:
    """A cell as plain Python (``script``) and as IPython syntax (``notebook``)."""

    script: str
    notebook: str
    skipped: list[str] = field(default_factory=list)  # IPython-only lines left out
    error: str | None = None  # why the cell does not parse, if it does not


def _uses_ipython(node: ast.stmt) -> bool:
    """Whether the statement itself (not the blocks it holds) calls ``get_ipython``."""
    for name, value in ast.iter_fields(node):
        if name in _BLOCK_FIELDS:
            continue
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, ast.AST) and any(
                isinstance(n, ast.Name) and n.id == "get_ipython" for n in ast.walk(item)
            ):
                return True
    return False


def _statement(node: ast.stmt, segment: str) -> tuple[str, str, str]:
    """For one IPython statement: (script replacement, notebook text, what was skipped)."""
    call = ipython_call(getattr(node, "value", None))
    original = ipython_text(*call) if call else None
    if isinstance(node, ast.Assign) and original is not None:
        assigned = " = ".join(ast.unparse(t) for t in node.targets)
        original = f"{assigned} = {original}"
    shown = original if original is not None else segment
    code = line_magic_code(node)
    if code is not None and call is not None:  # %time x = f(): x = f() runs as code
        return f"{code}  # was: %{call[1][0]}", shown, ""
    targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
    single = isinstance(node, ast.Assign | ast.AnnAssign) and len(targets) == 1
    if single and isinstance(targets[0], ast.Name):  # x = !ls: x stays bound
        return f"{targets[0].id} = None", shown, shown
    return "pass", shown, shown


def _cell_magic(magic: CellMagic) -> Converted:
    """A whole cell that is one cell magic: its Python body kept, any other body skipped."""
    header = f"%%{magic.name} {magic.line}".rstrip()
    notebook = f"{header}\n{magic.body}"
    if not magic.python_body:
        commented = "".join(f"# {one_line(line)}\n" for line in magic.body.splitlines())
        script = f"# {one_line(header)}  (skipped: IPython only)\n{commented}pass\n"
        return Converted(script, notebook, [header])
    inner = convert(magic.body)
    was = _WAS.get(magic.name, "IPython only; its body runs as plain Python")
    script = f"# {one_line(header)}  ({was})\n"
    script += "".join(f"{key} = {value!r}\n" for key, value in magic.params().items())
    script += inner.script
    if magic.output:
        script += f"{magic.output} = None  # the output %%capture kept exists only in IPython\n"
    return Converted(script, notebook, inner.skipped, inner.error)


def convert(source: str) -> Converted:
    """A cell (IPython syntax or IPython's transformed Python) as plain Python and as IPython."""
    python = to_python(source)
    try:
        tree = ast.parse(python)
    except (SyntaxError, ValueError) as exc:  # it failed in the kernel too: keep it as comments
        error = f"{type(exc).__name__}: {exc}"
        commented = "".join(f"# {one_line(line)}\n" for line in source.splitlines())
        return Converted(
            f"# (does not parse: {one_line(error)})\n{commented}pass\n", source, [], error
        )
    whole = cell_magic(tree)
    if whole is not None:
        return _cell_magic(whole)
    lines = python.splitlines(keepends=True)
    edits: list[tuple[ast.stmt, str, str, str]] = []

    def visit(statements: list) -> None:
        for node in statements:
            if isinstance(node, ast.ExceptHandler | ast.match_case):
                visit(node.body)
            elif _uses_ipython(node):
                edits.append((node, *_statement(node, ast.get_source_segment(python, node) or "")))
            else:
                for name in _BLOCK_FIELDS:
                    visit(getattr(node, name, []))

    visit(tree.body)
    script_lines, notebook_lines = list(lines), list(lines)
    skipped = []
    # Bottom-up and right to left, so the offsets of the edits still to make stay valid.
    for node, script, notebook, what in sorted(
        edits, key=lambda e: (e[0].lineno, e[0].col_offset), reverse=True
    ):
        first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
        span = slice(first, last + 1)
        for text, out in ((script, script_lines), (notebook, notebook_lines)):
            before = out[first].encode()[: node.col_offset].decode()
            after = out[last].encode()[node.end_col_offset :].decode()
            alone = not before.strip() and (not after.strip() or after.lstrip().startswith("#"))
            if what and alone and out is script_lines:
                text += f"  # skipped (IPython only): {one_line(what)}"
            out[span] = [before + text + after]
        if what:
            skipped.append(what)
    skipped.reverse()
    return Converted("".join(script_lines), "".join(notebook_lines), skipped)


# -- params as options ----------------------------------------------------------------------


@dataclass
class Option:
    """One param as a command-line option of the script (and an MLproject parameter)."""

    key: str  # the param key as logged
    name: str  # --name on the command line, {name} in MLproject (letters, digits, _)
    kind: str  # the logged Python type name
    text: str  # the logged value as text: the option's default
    value: object  # the logged value

    @property
    def converter(self) -> str:
        """The function the script parses the option's text with."""
        if self.kind in _CONVERTERS and type(self.value).__name__ == self.kind:
            return _CONVERTERS[self.kind]
        if self.kind in _LITERAL_KINDS and type(self.value).__name__ == self.kind:
            return "_literal"
        return "str"

    @property
    def numeric(self) -> bool:
        """Whether MLflow may treat it as a ``float`` parameter."""
        return self.converter in ("int", "float")


def options(typed_params: dict[str, tuple[str, str]]) -> list[Option]:
    """The run's params as options, in key order; names made unique and option-safe."""
    from ..values import typed_param

    used = set(_RESERVED_OPTIONS)
    out = []
    for key in sorted(typed_params):
        text, kind = typed_params[key]
        base = _OPTION_CHARS.sub("_", key).strip("_") or "param"
        if base[0].isdigit():
            base = f"p_{base}"
        name, n = base, 1
        while name.lower() in used:
            n += 1
            name = f"{base}_{n}"
        used.add(name.lower())
        out.append(Option(key, name, kind, text, typed_param(text, kind)))
    return out


# -- the script -----------------------------------------------------------------------------

_HELPERS = '''

def _literal(text):
    """A Python literal ([1, 2], {'a': 1}, None...), else the text itself."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _bool(text):
    """True or False (also true/false, yes/no, 1/0)."""
    answer = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
    if text.strip().lower() not in answer:
        raise argparse.ArgumentTypeError(f"expected True or False, got {text!r}")
    return answer[text.strip().lower()]
'''

_STAND_IN = '''

def _stand_in(params):
    """A do-nothing jupyter_tracker for when it is not installed: log calls are no-ops,
    jt.param returns the value given on the command line."""

    def nothing(*args, **kwargs):
        return None

    class Run:
        id = name = None
        status = "RUNNING"

        def __init__(self):
            self.params, self.tags, self.metrics = dict(params), {}, {}

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def __getattr__(self, name):
            return nothing

    def missing(name):
        if name.startswith("__"):
            raise AttributeError(name)
        return nothing

    run = Run()
    module = types.ModuleType("jupyter_tracker", _stand_in.__doc__)
    module.param = lambda key, default=None: params.get(key, default)
    module.log_param = lambda key, value, *args, **kwargs: value
    module.start_run = module.active_run = module.last_active_run = lambda *a, **k: run
    module.__getattr__ = missing
    sys.modules["jupyter_tracker"] = module
    print("jupyter-tracker: not installed, so this re-run is not logged", file=sys.stderr)
    return module
'''

# Where a re-run logs (with jupyter-tracker installed): $JUPYTER_TRACKER_STORE when set, else
# the store the run came from (its path in run.json) when it is reachable, else a local store
# beside the script; one line on stderr says which.
_STORE_CHOICE = (
    '''

def _choose_store(tracker):
    """Point jupyter-tracker at the store this re-run logs into and say which, on stderr:
    $ENV_VAR when set, else the store the run came from (MANIFEST) when it is
    reachable (the folder, its DB_NAME, both writable), else STORE_DIRNAME/ here."""
    import json
    import os
    from pathlib import Path

    here = Path(__file__).resolve().parent
    if os.environ.get("ENV_VAR"):
        where = "$ENV_VAR: " + os.environ["ENV_VAR"]
    else:
        try:
            with open(here / "MANIFEST", encoding="utf-8") as f:
                origin = json.load(f)["export"]["origin_store"]
        except (OSError, ValueError, KeyError, TypeError):
            origin = None
        database = Path(str(origin), "DB_NAME")
        if isinstance(origin, str) and Path(origin).is_dir() and database.is_file() and all(
            os.access(p, os.W_OK) for p in (origin, database)
        ):
            tracker.set_store(origin)
            where = f"the store the run came from: {origin}"
        else:
            local = here / "STORE_DIRNAME"
            tracker.set_store(local)
            gone = f"the store the run came from ({origin}) is not reachable" if origin else (
                "MANIFEST does not say which store the run came from"
            )
            where = f"a local store, as {gone}: {local}"
    print(f"jupyter-tracker: this re-run is logged in {where}", file=sys.stderr)
'''.replace("ENV_VAR", ENV_VAR)
    .replace("MANIFEST", MANIFEST)
    .replace("DB_NAME", DB_NAME)
    .replace("STORE_DIRNAME", STORE_DIRNAME)
)


@dataclass
class Script:
    """The exported script's text and what the README should say about it."""

    text: str
    kind: str  # "cell", "script" or "none": where the code came from
    options: list[Option]
    code: str  # the user's code alone (for finding its imports)
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    cells: list[dict] = field(default_factory=list)  # for the notebook: {"count", "source"}
    variables: list[str] = field(default_factory=list)  # params the magic line sets
    inherited: list[str] = field(default_factory=list)  # params read from earlier cells
    starts_own_run: bool = False


def code_kind(detail: RunDetail) -> str:
    """``"cell"`` (a tracked cell), ``"script"`` or ``"none"`` (no source recorded)."""
    source = detail.get("source")
    if source is None:
        return "none"
    if source.lstrip().startswith(("%%track_run", "%%track_sweep")):
        return "cell"
    return "script"


def _calls_start_run(code: str) -> bool:
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name == "start_run":
                return True
    return False


def _hoist_future(code: str) -> tuple[str, list[str]]:
    """``from __future__`` imports must come first: take the real ones (statements of the
    code, found by parsing it, never text inside a string) out of the user's code, as the
    names they import, so nothing else on their lines can travel to the top."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return code, []
    lines = code.splitlines(keepends=True)
    future = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            names = ", ".join(alias.name for alias in node.names)
            future.append(f"from __future__ import {names}")
            first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
            if first == last:  # only the statement's own text: `x = 1; from __future__ ...`
                line = lines[first].encode("utf-8")
                start, end = node.col_offset, node.end_col_offset or len(line)
                rest = line[end:]
                note = b"  # moved to the top" if not rest.strip() else b""
                lines[first] = (line[:start] + b"pass" + note + rest).decode()
                if not lines[first].endswith("\n"):
                    lines[first] += "\n"
            else:
                for i in range(first, last + 1):
                    lines[i] = f"# {lines[i].rstrip()}  (moved to the top)\n"
    return "".join(lines), future


def build(detail: RunDetail, version: str) -> Script:
    """The exported script of a run: options, the stand-in, start_run, the code."""
    kind = code_kind(detail)
    source = detail["source"] or ""
    opts = options(detail["typed_params"])
    script = Script("", kind, opts, "")
    capture = detail.get("capture") or {}
    parts: list[str] = []
    if kind == "cell":
        magic_line, _, body = source.lstrip().partition("\n")
        magic, _, line = magic_line[2:].partition(" ")
        names = CellMagic(magic.strip(), line, body).params()
        read = {i["name"]: i for i in capture.get("inputs") or [] if i.get("param")}
        script.variables = [o.key for o in opts if o.key in names and _variable(o.key)]
        script.inherited = [
            o.key for o in opts if o.key in read.keys() - names and _variable(o.key)
        ]
        for cell in (capture.get("dependency_slice") or {}).get("cells", []):
            converted, banner = _slice_cell(cell)
            parts += [banner, converted.script]
            script.cells.append({"count": cell["execution_count"], "source": converted.notebook})
            _note(script, converted, f"In [{cell['execution_count']}]")
        if script.variables or script.inherited:
            parts.append(_banner("this run's params, from the command line, applied last"))
            parts += [f"{key} = PARAMS[{key!r}]\n" for key in script.variables]
            parts += [
                f"{key} = PARAMS[{key!r}]  # {_read_from(read[key])}\n" for key in script.inherited
            ]
        converted = convert(body)
        count = capture.get("execution_count")
        where = "the tracked cell" if count is None else f"In [{count}], the tracked cell"
        parts.append(_banner(f"{where}: {one_line(magic_line)}"))
        parts.append(converted.script)
        _note(script, converted, f"In [{count}]")
        unresolved = (capture.get("dependency_slice") or {}).get("unresolved") or []
        if unresolved:
            script.notes.append(
                "Names the code reads that the dependency slice traced to no earlier cell "
                "(fine if a kept line such as %time sets them, else a NameError): "
                f"{', '.join(unresolved)}."
            )
    elif kind == "script":
        script.starts_own_run = _calls_start_run(source)
        parts.append(_banner("the script that ran, unchanged"))
        parts.append(source)
    else:
        parts.append(
            "# The code of this run was not recorded: it was started by jt.start_run() or a log\n"
            "# call in a notebook cell, not by %%track_run or a script. Put the code here.\n"
        )
    code = "".join(p if p.endswith("\n") else p + "\n" for p in parts)
    code, future = _hoist_future(code)
    script.code = code
    script.text = _assemble(detail, script, code, future, version)
    try:
        compile(script.text, SCRIPT, "exec")
    except SyntaxError as exc:
        script.notes.append(f"{SCRIPT} does not compile (line {exc.lineno}: {exc.msg}); edit it.")
    return script


def _variable(key: str) -> bool:
    return key.isidentifier() and not iskeyword(key)


def _read_from(item: Input) -> str:
    count = item.get("execution_count")
    return "read from the namespace" if count is None else f"read from In [{count}]"


def _slice_cell(cell: dict) -> tuple[Converted, str]:
    """An earlier cell of the slice as code, and its banner: the statements the run needed
    (whole, for runs recorded before the slice kept statements)."""
    count, source = cell["execution_count"], cell["source"]
    provides = ", ".join(cell.get("provides") or cell.get("defines") or [])
    if "statements" not in cell:
        return convert(source), _banner(f"In [{count}], needed for: {provides}")
    kept, total = cell["statements"], cell.get("total", len(cell["statements"]))
    converted = convert("".join(f"{text}\n" for text in kept))
    try:
        magic = cell_magic(ast.parse(to_python(source)))
    except (SyntaxError, ValueError):
        magic = None
    if magic is not None:
        header = f"%%{magic.name} {magic.line}".rstrip()
        was = (
            "a tracked run: only what this run read from it"
            if magic.name in _WAS
            else "IPython only; its body runs as plain Python"
        )
        converted.script = f"# {one_line(header)}  ({was})\n{converted.script}"
    shown = f"{len(kept)} of {total} statements" if len(kept) < total else "the whole cell"
    needed = provides or "seeding a random generator"
    return converted, _banner(f"In [{count}], needed for: {needed} ({shown})")


def _note(script: Script, converted: Converted, where: str) -> None:
    script.skipped += [
        f"{where}: {one_line(s.splitlines()[0] if s else s)}" for s in converted.skipped
    ]
    if converted.error:
        script.notes.append(f"{where} does not parse as Python ({converted.error}).")


def _banner(text: str) -> str:
    head = f"# ---- {one_line(text)} "
    return "\n" + head + "-" * max(4, 92 - len(head)) + "\n"


def _assemble(detail: RunDetail, script: Script, code: str, future: list[str], version: str) -> str:
    run_id, name = detail["run_id"], detail["name"]
    opts = script.options
    example = next((o for o in opts if o.numeric), opts[0] if opts else None)
    usage = f"python {SCRIPT}" + (f" --{example.name} {_example_value(example)}" if example else "")
    where = []
    if detail.get("notebook"):
        where.append(f"notebook {detail['notebook']}")
    count = (detail.get("capture") or {}).get("execution_count")
    if script.kind == "cell" and count is not None:
        where.append(f"cell In [{count}]")
    head = [
        f"# {one_line(name)} (jupyter-tracker run {run_id}), exported by jupyter-tracker {version}",
        *([f"# From {one_line(', '.join(where))}."] if where else []),
        "#",
        f"# Re-run:  {usage}   ({SCRIPT} --help lists the options)",
    ]
    if script.starts_own_run:
        head += [
            "# This script starts its own run (jt.start_run), so it is kept as it was: it takes",
            "# no options and its runs are not tagged with their origin (see README.md).",
        ]
    else:
        head += [
            "# Each option defaults to the value the run logged. With jupyter-tracker installed",
            "# the re-run is logged as a new run tagged jupyter_tracker.origin (this run's id);",
            "# without it the code still runs and the jupyter_tracker calls do nothing.",
        ]
    if script.kind == "cell":
        head += [
            "# The code: the statements of earlier cells the run's cell needed (its dependency",
            "# slice, in execution order), then its params from the command line, then the",
            "# cell. IPython-only lines are skipped, as comments say.",
        ]
    if script.starts_own_run:
        return "\n".join(
            [
                *head,
                *future,
                "import sys",
                _STORE_CHOICE.rstrip("\n"),
                "",
                "",
                "try:",
                "    import jupyter_tracker",
                "except ImportError:",
                "    pass",
                "else:",
                "    _choose_store(jupyter_tracker)",
                code,
            ]
        )
    tags = {
        k: v for k, v in detail["tags"].items() if not k.startswith(("mlflow.", "jupyter_tracker."))
    }
    tags = {"jupyter_tracker.origin": run_id, "jupyter_tracker.origin_name": name, **tags}
    out = [*head, ""]
    out += future
    out += ["import argparse", "import ast", "import sys", "import types", ""]
    out += [f"EXPERIMENT = {detail['experiment']!r}", f"TAGS = {_pyrepr(tags)}"]
    out += [_HELPERS.rstrip("\n"), "", "", _params_function(detail, opts).rstrip("\n")]
    out += [_STAND_IN.rstrip("\n"), _STORE_CHOICE.rstrip("\n")]
    out += [
        "",
        "",
        "PARAMS = _params()",
        "try:",
        "    import jupyter_tracker as tracker",
        "except ImportError:",
        "    tracker = _stand_in(PARAMS)",
        "else:",
        "    _choose_store(tracker)",
        "",
        "# The run ends at the end of the script: FINISHED, or FAILED with the traceback if the",
        "# code raises (jupyter-tracker ends it when the interpreter exits).",
        "tracker.start_run(experiment=EXPERIMENT, params=PARAMS, tags=TAGS)",
    ]
    out += [code.rstrip("\n"), "", "tracker.end_run()", ""]
    return "\n".join(out)


def _example_value(option: Option) -> str:
    if option.converter == "int" and isinstance(option.value, int):
        return str(option.value * 2 or 1)
    if option.converter == "float" and isinstance(option.value, float):
        value = option.value * 2 if option.value == option.value else 0.5
        return repr(value or 0.5)
    return _shell(option.text)


def _shell(text: str) -> str:
    import shlex

    return shlex.quote(text)


def _pyrepr(value: dict) -> str:
    items = ",\n".join(f"    {k!r}: {v!r}" for k, v in value.items())
    return "{\n" + items + ",\n}" if value else "{}"


def _params_function(detail: RunDetail, opts: list[Option]) -> str:
    description = _help(f"Re-run of jupyter-tracker run {detail['name']} ({detail['run_id'][:8]}).")
    lines = [
        "def _params(argv=None):",
        '    """The run\'s params from the command line, each defaulting to the logged value."""',
        f"    parser = argparse.ArgumentParser(description={description!r})",
    ]
    for o in opts:
        shown = o.text if len(o.text) <= 60 else o.text[:57] + "..."
        what = o.kind if o.converter != "str" or o.kind == "str" else f"{o.kind}, given as text"
        lines.append(
            f"    parser.add_argument({'--' + o.name!r}, type={o.converter}, "
            f"default={o.text!r}, help={_help(f'{what}; logged: {shown}')!r})"
        )
    lines.append("    args = vars(parser.parse_args(argv))")
    mapping = ", ".join(f"{o.key!r}: args[{o.name!r}]" for o in opts)
    lines.append(f"    return {{{mapping}}}")
    return "\n".join(lines) + "\n"


def _help(text: str) -> str:
    """Text for argparse help: one line, ``%`` escaped (argparse formats it)."""
    return one_line(text).replace("%", "%%")


def imported_modules(code: str) -> list[str]:
    """Top-level names of the non-standard modules ``code`` imports, in order."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return []
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.partition(".")[0]
            if top not in sys.stdlib_module_names and top not in found and top != "__future__":
                found.append(top)
    return found
