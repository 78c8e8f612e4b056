"""The REST API the JupyterLab extension reads, served in-process by jupyter_server.

Every route registered under `/jupyter-tracker/` is found by walking the app's router,
so a new route that answers without Jupyter's token fails here (the extension-template's
`check_auth.py` idea).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap

import pytest
from jupyter_server.base.handlers import APIHandler
from tornado.httpclient import HTTPClientError
from tornado.web import RequestHandler

pytest_plugins = ["pytest_jupyter.jupyter_server"]

# With allow_unauthenticated_access=False, jupyter_server warns about any extension route
# without an auth decorator (the extension-template's check_auth.py): make that fatal.
pytestmark = pytest.mark.filterwarnings("error::jupyter_server.utils.JupyterServerAuthWarning")

XSS_NAME = "<img src=x onerror=alert(1)>"

MAKE_RUNS = textwrap.dedent(
    f"""
    import time

    import jupyter_tracker as jt

    with jt.start_run(name="baseline", experiment="mnist", params={{"alpha": 0.5}}) as run:
        for i in range(3):
            jt.log_metric("loss", 1.0 / (i + 1))
        jt.log_metric("acc", float("nan"))
        jt.set_tag("stage", "dev")
    time.sleep(0.01)  # distinct start times (ms), so "newest first" is one order
    try:
        with jt.start_run(name={XSS_NAME!r}, experiment="mnist"):
            raise RuntimeError("diverged")
    except RuntimeError:
        pass
    time.sleep(0.01)
    jt.start_run(name="sweep lr=0.1", params={{"lr": 0.1}})
    jt.end_run("KILLED")
    print(run.id)
    """
)


@pytest.fixture(scope="module")
def made_store(tmp_path_factory):
    """A store with three runs, written by another process as a kernel would."""
    path = tmp_path_factory.mktemp("store") / ".jupyter_tracker"
    env = {**os.environ, "JUPYTER_TRACKER_STORE": str(path)}
    out = subprocess.run(
        [sys.executable, "-c", MAKE_RUNS], env=env, check=True, capture_output=True, text=True
    )
    return path, out.stdout.strip()


@pytest.fixture
def store_dir(request, made_store, tmp_path):
    if getattr(request, "param", None) == "missing":
        return tmp_path / "no-store-yet"
    return made_store[0]


@pytest.fixture
def allow_unauthenticated_access(request):
    """jupyter_server's default (True), or False: then it warns about undecorated routes."""
    return getattr(request, "param", True)


@pytest.fixture
def jp_server_config(store_dir, allow_unauthenticated_access, monkeypatch):
    monkeypatch.setenv("JUPYTER_TRACKER_STORE", str(store_dir))
    return {
        "ServerApp": {
            "jpserver_extensions": {
                "jupyter_tracker.server": True,
                "jupyter_server_terminals": False,  # not ours, and it warns about its socket
            },
            "allow_unauthenticated_access": allow_unauthenticated_access,
        }
    }


async def get(jp_fetch, path, **params):
    """GET a route under /jupyter-tracker/api/; the response, whatever its status."""
    try:
        return await jp_fetch("jupyter-tracker", "api", path, params=params)
    except HTTPClientError as exc:
        assert exc.response is not None, exc
        return exc.response


def body(response):
    """The JSON body, refusing NaN/Infinity literals as browsers' JSON.parse does."""
    assert response.headers["Content-Type"].startswith("application/json")
    return json.loads(response.body, parse_constant=pytest.fail)


def tracker_routes(router):
    """(path, handler class) of every route, at any depth, whose pattern has /jupyter-tracker/."""
    found = []
    for rule in router.rules:
        if hasattr(rule.target, "rules"):  # a nested router (one per host pattern)
            found += tracker_routes(rule.target)
            continue
        regex = getattr(rule.matcher, "regex", None)
        if regex is not None and "/jupyter-tracker/" in regex.pattern.replace("\\", ""):
            path = re.sub(r"\((?:\?P<\w+>)?[^)]*\)", "0123abcd", regex.pattern.rstrip("$"))
            found.append((path.replace("\\", ""), rule.target))
    return found


