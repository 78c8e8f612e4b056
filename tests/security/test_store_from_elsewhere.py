"""A store from elsewhere (a `.jupyter_tracker/` in a cloned repository) is data, never
instructions: a tampered artifact row or blob is not followed out of the store, not waited
on, and not embedded; the export, the detail panel and the REST download all refuse it
(issue 7's tampered blob, issue 8 item 8). Each case states its expected outcome."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from tornado.httpclient import HTTPClientError

import jupyter_tracker as jt
from jupyter_tracker.errors import InvalidInputError
from jupyter_tracker.panels.detail import artifact_preview
from jupyter_tracker.session import session
from jupyter_tracker.store import Store, queries

# A case that would block (a FIFO opened for reading) fails instead of hanging.
pytestmark = pytest.mark.timeout(20, method="signal")

pytest_plugins = ["pytest_jupyter.jupyter_server"]

SECRET = Path("/etc/hostname") if Path("/etc/hostname").is_file() else Path("/etc/passwd")


def _blob(store: Store) -> Path:
    (sha,) = store.read("SELECT sha256 FROM artifacts")[0]
    return store.blob_path(sha)


def _set_sha(value: str):
    def tamper(store: Store) -> None:
        with store.write() as conn:
            conn.execute("UPDATE artifacts SET sha256 = ?", (value,))

    return tamper


def _blob_symlink(store: Store) -> None:
    blob = _blob(store)
    blob.unlink()
    blob.symlink_to(SECRET)


def _blob_fifo(store: Store) -> None:
    blob = _blob(store)
    blob.unlink()
    os.mkfifo(blob)


def _blob_grown(store: Store) -> None:
    with open(_blob(store), "ab") as f:
        f.write(b"x" * 10_000)


def _blob_folder_outside(store: Store) -> None:
    blob = _blob(store)
    outside = store.path.parent / "outside"
    shutil.copytree(blob.parent, outside)
    shutil.rmtree(blob.parent)
    blob.parent.symlink_to(outside)


# (case, tamper, expected): every case must end refused, quickly, with nothing served.
CASES = [
    ("hash is a path out of the store", _set_sha(f"../../../..{SECRET}"), "refused"),
    ("hash is an absolute path", _set_sha(str(SECRET)), "refused"),
    ("hash is too short", _set_sha("abc"), "refused"),
    ("hash has upper case", _set_sha("A" * 64), "refused"),
    ("blob is a symlink to a system file", _blob_symlink, "refused"),
    ("blob is a FIFO", _blob_fifo, "refused"),
    ("blob is larger than recorded", _blob_grown, "refused"),
    ("blob folder is a symlink outside", _blob_folder_outside, "refused"),
]
IDS = [c[0] for c in CASES]


@pytest.fixture
def tampered(request, tmp_path, monkeypatch):
    """A store with one run and one artifact, then altered as the case says."""
    monkeypatch.delenv("JUPYTER_TRACKER_STORE", raising=False)
    store = jt.set_store(tmp_path / "cloned" / ".jupyter_tracker")
    with jt.start_run(name="from a stranger") as run:
        jt.log_text("hello", "notes.txt")
    store.flush()
    request.param(store)
    yield store, run.id
    session().store = None


@pytest.mark.parametrize("tampered", [c[1] for c in CASES], ids=IDS, indirect=True)
def test_the_store_refuses_to_open_the_blob(tampered):
    store, run_id = tampered
    (artifact,) = queries.artifacts(store, run_id)
    with pytest.raises((InvalidInputError, OSError)):
        store.open_blob(artifact["sha256"], artifact["size"]).close()


@pytest.mark.parametrize("tampered", [c[1] for c in CASES], ids=IDS, indirect=True)
def test_the_export_leaves_the_artifact_out_and_says_so(tampered, tmp_path, capsys):
    store, run_id = tampered
    out = jt.export_run(run_id, tmp_path / "export")
    assert not (out / "artifacts" / "notes.txt").exists()
    copied = [p for p in out.rglob("*") if p.is_file() and SECRET.read_bytes() == p.read_bytes()]
    assert copied == []
    assert "notes.txt" in (out / "README.md").read_text() + capsys.readouterr().err


@pytest.mark.parametrize("tampered", [c[1] for c in CASES], ids=IDS, indirect=True)
def test_the_detail_panel_shows_no_preview(tampered):
    store, run_id = tampered
    (artifact,) = queries.artifacts(store, run_id)
    html = artifact_preview(store, artifact)
    assert SECRET.read_text()[:20] not in html and "hello" not in html


@pytest.fixture
def jp_server_config(tampered, monkeypatch):
    store, _ = tampered
    monkeypatch.setenv("JUPYTER_TRACKER_STORE", str(store.path))
    return {
        "ServerApp": {
            "jpserver_extensions": {
                "jupyter_tracker.server": True,
                "jupyter_server_terminals": False,
            }
        }
    }


@pytest.mark.parametrize("tampered", [c[1] for c in CASES], ids=IDS, indirect=True)
async def test_the_rest_download_is_a_404_and_serves_nothing(tampered, jp_fetch):
    _, run_id = tampered
    for _ in range(3):  # and it stays answering (nothing left blocked or open)
        with pytest.raises(HTTPClientError) as caught:
            await jp_fetch("jupyter-tracker", "api", "runs", run_id, "artifacts", "notes.txt")
        response = caught.value.response
        assert caught.value.code == 404
        assert SECRET.read_bytes()[:20] not in response.body
    listing = await jp_fetch("jupyter-tracker", "api", "runs")
    assert listing.code == 200
