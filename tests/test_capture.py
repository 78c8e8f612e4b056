"""What a tracked cell captures: environment, git state, dependency slice, notebook location."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from jupyter_tracker.capture.environment import environment
from jupyter_tracker.capture.git import MAX_DIFF_BYTES, git_state
from jupyter_tracker.capture.location import notebook_location
from jupyter_tracker.capture.scope import names_defined, names_read
from jupyter_tracker.capture.slice import dependency_slice, hidden_state

CAPTURE_MODULES = ("environment", "git", "ipython", "location", "magic_line", "scope", "slice")
needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


# --------------------------------------------------------------------------- environment


def test_environment_lists_imported_distributions_and_the_interpreter():
    env = environment()
    assert env["packages"]["pytest"] == pytest.__version__  # the tests imported pytest
    assert env["python"] == "{}.{}.{}".format(*sys.version_info[:3])
    assert env["pid"] == os.getpid()
    assert env["executable"] == sys.executable
    assert env["host"]
    assert env["jupyter_tracker"]
    assert "json" not in env["packages"] and "json" not in env["unpackaged_modules"]
    json.dumps(env)


def test_environment_is_cached_while_nothing_new_is_imported():
    first = environment()
    start = time.perf_counter()
    second = environment()
    assert time.perf_counter() - start < 0.05
    assert second == first
    second["packages"]["pytest"] = "tampered"
    assert environment()["packages"]["pytest"] == pytest.__version__


def test_environment_of_given_modules_skips_stdlib_and_names_local_modules():
    env = environment(["json", "os.path", "pytest", "_pytest.fixtures", "my_local_model"])
    assert env["packages"] == {"pytest": pytest.__version__}
    assert env["unpackaged_modules"] == ["my_local_model"]


def test_importing_capture_pulls_in_no_heavy_library():
    modules = ", ".join(f"jupyter_tracker.capture.{m}" for m in CAPTURE_MODULES)
    code = (
        f"import sys, {modules}\n"
        "print([m for m in ('IPython', 'pandas', 'plotly', 'ipywidgets') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------- git


@pytest.fixture
def git_env(tmp_path, monkeypatch):
    """Git that ignores the user's config and never finds a repository above tmp_path."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Tester")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "tester@example.com")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture
def repo(tmp_path, git_env):
    """A repository with one commit on ``main``: ``train.py`` and ``notebooks/nb.ipynb``."""
    root = tmp_path / "project"
    (root / "notebooks").mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    (root / "train.py").write_text("alpha = 0.5\n")
    (root / "notebooks" / "nb.ipynb").write_text("{}\n")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "first")
    return root


@needs_git
def test_git_state_of_a_clean_repository(repo):
    state = git_state(repo / "notebooks")
    assert Path(state["repo"]).resolve() == repo.resolve()
    assert state["commit"] == git(repo, "rev-parse", "HEAD")
    assert state["branch"] == "main"
    assert state["dirty"] is False
    assert state["diff"] == ""
    assert state["untracked"] == []
    assert state["error"] is None


@needs_git
def test_git_state_from_the_notebook_file_with_an_uncommitted_edit(repo):
    (repo / "train.py").write_text("alpha = 0.9\n")
    (repo / "notes.txt").write_text("not committed")
    (repo / "data").mkdir()
    (repo / "data" / "big.csv").write_text("1,2\n")
    state = git_state(repo / "notebooks" / "nb.ipynb")
    assert state["dirty"] is True
    assert "-alpha = 0.5" in state["diff"] and "+alpha = 0.9" in state["diff"]
    assert state["diff_truncated"] is False
    assert sorted(state["untracked"]) == ["data/", "notes.txt"]  # names only, folders once
    assert "1,2" not in state["diff"]


@needs_git
def test_untracked_files_alone_do_not_make_the_repository_dirty(repo):
    (repo / "scratch.py").write_text("x = 1\n")
    state = git_state(repo)
    assert state["dirty"] is False
    assert state["untracked"] == ["scratch.py"]


@needs_git
def test_git_state_on_a_detached_head(repo):
    git(repo, "checkout", "-q", "--detach")
    state = git_state(repo)
    assert state["branch"] is None
    assert state["commit"] == git(repo, "rev-parse", "HEAD")


@needs_git
def test_git_state_outside_a_repository(tmp_path, git_env):
    state = git_state(tmp_path)
    assert state["repo"] is None
    assert state["error"] is None


