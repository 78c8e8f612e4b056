"""Hostile REST input is a 4xx with a JSON error, never a 5xx, and the server keeps
answering (issue 8 item 11). Each case states its expected status."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys

import pytest
from jupyter_server.utils import url_path_join
from tornado.httpclient import HTTPClientError

pytest_plugins = ["pytest_jupyter.jupyter_server"]

MAKE = (
    "import jupyter_tracker as jt\n"
    "with jt.start_run(name='r') as run:\n"
    "    jt.log_metric('loss', 1.0)\n"
    "    jt.log_text('x', 'a.txt')\n"
    "print(run.id)\n"
)


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    path = tmp_path_factory.mktemp("rest") / ".jupyter_tracker"
    env = {**os.environ, "JUPYTER_TRACKER_STORE": str(path)}
    out = subprocess.run([sys.executable, "-c", MAKE], env=env, check=True, capture_output=True)
    return path, out.stdout.decode().strip()


@pytest.fixture
def jp_server_config(made, monkeypatch):
    monkeypatch.setenv("JUPYTER_TRACKER_STORE", str(made[0]))
    return {
        "ServerApp": {
            "jpserver_extensions": {
                "jupyter_tracker.server": True,
                "jupyter_server_terminals": False,
            }
        }
    }


DEEP = "[" * 100_000 + "]" * 100_000


def cursor_of(content: object) -> str:
    """A page cursor as the listing encodes one (URL-safe base64 of JSON), holding ``content``
    (bytes as they are, anything else as JSON)."""
    raw = content if isinstance(content, bytes) else json.dumps(content).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# (case, method, path under the API with {run} for the run id, query, body, expected status)
CASES = [
    ("cursor not base64", "GET", "runs", {"after": "%%%"}, None, 400),
    ("cursor of 20,000 characters", "GET", "runs", {"after": "A" * 20_000}, None, 400),
    ("cursor not JSON", "GET", "runs", {"after": cursor_of(b"not json")}, None, 400),
    ("cursor past int64", "GET", "runs", {"after": cursor_of([[2**70], "r", 1])}, None, 400),
    ("cursor rowid past int64", "GET", "runs", {"after": cursor_of([[1], "r", 2**70])}, None, 400),
    ("cursor NaN", "GET", "runs", {"after": cursor_of(b'[[NaN], "r", 1]')}, None, 400),
    (
        "cursor nested deep",
        "GET",
        "runs",
        {"after": cursor_of(b"[" * 3000 + b"]" * 3000)},
        None,
        400,
    ),
    ("huge limit is capped", "GET", "runs", {"limit": str(10**30)}, None, 200),
    ("limit of 5000 digits", "GET", "runs", {"limit": "9" * 5000}, None, 400),
    ("negative limit", "GET", "runs", {"limit": "-1"}, None, 400),
    ("unknown view", "GET", "runs", {"view": "purged"}, None, 400),
    ("huge version", "GET", "runs/{run}/artifacts/a.txt", {"version": str(10**30)}, None, 400),
    ("version 0", "GET", "runs/{run}/artifacts/a.txt", {"version": "0"}, None, 400),
    ("huge points", "GET", "runs/{run}/metrics/loss", {"points": str(10**30)}, None, 200),
    ("deeply nested tag body", "PUT", "runs/{run}/tags/t", {}, DEEP, 400),
    ("tag body not an object", "PUT", "runs/{run}/tags/t", {}, "[1]", 400),
    ("tag value a lone surrogate", "PUT", "runs/{run}/tags/t", {}, '{"value": "\\ud800"}', 400),
    ("tag value not text", "PUT", "runs/{run}/tags/t", {}, '{"value": 5}', 400),
    ("tag key a lone surrogate", "PUT", "runs/{run}/tags/%ED%A0%80", {}, '{"value": "v"}', 400),
    ("filter of invalid UTF-8", "GET", "runs?filter=name%20%3D%20%27%ED%A0%80%27", {}, None, 400),
    ("filter nested 5000 deep", "GET", "runs", {"filter": "(" * 5_000}, None, 400),
    ("order_by injection", "GET", "runs", {"order_by": "name; DROP TABLE runs"}, None, 400),
    ("run id a lone surrogate", "GET", "runs/%ED%A0%80", {}, None, 404),
    ("metric key a lone surrogate", "GET", "runs/{run}/metrics/%ED%A0%80", {}, None, 404),
    ("unknown run", "GET", "runs/ffffffffffff", {}, None, 404),
    ("artifact traversal", "GET", "runs/{run}/artifacts/..%2F..%2Fstore.db", {}, None, 400),
]


@pytest.mark.parametrize(
    ("case", "method", "path", "query", "body", "expected"), CASES, ids=[c[0] for c in CASES]
)
async def test_hostile_input_is_a_clear_4xx(
    jp_fetch,
    http_server_client,
    jp_base_url,
    jp_auth_header,
    made,
    case,
    method,
    path,
    query,
    body,
    expected,
):
    path = path.format(run=made[1])
    if "?" in path:  # bytes the test client would not encode: sent exactly as written
        url = url_path_join(jp_base_url, "jupyter-tracker/api", path)
        response = await http_server_client.fetch(url, headers=jp_auth_header, raise_error=False)
    else:
        try:
            response = await jp_fetch(
                "jupyter-tracker",
                "api",
                *path.split("/"),
                params=query,
                method=method,
                body=body,
                allow_nonstandard_methods=True,
            )
        except HTTPClientError as exc:
            response = exc.response
    assert response.code == expected, response.body[:300]
    if expected >= 400 and method != "HEAD":
        assert "error" in json.loads(response.body)
    again = await jp_fetch("jupyter-tracker", "api", "runs")
    assert again.code == 200
