"""The REST handlers: each parses its request, calls one library function, answers JSON.

The routes are specified in docs/rest-api.md (tests/test_server.py keeps it true).
Every route is a `jupyter_server` `APIHandler` whose verbs are `@tornado.web.authenticated`
(token or session cookie, XSRF kept for PUT/DELETE); `tests/test_server.py` enumerates the
routes to prove it. Store work runs in a thread so a busy database never blocks the server.
Artifacts go out as downloads (`attachment`, `application/octet-stream`, `nosniff`), found
by their content hash: a user-given path is checked and looked up, never opened.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from urllib.parse import quote

import tornado.web
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado.ioloop import IOLoop
from tornado.iostream import StreamClosedError

from .._limits import check_length
from .._paths import confined, safe_relative_path
from ..errors import InvalidInputError, RunNotFoundError, RunStillRunningError, TrackerError
from ..model import (
    API_PREFIX,
    STATUSES,
    ExperimentList,
    ExportResult,
    MetricPoints,
    RunCardOutput,
    RunDetail,
    RunPage,
    RunRecord,
    RunState,
    RunTags,
    json_ready,
)
from ..notebook.card import stored_card
from ..store import DB_NAME, Store, find_store_dir, queries
from ..store._maintenance import delete_run, restore_runs, set_run_tag

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
DEFAULT_POINTS = 1000
MAX_POINTS = 5000
MIN_POINTS = 3  # the first and last points and one between
MAX_INTEGER = 2**63 - 1  # what SQLite stores: versions beyond are refused
MAX_QUERY_TEXT = 10_000  # filter, order_by and experiment arguments
CHUNK_BYTES = 256 * 1024
VIEWS = ("active", "deleted", "all")  # which runs `GET runs` lists (MLflow's ViewType)
_ATTR_CHARS = "!#$&+^`|~"  # RFC 5987 attr-chars that `quote` would otherwise escape


class NotFoundError(TrackerError):
    """A metric key or an artifact path (or its content) that the run does not have."""


# (error class, HTTP status), the first match wins: subclasses before their bases.
ERROR_STATUS = (
    (RunNotFoundError, 404),
    (NotFoundError, 404),
    (RunStillRunningError, 409),
    (TrackerError, 400),
)


class StoreAccess:
    """The server's one store, opened on first use once it exists (a read never creates it)."""

    def __init__(self, path: Path, root: Path) -> None:
        self.path = path
        self.root = root  # the server's root: exports are confined under it
        self._store: Store | None = None
        self._lock = threading.Lock()

    def get(self) -> Store | None:
        """The open store, or None while no process has written one yet."""
        with self._lock:
            if self._store is None and (self.path / DB_NAME).exists():
                self._store = Store.open(self.path)
            return self._store


