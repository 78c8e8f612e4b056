"""Export: a tracked run becomes a project directory that re-runs outside Jupyter."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from IPython.core.error import UsageError

import jupyter_tracker as jt
from jupyter_tracker import cli
from jupyter_tracker.export import ExportDirectoryError, export_run
from jupyter_tracker.export._code import convert
from jupyter_tracker.export._project import yaml_str, yaml_value

PROJECT_FILES = {
    "train.py",
    "MLproject",
    "python_env.yaml",
    "requirements.txt",
    "params.yaml",
    "metrics.json",
    "run.json",
    "run.ipynb",
    "README.md",
}


def cell(ip, source: str):
    result = ip.run_cell(source, store_history=True)
    assert result.success, result.error_in_exec or result.error_before_exec
    return result


def tracked_run(ip) -> jt.Run:
    """A tracked cell that reads names two earlier cells defined (one with IPython syntax)."""
    cell(
        ip,
        "import math\nimport jupyter_tracker as jt\n%time base = 2\n!echo hello\n"
        "def scale(x):\n    return x * base\n",
    )
    cell(ip, "data = [scale(i) for i in range(4)]\nif data:\n    %pwd\n")
    cell(ip, "unrelated = 'not in the slice'")
    cell(
        ip,
        "%%track_run alpha=0.5 layers=[1, 2] opt='adam' flag=True --name origin --tag stage=dev\n"
        "%timeit -n1 -r1 1\n"
        "for i, d in enumerate(data):\n"
        "    jt.log_metric('loss/train', alpha * d)\n"
        "jt.log_metric('acc', len(layers) / 10)\n"
        "jt.log_metric('odd', float('nan'))\n"
        "jt.log_artifact({'a': 1}, name='cfg/a.json')\n"
        "jt.log_artifact('hello', name='notes.txt')\n"
        "print('trained', opt, flag, math.floor(alpha * sum(data)))\n",
    )
    return jt.get_run(jt.last_active_run().id)


def rerun(directory: Path, *args: str, store=None, python=(sys.executable,), check=True):
    env = {**os.environ}
    env.pop("JUPYTER_TRACKER_STORE", None)
    if store is not None:
        env["JUPYTER_TRACKER_STORE"] = str(store.path)
    result = subprocess.run(
        [*python, "train.py", *args],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def new_runs(origin: jt.Run) -> list[jt.Run]:
    frame = jt.search_runs(filter_string=f"tags.`jupyter_tracker.origin` = '{origin.id}'")
    return [jt.get_run(run_id) for run_id in frame["run_id"]]


def test_export_writes_a_project_whose_script_reruns_with_changed_params(ip, store, tmp_path):
    run = tracked_run(ip)
    path = jt.export_run(run.id[:8], tmp_path / "project")
    assert path == tmp_path / "project"
    files = {p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file()}
    assert files == PROJECT_FILES | {
        "metrics/loss/train.csv",
        "metrics/acc.csv",
        "metrics/odd.csv",
        "artifacts/cfg/a.json",
        "artifacts/notes.txt",
    }
    script = (path / "train.py").read_text()
    assert "get_ipython" not in script and "unrelated" not in script
    assert "base = 2  # was: %time" in script
    assert "echo hello" not in script and "%pwd" not in script  # they define nothing it reads
    assert "# skipped (IPython only): %timeit -n1 -r1 1" in script  # the cell's own
    assert "%%track_run" not in script.split("the tracked cell: %%track_run")[1].split("\n", 1)[1]
    assert script.index("def scale") < script.index("data = [") < script.index("for i, d in")
    # data, a literal read from In [2], is an inherited param applied after the slice
    assert (
        script.index("data = [") < script.index("data = PARAMS['data']") < script.index("for i, d")
    )

    result = rerun(path, "--alpha", "0.7", "--layers", "[4, 5, 6]", store=store)
    assert "trained adam True 8" in result.stdout  # floor(0.7 * (0 + 2 + 4 + 6))
    (again,) = new_runs(run)
    assert again.status == "FINISHED"
    assert again.params == {
        "alpha": 0.7,
        "layers": [4, 5, 6],
        "opt": "adam",
        "flag": True,
        "data": [0, 2, 4, 6],
    }
    assert again.tags["jupyter_tracker.origin"] == run.id
    assert again.tags["stage"] == "dev"
    assert again.metrics["loss/train"] == pytest.approx(0.7 * 6)
    assert again.metrics["acc"] == pytest.approx(0.3)
    assert {a["path"] for a in again.artifacts} == {"cfg/a.json", "notes.txt"}

    # the files beside the script
    assert json.loads((path / "metrics.json").read_text()) == {
        "acc": 0.2,
        "loss/train": 3.0,
        "odd": "NaN",
    }
    lines = (path / "metrics/loss/train.csv").read_text().splitlines()
    assert lines[0] == "step,value,timestamp"
    assert [line.split(",")[:2] for line in lines[1:]] == [
        ["0", "0.0"],
        ["1", "1.0"],
        ["2", "2.0"],
        ["3", "3.0"],
    ]
    assert (path / "metrics/odd.csv").read_text().splitlines()[1].split(",")[1] == "nan"
    assert json.loads((path / "artifacts/cfg/a.json").read_text()) == {"a": 1}
    record = json.loads((path / "run.json").read_text())
    assert record["run_id"] == run.id and record["params"]["alpha"] == "0.5"
    assert "train.py" in record["export"]["files"]
    readme = (path / "README.md").read_text()
    assert "python train.py --alpha 1.0" in readme
    assert "mlflow run . -P alpha=1.0 --env-manager local" in readme
    assert run.id in readme


def test_the_script_runs_without_jupyter_tracker(ip, store, tmp_path):
    run = tracked_run(ip)
    path = jt.export_run(run.id, tmp_path / "project")
    # -S -I: no site-packages, no PYTHONPATH, no script folder: jupyter_tracker can't import
    result = rerun(path, "--alpha", "2", "--flag", "no", python=(sys.executable, "-I", "-S"))
    assert "trained adam False 24" in result.stdout
    assert new_runs(run) == []
    result = rerun(path, "--flag", "maybe", check=False)
    assert result.returncode == 2 and "expected True or False" in result.stderr
    help_text = rerun(path, "--help", python=(sys.executable, "-I", "-S")).stdout
    assert "--alpha" in help_text and "logged: [1, 2]" in help_text


def test_a_failing_rerun_is_logged_failed(ip, store, tmp_path):
    run = tracked_run(ip)
    path = jt.export_run(run.id, tmp_path / "project")
    result = rerun(path, "--layers", "None", store=store, check=False)  # len(None) raises
    assert result.returncode == 1 and "TypeError" in result.stderr
    (again,) = new_runs(run)
    assert again.status == "FAILED" and "TypeError" in again.error


def test_run_ipynb_is_a_valid_notebook_of_the_slice_and_the_cell(ip, store, tmp_path):
    run = tracked_run(ip)
    path = jt.export_run(run.id, tmp_path / "project")
    nb = nbformat.read(path / "run.ipynb", as_version=4)
    nbformat.validate(nb)
    assert [c.cell_type for c in nb.cells[:2]] == ["markdown", "code"]
    assert "alpha" in nb.cells[0].source and "loss/train" in nb.cells[0].source
    assert nb.cells[1].source == "%load_ext jupyter_tracker"
    slice_cells = [c.source for c in nb.cells[2:-1]]  # the shared shell's history may add some
    assert any("%time base = 2" in c and "def scale" in c for c in slice_cells)
    assert not any("!echo hello" in c or "%pwd" in c for c in slice_cells)  # define nothing
    tracked = nb.cells[-1].source
    assert tracked.startswith("%%track_run alpha=0.5")
    assert f"--tag jupyter_tracker.origin='{run.id}'" in tracked.splitlines()[0]


def test_mlproject_python_env_and_params_yaml_have_mlflows_shape(ip, store, tmp_path):
    yaml = pytest.importorskip("yaml")
    run = tracked_run(ip)
    path = jt.export_run(run.id, tmp_path / "project")
    project = yaml.safe_load((path / "MLproject").read_text())
    assert project["name"] == "origin"
    assert project["python_env"] == "python_env.yaml"
    main = project["entry_points"]["main"]
    assert main["parameters"] == {
        "alpha": {"type": "float", "default": 0.5},
        "data": {"type": "string", "default": "[0, 2, 4, 6]"},
        "flag": {"type": "string", "default": "True"},
        "layers": {"type": "string", "default": "[1, 2]"},
        "opt": {"type": "string", "default": "adam"},
    }
    assert main["command"] == (
        "python train.py --alpha={alpha} --data={data} --flag={flag} --layers={layers} --opt={opt}"
    )
    env = yaml.safe_load((path / "python_env.yaml").read_text())
    assert env == {
        "python": run.capture["environment"]["python"],
        "build_dependencies": ["pip"],
        "dependencies": ["-r requirements.txt"],
    }
    assert yaml.safe_load((path / "params.yaml").read_text()) == run.params
    requirements = (path / "requirements.txt").read_text()
    assert "# jupyter-tracker" in requirements  # optional, so commented


MLFLOW_VENV = "`make .venv-mlflow` installs MLflow in a venv of its own"


def _mlflow() -> str:
    """The `mlflow` command of MLflow's own venv (``$JUPYTER_TRACKER_MLFLOW``, as `make test`
    sets it, else ``.venv-mlflow/``); a skip without it, a failure under CI."""
    root = Path(__file__).resolve().parents[1]
    mlflow = Path(os.environ.get("JUPYTER_TRACKER_MLFLOW") or root / ".venv-mlflow/bin/mlflow")
    if not mlflow.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{mlflow} is missing: {MLFLOW_VENV}")
        pytest.skip(f"{mlflow} is missing: {MLFLOW_VENV}")
    return str(mlflow)


def test_mlflow_run_reruns_the_export(ip, store, tmp_path):
    mlflow = _mlflow()
    run = tracked_run(ip)
    path = jt.export_run(run.id, tmp_path / "project")
    env = {
        **os.environ,
        # --env-manager local runs `python train.py` from PATH: our venv's, with jupyter-tracker
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "JUPYTER_TRACKER_STORE": str(store.path),
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
    }
    result = subprocess.run(
        [
            mlflow,
            "run",
            str(path),
            "-P",
            "alpha=0.25",
            "-P",
            "opt=it's",
            "--env-manager",
            "local",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (again,) = new_runs(run)
    assert again.params["alpha"] == 0.25 and again.params["opt"] == "it's"


def test_hostile_artifact_names_stop_the_export_before_anything_is_written(ip, store, tmp_path):
    run = tracked_run(ip)
    for bad in ("../escape.txt", "/etc/passwd-copy", "%2e%2e/up.txt", "a\\b.txt", "x/../../y"):
        with store.write() as conn:
            conn.execute(
                "INSERT INTO artifacts (run_id, path, version, sha256, size, media_type, "
                "created_at) SELECT run_id, ?, 1, sha256, size, media_type, created_at "
                "FROM artifacts WHERE run_id = ? AND path = 'notes.txt'",
                (bad, run.id),
            )
        target = tmp_path / "out" / "project"
        with pytest.raises(jt.InvalidInputError):
            jt.export_run(run.id, target)
        assert not (tmp_path / "out").exists()
        assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "out/up.txt").exists()
        code = cli.main(["--store", str(store.path), "export", run.id, str(target)])
        assert code == 1 and not target.exists()
        with store.write() as conn:
            conn.execute("DELETE FROM artifacts WHERE path = ?", (bad,))


def test_a_symlink_out_of_an_earlier_export_is_refused(ip, store, tmp_path):
    run = tracked_run(ip)
    path = jt.export_run(run.id, tmp_path / "project")
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.rmtree(path / "artifacts")
    (path / "artifacts").symlink_to(outside)
    with pytest.raises(jt.InvalidInputError, match="symlink"):
        jt.export_run(run.id, path)
    assert list(outside.iterdir()) == []


def test_metric_keys_with_slashes_and_dots_stay_inside(store, tmp_path):
    with jt.start_run() as run:
        for key in ("a/b/c", "../up", "a", "a.csv/x", "./a"):
            jt.log_metric(key, 1.0)
    path = jt.export_run(run.id, tmp_path / "project")
    csvs = sorted(p.relative_to(path).as_posix() for p in path.rglob("*.csv"))
    assert "metrics/a/b/c.csv" in csvs and "metrics/a.csv" in csvs
    assert len(csvs) == 5 and all(c.startswith("metrics/") for c in csvs)
    assert not (tmp_path / "up.csv").exists()
    assert sorted(os.listdir(tmp_path)) == ["project", "store"]


def test_directory_rules_new_empty_same_run_or_refused(ip, store, tmp_path):
    run = tracked_run(ip)
    empty = tmp_path / "empty"
    empty.mkdir()
    jt.export_run(run.id, empty)
    (empty / "my-notes.md").write_text("mine")
    (empty / "stale.txt").write_text("from an earlier export")
    record = json.loads((empty / "run.json").read_text())
    record["export"]["files"].update({"stale.txt": None, "../../outside.txt": None})
    (empty / "run.json").write_text(json.dumps(record))
    (tmp_path / "outside.txt").write_text("keep")
    jt.export_run(run.id, empty)  # the same run again: replaced in place
    assert (empty / "my-notes.md").read_text() == "mine"
    assert not (empty / "stale.txt").exists()
    assert (tmp_path / "outside.txt").read_text() == "keep"

    other = tmp_path / "other"
    other.mkdir()
    (other / "data.csv").write_text("x")
    with pytest.raises(ExportDirectoryError, match="not empty"):
        jt.export_run(run.id, other)
    with jt.start_run() as second:
        pass
    with pytest.raises(ExportDirectoryError, match="not empty"):
        jt.export_run(second.id, empty)  # an export of another run
    (tmp_path / "file").write_text("x")
    with pytest.raises(ExportDirectoryError, match="is a file"):
        jt.export_run(run.id, tmp_path / "file")
    with pytest.raises(jt.RunNotFoundError):
        jt.export_run("ffffffffff", tmp_path / "new")


def test_export_run_magic(ip, store, tmp_path, capsys):
    run = tracked_run(ip)
    capsys.readouterr()
    target = tmp_path / "my project"
    ip.run_line_magic("export_run", f"{run.id[:8]} '{target}'")
    out = capsys.readouterr().out
    assert f"Exported run origin ({run.id[:8]}) to {target}" in out
    assert "train.py" in out and "python train.py --alpha 1.0" in out
    ip.run_line_magic("export_run", f"{run.id[:8]} '{target}'")
    assert "Re-exported" in capsys.readouterr().out
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("x")
    for line, message in [
        (f"{run.id} {tmp_path / 'busy'}", "not empty"),
        (f"nosuchrun {tmp_path / 'n'}", "No run 'nosuchrun'"),
        (run.id, "Give a run id and a directory"),
        (f"{run.id} 'unclosed", "quote DIR"),
    ]:
        with pytest.raises(UsageError, match=message) as caught:
            ip.run_line_magic("export_run", line)
        assert "\n" not in str(caught.value)


def test_export_command(ip, store, tmp_path, capsys):
    run = tracked_run(ip)
    capsys.readouterr()
    target = tmp_path / "cli-project"
    assert cli.main(["--store", str(store.path), "export", run.id[:8], str(target)]) == 0
    captured = capsys.readouterr()
    assert f"Exported run origin ({run.id[:8]}) to {target}" in captured.out
    assert (target / "train.py").exists()
    assert cli.main(["--store", str(store.path), "export", "deadbeef", str(tmp_path / "x")]) == 1
    error = capsys.readouterr().err
    assert error.startswith("jupyter-tracker: error: No run 'deadbeef'") and error.count("\n") == 1
    assert cli.main(["--store", str(store.path), "export", run.id]) == 2


def test_a_sweep_child_reading_an_earlier_tracked_cell_exports_what_reproduces_it(
    ip, store, tmp_path
):
    """Issue 9: a tracked cell trains, then a sweep reads `epochs` from it. The child's
    train.py holds no second training (cell A gives only `epochs = 20`), re-runs to the
    child's final metrics exactly, and `--alpha` gives what a fresh run with that alpha gives."""
    cell(ip, "import numpy as np\nimport jupyter_tracker as jt")
    cell(ip, "rng = np.random.default_rng(0)\nX = rng.normal(size=(50, 3))\ny = X @ [1, -2, 0.5]")
    body = (
        "w = np.zeros(3)\n"
        "for epoch in range(epochs):\n"
        "    w -= lr * (X.T @ (X @ w - y) / len(y) + alpha * w)\n"
        "    jt.log_metric('loss', float(np.mean((X @ w - y) ** 2)))\n"
    )
    cell(ip, f"%%track_run lr=0.05 alpha=1e-4 epochs=20 --quiet\n{body}print('A trained')\n")
    cell(ip, f"%%track_sweep alpha=1e-4,1e-3 lr=0.05,0.1 --quiet\n{body}")
    (child_id,) = jt.search_runs(filter_string="params.alpha = 0.001 and params.lr = 0.1")["run_id"]
    child = jt.get_run(child_id)
    assert child.params == {"alpha": 0.001, "lr": 0.1, "epochs": 20}

    path = jt.export_run(child.id, tmp_path / "child")
    script = (path / "train.py").read_text()
    assert script.count("for epoch in range(epochs)") == 1  # the sweep's loop, not cell A's
    assert "A trained" not in script and "lr = 0.05" not in script
    assert "epochs = 20\n" in script and "epochs = PARAMS['epochs']" in script
    rerun(path, store=store)
    rerun(path, "--alpha", "0.5", store=store)
    by_alpha = {again.params["alpha"]: again for again in new_runs(child)}
    assert by_alpha[0.001].params == child.params
    assert by_alpha[0.001].metrics == child.metrics  # exactly

    cell(ip, f"%%track_run alpha=0.5 lr=0.1 --quiet\n{body}")
    fresh = jt.get_run(jt.last_active_run().id)
    assert by_alpha[0.5].params == fresh.params == {"alpha": 0.5, "lr": 0.1, "epochs": 20}
    assert by_alpha[0.5].metrics == fresh.metrics != child.metrics

    rerun(path, "--epochs", "3", store=store)  # an inherited param is an option too
    (short,) = [r for r in new_runs(child) if r.params["epochs"] == 3]
    assert len(jt.metric_history(short.id, "loss")) == 3


