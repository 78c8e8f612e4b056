"""The sidebar's context menu: delete (confirmed; a RUNNING run refused clearly), "Show
deleted" and restore, set a tag; what is enabled for which row."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

RUNS = """
import time

import jupyter_tracker as jt

with jt.start_run(name="keeper", experiment="mnist", params={"lr": 0.1}):
    jt.log_metric("loss", 0.5)
time.sleep(0.01)
with jt.start_run(name="doomed", experiment="mnist", params={"lr": 0.2}):
    jt.log_metric("loss", 0.7)
"""


def menu_item(ui, label: str):
    """The item of the open context menu whose label is `label`."""
    name = ui.page.locator(".lm-Menu-itemLabel", has_text=re.compile(rf"^{re.escape(label)}$"))
    return ui.page.locator(".lm-Menu-content > .lm-Menu-item").filter(has=name)


def right_click(ui, row) -> None:
    row.click(button="right")
    ui.page.locator(".lm-Menu").first.wait_for()


def test_context_menu_delete_restore_set_tag(ui, make_runs, notebook_file):
    make_runs(RUNS)
    notebook_file("nb.ipynb", ["import jupyter_tracker as jt"])
    ui.open_notebook("nb.ipynb")
    panel = ui.open_sidebar("Experiments")
    runs = panel.locator(".jp-TrackerRun")
    expect(runs.locator(".jp-TrackerRun-name")).to_have_text(["doomed", "keeper"])

    # A run made outside a notebook: no "Go to Cell"; an active run: no "Restore".
    right_click(ui, runs.filter(has_text="doomed"))
    expect(menu_item(ui, "Go to Cell")).to_have_class(re.compile(r"lm-mod-disabled"))
    expect(menu_item(ui, "Restore Run")).to_have_class(re.compile(r"lm-mod-disabled"))
    expect(menu_item(ui, "Delete Run…")).not_to_have_class(re.compile(r"lm-mod-disabled"))
    ui.screenshot("sidebar_context_menu_light")

    # Delete asks first; cancelling keeps the run.
    menu_item(ui, "Delete Run…").click()
    dialog = ui.page.locator(".jp-Dialog")
    expect(dialog).to_contain_text('Delete run "doomed"')
    dialog.locator("button", has_text="Cancel").click()
    expect(runs).to_have_count(2)
    runs.filter(has_text="doomed").focus()  # the Delete key on a row asks the same
    ui.page.keyboard.press("Delete")
    expect(dialog).to_contain_text('Delete run "doomed"')
    dialog.locator("button", has_text="Cancel").click()
    expect(runs).to_have_count(2)
    runs.filter(has_text="doomed").locator(".jp-TrackerRun-select").check()
    expect(panel.locator(".jp-TrackerPanel-compare")).to_have_text("Compare (1)")
    right_click(ui, runs.filter(has_text="doomed"))
    menu_item(ui, "Delete Run…").click()
    dialog.locator("button", has_text="Delete").click()
    expect(runs.locator(".jp-TrackerRun-name")).to_have_text(["keeper"])
    expect(panel.locator(".jp-TrackerPanel-compare")).to_have_text("Compare")  # unticked

    # "Show deleted" lists it; restore brings it back to the active list.
    toggle = panel.locator(".jp-TrackerPanel-deleted")
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(panel.locator(".jp-TrackerPanel-notice")).to_be_visible()
    expect(runs.locator(".jp-TrackerRun-name")).to_have_text(["doomed"])
    right_click(ui, runs.first)
    expect(menu_item(ui, "Delete Run…")).to_have_class(re.compile(r"lm-mod-disabled"))
    ui.screenshot("sidebar_deleted_view_light")
    ui.page.keyboard.press("Escape")

    # Its run view says it is deleted; Restore there brings it back (the notice goes).
    runs.first.click()
    view = ui.page.locator(".jp-TrackerView").filter(has_text="Go to cell")
    notice = view.locator(".jp-TrackerView-deleted")
    expect(notice).to_contain_text("This run is deleted")
    ui.screenshot("run_view_deleted_light")
    notice.locator(".jp-TrackerView-restore").click()
    expect(runs).to_have_count(0)
    expect(notice).to_have_count(0)
    expect(view.locator(".jp-TrackerView-title")).to_have_text("doomed")
    ui.page.locator(".lm-TabBar-tab", has_text="doomed").locator(".lm-TabBar-tabCloseIcon").click()
    ui.page.locator(".lm-TabBar-tab", has_text="nb.ipynb").click()
    toggle.click()
    expect(runs.locator(".jp-TrackerRun-name")).to_have_text(["doomed", "keeper"])

    # Set a tag: key and value asked in one dialog; the run has it.
    right_click(ui, runs.filter(has_text="keeper"))
    menu_item(ui, "Set Tag…").click()
    dialog.locator(".jp-TrackerTagDialog-key").fill("stage")
    dialog.locator(".jp-TrackerTagDialog-value").fill("<b>prod</b>")
    dialog.locator("button", has_text="Set tag").click()
    expect(dialog).to_have_count(0)
    assert _tags(ui, "keeper") == {"stage": "<b>prod</b>"}

    # A RUNNING run: deleting it is refused, and the dialog says why.
    ui.run_cell('import jupyter_tracker as jt\nrun = jt.start_run(name="still going")')
    expect(runs.filter(has_text="still going")).to_have_count(1, timeout=15_000)
    right_click(ui, runs.filter(has_text="still going"))
    menu_item(ui, "Delete Run…").click()
    dialog.locator("button", has_text="Delete").click()
    expect(dialog).to_contain_text("This run is still running")
    expect(dialog).to_contain_text("is still RUNNING; end it first")
    ui.screenshot("sidebar_delete_running_light")
    dialog.locator("button").last.click()
    expect(runs.filter(has_text="still going")).to_have_count(1)

    # A run started by code knows its cell: "Go to Cell" from the menu lands on it.
    expect(ui.notebook.locator(".jp-Cell.jp-mod-active")).not_to_contain_text("still going")
    mine = panel.locator('.jp-TrackerGroup[data-group="notebook:"] + .jp-TrackerRun')
    expect(mine).to_contain_text("still going")  # its origin is written within a second
    right_click(ui, mine)
    menu_item(ui, "Go to Cell").click()
    expect(ui.notebook.locator(".jp-Cell.jp-mod-active")).to_contain_text("still going")

    # The dark theme: the menu, and the tag in the run view (as text), editable there.
    ui.set_theme("JupyterLab Dark")
    right_click(ui, runs.filter(has_text="keeper"))
    ui.screenshot("sidebar_context_menu_dark")
    menu_item(ui, "Open Run").click()
    view = ui.page.locator(".jp-TrackerView").filter(has_text="Go to cell")
    tag_row = view.locator(".jp-TrackerView-tags tr").first
    expect(tag_row.locator(".jp-TrackerView-tagKey")).to_have_value("stage")
    expect(tag_row.locator(".jp-TrackerView-tagValue")).to_have_value("<b>prod</b>")
    tag_row.locator(".jp-TrackerView-tagValue").fill("staging")
    tag_row.locator(".jp-TrackerView-tagSave").click()
    expect(view.locator(".jp-TrackerView-tagStatus")).to_have_text("Tag stage set.")
    view.locator(".jp-TrackerView-tags").scroll_into_view_if_needed()
    ui.screenshot("run_view_tags_dark")
    assert _tags(ui, "keeper") == {"stage": "staging"}

    # Deleted from the menu while its view is open: the view says so; the deleted list.
    right_click(ui, runs.filter(has_text="keeper"))
    menu_item(ui, "Delete Run…").click()
    dialog.locator("button", has_text="Delete").click()
    expect(view.locator(".jp-TrackerView-deleted")).to_contain_text("This run is deleted")
    toggle.click()
    expect(runs.locator(".jp-TrackerRun-name")).to_have_text(["keeper"])
    ui.screenshot("sidebar_deleted_view_dark")
    assert ui.page.dialogs == []


def _tags(ui, name: str) -> dict:
    _, page = ui.lab.api("jupyter-tracker/api/runs")
    return next(run["tags"] for run in page["runs"] if run["name"] == name)


def test_track_this_cell_from_the_cell_toolbar(ui, notebook_file):
    notebook_file("fresh.ipynb", ["total = sum(range(10))\nprint(total)"])
    ui.open_notebook("fresh.ipynb")
    panel = ui.open_sidebar("Experiments")
    cell = ui.code_cell("total = sum")
    cell.locator(".jp-InputArea-editor .cm-content").click()
    button = cell.locator('.jp-cell-toolbar [data-command="jupyter-tracker:track-cell"]')
    expect(button).to_be_visible()
    ui.screenshot("cell_toolbar_track_button_light", cell)
    button.click()

    # `%%track_run` on top of the cell; `%load_ext` in a new first cell, already run quietly.
    expect(cell.locator(".cm-content")).to_contain_text("%%track_run")
    expect(ui.cells.first.locator(".cm-content")).to_have_text("%load_ext jupyter_tracker")
    expect(ui.cells.first.locator(".jp-InputArea-prompt")).to_have_text("[ ]:")
    ui.execute(cell)
    expect(cell.locator(".jp-OutputArea-output").last).to_contain_text("45")
    # Listed twice: under "This notebook" and under its experiment.
    tracked = panel.locator(".jp-TrackerRun")
    expect(panel.locator(".jp-TrackerGroup-title")).to_have_text(
        ["This notebook: fresh.ipynb", "Default"], timeout=10_000
    )
    expect(tracked.locator(".jp-TrackerRun-status")).to_have_text(
        ["FINISHED", "FINISHED"], timeout=10_000
    )

    # A second click does not stack magics or load cells.
    cell.locator(".jp-InputArea-editor .cm-content").click()
    button.click()
    assert ui.cells.count() == 2
    source = cell.locator(".cm-content").inner_text()
    assert source.count("%%track_run") == 1, source
    assert ui.page.dialogs == []
