"""`export ID DIR [--verify] [--force]`: a run as a project directory that re-runs outside
Jupyter, optionally re-run to prove it reproduces the run."""

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
    p.add_argument(
        "--verify",
        action="store_true",
        help="then re-run train.py in a fresh process against a scratch store and compare "
        "its params and final metrics with the run's (exit status 1 unless reproduced)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="re-export over files changed since the last export, keeping each as <name>.orig",
    )
    p.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    """`export ID DIR`: write the run as a project directory, progress on stderr; with
    `--verify`, 0 only when the re-run reproduced the run."""
    from ..export import export_run

    store = open_store(args.store)
    done = export_run(
        store,
        args.run_id,
        args.directory,
        lambda line: print(line, file=sys.stderr),
        verify=args.verify,
        force=args.force,
    )
    print(done.summary())
    return 0 if done.verdict is None or done.verdict["outcome"] == "reproduced" else 1