@needs_git
def test_a_huge_diff_is_truncated_on_a_line_boundary(repo):
    big = repo / "big.txt"
    big.write_text("".join(f"line {i:07d} {'x' * 50}\n" for i in range(40_000)))
    git(repo, "add", "big.txt")
    git(repo, "commit", "-q", "-m", "big")
    big.write_text("".join(f"LINE {i:07d} {'y' * 50}\n" for i in range(40_000)))
    state = git_state(repo)
    assert state["dirty"] is True
    assert state["diff_truncated"] is True
    assert 0.9 * MAX_DIFF_BYTES < len(state["diff"].encode()) <= MAX_DIFF_BYTES
    assert state["diff"].startswith("diff --git a/big.txt b/big.txt")
    assert state["diff"].endswith("\n")


def test_a_hanging_git_is_stopped_at_the_timeout(tmp_path, monkeypatch):
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "git").write_text(f"#!/bin/sh\nexec {shutil.which('sleep')} 30\n")
    (fake / "git").chmod(0o755)
    monkeypatch.setenv("PATH", str(fake))
    start = time.perf_counter()
    state = git_state(tmp_path, timeout=0.3)
    assert time.perf_counter() - start < 2
    assert state["repo"] is None
    assert "did not answer within 0.3 s" in state["error"]


