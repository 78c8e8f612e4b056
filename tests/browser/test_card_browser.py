"""The live run card in real JupyterLab: opened from notebooks/quickstart.ipynb, updated in
place while a tracked cell runs, final state and capture health at the end; FAILED with the
error line for a failing cell. Screenshots of the card go to tests/artifacts/."""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
QUICKSTART = "quickstart.ipynb"

# Long enough to watch (~8 s, a point every 50 ms); `lr` comes from the magic line.
LIVE_CELL = """
%%track_run lr=0.1 --name live-demo
import math
import time

import jupyter_tracker as jt

start, step = time.monotonic(), 0
while time.monotonic() - start < 8:
    step += 1
    jt.log_metric("loss", 2.0 * math.exp(-lr * step / 3) + 0.05)
    jt.log_metric("accuracy", 0.97 - 0.87 * math.exp(-lr * step / 4))
    time.sleep(0.05)
"""

FAILING_CELL = """
%%track_run lr=10.0 --name diverges
import jupyter_tracker as jt

jt.log_metric("loss", 3.5)
raise FloatingPointError("loss diverged at step 1")
"""

STORE_RUNS = """
import json

import jupyter_tracker as jt

runs = {}
for run_id in jt.search_runs()["run_id"]:
    run = jt.get_run(run_id)
    runs[run.name] = {
        "status": run.status,
        "params": run.params,
        "metrics": run.metrics,
        "notebook": run.notebook,
        "cell_id": run.cell_id,
        "error": run.error,
    }
print(json.dumps(runs))
"""


@pytest.fixture
def quickstart(lab_files) -> str:
    """The repository's notebooks/ folder copied into the server's root dir; the path to open."""
    if not (NOTEBOOKS / QUICKSTART).is_file():
        pytest.fail(f"{NOTEBOOKS / QUICKSTART} is missing: the card test opens it.")
    shutil.copytree(NOTEBOOKS, lab_files / "notebooks", ignore=shutil.ignore_patterns(".*"))
    return f"notebooks/{QUICKSTART}"


def card_of(cell):
    return cell.locator(".jp-OutputArea-output .jt-run-card")


def health_item(card, what: str):
    """The capture-health entry `what` (its tooltip holds the detail)."""
    return card.locator("span[title]").filter(has_text=re.compile(rf"^[✓✗] {what}$"))


