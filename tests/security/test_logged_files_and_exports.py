"""What users log and what a repository holds never runs, blocks or leaks; what an export
writes quotes what it embeds (issue 8 items 4 to 8). Table-driven: each case states its
expected outcome."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import jupyter_tracker as jt
from jupyter_tracker.capture.git import git_state
from jupyter_tracker.export._code import _hoist_future
from jupyter_tracker.export._project import _requirement
from jupyter_tracker.export._report import md

# A case that would block (a FIFO opened for reading) fails instead of hanging.
pytestmark = pytest.mark.timeout(30, method="signal")


def test_a_fifo_in_a_logged_folder_is_skipped_with_a_warning(store, tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "model.txt").write_text("weights")
    os.mkfifo(folder / "pipe")
    with jt.start_run() as run, pytest.warns(RuntimeWarning, match="not regular files"):
        jt.log_artifacts(folder)
    assert [a["path"] for a in jt.get_run(run.id).artifacts] == ["model.txt"]


@pytest.mark.parametrize("special", ["/dev/zero", "/dev/null", "fifo"])
def test_a_device_or_fifo_given_as_a_file_is_refused_and_leaves_nothing(store, tmp_path, special):
    if special == "fifo":
        special = str(tmp_path / "fifo")
        os.mkfifo(special)
    with jt.start_run() as run, pytest.raises((FileNotFoundError, ValueError)):
        jt.log_artifact(special)
    assert jt.get_run(run.id).artifacts == []
    assert not list(store.path.rglob("*.tmp"))


def test_log_text_stores_the_text_even_when_it_names_a_file(store, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("do not copy me")
    with jt.start_run() as run:
        jt.log_text(str(secret), "note.txt")
    (artifact,) = jt.get_run(run.id).artifacts
    with store.open_blob(artifact["sha256"]) as blob:
        assert blob.read() == str(secret).encode()


def test_tracking_in_a_repository_never_runs_its_fsmonitor_or_hooks(tmp_path):
    repo = tmp_path / "repo"
    marker = tmp_path / "ran"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "f.txt").write_text("a\n")
    git = ["git", "-C", str(repo), "-c", "user.email=a@b", "-c", "user.name=n"]
    subprocess.run([*git, "add", "f.txt"], check=True)
    subprocess.run([*git, "commit", "-qm", "x"], check=True)
    (repo / "f.txt").write_text("a\nb\n")
    hook = f"touch {marker}; false"
    for key in ("core.fsmonitor", "core.pager", "diff.external"):
        subprocess.run(["git", "-C", str(repo), "config", key, hook], check=True)
    (repo / ".git" / "hooks" / "post-index-change").write_text(f"#!/bin/sh\n{hook}\n")
    (repo / ".git" / "hooks" / "post-index-change").chmod(0o755)
    state = git_state(repo)
    assert state["dirty"] and "+b" in state["diff"]
    assert not marker.exists()


HOIST = [
    # (code, hoisted, expected code): only real __future__ statements move, exactly.
    (
        's = """\nfrom __future__ import annotations; import os; os.system("x")\n"""\n',
        [],
        "unchanged",
    ),
    ("from __future__ import annotations\nx = 1\n", ["from __future__ import annotations"], None),
    (
        "from __future__ import annotations; import os\n",
        ["from __future__ import annotations"],
        "pass; import os\n",
    ),
    ("x = '''\nfrom __future__ import braces\n'''\n", [], "unchanged"),
    ("def f(:\nfrom __future__ import annotations\n", [], "unchanged"),  # no parse: no move
]


@pytest.mark.parametrize(("code", "hoisted", "expected"), HOIST)
def test_only_real_future_imports_are_hoisted(code, hoisted, expected):
    kept, future = _hoist_future(code)
    assert future == hoisted
    if expected == "unchanged":
        assert kept == code
    elif expected is not None:
        assert kept == expected


REQUIREMENTS = [
    ("numpy", "2.0.1", "numpy==2.0.1"),
    ("numpy", "2.0.1\n--index-url http://evil", "# not a valid"),
    ("numpy\n-e git+http://evil", "1", "# not a valid"),
    ("--extra-index-url", "1", "# not a valid"),
    ("scikit-learn", "1.5.0rc1", "scikit-learn==1.5.0rc1"),
    ("x; os_name=='nt'", "1", "# not a valid"),
]


@pytest.mark.parametrize(("dist", "version", "starts"), REQUIREMENTS)
def test_requirements_lines_from_recorded_data_cannot_inject(dist, version, starts):
    line = _requirement(dist, version)
    assert line.startswith(starts) and "\n" not in line


MARKDOWN = [
    "[click](javascript:alert(1))",
    "![img](http://evil/x.png)",
    "<script>alert(1)</script>",
    "# heading",
    "*bold* _it_ `code`",
    "a | b",
    "line\nbreak",
]


@pytest.mark.parametrize("text", MARKDOWN)
def test_readme_text_shows_as_text(text):
    out = md(text)
    assert "\n" not in out and "&lt;" not in out  # escaped for Markdown, not as HTML entities
    for mark in "[]()*_`|#!<>&":
        assert all(out[i - 1] == "\\" for i, c in enumerate(out) if c == mark)


HOSTILE_RUN = """
import jupyter_tracker as jt
name = "x\\n```\\nimport os; os.system('touch PWNED')\\n```"
value = "'; import os; os.system('touch PWNED'); '"
with jt.start_run(name=name, params={"p": value}) as run:
    jt.log_metric("m", len(jt.param("p", "")))
print(run.id)
"""


def test_a_hostile_run_exports_to_a_script_that_does_only_what_was_logged(run_script, tmp_path):
    run_id = run_script(HOSTILE_RUN).stdout.strip()
    jt.set_store(tmp_path / "store")
    out = jt.export_run(run_id, tmp_path / "export")
    result = subprocess.run(
        [sys.executable, "train.py"],
        cwd=out,
        capture_output=True,
        text=True,
        env={**os.environ, "JUPYTER_TRACKER_STORE": str(tmp_path / "scratch")},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert not list(tmp_path.rglob("PWNED"))
    readme = (out / "README.md").read_text()
    assert "```\nimport os" not in readme
