"""Batched writes: metric points and run changes buffered in memory, written by one thread.

A ``log_metric`` call only appends to a list; a background thread writes what piled up at
least every second, in one transaction. Reads, run ends and interpreter exit flush too,
so a crash loses at most the last second and an acknowledged call is never lost.
"""

from __future__ import annotations

import itertools
import sqlite3
import threading
import time
import warnings
from collections.abc import Callable

from .._limits import storable
from ..errors import StoreDamagedError, StoreGoneError
from . import HEARTBEAT_INTERVAL_S, Store, _is_busy, in_chunks, now_ms
from ._schema import POINT_BLOCK

FLUSH_INTERVAL_S = 1.0
# Points a process may hold unwritten; beyond this the logging call writes them itself
# (about a third of a second of writing on a small machine).
MAX_PENDING_POINTS = 100_000
BUSY_WARNING_S = 300.0  # the store busy with other writers this long is worth a warning


Point = tuple[int, float, int]  # (step, value, time in ms)
Batch = tuple[list[int], list[float], list[int]]  # points as columns: steps, values, times


def batch_of(points: list[Point]) -> Batch:
    """Points as the columns a flush writes."""
    steps, values, times = zip(*points, strict=True) if points else ((), (), ())
    return list(steps), list(values), list(times)


class Series:
    """One metric of one run: its pending points (as columns) and what the live view needs.

    Points go in through ``append`` and out through ``take``, under the writer's lock, so no
    point is lost or written twice whichever threads log and flush (no reliance on the GIL).
    """

    __slots__ = (
        "run_id",
        "key",
        "id",
        "_steps",
        "_values",
        "_times",
        "_writer",
        "_home",
        "next_step",
        "last",
    )

    def __init__(self, run_id: str, key: str, next_step: int = 0, last: Point | None = None):
        self.run_id, self.key = run_id, key
        self.id: int | None = None
        self._steps: list[int] = []
        self._values: list[float] = []
        self._times: list[int] = []
        self._writer: Writer | None = None  # set by Writer.add_series, unset by drop_series
        self._home: Writer | None = None  # the writer it was added to
        self.next_step = next_step
        self.last = last  # the point at the highest step (the later of equal steps)

    def append(self, step: int, value: float, time_ms: int) -> None:
        """Queue one point for the next flush. A full buffer writes itself first
        (back-pressure), so memory stays bounded whatever the logging rate."""
        writer = self._writer
        if writer is None:  # dropped when its run ended: logged to again, written again
            writer = self._rejoin()
        with writer.points_lock:
            self._steps.append(step)
            self._values.append(value)
            self._times.append(time_ms)
            last = self.last
            if last is None or step >= last[0]:
                self.last = (step, value, time_ms)
            writer.pending += 1
            full = writer.pending >= writer.flush_at
            dropped = self._writer is None  # its run ended meanwhile, in another thread
        if dropped:
            self._rejoin()
        if full:
            writer.flush_waiting()

    def _rejoin(self) -> Writer:
        """Be written again by the writer it was added to (points logged after its run
        ended), until a flush has written them."""
        home = self._home
        assert home is not None, "add the series to a writer first"
        with home._thread_lock:
            if self._writer is None:
                self._writer = home
                home._series.append(self)
                home._leaving.add(self)
                home._ensure_thread()
        return home

    def take(self) -> Batch:
        """The queued points, leaving none queued (under the writer's lock)."""
        batch = self._steps, self._values, self._times
        self._steps, self._values, self._times = [], [], []
        return batch

    def put_back(self, batch: Batch) -> None:
        """Queue ``batch`` again ahead of points appended since it was taken (under the
        writer's lock)."""
        self._steps[:0], self._values[:0], self._times[:0] = batch


