"""The store's schema as an ordered list of migrations; the version lives in PRAGMA user_version."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable


def _v1_initial(db: sqlite3.Connection) -> None:
    _statements(
        db,
        """
        CREATE TABLE experiments (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            created_at INTEGER NOT NULL
        );
        CREATE TABLE runs (
            id TEXT PRIMARY KEY,
            experiment_id INTEGER NOT NULL REFERENCES experiments(id),
            name TEXT,
            status TEXT NOT NULL,
            start_time INTEGER NOT NULL,
            end_time INTEGER,
            parent_id TEXT,
            source_id INTEGER REFERENCES sources(id),
            error TEXT,
            host TEXT,
            pid INTEGER,
            pid_started REAL,
            heartbeat INTEGER,
            deleted INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX runs_by_status ON runs(status);
        CREATE INDEX runs_by_start ON runs(experiment_id, start_time);
        CREATE INDEX runs_by_parent ON runs(parent_id) WHERE parent_id IS NOT NULL;
        CREATE TABLE params (
            run_id TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            type TEXT NOT NULL,
            num REAL,
            PRIMARY KEY (run_id, key)
        ) WITHOUT ROWID;
        CREATE TABLE param_history (
            run_id TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            type TEXT NOT NULL,
            replaced_at INTEGER NOT NULL
        );
        CREATE INDEX param_history_by_run ON param_history(run_id, key);
        CREATE TABLE tags (
            run_id TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (run_id, key)
        ) WITHOUT ROWID;
        CREATE TABLE series (
            id INTEGER PRIMARY KEY,
            run_id TEXT NOT NULL,
            key TEXT NOT NULL,
            count INTEGER NOT NULL DEFAULT 0,
            last_step INTEGER,
            last_value REAL,
            last_time INTEGER,
            min REAL,
            max REAL,
            UNIQUE (run_id, key)
        );
        CREATE TABLE points (
            series_id INTEGER NOT NULL,
            seq INTEGER NOT NULL,
            step INTEGER NOT NULL,
            value REAL,
            time INTEGER NOT NULL,
            PRIMARY KEY (series_id, seq)
        ) WITHOUT ROWID;
        CREATE TABLE sources (
            id INTEGER PRIMARY KEY,
            sha256 TEXT NOT NULL UNIQUE,
            text TEXT NOT NULL
        );
        CREATE TABLE artifacts (
            run_id TEXT NOT NULL,
            path TEXT NOT NULL,
            version INTEGER NOT NULL,
            sha256 TEXT NOT NULL,
            size INTEGER NOT NULL,
            media_type TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (run_id, path, version)
        ) WITHOUT ROWID;
        CREATE INDEX artifacts_by_blob ON artifacts(sha256);
        """,
    )


def _statements(db: sqlite3.Connection, script: str) -> None:
    """Run ``;``-separated DDL one statement at a time: ``executescript`` would COMMIT the
    migration's transaction half way (Python's sqlite3 does that before a script)."""
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def _v2_notebook_capture(db: sqlite3.Connection) -> None:
    """Columns the notebook integration fills: where a run came from and what was captured."""
    _statements(
        db,
        """
        ALTER TABLE runs ADD COLUMN rerun_of TEXT;
        ALTER TABLE runs ADD COLUMN notebook TEXT;
        ALTER TABLE runs ADD COLUMN cell_id TEXT;
        ALTER TABLE runs ADD COLUMN capture TEXT;
        CREATE INDEX runs_by_cell ON runs(cell_id, start_time) WHERE cell_id IS NOT NULL
        """,
    )


def _v3_process_identity(db: sqlite3.Connection) -> None:
    """Liveness that tells machines and containers apart and ignores clock skew: the boot
    and pid namespace of a run's process, and when each observer last saw its heartbeat
    change (on the observer's own clock)."""
    _statements(
        db,
        """
        ALTER TABLE runs ADD COLUMN boot_id TEXT;
        ALTER TABLE runs ADD COLUMN pid_ns TEXT;
        CREATE TABLE heartbeats_seen (
            run_id TEXT NOT NULL,
            observer TEXT NOT NULL,
            heartbeat INTEGER,
            seen_at INTEGER NOT NULL,
            PRIMARY KEY (run_id, observer)
        ) WITHOUT ROWID
        """,
    )


def _v4_remote_runs(db: sqlite3.Connection) -> None:
    """The sync ledger: which local run is which run of an MLflow tracking server, and what
    of it the server holds, so a push or an import sends only what is new."""
    _statements(
        db,
        """
        CREATE TABLE remote_runs (
            run_id TEXT NOT NULL,
            server TEXT NOT NULL,
            remote_run_id TEXT,
            remote_experiment_id TEXT,
            origin TEXT NOT NULL,
            status TEXT,
            end_time INTEGER,
            name TEXT,
            local_state TEXT,
            remote_state TEXT,
            synced_at INTEGER NOT NULL,
            PRIMARY KEY (run_id, server)
        ) WITHOUT ROWID;
        CREATE UNIQUE INDEX remote_runs_by_remote ON remote_runs(server, remote_run_id);
        CREATE TABLE remote_series (
            run_id TEXT NOT NULL,
            server TEXT NOT NULL,
            key TEXT NOT NULL,
            points INTEGER NOT NULL,
            PRIMARY KEY (run_id, server, key)
        ) WITHOUT ROWID;
        CREATE TABLE remote_values (
            run_id TEXT NOT NULL,
            server TEXT NOT NULL,
            kind TEXT NOT NULL,
            key TEXT NOT NULL,
            digest TEXT NOT NULL,
            PRIMARY KEY (run_id, server, kind, key)
        ) WITHOUT ROWID
        """,
    )


def _v5_browsing_views(db: sqlite3.Connection) -> None:
    """Views for reading the store directly (sqlite-utils, Datasette, any SQLite client):
    one row a run with its params, latest metrics and tags as JSON; metrics' latest values;
    every metric point; the latest version of each artifact. Soft-deleted runs are left out;
    times are also shown as UTC text (ISO 8601)."""
    _statements(
        db,
        """
        CREATE VIEW runs_view AS
        SELECT r.id AS run_id, r.name, r.status, e.name AS experiment,
            strftime('%Y-%m-%dT%H:%M:%fZ', r.start_time / 1000.0, 'unixepoch') AS started,
            strftime('%Y-%m-%dT%H:%M:%fZ', r.end_time / 1000.0, 'unixepoch') AS ended,
            (r.end_time - r.start_time) / 1000.0 AS duration_s,
            r.parent_id, r.rerun_of, r.notebook, r.cell_id,
            (SELECT json_group_object(key, value) FROM params WHERE run_id = r.id) AS params,
            (SELECT json_group_object(key, last_value) FROM series WHERE run_id = r.id)
                AS metrics,
            (SELECT json_group_object(key, value) FROM tags WHERE run_id = r.id) AS tags,
            r.start_time, r.end_time
        FROM runs r JOIN experiments e ON e.id = r.experiment_id
        WHERE r.deleted = 0;
        CREATE VIEW metrics_latest AS
        SELECT s.run_id, r.name AS run_name, s.key, s.last_value AS value, s.last_step AS step,
            strftime('%Y-%m-%dT%H:%M:%fZ', s.last_time / 1000.0, 'unixepoch') AS logged_at,
            s.count AS points, s.min, s.max
        FROM series s JOIN runs r ON r.id = s.run_id
        WHERE r.deleted = 0;
        CREATE VIEW metric_history AS
        SELECT s.run_id, s.key, p.seq, p.step, p.value, p.time AS timestamp,
            strftime('%Y-%m-%dT%H:%M:%fZ', p.time / 1000.0, 'unixepoch') AS logged_at
        FROM points p JOIN series s ON s.id = p.series_id JOIN runs r ON r.id = s.run_id
        WHERE r.deleted = 0;
        CREATE VIEW artifacts_latest AS
        SELECT a.run_id, a.path, a.version, a.size, a.media_type, a.sha256,
            strftime('%Y-%m-%dT%H:%M:%fZ', a.created_at / 1000.0, 'unixepoch') AS created
        FROM artifacts a JOIN runs r ON r.id = a.run_id
        WHERE r.deleted = 0 AND a.version = (SELECT MAX(version) FROM artifacts
            WHERE run_id = a.run_id AND path = a.path)
        """,
    )


def _v6_sorted_pages(db: sqlite3.Connection) -> None:
    """Listings that cost a page, not the store: indexes that hand out runs already sorted
    by start time (the default order) and by a metric's latest value, notebook runs apart;
    each experiment's count of runs (not deleted) kept by triggers, so counting every run
    reads one row per experiment; and a summary of every full block of ``POINT_BLOCK``
    points of a series (its lowest and highest point, its first NaN), so a long curve is
    downsampled from the summaries, not from every point. (An index led by the key, for
    params or tags, would dirty one page per key of every run logged: their sorts read every
    run instead.)"""
    _statements(
        db,
        """
        CREATE INDEX runs_by_time ON runs(start_time);
        CREATE INDEX runs_by_notebook ON runs(notebook) WHERE notebook IS NOT NULL;
        CREATE INDEX series_by_value ON series(key, last_value);
        CREATE TABLE run_counts (
            experiment_id INTEGER PRIMARY KEY,
            runs INTEGER NOT NULL
        );
        INSERT INTO run_counts (experiment_id, runs)
            SELECT experiment_id, COUNT(*) FROM runs WHERE deleted = 0 GROUP BY experiment_id;
        CREATE TABLE point_blocks (
            series_id INTEGER NOT NULL,
            block INTEGER NOT NULL,
            lo_seq INTEGER,
            lo REAL,
            hi_seq INTEGER,
            hi REAL,
            nan_seq INTEGER,
            PRIMARY KEY (series_id, block)
        ) WITHOUT ROWID
        """,
    )
    db.execute(  # a purged series takes its summaries along (its id may be reused)
        "CREATE TRIGGER point_blocks_purge AFTER DELETE ON series "
        "BEGIN DELETE FROM point_blocks WHERE series_id = OLD.id; END"
    )
    add = (  # one more run (not deleted) in NEW's experiment
        "INSERT INTO run_counts (experiment_id, runs) SELECT NEW.experiment_id, 1 "
        "WHERE NEW.deleted = 0 ON CONFLICT (experiment_id) DO UPDATE SET runs = runs + 1;"
    )
    remove = (
        "UPDATE run_counts SET runs = runs - 1 "
        "WHERE experiment_id = OLD.experiment_id AND OLD.deleted = 0;"
    )
    for trigger in (  # a trigger's body holds ';': one statement each
        f"CREATE TRIGGER run_counts_insert AFTER INSERT ON runs BEGIN {add} END",
        f"CREATE TRIGGER run_counts_delete AFTER DELETE ON runs BEGIN {remove} END",
        "CREATE TRIGGER run_counts_update AFTER UPDATE OF deleted, experiment_id ON runs "
        f"BEGIN {remove} {add} END",
    ):
        db.execute(trigger)
    _key_counts(db)


def _key_counts(db: sqlite3.Connection) -> None:
    """``key_counts``: how many runs (not deleted) have each param, metric and tag key, kept
    by triggers, so the keys of every run are read without reading every run."""
    db.execute(
        "CREATE TABLE key_counts (kind TEXT NOT NULL, key TEXT NOT NULL, "
        "runs INTEGER NOT NULL, PRIMARY KEY (kind, key)) WITHOUT ROWID"
    )
    live = "EXISTS (SELECT 1 FROM runs WHERE id = {row}.run_id AND deleted = 0)"
    for kind, table in (("params", "params"), ("metrics", "series"), ("tags", "tags")):
        db.execute(
            f"INSERT INTO key_counts (kind, key, runs) SELECT '{kind}', x.key, COUNT(*) "  # noqa: S608
            f"FROM {table} x JOIN runs r ON r.id = x.run_id AND r.deleted = 0 GROUP BY x.key"
        )
        add = (
            f"INSERT INTO key_counts (kind, key, runs) SELECT '{kind}', NEW.key, 1 "
            f"WHERE {live.format(row='NEW')} "
            "ON CONFLICT (kind, key) DO UPDATE SET runs = runs + 1;"
        )
        remove = (
            f"UPDATE key_counts SET runs = runs - 1 WHERE kind = '{kind}' AND key = OLD.key "  # noqa: S608
            f"AND {live.format(row='OLD')};"
        )
        db.execute(f"CREATE TRIGGER {table}_keys_insert AFTER INSERT ON {table} BEGIN {add} END")
        db.execute(f"CREATE TRIGGER {table}_keys_delete AFTER DELETE ON {table} BEGIN {remove} END")
        db.execute(  # a run deleted or restored: its keys counted out or in
            f"CREATE TRIGGER {table}_keys_lifecycle AFTER UPDATE OF deleted ON runs "  # noqa: S608
            "WHEN OLD.deleted != NEW.deleted BEGIN "
            f"INSERT INTO key_counts (kind, key, runs) SELECT '{kind}', key, 1 FROM {table} "
            "WHERE run_id = NEW.id AND NEW.deleted = 0 "
            "ON CONFLICT (kind, key) DO UPDATE SET runs = runs + 1; "
            f"UPDATE key_counts SET runs = runs - 1 WHERE NEW.deleted = 1 AND kind = '{kind}' "
            f"AND key IN (SELECT key FROM {table} WHERE run_id = NEW.id); END"
        )


POINT_BLOCK = 1024  # points per summarized block of a series (``point_blocks``)

MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [
    _v1_initial,
    _v2_notebook_capture,
    _v3_process_identity,
    _v4_remote_runs,
    _v5_browsing_views,
    _v6_sorted_pages,
]
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(conn: sqlite3.Connection) -> int:
    """The schema version recorded in the database (0 for a new, empty one)."""
    return conn.execute("PRAGMA user_version").fetchone()[0]


def migrate(conn: sqlite3.Connection, upto: int | None = None) -> int:
    """Run the migrations after the recorded version, inside the caller's write transaction.

    Plain SQL on the caller's connection: creating a store imports nothing (sqlite-utils
    would import pandas while the first write holds the lock)."""
    current = schema_version(conn)
    for version in range(current + 1, (len(MIGRATIONS) if upto is None else upto) + 1):
        MIGRATIONS[version - 1](conn)
        conn.execute(f"PRAGMA user_version = {int(version)}")
    return current