def test_missing_git_is_reported_not_raised(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # a folder with no git in it
    state = git_state(tmp_path)
    assert state["repo"] is None
    assert "git is not installed" in state["error"]


def test_a_missing_folder_is_reported(tmp_path):
    assert "does not exist" in git_state(tmp_path / "nowhere")["error"]


# --------------------------------------------------------------------------- cell analysis

CELLS = [
    # %time runs its code in the user namespace: it reads and binds like plain code
    ("%time x = f(y)", {"f", "y"}, {"x"}),
    # source, names read, names defined
    ("x = y + 1", {"y"}, {"x"}),
    ("x = 1\ny = x * 2", set(), {"x", "y"}),
    ("total += step", {"total", "step"}, {"total"}),
    ("df['ratio'] = df.a / df.b", {"df"}, set()),
    ("model.lr = lr", {"model", "lr"}, set()),
    ("print(len(rows), __name__)", {"rows"}, set()),
    ("squares = [i * k for i in range(n) if i > floor]", {"k", "n", "floor"}, {"squares"}),
    ("d = {k: v for k, v in pairs}", {"pairs"}, {"d"}),
    (
        "def f(a, b=default):\n    return a + b + scale + later\nlater = 1",
        {"default", "scale"},
        {"f", "later"},
    ),
    (
        "class Net(Base):\n    size = width\n    def forward(self):\n        return act",
        {"Base", "width", "act"},
        {"Net"},
    ),
    ("key = lambda row: weights[row]", {"weights"}, {"key"}),
    (
        "import numpy as np, os.path\nfrom math import pi as PI, tau",
        set(),
        {"np", "os", "PI", "tau"},
    ),
    ("%matplotlib inline\n!pip list\nfiles = !ls\nprint(files, folder)", {"folder"}, {"files"}),
    ("%%time\nresult = fit(X)", {"fit", "X"}, {"result"}),
    ("%%bash\necho $HOME > out.txt", set(), set()),
    (
        "%%track_run alpha=0.5 lr=[1e-3, 1e-2] --name base --tag stage=dev\n"
        "loss = alpha * lr[0] * data",
        {"data"},
        {"alpha", "lr", "loss"},
    ),
    (
        "for epoch in range(epochs):\n    pass\nwith open(path) as fh:\n    text = fh.read()",
        {"epochs", "path"},
        {"epoch", "fh", "text"},
    ),
    ("if (n := len(items)) > 3:\n    big = n", {"items"}, {"n", "big"}),
    ("try:\n    risky()\nexcept ValueError as err:\n    print(err)", {"risky"}, set()),
    ("x: int\ny: float = 2.0", set(), {"y"}),
    ("tmp = 1\ndel tmp, old", set(), set()),
    ("def setup():\n    global CONFIG\n    CONFIG = defaults", {"defaults"}, {"setup", "CONFIG"}),
    ("match point:\n    case (px, *rest):\n        first = px", {"point"}, {"px", "rest", "first"}),
    ("def broken(:", set(), set()),
]


@pytest.mark.parametrize(("source", "reads", "defines"), CELLS)
def test_names_read_and_defined(source, reads, defines):
    assert names_read(source) == reads
    assert names_defined(source) == defines


def test_ipython_syntax_is_analysed_without_ipython():
    code = (
        "import sys\n"
        "from jupyter_tracker.capture.scope import names_defined, names_read\n"
        "print(sorted(names_read('%load_ext autoreload\\nfiles = !ls\\nfor f in files:\\n"
        "    !echo {f}\\nprint(extra)')))\n"
        "print(sorted(names_defined('%%track_run alpha=1\\nbeta = alpha')))\n"
        "print('IPython' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[:3] == ["['extra']", "['alpha', 'beta']", "False"]


# --------------------------------------------------------------------------- dependency slice

HISTORY = [
    "",
    "import numpy as np",  # 1
    "data = np.arange(10)",  # 2
    "scale = 2",  # 3
    "X = data * scale",  # 4
    "scale = 3",  # 5
    "unused = X.mean()",  # 6
]


def test_slice_follows_names_back_transitively_and_latest_definition_wins():
    result = dependency_slice(HISTORY, 7, "y = X.sum() * scale + missing")
    assert result["names"] == {"X": 4, "scale": 5}
    assert [c["execution_count"] for c in result["cells"]] == [1, 2, 3, 4, 5]
    by_count = {c["execution_count"]: c for c in result["cells"]}
    assert by_count[4]["source"] == "X = data * scale"
    assert by_count[4]["provides"] == ["X"]
    assert by_count[2]["defines"] == ["data"]
    assert result["unresolved"] == ["missing"]
    assert "exec" in result["approximate"]
    json.dumps(result)


def test_slice_ignores_cells_from_this_count_on_and_builtins():
    history = [*HISTORY, "X = 'from the future'"]  # In holds the current cell too
    result = dependency_slice(history, 7, "print(len(X))")
    assert result["names"] == {"X": 4}
    assert result["unresolved"] == []


def test_slice_sees_tracked_cells_in_the_history():
    history = [
        "",
        "data = [1, 2, 3]",
        "get_ipython().run_cell_magic('track_run', 'alpha=0.5', 'model = sum(data) * alpha\\n')",
    ]
    result = dependency_slice(history, 3, "%%track_run beta=2\nscore = model * beta")
    assert result["names"] == {"model": 2}
    assert [c["execution_count"] for c in result["cells"]] == [1, 2]
    assert result["unresolved"] == []


def test_slice_from_a_real_ipython_input_history():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    first = shell.execution_count
    shell.run_cell("base = 10", store_history=True)
    shell.run_cell("%%capture captured\nderived = base * 2\nprint(derived)", store_history=True)
    shell.run_cell("%time noise = 1", store_history=True)
    cell = "%%track_run factor=3\nresult = derived * factor + len(captured.stdout)"
    result = dependency_slice(shell.user_ns["In"], shell.execution_count, cell)
    assert result["names"] == {"captured": first + 1, "derived": first + 1}
    assert [c["execution_count"] for c in result["cells"]] == [first, first + 1]
    assert result["unresolved"] == []


def test_slice_follows_item_assignment_as_a_change():
    history = ["", "df = {}", "df['a'] = 1", "other = 2"]
    result = dependency_slice(history, 4, "print(df)")
    assert result["names"] == {"df": 2}
    assert [c["execution_count"] for c in result["cells"]] == [1, 2]


def warnings_for(history, source, **kwargs):
    return hidden_state(dependency_slice(history, len(history), source), **kwargs)


def test_hidden_state_mixed_versions_and_reassignment():
    warnings = warnings_for(HISTORY, "y = X.sum() * scale")
    assert warnings == [
        "`scale` is used in two versions: [4] computed from the one set at [3], while this "
        "cell used the one set at [5]; results from the older one may be out of date.",
        "`scale` was set at [3] and again at [5]; this cell used the value from [5].",
    ]


def test_a_chain_of_update_steps_raises_no_warning():
    history = ["", "def load():\n    return [3, None]", "df = load()", "df = df[:1]", "X = df * 2"]
    assert warnings_for(history, "print(df, X)") == []


def test_a_self_updating_cell_run_twice_is_reported():
    history = ["", "x = 0", "x = x + 1", "x = x + 1"]
    result = dependency_slice(history, 4, "print(x)")
    assert result["reassigned"] == [{"name": "x", "counts": [1, 2, 3], "used": 3, "rerun_of": 2}]
    assert hidden_state(result) == [
        "`x` was set at [1] and again at [2], [3]; this cell used the value from [3] "
        "(the code of [2] ran more than once)."
    ]


def test_edited_cells_are_reported_when_the_notebook_content_is_known():
    source = "y = X.sum()"
    now = {2: "data = np.arange(20)", 1: "import numpy as np  ", 4: "X = data * scale"}
    warnings = warnings_for(HISTORY, source, current_sources=now)
    assert warnings[0] == (
        "Cell [2], which set `data` for this cell, was edited after it ran; the values come "
        "from the old code."
    )
    assert not any("[1]" in w or "Cell [4]" in w for w in warnings)


def test_cells_below_or_gone_are_reported_when_the_notebook_order_is_known():
    # top to bottom: [1], [2], this cell [7], [4]; [3] is no longer shown
    warnings = warnings_for(HISTORY, "y = X.sum()", notebook_order=[1, 2, 7, 4, None])
    assert warnings == [
        "Cell [3], which set `scale` for this cell, is no longer in the notebook (deleted, or "
        "re-run since).",
        "Cell [4], which set `X` for this cell, is below it in the notebook; running the "
        "notebook top to bottom would not give this cell that value.",
    ]


def test_unresolved_names_say_where_they_might_come_from():
    history = ["", "tmp = 1", "del tmp", "get_ipython().run_line_magic('run', 'helpers.py')"]
    result = dependency_slice(history, 4, "print(tmp, helper)")
    assert result["unresolved"] == ["helper", "tmp"]
    assert result["deleted"] == {"tmp": 2}
    assert hidden_state(result) == [
        "`helper` is read but no earlier cell in this session defines it; it may come from "
        "%run at [3].",
        "`tmp` is read but was deleted at [2] and not defined since.",
    ]


def test_no_history_no_warnings_but_unresolved_names():
    assert warnings_for([""], "print('hello')") == []
    assert warnings_for([""], "print(x)") == [
        "`x` is read but no earlier cell in this session defines it; it may come from a "
        "module, a magic or code the history does not show."
    ]


# --------------------------------------------------------------------------- notebook location


class FakeKernel:
    def __init__(self, parent):
        self.parent = parent

    def get_parent(self, channel=None):
        return self.parent


def test_location_in_jupyterlab(monkeypatch):
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/me/project/train.ipynb")
    shell = SimpleNamespace(
        user_ns={}, kernel=FakeKernel({"header": {}, "metadata": {"cellId": "4f2c"}})
    )
    location = notebook_location(shell)
    assert location["notebook"] == "/home/me/project/train.ipynb"
    assert location["cell_id"] == "4f2c"
    assert "JPY_SESSION_NAME" in location["how"]


def test_location_in_vscode(monkeypatch):
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    shell = SimpleNamespace(
        user_ns={"__vsc_ipynb_file__": "/work/nb.ipynb"},
        kernel=FakeKernel({"metadata": {"cellId": "vscode-notebook-cell:/work/nb.ipynb#W1"}}),
    )
    location = notebook_location(shell)
    assert location["notebook"] == "/work/nb.ipynb"
    assert location["cell_id"] == "vscode-notebook-cell:/work/nb.ipynb#W1"
    assert "VS Code" in location["how"]


def test_location_with_a_relative_session_path_and_an_old_kernel(tmp_path, monkeypatch):
    (tmp_path / "nb.ipynb").write_text("{}")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JPY_SESSION_NAME", "analysis/nb.ipynb")
    old_kernel = SimpleNamespace(_parent_header={"metadata": {"cellId": "old"}})
    location = notebook_location(SimpleNamespace(user_ns={}, kernel=old_kernel))
    assert location["notebook"] == str(tmp_path / "nb.ipynb")
    assert location["cell_id"] == "old"


def test_location_in_plain_ipython_is_unknown(monkeypatch):
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    from IPython.core.interactiveshell import InteractiveShell

    location = notebook_location(InteractiveShell.instance())
    assert location["notebook"] is None and location["cell_id"] is None
    assert "unknown" in location["how"]


def test_cell_id_and_path_from_a_real_kernel(tmp_path):
    manager_module = pytest.importorskip("jupyter_client.manager")
    pytest.importorskip("ipykernel")
    notebook = tmp_path / "nb.ipynb"
    manager = manager_module.KernelManager(kernel_name="python3")
    manager.start_kernel(cwd=str(tmp_path), env={**os.environ, "JPY_SESSION_NAME": str(notebook)})
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        code = (
            "import json\n"
            "from jupyter_tracker.capture.location import notebook_location\n"
            "print(json.dumps(notebook_location(get_ipython())))"
        )
        message = client.session.msg(
            "execute_request",
            {
                "code": code,
                "silent": False,
                "store_history": True,
                "user_expressions": {},
                "allow_stdin": False,
                "stop_on_error": True,
            },
            metadata={"cellId": "cell-from-lab"},
        )
        client.shell_channel.send(message)
        stdout = ""
        while True:
            reply = client.get_iopub_msg(timeout=60)
            if reply["parent_header"].get("msg_id") != message["header"]["msg_id"]:
                continue
            if reply["msg_type"] == "stream":
                stdout += reply["content"]["text"]
            elif reply["msg_type"] == "error":
                pytest.fail("\n".join(reply["content"]["traceback"]))
            elif reply["msg_type"] == "status" and reply["content"]["execution_state"] == "idle":
                break
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    location = json.loads(stdout)
    assert location["notebook"] == str(notebook)
    assert location["cell_id"] == "cell-from-lab"
