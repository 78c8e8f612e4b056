"""Saved notebooks reopened: every panel shows its static view, never a widget error, and a
re-run brings the live widget back; a run card left RUNNING by a killed kernel is brought up
to date (CRASHED) by the lab extension, in the page and in the saved file. In JupyterLab, and
a smoke test in Notebook 7. Screenshots (light and dark) go to tests/artifacts/saved_*.png.
"""

from __future__ import annotations

import os
import re
import signal

import nbformat
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

WIDGET_ERROR = "Error displaying widget"
CARD_KEY = "jupyter-tracker/run-card"

RUNS = """
import math

import jupyter_tracker as jt

for i, (lr, optimizer) in enumerate([(0.3, "adam"), (0.1, "adam"), (0.03, "sgd")]):
    params = {"lr": lr, "optimizer": optimizer}
    with jt.start_run(name=f"lr={lr} {optimizer}", experiment="mnist", params=params):
        for step in range(30):
            jt.log_metric("loss", 2.0 * math.exp(-lr * step) + 0.05 * i, step=step)
"""

SETUP = "import ipywidgets\nimport jupyter_tracker as jt\n%load_ext jupyter_tracker"
TABLE = "jt.runs(experiment='mnist')"
MAGIC = "%runs"
COMPARE = "jt.compare(list(jt.search_runs(experiment='mnist').run_id[:2]))"
# A plain ipywidgets widget: what every widget output shows once its model is gone.
CONTROL = "ipywidgets.IntSlider(description='control')"
PANELS = {"table": TABLE, "magic": MAGIC, "comparison": COMPARE}
RUN_TIMEOUT_MS = 90_000  # a comparison's first run imports plotly and pandas


def panel_output(cell):
    """The cell's output drawn by our renderer (labextension/src/panels.ts)."""
    return cell.locator(".jp-OutputArea-output.jp-TrackerPanelOutput")


def static_view(cell):
    return panel_output(cell).locator(".jp-RenderedHTML")


def live_view(cell):
    return panel_output(cell).locator(".jupyter-widgets")


def plots_drawn(comparison) -> None:
    """Wait for the live comparison's three Plotly figures (curves, parallel coordinates,
    scatter) to be drawn."""
    plots = comparison.locator(".js-plotly-plot")
    expect(plots).to_have_count(3, timeout=30_000)
    for i in range(3):
        expect(plots.nth(i).locator(".main-svg").first).to_be_visible(timeout=30_000)


def control_error(ui):
    return ui.code_cell(CONTROL).locator(".jp-OutputArea-output", has_text=WIDGET_ERROR)


