"""Artifacts: files, folders and objects kept by content; names that could escape refused."""

from __future__ import annotations

import importlib.util
import json
import os

import pytest

import jupyter_tracker as jt


def _blob_files(store) -> list:
    return (
        sorted(p for p in store.blob_dir.rglob("*") if p.is_file())
        if store.blob_dir.exists()
        else []
    )


def _read_blob(store, run_id: str, path: str) -> bytes:
    entry = next(a for a in jt.get_run(run_id).artifacts if a["path"] == path)
    return store.blob_path(entry["sha256"]).read_bytes()


def test_files_folders_and_versions(store, tmp_path):
    (tmp_path / "model.txt").write_text("weights v1")
    out = tmp_path / "outputs"
    (out / "plots").mkdir(parents=True)
    (out / "a.csv").write_text("x\n1\n")
    (out / "plots" / "p.svg").write_text("<svg/>")
    with jt.start_run() as run:
        assert jt.log_artifact(tmp_path / "model.txt") == ["model.txt"]
        assert jt.log_artifact(str(out)) == ["outputs/a.csv", "outputs/plots/p.svg"]
        assert jt.log_artifacts(out, "copy") == ["copy/a.csv", "copy/plots/p.svg"]
        assert jt.log_artifacts(out) == ["a.csv", "plots/p.svg"]
        (tmp_path / "model.txt").write_text("weights v2")
        jt.log_artifact(tmp_path / "model.txt")
    by_path = {a["path"]: a for a in jt.get_run(run.id).artifacts}
    assert by_path["model.txt"]["version"] == 2
    assert _read_blob(store, run.id, "model.txt") == b"weights v2"
    assert by_path["plots/p.svg"]["media_type"] == "image/svg+xml"
    versions = store.read(
        "SELECT version FROM artifacts WHERE run_id = ? AND path = 'model.txt'", (run.id,)
    )
    assert versions == [(1,), (2,)]  # each version kept


def test_identical_content_is_stored_once(store, tmp_path):
    (tmp_path / "a.bin").write_bytes(b"same")
    with jt.start_run():
        jt.log_artifact(tmp_path / "a.bin")
        jt.log_artifact(b"same", name="copy.bin")
    with jt.start_run():
        jt.log_artifact(tmp_path / "a.bin")
    assert len(_blob_files(store)) == 1


def test_in_memory_objects(store):
    pd = pytest.importorskip("pandas")
    np = pytest.importorskip("numpy")
    go = pytest.importorskip("plotly.graph_objects")
    with jt.start_run() as run:
        jt.log_artifact("some notes", name="notes.md")
        jt.log_artifact(b"\x00\x01", name="raw.bin")
        jt.log_artifact({"lr": 0.1, "layers": [1, 2]}, name="config.json")
        jt.log_artifact(pd.DataFrame({"a": [1, 2]}), name="table.csv")
        jt.log_artifact(np.arange(3), name="arr.npy")
        jt.log_artifact(go.Figure(go.Scatter(y=[1, 2])), name="fig.plotly.json")
        jt.log_text("hello", "hello.txt")
        jt.log_dict({"k": 1}, "d.json")
        jt.log_artifact({"default": "name"})
    assert _read_blob(store, run.id, "notes.md") == b"some notes"
    assert _read_blob(store, run.id, "raw.bin") == b"\x00\x01"
    assert json.loads(_read_blob(store, run.id, "config.json")) == {"lr": 0.1, "layers": [1, 2]}
    assert _read_blob(store, run.id, "table.csv").decode().splitlines() == [",a", "0,1", "1,2"]
    assert _read_blob(store, run.id, "arr.npy").startswith(b"\x93NUMPY")
    assert json.loads(_read_blob(store, run.id, "fig.plotly.json"))["data"][0]["y"] == [1, 2]
    assert _read_blob(store, run.id, "hello.txt") == b"hello"
    assert json.loads(_read_blob(store, run.id, "data.json")) == {"default": "name"}


def test_matplotlib_figures_become_png(store):
    plt = pytest.importorskip("matplotlib.pyplot")
    fig, ax = plt.subplots()
    ax.plot([1, 2])
    with jt.start_run() as run:
        jt.log_figure(fig, "curve.png")
    assert _read_blob(store, run.id, "curve.png").startswith(b"\x89PNG")


