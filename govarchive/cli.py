"""The ``govarchive`` command line.

Each sub-command is one module in :mod:`govarchive.commands` exposing ``register(subparsers)``; modules are
discovered, so adding a command touches no shared file. Command modules import heavy dependencies (Scrapy,
Datasette) inside their ``run`` function, so query commands never load the crawler.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from collections.abc import Sequence

from govarchive import __version__
from govarchive.archive import ArchiveError

DEFAULT_DB = "data/archive.db"


def default_db() -> str:
    """The archive path used when ``--db`` is not given: ``$GOVARCHIVE_DB`` or ``data/archive.db``."""
    return os.environ.get("GOVARCHIVE_DB", DEFAULT_DB)


def add_db_argument(parser: argparse.ArgumentParser, *, default: str | None = None, help: str | None = None) -> None:
    """Add the shared ``--db PATH`` option to a sub-command (it also works before the sub-command)."""
    parser.add_argument(
        "--db",
        default=argparse.SUPPRESS if default is None else default,
        metavar="PATH",
        help=help or f"archive database (default: $GOVARCHIVE_DB or {DEFAULT_DB})",
    )


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every discovered sub-command."""
    parser = argparse.ArgumentParser(
        prog="govarchive",
        description="Scrape and archive Vietnamese government news portals into SQLite.",
    )
    parser.add_argument("--version", action="version", version=f"govarchive {__version__}")
    parser.add_argument("--db", default=None, metavar="PATH",
                        help=f"archive database: this option, else $GOVARCHIVE_DB, else {DEFAULT_DB}; `demo` "
                             "ignores $GOVARCHIVE_DB and writes data/demo.db unless --db is given")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    import govarchive.commands as commands

    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"govarchive.commands.{info.name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``govarchive`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "db", None) is None:
        # A command may declare its own default archive, which wins over $GOVARCHIVE_DB: ``demo`` writes
        # data/demo.db, never the (possibly real) archive the environment names.
        args.db = getattr(args, "default_db", None) or os.environ.get("GOVARCHIVE_DB") or DEFAULT_DB
    try:
        return int(args.func(args) or 0)
    except ArchiveError as exc:  # a missing or non-archive --db: one clear line, exit 2
        print(f"govarchive: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `govarchive export | head` closes the pipe early; that is not an error.
        return 0


if __name__ == "__main__":
    sys.exit(main())
