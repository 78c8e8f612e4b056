"""Store upkeep, one implementation for the CLI and REST: soft delete and restore, tags set
afterwards, garbage collection, VACUUM, integrity checks and counts."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from .._limits import MAX_TAG_VALUE_LENGTH, SYSTEM_TAG_PREFIX, check_key, check_length
from ..errors import InvalidInputError, RunNotFoundError, RunStillRunningError
from ..model import RunState, RunTags
from . import DB_NAME, Store, _schema

TMP_GRACE_S = 3600.0  # leftover *.tmp files and unreferenced blobs younger than this stay
# A blob freed by a purge goes once untouched this long: a process logging the same content
# again touches it first, and writes its row within a flush (a second, or the buffer's size).
FRESH_BLOB_S = 10.0


def _states(conn: sqlite3.Connection, run_ids: list[str]) -> list[RunState]:
    """Each run as it is: run_id, name, status and whether it is deleted."""
    states: list[RunState] = []
    for run_id in run_ids:
        row = conn.execute(
            "SELECT name, status, deleted FROM runs WHERE id = ?", (run_id,)
        ).fetchone()
        if row is None:  # purged by `gc` since it was resolved
            raise RunNotFoundError(run_id)
        states.append({"run_id": run_id, "name": row[0], "status": row[1], "deleted": bool(row[2])})
    return states


def _set_deleted(conn: sqlite3.Connection, run_ids: list[str], deleted: bool) -> None:
    conn.executemany(
        "UPDATE runs SET deleted = ? WHERE id = ?", [(int(deleted), i) for i in run_ids]
    )


def delete_runs(store: Store, run_ids: list[str]) -> list[RunState]:
    """Soft-delete runs (full ids or unique prefixes): hidden everywhere until
    ``restore_runs``, purged by ``collect_garbage``. Each run as it was before.

    Runs whose process died are marked CRASHED first. If one of them is still RUNNING,
    none is deleted (``RunStillRunningError``): the check and the update share one write
    transaction.
    """
    ids = list(dict.fromkeys(store.resolve_run_id(r) for r in run_ids))
    store.mark_crashed()
    with store.write() as conn:
        before = _states(conn, ids)
        for run in before:
            if run["status"] == "RUNNING":
                raise RunStillRunningError(run["run_id"], run["name"])
        _set_deleted(conn, ids, True)
    return before


def delete_run(store: Store, run_id: str) -> RunState:
    """Soft-delete one run (see ``delete_runs``); its new state."""
    (before,) = delete_runs(store, [run_id])
    return {**before, "deleted": True}


def restore_runs(store: Store, run_ids: list[str]) -> list[RunState]:
    """Undo ``delete_runs`` (until ``collect_garbage`` has purged them); each run as it was."""
    ids = list(dict.fromkeys(store.resolve_run_id(r) for r in run_ids))
    with store.write() as conn:
        before = _states(conn, ids)
        _set_deleted(conn, ids, False)
    return before


def is_deleted(store: Store, run_id: str) -> bool:
    """Whether run ``run_id`` (a full id) is soft-deleted, waiting for ``collect_garbage``."""
    rows = store.read("SELECT deleted FROM runs WHERE id = ?", (run_id,))
    return bool(rows and rows[0][0])


def set_run_tag(store: Store, run_id: str, key: object, value: object) -> RunTags:
    """Set (or replace) tag ``key`` of a stored run in one write transaction; its tags."""
    check_key(key, "Tag")
    if not isinstance(value, str):
        raise InvalidInputError(f"A tag value must be a string, got {type(value).__name__}.")
    check_length(value, MAX_TAG_VALUE_LENGTH, "A tag value")
    run_id = store.resolve_run_id(run_id)
    with store.write() as conn:
        if conn.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is None:
            raise RunNotFoundError(run_id)
        conn.execute(
            "INSERT INTO tags (run_id, key, value) VALUES (?, ?, ?) "
            "ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value",
            (run_id, key, value),
        )
        tags = dict(  # MLflow's system tags left out, as in every record
            conn.execute(
                "SELECT key, value FROM tags WHERE run_id = ? AND key NOT GLOB ?",
                (run_id, SYSTEM_TAG_PREFIX + "*"),
            )
        )
    return {"run_id": run_id, "tags": tags}


# (what, table, condition), deleted in this order (points before their series); fixed text.
GC_ROWS = [
    ("param", "params", "run_id IN (SELECT id FROM temp.gc_runs)"),
    ("overwritten param value", "param_history", "run_id IN (SELECT id FROM temp.gc_runs)"),
    ("tag", "tags", "run_id IN (SELECT id FROM temp.gc_runs)"),
    (
        "metric point",
        "points",
        "series_id IN (SELECT id FROM series WHERE run_id IN (SELECT id FROM temp.gc_runs))",
    ),
    ("metric series", "series", "run_id IN (SELECT id FROM temp.gc_runs)"),
    ("artifact version", "artifacts", "run_id IN (SELECT id FROM temp.gc_runs)"),
    ("run", "runs", "id IN (SELECT id FROM temp.gc_runs)"),
    (
        "source",
        "sources",
        "id NOT IN (SELECT source_id FROM runs WHERE source_id IS NOT NULL "
        "AND id NOT IN (SELECT id FROM temp.gc_runs)) AND sha256 NOT IN (SELECT value FROM "
        "runs, json_each(runs.capture, '$.git.diff') WHERE key = '$source' AND runs.id NOT IN "
        "(SELECT id FROM temp.gc_runs)) AND sha256 NOT IN (SELECT value FROM runs, "
        "json_each(runs.capture, '$.history') WHERE key = '$source' AND runs.id NOT IN "
        "(SELECT id FROM temp.gc_runs))",
    ),
]


def _blob_files(store: Store) -> tuple[list[tuple[str, Path]], list[Path]]:
    """(sha256, path) of every blob file, and every leftover ``*.tmp`` file."""
    blobs: list[tuple[str, Path]] = []
    tmps: list[Path] = []
    if not store.blob_dir.is_dir():
        return blobs, tmps
    for path in store.blob_dir.rglob("*"):
        if not path.is_file():
            continue
        if path.name.endswith(".tmp"):
            tmps.append(path)
        elif len(path.parent.name) == 2 and path.parent.parent == store.blob_dir:
            blobs.append((path.parent.name + path.name, path))
    return blobs, tmps


def collect_garbage(store: Store, dry_run: bool = False) -> dict:
    """Purge soft-deleted runs with everything of theirs, then blobs nothing references.

    The rows go in one write transaction; blob files after it commits. A blob freed by this
    purge goes at once; any other unreferenced blob, and any ``*.tmp`` file, only once it is
    an hour old, since another process may have written it and not yet committed its row.
    """
    started = time.time()
    conn = store.connection()
    store.flush()
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS gc_runs (id TEXT PRIMARY KEY)")
    conn.execute("DELETE FROM temp.gc_runs")
    report: dict = {"dry_run": dry_run}
    try:
        with store.write() as conn:
            conn.execute(
                "INSERT INTO temp.gc_runs "
                "SELECT id FROM runs WHERE deleted = 1 AND status != 'RUNNING'"
            )
            report["runs_purged"] = [
                {"run_id": i, "name": n, "status": s}
                for i, n, s in conn.execute(
                    "SELECT id, name, status FROM runs WHERE id IN (SELECT id FROM temp.gc_runs) "
                    "ORDER BY start_time"
                )
            ]
            freed = {
                sha
                for (sha,) in conn.execute(
                    "SELECT DISTINCT sha256 FROM artifacts "
                    "WHERE run_id IN (SELECT id FROM temp.gc_runs)"
                )
            }
            rows = {}
            for _, table, condition in GC_ROWS:
                verb = "SELECT COUNT(*) FROM" if dry_run else "DELETE FROM"
                cursor = conn.execute(f"{verb} {table} WHERE {condition}")  # noqa: S608
                rows[table] = cursor.fetchone()[0] if dry_run else cursor.rowcount
            report["rows_purged"] = rows
            report["skipped_running"] = conn.execute(
                "SELECT COUNT(*) FROM runs WHERE deleted = 1 AND status = 'RUNNING'"
            ).fetchone()[0]
            live_sql = (
                "SELECT DISTINCT sha256 FROM artifacts "
                "WHERE run_id NOT IN (SELECT id FROM temp.gc_runs)"
            )
            referenced = {sha for (sha,) in conn.execute(live_sql)}
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    finally:
        conn.execute("DELETE FROM temp.gc_runs")

    if not dry_run:  # identical content another process logged meanwhile stays
        referenced |= {sha for (sha,) in store.read("SELECT DISTINCT sha256 FROM artifacts")}
    blobs, tmps = _blob_files(store)
    old = started - TMP_GRACE_S
    removed: list[Path] = []
    sizes: dict[Path, int] = {}
    kept_young = 0
    for sha, path in blobs:
        if sha in referenced:
            continue
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        if (sha in freed and stat.st_mtime < started - FRESH_BLOB_S) or stat.st_mtime < old:
            removed.append(path)
            sizes[path] = stat.st_size
        else:
            kept_young += 1
    stale_tmps, tmp_bytes = [], 0
    for path in tmps:
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        if stat.st_mtime < old:
            stale_tmps.append(path)
            tmp_bytes += stat.st_size
    if not dry_run:
        removed = _remove_blobs(store, removed, started - FRESH_BLOB_S)
        for path in stale_tmps:
            path.unlink(missing_ok=True)
    blob_bytes = sum(sizes[path] for path in removed)
    report.update(
        blobs_removed=len(removed),
        blob_bytes=blob_bytes,
        young_unreferenced_blobs_kept=kept_young,
        tmp_files_removed=len(stale_tmps),
        tmp_bytes=tmp_bytes,
    )
    return report


def _remove_blobs(store: Store, paths: list[Path], touched_since: float) -> list[Path]:
    """Remove these unreferenced blobs, except those another process is logging again
    meanwhile (it touches an existing blob before its row is written): each is first moved
    aside, then judged again (touched since, or now referenced) and put back if so. The
    blobs actually removed."""
    moved = []
    for path in paths:
        aside = path.with_name(f"{path.name}.gc.{os.getpid()}.tmp")
        try:
            os.rename(path, aside)
        except FileNotFoundError:
            continue
        moved.append((path, aside))
    referenced = {sha for (sha,) in store.read("SELECT DISTINCT sha256 FROM artifacts")}
    removed = []
    for path, aside in moved:
        if path.parent.name + path.name in referenced or aside.stat().st_mtime >= touched_since:
            if path.exists():  # logged again meanwhile: the new copy has the same content
                aside.unlink()
            else:
                os.rename(aside, path)
        else:
            aside.unlink()
            removed.append(path)
    return removed


class _DryRun(Exception):
    """Rolls the dry run's transaction back."""


