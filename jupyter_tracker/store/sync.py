"""The sync ledger and imported runs: every statement behind push, import and the live mirror.

A link (``remote_runs``) says that local run X is run R of the tracking server S, whether X
was pushed there (origin ``push``) or came from there (``import``); ``remote_series`` says how
many of each metric's points (in logging order) the server holds, ``remote_values`` the
digest of each param, tag and artifact it holds. The ledger only ever claims what the server
confirmed, so a push that stopped half way resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import math
import sqlite3
from collections.abc import Iterable
from typing import Any, TypedDict, cast

from ..model import CaptureReport
from . import Query, Store, in_chunks, now_ms
from ._writer import Point, Series, _write_points, batch_of
from .runs import pack_capture

ValueKey = tuple[str, str]  # (kind: "param" | "tag" | "artifact", key)


class Link(TypedDict):
    """What the ledger knows of one local run on one server."""

    run_id: str
    server: str
    remote_run_id: str | None  # None: its creation was asked for and not yet confirmed
    remote_experiment_id: str | None
    origin: str  # "push" (the run was born here) or "import" (it came from the server)
    status: str | None  # the server's status, end time and name as last sent or received
    end_time: int | None
    name: str | None
    local_state: str | None  # the local run's fingerprint when last synced
    remote_state: str | None  # the server run's fingerprint when last imported
    series: dict[str, int]  # metric key -> points the server holds
    values: dict[ValueKey, str]  # (kind, key) -> digest of what the server holds


class RunCopy(TypedDict):
    """A run brought in from elsewhere, in the store's terms: what ``import_run`` writes.
    For a run already here, only what is new is written (params kept, tags replaced,
    ``points`` appended, ``artifacts`` added as new versions)."""

    run_id: str
    experiment: str
    name: str
    status: str
    start_time: int
    end_time: int | None
    parent_id: str | None
    notebook: str | None
    cell_id: str | None
    rerun_of: str | None
    source: str | None
    capture: CaptureReport | None
    error: str | None
    params: dict[str, tuple[str, str, float | None]]  # key -> (text, type, number)
    tags: dict[str, str]
    points: dict[str, list[Point]]  # metric key -> points to append, in order
    artifacts: list[tuple[str, str, int, str]]  # (path, sha256, size, media type)


class RemoteSide(TypedDict):
    """The server's side of an imported run, for the ledger."""

    server: str
    remote_run_id: str
    remote_experiment_id: str
    remote_state: str
    status: str
    end_time: int | None
    name: str
    values: dict[ValueKey, str]


def digest(data: str | bytes) -> str:
    """The ledger's digest of a param or tag value (text) or of an artifact's bytes."""
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def _reader(store: Store) -> Query:
    return lambda sql, args: store.read(sql, args)


def _on(conn: sqlite3.Connection) -> Query:
    return lambda sql, args: conn.execute(sql, args).fetchall()


# -- choosing runs --------------------------------------------------------------------


def selected_runs(
    store: Store, run_ids: list[str] | None = None, experiment: str | None = None
) -> list[str]:
    """The (not deleted) runs given, or all runs of ``experiment``, or all runs, with the
    ancestors of each, parents before their children (then by start time)."""
    if run_ids is not None:
        chosen = list(dict.fromkeys(store.resolve_run_id(r) for r in run_ids))
    elif experiment is not None:
        chosen = [
            r
            for (r,) in store.read(
                "SELECT r.id FROM runs r JOIN experiments e ON e.id = r.experiment_id "
                "WHERE r.deleted = 0 AND e.name = ?",
                (experiment,),
            )
        ]
    else:
        chosen = [r for (r,) in store.read("SELECT id FROM runs WHERE deleted = 0")]
    info: dict[str, tuple[str | None, int]] = {}
    todo = chosen
    while todo:
        rows = in_chunks(
            _reader(store),
            "SELECT id, parent_id, start_time FROM runs WHERE deleted = 0 AND id IN",
            todo,
            [],
        )
        info.update({r: (parent, start) for r, parent, start in rows})
        todo = list({p for _, p, _ in rows if p is not None and p not in info})

    def depth(run_id: str) -> int:
        seen, parent = {run_id}, info[run_id][0]
        while parent is not None and parent in info and parent not in seen:
            seen.add(parent)
            parent = info[parent][0]
        return len(seen)

    return sorted(info, key=lambda r: (depth(r), info[r][1], r))


