"""The IPython magics: ``%%track_run``, ``%%track_sweep``, ``%runs``, ``%compare``, ``%export_run``.

Each magic parses its line, calls the tracking API and turns user mistakes into
``UsageError`` (one line, no traceback); the cell body runs in the user namespace.
"""

from __future__ import annotations

import ast
import itertools
import json
import os
import sys
import threading
from collections.abc import Callable
from typing import Any

from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class

from .. import system_metrics, tracking
from ..capture.environment import environment
from ..capture.git import git_state
from ..capture.inputs import read_inputs, risky_slice
from ..capture.location import notebook_location
from ..capture.magic_line import parse_run_line, parse_sweep_line
from ..capture.slice import dependency_slice, hidden_state
from ..errors import TrackerError
from ..papermill import execution
from ..run import error_text, outcome
from ..session import session
from ..store import queries
from .card import RunCard

MAX_HISTORY_CELLS = 500
MAX_NOTEBOOK_BYTES = 50_000_000
GIT_TIMEOUT_S = 2.0


def _parsed(parse: Callable[[str], tuple], line: str) -> tuple:
    """The magic line as ``parse`` reads it; a broken line is a UsageError (no traceback)."""
    try:
        return parse(line)
    except TrackerError as exc:
        raise UsageError(str(exc)) from None


class _CellContext:
    """What the kernel tells us about the cell being run (from the pre_run_cell event)."""

    def __init__(self) -> None:
        self.raw_cell: str | None = None
        self.cell_id: str | None = None
        self.depth = 0


