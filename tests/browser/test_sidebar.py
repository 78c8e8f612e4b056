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
    # It is listed twice, under "This notebook" (it knows its notebook while RUNNING) and
    # under its experiment.
    expect(runs).to_have_count(5, timeout=15_000)
    expect(panel.locator(".jp-TrackerGroup-title")).to_have_text(
        ["This notebook: analysis.ipynb", "mnist", "Default"]
    )
    newest = runs.first
    expect(newest.locator(".jp-TrackerRun-name")).to_have_text("live from the notebook")
    expect(newest.locator(".jp-TrackerRun-status")).to_have_text("RUNNING")

    # The hostile name is text: no <img> element anywhere, no alert fired.
    assert ui.page.locator("img[src='x']").count() == 0
    assert panel.locator("img").count() == 0
    assert ui.page.dialogs == []

    ui.screenshot("sidebar")

    # Its view follows it live: a new point and its end show up without a click.
    newest.click()
    view = ui.page.locator(".jp-TrackerView").filter(has_text="Go to cell")
    badge = view.locator(".jp-TrackerView-header .jp-TrackerRun-status")
    steps = view.locator(".jp-TrackerView-metrics tr").nth(1).locator("td").nth(5)
    expect(badge).to_have_text("RUNNING")
    expect(steps).to_have_text("1")
    ui.page.locator(".lm-TabBar-tab", has_text="analysis.ipynb").click()
    ui.run_cell('jt.log_metric("loss", 0.125, step=1)\njt.end_run()')
    ui.page.locator(".lm-TabBar-tab", has_text="live from the notebook").click()
    expect(badge).to_have_text("FINISHED", timeout=10_000)
    expect(steps).to_have_text("2")
    expect(view.locator(".jp-TrackerChart path.jp-TrackerChart-line")).to_have_count(1)
    expect(newest.locator(".jp-TrackerRun-status")).to_have_text("FINISHED")
    assert ui.page.dialogs == []


SOURCE = """
%%track_run lr=0.1 --name tracked --experiment mnist
import time
for i in range(4):
    jt.log_metric('loss', 1 / (i + 1))
time.sleep(2)
"""


LONG_LINE = "# " + " ".join(["a long comment"] * 40)