def counts(store: Store) -> dict:
    """What the store holds, for `doctor`: rows per table, blobs on disk, missing blobs."""

    def one(sql: str) -> int:
        return store.read(sql)[0][0]

    statuses: dict[str, int] = {}
    deleted = 0
    for status, is_deleted, n in store.read(
        "SELECT status, deleted, COUNT(*) FROM runs GROUP BY 1, 2"
    ):
        if is_deleted:
            deleted += n
        else:
            statuses[status] = n
    blobs, _ = _blob_files(store)
    on_disk = {sha for sha, _ in blobs}
    referenced = {sha for (sha,) in store.read("SELECT DISTINCT sha256 FROM artifacts")}
    return {
        "experiments": one("SELECT COUNT(*) FROM experiments"),
        "runs_by_status": statuses,
        "deleted_runs": deleted,
        "params": one("SELECT COUNT(*) FROM params"),
        "param_history": one("SELECT COUNT(*) FROM param_history"),
        "series": one("SELECT COUNT(*) FROM series"),
        "points": one("SELECT COUNT(*) FROM points"),
        "artifacts": one("SELECT COUNT(*) FROM artifacts"),
        "artifact_paths": one("SELECT COUNT(*) FROM (SELECT DISTINCT run_id, path FROM artifacts)"),
        "blobs": len(blobs),
        "blob_bytes": sum(p.stat().st_size for _, p in blobs),
        "missing_blobs": len(referenced - on_disk),
        "sources": one("SELECT COUNT(*) FROM sources"),
    }


def database_bytes(store: Store) -> tuple[int, int]:
    """The sizes of the database file and of its write-ahead log, in bytes."""
    wal = store.db_path.with_name(DB_NAME + "-wal")
    return (
        store.db_path.stat().st_size if store.db_path.exists() else 0,
        wal.stat().st_size if wal.exists() else 0,
    )


def vacuum(store: Store) -> int:
    """Rewrite the database to give deleted rows' space back to the disk; bytes freed."""
    before = sum(database_bytes(store))
    conn = store.connection()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("VACUUM")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return max(0, before - sum(database_bytes(store)))


def schema_version_at(path: Path) -> int:
    """The schema version of the database file at ``path``, read without changing it (before
    ``Store.open`` upgrades it); ``sqlite3.DatabaseError`` if it is no database."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return _schema.schema_version(conn)
    finally:
        conn.close()


def check_integrity(store: Store) -> list[str]:
    """What SQLite's integrity check finds wrong with the database; empty when it is sound."""
    found = [row[0] for row in store.read("PRAGMA integrity_check")]
    return [] if found == ["ok"] else found


def journal_mode(store: Store) -> str:
    """The database's journal mode (``wal`` for every store this version writes)."""
    return store.read("PRAGMA journal_mode")[0][0]