@magics_class
class TrackerMagics(Magics):
    """The magics; one instance per shell, created by ``%load_ext jupyter_tracker``."""

    def __init__(self, shell) -> None:
        super().__init__(shell)
        self.cell = _CellContext()
        self.open_cell: _OpenRun | None = None  # the run of the tracked cell running now
        self.code_cards: dict[str, RunCard] = {}  # runs started by code: `with jt.start_run()`
        self._magic_starting = False

    # -- events -----------------------------------------------------------------------

    def pre_run_cell(self, info) -> None:
        """Remember the raw cell and its id (IPython 8+ passes both)."""
        self.cell.depth += 1
        if self.cell.depth == 1:
            self.cell.raw_cell = info.raw_cell
            self.cell.cell_id = getattr(info, "cell_id", None)

    def post_run_cell(self, result) -> None:
        """The tracked cell's run ends with the cell, as its code ended; so does a run
        started implicitly by a log call in this cell."""
        self.cell.depth = max(0, self.cell.depth - 1)
        if self.cell.depth:
            return
        _observe_papermill(self.ip)
        execution().cell_ended(result.error_in_exec)
        if self.open_cell is not None:
            (run, card, git, capture), self.open_cell = self.open_cell, None
            self._finish(run, card, git, capture, result.error_in_exec)
        run = tracking.active_run()
        while run is not None and run._implicit:
            run.end(outcome(result.error_in_exec))
            run = tracking.active_run()

    # -- %%track_run --------------------------------------------------------------------

    @cell_magic
    def track_run(self, line: str, cell: str) -> Any:
        """Run the cell as a tracked run: ``%%track_run alpha=0.5 --name N --tag k=v``.

        ``k=v`` values are Python literals (else strings); they are logged as params and set
        as variables before the cell runs. Options: ``--name``, ``--experiment``,
        ``--tag k=v`` (repeatable), ``--nested``, ``--quiet``, ``--system`` (sample CPU,
        memory, disk, network and GPUs into the run as ``system/...`` metrics).
        """
        __tracebackhide__ = True
        params, tags, options = _parsed(parse_run_line, line)
        run, where = self._start(
            "track_run", line, cell, params, tags, options, options.get("nested", False)
        )
        return self._execute(run, where, cell, options.get("quiet", False))

    def begin_cell(self, line: str) -> None:
        """Start the run of a cell that begins with ``%%track_run``: the cell's own code then
        runs as any cell does (its errors and line numbers are the cell's), and
        ``post_run_cell`` ends the run with the cell's outcome."""
        __tracebackhide__ = True
        params, tags, options = _parsed(parse_run_line, line)
        run, where = self._start(
            "track_run", line, "", params, tags, options, options.get("nested", False)
        )
        capture, git = self._capture(run, where)
        run.set_capture(capture)
        card = RunCard(run, html=_has_frontend(self.ip), quiet=options.get("quiet", False))
        card.warnings = capture["warnings"]
        card.show()
        self.open_cell = (run, card, git, capture)

    def watch(self, run, event: str) -> None:
        """A run started by code in a cell (``with jt.start_run():``) records the notebook
        and cell it came from as it starts (the sidebar lists it under its notebook while it
        runs), and gets a card too."""
        if self._magic_starting:
            return
        if event == "started" and run.notebook is None:
            where = notebook_location(self.ip)
            if where["notebook"] is not None:
                run.set_origin(where["notebook"], self.cell.cell_id or where["cell_id"], None)
        if run._implicit:
            return
        if event == "started" and _has_frontend(self.ip):
            card = self.code_cards[run.id] = RunCard(run, html=True)
            card.show()
        elif event == "ended" and run.id in self.code_cards:
            card = self.code_cards.pop(run.id)
            card.finish({k: queries.sampled_points(run._store, run.id, k) for k in run.metrics})

    def _start(self, magic, line, cell, params, tags, options, nested):
        """Start the run of a tracked cell: params checked first, so a bad one starts none."""
        self._magic_starting = True
        try:
            run = session().start(
                options.get("name"),
                options.get("experiment"),
                params,
                tags,
                nested,
                source=self._source(magic, line, cell),
            )
        except TrackerError as exc:
            raise UsageError(str(exc)) from None
        finally:
            self._magic_starting = False
        if options.get("system"):
            system_metrics.watch(run)
        where = notebook_location(self.ip)
        cell_id = self.cell.cell_id or where.get("cell_id")
        top_level = cell_id and run.parent_id is None  # children of a sweep are not re-runs
        previous = queries.previous_cell_run(run._store, cell_id, run.id) if top_level else None
        run.set_origin(where.get("notebook"), cell_id, previous)
        self.ip.user_ns.update(params)
        return run, where

    def _source(self, magic: str, line: str, cell: str) -> str:
        raw = self.cell.raw_cell
        if raw is not None and raw.lstrip().startswith(f"%%{magic}"):
            return raw
        return f"%%{magic} {line}\n{cell}"

    @property
    def ip(self) -> InteractiveShell:
        """The shell these magics were loaded into."""
        assert self.shell is not None
        return self.shell

    def _capture(self, run, where: dict) -> tuple[dict, threading.Thread]:
        shell = self.ip
        count = _current_count(shell)
        raw = shell.history_manager.input_hist_raw if shell.history_manager else []
        history = list(raw)[:count]  # the cells as the user wrote them
        slice_ = dependency_slice(history, count, run.source)
        where = {"notebook": run.notebook, "cell_id": run.cell_id, "how": where.get("how")}
        capture: dict[str, Any] = {
            "magic_line": run.source.lstrip().split("\n", 1)[0],
            "execution_count": count,
            "kernel_id": _kernel_id(),
            "location": where,
            "environment": environment(),
            "git": {},
            "dependency_slice": slice_,
            "history": history[max(1, count - MAX_HISTORY_CELLS) : count],
        }
        sources, order, cell_ids = _saved_notebook(shell, run.notebook, run.cell_id, count, slice_)
        own = list(run.params)
        capture["inputs"] = read_inputs(slice_, shell.user_ns, own, cell_ids)
        for item in capture["inputs"]:  # plain values read from the namespace: inherited
            if item["param"]:
                run.log_param(item["name"], shell.user_ns[item["name"]])
        capture["warnings"] = hidden_state(risky_slice(slice_, history, own), sources, order)
        folder = os.path.dirname(run.notebook) if run.notebook else os.getcwd()
        thread = threading.Thread(
            target=lambda: capture.update(git=git_state(folder, GIT_TIMEOUT_S)),
            name="jupyter-tracker-git",
            daemon=True,
        )
        thread.start()
        return capture, thread

    def _execute(self, run, where: dict, cell: str, quiet: bool, warn: bool = True) -> Any:
        """Run the cell body for ``run``; its outcome becomes the run's status. ``warn``:
        show the hidden-state warnings (a sweep shows them once, not for every child)."""
        __tracebackhide__ = True
        capture, git = self._capture(run, where)
        run.set_capture(capture)
        card = RunCard(run, html=_has_frontend(self.ip), quiet=quiet)
        card.warnings = capture["warnings"] if warn else []
        card.show()
        try:
            value = self._run_body(cell)
        except BaseException as exc:
            self._finish(run, card, git, capture, exc)
            raise
        self._finish(run, card, git, capture, None)
        return value

    def _finish(self, run, card, git, capture, exc: BaseException | None) -> None:
        git.join(GIT_TIMEOUT_S + 1)
        if not capture["git"]:
            capture["git"] = {"error": "git did not answer in time"}
        run.set_capture(capture)
        status, error = outcome(exc), error_text(exc)
        while (inner := tracking.active_run()) is not None and inner is not run:
            inner.end(status)  # runs the cell left open end with it
        run.end(status, error=error)
        final = {key: queries.sampled_points(run._store, run.id, key) for key in run.metrics}
        card.finish(final)
        if card.quiet and run.parent_id is None:  # no card, but a trace of the run
            print(f"jupyter-tracker: run {run.name} ({run.id[:8]}) {run.status}")

    def _run_body(self, cell: str) -> Any:
        """Execute ``cell`` in the user namespace like a cell; the last expression's value."""
        __tracebackhide__ = True
        shell = self.ip
        code = shell.transform_cell(cell)
        filename = shell.compile.cache(code, _current_count(shell))
        tree = shell.transform_ast(shell.compile.ast_parse(code, filename=filename))
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr) and not code.rstrip().endswith(";"):
            last = ast.Expression(tree.body.pop().value)
        exec(compile(tree, filename, "exec"), shell.user_ns)
        if last is not None:
            return eval(compile(last, filename, "eval"), shell.user_ns)
        return None

    # -- %%track_sweep ------------------------------------------------------------------

    @cell_magic
    def track_sweep(self, line: str, cell: str) -> Any:
        """Run the cell once per combination: ``%%track_sweep alpha=0.1,0.5 lr=[1e-3,1e-2]``.

        Each combination is a child run of one parent run; a failing one is FAILED and the
        sweep goes on; Ctrl-C stops it. One table fills in as the children finish, best
        first by ``--metric`` (lowest first, or highest with ``--maximize``); the parent
        keeps the best child's final metrics and its id (tag ``jupyter_tracker.best_child``).
        """
        __tracebackhide__ = True
        grid, tags, options = _parsed(parse_sweep_line, line)
        combos = [
            dict(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())
        ]
        parent, where = self._start(
            "track_sweep", line, cell, {}, tags, options, options.get("nested", False)
        )
        parent.set_tag("jupyter_tracker.sweep_size", str(len(combos)))
        table = _SweepTable(self.ip, parent, combos, options)
        inherited = {"experiment": options.get("experiment")}
        status = "FINISHED"
        try:
            for i, combo in enumerate(combos, 1):
                name = f"{parent.name}-{i}"
                child, _ = self._start(
                    "track_sweep", line, cell, combo, tags, {**inherited, "name": name}, True
                )
                table.started(child)
                try:
                    self._execute(child, where, cell, quiet=True, warn=i == 1)
                except KeyboardInterrupt:
                    status = "KILLED"
                    raise
                except Exception:  # shown, and the sweep goes on
                    self.ip.showtraceback()
                finally:
                    table.update()
        finally:
            best = table.best()
            if best is not None:
                parent.set_tag("jupyter_tracker.best_child", best.id)
                for key, value in best.metrics.items():
                    parent.log_metric(key, value)
            parent.end(status)
            table.update(final=True)

    # -- line magics --------------------------------------------------------------------

    @line_magic
    def runs(self, line: str = "") -> None:
        """Show the run table: ``%runs`` or ``%runs metrics.loss < 0.5`` (a filter)."""
        from ..panels import runs

        try:
            table = runs(line.strip() or None)
        except TrackerError as exc:
            raise UsageError(str(exc)) from None
        from IPython.display import display

        display(table)

    @line_magic
    def compare(self, line: str) -> None:
        """Compare 2 to 20 runs side by side: ``%compare ID ID ...`` (ids or unique prefixes)."""
        ids = line.split()
        if len(ids) < 2:
            raise UsageError("Give at least two run ids, e.g. %compare 1a2b3c4d 5e6f7a8b.")
        from ..panels import compare

        try:
            comparison = compare(ids)
        except TrackerError as exc:
            raise UsageError(str(exc)) from None
        from IPython.display import display

        display(comparison)

    @line_magic
    def export_run(self, line: str) -> None:
        """Export a run to a project directory that re-runs outside Jupyter:
        ``%export_run ID DIR [--verify] [--force]``.

        ``DIR`` must be new, empty or an earlier export of the same run; quote it if it has
        spaces. Prints what was written and how to re-run it (``python train.py --alpha 0.7``,
        ``mlflow run DIR -P alpha=0.7 --env-manager local``). ``--verify`` then re-runs it in
        a fresh process and says whether it reproduced the run; ``--force`` re-exports over
        files changed since the last export, keeping each as ``<name>.orig``.
        """
        import shlex

        from ..export import export_run

        try:
            words = shlex.split(line)
        except ValueError as exc:
            raise UsageError(f"%export_run: {exc}; quote DIR like this: 'my dir'.") from None
        flags = {"--verify", "--force"}
        given = {w for w in words if w in flags}
        words = [w for w in words if w not in flags]
        unknown = [w for w in words if w.startswith("--")]
        if unknown:
            raise UsageError(f"%export_run: unknown option {unknown[0]}; use --verify, --force.")
        if len(words) != 2:
            raise UsageError(
                "Give a run id and a directory: %export_run 1a2b3c4d exports/best [--verify]."
            )
        try:
            done = export_run(
                tracking.current_store(),
                words[0],
                words[1],
                print,
                verify="--verify" in given,
                force="--force" in given,
            )
        except TrackerError as exc:
            raise UsageError(" ".join(str(exc).split())) from None
        print(done.summary())


