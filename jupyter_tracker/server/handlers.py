"""The REST handlers: each parses its query, calls one `_records` function, answers JSON.

Every route is a `jupyter_server` `APIHandler` whose verbs are `@tornado.web.authenticated`
(token or session cookie, XSRF kept); `tests/test_server.py` enumerates the routes to
prove it. Store reads run in a thread so a busy database never blocks the server.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import tornado.web
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado.ioloop import IOLoop

from .. import _records
from ..errors import InvalidInputError, RunNotFoundError, TrackerError
from ..store import DB_NAME, Store, find_store_dir

API_PREFIX = "jupyter-tracker/api"
DEFAULT_LIMIT = 50
MAX_LIMIT = 500


class StoreAccess:
    """The server's one store, opened on first use once it exists (a read never creates it)."""

    def __init__(self, path: Path) -> None:
        self.path = path
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

    def int_argument(self, name: str, default: int, low: int, high: int | None = None) -> int:
        raw = self.get_query_argument(name, None)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            msg = f"Query argument {name!r} must be an integer, got {raw!r}."
            raise InvalidInputError(msg) from None
        if value < low:
            raise InvalidInputError(f"Query argument {name!r} must be at least {low}, got {value}.")
        return value if high is None else min(value, high)

    async def answer(self, read, *args) -> None:
        """Run ``read(store, *args)`` off the event loop and send its result, or the error."""
        try:
            result = await IOLoop.current().run_in_executor(None, self._read, read, args)
        except RunNotFoundError as exc:
            return self.send_json({"error": str(exc)}, 404)
        except (InvalidInputError, TrackerError) as exc:
            return self.send_json({"error": str(exc)}, 400)
        self.send_json(result)

    def _read(self, read, args):
        return read(self.access.get(), *args)

    def send_json(self, data, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(json.dumps(_records.json_ready(data), allow_nan=False))


def _runs(store: Store | None, query: dict) -> dict:
    limit = query["limit"]
    if store is None:
        return {"runs": [], "offset": query["offset"], "limit": limit, "has_more": False}
    rows = _records.records(store, **{**query, "limit": limit + 1})
    return {
        "runs": rows[:limit],
        "offset": query["offset"],
        "limit": limit,
        "has_more": len(rows) > limit,
    }


def _run(store: Store | None, run_id: str) -> dict:
    if store is None:
        raise RunNotFoundError(run_id)
    return _records.run_detail(store, store.resolve_run_id(run_id))


def _experiments(store: Store | None) -> dict:
    return {"experiments": [] if store is None else _records.experiments(store)}


class RunsHandler(TrackerHandler):
    """`GET runs?filter=&order_by=&experiment=&offset=&limit=`: one page of runs."""

    @tornado.web.authenticated
    async def get(self) -> None:
        try:
            query = {
                "filter": self.get_query_argument("filter", None) or None,
                "order_by": self.get_query_argument("order_by", None) or None,
                "experiment": self.get_query_argument("experiment", None) or None,
                "offset": self.int_argument("offset", 0, low=0),
                "limit": self.int_argument("limit", DEFAULT_LIMIT, low=0, high=MAX_LIMIT),
            }
        except InvalidInputError as exc:
            return self.send_json({"error": str(exc)}, 400)
        await self.answer(_runs, query)


class RunHandler(TrackerHandler):
    """`GET runs/{id}`: everything about one run (a full id or a unique prefix)."""

    @tornado.web.authenticated
    async def get(self, run_id: str) -> None:
        await self.answer(_run, run_id)


class ExperimentsHandler(TrackerHandler):
    """`GET experiments`: every experiment with its run count."""

    @tornado.web.authenticated
    async def get(self) -> None:
        await self.answer(_experiments)


ROUTES = [
    ("runs", RunsHandler),
    (r"runs/(?P<run_id>[^/]+)", RunHandler),
    ("experiments", ExperimentsHandler),
]


def setup_handlers(web_app, root_dir: str) -> Path:
    """Register the routes under ``{base_url}jupyter-tracker/api/``; the store's path."""
    access = StoreAccess(find_store_dir(Path(root_dir).expanduser()))
    base = url_path_join(web_app.settings["base_url"], API_PREFIX)
    web_app.add_handlers(
        ".*$",
        [(url_path_join(base, path), handler, {"access": access}) for path, handler in ROUTES],
    )
    return access.path
