"""`push` and `import`: runs copied to an MLflow tracking server (once, or live with
`--watch`) and brought in from one, or from an MLflow database or mlruns folder."""

from __future__ import annotations

import argparse
import os
import sys

from ..render.formats import terminal_text
from ..store import Store
from ._store import locate_store, open_store

TRACKING_URI_VAR = "MLFLOW_TRACKING_URI"  # MLflow's own variable, the default URI


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add `push` and `import` to the command line."""
    default_uri = os.environ.get(TRACKING_URI_VAR) or None
    p = commands.add_parser(
        "push",
        parents=[common],
        help="copy runs into an MLflow tracking server (only what it lacks)",
        description="Copy runs (all, an experiment's, or RUN_IDs with their parents) into an "
        "MLflow tracking server, each into the experiment of the same name: params, metric "
        "histories, tags, artifacts, source and capture report, parent links, status and "
        "times. Only what the server lacks is sent; an interrupted push resumes.",
    )
    p.add_argument("--to", choices=["mlflow"], default="mlflow", help="the kind of server")
    p.add_argument(
        "--tracking-uri",
        metavar="URI",
        default=default_uri,
        required=default_uri is None,
        help=f"the server, e.g. http://127.0.0.1:5000 (default: ${TRACKING_URI_VAR})",
    )
    p.add_argument("--experiment", "-e", metavar="E", help="only runs of this experiment")
    p.add_argument(
        "--watch",
        action="store_true",
        help="keep pushing what is new until Ctrl-C (runs appear on the server while they run)",
    )
    p.add_argument(
        "--interval", type=float, default=3.0, metavar="S", help="seconds between --watch rounds"
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.add_argument("run_ids", metavar="RUN_ID", nargs="*", help="runs (ids or unique prefixes)")
    p.set_defaults(func=cmd_push)

    p = commands.add_parser(
        "import",
        parents=[common],
        help="bring runs in from an MLflow server, database or mlruns folder",
        description="Bring the ended runs of an MLflow tracking server (http://...), an MLflow "
        "database (sqlite:///path) or an mlruns folder into the store, each into the "
        "experiment of the same name, with params, metric histories, tags, artifacts, parent "
        "links, status and times. Importing again adds only what is new.",
    )
    p.add_argument("--from", dest="source", choices=["mlflow"], default="mlflow")
    p.add_argument(
        "--tracking-uri",
        metavar="URI",
        default=default_uri,
        required=default_uri is None,
        help=f"http(s)://..., sqlite:///path or an mlruns folder (default: ${TRACKING_URI_VAR})",
    )
    p.add_argument("--experiment", "-e", metavar="E", help="only runs of this experiment")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_import)


def _say(lines: list[str]) -> None:
    for line in lines:
        print(terminal_text(line), file=sys.stderr)


def cmd_push(args: argparse.Namespace) -> int:
    """`push`: copy runs into the server; one line saying what went."""
    from ..mlflow_sync.push import push

    store = open_store(args.store)
    run_ids = args.run_ids or None
    if args.watch:
        from ..mirror import watch

        print(
            terminal_text(
                f"Pushing what is new to {args.tracking_uri} every "
                f"{args.interval:g} s; Ctrl-C stops."
            ),
            file=sys.stderr,
        )
        watch(
            store,
            args.tracking_uri,
            run_ids,
            args.experiment,
            interval=args.interval,
            on_report=lambda report: print(terminal_text(report.summary()), flush=True),
        )
        return 0
    report = push(store, args.tracking_uri, run_ids, args.experiment, progress=not args.quiet)
    _say(report.notes)
    print(terminal_text(report.summary()))
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    """`import`: bring runs in (creating the store if there is none); one line."""
    from ..mlflow_sync.importer import import_runs

    store = Store.open(locate_store(args.store)[0])
    report = import_runs(store, args.tracking_uri, args.experiment, progress=not args.quiet)
    _say(report.notes)
    print(terminal_text(report.summary()))
    return 0