def test_live_card_in_quickstart(ui, quickstart, make_runs):
    ui.open_notebook(quickstart)

    # The quickstart as a reader runs it: every code cell, in order, up to its first tracked
    # cell (the %load_ext cell, the data, the training function, then the run).
    code_cells = ui.notebook.locator(".jp-CodeCell")
    first_tracked = ui.code_cell("%%track_run")
    for i in range(code_cells.count()):
        cell = ui.execute(code_cells.nth(i))
        expect(cell.locator(".jp-OutputArea-output[data-mime-type*='error']")).to_have_count(0)
        if "%%track_run" in cell.locator(".jp-InputArea-editor").inner_text():
            break
    expect(card_of(first_tracked)).to_contain_text("FINISHED")
    expect(card_of(first_tracked).locator("tr", has_text="loss")).to_have_count(1)
    ui.screenshot("card_quickstart_first_run", first_tracked.locator(".jp-OutputArea"))

    # A longer tracked cell below it, to watch the card while the cell runs.
    live = ui.execute(ui.insert_cell_below(first_tracked, LIVE_CELL), wait=False)
    card = card_of(live)

    # While it runs: RUNNING, the param, a value for each metric, updated in place.
    expect(card).to_be_visible()
    expect(card).to_contain_text("live-demo")
    expect(card).to_contain_text("RUNNING")
    expect(card).to_contain_text("lr=0.1")
    expect(card.locator("tr", has_text="loss")).to_contain_text(re.compile(r"loss\s*\d"))
    expect(card.locator("tr", has_text="accuracy")).to_contain_text(re.compile(r"accuracy\s*0\.\d"))
    expect(card.locator("tr", has_text="loss").locator("svg polyline")).to_have_count(1)
    expect(card).to_contain_text(re.compile(r"· [3-6]\.\ds"))  # a few seconds in: curves have shape
    ui.screenshot("card_running", live.locator(".jp-OutputArea"))
    first = card.inner_text()
    time.sleep(1.2)
    second = card.inner_text()
    assert "RUNNING" in second, second
    assert second != first, "the card did not change while the cell ran"
    assert _metric(first, "loss") > _metric(second, "loss")
    assert live.locator(".jt-run-card").count() == 1  # updated in place, not appended

    # At the end: FINISHED, final metrics with curves, and what was captured.
    expect(card).to_contain_text("FINISHED", timeout=30_000)
    expect(live.locator('.jp-InputArea-prompt[data-test-run~="done"]')).to_have_count(1)
    final = card.inner_text()
    assert "RUNNING" not in final
    assert 0.85 < _metric(final, "accuracy") < 0.97
    assert 0.05 < _metric(final, "loss") < 0.3
    elapsed = re.search(r"· (\d+)(?:\.\d)?s\n", final)
    assert elapsed and 7 <= int(elapsed.group(1)) <= 20, final  # the loop takes 8 s
    expect(card.locator("svg polyline")).to_have_count(2)
    expect(health_item(card, "source")).to_have_count(1)
    expect(health_item(card, "source")).to_have_text("✓ source")
    expect(health_item(card, "notebook")).to_have_text("✓ notebook")
    notebook_path = health_item(card, "notebook").get_attribute("title")
    assert notebook_path.endswith(quickstart), notebook_path
    expect(health_item(card, "cell id")).to_have_text("✓ cell id")
    cell_id = health_item(card, "cell id").get_attribute("title")
    assert cell_id and cell_id != "unknown"
    expect(health_item(card, "environment")).to_have_text("✓ environment")
    assert live.locator(".jt-run-card").count() == 1
    ui.screenshot("card_final", live.locator(".jp-OutputArea"))
    live.scroll_into_view_if_needed()
    ui.screenshot("card_final_in_lab")

    # A failing tracked cell: FAILED with the error's last line; the traceback still shows.
    failing = ui.execute(ui.insert_cell_below(live, FAILING_CELL))
    failed = card_of(failing)
    expect(failed).to_contain_text("FAILED")
    expect(failed).to_contain_text("FloatingPointError: loss diverged at step 1")
    expect(failed).not_to_contain_text("RUNNING")
    traceback = failing.locator(".jp-OutputArea-output[data-mime-type*='stderr']")
    expect(traceback).to_contain_text("FloatingPointError")
    ui.screenshot("card_failed", failing.locator(".jp-OutputArea"))

    # The store (the harness's JUPYTER_TRACKER_STORE) agrees with what the card showed.
    runs = json.loads(make_runs(STORE_RUNS))
    demo = runs["live-demo"]
    assert demo["status"] == "FINISHED"
    assert demo["params"] == {"lr": 0.1}
    assert set(demo["metrics"]) == {"loss", "accuracy"}
    assert demo["notebook"].endswith(quickstart), demo["notebook"]
    assert Path(demo["notebook"]).is_file()
    assert demo["cell_id"] == cell_id
    assert runs[_name(first_tracked)]["status"] == "FINISHED"
    bad = runs["diverges"]
    assert bad["status"] == "FAILED"
    assert "FloatingPointError: loss diverged at step 1" in bad["error"]
    assert bad["cell_id"] and bad["cell_id"] != cell_id
    assert bad["notebook"] == demo["notebook"]
    assert ui.page.dialogs == []


def _name(cell) -> str:
    return card_of(cell).locator("b").first.inner_text()


def _metric(card_text: str, key: str) -> float:
    match = re.search(rf"^{key}\s+(\S+)", card_text, re.MULTILINE)
    assert match, card_text
    return float(match.group(1))
