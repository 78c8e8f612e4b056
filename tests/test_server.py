"""The REST API the JupyterLab extension reads, served in-process by jupyter_server.

Every route registered under `/jupyter-tracker/` is found by walking the app's router,
so a new route that answers without Jupyter's token fails here (the extension-template's
`check_auth.py` idea).
"""

from __future__ import annotations

import inspect
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import typing
from html import unescape as html_unescape
from pathlib import Path
from urllib.parse import unquote

import pytest
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado.httpclient import HTTPClientError
from tornado.web import RequestHandler

import jupyter_tracker as jt
from jupyter_tracker import model
from jupyter_tracker.model import (
    STATUSES,
    Experiment,
    RunCardOutput,
    RunDetail,
    RunPage,
    RunRecord,
)
from jupyter_tracker.server import handlers
from jupyter_tracker.store import Store

pytest_plugins = ["pytest_jupyter.jupyter_server"]

# With allow_unauthenticated_access=False, jupyter_server warns about any extension route
# without an auth decorator (the extension-template's check_auth.py): make that fatal.
pytestmark = pytest.mark.filterwarnings("error::jupyter_server.utils.JupyterServerAuthWarning")

XSS_NAME = "<img src=x onerror=alert(1)>"
SVG = "<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>"
NOTE = 'notes/naïve "report" 100%.txt'
SPIKE = 1000.0

