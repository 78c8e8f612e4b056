"""`runs list`, `runs show`, `runs delete`, `runs restore`: read runs and hide them again.

Stored strings reach the terminal through ``render.formats.terminal_text`` only.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from typing import Any, Literal

from ..errors import TrackerError
from ..model import ParamChange, RunDetail, RunRecord, RunState, json_ready
from ..render.formats import (
    fmt_number,
    fmt_size,
    fmt_time,
    json_text,
    run_duration,
    terminal_cell,
    terminal_text,
    text_table,
)
from ..store import queries
from ..store._maintenance import delete_runs, restore_runs
from ._store import PROG, existing_store, locate_store, open_store

DEFAULT_LIMIT = 50
TABLE_KEYS = 3  # params and metrics columns shown by `runs list`
SOURCE_LINES = 20
ERROR_LINES = 40
CAPTURE_WIDTH = 100

_MENTIONED_KEY = re.compile(r"\b(params?|metrics?)\.([A-Za-z0-9_\-./]+|`[^`]*`|\"[^\"]*\")")


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add `runs` and its actions to the command line."""
    runs = commands.add_parser("runs", parents=[common], help="list, show, delete and restore runs")
    actions = runs.add_subparsers(dest="runs_command", metavar="ACTION", required=True)

    p = actions.add_parser("list", parents=[common], help="a table of runs")
    p.add_argument(
        "--filter", "-f", metavar="F", help="e.g. \"metrics.rmse < 0.8 and params.alpha = '0.5'\""
    )
    p.add_argument("--experiment", "-e", metavar="E", help="only runs of this experiment")
    p.add_argument(
        "--order-by",
        metavar="F",
        nargs="+",
        action="extend",
        help="fields, each optionally followed by ASC or DESC (default: newest first)",
    )
    p.add_argument(
        "--limit",
        "-n",
        type=_count,
        default=DEFAULT_LIMIT,
        metavar="N",
        help=f"at most N runs (default {DEFAULT_LIMIT}; 0: all)",
    )
    p.add_argument("--json", action="store_true", help="a JSON array instead of a table")
    p.set_defaults(func=cmd_list)

    p = actions.add_parser("show", parents=[common], help="everything about one run")
    p.add_argument("run_id", metavar="ID", help="a run id or a unique prefix of one")
    p.add_argument("--full", action="store_true", help="the whole source and traceback")
    p.add_argument("--json", action="store_true", help="JSON instead of text")
    p.set_defaults(func=cmd_show)

    p = actions.add_parser(
        "delete", parents=[common], help="delete runs (undo: restore; purge: gc)"
    )
    p.add_argument("run_ids", metavar="ID", nargs="+", help="run ids or unique prefixes")
    p.set_defaults(func=cmd_delete)

    p = actions.add_parser("restore", parents=[common], help="bring deleted runs back")
    p.add_argument("run_ids", metavar="ID", nargs="+", help="run ids or unique prefixes")
    p.set_defaults(func=cmd_restore)


# -- runs list ------------------------------------------------------------------------


def cmd_list(args: argparse.Namespace) -> int:
    """`runs list`: a table (or JSON) of runs matching the filter, newest first."""
    store = existing_store(args.store)
    limit = args.limit or None
    if store is None:
        rows = []
    else:
        if args.experiment is not None and store.experiment_id(args.experiment, False) is None:
            raise TrackerError(f"No experiment named {args.experiment!r} in this store.")
        rows = queries.records(
            store, args.filter, args.order_by, args.experiment, 0, limit and limit + 1
        )
    more = limit is not None and len(rows) > limit
    rows = rows[:limit]
    if args.json:
        print(json_text(rows))
    elif not rows:
        where = "" if store is not None else f" (no store at {locate_store(args.store)[0]})"
        print(f"No runs{' match' if args.filter else ''}{where}.")
    else:
        print(_runs_table(rows, args))
    if more:
        print(
            f"Showing the first {limit} runs; --limit N shows more, --limit 0 all.",
            file=sys.stderr,
        )
    return 0