class TrackerHandler(APIHandler):
    """Shared plumbing: the store, integer query arguments, JSON answers and errors."""

    def initialize(self, access: StoreAccess) -> None:
        self.access = access

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("X-Content-Type-Options", "nosniff")

    def int_argument(
        self, name: str, default: int | None, low: int, high: int | None = None
    ) -> int | None:
        raw = self.text_argument(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            msg = f"Query argument {name!r} must be an integer, got {raw[:40]!r}."
            raise InvalidInputError(msg) from None
        if value < low:
            raise InvalidInputError(f"Query argument {name!r} must be at least {low}, got {value}.")
        if high is None and value > MAX_INTEGER:
            raise InvalidInputError(f"Query argument {name!r} must be at most {MAX_INTEGER}.")
        return value if high is None else min(value, high)

    def choice_argument(self, name: str, choices: tuple[str, ...]) -> str:
        """A query argument that is one of ``choices`` (the first when absent)."""
        value = self.text_argument(name) or choices[0]
        if value not in choices:
            allowed = ", ".join(choices)
            raise InvalidInputError(f"Query argument {name!r} must be one of {allowed}.")
        return value

    def text_argument(self, name: str) -> str | None:
        """A query argument as text; bytes that are not UTF-8 text are a clear 400."""
        try:
            value = self.get_query_argument(name, None)
        except tornado.web.HTTPError:  # tornado could not decode it
            raise InvalidInputError(f"Query argument {name!r} is not UTF-8 text.") from None
        if value is not None:
            check_length(value, MAX_QUERY_TEXT, f"Query argument {name!r}")
        return value

    async def answer(self, action, *args) -> None:
        """Run ``action(store, *args)`` off the event loop and send its result, or the error."""
        try:
            result = await self.call(action, *args)
        except TrackerError as exc:
            return self.send_error_json(exc)
        self.send_json(result)

    async def call(self, action, *args):
        """``action(store, *args)`` run in a thread (the store is None until one exists)."""
        return await IOLoop.current().run_in_executor(None, self._call, action, args)

    def _call(self, action, args):
        return action(self.access.get(), *args)

    def send_error_json(self, exc: TrackerError) -> None:
        status = next(code for cls, code in ERROR_STATUS if isinstance(exc, cls))
        self.send_json({"error": str(exc)}, status)

    def send_json(self, data, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(json.dumps(json_ready(data), allow_nan=False))


def _runs(store: Store | None, query: dict) -> RunPage:
    """One page of runs after the cursor ``after`` (keyset paging: every page costs the same),
    the next page's cursor, and the statuses a run can have: the sidebar receives them."""
    runs: list[RunRecord] = []
    cursor = None
    if store is not None:
        runs, cursor = queries.run_page(store, **query)
    return {
        "runs": runs,
        "next": cursor,
        "limit": query["limit"],
        "statuses": list(STATUSES),
    }


def _opened(store: Store | None, run_id: str) -> tuple[Store, str]:
    """The store and the run's full id, or ``RunNotFoundError``."""
    if store is None:
        raise RunNotFoundError(run_id)
    return store, store.resolve_run_id(run_id)


def _run(store: Store | None, run_id: str) -> RunDetail:
    return queries.run_detail(*_opened(store, run_id))


def _metric(store: Store | None, run_id: str, key: str, points: int) -> MetricPoints:
    store, run_id = _opened(store, run_id)
    count = queries.series_counts(store, [run_id]).get((run_id, key))
    if count is None:
        raise NotFoundError(f"Run {run_id[:8]} has no metric {key!r}.")
    steps, values, times = queries.downsampled_points(store, run_id, key, points)
    return {"key": key, "count": count, "steps": steps, "values": values, "times": times}


def _artifact_blob(store: Store | None, run_id: str, path: str, version: int | None):
    """The artifact version's record and its blob opened for reading."""
    store, run_id = _opened(store, run_id)
    found = queries.artifact_version(store, run_id, path, version)
    if found is None:
        which = "" if version is None else f" version {version}"
        raise NotFoundError(f"Run {run_id[:8]} has no artifact {path!r}{which}.")
    try:  # a regular file inside the store, never a link, a FIFO or a device
        return found, store.open_blob(found["sha256"], found["size"])
    except FileNotFoundError:
        raise NotFoundError(
            f"The content of artifact {path!r} is missing from the store's blobs; "
            "`jupyter-tracker doctor` counts missing blobs."
        ) from None
    except (InvalidInputError, OSError) as exc:
        raise NotFoundError(f"The content of artifact {path!r} is unusable: {exc}") from None


def _card(store: Store | None, run_id: str) -> RunCardOutput:
    """The run's card as the kernel draws it. A RUNNING run whose process is gone is first
    marked CRASHED, as opening the store does: the server opened it long before."""
    store, run_id = _opened(store, run_id)
    if not store.read_only:
        store.mark_crashed()
    return stored_card(store, run_id).output()


def _delete(store: Store | None, run_id: str) -> RunState:
    return delete_run(*_opened(store, run_id))


def _restore(store: Store | None, run_id: str) -> RunState:
    store, run_id = _opened(store, run_id)
    (before,) = restore_runs(store, [run_id])
    return {**before, "deleted": False}


def _set_tag(store: Store | None, run_id: str, key: str, value: str) -> RunTags:
    return set_run_tag(*_opened(store, run_id), key, value)


def attachment(path: str) -> str:
    """``Content-Disposition`` of a download named after the path's last part (RFC 6266)."""
    name = path.rsplit("/", 1)[-1]
    fallback = "".join(c if " " <= c <= "~" and c not in '"\\%' else "_" for c in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe=_ATTR_CHARS)}"


def _export(store: Store | None, run_id: str, root: Path, directory: str) -> ExportResult:
    """Export the run into ``directory`` under the server root (checked, symlinks resolved)."""
    from ..export import export_run

    store, run_id = _opened(store, run_id)
    target = confined(root, directory)
    done = export_run(store, run_id, target)
    return {
        "run_id": done.run_id,
        "directory": target.relative_to(root).as_posix(),
        "files": done.files,
    }


def _experiments(store: Store | None) -> ExperimentList:
    return {"experiments": [] if store is None else queries.experiments(store)}


class RunsHandler(TrackerHandler):
    """`GET runs?filter=&order_by=&experiment=&view=&after=&limit=`: one page of runs, the
    page after the cursor ``after`` (the ``next`` of the page before); `view` is `active` (the
    default), `deleted` (waiting for `gc`, restorable) or `all`."""

    @tornado.web.authenticated
    async def get(self) -> None:
        try:
            query = {
                "filter": self.text_argument("filter") or None,
                "order_by": self.text_argument("order_by") or None,
                "experiment": self.text_argument("experiment") or None,
                "view": self.choice_argument("view", VIEWS),
                "after": self.text_argument("after") or None,
                "limit": self.int_argument("limit", DEFAULT_LIMIT, low=0, high=MAX_LIMIT),
            }
        except InvalidInputError as exc:
            return self.send_json({"error": str(exc)}, 400)
        await self.answer(_runs, query)


class RunHandler(TrackerHandler):
    """`GET runs/{id}`: everything about one run (a full id or a unique prefix).
    `DELETE runs/{id}`: soft delete (409 while RUNNING); the run's new state."""

    @tornado.web.authenticated
    async def get(self, run_id: str) -> None:
        await self.answer(_run, run_id)

    @tornado.web.authenticated
    async def delete(self, run_id: str) -> None:
        await self.answer(_delete, run_id)


class CardHandler(TrackerHandler):
    """`GET runs/{id}/card`: the run's card as a display output (HTML, text, metadata), drawn
    by the kernel's renderer; the lab extension puts it in place of a card left unfinished."""

    @tornado.web.authenticated
    async def get(self, run_id: str) -> None:
        await self.answer(_card, run_id)


class MetricHandler(TrackerHandler):
    """`GET runs/{id}/metrics/{key}?points=N`: the metric's points, at most N (spikes kept)."""

    @tornado.web.authenticated
    async def get(self, run_id: str, key: str) -> None:
        try:
            points = self.int_argument("points", DEFAULT_POINTS, low=MIN_POINTS, high=MAX_POINTS)
        except InvalidInputError as exc:
            return self.send_error_json(exc)
        await self.answer(_metric, run_id, key, points)


class ArtifactHandler(TrackerHandler):
    """`GET runs/{id}/artifacts/{path}?version=N`: the artifact (default: latest) as a
    download, streamed in chunks; never rendered from this origin."""

    @tornado.web.authenticated
    async def get(self, run_id: str, path: str) -> None:
        try:
            path = safe_relative_path(path)
            version = self.int_argument("version", None, low=1)
            found, blob = await self.call(_artifact_blob, run_id, path, version)
        except TrackerError as exc:
            return self.send_error_json(exc)
        loop = IOLoop.current()
        try:
            self.set_header("Content-Type", "application/octet-stream")
            self.set_header("Content-Disposition", attachment(found["path"]))
            self.set_header("Content-Length", str(os.fstat(blob.fileno()).st_size))
            while chunk := await loop.run_in_executor(None, blob.read, CHUNK_BYTES):
                self.write(chunk)
                await self.flush()
        except StreamClosedError:
            return None
        finally:
            blob.close()
        self.finish(set_content_type="application/octet-stream")


class TagHandler(TrackerHandler):
    """`PUT runs/{id}/tags/{key}` with `{"value": "..."}`: set a tag; the run's tags."""

    @tornado.web.authenticated
    async def put(self, run_id: str, key: str) -> None:
        try:
            data = json.loads(self.request.body or b"null")
        except (ValueError, RecursionError):  # not JSON, or nested deeper than Python goes
            data = None
        if not isinstance(data, dict) or "value" not in data:
            msg = 'The body must be a JSON object with the tag\'s "value": {"value": "..."}.'
            return self.send_json({"error": msg}, 400)
        await self.answer(_set_tag, run_id, key, data["value"])


class ExportHandler(TrackerHandler):
    """`POST runs/{id}/export` with `{"directory": "relative/path"}`: export the run into that
    folder under the server root; the folder (relative to the root) and the files written."""

    @tornado.web.authenticated
    async def post(self, run_id: str) -> None:
        try:
            data = json.loads(self.request.body or b"null")
        except (ValueError, RecursionError):
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("directory"), str):
            msg = 'The body must be a JSON object naming the folder: {"directory": "exports/run"}.'
            return self.send_json({"error": msg}, 400)
        try:
            directory = safe_relative_path(data["directory"])
        except TrackerError as exc:
            return self.send_error_json(exc)
        await self.answer(_export, run_id, self.access.root, directory)


