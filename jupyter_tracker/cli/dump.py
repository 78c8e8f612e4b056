"""`dump DIR --format parquet|csv|json`: the runs as tables any tool reads."""

from __future__ import annotations

import argparse

from ..dump import FORMATS
from ..render.formats import terminal_text
from ._store import open_store


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add `dump` to the command line."""
    p = commands.add_parser(
        "dump",
        parents=[common],
        help="write runs, params, metrics, tags and artifacts as Parquet, CSV or JSON tables",
        description="Write runs.<format>, params.<format>, metrics.<format> (every point), "
        "tags.<format> and artifacts.<format> into DIR (created; those files replaced).",
    )
    p.add_argument("directory", metavar="DIR", help="where the tables go")
    p.add_argument("--format", choices=FORMATS, default="csv", help="default: csv")
    p.add_argument("--filter", "-f", metavar="F", help="only runs matching this filter")
    p.add_argument("--experiment", "-e", metavar="E", help="only runs of this experiment")
    p.set_defaults(func=cmd_dump)


def cmd_dump(args: argparse.Namespace) -> int:
    """`dump`: write the tables; one line saying what was written."""
    from ..dump import dump

    report = dump(open_store(args.store), args.directory, args.format, args.filter, args.experiment)
    print(terminal_text(report.summary()))
    return 0
