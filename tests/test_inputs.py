"""Inputs a tracked cell reads from the namespace: recorded with where they came from, plain
values as inherited params (filterable), and hidden-state warnings only for a real risk."""

from __future__ import annotations

import math

import pytest

import jupyter_tracker as jt
from jupyter_tracker.capture.inputs import literal_set, plain_literal, risky_slice


def cell(ip, source: str):
    result = ip.run_cell(source, store_history=True)
    assert result.success, result.error_in_exec or result.error_before_exec
    return result


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (20, "20"),
        (1e-3, "0.001"),
        ("adam", "'adam'"),
        (True, "True"),
        (None, "None"),
        ([64, 32], "[64, 32]"),
        ((1, "x"), "(1, 'x')"),
        ({"depth": 3, "act": "relu"}, "{'depth': 3, 'act': 'relu'}"),
        (1 + 2j, "(1+2j)"),
    ],
)
def test_plain_literals_are_kept_as_their_repr(value, text):
    assert plain_literal(value) == text


@pytest.mark.parametrize(
    "value",
    [math.nan, object(), list(range(100)), [[[1]]], "x" * 5000, {1, 2}, b"bytes", print],
)
def test_other_values_have_no_literal(value):
    assert plain_literal(value) is None


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ("epochs = 20", 20),
        ("epochs = 20\nepochs = 30", 30),
        ("epochs = 20\nepochs += 1", "unknown"),
        ("for epochs in range(3): pass", "unknown"),
        ("%%track_run epochs=20 --quiet\nx = 1", 20),
        ("%%track_run epochs=20 --quiet\nepochs = 5", 5),
        ("%%track_sweep epochs=1,2,3 --quiet\nx = 1", 3),
        ("%%bash\nepochs=3", "unknown"),
        ("globals()['epochs'] = 4", "unknown"),
        ("epochs = compute()", "unknown"),
    ],
)
def test_the_literal_a_cell_leaves_in_a_name(source, value):
    got = literal_set(source, "epochs")
    assert (got == value) if value != "unknown" else not isinstance(got, int)


def test_a_reassignment_to_the_same_literal_is_no_risk_and_another_value_is():
    history = ["", "epochs = 20\nx = 1", "%%track_run epochs=20 --quiet\npass", "epochs = 20"]
    entry = {"name": "epochs", "counts": [1, 2, 3], "used": 3, "rerun_of": None}
    assert risky_slice({"reassigned": [entry]}, history, [])["reassigned"] == []
    history[3] = "epochs = 30"
    assert risky_slice({"reassigned": [entry]}, history, [])["reassigned"] == [entry]
    assert risky_slice({"reassigned": [entry]}, history, ["epochs"])["reassigned"] == []


def test_the_issue_pattern_records_what_a_sweep_read(ip):
    """A tracked cell, then a sweep that reads `epochs` from it: every child records
    `epochs` as an inherited param with its provenance, and nobody is warned about it."""
    cell(ip, "import jupyter_tracker as jt\nclass Model:\n    pass\nmodel = Model()")
    tracked = cell(
        ip,
        "%%track_run lr=0.05 alpha=1e-4 epochs=20 --quiet\n"
        "loss = sum(lr * alpha for _ in range(epochs))\njt.log_metric('loss', loss)",
    )
    cell(
        ip,
        "%%track_sweep alpha=1e-4,1e-3 lr=0.05,0.1 --quiet\n"
        "loss = sum(lr * alpha for _ in range(epochs)) + (model is not None)\n"
        "jt.log_metric('loss', loss)",
    )
    children = jt.search_runs(filter_string="params.epochs = 20 and params.alpha IS NOT NULL")
    assert len(children) == 5  # the tracked cell and the four children
    child = jt.get_run(
        jt.search_runs(filter_string="tags.x IS NULL", order_by="start_time DESC")["run_id"][0]
    )
    inputs = {i["name"]: i for i in child.capture["inputs"]}
    assert inputs["epochs"] == {
        "name": "epochs",
        "execution_count": tracked.execution_count,
        "cell_id": None,
        "value": "20",
        "param": True,
    }
    assert inputs["model"]["value"] is None and inputs["model"]["param"] is False
    assert "alpha" not in inputs and "lr" not in inputs  # its own params, not inputs
    assert child.params["epochs"] == 20
    assert child.capture["warnings"] == []


def test_a_changed_value_read_from_the_namespace_is_recorded_and_warned(ip):
    cell(ip, "import jupyter_tracker as jt\nepochs = 20")
    cell(ip, "%%track_run --quiet\njt.log_metric('e', epochs)")
    cell(ip, "epochs = 30")
    cell(ip, "%%track_run --quiet\njt.log_metric('e', epochs)")
    latest = jt.get_run(jt.search_runs(order_by="start_time DESC")["run_id"][0])
    assert latest.params["epochs"] == 30 and latest.metrics["e"] == 30
    assert any("`epochs`" in w for w in latest.capture["warnings"])