def test_saved_panels_reopen_static_then_live(ui, lab, make_runs, notebook_file):
    make_runs(RUNS)
    notebook_file("saved.ipynb", [SETUP, TABLE, MAGIC, COMPARE, CONTROL])
    ui.page.set_viewport_size({"width": 1400, "height": 2400})  # every output in one shot
    ui.open_notebook("saved.ipynb")
    for i in range(ui.notebook.locator(".jp-CodeCell").count()):
        ui.execute(ui.notebook.locator(".jp-CodeCell").nth(i), timeout_ms=RUN_TIMEOUT_MS)
    for code in PANELS.values():
        expect(live_view(ui.code_cell(code)).first).to_be_visible(timeout=30_000)
    ui.save()
    lab.shut_down_kernels()

    # Reopened: a new kernel that holds none of the widgets' models.
    ui.open_notebook("saved.ipynb")
    # The widget manager has restored its models from the new kernel and given up on the
    # plain widget: an error it would have shown for every panel too.
    expect(control_error(ui)).to_be_visible(timeout=30_000)
    expect(ui.page.get_by_text(WIDGET_ERROR)).to_have_count(1)
    table, magic, comparison = (ui.code_cell(code) for code in PANELS.values())
    for cell in (table, magic):
        expect(static_view(cell).locator(".jt-runs tbody tr")).to_have_count(3)
        expect(static_view(cell)).to_contain_text("lr=0.03 sgd")
    expect(static_view(comparison).locator(".jt-comparison")).to_contain_text("Comparing 2 runs")
    for cell in (table, magic, comparison):
        expect(live_view(cell)).to_have_count(0)
        expect(cell).not_to_contain_text(WIDGET_ERROR)
    ui.screenshot("saved_reopened_light")
    ui.set_theme("JupyterLab Dark")
    ui.screenshot("saved_reopened_dark")

    # Re-run with the kernel: the live widgets replace the static views.
    for i in range(4):
        ui.execute(ui.notebook.locator(".jp-CodeCell").nth(i), timeout_ms=RUN_TIMEOUT_MS)
    for cell in (table, magic):
        expect(live_view(cell).locator(".jt-table")).to_be_visible(timeout=30_000)
        expect(static_view(cell)).to_have_count(0)
    expect(live_view(comparison).first).to_be_visible(timeout=30_000)
    expect(comparison.locator(".js-plotly-plot").first).to_be_visible(timeout=30_000)
    expect(static_view(comparison)).to_have_count(0)
    expect(ui.page.get_by_text(WIDGET_ERROR)).to_have_count(1)  # the control's, not run again
    plots_drawn(comparison)
    ui.screenshot("saved_rerun_dark")
    ui.set_theme("JupyterLab Light")
    plots_drawn(comparison)  # redrawn in the new theme
    ui.screenshot("saved_rerun_light")

    # The page reloaded while the kernel still holds the widgets: live at once, no re-run.
    ui.save()
    ui.open_notebook("saved.ipynb")
    for code in PANELS.values():
        expect(live_view(ui.code_cell(code)).first).to_be_visible(timeout=30_000)
        expect(static_view(ui.code_cell(code))).to_have_count(0)
    assert ui.page.dialogs == []


# -- run cards left RUNNING by a killed kernel ---------------------------------------------

LONG_CELL = """
%%track_run lr=0.1 --name doomed
import time

import jupyter_tracker as jt

for step in range(1200):
    jt.log_metric("loss", 1 / (step + 1))
    time.sleep(0.05)
"""


def card_of(cell):
    return cell.locator(".jp-OutputArea-output .jt-run-card")


def kill_kernel_of(lab, name: str) -> str:
    """SIGKILL the kernel running the run `name` (its pid from the REST API); the run id."""
    _, page = lab.api("jupyter-tracker/api/runs")
    run = next(r for r in page["runs"] if r["name"] == name)
    _, detail = lab.api(f"jupyter-tracker/api/runs/{run['run_id']}")
    os.kill(detail["pid"], signal.SIGKILL)  # the OOM killer, a segfault...
    return run["run_id"]


def start_long_run(ui):
    """Run the long tracked cell; its locator once the card shows a few seconds of points."""
    ui.execute(ui.code_cell("%load_ext"))
    cell = ui.execute(ui.code_cell("%%track_run"), wait=False)
    expect(card_of(cell)).to_contain_text("RUNNING")
    expect(card_of(cell)).to_contain_text(re.compile(r"· [2-9]\.\ds"))  # points flushed
    return cell


def saved_card(path) -> tuple[dict, str]:
    """The saved card's metadata and HTML, from the notebook file."""
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if "%%track_run" in c.source)
    output = next(o for o in cell.outputs if CARD_KEY in o.get("metadata", {}))
    return output["metadata"][CARD_KEY], output["data"]["text/html"]


