"""MLflow's REST API over ``urllib``: one call per endpoint, retries with back-off, and the
two errors a user can act on (the server cannot be reached; the server refused a request).

Credentials come from MLflow's own environment variables (``MLFLOW_TRACKING_TOKEN``, or
``MLFLOW_TRACKING_USERNAME`` and ``MLFLOW_TRACKING_PASSWORD``).
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import math
import os
import random
import shutil
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from ..errors import TrackerError

API = "/api/2.0/mlflow"
ARTIFACTS_API = "/api/2.0/mlflow-artifacts/artifacts"
TRIES = 6  # the first try and five more, waiting 0.25, 0.5, 1, 2 then 4 s (jittered)
FIRST_WAIT_S = 0.25
REQUEST_TIMEOUT_S = 60.0
RETRIED_STATUSES = {429, 500, 502, 503, 504}
SEARCH_PAGE = 1000


class ServerUnreachableError(TrackerError):
    """The tracking server did not answer (refused, timed out, reset) after every retry."""

    def __init__(self, server: str, reason: str, tries: int, seconds: float) -> None:
        self.server, self.reason, self.tries, self.seconds = server, reason, tries, seconds
        super().__init__(
            f"Cannot reach the MLflow server at {server} ({reason}; {tries} tries over "
            f"{seconds:.0f} s). Check the URI and that `mlflow server` is running there; "
            "what was done is recorded, so running it again resumes where it stopped."
        )


class ServerRefusedError(TrackerError):
    """The tracking server answered a request with an error (``code`` is MLflow's)."""

    def __init__(self, server: str, endpoint: str, status: int, code: str, message: str) -> None:
        self.server, self.endpoint, self.status = server, endpoint, status
        self.code, self.message = code, message
        super().__init__(
            f"The MLflow server at {server} refused {endpoint} (HTTP {status}"
            f"{', ' + code if code else ''}): {' '.join(message.split())[:500]}"
        )


def server_key(uri: str) -> str:
    """``uri`` as the ledger names a server: scheme and host lower case, no trailing slash."""
    parts = urllib.parse.urlsplit(uri.strip())
    return urllib.parse.urlunsplit(
        (parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/"), "", "")
    )


def metric_json(value: float) -> float | str:
    """A metric value as MLflow's JSON takes it (NaN and infinities as strings)."""
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def metric_from_json(value: float | str) -> float:
    """A metric value as MLflow's JSON gives it (an infinity is kept by an MLflow database as
    the largest float, and read back as an infinity)."""
    number = float(value)
    return math.copysign(math.inf, number) if abs(number) == 1.7976931348623157e308 else number


class Client:
    """The REST API of one MLflow tracking server (``http://`` or ``https://``)."""

    def __init__(self, uri: str, tries: int = TRIES) -> None:
        self.uri = server_key(uri)
        if urllib.parse.urlsplit(self.uri).scheme not in ("http", "https"):
            raise TrackerError(
                f"{uri!r} is not the URL of an MLflow tracking server (http:// or https://). "
                "For a database or an mlruns folder, serve it with `mlflow server "
                "--backend-store-uri ...` and give that server's URL."
            )
        self.tries = tries
        self.deadline: float | None = None  # time.monotonic() past which nothing is retried
        self._headers = {"User-Agent": "jupyter-tracker"}
        token = os.environ.get("MLFLOW_TRACKING_TOKEN")
        user = os.environ.get("MLFLOW_TRACKING_USERNAME")
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        elif user:
            pair = f"{user}:{os.environ.get('MLFLOW_TRACKING_PASSWORD', '')}".encode()
            self._headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()

    # -- transport --------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        query: dict[str, Any] | None = None,
        data: bytes | Callable[[], BinaryIO] | None = None,
        sink: BinaryIO | None = None,
    ) -> bytes:
        """The response body of one request, retried with back-off while the server cannot
        be reached or answers 429/5xx; ``ServerRefusedError`` for any other error.

        ``data`` is the bytes to send or a function that opens them (again for each try);
        with ``sink`` the response is written there (and b"" returned)."""
        url = self.uri + path + ("?" + urllib.parse.urlencode(query) if query else "")
        headers = dict(self._headers)
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        started = time.monotonic()
        wait = FIRST_WAIT_S
        for attempt in range(1, self.tries + 1):
            timeout = REQUEST_TIMEOUT_S
            if self.deadline is not None:
                timeout = max(0.1, min(timeout, self.deadline - time.monotonic()))
            try:
                with contextlib.ExitStack() as stack:
                    payload: bytes | BinaryIO | None = None
                    if callable(data):
                        payload = stack.enter_context(data())
                        size = payload.seek(0, os.SEEK_END)
                        payload.seek(0)
                        headers["Content-Length"] = str(size)
                    else:
                        payload = data
                    req = urllib.request.Request(url, data=payload, method=method, headers=headers)
                    response = stack.enter_context(urllib.request.urlopen(req, timeout=timeout))  # noqa: S310
                    if sink is None:
                        return response.read()
                    sink.seek(0)
                    sink.truncate()
                    shutil.copyfileobj(response, sink, 1 << 20)
                    return b""
            except urllib.error.HTTPError as exc:
                text = exc.read().decode("utf-8", "replace")
                if exc.code not in RETRIED_STATUSES:
                    raise _refusal(self.uri, method, path, exc.code, text) from None
                reason = f"HTTP {exc.code}"
                if attempt == self.tries:
                    raise _refusal(self.uri, method, path, exc.code, text) from None
            except (
                urllib.error.URLError,
                ConnectionError,
                TimeoutError,
                http.client.HTTPException,
            ) as exc:
                reason = _reason(exc)
            late = self.deadline is not None and time.monotonic() + wait > self.deadline
            if attempt == self.tries or late:
                raise ServerUnreachableError(
                    self.uri, reason, attempt, time.monotonic() - started
                ) from None
            time.sleep(wait * random.uniform(0.8, 1.2))  # noqa: S311 - jitter, not secrets
            wait *= 2
        raise AssertionError("unreachable")  # the loop returns or raises

    def call(
        self,
        endpoint: str,
        body: dict[str, Any] | None = None,
        query: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The JSON answer of ``endpoint`` (e.g. ``runs/log-batch``): POST with ``body``, else
        GET with ``query``."""
        method = "GET" if body is None else "POST"
        raw = self.request(method, f"{API}/{endpoint}", body, query)
        answer: dict[str, Any] = json.loads(raw or b"{}")
        return answer

    # -- experiments and runs ---------------------------------------------------------

    def experiment_by_name(self, name: str) -> dict[str, Any] | None:
        """The experiment called ``name``, or None."""
        try:
            found: dict[str, Any] = self.call(
                "experiments/get-by-name", query={"experiment_name": name}
            )["experiment"]
        except ServerRefusedError as exc:
            if exc.code == "RESOURCE_DOES_NOT_EXIST":
                return None
            raise
        return found

    def experiment_id(self, name: str) -> str:
        """The id of the (active) experiment ``name``, created if missing."""
        found = self.experiment_by_name(name)
        if found is None:
            try:
                return str(self.call("experiments/create", {"name": name})["experiment_id"])
            except ServerRefusedError as exc:  # created meanwhile by another client
                if exc.code != "RESOURCE_ALREADY_EXISTS":
                    raise
                found = self.experiment_by_name(name)
                assert found is not None
        if found.get("lifecycle_stage") == "deleted":
            raise TrackerError(
                f"Experiment {name!r} is deleted on the MLflow server at {self.uri}; restore "
                f"it there (`mlflow experiments restore --experiment-id "
                f"{found['experiment_id']}`) and push again."
            )
        return str(found["experiment_id"])

    def experiments(self) -> list[dict[str, Any]]:
        """Every active experiment."""
        out: list[dict[str, Any]] = []
        token = None
        while True:
            body: dict[str, Any] = {"max_results": SEARCH_PAGE, "view_type": "ACTIVE_ONLY"}
            if token:
                body["page_token"] = token
            page = self.call("experiments/search", body)
            out += page.get("experiments", [])
            token = page.get("next_page_token")
            if not token:
                return out

    def search_runs(self, experiment_ids: list[str], filter: str = "") -> Iterator[dict[str, Any]]:
        """Every active run of these experiments matching ``filter``, page by page."""
        token = None
        while True:
            body: dict[str, Any] = {
                "experiment_ids": experiment_ids,
                "filter": filter,
                "max_results": SEARCH_PAGE,
                "run_view_type": "ACTIVE_ONLY",
            }
            if token:
                body["page_token"] = token
            page = self.call("runs/search", body)
            yield from page.get("runs", [])
            token = page.get("next_page_token")
            if not token:
                return

    def metric_history(self, run_id: str, key: str) -> list[dict[str, Any]]:
        """Every point of one metric of a run."""
        points: list[dict[str, Any]] = []
        token = None
        while True:
            query: dict[str, Any] = {"run_id": run_id, "metric_key": key, "max_results": 25000}
            if token:
                query["page_token"] = token
            page = self.call("metrics/get-history", query=query)
            points += page.get("metrics", [])
            token = page.get("next_page_token")
            if not token:
                return points

    def artifact_files(self, run_id: str) -> list[tuple[str, int]]:
        """(path, size) of every artifact file of a run, listed by the server."""
        files: list[tuple[str, int]] = []
        folders = [""]
        while folders:
            folder = folders.pop()
            query = {"run_id": run_id, **({"path": folder} if folder else {})}
            for entry in self.call("artifacts/list", query=query).get("files", []):
                if entry.get("is_dir"):
                    folders.append(entry["path"])
                else:
                    files.append((entry["path"], int(entry.get("file_size") or 0)))
        return sorted(files)

    def download_artifact(self, run_id: str, path: str, sink: BinaryIO) -> None:
        """Write one artifact file of a run to ``sink`` (the server reads it from wherever
        it keeps the run's artifacts)."""
        self.request("GET", "/get-artifact", query={"path": path, "run_uuid": run_id}, sink=sink)


def _reason(exc: BaseException) -> str:
    inner = getattr(exc, "reason", exc)
    if isinstance(inner, ConnectionRefusedError):
        return "connection refused"
    if isinstance(inner, (socket.timeout, TimeoutError)):
        return "timed out"
    if isinstance(inner, socket.gaierror):
        return "unknown host"
    if isinstance(inner, (ConnectionResetError, http.client.RemoteDisconnected)):
        return "connection closed by the server"
    return " ".join(str(inner).split()) or type(inner).__name__


def _refusal(server: str, method: str, path: str, status: int, text: str) -> ServerRefusedError:
    endpoint = path.removeprefix(API + "/") if path.startswith(API + "/") else path
    try:
        answer = json.loads(text)
    except ValueError:
        answer = None
    if isinstance(answer, dict):
        code, message = str(answer.get("error_code", "")), str(answer.get("message", text))
    else:
        code, message = "", text or http.client.responses.get(status, "")
    return ServerRefusedError(server, f"{method} {endpoint}", status, code, message)
