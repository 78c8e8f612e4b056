"""Every run of every example notebook exports to a project that reproduces it: verify says
"reproduced" (identical params and final metrics), a param given on the command line gives
that param's result, and the one-run notebook of the export executes (issue 9)."""

from __future__ import annotations

import subprocess
import sys

import nbformat
import pytest
from nbclient import NotebookClient
from test_notebooks import NOTEBOOKS, execute

import jupyter_tracker as jt
from jupyter_tracker.export import export_run

NAMES = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))


@pytest.mark.parametrize("name", NAMES)
def test_every_run_of_the_notebook_verifies_as_reproduced(name, tmp_path, store):
    execute(name, tmp_path, store.path)
    frame = jt.search_runs()
    exported = []
    parents = set(frame["parent_id"].dropna())
    for run_id in frame["run_id"]:
        if run_id in parents:
            continue  # a sweep's parent has no code of its own: its children are exported
        done = export_run(store, run_id, tmp_path / "exports" / run_id[:8], verify=True)
        assert done.verdict is not None
        assert done.verdict["outcome"] == "reproduced", (jt.get_run(run_id).name, done.verdict)
        exported.append(done)
    assert exported, f"{name} made no run to export"


def test_a_param_override_gives_the_overrides_result(tmp_path, store):
    """The reproduce notebook: the baseline (lr=0.05) re-run with --lr 0.1 gives the final
    loss of the sweep child that ran with lr=0.1 (and the same alpha and epochs)."""
    execute("reproduce.ipynb", tmp_path, store.path)
    baseline = jt.get_run(jt.search_runs(filter_string="name = 'baseline'")["run_id"][0])
    twin = jt.search_runs(
        filter_string="params.lr = 0.1 and params.alpha = 0.0001 and name != 'baseline'"
    )
    assert len(twin) == 1
    out = export_run(store, baseline.id, tmp_path / "baseline").path
    subprocess.run(
        [sys.executable, "train.py", "--lr", "0.1"],
        cwd=out,
        check=True,
        capture_output=True,
        env={"PATH": "/usr/bin:/bin", "JUPYTER_TRACKER_STORE": str(store.path)},
        timeout=300,
    )
    rerun = jt.search_runs(filter_string=f"tags.`jupyter_tracker.origin` = '{baseline.id}'")
    assert list(rerun["params.lr"]) == ["0.1"]
    assert rerun["metrics.loss"].iloc[0] == twin["metrics.loss"].iloc[0]
    assert rerun["metrics.loss"].iloc[0] != baseline.metrics["loss"]


def test_the_exported_one_run_notebook_executes(tmp_path, store):
    execute("reproduce.ipynb", tmp_path, store.path)
    child = jt.search_runs(filter_string="name = 'grid-1'")["run_id"][0]
    out = export_run(store, child, tmp_path / "child").path
    notebook = nbformat.read(out / "run.ipynb", as_version=4)
    NotebookClient(notebook, timeout=300, resources={"metadata": {"path": str(out)}}).execute()
    errors = [
        o
        for c in notebook.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "error"
    ]
    assert errors == []
