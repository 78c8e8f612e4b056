"""Writes of runs: every statement that records a run and what it logs, queued on the writer.

The tracking API validates values and calls these; each statement runs, in order, in the
writer's next flush (one transaction). The capture report's bulky parts are stored once,
in the sources table, referenced as ``{"$source": sha256}`` (``pack_capture``/``unpack_capture``
are the only code that knows that form).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, cast

from ..model import CaptureReport
from . import process_identity
from ._writer import Writer

SOURCE_REF = "$source"


def insert_run(
    writer: Writer,
    run_id: str,
    experiment_id: int,
    name: str,
    start_ms: int,
    parent_id: str | None,
    source: str | None,
) -> None:
    """A new RUNNING run of this process (its identity kept for liveness checks)."""
    writer.execute(
        "INSERT INTO runs (id, experiment_id, name, status, start_time, parent_id, host, "
        "boot_id, pid_ns, pid, pid_started, heartbeat, source_id) VALUES (?, ?, ?, 'RUNNING', "
        "?, ?, ?, ?, ?, ?, ?, ?, (SELECT id FROM sources WHERE sha256 = ?))",
        (
            run_id,
            experiment_id,
            name,
            start_ms,
            parent_id,
            *process_identity(),
            start_ms,
            None if source is None else writer.add_source(source),
        ),
    )
    writer.running.add(run_id)


def resume_run(writer: Writer, run_id: str, now: int) -> None:
    """An ended run RUNNING again, owned by this process."""
    writer.execute(
        "UPDATE runs SET status = 'RUNNING', end_time = NULL, error = NULL, host = ?, "
        "boot_id = ?, pid_ns = ?, pid = ?, pid_started = ?, heartbeat = ? WHERE id = ?",
        (*process_identity(), now, run_id),
    )
    writer.running.add(run_id)


def rename_run(writer: Writer, run_id: str, name: str) -> None:
    """Give a run a new name."""
    writer.execute("UPDATE runs SET name = ? WHERE id = ?", (name, run_id))


def record_end(writer: Writer, run_id: str, status: str, end_ms: int, error: str | None) -> None:
    """Queue a run's final status (written by the next flush); ``end_run`` also waits."""
    writer.execute(
        "UPDATE runs SET status = ?, end_time = ?, error = ? WHERE id = ?",
        (status, end_ms, error, run_id),
    )
    writer.running.discard(run_id)


def end_run(writer: Writer, run_id: str, status: str, end_ms: int, error: str | None) -> None:
    """End a run with a final status, then write everything buffered (before returning)."""
    record_end(writer, run_id, status, end_ms, error)
    writer.flush_waiting()
    writer.drop_series(run_id)


def set_param(
    writer: Writer,
    run_id: str,
    key: str,
    stored: tuple[str, str, float | None],
    replaced_at: int | None = None,
) -> None:
    """Set param ``key`` to ``stored`` (text, type, number). Without ``replaced_at`` a value
    already stored (by another process logging to the same run) is kept: a param is never
    silently overwritten. With it (``overwrite=True``), the old value moves to the param
    history first."""
    if replaced_at is None:
        writer.execute(
            "INSERT INTO params (run_id, key, value, type, num) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (run_id, key) DO NOTHING",
            (run_id, key, *stored),
        )
        return
    writer.execute(
        "INSERT INTO param_history (run_id, key, value, type, replaced_at) "
        "SELECT run_id, key, value, type, ? FROM params WHERE run_id = ? AND key = ?",
        (replaced_at, run_id, key),
    )
    writer.execute(
        "INSERT INTO params (run_id, key, value, type, num) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (run_id, key) DO UPDATE SET "
        "value = excluded.value, type = excluded.type, num = excluded.num",
        (run_id, key, *stored),
    )


def set_tag(writer: Writer, run_id: str, key: str, value: str) -> None:
    """Set (or replace) one tag."""
    writer.execute(
        "INSERT INTO tags (run_id, key, value) VALUES (?, ?, ?) "
        "ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value",
        (run_id, key, value),
    )


def delete_tag(writer: Writer, run_id: str, key: str) -> None:
    """Remove one tag."""
    writer.execute("DELETE FROM tags WHERE run_id = ? AND key = ?", (run_id, key))


def set_origin(
    writer: Writer, run_id: str, notebook: str | None, cell_id: str | None, rerun_of: str | None
) -> None:
    """Which notebook cell the run came from, and the run of that cell it re-runs."""
    writer.execute(
        "UPDATE runs SET notebook = ?, cell_id = ?, rerun_of = ? WHERE id = ?",
        (notebook, cell_id, rerun_of, run_id),
    )


def set_capture(writer: Writer, run_id: str, capture: CaptureReport) -> None:
    """Keep the capture report; its git diff and input history go to the sources table."""
    packed = pack_capture(capture, writer.add_source)
    writer.execute(
        "UPDATE runs SET capture = ? WHERE id = ?", (json.dumps(packed, default=str), run_id)
    )


def add_artifact(
    writer: Writer, run_id: str, path: str, blob: tuple[str, int, str], created_at: int
) -> None:
    """A new version of artifact ``path``; ``blob`` is (sha256, size, media type)."""
    sha, size, media_type = blob
    writer.execute(
        "INSERT INTO artifacts "
        "(run_id, path, version, sha256, size, media_type, created_at) VALUES "
        "(?, ?, (SELECT COALESCE(MAX(version), 0) + 1 FROM artifacts "
        "WHERE run_id = ? AND path = ?), ?, ?, ?, ?)",
        (run_id, path, run_id, path, sha, size, media_type, created_at),
    )


def pack_capture(capture: CaptureReport, add_source: Callable[[str], str]) -> dict[str, Any]:
    """The capture report as stored: the git diff and the history as source references
    (the same for every run of a sweep and most runs of a session)."""
    stored: dict[str, Any] = dict(capture)
    git = dict(stored.get("git") or {})
    if git.get("diff"):
        git["diff"] = {SOURCE_REF: add_source(git["diff"])}
        stored["git"] = git
    if stored.get("history"):
        stored["history"] = {SOURCE_REF: add_source(json.dumps(stored["history"]))}
    return stored


def unpack_capture(stored: dict[str, Any], source_text: Callable[[str], str]) -> CaptureReport:
    """A stored capture report with its source references read back."""
    git = stored.get("git")
    if isinstance(git, dict) and isinstance(git.get("diff"), dict):
        git["diff"] = source_text(git["diff"][SOURCE_REF])
    if isinstance(stored.get("history"), dict):
        stored["history"] = json.loads(source_text(stored["history"][SOURCE_REF]) or "[]")
    return cast(CaptureReport, stored)