def test_a_sweep_run_exports_with_its_own_values_and_the_parent_is_refused(ip, store, tmp_path):
    cell(ip, "import jupyter_tracker as jt")
    cell(ip, "%%track_sweep alpha=0.1,0.2 --quiet\njt.log_metric('m', alpha * 10)\n")
    frame = jt.search_runs(order_by="start_time")
    parent, child = (jt.get_run(i) for i in frame["run_id"][:2])
    assert parent.tags["jupyter_tracker.sweep_size"] == "2"
    with pytest.raises(jt.TrackerError, match="parent of a %%track_sweep"):
        jt.export_run(parent.id, tmp_path / "parent")
    path = jt.export_run(child.id, tmp_path / "child")
    script = (path / "train.py").read_text()
    assert "alpha = PARAMS['alpha']" in script and "default='0.1'" in script
    nb = nbformat.read(path / "run.ipynb", as_version=4)
    assert nb.cells[-1].source.startswith("%%track_run alpha=0.1 --tag")
    rerun(path, "--alpha", "0.3", store=store)
    (again,) = new_runs(child)
    assert again.metrics["m"] == pytest.approx(3.0)


def test_a_script_run_exports_the_script_with_params_through_jt_param(store, tmp_path, run_script):
    run_script(
        """
        import jupyter_tracker as jt
        alpha = jt.param("alpha", 0.5)
        epochs = jt.param("epochs", 3)
        for epoch in range(epochs):
            jt.log_metric("loss", alpha / (epoch + 1))
        """,
        store_dir=store.path,
    )
    (run_id,) = jt.search_runs()["run_id"]
    path = jt.export_run(run_id, tmp_path / "script-project")
    script = (path / "train.py").read_text()
    assert 'alpha = jt.param("alpha", 0.5)' in script
    rerun(path, "--alpha", "2.0", "--epochs", "2", store=store)
    (again,) = new_runs(jt.get_run(run_id))
    assert again.params == {"alpha": 2.0, "epochs": 2}
    assert again.metrics["loss"] == pytest.approx(1.0)


