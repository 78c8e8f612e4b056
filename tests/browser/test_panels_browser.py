"""The run table and the comparison in real JupyterLab: sort, filter, select, compare.

Screenshots land in tests/artifacts/ (panels_*.png). Hostile names and values are logged
on purpose: they must show as text, and no dialog may open.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

XSS_NAME = "<img src=x onerror=alert(1)>"
XSS_VALUE = "</script><script>alert(1)</script>"

RUNS = f"""
import math

import jupyter_tracker as jt

grid = [(0.3, "adam", 32), (0.1, "adam", 64), (0.03, "sgd", 32), (0.01, "sgd", 64)]
grid.append((0.1, "sgd", 32))
for i, (lr, optimizer, batch) in enumerate(grid):
    name = {XSS_NAME!r} if i == 2 else f"lr={{lr}} {{optimizer}}"
    note = {XSS_VALUE!r} if i == 2 else "plain"
    params = {{"lr": lr, "optimizer": optimizer, "batch_size": batch, "note": note}}
    with jt.start_run(name=name, experiment="mnist", params=params, tags={{"stage": "dev"}}):
        for step in range(40):
            jt.log_metrics(
                {{
                    "loss": 2.0 * math.exp(-lr * step) + 0.05 * (i + 1),
                    "val_accuracy": 0.95 - 0.5 * math.exp(-lr * step) - 0.01 * i,
                }},
                step=step,
            )
