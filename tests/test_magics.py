"""The magics in a real IPython shell: what a user types in a cell and what they get."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from IPython.core.interactiveshell import InteractiveShell

import jupyter_tracker as jt
from jupyter_tracker.session import session


def cell(ip, source: str):
    """Run ``source`` as a cell (with history, like a notebook)."""
    return ip.run_cell(source, store_history=True)


def only_run():
    frame = jt.search_runs()
    assert len(frame) == 1, frame
    return jt.get_run(frame["run_id"][0])


def test_track_run_logs_typed_params_sets_variables_and_finishes(ip, capsys):
    result = cell(
        ip,
        "%%track_run alpha=0.5 lr=1e-3 opt='adam' plain=sgd layers=[64, 32] cfg={'a': 1} "
        "flag=True nothing=None --name baseline --experiment mnist --tag stage=dev\n"
        "import jupyter_tracker as jt\n"
        "assert jt.param('alpha', 0.1) == 0.5\n"
        "for i in range(3):\n"
        "    jt.log_metric('loss', alpha / (i + 1))\n"
        "result = (alpha, lr, opt, plain, layers, cfg, flag, nothing)\n",
    )
    assert result.success
    assert ip.user_ns["result"] == (0.5, 1e-3, "adam", "sgd", [64, 32], {"a": 1}, True, None)
    run = only_run()
    assert (run.name, run.experiment, run.status) == ("baseline", "mnist", "FINISHED")
    assert run.params == {
        "alpha": 0.5,
        "lr": 1e-3,
        "opt": "adam",
        "plain": "sgd",
        "layers": [64, 32],
        "cfg": {"a": 1},
        "flag": True,
        "nothing": None,
    }
    assert run.tags == {"stage": "dev"}
    assert run.metrics == {"loss": 0.5 / 3}
    out = capsys.readouterr().out
    assert "run baseline" in out and "FINISHED" in out  # the text card of plain IPython


def test_the_last_expression_is_the_cells_value(ip):
    result = cell(ip, "%%track_run --quiet\n1 + 1")
    assert result.result == 2
    assert cell(ip, "%%track_run --quiet\n1 + 1;").result is None


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("alpha=", "alpha= has no value"),
        ("alpha=1 alpha=2", "alpha is given twice"),
        ("--bogus", "Unknown option --bogus"),
        ("alpha", "Expected key=value"),
        ("1x=2", "not a Python name"),
        ("--name", "--name needs a value"),
        ("--tag novalue", "--tag takes key=value"),
        ("lr=[1, 2", "Unbalanced"),
    ],
)
def test_bad_arguments_are_one_line_usage_errors_and_nothing_runs(ip, capsys, line, message):
    result = cell(ip, f"%%track_run {line}\nran = True\n")
    assert not result.success
    assert type(result.error_in_exec).__name__ == "UsageError"
    assert message in str(result.error_in_exec)
    assert "ran" not in ip.user_ns
    assert jt.search_runs().empty
    assert "Traceback" not in capsys.readouterr().out


def test_an_exception_fails_the_run_and_is_shown_once(ip, capsys):
    result = cell(ip, "%%track_run alpha=1\nx = 1\nraise ValueError('bad input')\n")
    assert isinstance(result.error_in_exec, ValueError)
    run = only_run()
    assert run.status == "FAILED"
    assert "ValueError: bad input" in run.error
    out = capsys.readouterr()
    shown = out.out + out.err
    assert shown.count("ValueError: bad input") >= 1
    assert "run_cell_magic" not in run.error.splitlines()[-1]


def test_keyboard_interrupt_kills_the_run(ip):
    result = cell(ip, "%%track_run\nraise KeyboardInterrupt\n")
    assert isinstance(result.error_in_exec, KeyboardInterrupt)
    assert only_run().status == "KILLED"


def test_runs_the_cell_left_open_end_with_it(ip):
    cell(
        ip,
        "%%track_run --name outer\nimport jupyter_tracker as jt\n"
        "jt.start_run(name='inner', nested=True)\n",
    )
    statuses = dict(zip(jt.search_runs()["name"], jt.search_runs()["status"], strict=True))
    assert statuses == {"outer": "FINISHED", "inner": "FINISHED"}
    assert jt.active_run() is None


def test_source_and_magic_line_are_kept_byte_for_byte(ip):
    source = "%%track_run  alpha=0.5   --name  spaced\n# a comment\t\nx = alpha * 2  \n\n"
    cell(ip, source)
    run = only_run()
    assert run.source == source
    assert run.capture["magic_line"] == "%%track_run  alpha=0.5   --name  spaced"


def test_capture_has_count_environment_and_the_dependency_slice(ip):
    cell(ip, "import math\nbase = 10")
    cell(ip, "unused = 1")
    cell(ip, "scale = base * 2")
    cell(ip, "%%track_run alpha=0.5\ny = scale * alpha + math.pi\n")
    capture = only_run().capture
    assert capture["execution_count"] == ip.execution_count - 1
    env = capture["environment"]
    assert env["python"].startswith(f"{sys.version_info.major}.{sys.version_info.minor}")
    assert env["pid"] > 0 and env["host"]
    assert "ipython" in {name.lower() for name in env["packages"]}
    cells = capture["dependency_slice"]["cells"]
    assert [c["source"] for c in cells] == ["import math\nbase = 10", "scale = base * 2"]
    assert capture["location"]["notebook"] is None  # plain IPython has no notebook
    assert "git" in capture
    assert capture["history"][-3:] == ["import math\nbase = 10", "unused = 1", "scale = base * 2"]


def test_hidden_state_warnings_reach_the_run(ip):
    cell(ip, "value = 1")
    cell(ip, "value = 2")
    cell(ip, "%%track_run\ny = value + missing_name if False else value\n")
    warnings = only_run().capture["warnings"]
    assert any("value" in w for w in warnings)
    assert any("missing_name" in w for w in warnings)


def test_git_state_is_captured_in_a_repository(ip, tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.email=a@b.c", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=repo, check=True)
    (repo / "train.py").write_text("print(1)\n")
    subprocess.run([*git, "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "first"], cwd=repo, check=True)
    (repo / "train.py").write_text("print(2)\n")
    monkeypatch.chdir(repo)
    cell(ip, "%%track_sweep alpha=1,2,3 --quiet\nx = alpha\n")
    children = jt.search_runs(filter_string="parent_id LIKE '%'")
    assert len(children) == 3
    for run_id in children["run_id"]:
        git_state = jt.get_run(run_id).capture["git"]
        assert git_state["branch"] == "main" and len(git_state["commit"]) == 40
        assert git_state["dirty"] and "+print(2)" in git_state["diff"]
    store = jt.tracking.current_store()
    diffs = store.read("SELECT COUNT(*) FROM sources WHERE text LIKE '%+print(2)%'")
    assert diffs == [(1,)]  # one diff kept for the four runs of the sweep


def test_rerunning_a_cell_links_to_the_previous_run(ip):
    def run_with_cell_id(source, cell_id):  # JupyterLab sends the cell id with each execution
        assert ip.run_cell(source, store_history=True, cell_id=cell_id).success

    run_with_cell_id("%%track_run alpha=1\nx = alpha\n", "cell-a")
    run_with_cell_id("%%track_run alpha=2\nx = alpha\n", "cell-a")  # changed param: no error
    run_with_cell_id("%%track_run alpha=3\nx = alpha\n", "cell-b")
    frame = jt.search_runs(order_by="start_time")
    first, second, other = (jt.get_run(i) for i in frame["run_id"])
    assert (first.rerun_of, second.rerun_of, other.rerun_of) == (None, first.id, None)
    assert second.cell_id == "cell-a" and second.params == {"alpha": 2}


def test_a_log_call_without_a_run_makes_a_run_that_ends_with_the_cell(ip):
    cell(ip, "import jupyter_tracker as jt\njt.log_metric('x', 1.0)\n")
    assert jt.active_run() is None
    assert only_run().status == "FINISHED"
    cell(ip, "jt.log_metric('x', 1.0)\nraise RuntimeError('no')\n")
    assert sorted(jt.search_runs()["status"]) == ["FAILED", "FINISHED"]


def test_sweep_runs_every_combination_as_children_and_survives_a_failure(ip, capsys):
    result = cell(
        ip,
        "%%track_sweep alpha=0.1,0.5,1.0 lr=[1e-3,1e-2] --name grid --metric loss\n"
        "import jupyter_tracker as jt\n"
        "if alpha == 0.5 and lr == 1e-2:\n"
        "    raise ValueError('diverged')\n"
        "jt.log_metric('loss', alpha * lr)\n",
    )
    assert result.success
    frame = jt.search_runs()
    parent = frame[frame["name"] == "grid"].iloc[0]
    children = frame[frame["parent_id"] == parent["run_id"]]
    assert parent["status"] == "FINISHED" and len(children) == 6
    combos = sorted(zip(children["params.alpha"], children["params.lr"], strict=True))
    assert combos == sorted((a, b) for a in ("0.1", "0.5", "1.0") for b in ("0.001", "0.01"))
    assert sorted(children["status"]) == ["FAILED"] + ["FINISHED"] * 5
    out = capsys.readouterr().out
    table = out[out.index("sweep grid") :]
    assert "6 runs, best lowest loss first" in table
    rows = [line for line in table.splitlines() if line.startswith("grid-")]
    assert rows[0].split()[2:4] == ["0.1", "0.001"]  # the best (lowest loss) first
    assert "FAILED" in rows[-1]


def test_ctrl_c_stops_a_sweep_and_kills_child_and_parent(ip):
    result = cell(
        ip,
        "%%track_sweep alpha=1,2,3 --name stopped\nif alpha == 2:\n    raise KeyboardInterrupt\n",
    )
    assert isinstance(result.error_in_exec, KeyboardInterrupt)
    frame = jt.search_runs(order_by="start_time")
    assert dict(zip(frame["name"], frame["status"], strict=True)) == {
        "stopped": "KILLED",
        "stopped-1": "FINISHED",
        "stopped-2": "KILLED",
    }


def test_sweep_needs_a_grid(ip):
    result = cell(ip, "%%track_sweep --name empty\nx = 1\n")
    assert "at least one parameter list" in str(result.error_in_exec)
    assert jt.search_runs().empty


def test_runs_line_magic_shows_a_table_and_reports_bad_filters(ip, capsys):
    cell(
        ip,
        "%%track_run alpha=0.5 --name shown --quiet\nimport jupyter_tracker as jt\n"
        "jt.log_metric('loss', 0.25)\n",
    )
    capsys.readouterr()
    cell(ip, "%runs metrics.loss < 0.5")
    out = capsys.readouterr().out
    assert "shown" in out and "alpha=0.5" in out and "loss=0.25" in out
    result = cell(ip, "%runs metrics.loss <")
    assert type(result.error_in_exec).__name__ == "UsageError"
    assert "position" in str(result.error_in_exec)


def test_load_is_idempotent_and_unload_leaves_nothing(store):
    shell = InteractiveShell.instance()
    before_pre = list(shell.events.callbacks["pre_run_cell"])
    before_post = list(shell.events.callbacks["post_run_cell"])
    shell.run_line_magic("load_ext", "jupyter_tracker")
    jt.load_ipython_extension(shell)  # loading twice changes nothing
    assert len(shell.events.callbacks["pre_run_cell"]) == len(before_pre) + 1
    assert "track_run" in shell.magics_manager.magics["cell"]
    shell.run_line_magic("unload_ext", "jupyter_tracker")
    assert shell.events.callbacks["pre_run_cell"] == before_pre
    assert shell.events.callbacks["post_run_cell"] == before_post
    for name in ("track_run", "track_sweep"):
        assert name not in shell.magics_manager.magics["cell"]
    for name in ("runs", "compare", "export_run"):
        assert name not in shell.magics_manager.magics["line"]


def test_load_ext_is_fast_and_reports_crashed_runs(tmp_path, run_script):
    store_dir = tmp_path / "store"
    run_script(
        """
        import os
        import jupyter_tracker as jt
        jt.start_run(name="orphan")
        jt.log_metric("x", 1.0)
        jt.search_runs()
        os._exit(0)  # dies without ending the run, like a killed kernel
        """,
        store_dir=store_dir,
    )
    result = run_script(
        """
        import json, sys
        from IPython.core.interactiveshell import InteractiveShell
        shell = InteractiveShell.instance()
        shell.run_line_magic("load_ext", "jupyter_tracker")
        print(json.dumps(sorted(m.split(".")[0] for m in sys.modules)))
        """,
        store_dir=store_dir,
    )
    note, modules = result.stdout.strip().splitlines()
    assert "1 run(s) left RUNNING" in note and "orphan" in note and "CRASHED" in note
    assert not set(json.loads(modules)) & {"pandas", "plotly", "ipywidgets", "sqlite_utils"}
    jt.set_store(store_dir)
    assert jt.search_runs()["status"].tolist() == ["CRASHED"]


def test_the_saved_notebook_reveals_edited_cells_and_cells_below(ip, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JPY_SESSION_NAME", "study.ipynb")
    cell(ip, "value = 1")
    count = ip.execution_count - 1
    source = "%%track_run --quiet\ny = value * 2\n"
    saved = {
        "cells": [
            {"cell_type": "code", "id": "tracked", "execution_count": None, "source": source},
            {
                "cell_type": "code",
                "id": "setter",
                "execution_count": count,
                "source": ["value = ", "2"],
            },  # edited after it ran, and below the tracked cell
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (tmp_path / "study.ipynb").write_text(json.dumps(saved))
    assert ip.run_cell(source, store_history=True, cell_id="tracked").success
    run = only_run()
    assert run.notebook == str(tmp_path / "study.ipynb") and run.cell_id == "tracked"
    warnings = " ".join(run.capture["warnings"])
    assert f"Cell [{count}]" in warnings
    assert "was edited after it ran" in warnings and "below it in the notebook" in warnings


def test_a_param_value_over_the_limit_starts_no_run(ip):
    result = cell(ip, "%%track_run note='" + "x" * 7000 + "'\nran = True\n")
    assert type(result.error_in_exec).__name__ == "UsageError"
    assert "limit is 6000" in str(result.error_in_exec)
    assert "ran" not in ip.user_ns and jt.search_runs().empty


def test_sweep_children_inherit_experiment_and_tags_and_reruns_link_sweeps(ip):
    source = "%%track_sweep alpha=1,2 --name grid --experiment study --tag stage=dev --quiet\n"
    for _ in range(2):
        assert ip.run_cell(source + "y = alpha\n", store_history=True, cell_id="sweep").success
    frame = jt.search_runs(order_by="start_time")
    assert set(frame["experiment"]) == {"study"} and set(frame["tags.stage"]) == {"dev"}
    parents = frame[frame["parent_id"].isna()]
    first, second = (jt.get_run(i) for i in parents["run_id"])
    assert second.rerun_of == first.id  # the sweep re-run links to the previous sweep
    children = frame[frame["parent_id"].notna()]
    assert len(children) == 4
    assert all(jt.get_run(i).rerun_of is None for i in children["run_id"])  # siblings


def _plain(text: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def test_an_error_in_a_tracked_cell_reads_as_in_any_cell(ip, capsys):
    cell(ip, "def divide(x):\n    return 1 / x")
    cell(ip, "a = 1\ndivide(0)")
    plain = _plain(capsys.readouterr().out)
    cell(ip, "%%track_run --quiet\na = 1\ndivide(0)")
    tracked = _plain(capsys.readouterr().out)
    for text in (plain, tracked):
        assert "ZeroDivisionError: division by zero" in text
        assert "----> 2     return 1 / x" in text
    assert "----> 3 divide(0)" in tracked and "1 %%track_run --quiet" in tracked
    assert "----> 2 divide(0)" in plain
    for internal in ("run_cell_magic", "get_ipython", "jupyter_tracker", "skipping hidden"):
        assert internal not in tracked
    assert only_run().status == "FAILED"


def test_a_tracked_cell_that_does_not_compile_makes_no_run(ip, capsys):
    result = cell(ip, "%%track_run --quiet\nx = (1\n")
    assert isinstance(result.error_before_exec, SyntaxError)
    out = _plain(capsys.readouterr().out)
    assert "SyntaxError" in out and "jupyter_tracker" not in out and "run_cell_magic" not in out
    assert len(jt.search_runs()) == 0


def test_the_last_expression_of_a_tracked_cell_is_shown_and_top_level_await_works(ip):
    assert (
        cell(ip, "%%track_run --quiet\nimport asyncio\nawait asyncio.sleep(0)\n41 + 1").result == 42
    )
    assert only_run().status == "FINISHED"


def test_importing_in_ipython_is_enough_for_a_bare_log_call_to_end_with_its_cell(run_script):
    result = run_script(
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "ip = InteractiveShell.instance()\n"
        "ip.run_cell('import jupyter_tracker as jt\\njt.log_metric(\"y\", 2.0)')\n"
        "ip.run_cell('print(jt.search_runs().status.tolist())')\n"
    )
    assert "['FINISHED']" in result.stdout


def test_a_run_started_by_code_in_a_notebook_records_its_notebook_and_cell_at_once(
    ip, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JPY_SESSION_NAME", "study.ipynb")
    (tmp_path / "study.ipynb").write_text("{}")
    code = "import jupyter_tracker as jt\nrun = jt.start_run(name='by code')\n"
    assert ip.run_cell(code, store_history=True, cell_id="starter").success
    live = ip.user_ns["run"]
    assert (live.notebook, live.cell_id) == (str(tmp_path / "study.ipynb"), "starter")
    session().flush()
    stored = jt.get_run(live.id)  # in the store while RUNNING, as the sidebar reads it
    assert stored.status == "RUNNING"
    assert (stored.notebook, stored.cell_id) == (str(tmp_path / "study.ipynb"), "starter")
    cell(ip, "jt.end_run()")
    cell(ip, "jt.log_metric('x', 1.0)")  # a bare log call's run: from the notebook too
    implicit = [r for r in jt.search_runs()["run_id"] if r != live.id]
    assert jt.get_run(implicit[0]).notebook == str(tmp_path / "study.ipynb")
