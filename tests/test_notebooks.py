"""Every notebook in ``notebooks/`` runs top to bottom in a real kernel (nbclient).

Each runs in a tmp copy of the folder with its own store; for the quickstart the test then
checks what a user would expect to find in the store and in the saved notebook.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from _kernels import kernel_specs
from jupyter_client import AsyncKernelManager
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_core.utils import run_sync
from nbclient import NotebookClient

import jupyter_tracker as jt

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
CELL_TIMEOUT_S = 120
TRACKING_MAGICS = ("%%track_run", "%%track_sweep")


def execute(name: str, tmp_path: Path, store_dir: Path) -> nbformat.NotebookNode:
    """Run ``notebooks/<name>`` in a copy of the folder; the executed notebook."""
    folder = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS, folder)
    path = folder / name
    nb = nbformat.read(path, as_version=4)
    specs = kernel_specs(tmp_path)
    km = AsyncKernelManager(
        kernel_name="jt-test", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(specs)])
    )
    client = NotebookClient(
        nb, km=km, timeout=CELL_TIMEOUT_S, resources={"metadata": {"path": str(folder)}}
    )
    env = {
        **os.environ,
        "JUPYTER_TRACKER_STORE": str(store_dir),
        "JPY_SESSION_NAME": str(path),  # as jupyter_server sets it
    }
    try:
        client.execute(env=env, cleanup_kc=True)
    finally:
        if km.has_kernel:
            run_sync(km.shutdown_kernel)(now=True)
    nbformat.write(nb, path)  # the saved notebook, as a user would keep it
    return nb


@pytest.mark.parametrize("name", sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")))
def test_every_notebook_runs_without_errors(name, tmp_path, store):
    nb = execute(name, tmp_path, store.path)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.outputs if o.output_type == "error"]
        expected = "raises-exception" in cell.metadata.get("tags", [])
        assert bool(errors) == expected, (cell.source, errors)


def cards(cell) -> list[str]:
    """The HTML run cards saved in a cell's outputs (their final state)."""
    return [
        o.data["text/html"]
        for o in cell.outputs
        if o.output_type == "display_data" and "jt-run-card" in o.data.get("text/html", "")
    ]


def history_length(run, key: str) -> int:
    return len(jt.metric_history(run.id, key))


def test_quickstart_fills_the_store_and_keeps_readable_cards(tmp_path, store):
    nb = execute("quickstart.ipynb", tmp_path, store.path)
    runs = {r.name: r for r in map(jt.get_run, jt.search_runs()["run_id"])}
    assert set(runs) == {
        "baseline",
        "faster",
        "typo",
        "lr-sweep",
        "lr-sweep-1",
        "lr-sweep-2",
        "lr-sweep-3",
    }

    baseline, faster, typo = runs["baseline"], runs["faster"], runs["typo"]
    assert baseline.status == faster.status == "FINISHED"
    assert baseline.params == {"lr": 0.1, "epochs": 200}
    assert faster.params == {"lr": 0.5, "epochs": 300}
    assert faster.tags == {"idea": "larger-steps"}
    for run, epochs in ((baseline, 200), (faster, 300)):
        assert history_length(run, "loss") == history_length(run, "accuracy") == epochs
        assert history_length(run, "test_accuracy") == 1
        assert run.metrics["accuracy"] > 0.8
        assert run.metrics["loss"] < jt.metric_history(run.id, "loss")["value"][0]

    assert typo.status == "FAILED"
    assert typo.params == {"lr": 500.0, "epochs": 200}
    assert "FloatingPointError: loss diverged" in typo.error
    assert 0 < history_length(typo, "loss") < 200  # the points up to the failure
    assert [r.name for r in runs.values() if r.status == "FAILED"] == ["typo"]

    parent = runs["lr-sweep"]
    children = [r for r in runs.values() if r.parent_id == parent.id]
    assert parent.status == "FINISHED" and parent.params == {}
    assert parent.tags["jupyter_tracker.sweep_size"] == "3"
    assert sorted(c.params["lr"] for c in children) == [0.01, 0.1, 0.5]
    assert {c.params["epochs"] for c in children} == {100}
    assert {c.status for c in children} == {"FINISHED"}
    assert {history_length(c, "loss") for c in children} == {100}
    assert {r.name for r in runs.values() if r.parent_id is None} == {
        "baseline",
        "faster",
        "typo",
        "lr-sweep",
    }

    # where each run came from: the notebook (from the session) and the cell's source
    path = str(tmp_path / "notebooks" / "quickstart.ipynb")
    assert {r.notebook for r in runs.values()} == {path}
    assert baseline.source.startswith("%%track_run lr=0.1 epochs=200 --name baseline\n")

    # the saved notebook: every tracked cell keeps its card's final state as HTML
    tracked = [
        c for c in nb.cells if c.cell_type == "code" and c.source.startswith(TRACKING_MAGICS)
    ]
    assert len(tracked) == 4
    for cell in tracked:
        if cell.source.startswith("%%track_sweep"):
            continue  # one table for the whole sweep, below
        assert cards(cell), cell.source
        for card in cards(cell):
            assert "RUNNING" not in card
            assert "FINISHED" in card or "FAILED" in card
    failed_cell = next(c for c in tracked if "--name typo" in c.source)
    assert "FloatingPointError" in cards(failed_cell)[0]
    sweep_cell = next(c for c in tracked if c.source.startswith("%%track_sweep"))
    assert cards(sweep_cell) == []  # no card per child: the one table fills in
    (table,) = [o.data["text/html"] for o in sweep_cell.outputs if "jt-sweep" in str(o.get("data"))]
    assert "<table>" in table and "best lowest loss first" in table and "3/3 runs" in table
    assert table.index("lr-sweep-3") < table.index("lr-sweep-2") < table.index("lr-sweep-1")

    runs_cell = next(c for c in nb.cells if c.source.strip().startswith("%runs"))
    assert all(r.id[:8] in runs_cell.outputs[0].data["text/html"] for r in runs.values())
    assert {r.experiment for r in runs.values()} == {"quickstart"}


def test_each_notebook_keeps_to_its_own_experiment(tmp_path, store):
    """The quickstart then compare.ipynb in one store: compare's table and DataFrame hold
    its own runs only, not the quickstart's as rows of NaN."""
    execute("quickstart.ipynb", tmp_path / "first", store.path)
    nb = execute("compare.ipynb", tmp_path / "second", store.path)
    experiments = {r.name: r.experiment for r in map(jt.get_run, jt.search_runs()["run_id"])}
    assert experiments["baseline"] == "quickstart" and experiments["spiral-momentum"] == "spirals"
    spirals = jt.search_runs(experiment="spirals")
    assert len(spirals) == 8  # the sweep's parent, its 6 children, the momentum run
    table_cell = next(c for c in nb.cells if c.source.startswith("table = jt.runs("))
    html = table_cell.outputs[0].data["text/html"]
    assert "spiral-momentum" in html and "baseline" not in html and "lr-sweep" not in html
    ranked_cell = next(c for c in nb.cells if c.source.startswith("ranked = "))
    frame = ranked_cell.outputs[0].data["text/plain"]
    names = re.findall(r"\b(?:spiral-\w+|baseline|faster|typo|lr-sweep\S*)", frame)
    assert sorted(names) == sorted([f"spiral-{i}" for i in range(1, 7)] + ["spiral-momentum"])