def test_a_script_that_starts_its_own_run_is_kept_as_it_was(store, tmp_path, run_script):
    run_script(
        """
        import jupyter_tracker as jt
        with jt.start_run(params={"alpha": 0.5}):
            jt.log_metric("loss", 1.0)
        """,
        store_dir=store.path,
    )
    (run_id,) = jt.search_runs()["run_id"]
    path = jt.export_run(run_id, tmp_path / "own-run")
    assert "argparse" not in (path / "train.py").read_text()
    assert "takes no options" in (path / "README.md").read_text()
    rerun(path, store=store)
    assert len(jt.search_runs()) == 2


def test_a_run_without_recorded_code_still_exports_its_params(store, tmp_path):
    params = {"alpha": 0.5, "note": "two words", "model/lr": 0.01, "class": "-x"}
    with jt.start_run(params=params) as run:
        jt.log_metric("m", 1.0)
    path = jt.export_run(run.id, tmp_path / "bare")
    assert "was not recorded" in (path / "train.py").read_text()
    rerun(path, "--note", "three more words", "--model_lr", "0.02", store=store)
    (again,) = new_runs(jt.get_run(run.id))
    assert again.params == {**params, "note": "three more words", "model/lr": 0.02}
    assert "--class={class}" in (path / "MLproject").read_text()


