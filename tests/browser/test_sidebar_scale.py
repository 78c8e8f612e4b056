"""The Experiments sidebar on a store of 100,000 runs: the time to the first rows, to a
filter's answer, to a new sort and to the next page, measured in a real browser.

The store is built by `benchmarks/scale.py`'s bulk builder (the store's own write API, a
chunk of runs per transaction) in a fresh interpreter, once per schema version and version
of the builder: it is kept in `tests/artifacts/` (gitignored) and copied into each test's
store. The bounds asserted
are generous (a shared machine); the measured seconds are printed (`pytest -s`).
"""

from __future__ import annotations

import ast
import hashlib
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from jupyter_tracker.store import DB_NAME
from jupyter_tracker.store._schema import SCHEMA_VERSION

pytestmark = pytest.mark.browser

RUNS = 100_000
BOUND_S = 10.0  # each step, from the user's action to the rows on screen
REPO = Path(__file__).resolve().parents[2]
SCALE = REPO / "benchmarks" / "scale.py"
BUILDER = ("build_runs", "run_params", "T0", "CHUNK")  # what the built store depends on


def builder_version() -> str:
    """A digest of the builder's code and constants in benchmarks/scale.py."""
    text = SCALE.read_text(encoding="utf-8")
    parts = []
    for node in ast.parse(text).body:
        names = [getattr(node, "name", None)]
        names += [getattr(t, "id", None) for t in getattr(node, "targets", [])]
        if set(names) & set(BUILDER):
            parts.append(ast.get_source_segment(text, node) or "")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]


CACHE = REPO / "tests" / "artifacts" / f"store-{RUNS}-schema-{SCHEMA_VERSION}-{builder_version()}"

BUILD = """
import sys
from pathlib import Path

sys.path.insert(0, {benchmarks!r})
from scale import build_runs

build_runs(Path({path!r}), {n})
"""


def built_store() -> Path:
    """The cached store of RUNS runs (built on first use: a few minutes)."""
    store = CACHE / ".jupyter_tracker"
    if (store / DB_NAME).is_file():
        return store
    partial = CACHE.with_name(CACHE.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    code = BUILD.format(benchmarks=str(REPO / "benchmarks"), path=str(partial), n=RUNS)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    CACHE.mkdir(parents=True, exist_ok=True)
    partial.rename(store)
    return store


@pytest.fixture
def big_store(tracker_store) -> Path:
    """This test's store: a copy of the cached 100,000-run store (made before `lab`)."""
    shutil.copytree(built_store(), tracker_store)
    return tracker_store


def timed(action, done) -> float:
    """Seconds from `action()` to `done()` returning (a Playwright wait)."""
    start = time.perf_counter()
    action()
    done()
    return time.perf_counter() - start


def test_sidebar_stays_responsive_with_100k_runs(big_store, ui, make_runs, notebook_file):
    notebook = notebook_file("big.ipynb")
    make_runs(  # the open notebook's one run, the newest: the last in "Oldest first" order
        f"""
        import jupyter_tracker as jt
        with jt.start_run(name="from this notebook", experiment="notebooks") as run:
            run.set_origin({str(notebook)!r}, None, None)
        """
    )
    ui.open_notebook("big.ipynb")
    api = ui.lab.api
    tab = ui.page.locator('.jp-SideBar.jp-mod-left .lm-TabBar-tab[title="Experiments"]')
    panel = ui.page.locator("#jupyter-tracker-experiments")
    default = panel.locator('.jp-TrackerGroup[data-group="experiment:Default"]')
    first = panel.locator(
        '.jp-TrackerGroup[data-group="experiment:Default"] + .jp-TrackerRun .jp-TrackerRun-name'
    )
    mine = panel.locator('.jp-TrackerGroup[data-group="notebook:"]')
    mine_first = panel.locator('.jp-TrackerGroup[data-group="notebook:"] + .jp-TrackerRun')
    seconds = {}

    # Time to the first rows: from opening the sidebar to the newest runs on screen.
    seconds["first rows"] = timed(tab.click, lambda: expect(first).to_have_text(f"run-{RUNS - 1}"))
    expect(default.locator(".jp-TrackerGroup-count")).to_have_text("199")  # 200 a page
    expect(mine.locator(".jp-TrackerGroup-count")).to_have_text("1")

    # A filter (2% of the runs match): its first page, the same as the REST answer.
    search = panel.locator(".jp-TrackerPanel-search")
    search.fill("metrics.loss < 0.02 and params.optimizer = 'adam'")
    _, page = api(
        "jupyter-tracker/api/runs?filter=metrics.loss%20%3C%200.02%20and%20"
        "params.optimizer%20%3D%20%27adam%27&limit=1"
    )
    seconds["filter"] = timed(
        lambda: search.press("Enter"),
        lambda: expect(first).to_have_text(page["runs"][0]["name"]),
    )
    expect(default.locator(".jp-TrackerGroup-count")).to_have_text("200")
    expect(mine).to_have_count(0)  # the notebook's run has no loss

    # A sort on a metric over the whole store (the filter cleared): lowest loss first.
    search.fill("")
    search.press("Enter")
    expect(first).to_have_text(f"run-{RUNS - 1}")
    _, best = api("jupyter-tracker/api/runs?order_by=metrics.loss%20ASC&limit=1")
    sort = panel.locator(".jp-TrackerPanel-sort")
    seconds["sort by metric"] = timed(
        lambda: sort.select_option("metrics.loss ASC"),
        lambda: expect(first).to_have_text(best["runs"][0]["name"]),
    )
    seconds["sort oldest first"] = timed(
        lambda: sort.select_option("start_time ASC"),
        lambda: expect(first).to_have_text("run-0"),
    )
    # The notebook's run is 100,001st in this order, and still listed first, under its group.
    expect(mine_first).to_contain_text("from this notebook")

    # The next page: 200 more rows, in order.
    more = panel.locator(".jp-TrackerPanel-more")
    count = default.locator(".jp-TrackerGroup-count")
    seconds["next page"] = timed(more.click, lambda: expect(count).to_have_text("400"))
    last = panel.locator(".jp-TrackerRun .jp-TrackerRun-name").last
    expect(last).to_have_text("run-399")
    ui.screenshot("sidebar_100k_light")
    ui.set_theme("JupyterLab Dark")
    ui.screenshot("sidebar_100k_dark")

    print()
    for step, value in seconds.items():
        print(f"100k runs, {step}: {value:.2f} s")
    slow = {step: value for step, value in seconds.items() if value > BOUND_S}
    assert not slow, f"slower than {BOUND_S} s: {slow}"
    assert ui.page.dialogs == []
