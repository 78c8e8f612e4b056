"""Every colour of the views, once: JupyterLab theme variables with fallbacks for GitHub/nbviewer.

Inline styles use the constants; the run table's stylesheet uses ``--jt-*`` variables that
``css_variables`` defines from the same constants. Every colour reads in JupyterLab's light
and dark themes: text and surfaces are variables that flip with the theme, highlights are
translucent tints of a theme colour (``tint``) over whatever background is there, never a
pale colour under fixed dark text. Plotly needs literal colours: run colours (``PALETTE``) and
the ``PLOT_*`` greys are chosen to read on a white and on a dark grey background alike.
"""

from __future__ import annotations

from ..model import STATUSES

TEXT = "var(--jp-ui-font-color1, #202124)"
MUTED = "var(--jp-ui-font-color2, #5f6368)"
FAINT = "var(--jp-ui-font-color3, #9aa0a6)"
ON_COLOR = "#fff"  # text on a coloured badge or button
BACKGROUND = "var(--jp-layout-color1, #fff)"
SURFACE = "var(--jp-layout-color2, #f8f9fa)"  # code blocks, table heads, hovered rows
BORDER = "var(--jp-border-color2, #dadce0)"
RULE = "var(--jp-border-color3, #eceff1)"  # lines between table rows
INPUT_BORDER = "var(--jp-border-color1, #bdc1c6)"
ACCENT = "var(--jp-brand-color1, #1a73e8)"
ACCENT_HOVER = "var(--jp-brand-color0, #1765cc)"
ERROR = "var(--jp-error-color1, #d93025)"
WARNING = "var(--jp-warn-color0, #b06000)"
SUCCESS = "var(--jp-success-color1, #188038)"


def tint(color: str, percent: int) -> str:
    """``color`` at ``percent``% over transparency: a highlight whose text keeps the theme's
    colour, on a light and on a dark background alike."""
    return f"color-mix(in srgb, {color} {percent}%, transparent)"


REMOVED = tint(ERROR, 22)
ADDED = tint(SUCCESS, 24)
BEST = ADDED
CHANGED = tint("var(--jp-warn-color1, #e37400)", 22)

STATUS_COLORS: dict[str, str] = dict(
    zip(
        STATUSES,
        (
            ACCENT,  # RUNNING
            SUCCESS,  # FINISHED
            ERROR,  # FAILED
            "var(--jp-warn-color1, #e37400)",  # KILLED
            "var(--jp-error-color0, #a50e0e)",  # CRASHED
        ),
        strict=True,
    )
)
UNKNOWN_STATUS_COLOR = MUTED

# Runs in charts and comparisons, the i-th run gets the i-th: as many as a comparison holds
# (20), all distinct, each at least 3:1 against white and against the dark theme's #212121
# (Plotly's ten, darkened or lightened into that band, then ten more hues).
PALETTE = (
    "#1f77b4",
    "#e76c00",
    "#2ca02c",
    "#d82b2c",
    "#9467bd",
    "#9f6155",
    "#df62b9",
    "#7f7f7f",
    "#94951b",
    "#139fad",
    "#1b9e77",
    "#7570b3",
    "#e7298a",
    "#62a01d",
    "#b78802",
    "#4a69d9",
    "#b65253",
    "#fb5935",
    "#637939",
    "#a65cc6",
)

# Plotly figures: transparent backgrounds, so the theme's shows through, and greys that read
# on both; menus and sliders are light controls with dark text in either theme.
PLOT_BACKGROUND = "rgba(0,0,0,0)"
PLOT_TEXT = "#808080"
PLOT_GRID = "rgba(128,128,128,0.25)"
PLOT_AXIS = "rgba(128,128,128,0.55)"
PLOT_CONTROL = "#eceff1"
PLOT_CONTROL_ACTIVE = "#cfd8dc"
PLOT_CONTROL_TEXT = "#202124"
PLOT_CONTROL_BORDER = "#9aa0a6"
# A value scale (parallel coordinates' lines) whose every colour stays readable on both:
# blue to violet to orange, no near-black or near-white end.
PLOT_COLORSCALE = ((0.0, "#1f77b4"), (0.5, "#a65cc6"), (1.0, "#e76c00"))


def status_color(status: str) -> str:
    """The colour of a status (its badge), grey for a status this version does not know."""
    return STATUS_COLORS.get(status, UNKNOWN_STATUS_COLOR)


def run_color(i: int) -> str:
    """The colour of the i-th run, the same in every chart of a panel."""
    return PALETTE[i % len(PALETTE)]


def css_variables() -> str:
    """The colours as ``--jt-<name>`` custom properties, for a stylesheet's root rule."""
    named = {
        "text": TEXT,
        "muted": MUTED,
        "on-color": ON_COLOR,
        "background": BACKGROUND,
        "surface": SURFACE,
        "border": BORDER,
        "rule": RULE,
        "input-border": INPUT_BORDER,
        "accent": ACCENT,
        "accent-hover": ACCENT_HOVER,
        "error": ERROR,
    }
    return "".join(f"--jt-{name}:{value};" for name, value in named.items())
