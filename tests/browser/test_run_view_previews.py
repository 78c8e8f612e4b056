"""The run view previews a run's raster images, text and tables (never an SVG), and shows
the cell source highlighted."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

SCREENS = Path("/work/notes/screens")

# Run as a script file (runpy), so the run's source is the script's text.
SCRIPT = r"""
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

import jupyter_tracker as jt

EVIL_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" '
    'onload="window.svgRan = 1"><script>window.svgRan = 2</script></svg>'
)

with jt.start_run(name="previews", experiment="vision"):
    folder = Path(tempfile.mkdtemp())
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1, 2], [2, 0, 1])
    fig.savefig(folder / "curve.png")
    jt.log_artifact(str(folder / "curve.png"))
    jt.log_text("first line\n<b>not bold</b>\n", "notes.txt")
    jt.log_text('epoch,loss\n1,"0.5, about"\n2,<i>0.25</i>\n', "table.csv")
    jt.log_text(EVIL_SVG, "evil.svg")
    jt.log_text("never read", "gone.txt")
"""


def test_run_view_previews_artifacts_and_highlights_source(ui, make_runs, notebook_file, tmp_path):
    script = tmp_path / "train_previews.py"
    script.write_text(SCRIPT)
    make_runs(f"import runpy\nrunpy.run_path({str(script)!r}, run_name='__main__')")
    notebook_file("analysis.ipynb")
    ui.open_notebook("analysis.ipynb")

    # The server fails to read gone.txt: its preview says so.
    ui.page.route(
        re.compile(r".*/artifacts/gone\.txt(\?.*)?$"),
        lambda route: route.fulfill(status=500, body="boom"),
    )
    panel = ui.open_sidebar("Experiments")
    panel.locator(".jp-TrackerRun", has_text="previews").first.click()
    view = ui.page.locator(".jp-TrackerView").filter(has_text="Go to cell")
    artifacts = view.locator(".jp-TrackerView-artifacts > li")
    expect(artifacts).to_have_count(5)

    # Every artifact keeps its download link.
    for name in ("curve.png", "notes.txt", "table.csv", "evil.svg"):
        expect(view.locator(".jp-TrackerView-artifact", has_text=name)).to_have_attribute(
            "download", name
        )

    # The PNG, drawn from a typed blob: URL.
    image = artifacts.filter(has_text="curve.png").locator("img.jp-TrackerView-previewImage")
    expect(image).to_have_count(1)
    expect(image).to_have_attribute("src", re.compile(r"^blob:"))
    ui.page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )

    # The text as text.
    text = artifacts.filter(has_text="notes.txt").locator("pre.jp-TrackerView-previewText")
    expect(text).to_have_text("first line\n<b>not bold</b>")
    assert artifacts.filter(has_text="notes.txt").locator("b").count() == 0

    # The CSV as a table: a quoted comma stays in its cell, markup stays text.
    table = artifacts.filter(has_text="table.csv").locator("table.jp-TrackerView-previewTable")
    expect(table.locator("th")).to_have_text(["epoch", "loss"])
    expect(table.locator("td")).to_have_text(["1", "0.5, about", "2", "<i>0.25</i>"])
    assert table.locator("i").count() == 0

    # The SVG is a download only: no preview, no image, its scripts never ran.
    svg = artifacts.filter(has_text="evil.svg")
    assert svg.locator("details, img, svg, object, iframe").count() == 0
    assert view.locator("img").count() == 1
    assert ui.page.evaluate("() => window.svgRan") is None

    # A preview that cannot be read says so in one line.
    expect(
        artifacts.filter(has_text="gone.txt").locator(".jp-TrackerView-previewError")
    ).to_have_text(re.compile(r"^Could not load the preview: 500"))

    # Previews fold away.
    details = artifacts.filter(has_text="notes.txt").locator("details.jp-TrackerView-preview")
    details.locator("summary").click()
    expect(text).to_be_hidden()
    details.locator("summary").click()
    expect(text).to_be_visible()

    # The source is the script's, highlighted by JupyterLab's editor languages.
    source = view.locator("pre.jp-TrackerView-source")
    expect(source).to_contain_text("jt.log_text(EVIL_SVG")
    expect(source.locator("span[class]").first).to_be_attached()
    coloured = source.evaluate(
        """pre => {
          const base = getComputedStyle(pre).color;
          return [...pre.querySelectorAll('span[class]')]
            .filter(s => getComputedStyle(s).color !== base).length;
        }"""
    )
    assert coloured > 0
    assert ui.page.dialogs == []

    SCREENS.mkdir(parents=True, exist_ok=True)
    for theme in ("JupyterLab Light", "JupyterLab Dark"):
        ui.set_theme(theme)
        ui.page.wait_for_timeout(300)
        artifacts.first.scroll_into_view_if_needed()
        name = f"run_view_previews_{theme.split()[-1].lower()}"
        shutil.copy(ui.screenshot(name), SCREENS / f"{name}.png")
        source.scroll_into_view_if_needed()
        shutil.copy(ui.screenshot(f"{name}_source"), SCREENS / f"{name}_source.png")
