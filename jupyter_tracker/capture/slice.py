"""The dependency slice of a tracked cell and hidden-state warnings, from the input history.

Pure functions over source text (IPython syntax allowed): which earlier cells (by execution
count) a cell's inputs came from, and sentences warning that those inputs may not be what the
notebook shows.

What is approximate
-------------------
The slice is a static analysis of the kernel's input history (``In``), as precise as
:mod:`.scope`: names set by ``exec``/``eval``, ``globals()``, ``%run``, star imports or other
magics are not seen, nor in-place changes made by method calls (``lst.append(1)``,
``df.drop(..., inplace=True)``). A cell that raised counts as having run to the end.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence

from .ipython import to_python
from .scope import CellNames, analyse, predefined

APPROXIMATE = (
    "Static analysis of the kernel's input history: names set by exec/eval, globals(), %run, "
    "star imports or other magics and in-place changes made by method calls (lst.append, "
    "inplace=True) are not seen; a cell that raised counts as run to the end, and a name bound "
    "in any branch of an if/try/loop counts as bound."
)


@functools.lru_cache(maxsize=1024)
def _normalised(source: str) -> str:
    return "\n".join(line.rstrip() for line in to_python(source).strip().splitlines())


def dependency_slice(history: Sequence[str], current_count: int, source: str) -> dict:
    """Which earlier cells (by execution count) the current cell's values came from.

    ``history`` is the kernel's input history (IPython's ``In``/``_ih``: index = execution
    count); only counts below ``current_count`` are used. Each name the cell reads is traced
    to the last earlier cell that defined it or changed it (``df["a"] = 1``), then the names
    those cells read, transitively. Returns::

        {"execution_count": current_count,
         "cells": [{"execution_count", "source", "defines": [...], "provides": [names this
                    slice takes from the cell]}, ...] sorted by count,
         "names": {name the cell reads: count of the cell it comes from},
         "unresolved": [names read (directly or by a cell in the slice) that no earlier cell
                        defines and that are not builtins],
         "deleted": {unresolved name: count of the cell that deleted it},
         "reassigned": [{"name", "counts": [cells that set it, in order], "used": count,
                         "rerun_of": count or None}],
         "mixed": [{"name", "versions": [{"from": count, "readers": [counts]}, ...]}],
         "opaque": [{"execution_count", "what": ["%run", "from m import *", "exec()", ...]}],
         "approximate": APPROXIMATE}

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
    # name -> [(count, kind)] in execution order; kind: "set" (define or change) or "del"
    events: dict[str, list[tuple[int, str]]] = {}
    for count, cell in cells.items():
        for name in cell.defines | cell.modifies:
            events.setdefault(name, []).append((count, "set"))
        for name in cell.deletes:
            events.setdefault(name, []).append((count, "del"))

    def origin(name: str, before: int) -> tuple[int, str] | None:
        for count, kind in reversed(events.get(name, ())):
            if count < before:
                return count, kind
        return None

    current = analyse(source)
    names: dict[str, int] = {}
    unresolved: set[str] = set()
    deleted: dict[str, int] = {}
    provides: dict[int, set[str]] = {}
    versions: dict[str, dict[int, set[int]]] = {}
    pending = [(current_count, current.reads)]
    while pending:
        reader, reads = pending.pop()
        reader_sets = cells[reader].defines | cells[reader].modifies if reader in cells else ()
        for name in reads:
            found = origin(name, reader)
            if found is None or found[1] == "del":
                if found is None and predefined(name):
                    continue
                unresolved.add(name)
                if found is not None:
                    deleted[name] = found[0]
                continue
            count = found[0]
            if reader == current_count:
                names[name] = count
            if name not in reader_sets:  # an update step (df = df.dropna()) is not a use
                versions.setdefault(name, {}).setdefault(count, set()).add(reader)
            if count not in provides:
                provides[count] = set()
                pending.append((count, cells[count].reads))
            provides[count].add(name)

    reassigned = []
    for name, used in sorted(names.items()):
        sets: list[int] = []
        for count, kind in events[name]:
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
    return {
        "execution_count": current_count,
        "cells": [
            {
                "execution_count": count,
                "source": sources[count],
                "defines": sorted(cells[count].defines),
                "provides": sorted(provides[count]),
            }
            for count in sorted(provides)
        ],
        "names": dict(sorted(names.items())),
        "unresolved": sorted(unresolved),
        "deleted": dict(sorted(deleted.items())),
        "reassigned": reassigned,
        "mixed": mixed,
        "opaque": [
            {"execution_count": count, "what": list(cell.opaque)}
            for count, cell in cells.items()
            if cell.opaque
        ],
        "approximate": APPROXIMATE,
    }


def _names_text(names: Iterable[str]) -> str:
    return ", ".join(f"`{name}`" for name in sorted(names))


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
                    f"Cell [{cell['execution_count']}], which set {_names_text(cell['provides'])}"
                    " for this cell, was edited after it ran; the values come from the old code."
                )
    if notebook_order is not None and this is not None and this in notebook_order:
        position = {count: i for i, count in enumerate(notebook_order) if count is not None}
        for cell in cells:
            count, what = cell["execution_count"], _names_text(cell["provides"])
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
