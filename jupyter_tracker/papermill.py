"""A notebook executed by papermill: its parameters, paths and the one run of the execution.

Papermill puts the parameters it is given in a cell of their own (tagged
``injected-parameters``, right after the cell tagged ``parameters``) whose text is its
Python translator's: the comment ``# Parameters`` then one ``name = literal`` per parameter.
The kernel never sees the tags, but it runs that cell: :func:`Execution.observe` reads the
kernel's input history, and the first such cell run by a kernel that no frontend drives
(no ``JPY_SESSION_NAME`` from jupyter_server, no VS Code notebook) makes this kernel a
papermill execution. Its params are the literal assignments of the ``parameters`` cell
overridden by the injected ones; the input and output notebooks are read from papermill's
command line when it is the kernel's parent (``papermill IN OUT -p ...``), else from
papermill's own path parameters (``PAPERMILL_INPUT_PATH``/``PAPERMILL_OUTPUT_PATH``, which
``--inject-paths`` injects and a caller of ``execute_notebook`` may pass).

The execution is one run, made when something first needs it (a run to parent, a log call
outside any run) or at exit: every run the notebook starts with no run active (a tracked
cell, ``with jt.start_run()``) is its child, and bare log calls log to it. It ends when the
kernel exits, FAILED if the last cell run raised (papermill stops at the first error).
"""

from __future__ import annotations

import ast
import atexit
import os
import sys
from pathlib import Path
from typing import Any

from .run import ActiveRun, error_text, outcome
from .session import session
from .store import now_ms

INJECTED_HEADER = "# Parameters"  # papermill's Python translator: comment('Parameters')
TAG_INPUT = "papermill.input_path"
TAG_OUTPUT = "papermill.output_path"
TAG_INJECTED = "papermill.injected_parameters"
# papermill's own parameters naming the notebooks (``papermill --inject-paths``, or given to
# ``papermill.execute_notebook`` by its caller): the paths, not params of the run
PATH_PARAMETERS = {"PAPERMILL_INPUT_PATH": TAG_INPUT, "PAPERMILL_OUTPUT_PATH": TAG_OUTPUT}


def literal_assignments(source: str) -> dict[str, Any] | None:
    """``{name: value}`` of the ``name = literal`` statements of ``source`` (the form
    papermill writes, ``float('nan')`` included); None if ``source`` does not parse.
    Other statements are skipped."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    found: dict[str, Any] = {}
    for node in tree.body:
        targets = getattr(node, "targets", None) or [getattr(node, "target", None)]
        value = getattr(node, "value", None)
        if (
            isinstance(node, (ast.Assign, ast.AnnAssign))
            and len(targets) == 1
            and isinstance(targets[0], ast.Name)
            and value is not None
        ):
            try:
                found[targets[0].id] = _literal(value)
            except ValueError:
                continue
    return found


def _literal(node: ast.expr) -> Any:
    """A Python literal, or ``float('nan'|'inf'|'-inf')`` as papermill writes non-finite
    floats; anything else is a ``ValueError``."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "float"
        and len(node.args) == 1
        and not node.keywords
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        return float(node.args[0].value)
    return ast.literal_eval(node)


def injected_parameters(source: str) -> dict[str, Any] | None:
    """The parameters of papermill's injected cell, or None if ``source`` is not one: the
    header comment, then only ``name = literal`` statements."""
    text = source.lstrip("\n")
    if text.split("\n", 1)[0].rstrip() != INJECTED_HEADER:
        return None
    found = literal_assignments(text)
    if found is None or len(ast.parse(text).body) != len(found):
        return None
    return found


def headless(namespace: dict[str, Any]) -> bool:
    """Whether no notebook frontend drives this kernel (papermill's kernels have neither
    jupyter_server's ``JPY_SESSION_NAME`` nor VS Code's ``__vsc_ipynb_file__``)."""
    return not os.environ.get("JPY_SESSION_NAME") and "__vsc_ipynb_file__" not in namespace