def test_tracked_cell_filter_run_view_go_to_cell_compare_export(ui, make_runs, notebook_file):
    make_runs(RUNS)
    notebook_file(
        "train.ipynb", ["%load_ext jupyter_tracker\nimport jupyter_tracker as jt", "x = 1"]
    )
    ui.open_notebook("train.ipynb")
    panel = ui.open_sidebar("Experiments")
    runs = panel.locator(".jp-TrackerRun")
    expect(runs).to_have_count(3)

    # A tracked cell: its run is listed within 3 s, under "This notebook", and turns FINISHED.
    ui.execute(ui.code_cell("%load_ext"))
    cell = ui.cells.nth(1)
    ui.set_source(cell, SOURCE)
    ui.execute(cell, wait=False)
    ui.lab.wait_for_runs(4)
    tracked = runs.filter(has_text="tracked").first
    expect(tracked.locator(".jp-TrackerRun-status")).to_have_text("RUNNING", timeout=3_000)
    mine = panel.locator(".jp-TrackerGroup", has_text="This notebook")
    expect(mine).to_be_visible()
    expect(tracked.locator(".jp-TrackerRun-status")).to_have_text("FINISHED", timeout=10_000)

    # Filter: a malformed one is explained under the box, a good one narrows the list.
    search = panel.locator(".jp-TrackerPanel-search")
    search.fill("params.lr >")
    search.press("Enter")
    expect(panel.locator(".jp-TrackerPanel-error")).to_contain_text("^")
    search.fill("params.lr = '0.1'")
    search.press("Enter")
    expect(panel.locator(".jp-TrackerPanel-error")).to_be_hidden()
    expect(runs.locator(".jp-TrackerRun-name")).to_contain_text(["tracked", "tracked"])

    # Open the run: its curve, smoothed on request over the faint raw points.
    tracked.click()
    view = ui.page.locator(".jp-TrackerView").filter(has_text="Go to cell")
    expect(view.locator(".jp-TrackerView-title")).to_have_text("tracked")
    expect(view.locator(".jp-TrackerChart path.jp-TrackerChart-line")).to_have_count(1)
    view.locator(".jp-TrackerChart-smoothing").fill("0.6")
    expect(view.locator(".jp-TrackerChart-weight")).to_have_text("0.60")
    expect(view.locator(".jp-TrackerChart path.jp-TrackerChart-raw")).to_have_count(1)
    expect(view.locator(".jp-TrackerChart path.jp-TrackerChart-line")).to_have_count(1)
    ui.screenshot("sidebar_run_view_light")

    # Go to cell lands on the cell, from another cell.
    ui.page.locator(".lm-TabBar-tab", has_text="train.ipynb").click()
    ui.cells.first.click()
    expect(ui.notebook.locator(".jp-Cell.jp-mod-active")).to_contain_text("%load_ext")
    view_tab = ui.page.locator(".lm-TabBar-tab", has_text="tracked")
    view_tab.click()
    view.locator(".jp-TrackerView-goto").click()
    active = ui.notebook.locator(".jp-Cell.jp-mod-active")
    expect(active).to_contain_text("%%track_run lr=0.1")

    # The cell edited and run again: a second run; compare the two (their sources differ).
    search.fill("")
    search.press("Enter")
    edited = SOURCE.replace("lr=0.1", "lr=0.2").replace("range(4)", "range(6)")
    ui.set_source(cell, f"{edited.strip()}\n{LONG_LINE}")
    ui.execute(cell)
    expect(runs.filter(has_text="tracked")).to_have_count(4)  # both groups list both
    expect(runs.filter(has_text="tracked").locator(".jp-TrackerRun-status")).to_have_text(
        ["FINISHED"] * 4, timeout=10_000
    )
    for row in (0, 1):  # the notebook's two runs, newest first: the newest is the baseline
        runs.nth(row).locator(".jp-TrackerRun-select").check()
    panel.locator(".jp-TrackerPanel-compare").click()
    compare = ui.page.locator(".jp-TrackerCompare")
    expect(compare.locator(".jp-TrackerCompare-params")).to_contain_text("lr")
    expect(compare.locator("td.jp-mod-best")).to_have_count(1)
    diff = compare.locator(".jp-TrackerDiff-lines")
    expect(diff.locator(".jp-mod-del")).to_have_text(
        [
            "1-%%track_run lr=0.2 --name tracked --experiment mnist",
            "3-for i in range(6):",
            f"6-{LONG_LINE}",
        ]
    )
    # The long line wraps: the view does not scroll sideways.
    assert compare.evaluate("node => node.scrollWidth <= node.clientWidth")
    expect(diff.locator(".jp-mod-add")).to_have_text(
        ["1+%%track_run lr=0.1 --name tracked --experiment mnist", "3+for i in range(4):"]
    )
    compare.locator(".jp-TrackerDiff").scroll_into_view_if_needed()
    ui.screenshot("sidebar_compare_light")

    # Export from the context menu: the README opens.
    runs.filter(has_text="tracked").first.click(button="right")
    ui.page.locator(".lm-Menu-item", has_text="Export Run").click()
    ui.page.locator(".jp-Dialog input").fill("exports/tracked")
    ui.page.locator(".jp-Dialog .jp-mod-accept").click()
    expect(ui.page.locator(".lm-TabBar-tab", has_text="README.md")).to_be_visible(timeout=20_000)
    assert (ui.lab.root_dir / "exports" / "tracked" / "README.md").is_file()

    # The dark theme: the same views.
    ui.set_theme("JupyterLab Dark")
    ui.page.locator(".lm-TabBar-tab", has_text="Compare 2 runs").click()
    compare.locator(".jp-TrackerDiff").scroll_into_view_if_needed()
    ui.screenshot("sidebar_compare_dark")
    view_tab.click()
    ui.screenshot("sidebar_run_view_dark")
    assert ui.page.dialogs == []