def fingerprints(store: Store, run_ids: list[str]) -> dict[str, str]:
    """A digest of everything a push sends of each run: it changes when anything is logged."""
    return _fingerprints(_reader(store), run_ids)


def _fingerprints(query: Query, run_ids: list[str]) -> dict[str, str]:
    parts: dict[str, list[Any]] = {}
    for row in in_chunks(
        query,
        "SELECT id, name, status, end_time, parent_id, notebook, cell_id, rerun_of, "
        "source_id, length(capture), length(error), experiment_id FROM runs WHERE id IN",
        run_ids,
        [],
    ):
        parts[row[0]] = [list(row[1:]), [], [], [], []]
    for slot, select in enumerate(
        (
            "SELECT run_id, key, value FROM params WHERE run_id IN",
            "SELECT run_id, key, value FROM tags WHERE run_id IN",
            "SELECT run_id, key, count FROM series WHERE run_id IN",
            "SELECT run_id, path, MAX(version) FROM artifacts GROUP BY run_id, path "
            "HAVING run_id IN",
        ),
        start=1,
    ):
        for run_id, key, value in in_chunks(query, select, run_ids, []):
            parts[run_id][slot].append((key, value))
    return {
        run_id: digest(json.dumps([p[0], *map(sorted, p[1:])], default=str))
        for run_id, p in parts.items()
    }


def stale_runs(store: Store, server: str, run_ids: list[str]) -> list[str]:
    """Of ``run_ids`` (in their order), those whose last sync with ``server`` is not
    complete or predates a change."""
    synced = dict(
        in_chunks(
            _reader(store),
            "SELECT run_id, local_state FROM remote_runs WHERE server = ? "
            "AND remote_run_id IS NOT NULL AND run_id IN",
            run_ids,
            [server],
        )
    )
    now = fingerprints(store, [r for r in run_ids if r in synced])
    return [r for r in run_ids if r not in synced or synced[r] != now.get(r)]


def unsent_points(store: Store, server: str, run_ids: list[str]) -> int:
    """How many metric points of these runs ``server`` does not hold yet."""
    return sum(
        count - (sent or 0)
        for count, sent in in_chunks(
            _reader(store),
            "SELECT s.count, r.points FROM series s LEFT JOIN remote_series r "
            "ON r.run_id = s.run_id AND r.key = s.key AND r.server = ? WHERE s.run_id IN",
            run_ids,
            [server],
        )
    )


def ended_runs(store: Store, run_ids: list[str]) -> set[str]:
    """Those of these runs that are no longer RUNNING."""
    return {
        r
        for (r,) in in_chunks(
            _reader(store), "SELECT id FROM runs WHERE status != 'RUNNING' AND id IN", run_ids, []
        )
    }


def all_tags(store: Store, run_id: str) -> dict[str, str]:
    """Every tag of a run, MLflow's ``mlflow.*`` system tags included (what a push sends)."""
    return dict(store.read("SELECT key, value FROM tags WHERE run_id = ?", (run_id,)))


def points_from(store: Store, run_id: str, key: str, start: int, limit: int) -> list[Point]:
    """Up to ``limit`` points of a metric from the ``start``-th one (0-based, logging
    order): (step, value with NaN kept, time in ms)."""
    return [
        (step, math.nan if value is None else value, time)
        for step, value, time in store.read(
            "SELECT p.step, p.value, p.time FROM points p JOIN series s ON s.id = p.series_id "
            "WHERE s.run_id = ? AND s.key = ? AND p.seq >= ? ORDER BY p.seq LIMIT ?",
            (run_id, key, start, limit),
        )
    ]