def papermill_paths(params: dict[str, Any]) -> dict[str, str]:
    """The input and output notebooks (as tags) of this execution, as absolute paths: from
    the ``papermill`` command that started this kernel (read with papermill's own
    command-line parser), else from papermill's path parameters, which are taken out of
    ``params``; {} when neither says (``execute_notebook`` from Python without them)."""
    argv, cwd = _parent_command()
    given: dict[str, Any] = {
        tag: params.pop(name) for name, tag in PATH_PARAMETERS.items() if name in params
    }
    start = next(
        (i + 1 for i, word in enumerate(argv) if Path(word).name in ("papermill", "papermill.exe")),
        None,
    )
    if start is not None:
        try:
            from papermill.cli import papermill as command

            parsed = command.make_context("papermill", argv[start:], resilient_parsing=True)
            for key, tag in (("notebook_path", TAG_INPUT), ("output_path", TAG_OUTPUT)):
                given[tag] = parsed.params.get(key) or given.get(tag)
        except Exception:  # papermill not importable here, or a command line it would refuse
            pass
    paths = {}
    for tag, value in given.items():
        if isinstance(value, str) and value and value != "-" and "://" not in value and cwd:
            paths[tag] = str(Path(cwd, value))
        elif isinstance(value, str) and value:
            paths[tag] = value  # stdout ("-") or a remote notebook (s3://...) as given
    return paths


def _parent_command() -> tuple[list[str], str | None]:
    """The command line and working folder of this process's parent (Linux's /proc, else
    psutil when installed); ([], None) when unknown."""
    ppid = os.getppid()
    try:
        raw = Path(f"/proc/{ppid}/cmdline").read_bytes()
        return [w.decode("utf-8", "replace") for w in raw.split(b"\0") if w], os.readlink(
            f"/proc/{ppid}/cwd"
        )
    except OSError:
        pass
    try:
        import psutil

        parent = psutil.Process(ppid)
        return parent.cmdline(), parent.cwd()
    except Exception:
        return [], None


class Execution:
    """The papermill execution this kernel runs, once ``observe`` has recognized it."""

    def __init__(self) -> None:
        self.params: dict[str, Any] | None = None  # None: not (yet) a papermill execution
        self.injected: list[str] = []
        self.started_ms = 0
        self.tags: dict[str, str] = {}
        self.run: ActiveRun | None = None
        self.last_error: BaseException | None = None
        self._seen = 0  # history entries already read

    def observe(self, history: list[str], namespace: dict[str, Any]) -> None:
        """Read the cells run since the last call (``history`` is the kernel's raw input
        history, ``In``): the first papermill injected cell in a headless kernel makes this
        a papermill execution."""
        if self.params is not None:
            return
        start, self._seen = self._seen, len(history)
        if not headless(namespace):
            return
        for i in range(max(start, 1), len(history)):
            injected = injected_parameters(history[i])
            if injected is not None:
                previous = literal_assignments(history[i - 1]) if i > 1 else None
                self.begin({**(previous or {}), **injected}, list(injected))
                return

    def begin(self, params: dict[str, Any], injected: list[str]) -> None:
        """Make this kernel the papermill execution with ``params`` (``injected``: the names
        papermill was given); its run is made when first needed."""
        self.tags = papermill_paths(params)
        self.params, self.started_ms = params, now_ms()
        self.injected = [name for name in injected if name not in PATH_PARAMETERS]
        session().default_parent = self.parent_run
        atexit.register(self.end)  # before the session's own exit handler (LIFO)

    def parent_run(self) -> ActiveRun:
        """The run of this execution, made on first use."""
        if self.run is None:
            assert self.params is not None, "begin() first"
            own = session()
            store = own.current_store()
            input_path = self.tags.get(TAG_INPUT)
            name = Path(input_path).stem if input_path else "papermill"
            experiment = own.chosen_experiment() or "Default"
            run = own.create(store, experiment, name, source=None, start_ms=self.started_ms)
            for key, value in self.params.items():
                run.log_param(key, value)
            for key, value in self.tags.items():
                run.set_tag(key, value)
            run.set_tag(TAG_INJECTED, ", ".join(self.injected))
            run.set_tag("mlflow.source.type", "NOTEBOOK")
            if input_path:
                run.set_origin(input_path, None, None)
            self.run = run
        return self.run

    def cell_ended(self, error: BaseException | None) -> None:
        """Remember how the last cell ended (the execution's outcome if it is the last)."""
        if self.params is not None:
            self.last_error = error

    def end(self) -> None:
        """At exit: end the execution's run as its last cell ended."""
        if self.params is None:
            return
        try:
            run = self.parent_run()
            run.end(outcome(self.last_error), error=error_text(self.last_error))
        except Exception as exc:  # the session's exit handler still flushes the rest
            print(f"jupyter-tracker: could not end the papermill run: {exc}", file=sys.stderr)


_EXECUTION = Execution()


def execution() -> Execution:
    """This kernel's papermill execution (``params`` is None unless papermill runs it)."""
    return _EXECUTION
