"""Inline panels: the run table, metric curves and the run comparison."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .comparison import Comparison
    from .table import RunTable


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