# -- the ledger -----------------------------------------------------------------------

_LINK_COLUMNS = (
    "run_id, server, remote_run_id, remote_experiment_id, origin, status, end_time, name, "
    "local_state, remote_state"
)


def _link(query: Query, where: str, args: list[Any]) -> Link | None:
    rows = query(
        f"SELECT {_LINK_COLUMNS} FROM remote_runs l WHERE {where} "  # noqa: S608
        "AND EXISTS (SELECT 1 FROM runs WHERE id = l.run_id)",
        args,
    )
    if not rows:
        return None
    keys = [c.strip() for c in _LINK_COLUMNS.split(",")]
    found = cast(Link, dict(zip(keys, rows[0], strict=True)))
    pair = [found["run_id"], found["server"]]
    found["series"] = dict(
        query("SELECT key, points FROM remote_series WHERE run_id = ? AND server = ?", pair)
    )
    found["values"] = {
        (kind, key): value
        for kind, key, value in query(
            "SELECT kind, key, digest FROM remote_values WHERE run_id = ? AND server = ?", pair
        )
    }
    return found


def link(store: Store, run_id: str, server: str) -> Link | None:
    """What the ledger knows of local run ``run_id`` on ``server``, or None."""
    return _link(_reader(store), "run_id = ? AND server = ?", [run_id, server])


def link_of_remote(store: Store, server: str, remote_run_id: str) -> Link | None:
    """The link to run ``remote_run_id`` of ``server`` (None: none, or its run is gone)."""
    return _link(_reader(store), "server = ? AND remote_run_id = ?", [server, remote_run_id])


def remote_ids(store: Store, server: str, run_ids: Iterable[str]) -> dict[str, str]:
    """The server's id of each of these local runs that has one."""
    return dict(
        in_chunks(
            _reader(store),
            "SELECT run_id, remote_run_id FROM remote_runs WHERE server = ? "
            "AND remote_run_id IS NOT NULL AND run_id IN",
            list(run_ids),
            [server],
        )
    )


def local_ids(store: Store, server: str, remote_run_ids: Iterable[str]) -> dict[str, str]:
    """The local id of each of these runs of ``server`` that is here."""
    return dict(
        in_chunks(
            _reader(store),
            "SELECT l.remote_run_id, l.run_id FROM remote_runs l JOIN runs r ON r.id = l.run_id "
            "WHERE l.server = ? AND l.remote_run_id IN",
            list(remote_run_ids),
            [server],
        )
    )


def run_exists(store: Store, run_id: str) -> bool:
    """Whether the store has a run with this exact id (deleted or not)."""
    return bool(store.read("SELECT 1 FROM runs WHERE id = ?", (run_id,)))


def claim(store: Store, run_id: str, server: str, remote_experiment_id: str) -> None:
    """Note, before asking the server to create it, that run ``run_id`` is being created
    there: a push that dies before the answer finds the run by its tag next time."""
    with store.write() as conn:
        conn.execute("DELETE FROM remote_runs WHERE run_id = ? AND server = ?", (run_id, server))
        _forget_items(conn, run_id, server)
        conn.execute(
            "INSERT INTO remote_runs (run_id, server, remote_experiment_id, origin, synced_at) "
            "VALUES (?, ?, ?, 'push', ?)",
            (run_id, server, remote_experiment_id, now_ms()),
        )


def settle(store: Store, run_id: str, server: str, remote_run_id: str) -> str | None:
    """Record the server's id of a run being created, unless another process recorded one
    first: the id the ledger holds then (the caller deletes its own twin)."""
    with store.write() as conn:
        conn.execute(
            "UPDATE remote_runs SET remote_run_id = ?, synced_at = ? WHERE run_id = ? "
            "AND server = ? AND remote_run_id IS NULL",
            (remote_run_id, now_ms(), run_id, server),
        )
        row = conn.execute(
            "SELECT remote_run_id FROM remote_runs WHERE run_id = ? AND server = ?",
            (run_id, server),
        ).fetchone()
    return None if row is None else row[0]


