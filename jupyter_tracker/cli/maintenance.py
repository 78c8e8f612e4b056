"""`gc` and `doctor`: purge what was deleted, and check a store's health."""

from __future__ import annotations

import argparse
import sqlite3
import sys

from .._version import __version__
from ..errors import StoreVersionError
from ..render.formats import fmt_size, json_text, plural, terminal_cell
from ..store import DB_NAME, Store, _schema
from ..store._maintenance import (
    GC_ROWS,
    check_integrity,
    collect_garbage,
    counts,
    database_bytes,
    journal_mode,
    schema_version_at,
    vacuum,
)
from ._store import PROG, existing_store, locate_store


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add `gc` and `doctor` to the command line."""
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


# -- gc -------------------------------------------------------------------------------


def cmd_gc(args: argparse.Namespace) -> int:
    """`gc`: purge deleted runs and unreferenced blobs, saying what went."""
    store = existing_store(args.store)
    if store is None:
        print(f"Nothing to collect: no store at {locate_store(args.store)[0]}.")
        return 0
    report = collect_garbage(store, dry_run=args.dry_run)
    if args.vacuum and not args.dry_run:
        report["database_bytes_freed"] = vacuum(store)
    if args.json:
        print(json_text(report))
        return 0
    print("\n".join(_gc_lines(report, args)))
    return 0


def _gc_lines(report: dict, args: argparse.Namespace) -> list[str]:
    would = "Would purge" if args.dry_run else "Purged"
    runs = report["runs_purged"]
    out = []
    if runs:
        out.append(f"{would} {plural(len(runs), 'deleted run')}:")
        out += [
            f"  {terminal_cell(r['run_id'][:8])}  {terminal_cell(r['name'])}  "
            f"{terminal_cell(r['status'])}"
            for r in runs
        ]
    else:
        out.append("No deleted runs to purge.")
    purged = ", ".join(
        plural(report["rows_purged"][table], what)
        for what, table, _ in GC_ROWS
        if report["rows_purged"][table] and table != "runs"
    )
    if purged:
        out.append(f"  with {purged}")
    if report["skipped_running"]:
        out.append(f"Kept {plural(report['skipped_running'], 'deleted run')} still RUNNING.")
    removed = "Would remove" if args.dry_run else "Removed"
    out.append(
        f"{removed} {plural(report['blobs_removed'], 'unreferenced blob')} "
        f"({fmt_size(report['blob_bytes'])}) and "
        f"{plural(report['tmp_files_removed'], 'leftover temporary file')} "
        f"({fmt_size(report['tmp_bytes'])})."
    )
    if report["young_unreferenced_blobs_kept"]:
        out.append(
            f"Kept {plural(report['young_unreferenced_blobs_kept'], 'unreferenced blob')} "
            "younger than an hour (a run may still be writing it)."
        )
    freed = report["blob_bytes"] + report["tmp_bytes"]
    if "database_bytes_freed" in report:
        freed += report["database_bytes_freed"]
        out.append(f"VACUUM shrank the database by {fmt_size(report['database_bytes_freed'])}.")
    out.append(f"{'Would free' if args.dry_run else 'Freed'} {fmt_size(freed)} on disk.")
    if not args.vacuum and not args.dry_run and runs:
        out.append(f"The database file keeps its size until `{PROG} gc --vacuum` (optional).")
    return out


# -- doctor ---------------------------------------------------------------------------


def _package_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def _emit(key: str, value: str) -> None:
    print(f"{key:<17}{value}")


def cmd_doctor(args: argparse.Namespace) -> int:
    """`doctor`: versions, where the store is, schema, integrity and counts; 1 on problems."""
    path, how = locate_store(args.store)
    _emit("jupyter-tracker", __version__)
    _emit("Python", f"{sys.version.split()[0]} ({sys.executable})")
    _emit("SQLite", sqlite3.sqlite_version)
    _emit("sqlite-utils", _package_version("sqlite-utils"))
    _emit("store", f"{path}  (from {how})")
    if not (path / DB_NAME).exists():
        _emit("status", "no store here yet (it is created when a run is first tracked)")
        return 0
    try:
        found = schema_version_at(path / DB_NAME)
    except sqlite3.DatabaseError as exc:
        _emit("integrity check", f"FAILED: {exc}")
        return 1
    supported = _schema.SCHEMA_VERSION
    _emit("schema version", f"{found} (this jupyter-tracker reads up to {supported})")
    if found > supported:
        raise StoreVersionError(str(path), found, supported)
    try:
        store = Store.open(path)
        problems = check_integrity(store)
    except sqlite3.DatabaseError as exc:
        _emit("integrity check", f"FAILED: {exc}")
        return 1
    if found < supported:
        _emit("", f"(upgraded in place to {store.schema_version()})")
    _emit("integrity check", "FAILED: " + "; ".join(problems[:5]) if problems else "ok")
    _emit("journal mode", journal_mode(store))
    missing_blobs = _emit_counts(store)
    bad = bool(problems or missing_blobs)
    _emit("result", "problems found" if bad else "ok")
    return 1 if bad else 0


def _emit_counts(store: Store) -> int:
    """Print what the store holds; how many artifact blobs are missing from disk."""
    totals = counts(store)
    db, wal = database_bytes(store)
    _emit(
        "database size", f"{fmt_size(db + wal)} ({fmt_size(db)} + {fmt_size(wal)} write-ahead log)"
    )
    _emit("experiments", f"{totals['experiments']:,}")
    by_status = ", ".join(f"{s} {n:,}" for s, n in sorted(totals["runs_by_status"].items()))
    deleted = (
        f"; {totals['deleted_runs']:,} deleted, not yet purged" if totals["deleted_runs"] else ""
    )
    _emit(
        "runs",
        f"{sum(totals['runs_by_status'].values()):,}"
        + (f" ({by_status})" if by_status else "")
        + deleted,
    )
    _emit(
        "params",
        f"{totals['params']:,} (+ {plural(totals['param_history'], 'overwritten value')} kept)",
    )
    _emit("metrics", f"{totals['series']:,} series, {plural(totals['points'], 'point')}")
    _emit(
        "artifacts",
        f"{plural(totals['artifacts'], 'version')} of {plural(totals['artifact_paths'], 'path')}",
    )
    _emit("blobs", f"{totals['blobs']:,} files, {fmt_size(totals['blob_bytes'])}")
    _emit("sources", f"{totals['sources']:,}")
    if totals["missing_blobs"]:
        _emit("missing blobs", f"{totals['missing_blobs']:,} artifact blobs are not on disk")
    return totals["missing_blobs"]
