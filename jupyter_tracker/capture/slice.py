"""The dependency slice of a tracked cell and hidden-state warnings, from the input history.

Pure functions over source text (IPython syntax allowed): which earlier statements (and so
cells, by execution count) a cell's inputs came from, and sentences warning that those inputs
may not be what the notebook shows.

What is approximate
-------------------
The slice is a static analysis of the kernel's input history, statement by statement as
:mod:`.scope` reads them: names set by ``exec``/``eval``, ``globals()``, ``%run``, star imports
or other magics are not seen (a cell holding one is kept whole when it is in the slice). A
method called as a statement of its own (``lst.append(1)``, ``model.fit(X)``) counts as
changing its owner unless the owner is a module or the method only looks (``df.head()``); one
whose result is used (``Xs = scaler.fit_transform(X)``) only when it fits or has
``inplace=True``. A function defined in the session counts as changing what it is given and
what its body changes; other functions (``random.shuffle(x)``) and changes through aliases are
not seen. Seeding a random generator (``np.random.seed(0)``) is always kept; other effects on
outside state (``os.chdir``, files written) are not. A cell that raised counts as having run to
the end.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Iterable, Mapping, Sequence

from .ipython import to_python
from .scope import CellNames, Statement, analyse, predefined, statements

APPROXIMATE = (
    "Static analysis of the kernel's input history, statement by statement: names set by "
    "exec/eval, globals(), %run, star imports or other magics are not seen (a cell holding one "
    "is kept whole); a method called for its effect (lst.append, model.fit) counts as changing "
    "its owner unless that is a module or the method only looks (df.head()), and a function "
    "defined in the session as changing what it is given; other functions (random.shuffle), "
    "aliases and effects on outside state other than seeding (os.chdir, files) are not seen; a "
    "cell that raised counts as run to the end."
)


@functools.lru_cache(maxsize=1024)
def _normalised(source: str) -> str:
    return "\n".join(line.rstrip() for line in to_python(source).strip().splitlines())


class _History:
    """The earlier cells' statements in execution order, and which names each one sets.

    ``sets[i]`` maps a name to how statement ``i`` sets it: ``"def"`` (bound on every path,
    so no earlier statement is needed for it), ``"maybe"`` (bound on some path), ``"change"``
    (changed in place) or ``"del"``. Calls are resolved in order: a method call changes its
    owner, and a call of a function or class defined in the session what it gives to the
    parameters the function changes and what the function changes outside itself, unless the
    name is a module or a constant there (``epochs = 20`` given to ``train(epochs)`` stays 20).
    """

    def __init__(self, cells: tuple[tuple[int, str], ...]) -> None:
        self.flat: list[tuple[int, Statement]] = []
        self.span: dict[int, range] = {}
        for count, text in cells:
            found = statements(text)
            self.span[count] = range(len(self.flat), len(self.flat) + len(found))
            self.flat += [(count, statement) for statement in found]
        self.sets: list[dict[str, str]] = []
        binder: dict[str, int] = {}  # name -> the statement that last bound it

        def fixed(name: str) -> bool:
            """Whether the name is a module or a constant: no call can change it."""
            i = binder.get(name)
            return i is not None and (
                name in self.flat[i][1].imported or name in self.flat[i][1].constants
            )

        for statement in (s for _, s in self.flat):
            sets = {n: "def" if n in statement.definite else "maybe" for n in statement.defines}
            changed = {n for n in statement.methods if not fixed(n)} | statement.modifies
            for call in statement.calls:
                i = binder.get(call.function)
                effects = self.flat[i][1].callables.get(call.function) if i is not None else None
                if effects is not None:
                    changed |= {n for n in effects.of(call) if not fixed(n)}
            for name in changed:
                sets.setdefault(name, "change")
            for name in statement.deletes:
                sets[name] = "del"
            for name, how in sets.items():
                if how == "del":
                    binder.pop(name, None)
                elif how != "change":
                    binder[name] = len(self.sets)
            self.sets.append(sets)
        self.events: dict[str, tuple[list[int], list[str]]] = {}
        self.deferred: set[str] = set()  # names set by a def, class or lambda (free names)
        for i, sets in enumerate(self.sets):
            for name, how in sets.items():
                where, kinds = self.events.setdefault(name, ([], []))
                where.append(i)
                kinds.append(how)
            if self.flat[i][1].later:
                self.deferred.update(sets)

    def origin(self, name: str, before: int) -> tuple[int, str] | None:
        """The last statement before ``before`` that set ``name``, and how."""
        where, kinds = self.events.get(name, ([], []))
        j = bisect.bisect_left(where, before) - 1
        return (where[j], kinds[j]) if j >= 0 else None


@functools.lru_cache(maxsize=2)  # the children of a sweep share their history
def _history(cells: tuple[tuple[int, str], ...]) -> _History:
    return _History(cells)


def dependency_slice(history: Sequence[str], current_count: int, source: str) -> dict:
    """Which earlier statements (and cells, by execution count) the current cell's values
    came from.

    ``history`` is the kernel's input history, as typed or as IPython's ``In`` keeps it
    (index = execution count); only counts below ``current_count`` are used. Each name the
    cell reads is traced to the earlier statements that set it (back to one that surely
    bound it: ``x = 1``, not one in a branch or loop) or changed it (``df["a"] = 1``,
    ``x.append(1)``, ``x += 1``), then the names those statements read, transitively; the
    free names of a function are traced from where it is called. A ``%%track_run`` param is
    the statement ``name = value``.
    Returns::

        {"execution_count": current_count,
         "cells": [{"execution_count", "source" (the whole cell, as it ran),
                    "defines": [...], "provides": [names this slice takes from the cell],
                    "statements": [source text of each statement of the cell the slice
                                   needs, in order (the kernel's text: IPython syntax as
                                   get_ipython() calls; a param as "name = value")],
                    "total": how many statements the cell has}, ...] sorted by count,
         "names": {name the cell reads: count of the cell it comes from},
         "unresolved": [names read (directly or by a statement in the slice) that no earlier
                        cell defines and that are not builtins],
         "deleted": {unresolved name: count of the cell that deleted it},
         "reassigned": [{"name", "counts": [cells that set it, in order], "used": count,
                         "rerun_of": count or None}],
         "mixed": [{"name", "versions": [{"from": count, "readers": [counts]}, ...]}],
         "opaque": [{"execution_count", "what": ["%run", "from m import *", "exec()", ...],
                     "whole": the cell is in the slice, so it is kept whole}],
         "approximate": APPROXIMATE}

    A statement that seeds a random generator (``np.random.seed(0)``) is always in the
    slice. A cell with an opaque statement (``opaque``) follows the cell-level rule: when
    any of its statements is in the slice, all of them are, as what they define is unseen.
    ``reassigned`` lists names the cell reads directly that several earlier cells set, unless
    every later one read the old value and ran different code (a plain chain of steps such as
    load -> clean -> merge). ``mixed`` lists names the slice uses in two versions: a cell in
    the slice computed something from an older value than another one uses.
    """
    cells: dict[int, CellNames] = {}
    sources: dict[int, str] = {}
    for count in range(1, min(current_count, len(history))):
        text = history[count]
        if isinstance(text, str) and text.strip():
            cells[count], sources[count] = analyse(text), text
    past = _history(tuple(sources.items()))
    current = analyse(source)
    end = len(past.flat)

    names: dict[str, int] = {}
    unresolved: set[str] = set()
    deleted: dict[str, int] = {}
    provides: dict[int, set[str]] = {}
    versions: dict[str, dict[int, set[int]]] = {}
    kept: set[int] = set()
    called: set[tuple[int, int]] = set()  # (statement, where its functions are called)
    # (name, traced from before this statement, functions called there, reader count and
    # the names it sets, or None when following a name back past a statement that did not
    # surely bind it)
    pending: list[tuple[str, int, int, int | None, Iterable[str]]] = []

    def keep(i: int, use: int) -> None:
        count, statement = past.flat[i]
        if i not in kept:
            kept.add(i)
            pending.extend((n, i, i, count, past.sets[i]) for n in statement.reads)
            if cells[count].opaque:
                for j in past.span[count]:
                    keep(j, j)
        if statement.later and (i, use) not in called:
            called.add((i, use))
            pending.extend((n, use, use, count, past.sets[i]) for n in statement.later)

    for name in current.reads:
        pending.append((name, end, end, current_count, current.defines | current.modifies))
    for i, (_, statement) in enumerate(past.flat):
        if statement.seeds:
            keep(i, i)
    traced: set[tuple[str, int, int, int | None]] = set()
    while pending:
        name, before, use, reader, reader_sets = pending.pop()
        if name not in past.deferred:
            use = -1  # where it is used matters only for the free names of a function
        if (name, before, use, reader) in traced:
            continue
        traced.add((name, before, use, reader))
        found = past.origin(name, before)
        if reader is not None and (found is None or found[1] == "del"):
            if found is not None:
                unresolved.add(name)
                deleted[name] = past.flat[found[0]][0]
            elif not predefined(name):
                unresolved.add(name)
            continue
        if found is None or found[1] == "del":  # the end of a name followed back
            continue
        i, how = found
        count = past.flat[i][0]
        if reader == current_count:
            names[name] = count
        if reader is not None and name not in reader_sets and count != reader:
            versions.setdefault(name, {}).setdefault(count, set()).add(reader)  # a use
        provides.setdefault(count, set()).add(name)
        keep(i, use)
        if how != "def":  # set on some path or changed in place: what came before counts
            pending.append((name, i, use, None, ()))

    changes: dict[str, list[tuple[int, str]]] = {}  # name -> [(count, "set" or "del")]
    for count, cell in cells.items():
        for name in cell.defines | cell.modifies:
            changes.setdefault(name, []).append((count, "set"))
        for name in cell.deletes:
            changes.setdefault(name, []).append((count, "del"))
    reassigned = []
    for name, used in sorted(names.items()):
        sets: list[int] = []
        for count, kind in changes.get(name, ()):
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
    in_slice = sorted({past.flat[i][0] for i in kept})
    return {
        "execution_count": current_count,
        "cells": [
            {
                "execution_count": count,
                "source": sources[count],
                "defines": sorted(cells[count].defines),
                "provides": sorted(provides.get(count, ())),
                "statements": [past.flat[i][1].text for i in past.span[count] if i in kept],
                "total": len(past.span[count]),
            }
            for count in in_slice
        ],
        "names": dict(sorted(names.items())),
        "unresolved": sorted(unresolved),
        "deleted": dict(sorted(deleted.items())),
        "reassigned": reassigned,
        "mixed": mixed,
        "opaque": [
            {"execution_count": count, "what": list(cell.opaque), "whole": count in in_slice}
            for count, cell in cells.items()
            if cell.opaque
        ],
        "approximate": APPROXIMATE,
    }


def _names_text(names: Iterable[str]) -> str:
    return ", ".join(f"`{name}`" for name in sorted(names))


def _provided(cell: Mapping) -> str:
    """What a slice cell set for the tracked cell (a cell kept for a seed provides no name)."""
    return _names_text(cell["provides"]) or "the random seed"


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
                    f"Cell [{cell['execution_count']}], which set {_provided(cell)}"
                    " for this cell, was edited after it ran; the values come from the old code."
                )
    if notebook_order is not None and this is not None and this in notebook_order:
        position = {count: i for i, count in enumerate(notebook_order) if count is not None}
        for cell in cells:
            count, what = cell["execution_count"], _provided(cell)
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