def forget(store: Store, run_id: str, server: str) -> None:
    """Drop the ledger of a run on a server (the server lost the run: it is pushed anew)."""
    with store.write() as conn:
        conn.execute("DELETE FROM remote_runs WHERE run_id = ? AND server = ?", (run_id, server))
        _forget_items(conn, run_id, server)


def _forget_items(conn: sqlite3.Connection, run_id: str, server: str) -> None:
    conn.execute("DELETE FROM remote_series WHERE run_id = ? AND server = ?", (run_id, server))
    conn.execute("DELETE FROM remote_values WHERE run_id = ? AND server = ?", (run_id, server))


def record(
    store: Store,
    run_id: str,
    server: str,
    *,
    series: dict[str, int] | None = None,
    values: dict[ValueKey, str] | None = None,
    fields: dict[str, Any] | None = None,
    local_state: str | None = None,
) -> None:
    """Record, in one transaction, what the server confirmed: points of each series it now
    holds (never fewer than before), digests of params, tags and artifacts, and its status,
    end time and name; ``local_state`` once a run was pushed whole."""
    changes = {k: v for k, v in (fields or {}).items() if k in ("status", "end_time", "name")}
    with store.write() as conn:
        _record_items(conn, run_id, server, series or {}, values or {})
        sets = ", ".join(f"{k} = ?" for k in changes)
        conn.execute(
            f"UPDATE remote_runs SET {sets + ', ' if sets else ''}"  # noqa: S608 - fixed names
            "local_state = COALESCE(?, local_state), synced_at = ? "
            "WHERE run_id = ? AND server = ?",
            (*changes.values(), local_state, now_ms(), run_id, server),
        )


def _record_items(
    conn: sqlite3.Connection,
    run_id: str,
    server: str,
    series: dict[str, int],
    values: dict[ValueKey, str],
) -> None:
    conn.executemany(
        "INSERT INTO remote_series (run_id, server, key, points) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (run_id, server, key) DO UPDATE SET "
        "points = MAX(points, excluded.points)",
        [(run_id, server, key, n) for key, n in series.items()],
    )
    conn.executemany(
        "INSERT INTO remote_values (run_id, server, kind, key, digest) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (run_id, server, kind, key) DO UPDATE SET digest = excluded.digest",
        [(run_id, server, kind, key, d) for (kind, key), d in values.items()],
    )


# -- imported runs --------------------------------------------------------------------


