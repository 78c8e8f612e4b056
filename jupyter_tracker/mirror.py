"""The live mirror: this process's runs copied to an MLflow tracking server while they run.

``start(uri)`` is what ``set_tracking_uri("http://...")`` calls: logging stays local and
fast, and one background thread pushes what is new every few seconds.
"""

from __future__ import annotations


def start(uri: str) -> None:
    """Mirror the runs this process logs (from now on) to the MLflow server at ``uri``."""
    raise NotImplementedError("the live mirror is being built (issue 12)")