_OpenRun = tuple  # (run, card, git thread, capture) of the tracked cell running now
_BEGIN = "__import__('jupyter_tracker.notebook.magics', fromlist=['_']).begin_tracked_cell"


def tracked_cell_transform(lines: list[str]) -> list[str]:
    """IPython input transform: in a cell that starts with ``%%track_run``, the magic line
    becomes a call that starts the run and the body stays the cell's own code, so that it
    runs, fails, shows its last value and numbers its lines exactly as any cell does. (A
    ``%%track_run`` reached another way still runs through the cell magic.)"""
    first = next((i for i, text in enumerate(lines) if text.strip()), None)
    if first is None:
        return lines
    head = lines[first].strip()
    name, _, line = head.partition(" ")
    if name != "%%track_run" or lines[first][: len(lines[first]) - len(lines[first].lstrip())]:
        return lines
    return [*lines[:first], f"{_BEGIN}({line.strip()!r})\n", *lines[first + 1 :]]


def begin_tracked_cell(line: str) -> None:
    """Start the run of the tracked cell running now (the transformed magic line)."""
    __tracebackhide__ = True
    from IPython import get_ipython

    magics = getattr(get_ipython(), "_jupyter_tracker_magics", None)
    if magics is None:
        raise UsageError("%%track_run needs the extension: run %load_ext jupyter_tracker.")
    _show_raw_lines(sys._getframe(1).f_code.co_filename, magics.cell.raw_cell)
    magics.begin_cell(line)


