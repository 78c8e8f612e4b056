"""The figure classes ``jt.plot`` returns (this module imports plotly: load it lazily)."""

from __future__ import annotations

import threading
import weakref

import plotly.graph_objects as go

from . import curves, with_static_view
from .curves import plotly_json, summary_html, summary_text


class _Summary:
    """The static forms of a curves figure, from the curves it was built with."""

    _jt_curves: list = []
    _jt_keys: list = []
    _jt_x = "step"

    def summary_text(self) -> str:
        """The curves as plain text."""
        return summary_text(self._jt_curves, self._jt_keys, self._jt_x)

    def summary_html(self) -> str:
        """The curves as static SVG charts (the HTML fallback)."""
        return summary_html(self._jt_curves, self._jt_keys, self._jt_x)


class Curves(_Summary, go.FigureWidget):
    """``jt.plot``'s figure in a notebook: a FigureWidget with a static HTML fallback,
    whose curves grow while its runs are RUNNING (once it is shown)."""

    _jt_records: list = []
    _jt_poller: threading.Thread | None = None

    def _repr_mimebundle_(self, include=None, exclude=None, validate=True, **kwargs):
        bundle = with_static_view(
            super()._repr_mimebundle_(include, exclude, validate, **kwargs),
            self.summary_text(),
            self.summary_html(),
        )
        if any(r["status"] == "RUNNING" for r in self._jt_records):
            self._start_polling()
        return bundle

    def _start_polling(self) -> None:
        if self._jt_poller is not None and self._jt_poller.is_alive():
            return
        self._jt_stop = threading.Event()
        self._jt_poller = threading.Thread(
            target=_poll,
            args=(weakref.ref(self), self._jt_stop),
            daemon=True,
            name="jupyter-tracker-curves",
        )
        self._jt_poller.start()

    def close(self) -> None:
        """Stop the live updates and close the widget."""
        stop = getattr(self, "_jt_stop", None)
        if stop is not None:
            stop.set()
        super().close()


def _poll(ref: weakref.ref, stop: threading.Event) -> None:
    """Extend a live figure's curves until none of its runs runs (or it closes)."""
    while not stop.wait(curves.POLL_INTERVAL_S):
        fig = ref()
        if fig is None or fig.comm is None:
            return
        try:
            running = curves.refresh(fig)
        except Exception:  # the store went away: stop quietly
            running = False
        del fig
        if not running:
            return


class StaticCurves(_Summary, go.Figure):
    """``jt.plot``'s figure for finished runs: Plotly JSON for notebooks (no script carried),
    static SVG as the HTML fallback, text for terminals."""

    def _ipython_display_(self):
        raise NotImplementedError  # IPython then uses _repr_mimebundle_

    def _repr_mimebundle_(self, include=None, exclude=None, validate=True, **kwargs):
        return {
            "text/plain": self.summary_text(),
            "text/html": self.summary_html(),
            "application/vnd.plotly.v1+json": plotly_json(self),
        }
