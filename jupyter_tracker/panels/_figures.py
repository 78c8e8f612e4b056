"""The figure classes ``jt.plot`` returns (this module imports plotly: load it lazily)."""

from __future__ import annotations

import plotly.graph_objects as go

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
    """``jt.plot``'s figure in a notebook: a FigureWidget with a static HTML fallback."""

    def _repr_mimebundle_(self, include=None, exclude=None, validate=True, **kwargs):
        bundle = super()._repr_mimebundle_(include, exclude, validate, **kwargs)
        bundle["text/plain"] = self.summary_text()
        bundle["text/html"] = self.summary_html()
        return bundle


class StaticCurves(_Summary, go.Figure):
    """``jt.plot``'s figure outside a notebook: a Figure that a terminal shows as text."""

    def _ipython_display_(self):
        raise NotImplementedError  # IPython then uses _repr_mimebundle_

    def _repr_mimebundle_(self, include=None, exclude=None, validate=True, **kwargs):
        return {
            "text/plain": self.summary_text(),
            "text/html": self.summary_html(),
            "application/vnd.plotly.v1+json": plotly_json(self),
        }