def _show_raw_lines(filename: str, raw_cell: str | None) -> None:
    """Tracebacks quote the cell as the user wrote it (``%%track_run ...``), not the call
    its first line became: the cached text of the cell is its raw text, line for line."""
    import linecache

    entry = linecache.cache.get(filename)
    if raw_cell is None or entry is None or len(entry) != 4:
        return
    lines = [line + "\n" for line in raw_cell.splitlines()]
    if len(lines) == len(entry[2]):
        linecache.cache[filename] = (len(raw_cell), None, lines, filename)


def load(shell) -> None:
    """Register the magics and the cell events (idempotent); note runs found crashed."""
    if getattr(shell, "_jupyter_tracker_magics", None) is not None:
        return
    magics = TrackerMagics(shell)
    shell.register_magics(magics)
    shell.events.register("pre_run_cell", magics.pre_run_cell)
    shell.events.register("post_run_cell", magics.post_run_cell)
    shell._jupyter_tracker_magics = magics
    shell.input_transformers_cleanup.append(tracked_cell_transform)
    session().watchers.append(magics.watch)
    session().implicit_end = "with this cell"
    _observe_papermill(shell)
    crashed = session().crashed_runs_on_open()
    if crashed:
        names = ", ".join(crashed[:5]) + (" ..." if len(crashed) > 5 else "")
        print(
            f"jupyter-tracker: {len(crashed)} run(s) left RUNNING by processes that died "
            f"are now CRASHED: {names}"
        )