def test_requirements_pin_what_the_code_imports_at_the_sessions_versions(ip, store, tmp_path):
    from importlib.metadata import version

    cell(ip, "import sqlite_utils\nimport json")
    cell(ip, "%%track_run --quiet\nprint(sqlite_utils.Database, json.dumps)")
    run = jt.get_run(jt.last_active_run().id)
    path = jt.export_run(run.id, tmp_path / "project")
    lines = (path / "requirements.txt").read_text().splitlines()
    assert f"sqlite-utils=={version('sqlite-utils')}" in lines
    assert not any(line.startswith(("ipython", "json")) for line in lines)  # kernel, stdlib
    assert any(line.startswith("# ipython==") for line in lines)  # the session's, commented


def test_a_debug_cell_the_run_read_from_is_exported_as_code(ip, store, tmp_path, monkeypatch):
    """%%debug runs its body in the namespace: the slice traces names to it, so the export
    must keep it as code (it once became comments and the script died with a NameError)."""
    monkeypatch.setattr(sys, "stdin", io.StringIO("continue\n"))  # answers the debugger
    cell(ip, "%%debug\nbase = 3\n")
    cell(ip, "%%track_run alpha=2 --quiet\nprint('result', alpha * base)\n")
    run = jt.get_run(jt.last_active_run().id)
    origin = run.capture["dependency_slice"]["cells"][-1]
    assert origin["provides"] == ["base"] and origin["statements"] == ["base = 3"]
    path = jt.export_run(run.id, tmp_path / "project")
    assert "\nbase = 3\n" in (path / "train.py").read_text()
    assert "result 12" in rerun(path, "--alpha", "4", store=store).stdout