def test_missing_files_and_unknown_objects_are_clear_errors(store):
    with jt.start_run() as run:
        with pytest.raises(FileNotFoundError, match="pass a name"):
            jt.log_artifact("no-such-file.txt")
        with pytest.raises(TypeError, match="Cannot log a object"):
            jt.log_artifact(object(), name="x")
    assert jt.get_run(run.id).artifacts == []


@pytest.mark.parametrize(
    "name",
    [
        "..",
        "../escape.txt",
        "a/../../escape.txt",
        "/etc/passwd",
        "~/x",
        "a\\..\\b",
        "C:evil.txt",
        "c:/x",
        "%2e%2e/escape.txt",
        "%252e%252e/escape.txt",
        "a%2fb/%2e%2e/..",
        "a#b",
        "a?b",
        "a%23b",
        "a\x00b",
        "a%00b",
        "",
        "   ",
        ".",
        "./",
        "x" * 1001,
    ],
)
def test_names_that_could_escape_are_refused_and_nothing_is_written(store, tmp_path, name):
    with jt.start_run() as run, pytest.raises(ValueError):
        jt.log_artifact(b"payload", name=name)
    assert jt.get_run(run.id).artifacts == []
    assert _blob_files(store) == []
    assert not (tmp_path / "escape.txt").exists()


def test_a_symlink_leading_outside_a_logged_folder_refuses_the_folder(store, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("do not copy")
    folder = tmp_path / "outputs"
    folder.mkdir()
    (folder / "ok.txt").write_text("fine")
    os.symlink(secret, folder / "link.txt")
    os.symlink(tmp_path, folder / "up")
    with jt.start_run() as run, pytest.raises(ValueError, match="outside"):
        jt.log_artifacts(folder)
    assert jt.get_run(run.id).artifacts == []
    assert _blob_files(store) == []


def test_a_symlink_inside_the_folder_is_fine(store, tmp_path):
    folder = tmp_path / "outputs"
    folder.mkdir()
    (folder / "real.txt").write_text("x")
    os.symlink(folder / "real.txt", folder / "alias.txt")
    with jt.start_run() as run:
        assert jt.log_artifacts(folder) == ["alias.txt", "real.txt"]
    assert len(jt.get_run(run.id).artifacts) == 2


def test_log_artifacts_needs_a_folder(store, tmp_path):
    (tmp_path / "f.txt").write_text("x")
    with jt.start_run(), pytest.raises(ValueError, match="not a folder"):
        jt.log_artifacts(tmp_path / "f.txt")


def test_objects_are_written_in_the_format_their_name_asks_for(store):
    pd = pytest.importorskip("pandas")
    np = pytest.importorskip("numpy")
    go = pytest.importorskip("plotly.graph_objects")
    yaml = pytest.importorskip("yaml")
    frame = pd.DataFrame({"a": [1, 2]})
    with jt.start_run() as run:
        jt.log_artifact(frame, name="rows.json")
        jt.log_dict({"lr": 0.1}, "config.yaml")
        jt.log_figure(go.Figure(), "fig.html")
        with pytest.raises(ValueError, match=r"\.csv, \.json, \.html, \.parquet"):
            jt.log_artifact(frame, name="table.xlsx")
        with pytest.raises(ValueError, match="numpy array is logged as .npy"):
            jt.log_artifact(np.arange(3), name="a.csv")
        if importlib.util.find_spec("kaleido") is None:
            with pytest.raises(ValueError, match="needs kaleido"):
                jt.log_figure(go.Figure(), "fig.png")
        if importlib.util.find_spec("pyarrow") is None:
            with pytest.raises(ValueError, match="needs pyarrow"):
                jt.log_artifact(frame, name="t.parquet")
    assert json.loads(_read_blob(store, run.id, "rows.json")) == [{"a": 1}, {"a": 2}]
    assert yaml.safe_load(_read_blob(store, run.id, "config.yaml")) == {"lr": 0.1}
    assert b"<html>" in _read_blob(store, run.id, "fig.html")
    assert {a["path"] for a in jt.get_run(run.id).artifacts} == {
        "rows.json",
        "config.yaml",
        "fig.html",
    }
