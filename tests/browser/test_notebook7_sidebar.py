"""The Experiments sidebar in Notebook 7: a tracked cell's run listed live, its view opened
below the notebook (the page's main area holds the notebook only), Go to cell."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

TRACKED = """
%%track_run alpha=0.5 --name nb7-run
import time
for i in range(3):
    jt.log_metric('loss', alpha / (i + 1))
time.sleep(5)  # RUNNING for long enough to be seen so
"""


def open_left_sidebar(ui, caption: str):
    """View > Left Sidebar > Show <caption>, as a Notebook 7 user opens a side panel."""
    page = ui.page
    page.locator("#menu-panel .lm-MenuBar-item", has_text="View").click()
    page.locator(".lm-Menu-item", has_text=re.compile(r"^Left Sidebar$")).click()  # opens it
    page.locator(".lm-Menu-item", has_text=re.compile(rf"^Show {caption}$")).click()
    panel = page.locator("#jp-left-stack .jp-TrackerPanel")
    expect(panel).to_be_visible()
    return panel


def test_notebook7_sidebar_tracked_cell_run_view_go_to_cell(notebook7_ui, notebook_file):
    ui = notebook7_ui
    notebook_file("train.ipynb", ["%load_ext jupyter_tracker\nimport jupyter_tracker as jt", ""])
    ui.page.goto(ui.lab.page_url("notebooks/train.ipynb"))
    ui.notebook.wait_for()
    ui.wait_for_idle()

    panel = open_left_sidebar(ui, "Experiments")
    expect(panel.locator(".jp-TrackerPanel-empty")).to_be_visible()

    # A tracked cell: listed within 3 s under "This notebook", FINISHED without a click.
    ui.execute(ui.code_cell("%load_ext"))
    cell = ui.cells.nth(1)
    ui.set_source(cell, TRACKED)
    ui.execute(cell, wait=False)
    runs = panel.locator(".jp-TrackerRun")
    listed = runs.filter(has_text="nb7-run")
    ui.lab.wait_for_runs(1)
    expect(listed.first.locator(".jp-TrackerRun-status")).to_have_text("RUNNING", timeout=3_000)
    # Listed twice, under "This notebook" (first) and under its experiment.
    expect(panel.locator(".jp-TrackerGroup-title")).to_have_text(
        ["This notebook: train.ipynb", "Default"], timeout=15_000
    )
    expect(listed.locator(".jp-TrackerRun-status")).to_have_text(["FINISHED"] * 2, timeout=15_000)
    row = listed.first

    # The run view opens in the panel below the notebook (the notebook stays in view).
    row.click()
    view = ui.page.locator("#jp-down-stack .jp-TrackerView")
    expect(view.locator(".jp-TrackerView-title")).to_have_text("nb7-run")
    expect(view.locator(".jp-TrackerView-header .jp-TrackerRun-status")).to_have_text("FINISHED")
    expect(view.locator(".jp-TrackerView-table").first).to_contain_text("train.ipynb")
    expect(view.locator("section", has_text="Params")).to_contain_text("alpha0.5")
    expect(view.locator(".jp-TrackerChart path.jp-TrackerChart-line")).to_have_count(1)
    expect(ui.notebook).to_be_visible()
    tab = ui.page.locator("#jp-down-stack .lm-TabBar-tab", has_text="nb7-run")
    expect(tab).to_be_visible()

    # Go to cell: the notebook of this page, its tracked cell made active.
    ui.cells.first.click()
    view.locator(".jp-TrackerView-goto").click()
    expect(ui.notebook.locator(".jp-Cell.jp-mod-active")).to_contain_text("%%track_run alpha=0.5")
    expect(view.locator(".jp-TrackerView-cellMessage")).to_be_hidden()
    ui.screenshot("notebook7_sidebar_run_view_light")

    # Opening it again shows the same view; closing its tab hides the panel below.
    row.click()
    expect(ui.page.locator("#jp-down-stack .jp-TrackerView")).to_have_count(1)
    tab.locator(".lm-TabBar-tabCloseIcon").click()
    expect(ui.page.locator("#jp-down-stack")).to_be_hidden()
    assert ui.page.dialogs == []
