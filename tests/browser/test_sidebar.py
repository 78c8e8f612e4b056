"""The Experiments sidebar lists the store's runs, live, with every name shown as text."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

XSS_NAME = "<img src=x onerror=alert(1)>"

RUNS = f"""
import time

import jupyter_tracker as jt

with jt.start_run(name="baseline", experiment="mnist", params={{"alpha": 0.5}}):
    for step in range(5):
        jt.log_metric("loss", 1.0 / (step + 1))
time.sleep(0.01)
try:
    with jt.start_run(name={XSS_NAME!r}, experiment="mnist"):
        raise RuntimeError("diverged")
except RuntimeError:
    pass
time.sleep(0.01)
jt.start_run(name="sweep lr=0.1", params={{"lr": 0.1}})
jt.end_run("KILLED")
"""


def test_sidebar_lists_runs_live_and_escaped(ui, make_runs, notebook_file):
    make_runs(RUNS)
    notebook_file("analysis.ipynb")
    ui.open_notebook("analysis.ipynb")

    panel = ui.open_sidebar("Experiments")
    runs = panel.locator(".jp-TrackerRun")
    expect(runs).to_have_count(3)
    expect(runs.locator(".jp-TrackerRun-name")).to_have_text(["sweep lr=0.1", XSS_NAME, "baseline"])
    expect(runs.locator(".jp-TrackerRun-status")).to_have_text(["KILLED", "FAILED", "FINISHED"])
    expect(runs.locator(".jp-TrackerRun-id").first).to_have_text(
        ui.lab.api("jupyter-tracker/api/runs")[1]["runs"][0]["run_id"][:8]
    )

    # A run started in the notebook's kernel shows up RUNNING without touching the panel.
    ui.run_cell(
        """
        import jupyter_tracker as jt
        run = jt.start_run(name="live from the notebook", experiment="mnist")
        jt.log_metric("loss", 0.25)
        """
    )
    expect(runs).to_have_count(4, timeout=15_000)
    newest = runs.first
    expect(newest.locator(".jp-TrackerRun-name")).to_have_text("live from the notebook")
    expect(newest.locator(".jp-TrackerRun-status")).to_have_text("RUNNING")

    # The hostile name is text: no <img> element anywhere, no alert fired.
    assert ui.page.locator("img[src='x']").count() == 0
    assert panel.locator("img").count() == 0
    assert ui.page.dialogs == []

    ui.screenshot("sidebar")
    assert ui.page.dialogs == []
