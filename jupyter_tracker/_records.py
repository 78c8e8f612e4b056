"""TEMPORARY during the issue-7 move: re-exports of store.queries (deleted before commit of the layout)."""
# ruff: noqa
from .store.queries import *  # noqa
from .store.queries import _matching, _in_chunks, _for_runs, _nan  # noqa
from .model import json_ready, RUN_COLUMNS  # noqa
from .dataframes import runs_frame as to_frame  # noqa