class Writer:
    """The one writer of a store in this process."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._ops: list[tuple[str, tuple]] = []
        self._series: list[Series] = []
        self.running: set[str] = set()
        self._sources: set[str] = set()
        self._leaving: set[Series] = set()  # ended runs' series, dropped once written
        self._last_source: tuple[str | None, str] = (None, "")  # (text, its sha256)
        self.pending = 0  # points queued in all series
        self.flush_at = MAX_PENDING_POINTS  # 1 in a forked child: every call is written
        self._new_locks()
        self._thread: threading.Thread | None = None
        self._last_heartbeat = time.monotonic()
        # Called by the writer's thread before each flush (system metrics sample there).
        self.tickers: list[Callable[[], None]] = []
        store.add_flusher(self.flush)

    def _new_locks(self) -> None:
        self._flush_lock = threading.Lock()
        self._thread_lock = threading.Lock()  # the thread starts with work, stops when idle
        self.points_lock = threading.Lock()

    def after_fork_in_child(self) -> None:
        """In a forked child: fresh locks (a parent's thread may have held one), no thread,
        nothing queued (the parent writes what it had), its own connections; and every call
        written before it returns, since a child may be ended at any moment (a pool's
        ``terminate``) without running exit handlers."""
        self.flush_at = 1
        self._new_locks()
        self._thread = None
        self._ops = []
        for series in self._series:
            series.take()
        self.pending = 0
        self.store.forget_connections()

    def execute(self, sql: str, args: tuple = ()) -> None:
        """Queue one statement; it runs, in order, in the next flush's transaction."""
        with self._thread_lock:
            self._ops.append((sql, args))
            self._ensure_thread()
        if self.flush_at == 1:
            self.flush_waiting()

    def add_source(self, text: str) -> str:
        """Queue ``text`` for the deduplicated sources table (once per process); its sha256."""
        import hashlib

        if self._last_source[0] is text:  # a script's runs: the same text each time
            return self._last_source[1]
        given, text = text, storable(text)
        sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
        if sha not in self._sources:
            self._sources.add(sha)
            self.execute("INSERT OR IGNORE INTO sources (sha256, text) VALUES (?, ?)", (sha, text))
        self._last_source = (given, sha)
        return sha

    def add_series(self, series: Series) -> Series:
        """Make ``series``' points part of every flush from now on."""
        series._writer = series._home = self
        with self._thread_lock:
            self._series.append(series)
            if series.run_id not in self.running:  # an ended run's: dropped once written
                self._leaving.add(series)
            self._ensure_thread()
        return series

    def drop_series(self, run_id: str) -> None:
        """Stop watching a finished run's metrics (after its final flush)."""
        with self._thread_lock, self.points_lock:
            for s in self._series:
                if s.run_id == run_id:
                    self._leaving.add(s)
        self._drop_written()

    def _drop_written(self) -> None:
        """Stop watching the series of ended runs that have nothing queued (a later point
        adds one back); those with points queued go once a flush has written them."""
        with self._thread_lock, self.points_lock:
            gone = {s for s in self._leaving if not s._steps and s.run_id not in self.running}
            if gone:
                self._leaving -= gone
                for s in gone:
                    s._writer = None
                self._series = [s for s in self._series if s not in gone]

    def _ensure_thread(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._loop, name="jupyter-tracker-writer", daemon=True
            )
            self._thread.start()

    def _idle(self) -> bool:
        return not self.running and not self._ops and not self.pending

    def _loop(self) -> None:
        """Flush and checkpoint every second while there is work; stop when nothing runs or
        waits. A store busy with other writers is waited for quietly (the data stays
        buffered, bounded by back-pressure); only a wait longer than ``BUSY_WARNING_S`` is
        reported."""
        written = time.monotonic()
        while True:
            time.sleep(FLUSH_INTERVAL_S)
            for tick in list(self.tickers):
                tick()
            try:
                self.flush()
                written = time.monotonic()
                self.store.checkpoint()  # here, not in the commits of the callers
            except (StoreGoneError, StoreDamagedError) as exc:  # say so once and stop
                with self._thread_lock:
                    self._thread = None
                warnings.warn(str(exc), RuntimeWarning, stacklevel=1)
                return
            except Exception as exc:  # keep the data and try again next second
                if (
                    isinstance(exc, sqlite3.OperationalError)
                    and _is_busy(exc)
                    and (time.monotonic() - written < BUSY_WARNING_S)
                ):
                    continue
                warnings.warn(
                    f"jupyter-tracker could not write to {self.store.path}: {exc}",
                    RuntimeWarning,
                    stacklevel=1,
                )
                continue
            with self._thread_lock:
                if self._idle():
                    self._thread = None
                    return

    def flush_waiting(self) -> None:
        """``flush`` for a call that must not return before its data is written (a full
        buffer, a run's start or end): while other writers keep the store busy it waits,
        however long, rather than pass "database is locked" on to the user."""
        while True:
            try:
                return self.flush()
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc):
                    raise

    def flush(self) -> None:
        """Write every buffered statement and point in one transaction."""
        with self._flush_lock:
            with self._thread_lock:
                ops, self._ops = self._ops, []
                series = list(self._series)
            with self.points_lock:
                taken = [(s, batch) for s in series if (batch := s.take())[0]]
                self.pending -= sum(len(batch[0]) for _, batch in taken)
            heartbeat = (
                self.running and time.monotonic() - self._last_heartbeat >= HEARTBEAT_INTERVAL_S
            )
            if not ops and not taken and not heartbeat:
                return
            try:
                with self.store.write() as conn:
                    for sql, group in itertools.groupby(ops, key=lambda op: op[0]):
                        conn.executemany(sql, [args for _, args in group])
                    new_ids = _write_points(conn, taken) if taken else {}
                    if heartbeat:
                        now = now_ms()
                        conn.executemany(
                            "UPDATE runs SET heartbeat = ? WHERE id = ?",
                            [(now, run_id) for run_id in self.running],
                        )
            except BaseException:  # as before the flush: nothing taken, no id kept
                with self._thread_lock:
                    self._ops[:0] = ops
                with self.points_lock:
                    for s, batch in taken:
                        s.put_back(batch)
                    self.pending += sum(len(batch[0]) for _, batch in taken)
                raise
            for s, series_id in new_ids.items():  # ids of series created by this commit
                s.id = series_id
            if self._leaving:
                self._drop_written()
            if heartbeat:
                self._last_heartbeat = time.monotonic()


