"""Where the cell being run lives: the notebook's path and the cell's id, from what the
frontend and the kernel share. The shell is duck-typed (anything with ``user_ns`` and
``kernel``), so nothing here imports IPython.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def _parent_message(shell) -> dict:
    """The execute_request being handled, from ipykernel (>= 6 or older), else {}."""
    kernel = getattr(shell, "kernel", None)
    parent = None
    get_parent = getattr(kernel, "get_parent", None)
    try:
        if callable(get_parent):  # ipykernel >= 6
            parent = get_parent("shell")
        elif kernel is not None:  # older ipykernel keeps the whole message here
            parent = getattr(kernel, "_parent_header", None)
    except Exception:
        parent = None
    if not (isinstance(parent, Mapping) and parent):
        parent = getattr(shell, "parent_header", None)  # a header, or a message in some shells
    return dict(parent) if isinstance(parent, Mapping) else {}


def notebook_location(shell) -> dict:
    """Best-effort notebook path and cell id of the cell being run.

    Returns ``{"notebook": path or None, "cell_id": id or None, "how": sentence}``. The path
    comes from VS Code's ``__vsc_ipynb_file__`` in the user namespace, else from
    ``JPY_SESSION_NAME`` (set by jupyter_server for the kernels it starts; ipykernel copies it
    to ``__session__``), made absolute against the kernel's folder when it names a file there.
    The cell id comes from the execute request's metadata (``cellId``, sent by JupyterLab,
    Notebook 7 and VS Code).
    """
    user_ns = getattr(shell, "user_ns", None) or {}
    notebook, how = None, []
    vscode = user_ns.get("__vsc_ipynb_file__")
    session = os.environ.get("JPY_SESSION_NAME") or user_ns.get("__session__")
    if isinstance(vscode, str) and vscode:
        notebook = vscode
        how.append("notebook path from VS Code (__vsc_ipynb_file__)")
    elif isinstance(session, str) and session:
        notebook = session
        if not os.path.isabs(session):
            here = Path.cwd() / Path(session).name
            if here.is_file():
                notebook = str(here)
        how.append("notebook path from the Jupyter session (JPY_SESSION_NAME)")
    else:
        how.append("notebook path unknown (the frontend did not share it)")
    metadata = _parent_message(shell).get("metadata")
    cell_id = metadata.get("cellId") if isinstance(metadata, Mapping) else None
    if isinstance(cell_id, str) and cell_id:
        how.append("cell id from the execute request's metadata")
    else:
        cell_id = None
        how.append("cell id unknown (the frontend did not send one)")
    return {"notebook": notebook, "cell_id": cell_id, "how": "; ".join(how) + "."}