def test_the_export_command_runs_without_ipython(ip, store, tmp_path):
    run = tracked_run(ip)
    code = (
        "import sys\n"
        "from jupyter_tracker import cli\n"
        f"code = cli.main(['--store', {str(store.path)!r}, 'export', {run.id!r}, "
        f"{str(tmp_path / 'project')!r}])\n"
        "print(code, 'IPython' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines()[-1] == "0 False"
    assert "base = 2  # was: %time" in (tmp_path / "project" / "train.py").read_text()


def test_ipython_syntax_becomes_comments_and_the_result_compiles():
    source = (
        "import os\n"
        "%matplotlib inline\n"
        "files = !ls\n"
        "for f in files or []:\n"
        "    !echo {f}\n"
        "x = %env HOME\n"
        "a, b = 1, 2; x = get_ipython().user_ns\n"
        "%time c = a + b\n"
    )
    converted = convert(source)
    assert "get_ipython" not in converted.script
    compile(converted.script, "cell", "exec")
    assert "files = None  # skipped (IPython only): files = !ls" in converted.script
    assert "    pass  # skipped (IPython only): !echo {f}" in converted.script
    assert "%matplotlib inline" in converted.notebook and "!echo {f}" in converted.notebook
    bash = convert("%%bash\necho hi\n")
    assert bash.script.startswith("# %%bash  (skipped") and "# echo hi" in bash.script
    compile(bash.script, "cell", "exec")
    assert (
        "a, b = 1, 2; x = None\n" in converted.script
        and "c = a + b  # was: %time" in converted.script
    )
    broken = convert("x = (\n%ls\n")
    assert broken.error and broken.script.endswith("# %ls\npass\n")
    compile(broken.script, "cell", "exec")
    earlier = convert("get_ipython().run_cell_magic('track_run', 'beta=2 --name b', 'y = beta')")
    assert "beta = 2\ny = beta\n" in earlier.script
    timed = convert("%%time\ny = 3\n")
    assert "y = 3" in timed.script and timed.notebook.startswith("%%time")


@pytest.mark.parametrize(
    "value",
    ["plain", 'quo"te', "back\\slash", "new\nline", "tab\tand\x85nel\u2028ls", "ünï €", "", "null"],
)
def test_yaml_strings_round_trip(value):
    yaml = pytest.importorskip("yaml")
    assert yaml.safe_load(f"k: {yaml_str(value)}") == {"k": value}
    assert json.loads(yaml_str(value)) == value


@pytest.mark.parametrize(
    "value", [1, -2.5, 1e-05, 1e16, float("inf"), None, True, [1, "a", [2.0]], {"a": {"b": None}}]
)
def test_yaml_values_round_trip(value):
    yaml = pytest.importorskip("yaml")
    assert yaml.safe_load(f"k: {yaml_value(value)}") == {"k": value}


def test_progress_lines_come_when_the_export_takes_long(store, tmp_path, monkeypatch):
    from jupyter_tracker import export

    monkeypatch.setattr(export, "PROGRESS_AFTER_S", 0.0)
    with jt.start_run() as run:
        for i in range(3):
            jt.log_metric(f"m{i}", 1.0)
    lines = []
    export_run(store, run.id, tmp_path / "p", lines.append)
    assert "export: metric histories 3/3" in lines