def unload(shell) -> None:
    """Remove everything ``load`` added."""
    magics = getattr(shell, "_jupyter_tracker_magics", None)
    if magics is None:
        return
    shell.events.unregister("pre_run_cell", magics.pre_run_cell)
    shell.events.unregister("post_run_cell", magics.post_run_cell)
    if tracked_cell_transform in shell.input_transformers_cleanup:
        shell.input_transformers_cleanup.remove(tracked_cell_transform)
    if magics.watch in session().watchers:
        session().watchers.remove(magics.watch)
    for kind, names in magics.magics.items():
        for name in names:
            shell.magics_manager.magics[kind].pop(name, None)
    shell.magics_manager.registry.pop(type(magics).__name__, None)
    del shell._jupyter_tracker_magics
    session().implicit_end = "when the process exits"


class _SweepTable:
    """The one live table of a sweep: a row per combination, filled in as children run."""

    def __init__(self, shell, parent, combos: list[dict], options: dict) -> None:
        self.parent, self.combos = parent, combos
        self.children: list[Any] = []
        self.metric = options.get("metric")
        self.sign = -1 if options.get("maximize") else 1
        self.html = _has_frontend(shell)
        self.handle = None
        if self.html:
            from IPython.display import display

            self.handle = display(self._bundle(), raw=True, display_id=True)

    def started(self, child) -> None:
        self.children.append(child)
        self.update()

    def _rank(self, run) -> tuple:
        value = run.metrics.get(self.metric) if self.metric else None
        if value is None or value != value:
            return (True, 0.0)
        return (False, self.sign * value)

    def best(self):
        """The best finished child by ``--metric`` (or None)."""
        done = [c for c in self.children if c.status == "FINISHED"]
        if not self.metric or not done:
            return None
        best = min(done, key=self._rank)
        return best if self._rank(best)[0] is False else None

    def update(self, final: bool = False) -> None:
        if self.handle is not None:
            self.handle.update(self._bundle(), raw=True)
        elif final:
            print(self._text())

    def _rows(self) -> tuple[list[str], list[str], list]:
        children = sorted(self.children, key=self._rank) if self.metric else self.children
        keys = list(self.combos[0]) if self.combos else []
        metrics = sorted({k for c in self.children for k in c.metrics})
        return keys, metrics, children

    def _title(self) -> str:
        done = sum(c.status != "RUNNING" for c in self.children)
        title = f"sweep {self.parent.name} ({self.parent.id[:8]}): {done}/{len(self.combos)} runs"
        if self.metric:
            title += f", best {'highest' if self.sign < 0 else 'lowest'} {self.metric} first"
        return title

    def _text(self) -> str:
        from ..render.formats import fmt_number, text_table

        keys, metrics, children = self._rows()
        rows = [
            [
                c.name,
                c.status,
                *(fmt_number(c.params.get(k, "")) for k in keys),
                *(fmt_number(c.metrics.get(m, "")) for m in metrics),
            ]
            for c in children
        ]
        return f"{self._title()}\n" + text_table(["run", "status", *keys, *metrics], rows)

    def _bundle(self) -> dict[str, str]:
        from ..render.formats import fmt_number
        from ..render.html import esc, status_badge

        keys, metrics, children = self._rows()
        best = self.best()
        rows = "".join(
            "<tr>"
            + f"<td>{'★ ' if c is best else ''}{esc(c.name)}</td><td>{status_badge(c.status)}</td>"
            + "".join(f"<td>{esc(fmt_number(c.params.get(k, '')))}</td>" for k in keys)
            + "".join(f"<td>{esc(fmt_number(c.metrics.get(m, '')))}</td>" for m in metrics)
            + "</tr>"
            for c in children
        )
        head = "".join(f"<th>{esc(h)}</th>" for h in ["run", "status", *keys, *metrics])
        html = (
            f'<div class="jt-sweep"><b>{esc(self._title())}</b>'
            f"<table><tr>{head}</tr>{rows}</table></div>"
        )
        return {"text/html": html, "text/plain": self._text()}


