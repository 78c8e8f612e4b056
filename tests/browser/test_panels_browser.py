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
    expect(comparison).to_be_visible(timeout=90_000)  # a loaded machine builds it slowly
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


# -- themes, long lines, nesting, live runs, artifacts --------------------------------------

THEMED_RUNS = """
import time

import pandas as pd

import jupyter_tracker as jt
from jupyter_tracker.session import session

jt.set_experiment("themes")
LONG = "get_ipython().run_cell_magic('track_run', 'lr=0.1', " + repr("x" * 1500) + ")"
for i, lr in enumerate((1e-4, 1e-3, 1e-2, 0.1, 0.5)):
    params = {"lr": lr, "optimizer": "adam" if i % 2 else "sgd"}
    if i != 2:
        params["batch_size"] = 32 * (i + 1)  # run 2 has none: its line sits on "missing"
    with session().start(f"lr={lr}", None, params, None, source=f"lr = {lr}\\n{LONG}\\n"):
        t0 = int(time.time() * 1000)
        for step in range(60):  # ten steps per millisecond reading
            t = t0 + 40 * (step // 10)
            jt.log_metric("loss", 2.0 / (1 + lr * 10 * step) + 0.01 * i, step=step, timestamp=t)
            jt.log_metric("val_accuracy", 0.9 - 0.4 / (1 + lr * step) - 0.01 * i, step=step)
        frame = pd.DataFrame({"id": range(30), "label": ["<b>cat</b>", "dog"] * 15})
        jt.log_artifact(frame, name="predictions.csv")
        jt.log_text("epochs: 60\\nnote: plain\\n", "config.yaml")
with jt.start_run(name="sweep"):
    for lr in (0.1, 0.3, 0.9):
        with jt.start_run(name=f"sweep lr={lr}", params={"lr": lr}, nested=True):
            jt.log_metric("loss", lr)
with session().start("baseline", None, {"lr": 0.1}, None, source="x = 1") as first:
    first.set_origin(None, "cell-a", None)
with session().start("baseline", None, {"lr": 0.2}, None, source="x = 2") as again:
    again.set_origin(None, "cell-a", first.id)
"""

THEMED_CELLS = [
    "import jupyter_tracker as jt\ntable = jt.runs(experiment='themes')\ntable",
    "lrs = jt.search_runs(filter_string=\"name LIKE 'lr=%'\", experiment='themes',\n"
    "                     order_by=['name'])\n"
    "jt.compare(lrs.run_id)",
    "jt.plot(lrs.run_id[:3], x='relative')",
]

LIGHT_TEXT = "([r, g, b]) => 0.2126 * r + 0.7152 * g + 0.0722 * b > 150"
RGB = "el => getComputedStyle(el).color.match(/\\d+/g).slice(0, 3).map(Number)"


def _no_horizontal_overflow(cell) -> None:
    widths = cell.locator(".jp-OutputArea-output").evaluate_all(
        "els => els.map(e => [e.scrollWidth, e.clientWidth])"
    )
    assert widths and all(scroll <= client + 1 for scroll, client in widths), widths


def test_panels_in_light_and_dark_themes_never_wider_than_the_output(ui, make_runs, notebook_file):
    make_runs(THEMED_RUNS)
    notebook_file("themes.ipynb", THEMED_CELLS)
    page = ui.page
    page.set_viewport_size({"width": 1300, "height": 2600})
    ui.open_notebook("themes.ipynb")

    table_cell = ui.execute(ui.code_cell("table = jt.runs"))
    table = table_cell.locator(".jt-table")
    expect(table).to_be_visible(timeout=30_000)
    expect(_rows(table)).to_have_count(11)
    # the sweep's children sit under it; the parent folds them away
    children = table.locator("button.jt-children")
    expect(children).to_have_text("▾ 3 runs")
    expect(table.locator("td.jt-child")).to_have_count(3)
    children.click()
    expect(_rows(table)).to_have_count(8)
    children.click()
    expect(_rows(table)).to_have_count(11)
    # a re-run links to the run it re-ran
    rerun = table.locator("button.jt-rerun")
    expect(rerun).to_have_count(1)
    # a run started elsewhere shows up without a click on ↻
    make_runs(
        "import jupyter_tracker as jt\njt.set_experiment('themes')\n"
        "with jt.start_run(name='from a script'):\n    jt.log_metric('loss', 0.1)\n"
    )
    expect(_rows(table)).to_have_count(12, timeout=30_000)  # within the longest back-off
    expect(table.get_by_text("from a script", exact=True)).to_be_visible()

    # a run's detail: tables and texts previewed, every artifact downloads
    _rows(table).filter(has=page.get_by_text("lr=0.1", exact=True)).click()
    detail = table_cell.locator(".jt-run-detail")
    expect(detail.locator(".jt-preview table").first).to_contain_text("<b>cat</b>")
    expect(detail.locator(".jt-preview", has_text="epochs: 60")).to_be_visible()
    with page.expect_download() as download:
        detail.locator("a[data-jt-api]", has_text="download").first.click()
    assert download.value.suggested_filename == "config.yaml"
    assert download.value.path().read_text() == "epochs: 60\nnote: plain\n"
    _no_horizontal_overflow(table_cell)

    compare_cell = ui.execute(ui.code_cell("jt.compare(lrs.run_id)"), timeout_ms=120_000)
    comparison = compare_cell.locator(".jt-comparison")
    expect(comparison.locator(".js-plotly-plot").nth(1)).to_be_visible(timeout=20_000)
    expect(comparison.locator(".jt-diff").first).to_be_visible()
    _no_horizontal_overflow(compare_cell)
    for diff in comparison.locator(".jt-diff").all():  # the 1,500-character line wraps
        assert diff.evaluate("e => e.scrollWidth <= e.clientWidth + 1")
    parallel = comparison.locator(".js-plotly-plot").nth(1)
    expect(parallel).to_contain_text("lr (log)")
    expect(parallel).to_contain_text("missing")

    plot_cell = ui.execute(ui.code_cell("jt.plot(lrs"), timeout_ms=120_000)
    graph = plot_cell.locator(".js-plotly-plot")
    expect(graph).to_be_visible(timeout=20_000)
    for background in ("paper_bgcolor", "plot_bgcolor"):  # the theme's shows through
        colour = graph.evaluate(f"el => el._fullLayout.{background}").replace(" ", "")
        assert colour == "rgba(0,0,0,0)", background
    xs = graph.evaluate("el => Array.from(el._fullData[0].x)")
    assert all(b > a for a, b in zip(xs, xs[1:], strict=False))  # spread, not a comb

    for theme, suffix in (("JupyterLab Light", "light"), ("JupyterLab Dark", "dark")):
        if theme != "JupyterLab Light":
            ui.set_theme(theme)
        best = comparison.locator(".jt-best").first
        light_text = best.evaluate(f"el => ({LIGHT_TEXT})(({RGB})(el))")
        assert light_text == (suffix == "dark"), theme  # the theme's text on the tint
        changed = comparison.locator(".jt-diff td[style*='color-mix']").first
        assert changed.evaluate(f"el => ({LIGHT_TEXT})(({RGB})(el))") == (suffix == "dark")
        ui.screenshot(f"panels_themes_table_{suffix}", table_cell)
        comparison.scroll_into_view_if_needed()
        ui.screenshot(f"panels_themes_compare_{suffix}", compare_cell)
        plot_cell.scroll_into_view_if_needed()
        ui.screenshot(f"panels_themes_plot_{suffix}", plot_cell)
    _no_horizontal_overflow(compare_cell)
    assert page.dialogs == []
