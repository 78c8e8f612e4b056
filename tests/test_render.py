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
from jupyter_tracker.render.html import esc, esc_plotly, json_for_html, status_badge

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