def _saved_notebook(
    shell, path, cell_id, count, slice_
) -> tuple[dict | None, list | None, dict | None]:
    """What the notebook file on disk says about the cells the slice used: their sources,
    the order of the notebook's cells (by execution count) and their cell ids.

    The file is the last *saved* state, so it is used only when it is newer than this
    kernel and shows every cell of the slice with its execution count (otherwise it may be
    from another session): then a saved source that differs from what ran means the cell
    was edited after it ran, and the saved order tells which cells sit below this one.
    """
    if not path or not cell_id:
        return None, None, None
    try:
        if os.path.getmtime(path) < _kernel_started() or os.path.getsize(path) > MAX_NOTEBOOK_BYTES:
            return None, None, None
        with open(path, encoding="utf-8") as f:
            cells = [c for c in json.load(f).get("cells", []) if c.get("cell_type") == "code"]
    except (OSError, ValueError, AttributeError):
        return None, None, None
    order = [count if c.get("id") == cell_id else c.get("execution_count") for c in cells]
    needed = {c["execution_count"] for c in slice_.get("cells", [])}
    if not needed <= set(order):
        return None, None, None
    ids = {c["execution_count"]: c["id"] for c in cells if c.get("id") and c.get("execution_count")}
    sources = {}
    for c in cells:
        if c.get("execution_count") in needed:
            text = c.get("source", "")
            text = "".join(text) if isinstance(text, list) else text
            sources[c["execution_count"]] = shell.transform_cell(text)
    return sources, order, ids


def _observe_papermill(shell) -> None:
    """Let the papermill integration read the cells run so far (the injected parameters)."""
    raw = shell.history_manager.input_hist_raw if shell.history_manager else []
    execution().observe(raw, shell.user_ns)


def _kernel_started() -> float:
    """When this process started (seconds since the epoch), best effort."""
    try:
        return os.path.getmtime(f"/proc/{os.getpid()}")
    except OSError:
        return 0.0


def _current_count(shell) -> int:
    """The execution count of the cell running now (IPython has already moved on by one)."""
    return max(1, shell.execution_count - 1)


def _has_frontend(shell) -> bool:
    """Whether outputs reach a notebook frontend (a kernel), not a terminal."""
    return getattr(shell, "kernel", None) is not None


def _kernel_id() -> str | None:
    try:
        from ipykernel import get_connection_file

        name = os.path.basename(get_connection_file())
    except Exception:
        return None
    return name[len("kernel-") : -len(".json")] if name.startswith("kernel-") else name