class RestoreHandler(TrackerHandler):
    """`POST runs/{id}/restore`: bring a deleted run back (until `gc` purged it); the run's
    new state, as `DELETE runs/{id}` answers."""

    @tornado.web.authenticated
    async def post(self, run_id: str) -> None:
        await self.answer(_restore, run_id)


class ExperimentsHandler(TrackerHandler):
    """`GET experiments`: every experiment with its run count."""

    @tornado.web.authenticated
    async def get(self) -> None:
        await self.answer(_experiments)


ROUTES = [
    ("runs", RunsHandler),
    (r"runs/(?P<run_id>[^/]+)", RunHandler),
    (r"runs/(?P<run_id>[^/]+)/card", CardHandler),
    (r"runs/(?P<run_id>[^/]+)/metrics/(?P<key>.+)", MetricHandler),
    (r"runs/(?P<run_id>[^/]+)/artifacts/(?P<path>.+)", ArtifactHandler),
    (r"runs/(?P<run_id>[^/]+)/tags/(?P<key>.+)", TagHandler),
    (r"runs/(?P<run_id>[^/]+)/export", ExportHandler),
    (r"runs/(?P<run_id>[^/]+)/restore", RestoreHandler),
    ("experiments", ExperimentsHandler),
]


def setup_handlers(web_app, root_dir: str) -> Path:
    """Register the routes under ``{base_url}jupyter-tracker/api/``; the store's path."""
    root = Path(root_dir).expanduser().resolve()
    access = StoreAccess(find_store_dir(root), root)
    base = url_path_join(web_app.settings["base_url"], API_PREFIX)
    web_app.add_handlers(
        ".*$",
        [(url_path_join(base, path), handler, {"access": access}) for path, handler in ROUTES],
    )
    return access.path
