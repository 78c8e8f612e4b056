"""Inline panels: the run table, metric curves and the run comparison."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .comparison import Comparison
    from .table import RunTable

WIDGET_MIME_TYPE = "application/vnd.jupyter.widget-view+json"
# Marks a widget's bundle as having a static view in its text/html; the lab extension renders
# it (labextension/src/panels.ts): the static view at once, the live widget once it is there.
PANEL_MIME_TYPE = "application/vnd.jupyter-tracker.panel+json"


def with_static_view(bundle: dict, text: str, html: str) -> dict:
    """A widget's display bundle that a saved notebook keeps readable: ``text/plain`` and
    ``text/html`` (what nbconvert, GitHub and VS Code without the widget's model show), and
    ``PANEL_MIME_TYPE`` with the widget's model id, so that JupyterLab shows the HTML until
    the live widget can be drawn, never "Error displaying widget: model not found"."""
    bundle["text/plain"] = text
    bundle["text/html"] = html
    view = bundle.get(WIDGET_MIME_TYPE)
    if view:
        bundle[PANEL_MIME_TYPE] = {"model_id": view["model_id"]}
    return bundle


def has_frontend() -> bool:
    """Whether outputs reach a notebook frontend (a kernel), not a terminal or a script."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def runs(
    filter: str | None = None,
    experiment: str | None = None,
    columns: list[str] | None = None,
) -> RunTable:
    """The run table of the runs matching ``filter`` (see ``jupyter_tracker.runs``)."""
    from .table import RunTable

    return RunTable(filter=filter, experiment=experiment, columns=columns)


def compare(run_ids: Any) -> Comparison:
    """The comparison panel of 2 to 20 runs (see ``jupyter_tracker.compare``)."""
    from .comparison import Comparison

    return Comparison(run_ids)


def plot(run_ids: Any, metrics: Any = None, x: str = "step") -> Any:
    """A Plotly figure of the runs' metric curves (see ``jupyter_tracker.plot``)."""
    from .curves import plot as plot_curves

    return plot_curves(run_ids, metrics, x)
