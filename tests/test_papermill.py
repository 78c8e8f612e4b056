"""A notebook executed by real papermill (its command line and ``execute_notebook``): the
injected parameters become the execution run's params, the notebooks' paths its tags, and
every run the notebook starts is its child."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from _kernels import kernel_specs

import jupyter_tracker as jt
from jupyter_tracker.papermill import injected_parameters, literal_assignments

pytest.importorskip("papermill")

CELLS = [
    ("alpha = 0.5\nepochs = 3\nlabel = 'base'\nimport math", ["parameters"]),
    ("import jupyter_tracker as jt", []),
    ('%%track_run --name cell\nloss = alpha * epochs\njt.log_metric("loss", loss)', []),
    ('with jt.start_run(run_name="inner"):\n    jt.log_metric("x", 1.0)', []),
    ('jt.log_metric("top", 2.0)', []),
]


def notebook(path: Path, extra: list[str] = ()) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "jt-test", "language": "python", "display_name": "t"}
    for source, tags in [*CELLS, *((s, []) for s in extra)]:
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["tags"] = tags
        nb.cells.append(cell)
    nbformat.write(nb, path)
    return path


@pytest.fixture
def kernel_env(tmp_path, store, monkeypatch):
    """papermill finds the test kernel; the kernel writes to the test's store, as a kernel
    papermill starts (no jupyter_server session)."""
    kernel_specs(tmp_path)
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    monkeypatch.setenv("JUPYTER_TRACKER_STORE", str(store.path))
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    return tmp_path


def runs_by_name() -> dict[str, jt.Run]:
    return {r.name: r for r in jt.search_runs(output_format="list")}


def test_the_papermill_command_makes_one_run_with_the_injected_parameters(kernel_env):
    source = notebook(kernel_env / "train.ipynb")
    output = kernel_env / "out" / "train-0.6.ipynb"
    output.parent.mkdir()
    papermill = Path(sys.executable).parent / "papermill"
    done = subprocess.run(
        [str(papermill), "train.ipynb", "out/train-0.6.ipynb", "-p", "alpha", "0.6"],
        cwd=kernel_env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr

    runs = runs_by_name()
    assert set(runs) == {"train", "cell", "inner"}
    execution = runs["train"]
    assert execution.status == "FINISHED" and execution.parent_id is None
    assert execution.params == {"alpha": 0.6, "epochs": 3, "label": "base"}
    assert execution.tags["papermill.input_path"] == str(source)
    assert execution.tags["papermill.output_path"] == str(output)
    assert execution.tags["papermill.injected_parameters"] == "alpha"
    assert execution.notebook == str(source)
    assert execution.metrics == {"top": 2.0}  # a log call outside any run: the execution's
    assert runs["cell"].parent_id == runs["inner"].parent_id == execution.id
    assert runs["cell"].metrics == {"loss": pytest.approx(1.8)}
    assert runs["cell"].params["alpha"] == 0.6  # read from the namespace: inherited
    assert nbformat.read(output, as_version=4).metadata.papermill.parameters == {"alpha": 0.6}


def test_execute_notebook_from_python_records_the_parameters(kernel_env):
    import papermill as pm

    notebook(kernel_env / "train.ipynb")
    pm.execute_notebook(
        str(kernel_env / "train.ipynb"),
        str(kernel_env / "out.ipynb"),
        parameters={"alpha": 0.25, "label": "small", "grid": [1, 2], "eps": float("nan")},
        progress_bar=False,
    )
    execution = runs_by_name()["papermill"]  # the notebooks' paths are not on a command line
    assert execution.status == "FINISHED"
    params = execution.params
    assert math.isnan(params.pop("eps"))
    assert params == {"alpha": 0.25, "epochs": 3, "label": "small", "grid": [1, 2]}
    assert "papermill.output_path" not in execution.tags


def test_execute_notebook_given_papermills_path_parameters_records_the_paths(kernel_env):
    import papermill as pm

    notebook(kernel_env / "train.ipynb")
    source, output = kernel_env / "train.ipynb", kernel_env / "out" / "trained.ipynb"
    output.parent.mkdir()
    pm.execute_notebook(
        str(source),
        str(output),
        parameters={
            "alpha": 0.5,
            "PAPERMILL_INPUT_PATH": str(source),
            "PAPERMILL_OUTPUT_PATH": str(output),
        },
        progress_bar=False,
    )
    execution = runs_by_name()["train"]  # named after its input notebook
    assert execution.tags["papermill.input_path"] == str(source)
    assert execution.tags["papermill.output_path"] == str(output)
    assert execution.tags["papermill.injected_parameters"] == "alpha"
    assert execution.params == {"alpha": 0.5, "epochs": 3, "label": "base"}


def test_a_failing_cell_fails_the_execution_run(kernel_env):
    import papermill as pm

    notebook(kernel_env / "fails.ipynb", extra=["raise ValueError('bad alpha')"])
    with pytest.raises(pm.PapermillExecutionError):
        pm.execute_notebook(
            str(kernel_env / "fails.ipynb"),
            str(kernel_env / "out.ipynb"),
            parameters={"alpha": 2.0},
            progress_bar=False,
        )
    execution = runs_by_name()["papermill"]
    assert execution.status == "FAILED"
    assert "ValueError: bad alpha" in execution.error
    assert execution.params["alpha"] == 2.0


def test_a_notebook_run_by_a_frontend_is_not_a_papermill_execution(ip, monkeypatch):
    """The same cells typed in a notebook a frontend drives (JPY_SESSION_NAME set): no
    execution run, runs are top-level as usual."""
    monkeypatch.setenv("JPY_SESSION_NAME", "/somewhere/train.ipynb")
    ip.run_cell("alpha = 0.5")
    ip.run_cell("# Parameters\nalpha = 0.6\n")
    ip.run_cell('%%track_run --name plain\nimport jupyter_tracker as jt\njt.log_metric("m", 1)')
    (run,) = jt.search_runs(output_format="list")
    assert run.name == "plain" and run.parent_id is None


def test_the_injected_cell_is_recognized_only_in_papermills_form():
    assert injected_parameters('# Parameters\nalpha = 0.6\nname = "x"\n') == {
        "alpha": 0.6,
        "name": "x",
    }
    black_formatted = "# Parameters\ngrid = {\n    'a': [1, 2],\n}\nlow = float('-inf')\n"
    assert injected_parameters(black_formatted) == {"grid": {"a": [1, 2]}, "low": -math.inf}
    assert injected_parameters("alpha = 0.6\n") is None  # no header
    assert injected_parameters("# Parameters\nalpha = f(0.6)\n") is None  # not a literal
    assert injected_parameters("# Parameters\nimport os\n") is None
    assert literal_assignments("import os\nx = 1\ny = os.sep\nz: int = 2") == {"x": 1, "z": 2}