def _write_points(conn, taken: list[tuple[Series, Batch]]) -> dict[Series, int]:
    """Append each series' points after its stored ones and update the per-series summary
    (count, min, max, and as the latest value the point at the highest step, the later one
    of equal steps, as MLflow); the ids of the series this (re)created, kept by the caller
    only once the commit lands.

    A handful of statements per flush, and one per run with new series: the sequence numbers
    and summaries are read inside the write transaction, so two processes appending to the
    same run's metric cannot collide. A known id is trusted only while its row still names
    the same run and key (``gc`` may have purged it, and SQLite may reuse the id). The rows
    are zipped from the batch's columns in C (SQLite stores a NaN value as NULL).
    """
    summaries = _summaries(conn, [s.id for s, _ in taken if s.id is not None])
    stale = [
        (s, batch)
        for s, batch in taken
        if s.id is None or summaries.get(s.id, (None, None))[:2] != (s.run_id, s.key)
    ]
    new_ids: dict[Series, int] = {}
    if stale:  # created with its latest point (its index entry written once)
        conn.executemany(
            "INSERT OR IGNORE INTO series (run_id, key, last_step, last_value, last_time) "
            "VALUES (?, ?, ?, ?, ?)",
            [(s.run_id, s.key, *_latest(batch)) for s, batch in stale],
        )
        by_run: dict[str, list[Series]] = {}
        for s, _ in stale:
            by_run.setdefault(s.run_id, []).append(s)
        for run_id, created in by_run.items():  # their ids and summaries (or another's)
            stored = {
                row[1]: row
                for row in conn.execute(
                    "SELECT id, key, count, min, max, last_step, last_value, last_time "
                    "FROM series WHERE run_id = ?",
                    (run_id,),
                )
            }
            for s in created:
                sid, _, *summary = stored[s.key]
                new_ids[s] = sid
                summaries[sid] = (run_id, s.key, *summary)
    updates, blocks, rows = [], [], []
    for s, (steps, values, times) in taken:
        sid = new_ids.get(s) or s.id
        assert sid is not None  # every series has an id once created above
        _, _, count, lo, hi, *last = summaries[sid]
        rows.append(zip(itertools.repeat(sid), itertools.count(count), steps, values, times))
        total = sum(values)
        numbers = values if total == total else [v for v in values if v == v]  # no NaN
        if numbers:
            lo = min(numbers) if lo is None else min(lo, min(numbers))
            hi = max(numbers) if hi is None else max(hi, max(numbers))
        latest = _latest((steps, values, times))
        if last[0] is None or latest[0] >= last[0]:
            last = latest
        updates.append((count + len(steps), *last, lo, hi, sid))
        # another handle's points for the same series in this flush go after these
        summaries[sid] = (s.run_id, s.key, count + len(steps), lo, hi, *last)
        filled = range(count // POINT_BLOCK, (count + len(steps)) // POINT_BLOCK)
        blocks += [(sid, block) for block in filled]
    conn.executemany(
        "INSERT INTO points (series_id, seq, step, value, time) VALUES (?, ?, ?, ?, ?)",
        itertools.chain.from_iterable(rows),
    )
    conn.executemany(
        "UPDATE series SET count = ?, last_step = ?, last_value = ?, last_time = ?, "
        "min = ?, max = ? WHERE id = ?",
        updates,
    )
    conn.executemany(_SUMMARIZE_BLOCK, blocks)
    return new_ids


_IN_BLOCK = f"series_id = ?1 AND seq >= ?2 * {POINT_BLOCK} AND seq < (?2 + 1) * {POINT_BLOCK}"
# A block that this flush filled: its lowest point, highest point (the first of equals: a
# lone MIN or MAX gives its row's seq) and first NaN, read back from the points just written.
_SUMMARIZE_BLOCK = (
    "INSERT OR REPLACE INTO point_blocks "  # noqa: S608 (fixed text)
    "(series_id, block, lo_seq, lo, hi_seq, hi, nan_seq) SELECT ?1, ?2, a.seq, a.v, b.seq, b.v, "
    f"(SELECT MIN(seq) FROM points WHERE {_IN_BLOCK} AND value IS NULL) "
    f"FROM (SELECT seq, MIN(value) AS v FROM points WHERE {_IN_BLOCK}) a, "
    f"(SELECT seq, MAX(value) AS v FROM points WHERE {_IN_BLOCK}) b"
)


def _latest(batch: Batch) -> list:
    """The batch's point at its highest step (the later of equal steps) as (step, value,
    time), a NaN value as NULL."""
    steps, values, times = batch
    top = max(steps)
    i = len(steps) - 1 - steps[::-1].index(top)
    return [top, values[i] if values[i] == values[i] else None, times[i]]


def _summaries(conn, ids: list) -> dict[int, tuple]:
    """(run_id, key, count, min, max, last_step, last_value, last_time) of each series id."""
    found = {}
    for row in in_chunks(
        lambda sql, args: conn.execute(sql, args).fetchall(),
        "SELECT id, run_id, key, count, min, max, last_step, last_value, last_time"
        " FROM series WHERE id IN",
        ids,
    ):
        found[row[0]] = row[1:]
    return found
