"""The live mirror: runs copied to an MLflow tracking server while they run.

``start(uri)`` (what ``set_tracking_uri("http://...")`` calls) mirrors the runs this process
logs from then on: logging stays local and fast, and one background thread (a daemon, one
per process, whatever the number of runs) pushes what is new every few seconds and when a
run ends. A server that goes away pauses it (said once), and it catches up when the server
is back; at exit it ends the process's runs and sends their last state, within
``EXIT_TIMEOUT_S``. ``watch`` does the same in the foreground for ``push --watch``.
"""

from __future__ import annotations

import atexit
import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

from .errors import TrackerError
from .mlflow_sync.push import PushReport, push
from .mlflow_sync.rest import Client, ServerUnreachableError
from .session import session
from .store import Store, sync

INTERVAL_S = 3.0  # between two pushes of what is new
EXIT_TIMEOUT_S = 10.0  # the last push at exit (or after Ctrl-C) gives up after this long
TRIES = 2  # per request; the next round tries again anyway


class Mirror:
    """Pushes what is new of some runs to one server, round after round; a server that
    cannot be reached (or refuses) pauses it until a round succeeds, said once each way."""

    def __init__(self, uri: str, interval: float = INTERVAL_S, out: TextIO | None = None):
        self.client = Client(uri, tries=TRIES)
        self.interval = interval
        self.out = out if out is not None else sys.stderr
        self.paused: str | None = None  # why the last round failed
        self._said: set[str] = set()

    @property
    def uri(self) -> str:
        """The server's URL."""
        return self.client.uri

    def say(self, text: str) -> None:
        """One line for the user, on stderr."""
        print(f"jupyter-tracker: {text}", file=self.out, flush=True)

    def round(
        self,
        store: Store,
        run_ids: list[str] | None = None,
        experiment: str | None = None,
        deadline: float | None = None,
    ) -> PushReport | None:
        """Push what is new of these runs (None: every run, or ``experiment``'s); None when
        it could not (the reason is said when it first happens)."""
        self.client.deadline = deadline
        try:
            report = push(store, self.uri, run_ids, experiment, progress=False, client=self.client)
        except (TrackerError, OSError) as exc:
            reason = " ".join(str(exc).split())
            if self.paused is None:
                paused = "cannot reach" if isinstance(exc, ServerUnreachableError) else "failed"
                self.say(
                    f"mirroring to {self.uri} is paused ({paused}: {reason}); "
                    f"it retries every {self.interval:g} s."
                )
            self.paused = reason
            return None
        if self.paused is not None:
            self.say(f"mirroring to {self.uri} resumed.")
            self.paused = None
        for note in report.notes:
            if note not in self._said:
                self._said.add(note)
                self.say(note)
        return report


class _ProcessMirror:
    """The one mirror of this process: the runs it starts (and resumes), pushed by one
    daemon thread."""

    def __init__(self, uri: str, interval: float) -> None:
        self.mirror = Mirror(uri, interval)
        self.runs: set[str] = set()  # changed by the watcher from any thread: under _lock
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._deadline: float | None = None
        session().watchers.append(self._watch)
        self._thread = threading.Thread(
            target=self._loop, name="jupyter-tracker-mirror", daemon=True
        )
        self._thread.start()

    def _watch(self, run, event: str) -> None:
        with self._lock:
            self.runs.add(run.id)
        if event == "ended":
            self._wake.set()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self.mirror.interval)
            self._wake.clear()
            self._round()
        self._round(self._deadline)  # the last one, bounded

    def _round(self, deadline: float | None = None) -> None:
        try:
            with self._lock:
                ids = set(self.runs)
            ids |= {run.id for run in session().active_runs()}
            if not ids:
                return
            store = session().current_store()
            ids = {i for i in ids if sync.run_exists(store, i)}
            if self.mirror.round(store, sorted(ids), deadline=deadline) is not None:
                ended = sorted(sync.ended_runs(store, sorted(ids)))
                done = set(ended) - set(sync.stale_runs(store, self.mirror.uri, ended))
                with self._lock:
                    self.runs -= done
        except Exception as exc:  # the thread must outlive any one bad round
            self.mirror.say(f"mirroring to {self.mirror.uri} failed a round: {exc}")

    def stop(self, timeout: float = EXIT_TIMEOUT_S) -> bool:
        """Push the last state (within ``timeout`` seconds) and stop; whether it finished."""
        session().watchers[:] = [w for w in session().watchers if w != self._watch]
        self._deadline = time.monotonic() + timeout
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout + 1.0)
        finished = not self._thread.is_alive() and self.mirror.paused is None
        if not finished:
            self.mirror.say(
                f"the mirror could not send everything to {self.mirror.uri} within "
                f"{timeout:g} s; `jupyter-tracker push --to mlflow --tracking-uri "
                f"{self.mirror.uri}` sends the rest."
            )
        return finished


_MIRRORS: list[_ProcessMirror] = []  # at most one: this process's mirror


def start(uri: str, *, interval: float = INTERVAL_S) -> None:
    """Mirror the runs this process starts or resumes from now on (and those active now) to
    the MLflow server at ``uri``, every ``interval`` seconds and when a run ends."""
    if _MIRRORS and _MIRRORS[0].mirror.uri == Client(uri).uri:
        return
    stop()
    _MIRRORS.append(_ProcessMirror(uri, interval))


def stop(timeout: float = EXIT_TIMEOUT_S) -> bool:
    """Stop mirroring after pushing the last state (within ``timeout`` seconds); whether
    everything went (True when no mirror runs)."""
    if not _MIRRORS:
        return True
    return _MIRRORS.pop().stop(timeout)


def _at_exit() -> None:
    """End this process's runs first (as the session would next), so that their final
    state is what the last push sends."""
    if _MIRRORS:
        session().at_exit()
        stop()


atexit.register(_at_exit)  # registered after the session's, so it runs before it


def watch(
    store: Store,
    uri: str,
    run_ids: list[str] | None = None,
    experiment: str | None = None,
    *,
    interval: float = INTERVAL_S,
    on_report: Callable[[PushReport], None] | None = None,
    stop_event: threading.Event | None = None,
) -> None:
    """``push --watch``: push what is new of these runs (None: all, or ``experiment``'s) every
    ``interval`` seconds until ``stop_event`` is set or Ctrl-C, then push once more."""
    mirror = Mirror(uri, interval)
    stop_event = stop_event or threading.Event()
    try:
        while True:
            report = mirror.round(store, run_ids, experiment)
            if report is not None and report.remote_ids and on_report is not None:
                on_report(report)
            if stop_event.wait(interval):
                break
    except KeyboardInterrupt:
        pass
    report = mirror.round(store, run_ids, experiment, time.monotonic() + EXIT_TIMEOUT_S)
    if report is not None and report.remote_ids and on_report is not None:
        on_report(report)
