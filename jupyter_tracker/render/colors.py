"""Every colour of the views, once: JupyterLab theme variables with fallbacks for GitHub/nbviewer.

Inline styles use the constants; the run table's stylesheet uses ``--jt-*`` variables that
``css_variables`` defines from the same constants. Run colours (``PALETTE``) are plain hex,
since Plotly needs literal colours.
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
# Highlighted cells keep dark text: these light backgrounds stay light in dark themes too.
HIGHLIGHT_TEXT = "#202124"
REMOVED = "var(--jp-error-color3, #fce8e6)"
ADDED = "var(--jp-success-color3, #e6f4ea)"
BEST = ADDED
CHANGED = "var(--jp-warn-color3, #fef7e0)"

STATUS_COLORS: dict[str, str] = dict(
    zip(
        STATUSES,
        (
            ACCENT,  # RUNNING
            "var(--jp-success-color1, #188038)",  # FINISHED
            ERROR,  # FAILED
            "var(--jp-warn-color1, #e37400)",  # KILLED
            "var(--jp-error-color0, #a50e0e)",  # CRASHED
        ),
        strict=True,
    )
)
UNKNOWN_STATUS_COLOR = MUTED

# Runs in charts and comparisons: Plotly's default colours, the i-th run gets the i-th.
PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)


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
