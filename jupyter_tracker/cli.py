"""The ``jupyter-tracker`` command (also ``jupyter tracker``): list, show, delete, export, gc,
doctor.

Each command opens the store, calls the read layer (``_records``) or one SQL transaction,
and prints. User errors (unknown run, bad filter, a store from a newer version) end with
one line on stderr and exit code 1; argparse's usage errors exit 2. Nothing here imports
pandas, so the command starts fast.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import sys
import time
from collections import Counter
from pathlib import Path

from . import __version__, _records
from ._html import fmt_duration, fmt_number, fmt_time
from .errors import FilterError, RunStillRunningError, StoreVersionError, TrackerError
from .store import DB_NAME, Store, _schema, find_store_dir
from .store._location import ENV_VAR, STORE_DIRNAME
from .store._maintenance import (
    GC_ROWS,
    collect_garbage,
    counts,
    describe_runs,
    set_deleted,
)

PROG = "jupyter-tracker"
DEFAULT_LIMIT = 50
TABLE_KEYS = 3  # params and metrics columns shown by `runs list`
CELL_WIDTH = 24
SOURCE_LINES = 20
ERROR_LINES = 40

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROL_OR_NEWLINE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_MENTIONED_KEY = re.compile(r"\b(params?|metrics?)\.([A-Za-z0-9_\-./]+|`[^`]*`|\"[^\"]*\")")


# -- output helpers -------------------------------------------------------------------


def _text(value: object, multiline: bool = False) -> str:
    """User text made safe for a terminal: no escape sequences, controls shown escaped."""
    text = _ANSI.sub("", fmt_number(value) if value is not None else "")
    pattern = _CONTROL if multiline else _CONTROL_OR_NEWLINE
    return pattern.sub(lambda m: repr(m.group())[1:-1], text)


def _cell(value: object, width: int = CELL_WIDTH) -> str:
    text = _text(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _duration(start_ms: int | None, end_ms: int | None, status: str) -> str:
    if start_ms is None:
        return ""
    if end_ms is None:
        if status != "RUNNING":
            return ""
        end_ms = int(time.time() * 1000)
    return fmt_duration(max(0.0, (end_ms - start_ms) / 1000))


def _size(n: int) -> str:
    amount = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if amount < 1000 or unit == "GB":
            return f"{int(amount)} B" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1000
    return f"{n} B"  # pragma: no cover


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 or word.endswith('s') else 's'}"


def _table(header: list[str], rows: list[list[str]], right: set[int] = frozenset()) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        out = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(out).rstrip()

    return "\n".join([line(header), *(line(r) for r in rows)])


def _print_json(data) -> None:
    print(json.dumps(_records.json_ready(data), indent=2, allow_nan=False, ensure_ascii=False))


# -- the store ------------------------------------------------------------------------


def locate_store(store_arg: str | None) -> tuple[Path, str]:
    """The store directory the command uses and how it was found."""
    if store_arg:
        return Path(store_arg).expanduser().resolve(), "--store"
    if os.environ.get(ENV_VAR):
        return find_store_dir(), f"${ENV_VAR}"
    path = find_store_dir()
    if path.is_dir():
        return path, f"nearest {STORE_DIRNAME}/ at or above the working directory"
    if (path.parent / ".git").exists():
        return path, "root of the enclosing git repository"
    return path, "the working directory: no store above it, not in a git repository"


def _no_store(path: Path) -> TrackerError:
    return TrackerError(
        f"No store at {path}: nothing has been tracked there yet. "
        f"Pass --store DIR or set {ENV_VAR}."
    )


def _open(args, required: bool = True) -> Store | None:
    """The store (crashed runs marked on open); None, or an error, if there is none yet."""
    path, _ = locate_store(args.store)
    if not (path / DB_NAME).exists():
        if required:
            raise _no_store(path)
        return None
    return Store.open(path)


def _deleted(store: Store, run_id: str) -> bool:
    rows = store.read("SELECT deleted FROM runs WHERE id = ?", (run_id,))
    return bool(rows and rows[0][0])


# -- runs list ------------------------------------------------------------------------


def _shown_keys(rows: list[dict], kind: str, mentioned: list[str]) -> list[str]:
    """Keys of ``kind`` worth a column: those the filter/order mention, then the commonest."""
    counts = Counter(k for r in rows for k in r[kind])
    keys = [k for k in mentioned if k in counts]
    for key, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        if len(keys) >= TABLE_KEYS:
            break
        if key not in keys:
            keys.append(key)
    return keys


def _mentioned(texts: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {"params": [], "metrics": []}
    for text in texts:
        for prefix, key in _MENTIONED_KEY.findall(text):
            kind = "params" if prefix.startswith("param") else "metrics"
            key = key.strip('`"')
            if key not in found[kind]:
                found[kind].append(key)
    return found


def cmd_runs_list(args) -> int:
    """`runs list`: a table (or JSON) of runs matching the filter, newest first."""
    store = _open(args, required=False)
    limit = args.limit or None
    if store is None:
        rows = []
    else:
        if args.experiment is not None and store.experiment_id(args.experiment, False) is None:
            raise TrackerError(f"No experiment named {args.experiment!r} in this store.")
        rows = _records.records(
            store, args.filter, args.order_by, args.experiment, 0, limit and limit + 1
        )
    more = limit is not None and len(rows) > limit
    rows = rows[:limit]
    if args.json:
        _print_json(rows)
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


def _runs_table(rows: list[dict], args) -> str:
    mentioned = _mentioned([args.filter or "", *(args.order_by or [])])
    params = _shown_keys(rows, "params", mentioned["params"])
    metrics = _shown_keys(rows, "metrics", mentioned["metrics"])
    several = args.experiment is None and len({r["experiment"] for r in rows}) > 1
    header = ["ID", "NAME", "STATUS", "START", "DURATION"]
    header += ["EXPERIMENT"] * several
    header += [_cell(f"params.{k}") for k in params] + [_cell(f"metrics.{k}") for k in metrics]
    table = []
    for r in rows:
        line = [
            r["run_id"][:8],
            _cell(r["name"]),
            r["status"],
            fmt_time(r["start_time"]),
            _duration(r["start_time"], r["end_time"], r["status"]),
        ]
        line += [_cell(r["experiment"])] * several
        line += [_cell(r["params"].get(k, "")) for k in params]
        line += [_cell(r["metrics"].get(k, "")) for k in metrics]
        table.append(line)
    first_metric = len(header) - len(metrics)
    return _table(header, table, right={4, *range(first_metric, len(header))})


# -- runs show ------------------------------------------------------------------------


def cmd_runs_show(args) -> int:
    """`runs show ID`: everything stored about one run."""
    store = _open(args)
    run_id = store.resolve_run_id(args.run_id)
    detail = _records.run_detail(store, run_id)
    detail["deleted"] = _deleted(store, run_id)
    if args.json:
        detail["typed_params"] = {
            k: {"value": v, "type": t} for k, (v, t) in detail["typed_params"].items()
        }
        _print_json(detail)
        return 0
    print("\n".join(_show_lines(detail, args.full)))
    return 0


def _section(title: str, lines: list[str]) -> list[str]:
    return ["", title, *(f"  {line}" for line in lines)] if lines else []


def _show_lines(d: dict, full: bool) -> list[str]:
    status = d["status"] + ("  (deleted: `runs restore` undoes it, `gc` purges it)" * d["deleted"])
    fields = [
        ("name", d["name"]),
        ("status", status),
        ("experiment", d["experiment"]),
        ("start", fmt_time(d["start_time"])),
        ("end", fmt_time(d["end_time"])),
        ("duration", _duration(d["start_time"], d["end_time"], d["status"])),
        ("parent", d["parent_id"]),
        ("rerun of", d["rerun_of"]),
        ("notebook", d["notebook"]),
        ("cell id", d["cell_id"]),
        ("host / pid", f"{d['host']} / {d['pid']}" if d["host"] else None),
    ]
    out = [f"Run {d['run_id']}"]
    out += [f"  {k:<11} {_text(v)}" for k, v in fields if v not in (None, "")]

    history: dict[str, list[dict]] = {}
    for h in d["param_history"]:
        history.setdefault(h["key"], []).append(h)
    params = []
    width = max((len(_text(k)) for k in d["params"]), default=0)
    for key in sorted(d["params"]):
        line = f"{_text(key):<{width}}  {_text(d['params'][key])}"
        if key in history:
            earlier = ", ".join(
                f"{_text(h['value'])} (until {fmt_time(h['replaced_at'])})" for h in history[key]
            )
            line += f"   earlier: {earlier}"
        params.append(line)
    out += _section("Params", params)

    summary = d["metric_summary"]
    if summary:
        rows = [
            [
                _text(k),
                fmt_number(s["last"]),
                str(s["step"]),
                fmt_number(s["min"]),
                fmt_number(s["max"]),
                f"{s['count']:,}",
            ]
            for k, s in sorted(summary.items())
        ]
        table = _table(["KEY", "LAST", "STEP", "MIN", "MAX", "COUNT"], rows, right={1, 2, 3, 4, 5})
        out += _section("Metrics", table.splitlines())

    width = max((len(_text(k)) for k in d["tags"]), default=0)
    out += _section(
        "Tags", [f"{_text(k):<{width}}  {_text(v)}" for k, v in sorted(d["tags"].items())]
    )

    if d["artifacts"]:
        rows = [
            [_text(a["path"]), f"v{a['version']}", _size(a["size"]), _text(a["media_type"])]
            for a in d["artifacts"]
        ]
        out += _section(
            "Artifacts", _table(["PATH", "VERSION", "SIZE", "TYPE"], rows, right={2}).splitlines()
        )

    if d["source"]:
        lines = _text(d["source"], multiline=True).splitlines()
        shown = lines if full else lines[:SOURCE_LINES]
        if len(shown) < len(lines):
            shown.append(f"… ({len(lines) - len(shown)} more lines; --full shows all)")
        out += _section("Source", shown)

    if d["error"]:
        lines = _text(d["error"], multiline=True).splitlines()
        shown = lines if full else lines[-ERROR_LINES:]
        if len(shown) < len(lines):
            shown.insert(0, f"… ({len(lines) - len(shown)} earlier lines; --full shows all)")
        out += _section("Error", shown)

    if d["capture"]:
        capture = d["capture"] if isinstance(d["capture"], dict) else {"capture": d["capture"]}
        lines = []
        for key, value in capture.items():
            text = (
                value
                if isinstance(value, str)
                else json.dumps(_records.json_ready(value), default=str)
            )
            lines.append(f"{_text(key)}: {_text(text) if full else _cell(text, 100)}")
        out += _section("Capture", lines)
    return out


# -- runs delete / restore ------------------------------------------------------------


def cmd_runs_delete(args) -> int:
    """`runs delete ID...`: soft delete (hidden everywhere; `gc` purges, `restore` undoes)."""
    store = _open(args)
    runs = describe_runs(store, args.run_ids)
    running = [r for r in runs if r[2] == "RUNNING" and not r[3]]
    if running:
        raise RunStillRunningError(running[0][0], running[0][1])
    with store.write() as conn:
        set_deleted(conn, [r[0] for r in runs], True)
    for run_id, name, status, deleted in runs:
        what = "was already deleted" if deleted else "deleted"
        print(f"Run {run_id[:8]} ({_text(name)}, {status}) {what}.")
    print(f"`{PROG} runs restore ID` undoes it; `{PROG} gc` purges deleted runs for good.")
    return 0


def cmd_runs_restore(args) -> int:
    """`runs restore ID...`: undo `runs delete` (until `gc` has purged the run)."""
    store = _open(args)
    runs = describe_runs(store, args.run_ids)
    with store.write() as conn:
        set_deleted(conn, [r[0] for r in runs], False)
    for run_id, name, status, deleted in runs:
        what = "restored" if deleted else "was not deleted"
        print(f"Run {run_id[:8]} ({_text(name)}, {status}) {what}.")
    return 0


# -- gc -------------------------------------------------------------------------------


def _db_bytes(store: Store) -> int:
    return sum(
        p.stat().st_size
        for p in (store.db_path, store.db_path.with_name(DB_NAME + "-wal"))
        if p.exists()
    )


def cmd_gc(args) -> int:
    """`gc`: purge deleted runs and unreferenced blobs, saying what went."""
    store = _open(args, required=False)
    if store is None:
        print(f"Nothing to collect: no store at {locate_store(args.store)[0]}.")
        return 0
    report = collect_garbage(store, dry_run=args.dry_run)
    if args.vacuum and not args.dry_run:
        before = _db_bytes(store)
        store.connection().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        store.connection().execute("VACUUM")
        store.connection().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        report["database_bytes_freed"] = max(0, before - _db_bytes(store))
    if args.json:
        _print_json(report)
        return 0
    would = "Would purge" if args.dry_run else "Purged"
    runs = report["runs_purged"]
    if runs:
        print(f"{would} {_plural(len(runs), 'deleted run')}:")
        for r in runs:
            print(f"  {r['run_id'][:8]}  {_cell(r['name'])}  {r['status']}")
    else:
        print("No deleted runs to purge.")
    purged = ", ".join(
        _plural(report["rows_purged"][table], what)
        for what, table, _ in GC_ROWS
        if report["rows_purged"][table] and table != "runs"
    )
    if purged:
        print(f"  with {purged}")
    if report["skipped_running"]:
        print(f"Kept {_plural(report['skipped_running'], 'deleted run')} still RUNNING.")
    removed = "Would remove" if args.dry_run else "Removed"
    print(
        f"{removed} {_plural(report['blobs_removed'], 'unreferenced blob')} "
        f"({_size(report['blob_bytes'])}) and "
        f"{_plural(report['tmp_files_removed'], 'leftover temporary file')} "
        f"({_size(report['tmp_bytes'])})."
    )
    if report["young_unreferenced_blobs_kept"]:
        print(
            f"Kept {_plural(report['young_unreferenced_blobs_kept'], 'unreferenced blob')} younger "
            "than an hour (a run may still be writing it)."
        )
    freed = report["blob_bytes"] + report["tmp_bytes"]
    if "database_bytes_freed" in report:
        freed += report["database_bytes_freed"]
        print(f"VACUUM shrank the database by {_size(report['database_bytes_freed'])}.")
    print(f"{'Would free' if args.dry_run else 'Freed'} {_size(freed)} on disk.")
    if not args.vacuum and not args.dry_run and runs:
        print(f"The database file keeps its size until `{PROG} gc --vacuum` (optional).")
    return 0


# -- export ---------------------------------------------------------------------------


def cmd_export(args) -> int:
    """`export ID DIR`: write the run as a project directory that re-runs outside Jupyter."""
    from .export import export_run

    store = _open(args)
    done = export_run(store, args.run_id, args.directory, lambda line: print(line, file=sys.stderr))
    print(done.summary())
    return 0


# -- doctor ---------------------------------------------------------------------------


def _package_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def cmd_doctor(args) -> int:
    """`doctor`: versions, where the store is, schema, integrity and counts; 1 on problems."""
    path, how = locate_store(args.store)
    lines = [
        ("jupyter-tracker", __version__),
        ("Python", f"{sys.version.split()[0]} ({sys.executable})"),
        ("SQLite", sqlite3.sqlite_version),
        ("sqlite-utils", _package_version("sqlite-utils")),
        ("store", f"{path}  (from {how})"),
    ]

    def emit(key: str, value: str) -> None:
        print(f"{key:<17}{value}")

    for key, value in lines:
        emit(key, value)
    if not (path / DB_NAME).exists():
        emit("status", "no store here yet (it is created when a run is first tracked)")
        return 0
    try:
        raw = sqlite3.connect(f"file:{path / DB_NAME}?mode=ro", uri=True)
        try:
            found = _schema.schema_version(raw)
        finally:
            raw.close()
    except sqlite3.DatabaseError as exc:
        emit("integrity check", f"FAILED: {exc}")
        return 1
    emit("schema version", f"{found} (this jupyter-tracker reads up to {_schema.SCHEMA_VERSION})")
    if found > _schema.SCHEMA_VERSION:
        raise StoreVersionError(str(path), found, _schema.SCHEMA_VERSION)
    try:
        store = Store.open(path)
        integrity = [r[0] for r in store.read("PRAGMA integrity_check")]
    except sqlite3.DatabaseError as exc:
        emit("integrity check", f"FAILED: {exc}")
        return 1
    if found < _schema.SCHEMA_VERSION:
        emit("", f"(upgraded in place to {store.schema_version()})")
    ok = integrity == ["ok"]
    emit("integrity check", "ok" if ok else "FAILED: " + "; ".join(integrity[:5]))
    emit("journal mode", store.read("PRAGMA journal_mode")[0][0])
    totals = counts(store)
    db = store.db_path.stat().st_size
    wal = store.db_path.with_name(DB_NAME + "-wal")
    wal_size = wal.stat().st_size if wal.exists() else 0
    emit(
        "database size", f"{_size(db + wal_size)} ({_size(db)} + {_size(wal_size)} write-ahead log)"
    )
    emit("experiments", f"{totals['experiments']:,}")
    by_status = ", ".join(f"{s} {n:,}" for s, n in sorted(totals["runs_by_status"].items()))
    deleted = (
        f"; {totals['deleted_runs']:,} deleted, not yet purged" if totals["deleted_runs"] else ""
    )
    emit(
        "runs",
        f"{sum(totals['runs_by_status'].values()):,}"
        + (f" ({by_status})" if by_status else "")
        + deleted,
    )
    emit(
        "params",
        f"{totals['params']:,} (+ {_plural(totals['param_history'], 'overwritten value')} kept)",
    )
    emit("metrics", f"{totals['series']:,} series, {_plural(totals['points'], 'point')}")
    emit(
        "artifacts",
        f"{_plural(totals['artifacts'], 'version')} of {_plural(totals['artifact_paths'], 'path')}",
    )
    emit("blobs", f"{totals['blobs']:,} files, {_size(totals['blob_bytes'])}")
    emit("sources", f"{totals['sources']:,}")
    if totals["missing_blobs"]:
        emit("missing blobs", f"{totals['missing_blobs']:,} artifact blobs are not on disk")
    problems = not ok or totals["missing_blobs"]
    emit("result", "problems found" if problems else "ok")
    return 1 if problems else 0


# -- the parser -----------------------------------------------------------------------


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``jupyter-tracker``."""
    # --store works before or after the subcommand: subcommands leave it unset unless given.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--store", metavar="DIR", default=argparse.SUPPRESS, help="store directory")

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Inspect and maintain a jupyter-tracker store from the command line.",
        epilog=f"The store: --store DIR, else ${ENV_VAR}, else the nearest {STORE_DIRNAME}/ "
        "upwards, else one at the git repository root, else in the working directory.",
    )
    parser.add_argument(
        "--store",
        metavar="DIR",
        default=None,
        help=f"store directory (default: ${ENV_VAR} or the nearest {STORE_DIRNAME}/)",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    runs = commands.add_parser("runs", parents=[common], help="list, show, delete and restore runs")
    runs_commands = runs.add_subparsers(dest="runs_command", metavar="ACTION", required=True)

    p = runs_commands.add_parser("list", parents=[common], help="a table of runs")
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
    p.set_defaults(func=cmd_runs_list)

    p = runs_commands.add_parser("show", parents=[common], help="everything about one run")
    p.add_argument("run_id", metavar="ID", help="a run id or a unique prefix of one")
    p.add_argument("--full", action="store_true", help="the whole source and traceback")
    p.add_argument("--json", action="store_true", help="JSON instead of text")
    p.set_defaults(func=cmd_runs_show)

    p = runs_commands.add_parser(
        "delete", parents=[common], help="delete runs (undo: restore; purge: gc)"
    )
    p.add_argument("run_ids", metavar="ID", nargs="+", help="run ids or unique prefixes")
    p.set_defaults(func=cmd_runs_delete)

    p = runs_commands.add_parser("restore", parents=[common], help="bring deleted runs back")
    p.add_argument("run_ids", metavar="ID", nargs="+", help="run ids or unique prefixes")
    p.set_defaults(func=cmd_runs_restore)

    p = commands.add_parser(
        "export",
        parents=[common],
        help="write a run as a project directory (train.py, MLproject, ...)",
        description="Write a run as a project directory that re-runs outside Jupyter: "
        "train.py, MLproject, python_env.yaml, requirements.txt, params.yaml, metrics, "
        "artifacts, run.json, run.ipynb and README.md.",
    )
    p.add_argument("run_id", metavar="ID", help="a run id or a unique prefix of one")
    p.add_argument(
        "directory", metavar="DIR", help="new or empty (or an earlier export of the run)"
    )
    p.set_defaults(func=cmd_export)

    p = commands.add_parser(
        "gc", parents=[common], help="purge deleted runs and unreferenced blobs"
    )
    p.add_argument("--dry-run", action="store_true", help="say what would go, remove nothing")
    p.add_argument(
        "--vacuum", action="store_true", help="also VACUUM the database to shrink its file"
    )
    p.add_argument("--json", action="store_true", help="the report as JSON")
    p.set_defaults(func=cmd_gc)

    p = commands.add_parser(
        "doctor", parents=[common], help="versions, store location, integrity, counts"
    )
    p.set_defaults(func=cmd_doctor)
    return parser


def _one_line(exc: Exception) -> str:
    if isinstance(exc, FilterError):
        first = str(exc).splitlines()[0].rstrip(":")
        near = exc.text[exc.position : exc.position + 30]
        return f"{first}, near {near!r}" if near else f"{first} (its end)"
    return " ".join(str(exc).split())


def main(argv: list[str] | None = None) -> int:
    """Run ``jupyter-tracker`` with ``argv`` (default: the command line); the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors (2)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    try:
        return args.func(args)
    except TrackerError as exc:
        print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):  # e.g. `jupyter-tracker runs list | head`
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
            return 0
        print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except sqlite3.OperationalError as exc:  # read-only folder, full disk, no permission
        print(
            f"{PROG}: error: cannot use the store at {locate_store(args.store)[0]}: {exc} "
            "(check the folder's permissions and free space).",
            file=sys.stderr,
        )
        return 1
    except sqlite3.DatabaseError as exc:
        print(
            f"{PROG}: error: the store's database is unreadable ({exc}); run `{PROG} doctor`.",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
