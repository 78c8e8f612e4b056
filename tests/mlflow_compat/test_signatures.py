"""Every MLflow tracking function and ``MlflowClient`` method jupyter-tracker offers takes
MLflow's parameters by the same names, kinds, positions and defaults (its own additions are
keyword-only, after MLflow's); MLflow's signatures are read from its own interpreter."""

from __future__ import annotations

import inspect

import pytest
from mlflow_control import mlflow_side

import jupyter_tracker as jt

Param = list  # [name, kind, repr(default) or None]
# autolog's flavors, by MLflow's names (keras: only where MLflow's venv has Keras)
FLAVORS = ("sklearn", "lightgbm", "xgboost", "keras", "pytorch", "transformers")


def _ours(target, method: bool) -> list[Param]:
    params = list(inspect.signature(target).parameters.values())
    if method:
        params = params[1:]  # self
    return [
        [p.name, p.kind.name, None if p.default is inspect.Parameter.empty else repr(p.default)]
        for p in params
    ]


def offered() -> dict[str, tuple]:
    """Our functions and client methods that MLflow also has, by MLflow's name."""
    names = {n: (getattr(jt, n), False) for n in jt.__all__ if inspect.isfunction(getattr(jt, n))}
    client = jt.MlflowClient
    for name, member in vars(client).items():
        if inspect.isfunction(member) and (not name.startswith("_") or name == "__init__"):
            names[f"MlflowClient.{name}"] = (member, True)
    for flavor in FLAVORS:
        names[f"{flavor}.autolog"] = (getattr(jt, flavor).autolog, False)
    return names


@pytest.fixture(scope="module")
def mlflows(mlflow_python) -> dict:
    return mlflow_side(mlflow_python, "signatures", sorted(offered()))["signatures"]


def test_every_function_we_share_with_mlflow_takes_its_parameters(mlflows):
    shared = {name for name, signature in mlflows.items() if signature is not None}
    problems = []
    for name in sorted(shared):
        target, method = offered()[name]
        ours, theirs = _ours(target, method), mlflows[name]
        head, extra = ours[: len(theirs)], ours[len(theirs) :]
        if head != theirs:
            problems.append(f"{name}: ours {head}, MLflow's {theirs}")
        if any(kind != "KEYWORD_ONLY" for _, kind, _ in extra):
            problems.append(f"{name}: our additions {extra} are not keyword-only")
    assert not problems, "\n".join(problems)


def test_the_tracking_api_is_offered(mlflows):
    fluent = [
        "start_run",
        "end_run",
        "active_run",
        "last_active_run",
        "get_run",
        "get_parent_run",
        "log_param",
        "log_params",
        "log_metric",
        "log_metrics",
        "set_tag",
        "set_tags",
        "delete_tag",
        "log_artifact",
        "log_artifacts",
        "log_text",
        "log_dict",
        "log_figure",
        "log_image",
        "log_table",
        "log_input",
        "get_artifact_uri",
        "search_runs",
        "set_experiment",
        "create_experiment",
        "get_experiment",
        "get_experiment_by_name",
        "search_experiments",
        "set_tracking_uri",
        "get_tracking_uri",
        "delete_run",
        "restore_run",
    ]
    client = [
        "__init__",
        "create_experiment",
        "get_experiment",
        "get_experiment_by_name",
        "search_experiments",
        "create_run",
        "get_run",
        "get_parent_run",
        "log_param",
        "log_metric",
        "log_batch",
        "set_tag",
        "delete_tag",
        "set_terminated",
        "update_run",
        "search_runs",
        "list_artifacts",
        "download_artifacts",
        "get_metric_history",
        "delete_run",
        "restore_run",
        "log_artifact",
        "log_artifacts",
        "log_text",
        "log_dict",
        "log_figure",
        "log_image",
        "log_table",
    ]
    flavors = [f"{flavor}.autolog" for flavor in FLAVORS if flavor != "keras"]
    wanted = fluent + [f"MlflowClient.{name}" for name in client] + flavors
    assert [name for name in wanted if mlflows.get(name) is None] == []