def import_run(store: Store, copy: RunCopy, remote: RemoteSide) -> None:
    """Write a run brought in from ``remote`` (new, or new parts of one imported before) and
    its link, in one transaction: all of it lands or none of it."""
    run_id = copy["run_id"]
    with store.write() as conn:
        conn.execute(
            "INSERT OR IGNORE INTO experiments (name, created_at) VALUES (?, ?)",
            (copy["experiment"], now_ms()),
        )
        (experiment_id,) = conn.execute(
            "SELECT id FROM experiments WHERE name = ?", (copy["experiment"],)
        ).fetchone()

        def add_source(text: str) -> str:
            sha = digest(text)
            conn.execute("INSERT OR IGNORE INTO sources (sha256, text) VALUES (?, ?)", (sha, text))
            return sha

        source = None if copy["source"] is None else add_source(copy["source"])
        capture = copy["capture"]
        conn.execute(
            "INSERT OR IGNORE INTO runs (id, experiment_id, name, status, start_time, end_time, "
            "parent_id, notebook, cell_id, rerun_of, error, capture, source_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
            "(SELECT id FROM sources WHERE sha256 = ?))",
            (
                run_id,
                experiment_id,
                copy["name"],
                copy["status"],
                copy["start_time"],
                copy["end_time"],
                copy["parent_id"],
                copy["notebook"],
                copy["cell_id"],
                copy["rerun_of"],
                copy["error"],
                None
                if capture is None
                else json.dumps(pack_capture(capture, add_source), default=str),
                source,
            ),
        )
        conn.executemany(
            "INSERT INTO params (run_id, key, value, type, num) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (run_id, key) DO NOTHING",
            [(run_id, key, *stored) for key, stored in copy["params"].items()],
        )
        conn.executemany(
            "INSERT INTO tags (run_id, key, value) VALUES (?, ?, ?) "
            "ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value",
            [(run_id, key, value) for key, value in copy["tags"].items()],
        )
        taken = [(Series(run_id, key), batch_of(pts)) for key, pts in copy["points"].items() if pts]
        if taken:
            _write_points(conn, taken)
        created = now_ms()
        conn.executemany(
            "INSERT INTO artifacts (run_id, path, version, sha256, size, media_type, created_at) "
            "VALUES (?, ?, (SELECT COALESCE(MAX(version), 0) + 1 FROM artifacts "
            "WHERE run_id = ? AND path = ?), ?, ?, ?, ?)",
            [
                (run_id, path, run_id, path, sha, size, media_type, created)
                for path, sha, size, media_type in copy["artifacts"]
            ],
        )
        server = remote["server"]
        _drop_other_links(conn, server, remote["remote_run_id"], run_id)
        conn.execute(
            "INSERT INTO remote_runs (run_id, server, remote_run_id, remote_experiment_id, "
            "origin, status, end_time, name, remote_state, synced_at) "
            "VALUES (?, ?, ?, ?, 'import', ?, ?, ?, ?, ?) ON CONFLICT (run_id, server) DO UPDATE "
            "SET remote_run_id = excluded.remote_run_id, "
            "remote_experiment_id = excluded.remote_experiment_id, status = excluded.status, "
            "end_time = excluded.end_time, name = excluded.name, "
            "remote_state = excluded.remote_state, synced_at = excluded.synced_at",
            (
                run_id,
                server,
                remote["remote_run_id"],
                remote["remote_experiment_id"],
                remote["status"],
                remote["end_time"],
                remote["name"],
                remote["remote_state"],
                created,
            ),
        )
        counts = dict(conn.execute("SELECT key, count FROM series WHERE run_id = ?", (run_id,)))
        _record_items(conn, run_id, server, counts, remote["values"])
        (state,) = _fingerprints(_on(conn), [run_id]).values()
        conn.execute(
            "UPDATE remote_runs SET local_state = ? WHERE run_id = ? AND server = ?",
            (state, run_id, server),
        )


def _drop_other_links(
    conn: sqlite3.Connection, server: str, remote_run_id: str, run_id: str
) -> None:
    """Forget links of other local runs (purged since) to the same remote run."""
    for (other,) in conn.execute(
        "SELECT run_id FROM remote_runs WHERE server = ? AND remote_run_id = ? AND run_id != ?",
        (server, remote_run_id, run_id),
    ).fetchall():
        conn.execute("DELETE FROM remote_runs WHERE run_id = ? AND server = ?", (other, server))
        _forget_items(conn, other, server)


def link_pushed_run(store: Store, run_id: str, remote: RemoteSide) -> None:
    """Link a run of this store found on ``remote`` (pushed by a ledger since lost), so
    later imports and pushes know it."""
    with store.write() as conn:
        _drop_other_links(conn, remote["server"], remote["remote_run_id"], run_id)
        conn.execute(
            "INSERT INTO remote_runs (run_id, server, remote_run_id, remote_experiment_id, "
            "origin, status, end_time, name, remote_state, synced_at) "
            "VALUES (?, ?, ?, ?, 'push', ?, ?, ?, ?, ?) ON CONFLICT (run_id, server) DO NOTHING",
            (
                run_id,
                remote["server"],
                remote["remote_run_id"],
                remote["remote_experiment_id"],
                remote["status"],
                remote["end_time"],
                remote["name"],
                remote["remote_state"],
                now_ms(),
            ),
        )
