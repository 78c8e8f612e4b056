"""REST API over the store for the JupyterLab extension, behind Jupyter's authentication."""

from __future__ import annotations


def _jupyter_server_extension_points() -> list[dict]:
    return [{"module": "jupyter_tracker.server"}]


def _load_jupyter_server_extension(server_app) -> None:
    from .handlers import setup_handlers

    store_dir = setup_handlers(server_app.web_app, server_app.root_dir)
    server_app.log.info(
        "jupyter-tracker: serving the store %s under /jupyter-tracker/api/", store_dir
    )
