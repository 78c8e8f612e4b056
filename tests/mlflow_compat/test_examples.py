"""MLflow's own docstring examples of the tracking API we offer (read from the installed
MLflow, verbatim) and our MLflow-style scenarios (``scenarios/``), run as written with
``mlflow`` being ``jupyter_tracker``, each also on real MLflow as the control: the same
outcome and the same stored params, metric histories, tags and artifacts.

``examples.json`` lists every example with what to expect: ``same``; ``same`` but for what
``ignore`` names (and ``why``); ``refused`` (MLflow stores it, jupyter-tracker refuses with a
clear ``error``: a documented difference); or ``skip`` (out of scope). The README's
compatibility table says the same.
"""

from __future__ import annotations

import ast
import json
import re

import pytest
from mlflow_control import HERE, mlflow_side

# MLflow's side runs once for all (minutes, on a small machine; cached between test runs).
pytestmark = pytest.mark.timeout(3600)
EXPECTATIONS: dict[str, dict] = json.loads((HERE / "examples.json").read_text())
SCENARIOS = HERE / "scenarios"
# Tags that name the machine, user and process: they differ by nature.
LOCAL_TAGS = ("mlflow.user", "mlflow.source.", "jupyter_tracker.")
TEMPORARY = re.compile(r"tmp[a-z0-9_]{8}")  # tempfile's random names
IGNORABLE = {"steps", "artifacts", "artifact contents", "status"}


def documented_names() -> list[str]:
    """The MLflow functions and ``MlflowClient`` methods whose examples are listed."""
    return sorted({key.rsplit("[", 1)[0] for key in EXPECTATIONS if "[" in key})


@pytest.fixture(scope="module")
def snippets(control) -> dict[str, str]:
    """Every listed example's code, by id: docstring examples and scenarios."""
    found = mlflow_side(control.python, "examples", documented_names())["examples"]
    found.update({f"scenarios/{p.name}": p.read_text() for p in sorted(SCENARIOS.glob("*.py"))})
    return found


@pytest.fixture(scope="module")
def controls(control, snippets) -> dict[str, dict]:
    """MLflow's result of every example that runs (all at once, two at a time)."""
    run = {i: code for i, code in snippets.items() if "skip" not in EXPECTATIONS.get(i, {})}
    return control.results(run)


def test_every_example_of_the_api_we_offer_is_listed(snippets):
    assert sorted(snippets) == sorted(EXPECTATIONS)
    for key, expected in EXPECTATIONS.items():
        assert set(expected) <= {"expect", "ignore", "why", "error", "skip"}, key
        assert set(expected.get("ignore", [])) <= IGNORABLE, key
        assert "skip" in expected or expected["expect"] in ("same", "refused"), key
        differs = "skip" not in expected and (
            expected["expect"] == "refused" or "ignore" in expected
        )
        assert "why" in expected or not differs, f"{key}: say why it differs"


def _literals(code: str) -> set[str]:
    return {
        n.value
        for n in ast.walk(ast.parse(code))
        if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }


def _parsed(text: str | None) -> object:
    """An artifact's text, as JSON when it is JSON (whitespace differs, not content)."""
    try:
        return json.loads(text) if text is not None else None
    except ValueError:
        return text


def canonical(result: dict, code: str, ignore: set[str]) -> list[str]:
    """What a side stored, without what differs by nature: ids become the run's name (when
    the snippet gave it; generated names are all alike), local tags go."""
    literals = _literals(code)
    runs = {r["id"]: r for r in result["runs"]}

    def label(run_id: str) -> str:
        name = runs[run_id]["name"] if run_id in runs else None
        return name if name in literals else "<a run>"

    out = []
    for run in result["runs"]:
        tags = {k: v for k, v in run["tags"].items() if not k.startswith(LOCAL_TAGS)}
        if "mlflow.parentRunId" in tags:
            tags["mlflow.parentRunId"] = label(tags["mlflow.parentRunId"])
        if "mlflow.runName" in tags:
            tags["mlflow.runName"] = label(run["id"])
        metrics = run["metrics"]
        if "steps" in ignore:
            metrics = {k: [value for _, value in points] for k, points in metrics.items()}
        artifacts = {
            TEMPORARY.sub("tmp<random>", p): _parsed(t) for p, t in run["artifacts"].items()
        }
        if "artifact contents" in ignore:
            artifacts = sorted(artifacts)
        entry = {
            "experiment": run["experiment"],
            "name": label(run["id"]),
            "status": None if "status" in ignore else run["status"],
            "lifecycle": run["lifecycle"],
            "params": run["params"],
            "metrics": metrics,
            "latest": run["latest"],
            "tags": tags,
            "artifacts": None if "artifacts" in ignore else artifacts,
        }
        out.append(json.dumps(entry, sort_keys=True, default=str))
    return sorted(out)


@pytest.mark.parametrize("key", sorted(EXPECTATIONS))
def test_example_runs_as_on_mlflow(key, snippets, controls, ours):
    expected = EXPECTATIONS[key]
    if "skip" in expected:
        pytest.skip(expected["skip"])
    code, theirs = snippets[key], controls[key]
    mine = ours(code)
    if expected["expect"] == "refused":
        assert theirs["outcome"] == "ok", theirs["stderr"]
        assert mine["outcome"] != "ok" and expected["error"] in mine["error"], mine["stderr"]
        return
    assert mine["outcome"] == theirs["outcome"], (mine["stderr"], theirs["stderr"])
    assert mine["experiments"] == theirs["experiments"]
    ignore = set(expected.get("ignore", []))
    assert canonical(mine, code, ignore) == canonical(theirs, code, ignore)
