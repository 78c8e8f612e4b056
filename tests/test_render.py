"""The renderer every view shares: escaping, formats, colours, and the statuses the table
receives rather than copies."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import jupyter_tracker as jt
from jupyter_tracker.model import STATUSES
from jupyter_tracker.panels import table as table_module
from jupyter_tracker.render import charts, colors, formats
from jupyter_tracker.render.diff import side_by_side
from jupyter_tracker.render.html import (
    WIDTH_BOUND,
    download_links,
    esc,
    esc_plotly,
    json_for_html,
    status_badge,
    table_preview,
    text_preview,
)

PANELS = Path(table_module.__file__).parent


def test_render_imports_no_framework():
    code = (
        "import sys\n"
        "import jupyter_tracker.render.charts, jupyter_tracker.render.diff\n"
        "import jupyter_tracker.render.formats, jupyter_tracker.render.html\n"
        "heavy = {'IPython', 'pandas', 'plotly', 'ipywidgets', 'numpy'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_user_strings_are_escaped_for_html_json_and_plotly():
    hostile = "</script><img src=x onerror=alert(1)>&"
    assert "<" not in esc(hostile) and '"' not in esc('"')
    embedded = json_for_html({"name": hostile})
    assert "</" not in embedded and "<" not in embedded
    assert json.loads(embedded) == {"name": hostile}
    assert esc_plotly("<b>a</b> & b") == "&lt;b&gt;a&lt;/b&gt; &amp; b"


def test_every_status_has_a_theme_colour_with_a_fallback():
    assert tuple(colors.STATUS_COLORS) == STATUSES
    for colour in colors.STATUS_COLORS.values():
        assert colour.startswith("var(--jp-") and ", #" in colour
    assert colors.status_color("SOMETHING NEW") == colors.UNKNOWN_STATUS_COLOR
    assert colors.STATUS_COLORS["FINISHED"] in status_badge("FINISHED")


def test_the_table_view_receives_the_statuses_and_has_no_list_of_its_own(store):
    with jt.start_run(name="one"):
        pass
    table = table_module.RunTable(store=store)
    assert table.status_colors == colors.STATUS_COLORS
    assert table.unknown_status_color == colors.UNKNOWN_STATUS_COLOR
    script = (PANELS / "_table.js").read_text()
    stylesheet = (PANELS / "_table.css").read_text()
    for status in STATUSES:
        assert status not in script and status not in stylesheet
    assert "#" not in stylesheet.split("*/", 1)[1]  # colours come from render.colors
    assert "--jt-accent:" in table._css


def test_formats():
    assert formats.fmt_number(10.0) == "10.0" and formats.fmt_number(math.nan) == "NaN"
    assert formats.fmt_number(-math.inf) == "-inf" and formats.fmt_number(3) == "3"
    assert formats.fmt_duration(0.85) == "850ms" and formats.fmt_duration(245) == "4m 05s"
    assert formats.run_duration(1_000, 13_300, "FINISHED") == "12.3s"
    assert formats.run_duration(1_000, None, "CRASHED") == ""
    assert formats.run_duration(1_000, None, "RUNNING", now_ms=3_000) == "2.0s"
    assert [formats.fmt_size(n) for n in (14, 2_500, 3_400_000, 5 * 10**12)] == [
        "14 B",
        "2.5 kB",
        "3.4 MB",
        "5000.0 GB",
    ]
    assert formats.cut("abcdef", 4) == "abc…" and formats.plural(1_200, "run") == "1,200 runs"
    assert formats.terminal_text("a\x1b[2Jb\x07\nc") == "ab\\x07\\nc"
    assert formats.terminal_text("a\nb", multiline=True) == "a\nb"


def test_charts_break_at_nan_and_escape_their_title():
    line = charts.sparkline([1.0, 2.0, math.nan, 3.0, 4.0])
    assert line.count("<polyline") == 2 and "<circle" in line
    chart = charts.line_chart([("#123456", [0, 1, 2], [1.0, math.inf, 2.0])], title="<b>x</b>")
    assert "&lt;b&gt;x&lt;/b&gt;" in chart and chart.count("<circle") == 2


# -- light and dark themes -------------------------------------------------------------


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_twenty_run_colours_distinct_and_readable_in_both_themes():
    assert len(set(colors.PALETTE)) == len(colors.PALETTE) == 20
    for colour in colors.PALETTE:
        assert _contrast(colour, "#ffffff") >= 3, colour  # JupyterLab light
        assert _contrast(colour, "#212121") >= 3, colour  # JupyterLab dark (--jp-layout-color1)
    assert [colors.run_color(i) for i in range(20)] == list(colors.PALETTE)


def test_highlights_are_tints_under_the_themes_text_colour():
    for tint in (colors.REMOVED, colors.ADDED, colors.CHANGED, colors.BEST):
        assert tint.startswith("color-mix(in srgb, var(--jp-") and "transparent)" in tint
    diff = side_by_side("a = 1\nb = 2\n", "a = 1\nb = 3\n", "old", "new")
    assert colors.REMOVED in diff and colors.ADDED in diff
    assert "color:#" not in diff  # no fixed text colour: the theme's shows on the tint


def test_plotly_template_follows_either_theme():
    layout = charts.plotly_template()["layout"]
    assert layout["paper_bgcolor"] == layout["plot_bgcolor"] == "rgba(0,0,0,0)"
    assert _contrast(layout["font"]["color"], "#ffffff") >= 3.5
    assert _contrast(layout["font"]["color"], "#212121") >= 3.5
    assert layout["xaxis"]["gridcolor"].startswith("rgba(128,128,128,")
    assert layout["colorway"] == list(colors.PALETTE)
    menus = layout["updatemenudefaults"]
    assert _contrast(menus["font"]["color"], menus["bgcolor"]) >= 7  # light control, dark text
    for _, colour in colors.PLOT_COLORSCALE:  # parallel coordinates' lines
        assert _contrast(colour, "#ffffff") >= 3 and _contrast(colour, "#212121") >= 3


# -- never wider than the output ----------------------------------------------------------


def test_a_diff_wraps_long_lines_inside_a_fixed_table():
    long_line = "get_ipython().run_cell_magic('track_run', '', " + "x" * 3000 + ")"
    diff = side_by_side("x = 1\n" + long_line, "x = 2\n" + long_line, "a", "b")
    assert "table-layout:fixed" in diff and "width:100%" in diff
    assert "white-space:pre-wrap" in diff and "overflow-wrap:anywhere" in diff
    assert "white-space:pre;" not in diff
    assert WIDTH_BOUND in diff and "max-width:100%" in WIDTH_BOUND


# -- parallel coordinates ----------------------------------------------------------------


def test_parallel_axis_keeps_runs_missing_a_value_on_a_missing_tick():
    axis = charts.parallel_axis("batch", [32.0, None, 64.0], numeric=True)
    missing = axis["values"][1]
    assert missing is not None and missing < min(axis["values"][0], axis["values"][2])
    assert axis["ticktext"][0] == "missing" and axis["tickvals"][0] == missing
    assert axis["range"][0] <= missing and axis["range"][1] >= 64
    words = charts.parallel_axis("optimizer", ["adam", None, "sgd"], numeric=False)
    assert words["ticktext"] == ["missing", "adam", "sgd"]
    assert None not in words["values"] and words["values"][1] < words["values"][0]
    full = charts.parallel_axis("lr", [0.1, 0.2], numeric=True)
    assert "missing" not in full["ticktext"] and full["label"] == "lr"


def test_parallel_axis_puts_values_spanning_decades_on_log10():
    axis = charts.parallel_axis("lr", [1e-4, 1e-3, 0.01, 0.1], numeric=True)
    assert axis["label"] == "lr (log)"
    assert axis["values"] == [math.log10(v) for v in (1e-4, 1e-3, 0.01, 0.1)]
    assert axis["ticktext"] == ["0.0001", "0.001", "0.01", "0.1"]
    many = charts.parallel_axis("alpha", [10.0**k for k in range(-6, 4)] + [None], True)
    assert many["ticktext"][0] == "missing" and "1e-06" in many["ticktext"]
    assert len(many["tickvals"]) <= charts.MAX_VALUE_TICKS + 1
    assert charts.parallel_axis("x", [1.0, 50.0], True)["label"] == "x"  # under 100x: linear
    assert charts.parallel_axis("x", [-1.0, 500.0], True)["label"] == "x"  # not all positive


def test_parallel_axis_labels_are_escaped_ticks_plain_and_cut():
    axis = charts.parallel_axis("<b>k</b>", ["<i>" + "v" * 40], numeric=False)
    assert axis["label"] == "&lt;b&gt;k&lt;/b&gt;"
    (tick,) = axis["ticktext"]
    assert tick.startswith("<i>") and len(tick) == charts.MAX_TICK_LABEL


# -- formats, previews and download links --------------------------------------------------


def test_param_floats_read_at_a_glance():
    assert formats.fmt_param("0.30000000000000004") == "0.3"
    assert formats.fmt_param("1e-3") == "0.001" and formats.fmt_param("10.0") == "10.0"
    for kept in ("32", "adam", "1.0.0", "[0.1, 0.2]", "nan"):
        assert formats.fmt_param(kept) == kept


def test_download_links_go_through_the_servers_route_and_embed_small_ones():
    links = download_links("ab12" * 8, 'plots/na"me #1.csv', b"a,b\n1,2\n")
    api = "jupyter-tracker/api/runs/" + "ab12" * 8 + "/artifacts/plots/na%22me%20%231.csv"
    assert f'data-jt-api="{api}"' in links and f'href="/{api}"' in links
    assert "jupyter-config-data" in links and "baseUrl" in links  # under the page's base URL
    assert 'na"me' not in links and 'download="na&quot;me #1.csv"' in links
    assert "data:application/octet-stream;base64,YSxiCjEsMgo=" in links
    assert "data:" not in download_links("ab12" * 8, "big.bin")


def test_previews_escape_what_they_show():
    table = table_preview(["<a>"], [["<script>"]], "first 1 rows")
    assert "<script>" not in table and "&lt;script&gt;" in table and "first 1 rows" in table
    text = text_preview("</pre><script>")
    assert "<script>" not in text and text.count("</pre>") == 1
