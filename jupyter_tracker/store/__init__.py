"""The local store: one SQLite database (WAL) plus content-addressed artifact blobs.

It owns every SQL statement and every file the tracker writes under the store directory;
nothing here imports IPython, widgets, plotly or pandas (a test proves it).
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from .._paths import is_inside, open_regular
from ..errors import (
    InvalidInputError,
    RunNotFoundError,
    StoreDamagedError,
    StoreGoneError,
    StoreReadOnlyError,
    StoreVersionError,
    TrackerError,
)
from . import _schema
from ._location import find_store_dir

__all__ = ["Store", "find_store_dir", "now_ms"]

DB_NAME = "store.db"
BLOB_DIR = "blobs"
BUSY_TIMEOUT_S = 60.0
# SQLite's page cache per connection (KiB; it grows only as pages are read, up to this):
# a search over 100,000 runs reads its lookups from here rather than from the OS (2 MB by
# default: the run time of a 60% filter grows 16x from 10,000 to 100,000 runs, with 64 MB 11x).
CACHE_KIB = 65_536
# WAL pages after which a commit copies the WAL into the database file itself (SQLite's
# default is 1,000). The writer's thread does that copying every second instead (see
# ``checkpoint``), so a caller's commit (a run's start and end) does not pay for it; this is
# only the bound for a WAL that thread cannot keep short (about 40 MB).
AUTOCHECKPOINT_PAGES = 10_000
HEARTBEAT_INTERVAL_S = 15.0
HEARTBEAT_GRACE_S = 300.0
_SHA256 = re.compile(r"[0-9a-f]{64}")
HOST = os.uname().nodename if hasattr(os, "uname") else os.environ.get("COMPUTERNAME", "")


def _read_first_line(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.readline().strip() or None
    except OSError:
        return None


def _pid_namespace() -> str | None:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return None


BOOT_ID = _read_first_line("/proc/sys/kernel/random/boot_id")
PID_NS = _pid_namespace()
OBSERVER = f"{HOST}/{BOOT_ID}/{PID_NS}"  # who timed a foreign heartbeat, on its own clock


def process_identity() -> tuple[str, str | None, str | None, int, float | None]:
    """(host, boot id, pid namespace, pid, pid start time) of this process: what liveness
    checks compare (a container with the same host name is another namespace)."""
    pid = os.getpid()
    if _IDENTITY.get(pid) is None:  # once per process (a forked child is a new pid)
        _IDENTITY.clear()
        _IDENTITY[pid] = (HOST, BOOT_ID, PID_NS, pid, process_started(pid))
    return _IDENTITY[pid]


_IDENTITY: dict[int, tuple[str, str | None, str | None, int, float | None]] = {}


def now_ms() -> int:
    """Milliseconds since the epoch, the unit of every time the store keeps (as MLflow)."""
    return int(time.time() * 1000)


def process_started(pid: int) -> float | None:
    """When process ``pid`` started (clock ticks since boot), to tell it from a reused pid."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return float(f.read().rsplit(b")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def _pid_alive(pid: int, started: float | None) -> bool:
    """Whether process ``pid`` still runs: not gone, not a zombie, not a reused pid."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return True  # no /proc here: the signal check is all we have
    if fields[0] == b"Z":  # exited, not yet reaped by its parent
        return False
    return started is None or float(fields[19]) == started


MAX_BOUND = 900  # bound parameters per statement, under SQLite's limit

Query = Callable[[str, list[Any]], list[tuple[Any, ...]]]  # run one statement, its rows


def in_chunks(
    query: Query, select: str, values: Iterable[Any], args: Iterable[Any] = ()
) -> list[tuple[Any, ...]]:
    """Rows of ``select`` (ending in ``IN``) for ``values``, in chunks of bound ``?`` marks
    after ``args`` (nothing pasted): the one way every store query reads a list of ids."""
    items, fixed = list(values), list(args)
    rows: list[tuple[Any, ...]] = []
    for i in range(0, len(items), MAX_BOUND):
        chunk = items[i : i + MAX_BOUND]
        rows += query(f"{select} ({','.join('?' * len(chunk))})", [*fixed, *chunk])
    return rows


def _is_damage(exc: sqlite3.DatabaseError) -> bool:
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text or "corrupt" in text


def _is_busy(exc: Exception) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _retrying(action, deadline_s: float = BUSY_TIMEOUT_S):
    """Run ``action`` again while SQLite answers busy/locked, so users never see it."""
    deadline = time.monotonic() + deadline_s
    delay = 0.005
    while True:
        try:
            return action()
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.25)


def _touch(blob: Path) -> bool:
    """Mark an existing blob as just used (so ``gc`` spares it); False if it is missing."""
    try:
        os.utime(blob)
    except FileNotFoundError:
        return False
    return True


class Store:
    """A store directory. ``Store.open(path)`` prepares it; the constructor does nothing."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.db_path = self.path / DB_NAME
        self.blob_dir = self.path / BLOB_DIR
        self._local = threading.local()
        self._flushers: list = []
        self.crashed_on_open: list[str] = []
        self.damaged: str | None = None  # what SQLite said when it found the file damaged
        self.read_only = False  # set by open(): the folder or the database is not writable

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    @classmethod
    def open(cls, path: Path | str | None = None) -> Store:
        """Open (creating or upgrading if needed) the store at ``path`` or the default one."""
        store = cls(Path(path).expanduser().resolve() if path else find_store_dir())
        if not store.path.is_dir():
            store.path.mkdir(parents=True, exist_ok=True)
            (store.path / ".gitignore").write_text("# jupyter-tracker's store: not for git\n*\n")
        store.read_only = store.db_path.exists() and not (
            os.access(store.path, os.W_OK) and os.access(store.db_path, os.W_OK)
        )
        if store.read_only:  # a read-only mount or another user's store: read it as it is
            return store
        store._upgrade()
        store.crashed_on_open = store.mark_crashed()
        return store

    # -- connections and transactions -------------------------------------------------

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (SQLite connections must not cross threads)."""
        conn = getattr(self._local, "conn", None)
        if conn is None and self.read_only:
            # No WAL index can be made here: read the file as a snapshot.
            conn = sqlite3.connect(
                f"{self.db_path.as_uri()}?immutable=1",
                uri=True,
                isolation_level=None,
                check_same_thread=False,
            )
            self._local.conn = conn
            self._local.inode = os.stat(self.db_path).st_ino
        elif conn is None:
            conn = sqlite3.connect(
                self.db_path,
                timeout=BUSY_TIMEOUT_S,
                isolation_level=None,
                check_same_thread=False,
            )
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            _retrying(lambda: conn.execute("PRAGMA journal_mode = WAL").fetchone())
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute(f"PRAGMA cache_size = {-CACHE_KIB}")
            conn.execute(f"PRAGMA wal_autocheckpoint = {AUTOCHECKPOINT_PAGES}")
            self._local.conn = conn
            self._local.inode = os.stat(self.db_path).st_ino
        return conn

    def _check_present(self, conn: sqlite3.Connection) -> None:
        """Refuse to go on writing to (or reading from) a database file that was deleted."""
        try:
            inode = os.stat(self.db_path).st_ino
        except FileNotFoundError:
            inode = None
        if inode != self._local.inode:
            raise StoreGoneError(str(self.path))

    def forget_connections(self) -> None:
        """Drop (without closing) the connections inherited from a parent process: a SQLite
        connection must not cross a fork."""
        self._local = threading.local()

    def close(self) -> None:
        """Close this thread's connection (others close when their thread ends)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``): all of it lands or none of it.

        Once SQLite reports the file damaged, every later write is refused at once
        (``StoreDamagedError``) rather than carried on into a corrupt database."""
        if self.damaged is not None:
            raise StoreDamagedError(str(self.path), self.damaged)
        if self.read_only:
            raise StoreReadOnlyError(str(self.path))
        try:
            conn = self.connection()
            self._check_present(conn)
            _retrying(lambda: conn.execute("BEGIN IMMEDIATE"))
            try:
                yield conn
                _retrying(lambda: conn.execute("COMMIT"))
            except BaseException:
                if conn.in_transaction:  # SQLite may have rolled back already (disk full)
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.DatabaseError as exc:
            if _is_damage(exc):
                self.damaged = str(exc)
                raise StoreDamagedError(str(self.path), self.damaged) from exc
            raise

    def checkpoint(self) -> None:
        """Copy the WAL's committed pages into the database file, waiting for no one (a
        reader in the way leaves the rest for the next time)."""
        self.connection().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    def read(self, sql: str, args: tuple | list = ()) -> list[tuple]:
        """Rows of one read query, after this process's pending writes.

        If those cannot be written now (a full disk), they stay buffered, a warning says so,
        and the read still answers from what is stored.
        """
        try:
            self.flush()
        except StoreGoneError:
            raise
        except Exception as exc:
            warnings.warn(
                f"jupyter-tracker could not write to {self.path} ({exc}); the data stays "
                "buffered and is retried every second.",
                RuntimeWarning,
                stacklevel=2,
            )
        conn = self.connection()
        self._check_present(conn)
        return _retrying(lambda: conn.execute(sql, args).fetchall())

    def add_flusher(self, flush) -> None:
        """Register a callable that writes pending data; reads call it first."""
        self._flushers.append(flush)

    def flush(self) -> None:
        """Write everything this process has buffered for this store."""
        for flush in self._flushers:
            flush()

    # -- schema -----------------------------------------------------------------------

    def schema_version(self) -> int:
        """The schema version of the database on disk."""
        return _schema.schema_version(self.connection())

    def _upgrade(self) -> None:
        found = self.schema_version()
        if found > _schema.SCHEMA_VERSION:
            raise StoreVersionError(str(self.path), found, _schema.SCHEMA_VERSION)
        if found == _schema.SCHEMA_VERSION:
            return
        with self.write() as conn:
            found = _schema.schema_version(conn)  # another process may have done it
            if found > _schema.SCHEMA_VERSION:
                raise StoreVersionError(str(self.path), found, _schema.SCHEMA_VERSION)
            _schema.migrate(conn)
            conn.execute(
                "INSERT OR IGNORE INTO experiments (id, name, created_at) VALUES (0, ?, ?)",
                ("Default", now_ms()),
            )

    # -- liveness ---------------------------------------------------------------------

    def mark_crashed(self) -> list[str]:
        """Mark RUNNING runs whose process is gone CRASHED; their ids.

        A run of this machine, boot and pid namespace is gone when its process is (gone, a
        zombie, or its pid reused); a run from a machine booted since is gone. A run from
        elsewhere (another host, container or boot we cannot see into) is gone when its
        heartbeat has not changed for the grace period, as timed by this observer's own
        clock: the two clocks are never compared, so skew cannot crash a live run.
        """
        rows = _retrying(
            lambda: (
                self.connection()
                .execute(
                    "SELECT r.id, r.host, r.boot_id, r.pid_ns, r.pid, r.pid_started, "
                    "r.heartbeat, s.heartbeat, s.seen_at FROM runs r LEFT JOIN heartbeats_seen s "
                    "ON s.run_id = r.id AND s.observer = ? WHERE r.status = 'RUNNING'",
                    (OBSERVER,),
                )
                .fetchall()
            )
        )
        now = now_ms()
        dead, seen = [], []
        for run_id, host, boot, pid_ns, pid, started, beat, seen_beat, seen_at in rows:
            here = host == HOST and boot in (BOOT_ID, None) and pid_ns in (PID_NS, None)
            if here and pid is not None:
                if not _pid_alive(pid, started):
                    dead.append(run_id)
            elif host == HOST and boot is not None and BOOT_ID is not None and boot != BOOT_ID:
                dead.append(run_id)  # this machine rebooted since
            elif seen_at is None or seen_beat != beat:
                seen.append((run_id, OBSERVER, beat, now))
            elif now - seen_at > HEARTBEAT_GRACE_S * 1000:
                dead.append(run_id)
        if dead or seen:
            with self.write() as conn:
                conn.executemany(
                    "INSERT INTO heartbeats_seen (run_id, observer, heartbeat, seen_at) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT (run_id, observer) DO UPDATE SET "
                    "heartbeat = excluded.heartbeat, seen_at = excluded.seen_at",
                    seen,
                )
                conn.executemany(  # it ended when it was last heard of: beat or metric point
                    "UPDATE runs SET status = 'CRASHED', end_time = MAX(COALESCE(heartbeat, "
                    "start_time), COALESCE((SELECT MAX(last_time) FROM series "
                    "WHERE series.run_id = runs.id), 0)) WHERE id = ? AND status = 'RUNNING'",
                    [(run_id,) for run_id in dead],
                )
                conn.executemany(
                    "DELETE FROM heartbeats_seen WHERE run_id = ?", [(run_id,) for run_id in dead]
                )
        return dead

    # -- lookups ----------------------------------------------------------------------

    def experiment_id(self, name: str, create: bool = True) -> int | None:
        """The id of experiment ``name``, created on first use when ``create``."""
        rows = self.read("SELECT id FROM experiments WHERE name = ?", (name,))
        if rows or not create:
            return rows[0][0] if rows else None
        with self.write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO experiments (name, created_at) VALUES (?, ?)",
                (name, now_ms()),
            )
            return conn.execute("SELECT id FROM experiments WHERE name = ?", (name,)).fetchone()[0]

    def resolve_run_id(self, run_id: str) -> str:
        """The full id of the run ``run_id`` names (a whole id or a unique prefix)."""
        if not isinstance(run_id, str) or not run_id:
            raise RunNotFoundError(str(run_id))
        rows = self.read("SELECT id FROM runs WHERE id = ?", (run_id,))
        if rows:
            return rows[0][0]
        if len(run_id) >= 4 and all(c in "0123456789abcdef" for c in run_id):
            rows = self.read(
                "SELECT id FROM runs WHERE id >= ? AND id < ? LIMIT 2",
                (run_id, run_id + "g"),
            )
            if len(rows) == 1:
                return rows[0][0]
            if len(rows) > 1:
                raise TrackerError(f"Run id prefix {run_id!r} is ambiguous; give more of it.")
        raise RunNotFoundError(run_id)

    # -- blobs ------------------------------------------------------------------------

    def blob_path(self, sha256: str) -> Path:
        """Where the blob with this content hash lives; a clear error for anything that is
        not a sha256 (a tampered ``artifacts`` row cannot name a file elsewhere)."""
        if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
            raise InvalidInputError(
                f"{sha256!r} is not a content hash; this store's artifact table was altered."
            )
        return self.blob_dir / sha256[:2] / sha256[2:]

    def open_blob(self, sha256: str, size: int | None = None) -> BinaryIO:
        """The blob with this content hash, opened for reading: a regular file inside the
        store (no link followed, nothing that blocks), at most ``size`` bytes when given."""
        blob = self.blob_path(sha256)
        if not is_inside(blob.parent, self.path):
            raise InvalidInputError(f"{blob.parent} leads outside the store through a symlink.")
        return open_regular(blob, size)

    def put_blob(self, data: bytes) -> str:
        """Store ``data`` once by content; its sha256."""
        import hashlib

        sha = hashlib.sha256(data).hexdigest()
        target = self.blob_path(sha)
        if not _touch(target):
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f"{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, target)
        return sha

    def put_blob_file(self, source: Path) -> tuple[str, int]:
        """Store a regular file's bytes once by content, streaming; its sha256 and size.
        (A FIFO, device or folder is refused before anything is written.)"""
        import hashlib

        digest = hashlib.sha256()
        with open_regular(os.path.realpath(source)) as src:
            self.blob_dir.mkdir(parents=True, exist_ok=True)
            tmp = self.blob_dir / f"incoming.{os.getpid()}.{threading.get_ident()}.tmp"
            size = 0
            try:
                with open(tmp, "wb") as dst:
                    while chunk := src.read(1 << 20):
                        digest.update(chunk)
                        dst.write(chunk)
                        size += len(chunk)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
        sha = digest.hexdigest()
        target = self.blob_path(sha)
        if _touch(target):
            tmp.unlink()
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, target)
        return sha, size