"""

CELLS = [
    "import jupyter_tracker as jt\ntable = jt.runs(experiment='mnist')\ntable",
    "jt.plot(table.df.run_id[:3], x='step')",
]


def _rows(table):
    return table.locator("tbody tr.jt-row")


def _column(table, column: str) -> list[str]:
    return table.locator(f'tbody tr.jt-row td[data-column="{column}"]').all_inner_texts()


def test_table_sort_filter_select_compare(ui, make_runs, notebook_file):
    make_runs(RUNS)
    notebook_file("panels.ipynb", CELLS)
    page = ui.page
    page.set_viewport_size({"width": 1400, "height": 2200})  # tall outputs fit in one shot
    ui.open_notebook("panels.ipynb")

    cell = ui.execute(ui.code_cell("table = jt.runs"))
    table = cell.locator(".jt-table")
    expect(table).to_be_visible()
    expect(_rows(table)).to_have_count(5)
    expect(table.locator(".jt-count")).to_have_text(re.compile(r"1–5 of 5 runs"))
    # the hostile name is text in its cell: no element made from it, no dialog
    expect(table.get_by_text(XSS_NAME, exact=True)).to_be_visible()
    expect(table.get_by_text(XSS_VALUE, exact=True).first).to_be_visible()
    assert page.locator("img[src='x']").count() == 0
    ui.screenshot("panels_table", cell)

    # sort by loss, ascending then descending (the rows come back from the kernel)
    losses = sorted(_column(table, "metrics.loss"), key=float)
    first_loss = _rows(table).first.locator('td[data-column="metrics.loss"]')
    table.locator("thead th", has_text="loss").click()
    expect(table.locator("thead th.jt-sorted")).to_contain_text("▲")
    expect(first_loss).to_have_text(losses[0])
    assert _column(table, "metrics.loss") == losses
    table.locator("thead th", has_text="loss").click()
    expect(table.locator("thead th.jt-sorted")).to_contain_text("▼")
    expect(first_loss).to_have_text(losses[-1])
    assert _column(table, "metrics.loss") == losses[::-1]

    # a malformed filter: the error shows in the table, the rows stay
    box = table.locator("input.jt-filter")
    box.fill("metrics.loss <")
    box.press("Enter")
    expect(table.locator(".jt-error")).to_contain_text("position 14")
    expect(_rows(table)).to_have_count(5)
    ui.screenshot("panels_filter_error", cell)
    # typed key by key: notebook shortcuts (a, b, d d, ...) must not fire while typing
    cells = ui.cells.count()
    box.fill("")
    box.press_sequentially("params.optimizer = 'sgd' and tags.stage = 'dev'")
    box.press("Enter")
    expect(_rows(table)).to_have_count(3)
    assert ui.cells.count() == cells
    expect(table.locator(".jt-error")).to_be_hidden()
    assert set(_column(table, "params.optimizer")) == {"sgd"}

    # the column chooser: hide a column, show it again
    table.locator("button.jt-columns").click()
    chooser = table.locator(".jt-chooser")
    expect(chooser).to_be_visible()
    chooser.locator("label", has_text="batch_size").locator("input").uncheck()
    expect(table.locator('thead th[data-column="params.batch_size"]')).to_have_count(0)
    ui.screenshot("panels_columns", cell)
    chooser.locator("label", has_text="batch_size").locator("input").check()
    expect(table.locator('thead th[data-column="params.batch_size"]')).to_have_count(1)
    table.locator("button.jt-columns").click()
    expect(chooser).to_be_hidden()

    # select two runs, compare them below the table
    compare = table.locator("button.jt-compare")
    expect(compare).to_be_disabled()
    _rows(table).nth(0).locator("input[type=checkbox]").check()
    _rows(table).nth(1).locator("input[type=checkbox]").check()
    expect(compare).to_have_text("Compare 2 runs")
    expect(compare).to_be_enabled()
    compare.click()
    comparison = cell.locator(".jt-comparison")
    expect(comparison).to_be_visible(timeout=30_000)
    expect(comparison.locator(".js-plotly-plot").first).to_be_visible(timeout=20_000)
    expect(comparison.locator(".jt-best").first).to_be_visible()
    # hostile text in the HTML sections and in Plotly labels shows as text, decoded once
    expect(comparison.get_by_text(XSS_NAME).first).to_be_visible()
    parallel = comparison.locator(".js-plotly-plot").nth(1)
    expect(parallel).to_contain_text("</script><script>alert(…")
    legend = comparison.locator(".js-plotly-plot").first.locator(".legend")
    expect(legend).to_contain_text(XSS_NAME)
    for plot in comparison.locator(".js-plotly-plot").all():
        assert "&lt;" not in plot.inner_text()
    comparison.scroll_into_view_if_needed()
    ui.screenshot("panels_compare", cell)

    # a click on a row opens its detail in the same place
    _rows(table).nth(2).click()
    detail = cell.locator(".jt-run-detail")
    expect(detail).to_be_visible()
    expect(comparison).to_have_count(0)
    ui.screenshot("panels_detail", cell)

    # the curves: a FigureWidget with the smoothing slider and the log toggle
    plot_cell = ui.execute(ui.code_cell("jt.plot("))
    expect(plot_cell.locator(".js-plotly-plot")).to_be_visible(timeout=20_000)
    expect(plot_cell.locator(".slider-container")).to_be_visible()
    graph = plot_cell.locator(".js-plotly-plot")
    path = plot_cell.locator(".scatterlayer .trace path.js-line").first
    raw = path.get_attribute("d")
    # smoothing 0.9 (the 4th of 6 steps): the curves change, from typed arrays in the figure
    rail = plot_cell.locator(".slider-container .slider-rail-touch-rect").bounding_box()
    page.mouse.click(rail["x"] + rail["width"] * 0.6, rail["y"] + rail["height"] / 2)
    expect(plot_cell.locator(".slider-container")).to_contain_text("smoothing (EMA) 0.9")
    expect(path).not_to_have_attribute("d", raw)
    plot_cell.locator(".updatemenu-button", has_text="log").click()
    page.wait_for_function("el => el.layout.yaxis.type === 'log'", arg=graph.element_handle())
    ui.screenshot("panels_plot", plot_cell)

    assert page.locator("img[src='x']").count() == 0
    assert page.dialogs == []