def _mentioned(texts: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {"params": [], "metrics": []}
    for text in texts:
        for prefix, key in _MENTIONED_KEY.findall(text):
            kind = "params" if prefix.startswith("param") else "metrics"
            key = key.strip('`"')
            if key not in found[kind]:
                found[kind].append(key)
    return found


def _shown_keys(
    rows: list[RunRecord], kind: Literal["params", "metrics"], mentioned: list[str]
) -> list[str]:
    """Keys of ``kind`` worth a column: those the filter/order mention, then the commonest."""
    counts = Counter(k for r in rows for k in r[kind])
    keys = [k for k in mentioned if k in counts]
    for key, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        if len(keys) >= TABLE_KEYS:
            break
        if key not in keys:
            keys.append(key)
    return keys


def _runs_table(rows: list[RunRecord], args: argparse.Namespace) -> str:
    mentioned = _mentioned([args.filter or "", *(args.order_by or [])])
    params = _shown_keys(rows, "params", mentioned["params"])
    metrics = _shown_keys(rows, "metrics", mentioned["metrics"])
    several = args.experiment is None and len({r["experiment"] for r in rows}) > 1
    header = ["ID", "NAME", "STATUS", "START", "DURATION"]
    header += ["EXPERIMENT"] * several
    header += [terminal_cell(f"params.{k}") for k in params]
    header += [terminal_cell(f"metrics.{k}") for k in metrics]
    table = []
    for r in rows:
        line = [
            terminal_cell(r["run_id"][:8]),
            terminal_cell(r["name"]),
            terminal_cell(r["status"]),
            fmt_time(r["start_time"]),
            run_duration(r["start_time"], r["end_time"], r["status"]),
        ]
        line += [terminal_cell(r["experiment"])] * several
        line += [terminal_cell(r["params"].get(k, "")) for k in params]
        line += [terminal_cell(r["metrics"].get(k, "")) for k in metrics]
        table.append(line)
    first_metric = len(header) - len(metrics)
    return text_table(header, table, right={4, *range(first_metric, len(header))})


# -- runs show ------------------------------------------------------------------------


def cmd_show(args: argparse.Namespace) -> int:
    """`runs show ID`: everything stored about one run."""
    store = open_store(args.store)
    run_id = store.resolve_run_id(args.run_id)
    detail = queries.run_detail(store, run_id)
    if args.json:
        typed = {k: {"value": v, "type": t} for k, (v, t) in detail["typed_params"].items()}
        print(json_text({**detail, "typed_params": typed}))
        return 0
    print("\n".join(_show_lines(detail, args.full)))
    return 0


def _section(title: str, lines: list[str]) -> list[str]:
    return ["", title, *(f"  {line}" for line in lines)] if lines else []


def _show_lines(d: RunDetail, full: bool) -> list[str]:
    note = "  (deleted: `runs restore` undoes it, `gc` purges it)" if d["deleted"] else ""
    fields: list[tuple[str, Any]] = [
        ("name", d["name"]),
        ("status", d["status"]),
        ("experiment", d["experiment"]),
        ("start", fmt_time(d["start_time"])),
        ("end", fmt_time(d["end_time"])),
        ("duration", run_duration(d["start_time"], d["end_time"], d["status"])),
        ("parent", d["parent_id"]),
        ("rerun of", d["rerun_of"]),
        ("notebook", d["notebook"]),
        ("cell id", d["cell_id"]),
        ("host / pid", f"{d['host']} / {d['pid']}" if d["host"] else None),
    ]
    out = [f"Run {terminal_text(d['run_id'])}"]
    out += [
        f"  {k:<11} {terminal_text(v)}{note if k == 'status' else ''}"
        for k, v in fields
        if v not in (None, "")
    ]

    history: dict[str, list[ParamChange]] = {}
    for h in d["param_history"]:
        history.setdefault(h["key"], []).append(h)
    params = []
    width = max((len(terminal_text(k)) for k in d["params"]), default=0)
    for key in sorted(d["params"]):
        line = f"{terminal_text(key):<{width}}  {terminal_text(d['params'][key])}"
        if key in history:
            earlier = ", ".join(
                f"{terminal_text(h['value'])} (until {fmt_time(h['replaced_at'])})"
                for h in history[key]
            )
            line += f"   earlier: {earlier}"
        params.append(line)
    out += _section("Params", params)

    summary = d["metric_summary"]
    if summary:
        rows = [
            [
                terminal_text(k),
                fmt_number(s["last"]),
                str(s["step"]),
                fmt_number(s["min"]),
                fmt_number(s["max"]),
                f"{s['count']:,}",
            ]
            for k, s in sorted(summary.items())
        ]
        table = text_table(
            ["KEY", "LAST", "STEP", "MIN", "MAX", "COUNT"], rows, right={1, 2, 3, 4, 5}
        )
        out += _section("Metrics", table.splitlines())

    width = max((len(terminal_text(k)) for k in d["tags"]), default=0)
    out += _section(
        "Tags",
        [f"{terminal_text(k):<{width}}  {terminal_text(v)}" for k, v in sorted(d["tags"].items())],
    )

    if d["artifacts"]:
        rows = [
            [
                terminal_text(a["path"]),
                f"v{a['version']}",
                fmt_size(a["size"]),
                terminal_text(a["media_type"]),
            ]
            for a in d["artifacts"]
        ]
        table = text_table(["PATH", "VERSION", "SIZE", "TYPE"], rows, right={2})
        out += _section("Artifacts", table.splitlines())

    if d["source"]:
        lines = terminal_text(d["source"], multiline=True).splitlines()
        shown = lines if full else lines[:SOURCE_LINES]
        if len(shown) < len(lines):
            shown.append(f"… ({len(lines) - len(shown)} more lines; --full shows all)")
        out += _section("Source", shown)

    if d["error"]:
        lines = terminal_text(d["error"], multiline=True).splitlines()
        shown = lines if full else lines[-ERROR_LINES:]
        if len(shown) < len(lines):
            shown.insert(0, f"… ({len(lines) - len(shown)} earlier lines; --full shows all)")
        out += _section("Error", shown)

    if d["capture"]:
        capture: dict[str, Any] = (
            dict(d["capture"]) if isinstance(d["capture"], dict) else {"capture": d["capture"]}
        )
        lines = []
        for key, value in capture.items():
            text = value if isinstance(value, str) else json.dumps(json_ready(value), default=str)
            text = terminal_text(text) if full else terminal_cell(text, CAPTURE_WIDTH)
            lines.append(f"{terminal_text(key)}: {text}")
        out += _section("Capture", lines)
    return out


# -- runs delete / restore ------------------------------------------------------------


def cmd_delete(args: argparse.Namespace) -> int:
    """`runs delete ID...`: soft delete (hidden everywhere; `gc` purges, `restore` undoes)."""
    for run in delete_runs(open_store(args.store), args.run_ids):
        what = "was already deleted" if run["deleted"] else "deleted"
        print(f"Run {_described(run)} {what}.")
    print(f"`{PROG} runs restore ID` undoes it; `{PROG} gc` purges deleted runs for good.")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    """`runs restore ID...`: undo `runs delete` (until `gc` has purged the run)."""
    for run in restore_runs(open_store(args.store), args.run_ids):
        what = "restored" if run["deleted"] else "was not deleted"
        print(f"Run {_described(run)} {what}.")
    return 0


def _described(run: RunState) -> str:
    return (
        f"{terminal_text(run['run_id'][:8])} "
        f"({terminal_text(run['name'])}, {terminal_text(run['status'])})"
    )