@pytest.mark.parametrize("allow_unauthenticated_access", [True, False], indirect=True)
async def test_every_route_needs_the_token(jp_web_app, http_server_client, jp_auth_header):
    routes = tracker_routes(jp_web_app.default_router)
    assert len(routes) >= 3, routes
    for path, handler in routes:
        assert issubclass(handler, APIHandler), f"{path}: {handler} is not an APIHandler"
        methods = [
            m
            for m in handler.SUPPORTED_METHODS
            if m != "OPTIONS"  # CORS preflight, answered by jupyter_server itself
            and getattr(handler, m.lower()) is not RequestHandler._unimplemented_method
        ]
        assert methods, f"{path} answers no method"
        for method in methods:
            payload = {} if method in ("GET", "DELETE") else {"body": "{}"}
            anonymous = await http_server_client.fetch(
                path, method=method, raise_error=False, **payload
            )
            assert anonymous.code in (401, 403), f"{method} {path} answered without a token"
            with_token = await http_server_client.fetch(
                path, method=method, headers=jp_auth_header, raise_error=False, **payload
            )
            assert with_token.code not in (401, 403), f"{method} {path} refused the token"
            assert with_token.headers["Content-Type"].startswith("application/json"), path
            assert with_token.headers["X-Content-Type-Options"] == "nosniff", path


async def test_runs_lists_the_store_newest_first(jp_fetch):
    response = await get(jp_fetch, "runs")
    assert response.code == 200
    data = body(response)
    assert data["offset"] == 0 and data["limit"] == 50 and data["has_more"] is False
    runs = data["runs"]
    assert [r["name"] for r in runs] == ["sweep lr=0.1", XSS_NAME, "baseline"]
    assert [r["status"] for r in runs] == ["KILLED", "FAILED", "FINISHED"]
    baseline = runs[2]
    assert baseline["params"] == {"alpha": "0.5"} and baseline["tags"] == {"stage": "dev"}
    assert baseline["metrics"]["loss"] == pytest.approx(1 / 3)
    assert baseline["metrics"]["acc"] == "NaN"  # JSON has no NaN: sent as JavaScript names it


async def test_runs_are_paged_and_capped(jp_fetch):
    page = body(await get(jp_fetch, "runs", limit="1", offset="1"))
    assert [r["name"] for r in page["runs"]] == [XSS_NAME] and page["has_more"] is True
    last = body(await get(jp_fetch, "runs", limit="2", offset="2"))
    assert [r["name"] for r in last["runs"]] == ["baseline"] and last["has_more"] is False
    capped = body(await get(jp_fetch, "runs", limit="100000"))
    assert capped["limit"] == 500 and len(capped["runs"]) == 3
    for bad in ({"limit": "-1"}, {"limit": "ten"}, {"offset": "-5"}):
        response = await get(jp_fetch, "runs", **bad)
        assert response.code == 400, bad
        assert "must be" in body(response)["error"]


async def test_runs_filter_order_and_experiment(jp_fetch):
    mnist = body(await get(jp_fetch, "runs", experiment="mnist"))
    assert {r["name"] for r in mnist["runs"]} == {"baseline", XSS_NAME}
    done = body(await get(jp_fetch, "runs", filter="status = 'FINISHED' and params.alpha = 0.5"))
    assert [r["name"] for r in done["runs"]] == ["baseline"]
    oldest = body(await get(jp_fetch, "runs", order_by="start_time ASC"))
    assert oldest["runs"][0]["name"] == "baseline"


async def test_bad_filter_or_order_is_a_400_with_the_message(jp_fetch):
    response = await get(jp_fetch, "runs", filter="metrics.loss <")
    assert response.code == 400
    assert "position" in body(response)["error"]
    response = await get(jp_fetch, "runs", filter="1; DROP TABLE runs")
    assert response.code == 400 and body(response)["error"]
    response = await get(jp_fetch, "runs", order_by="start_time; DROP TABLE runs")
    assert response.code == 400 and body(response)["error"]
    assert len(body(await get(jp_fetch, "runs"))["runs"]) == 3


async def test_run_detail_by_id_or_prefix(jp_fetch, made_store):
    run_id = made_store[1]
    full = body(await get(jp_fetch, f"runs/{run_id}"))
    assert full["run_id"] == run_id and full["name"] == "baseline"
    assert full["status"] == "FINISHED" and "source" in full and "artifacts" in full
    short = body(await get(jp_fetch, f"runs/{run_id[:8]}"))
    assert short["run_id"] == run_id


async def test_unknown_run_is_a_404_json(jp_fetch):
    response = await get(jp_fetch, "runs/feedfacefeedface")
    assert response.code == 404
    assert "feedfacefeedface" in body(response)["error"]


async def test_experiments(jp_fetch):
    data = body(await get(jp_fetch, "experiments"))
    counts = {e["name"]: e["runs"] for e in data["experiments"]}
    assert counts == {"Default": 1, "mnist": 2}


@pytest.mark.parametrize("store_dir", ["missing"], indirect=True)
async def test_no_store_yet_lists_nothing_and_creates_nothing(jp_fetch, store_dir):
    assert body(await get(jp_fetch, "runs"))["runs"] == []
    assert body(await get(jp_fetch, "experiments"))["experiments"] == []
    assert (await get(jp_fetch, "runs/0123abcd")).code == 404
    assert not store_dir.exists()