MAKE_RUNS = textwrap.dedent(
    f"""
    import time

    import jupyter_tracker as jt

    with jt.start_run(name="baseline", experiment="mnist", params={{"alpha": 0.5}}) as run:
        for i in range(3):
            jt.log_metric("loss", 1.0 / (i + 1))
        jt.log_metric("acc", float("nan"))
        for i in range(1000):  # a long curve with one spike at 537 and a NaN gap at 800
            wave = {SPIKE} if i == 537 else float("nan") if i == 800 else i % 7
            jt.log_metric("train/wave", wave)
        jt.log_artifact({SVG!r}, name="plots/evil.svg")
        jt.log_artifact("first draft", name={NOTE!r})
        jt.log_artifact("second draft", name={NOTE!r})
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
    """The shared store (read-only tests), or "missing", "copy" (to change), "live" (empty,
    current in this process so a test can hold a run RUNNING)."""
    kind = getattr(request, "param", None)
    if kind == "missing":
        return tmp_path / "no-store-yet"
    if kind == "copy":
        return shutil.copytree(made_store[0], tmp_path / "copy")
    if kind == "live":
        return request.getfixturevalue("store").path
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


async def send(jp_fetch, method, path, data=None, raw=None):
    """PUT/DELETE a route with the token; the response, whatever its status."""
    payload = {} if data is None and raw is None else {"body": raw or json.dumps(data)}
    try:
        return await jp_fetch("jupyter-tracker", "api", path, method=method, **payload)
    except HTTPClientError as exc:
        assert exc.response is not None, exc
        return exc.response


async def get_raw(http_server_client, jp_base_url, jp_auth_header, path):
    """GET ``path`` exactly as written (no escaping by the test client)."""
    url = url_path_join(jp_base_url, "jupyter-tracker/api", path)
    return await http_server_client.fetch(url, headers=jp_auth_header, raise_error=False)


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
    assert len(routes) == len(handlers.ROUTES), routes
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
    assert data.keys() == RunPage.__required_keys__
    assert data["next"] is None and data["limit"] == 50
    assert data["statuses"] == list(STATUSES)  # the sidebar receives them, never copies them
    runs = data["runs"]
    assert all(run.keys() == RunRecord.__required_keys__ for run in runs)
    assert [r["name"] for r in runs] == ["sweep lr=0.1", XSS_NAME, "baseline"]
    assert [r["status"] for r in runs] == ["KILLED", "FAILED", "FINISHED"]
    baseline = runs[2]
    assert baseline["params"] == {"alpha": "0.5"} and baseline["tags"] == {"stage": "dev"}
    assert baseline["metrics"]["loss"] == pytest.approx(1 / 3)
    assert baseline["metrics"]["acc"] == "NaN"  # JSON has no NaN: sent as JavaScript names it


async def test_runs_are_paged_by_cursor_and_capped(jp_fetch):
    first = body(await get(jp_fetch, "runs", limit="1"))
    assert [r["name"] for r in first["runs"]] == ["sweep lr=0.1"] and first["next"]
    second = body(await get(jp_fetch, "runs", limit="1", after=first["next"]))
    assert [r["name"] for r in second["runs"]] == [XSS_NAME] and second["next"]
    last = body(await get(jp_fetch, "runs", limit="2", after=second["next"]))
    assert [r["name"] for r in last["runs"]] == ["baseline"] and last["next"] is None
    by_name = body(await get(jp_fetch, "runs", limit="1", order_by="name ASC"))
    assert [r["name"] for r in by_name["runs"]] == [XSS_NAME]
    then = body(await get(jp_fetch, "runs", limit="5", order_by="name ASC", after=by_name["next"]))
    assert [r["name"] for r in then["runs"]] == ["baseline", "sweep lr=0.1"]
    capped = body(await get(jp_fetch, "runs", limit="100000"))
    assert capped["limit"] == 500 and len(capped["runs"]) == 3
    for bad in ({"limit": "-1"}, {"limit": "ten"}):
        response = await get(jp_fetch, "runs", **bad)
        assert response.code == 400, bad
        assert "must be" in body(response)["error"]
    # A cursor is only good for the listing that gave it out: another order is a clear 400.
    other = await get(jp_fetch, "runs", order_by="metrics.loss ASC, name", after=first["next"])
    assert other.code == 400 and "start again from the first page" in body(other)["error"]


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
    assert full["status"] == "FINISHED" and full.keys() == RunDetail.__required_keys__
    assert full["deleted"] is False
    short = body(await get(jp_fetch, f"runs/{run_id[:8]}"))
    assert short["run_id"] == run_id


async def test_unknown_run_is_a_404_json(jp_fetch):
    response = await get(jp_fetch, "runs/feedfacefeedface")
    assert response.code == 404
    assert "feedfacefeedface" in body(response)["error"]


CARD = "jupyter-tracker/run-card"


async def test_card_is_the_kernels_final_card_of_the_run(jp_fetch, made_store):
    run_id = made_store[1]
    card = body(await get(jp_fetch, f"runs/{run_id[:8]}/card"))
    assert card.keys() == RunCardOutput.__required_keys__
    assert card["metadata"] == {CARD: {"run_id": run_id, "status": "FINISHED", "final": True}}
    html, text = card["data"]["text/html"], card["data"]["text/plain"]
    assert "baseline" in html and "FINISHED" in html and "alpha=0.5" in html
    assert "polyline" in html  # the loss curve, from the stored history
    assert text.startswith(f"run baseline ({run_id[:8]}) FINISHED")
    runs = body(await get(jp_fetch, "runs"))["runs"]
    failed = next(r for r in runs if r["status"] == "FAILED")
    html = body(await get(jp_fetch, f"runs/{failed['run_id']}/card"))["data"]["text/html"]
    assert XSS_NAME not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "RuntimeError: diverged" in html
    assert (await get(jp_fetch, "runs/feedfacefeedface/card")).code == 404


DIES_LATER = """
import sys
import jupyter_tracker as jt
run = jt.start_run(name="doomed", params={"lr": 0.1})
jt.log_metric("loss", 0.25)
jt.tracking.current_store().flush()
print(run.id, flush=True)
sys.stdin.read()  # alive until killed
"""


@pytest.mark.parametrize("store_dir", ["copy"], indirect=True)
async def test_card_of_a_run_whose_process_died_says_crashed(jp_fetch, store_dir):
    env = {**os.environ, "JUPYTER_TRACKER_STORE": str(store_dir)}
    kernel = subprocess.Popen(
        [sys.executable, "-c", DIES_LATER],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        run_id = kernel.stdout.readline().strip()
        running = body(await get(jp_fetch, f"runs/{run_id}/card"))  # the server opens the store
        assert running["metadata"][CARD] == {"run_id": run_id, "status": "RUNNING", "final": False}
    finally:
        kernel.kill()  # SIGKILL: the run never ends
        kernel.wait(10)
    card = body(await get(jp_fetch, f"runs/{run_id}/card"))
    assert card["metadata"][CARD] == {"run_id": run_id, "status": "CRASHED", "final": True}
    assert "CRASHED" in card["data"]["text/html"] and "0.25" in card["data"]["text/html"]
    assert body(await get(jp_fetch, f"runs/{run_id}"))["status"] == "CRASHED"


async def test_experiments(jp_fetch):
    data = body(await get(jp_fetch, "experiments"))
    assert all(e.keys() == Experiment.__required_keys__ for e in data["experiments"])
    counts = {e["name"]: e["runs"] for e in data["experiments"]}
    assert counts == {"Default": 1, "mnist": 2}


@pytest.mark.parametrize("store_dir", ["missing"], indirect=True)
async def test_no_store_yet_lists_nothing_and_creates_nothing(jp_fetch, store_dir):
    empty = body(await get(jp_fetch, "runs"))
    assert empty["runs"] == [] and empty["statuses"] == list(STATUSES)
    assert body(await get(jp_fetch, "experiments"))["experiments"] == []
    assert (await get(jp_fetch, "runs/0123abcd")).code == 404
    assert not store_dir.exists()


# -- metrics ---------------------------------------------------------------------------


async def test_metric_points_downsampled_with_the_spike_and_the_gap(jp_fetch, made_store):
    run_id = made_store[1]
    response = await get(jp_fetch, f"runs/{run_id}/metrics/train/wave", points="60")
    assert response.code == 200
    data = body(response)
    assert data["key"] == "train/wave" and data["count"] == 1000
    assert len(data["values"]) == 60  # min(N, count), not a third of it
    assert len(data["steps"]) == len(data["values"]) == len(data["times"])
    assert SPIKE in data["values"] and "NaN" in data["values"]
    assert data["steps"] == sorted(data["steps"]) and 537 in data["steps"]
    assert data["steps"][0] == 0 and data["steps"][-1] == 999  # both ends, always
    for points in (3, 4, 7, 100, 999):
        few = body(await get(jp_fetch, f"runs/{run_id}/metrics/train/wave", points=str(points)))
        assert len(few["steps"]) == len(set(few["steps"])) == points, points
        assert few["steps"][0] == 0 and few["steps"][-1] == 999, points
    full = body(await get(jp_fetch, f"runs/{run_id[:8]}/metrics/train/wave"))
    assert len(full["values"]) == 1000 and full["steps"] == list(range(1000))  # default 1000
    huge = body(await get(jp_fetch, f"runs/{run_id}/metrics/loss", points="10000000"))
    assert huge["steps"] == [0, 1, 2] and huge["values"][0] == 1.0


async def test_metric_errors(jp_fetch, made_store):
    run_id = made_store[1]
    unknown_key = await get(jp_fetch, f"runs/{run_id}/metrics/nope")
    assert unknown_key.code == 404 and "nope" in body(unknown_key)["error"]
    unknown_run = await get(jp_fetch, "runs/feedfacefeedface/metrics/loss")
    assert unknown_run.code == 404 and "feedfacefeedface" in body(unknown_run)["error"]
    for bad in ("0", "2", "many"):
        response = await get(jp_fetch, f"runs/{run_id}/metrics/loss", points=bad)
        assert response.code == 400 and "points" in body(response)["error"], bad


# -- artifacts -------------------------------------------------------------------------


async def test_the_detail_panels_download_links_are_this_route(jp_fetch, made_store):
    from jupyter_tracker.panels.detail import RunDetail

    store_path, run_id = made_store
    html = RunDetail(run_id, store=Store.open(store_path)).html()
    links = dict(
        re.findall(r'data-jt-api="jupyter-tracker/api/([^"]+)"[^>]*download="([^"]+)"', html)
    )
    assert len(links) == 2
    for path, name in links.items():
        response = await get(jp_fetch, unquote(path))
        assert response.code == 200, path
        assert response.headers["Content-Disposition"].startswith("attachment")
        assert html_unescape(name) in unquote(path)


async def test_artifact_is_a_download_never_rendered(jp_fetch, made_store):
    run_id = made_store[1]
    response = await get(jp_fetch, f"runs/{run_id}/artifacts/plots/evil.svg")
    assert response.code == 200 and response.body == SVG.encode()
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=\"evil.svg\"; filename*=UTF-8''evil.svg"
    )
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]


async def test_artifact_versions_and_quoted_names(jp_fetch, made_store):
    run_id = made_store[1]
    latest = await get(jp_fetch, f"runs/{run_id}/artifacts/{NOTE}")
    assert latest.code == 200 and latest.body == b"second draft"
    assert latest.headers["Content-Disposition"] == (
        'attachment; filename="na_ve _report_ 100_.txt"; '
        "filename*=UTF-8''na%C3%AFve%20%22report%22%20100%25.txt"
    )
    first = await get(jp_fetch, f"runs/{run_id}/artifacts/{NOTE}", version="1")
    assert first.code == 200 and first.body == b"first draft"
    normalised = await get(jp_fetch, f"runs/{run_id}/artifacts/./plots//evil.svg")
    assert normalised.code == 200 and normalised.body == SVG.encode()


async def test_artifact_not_found(jp_fetch, made_store):
    run_id = made_store[1]
    for path, params in (
        (f"runs/{run_id}/artifacts/plots/missing.png", {}),
        (f"runs/{run_id}/artifacts/{NOTE}", {"version": "3"}),
        ("runs/feedfacefeedface/artifacts/plots/evil.svg", {}),
    ):
        response = await get(jp_fetch, path, **params)
        assert response.code == 404, path
        assert body(response)["error"]
    bad_version = await get(jp_fetch, f"runs/{run_id}/artifacts/{NOTE}", version="0")
    assert bad_version.code == 400


@pytest.mark.parametrize("store_dir", ["copy"], indirect=True)
async def test_artifact_content_missing_from_the_blobs_is_a_404(jp_fetch, made_store, store_dir):
    run_id = made_store[1]
    detail = body(await get(jp_fetch, f"runs/{run_id}"))
    (svg,) = [a for a in detail["artifacts"] if a["path"] == "plots/evil.svg"]
    Store(store_dir).blob_path(svg["sha256"]).unlink()
    response = await get(jp_fetch, f"runs/{run_id}/artifacts/plots/evil.svg")
    assert response.code == 404 and "missing" in body(response)["error"]


@pytest.mark.parametrize(
    "path",
    [
        "..%2F..%2Fstore.db",
        "%2e%2e/%2e%2e/store.db",
        "%252e%252e/store.db",
        "plots/%2E%2E/%2E%2E/%2E%2E/etc/passwd",
        "plots%5Cevil.svg",
        "plots/evil.svg%00.txt",
        "%2Fetc%2Fpasswd",
        "C:%5Cwindows",
        "plots/evil.svg%23x",
    ],
)
async def test_artifact_traversal_forms_are_a_400(
    http_server_client, jp_base_url, jp_auth_header, made_store, path
):
    run_id = made_store[1]
    response = await get_raw(
        http_server_client, jp_base_url, jp_auth_header, f"runs/{run_id}/artifacts/{path}"
    )
    assert response.code == 400, path
    assert "not allowed" in body(response)["error"] or "absolute" in body(response)["error"]


async def test_artifact_dot_dot_through_the_test_client_is_a_400(jp_fetch, made_store):
    run_id = made_store[1]
    for path in ("../../store.db", "plots/../../x", "a\\b", "a\x00b"):
        response = await get(jp_fetch, f"runs/{run_id}/artifacts/{path}")
        assert response.code == 400, path


# -- delete and tags -------------------------------------------------------------------


@pytest.mark.parametrize("store_dir", ["copy"], indirect=True)
async def test_delete_hides_the_run(jp_fetch, made_store):
    run_id = made_store[1]
    response = await send(jp_fetch, "DELETE", f"runs/{run_id[:8]}")
    assert response.code == 200
    assert body(response) == {
        "run_id": run_id,
        "name": "baseline",
        "status": "FINISHED",
        "deleted": True,
    }
    names = [r["name"] for r in body(await get(jp_fetch, "runs"))["runs"]]
    assert names == ["sweep lr=0.1", XSS_NAME]
    counts = {e["name"]: e["runs"] for e in body(await get(jp_fetch, "experiments"))["experiments"]}
    assert counts == {"Default": 1, "mnist": 1}
    again = await send(jp_fetch, "DELETE", f"runs/{run_id}")
    assert again.code == 200 and body(again)["deleted"] is True
    unknown = await send(jp_fetch, "DELETE", "runs/feedfacefeedface")
    assert unknown.code == 404


@pytest.mark.parametrize("store_dir", ["copy"], indirect=True)
async def test_deleted_runs_are_listed_by_view_and_restored(jp_fetch, made_store):
    run_id = made_store[1]
    assert body(await get(jp_fetch, "runs", view="deleted"))["runs"] == []
    await send(jp_fetch, "DELETE", f"runs/{run_id}")
    deleted = body(await get(jp_fetch, "runs", view="deleted"))["runs"]
    assert [r["name"] for r in deleted] == ["baseline"]
    every = body(await get(jp_fetch, "runs", view="all"))["runs"]
    assert len(every) == 3
    # A deleted run still opens, and says it is deleted (the run view offers Restore).
    detail = body(await get(jp_fetch, f"runs/{run_id}"))
    assert detail["deleted"] is True and detail.keys() == RunDetail.__required_keys__
    restored = await send(jp_fetch, "POST", f"runs/{run_id[:8]}/restore", {})
    assert restored.code == 200
    assert body(restored) == {
        "run_id": run_id,
        "name": "baseline",
        "status": "FINISHED",
        "deleted": False,
    }
    assert len(body(await get(jp_fetch, "runs"))["runs"]) == 3
    assert body(await get(jp_fetch, "runs", view="deleted"))["runs"] == []
    assert body(await get(jp_fetch, f"runs/{run_id}"))["deleted"] is False
    again = await send(jp_fetch, "POST", f"runs/{run_id}/restore", {})
    assert again.code == 200 and body(again)["deleted"] is False
    unknown = await send(jp_fetch, "POST", "runs/feedfacefeedface/restore", {})
    assert unknown.code == 404 and "feedface" in body(unknown)["error"]
    bad = await get(jp_fetch, "runs", view="trash")
    assert bad.code == 400
    assert body(bad)["error"] == "Query argument 'view' must be one of active, deleted, all."


@pytest.mark.parametrize("store_dir", ["live"], indirect=True)
async def test_delete_refuses_a_running_run(jp_fetch, store):
    run = jt.start_run(name="training")
    store.flush()
    response = await send(jp_fetch, "DELETE", f"runs/{run.id}")
    assert response.code == 409
    message = body(response)["error"]
    assert "still RUNNING" in message and run.id[:8] in message and "end it first" in message
    assert [r["name"] for r in body(await get(jp_fetch, "runs"))["runs"]] == ["training"]
    jt.end_run()
    store.flush()
    done = await send(jp_fetch, "DELETE", f"runs/{run.id}")
    assert done.code == 200 and body(done)["status"] == "FINISHED"
    assert body(await get(jp_fetch, "runs"))["runs"] == []


@pytest.mark.parametrize("store_dir", ["copy"], indirect=True)
async def test_put_tag_shows_in_the_run(jp_fetch, made_store):
    run_id = made_store[1]
    response = await send(jp_fetch, "PUT", f"runs/{run_id}/tags/review note", {"value": XSS_NAME})
    assert response.code == 200
    assert body(response)["tags"] == {"stage": "dev", "review note": XSS_NAME}
    replaced = await send(jp_fetch, "PUT", f"runs/{run_id[:8]}/tags/stage", {"value": "prod"})
    assert replaced.code == 200
    detail = body(await get(jp_fetch, f"runs/{run_id}"))
    assert detail["tags"] == {"stage": "prod", "review note": XSS_NAME}
    nested = await send(jp_fetch, "PUT", f"runs/{run_id}/tags/team/owner", {"value": "ana"})
    assert body(nested)["tags"]["team/owner"] == "ana"
    listed = body(await get(jp_fetch, "runs", filter="tags.stage = 'prod'"))
    assert [r["run_id"] for r in listed["runs"]] == [run_id]


@pytest.mark.parametrize("store_dir", ["copy"], indirect=True)
async def test_put_tag_errors(jp_fetch, made_store):
    run_id = made_store[1]
    cases = [
        ("stage", None, "not json", "JSON object"),
        ("stage", None, "", "JSON object"),
        ("stage", None, '["prod"]', "JSON object"),
        ("stage", {"val": "prod"}, None, "JSON object"),
        ("stage", {"value": 3}, None, "must be a string"),
        ("stage", {"value": "x" * 8001}, None, "the limit is 8000"),
        ("bad;key", {"value": "x"}, None, "characters outside"),
        ("k" * 251, {"value": "x"}, None, "1 to 250"),
    ]
    for key, data, raw, expected in cases:
        response = await send(jp_fetch, "PUT", f"runs/{run_id}/tags/{key}", data, raw)
        assert response.code == 400, (key, data, raw)
        assert expected in body(response)["error"], (key, data, raw)
    unknown = await send(jp_fetch, "PUT", "runs/feedfacefeedface/tags/stage", {"value": "x"})
    assert unknown.code == 404
    assert body(await get(jp_fetch, f"runs/{run_id}"))["tags"] == {"stage": "dev"}


@pytest.mark.parametrize("store_dir", ["copy"], indirect=True)
async def test_cookie_writes_need_the_xsrf_token(
    http_server_client, jp_base_url, jp_auth_header, made_store
):
    """A browser session (the login cookie) may not PUT/DELETE without the XSRF token."""
    run_id = made_store[1]
    api = url_path_join(jp_base_url, "jupyter-tracker/api")
    login = await http_server_client.fetch(f"{api}/runs", headers=jp_auth_header)
    cookie = "; ".join(c.split(";", 1)[0] for c in login.headers.get_list("Set-Cookie"))
    assert cookie, "a token request sets the login cookie"
    session = {"Cookie": cookie}
    assert (await http_server_client.fetch(f"{api}/runs", headers=session)).code == 200
    for method, path, payload in (
        ("DELETE", f"runs/{run_id}", None),
        ("PUT", f"runs/{run_id}/tags/stage", json.dumps({"value": "prod"})),
        ("POST", f"runs/{run_id}/restore", "{}"),
    ):
        refused = await http_server_client.fetch(
            f"{api}/{path}", method=method, headers=session, body=payload, raise_error=False
        )
        assert refused.code == 403, (method, path)
        with_xsrf = {"Cookie": f"{cookie}; _xsrf=abc123", "X-XSRFToken": "abc123"}
        allowed = await http_server_client.fetch(
            f"{api}/{path}", method=method, headers=with_xsrf, body=payload, raise_error=False
        )
        assert allowed.code == 200, (method, path, allowed.body)
    detail = json.loads(
        (await http_server_client.fetch(f"{api}/runs/{run_id}", headers=session)).body
    )
    assert detail["tags"]["stage"] == "prod"


@pytest.mark.parametrize("store_dir", ["live"], indirect=True)
async def test_large_artifact_streams_whole(jp_fetch, store):
    data = bytes(range(256)) * 5000  # 1.28 MB: several chunks
    with jt.start_run(name="big") as run:
        jt.log_artifact(data, name="weights.bin")
    store.flush()
    response = await get(jp_fetch, f"runs/{run.id}/artifacts/weights.bin")
    assert response.code == 200 and response.body == data
    assert response.headers["Content-Length"] == str(len(data))


@pytest.mark.parametrize("store_dir", ["copy"], indirect=True)
async def test_export_writes_under_the_server_root(jp_fetch, made_store, jp_root_dir):
    run_id = made_store[1]
    response = await send(jp_fetch, "POST", f"runs/{run_id[:8]}/export", {"directory": "out/a"})
    assert response.code == 200, response.body
    answer = body(response)
    assert answer["run_id"] == run_id and answer["directory"] == "out/a"
    assert "README.md" in answer["files"]
    assert (jp_root_dir / "out" / "a" / "README.md").is_file()


@pytest.mark.parametrize("store_dir", ["copy"], indirect=True)
async def test_export_errors_are_400_or_404_never_5xx(jp_fetch, made_store, jp_root_dir):
    run_id = made_store[1]
    outside = jp_root_dir.parent / "outside"
    outside.mkdir()
    (jp_root_dir / "link").symlink_to(outside)
    cases = [
        (None, "not json", 400),
        (None, "", 400),
        ({"dir": "x"}, None, 400),
        ({"directory": 3}, None, 400),
        ({"directory": "../escape"}, None, 400),
        ({"directory": "%2e%2e/escape"}, None, 400),
        ({"directory": "/tmp/abs"}, None, 400),
        ({"directory": "a\\b"}, None, 400),
        ({"directory": "link/inside"}, None, 400),
        ({"directory": ""}, None, 400),
    ]
    for data, raw, code in cases:
        response = await send(jp_fetch, "POST", f"runs/{run_id}/export", data, raw)
        assert response.code == code, (data, raw, response.body)
        assert body(response)["error"], (data, raw)
    assert not any(outside.iterdir())
    unknown = await send(jp_fetch, "POST", "runs/feedfacefeedface/export", {"directory": "x"})
    assert unknown.code == 404


@pytest.mark.parametrize("store_dir", ["copy"], indirect=True)
async def test_export_needs_the_token_and_the_xsrf_token(
    http_server_client, jp_base_url, jp_auth_header, made_store
):
    url = url_path_join(jp_base_url, "jupyter-tracker/api", f"runs/{made_store[1]}/export")
    payload = json.dumps({"directory": "out/b"})
    anonymous = await http_server_client.fetch(url, method="POST", body=payload, raise_error=False)
    assert anonymous.code == 403
    login = await http_server_client.fetch(
        url_path_join(jp_base_url, "jupyter-tracker/api/runs"), headers=jp_auth_header
    )
    cookie = "; ".join(c.split(";", 1)[0] for c in login.headers.get_list("Set-Cookie"))
    refused = await http_server_client.fetch(
        url, method="POST", headers={"Cookie": cookie}, body=payload, raise_error=False
    )
    assert refused.code == 403


# -- docs/rest-api.md is the specification: kept true here ----------------------------------

REST_DOC = Path(__file__).resolve().parents[1] / "docs" / "rest-api.md"
DOC_ROUTE = re.compile(r"^### `(GET|PUT|POST|DELETE) ([^`]+)`$", re.M)
DOC_QUERY_ROW = re.compile(r"^\| `(\w+)` \|", re.M)
DOC_ANSWER = re.compile(r"^Answer: (?:`(\w+)`|(a download))", re.M)
DOC_EXAMPLE = re.compile(r"^Example: `(\w+) ([^`]+)`(?: with `([^`]+)`)?$", re.M)
HANDLER_ARGUMENT = re.compile(r"_argument\(\s*\"(\w+)\"")


def doc_sections() -> dict[tuple[str, str], str]:
    """(verb, path) -> the text of its section in docs/rest-api.md."""
    text = REST_DOC.read_text(encoding="utf-8")
    heads = list(DOC_ROUTE.finditer(text))
    ends = [h.start() for h in heads[1:]] + [len(text)]
    return {(h[1], h[2]): text[h.end() : end] for h, end in zip(heads, ends, strict=True)}


def served_routes() -> dict[tuple[str, str], object]:
    """(verb, path with {names}) -> the handler method, for every verb a route implements."""
    found = {}
    for pattern, handler in handlers.ROUTES:
        path = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", pattern)
        for verb in ("GET", "PUT", "POST", "DELETE"):
            method = getattr(handler, verb.lower())
            if method is not RequestHandler._unimplemented_method:
                found[(verb, path)] = method
    return found


def test_the_rest_doc_names_every_route_and_query_argument():
    sections, served = doc_sections(), served_routes()
    assert sorted(sections) == sorted(served), "docs/rest-api.md and handlers.ROUTES differ"
    for route, method in served.items():
        read = set(HANDLER_ARGUMENT.findall(inspect.getsource(method)))
        documented = set(DOC_QUERY_ROW.findall(sections[route]))
        assert documented == read, f"{route}: documented {documented}, the handler reads {read}"
        answer = DOC_ANSWER.search(sections[route])
        assert answer, f"{route} does not say what it answers"
        assert answer[2] or typing.is_typeddict(getattr(model, answer[1], None)), answer[1]
        assert len(DOC_EXAMPLE.findall(sections[route])) == 1, f"{route} needs one example"


@pytest.mark.parametrize("store_dir", ["copy"], indirect=True)
async def test_every_example_in_the_rest_doc_answers_its_shape(jp_fetch, made_store):
    run_id = made_store[1]
    for (verb, path), section in doc_sections().items():
        answer = DOC_ANSWER.search(section)
        ((example_verb, example, payload),) = DOC_EXAMPLE.findall(section)
        assert example_verb == verb, f"{verb} {path}: the example is a {example_verb}"
        route, _, query = example.replace("{run_id}", run_id).partition("?")
        params = dict(pair.split("=", 1) for pair in query.split("&") if pair)
        if verb == "GET":
            response = await get(jp_fetch, route, **params)
        else:
            response = await send(jp_fetch, verb, route, raw=payload or None)
        assert response.code == 200, (verb, example, response.body[:300])
        if answer[2]:  # a download
            assert response.headers["Content-Type"] == "application/octet-stream"
            continue
        shape = getattr(model, answer[1])
        data = body(response)
        required, every = shape.__required_keys__, set(typing.get_type_hints(shape))
        assert required <= data.keys() <= every, (verb, example, sorted(data))