def test_a_card_whose_kernel_was_killed_says_crashed(ui, lab, notebook_file):
    path = notebook_file("crash.ipynb", ["%load_ext jupyter_tracker", LONG_CELL])
    ui.open_notebook("crash.ipynb")
    cell = start_long_run(ui)
    run_id = kill_kernel_of(lab, "doomed")

    # The kernel restarts: the lab extension asks the store, which says CRASHED.
    card = card_of(cell)
    expect(card).to_contain_text("CRASHED", timeout=30_000)
    expect(card).not_to_contain_text("RUNNING")
    expect(card.locator("tr", has_text="loss").locator("svg polyline")).to_have_count(1)
    ui.dismiss_dialogs()
    ui.wait_for_idle()
    ui.screenshot("saved_card_crashed_light", cell.locator(".jp-OutputArea"))
    current = ui.page.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current")
    expect(current).to_have_class(re.compile(r"\bjp-mod-dirty\b"))  # the file is out of date
    ui.save()
    state, html = saved_card(path)
    assert state == {"run_id": run_id, "status": "CRASHED", "final": True}
    assert "CRASHED" in html and "RUNNING" not in html

    # Reopened: the saved card says CRASHED.
    ui.open_notebook("crash.ipynb")
    expect(card_of(ui.code_cell("%%track_run"))).to_contain_text("CRASHED")
    ui.set_theme("JupyterLab Dark")
    ui.screenshot("saved_card_crashed_dark", ui.code_cell("%%track_run").locator(".jp-OutputArea"))
    assert ui.page.dialogs == []


def test_a_saved_running_card_is_brought_up_to_date_when_reopened(ui, lab, notebook_file):
    path = notebook_file("reopen.ipynb", ["%load_ext jupyter_tracker", LONG_CELL])
    ui.open_notebook("reopen.ipynb")
    start_long_run(ui)
    ui.save()
    assert saved_card(path)[0]["status"] == "RUNNING"  # what the file said before this fix
    ui.new_page()  # the notebook closed, its kernel left running

    run_id = kill_kernel_of(lab, "doomed")
    ui.open_notebook("reopen.ipynb")
    card = card_of(ui.code_cell("%%track_run"))
    expect(card).to_contain_text("CRASHED", timeout=30_000)
    expect(card).not_to_contain_text("RUNNING")
    ui.save()
    assert saved_card(path)[0] == {"run_id": run_id, "status": "CRASHED", "final": True}


# -- Notebook 7 ------------------------------------------------------------------------------


def test_notebook7_opens_a_saved_table_without_a_widget_error(
    notebook7_ui, make_runs, notebook_file, tracker_store, monkeypatch
):
    """Notebook 7 loads the same lab extension: a table saved by a kernel (nbclient, as a
    papermill run would) shows its static view once Notebook 7 has started a new kernel."""
    from nbclient import NotebookClient
    from nbformat.sign import NotebookNotary

    ui, server = notebook7_ui, notebook7_ui.lab
    make_runs(RUNS)
    path = notebook_file("nb7.ipynb", [SETUP, TABLE, CONTROL])
    monkeypatch.setenv("JUPYTER_TRACKER_STORE", str(tracker_store))
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, kernel_name="python3", timeout=60).execute()
    # Saved as JupyterLab saves by default: no widget state (with it, the manager would draw
    # the saved models, without a kernel behind them).
    del nb.metadata["widgets"]
    # Trusted, as a notebook the user saved is (untrusted, no widget is ever drawn).
    NotebookNotary(data_dir=server.env["JUPYTER_DATA_DIR"]).sign(nb)
    nbformat.write(nb, path)

    ui.page.set_viewport_size({"width": 1280, "height": 1000})
    ui.page.goto(server.page_url("notebooks/nb7.ipynb"))
    ui.notebook.wait_for()
    expect(control_error(ui)).to_be_visible(timeout=60_000)  # a new kernel, no models
    table = ui.code_cell(TABLE)
    expect(static_view(table).locator(".jt-runs tbody tr")).to_have_count(3)
    expect(table).not_to_contain_text(WIDGET_ERROR)
    expect(ui.page.get_by_text(WIDGET_ERROR)).to_have_count(1)  # the plain slider's only
    ui.screenshot("saved_notebook7_light")
