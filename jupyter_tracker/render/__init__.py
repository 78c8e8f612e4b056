"""How every view shows a run: escaping, text formats, colours, shared HTML pieces, charts, diffs.

Panels, the run card, the magics and the CLI all render through here, so a change to how a
number, a status or a user string looks is made once. This package imports only the
standard library and ``jupyter_tracker.model`` (no IPython, pandas or plotly).
"""
