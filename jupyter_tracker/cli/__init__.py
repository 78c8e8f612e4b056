"""The ``jupyter-tracker`` command (also ``jupyter tracker``): a thin shell over the library.

``main`` parses the command line and turns errors into exit codes: 0 ok; 1 a user error
(unknown run, bad filter, a store from a newer version, an unreadable store) as one line on
stderr; 2 a usage error (argparse's). Each command group lives in its own module (``runs``,
``export``, ``maintenance``: gc and doctor, ``sync``: push and import, ``dump``), parses its
input, calls the library and prints
with ``render.formats``. Nothing here imports pandas, so the command starts fast.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys

from .._version import __version__
from ..errors import FilterError, TrackerError
from ..store._location import ENV_VAR, STORE_DIRNAME
from . import dump, export, maintenance, runs, sync
from ._store import PROG, locate_store


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``jupyter-tracker``."""
    # --store works before or after the subcommand: subcommands leave it unset unless given.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--store", metavar="DIR", default=argparse.SUPPRESS, help="store directory")

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Inspect and maintain a jupyter-tracker store from the command line.",
        epilog=f"The store: --store DIR, else ${ENV_VAR}, else the nearest {STORE_DIRNAME}/ "
        "upwards, else one at the git repository root, else in the working directory.",
    )
    parser.add_argument(
        "--store",
        metavar="DIR",
        default=None,
        help=f"store directory (default: ${ENV_VAR} or the nearest {STORE_DIRNAME}/)",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    runs.register(commands, common)
    export.register(commands, common)
    maintenance.register(commands, common)
    sync.register(commands, common)
    dump.register(commands, common)
    return parser


def _one_line(exc: Exception) -> str:
    if isinstance(exc, FilterError):
        first = str(exc).splitlines()[0].rstrip(":")
        near = exc.text[exc.position : exc.position + 30]
        return f"{first}, near {near!r}" if near else f"{first} (its end)"
    return " ".join(str(exc).split())


def main(argv: list[str] | None = None) -> int:
    """Run ``jupyter-tracker`` with ``argv`` (default: the command line); the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors (2)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    try:
        return args.func(args)
    except TrackerError as exc:
        print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):  # e.g. `jupyter-tracker runs list | head`
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
            return 0
        print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except sqlite3.OperationalError as exc:  # read-only folder, full disk, no permission
        print(
            f"{PROG}: error: cannot use the store at {locate_store(args.store)[0]}: {exc} "
            "(check the folder's permissions and free space).",
            file=sys.stderr,
        )
        return 1
    except sqlite3.DatabaseError as exc:
        print(
            f"{PROG}: error: the store's database is unreadable ({exc}); run `{PROG} doctor`.",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        return 130
