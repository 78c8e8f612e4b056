"""`export ID DIR`: a run as a project directory that re-runs outside Jupyter."""

from __future__ import annotations

import argparse
import sys

from ._store import open_store


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add `export` to the command line."""
    p = commands.add_parser(
        "export",
        parents=[common],
        help="write a run as a project directory (train.py, MLproject, ...)",
        description="Write a run as a project directory that re-runs outside Jupyter: "
        "train.py, MLproject, python_env.yaml, requirements.txt, params.yaml, metrics, "
        "artifacts, run.json, run.ipynb and README.md.",
    )
    p.add_argument("run_id", metavar="ID", help="a run id or a unique prefix of one")
    p.add_argument(
        "directory", metavar="DIR", help="new or empty (or an earlier export of the run)"
    )
    p.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    """`export ID DIR`: write the run as a project directory, progress on stderr."""
    from ..export import export_run

    store = open_store(args.store)
    done = export_run(store, args.run_id, args.directory, lambda line: print(line, file=sys.stderr))
    print(done.summary())
    return 0
