"""The ``govarchive`` command line.

Each sub-command is one module in :mod:`govarchive.commands` exposing ``register(subparsers)``; modules are
discovered, so adding a command touches no shared file. Command modules import heavy dependencies (Scrapy,
Datasette) inside their ``run`` function, so query commands never load the crawler.

Bad input and failures never show a traceback: :func:`main` turns them into one line on stderr and the exit codes
of :mod:`govarchive.checks` (0 ok, 1 problem found, 2 cannot do the job, 3 locked, 4 network down, 70 a bug,
130 interrupted). ``GOVARCHIVE_DEBUG=1`` shows the traceback of a bug.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sqlite3
import sys
from collections.abc import Sequence
from typing import NoReturn

from govarchive import __version__
from govarchive.archive import ArchiveError, describe_write_error, is_write_failure
from govarchive.checks import (
    EXIT_ERROR,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    BadInput,
    check_archive_path,
    check_text,
    first_line,
)
from govarchive.paths import default_path

DEFAULT_DB = "data/archive.db"
DEMO_DB = "data/demo.db"  # what `govarchive demo` / `make demo` writes


def default_db() -> str:
    """The archive path used when ``--db`` is not given: ``$GOVARCHIVE_DB``, else ``data/archive.db`` of the
    project (the directory of ``scrapy.cfg`` at or above the working directory), else of the working directory."""
    return os.environ.get("GOVARCHIVE_DB") or default_path(DEFAULT_DB)


class ArgumentParser(argparse.ArgumentParser):
    """argparse with one-line errors: ``govarchive crawl: error: ... (see govarchive crawl --help)``."""

    def error(self, message: str) -> NoReturn:
        """Print one line and exit with code 2."""
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


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
    parser = ArgumentParser(
        prog="govarchive",
        description="Scrape and archive Vietnamese government news portals into SQLite.",
        epilog="exit codes: 0 ok; 1 a problem was found (a portal failed, unhealthy, no such article); 2 could not "
               "do the job (bad input, unusable archive or output); 3 archive locked by another crawl; 4 network "
               "down; 70 internal error (a bug); 130 interrupted. See docs/operations.md.",
    )
    parser.add_argument("--version", action="version", version=f"govarchive {__version__}")
    db = parser.add_argument("--db", default=None, metavar="PATH")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    import govarchive.commands as commands

    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"govarchive.commands.{info.name}")
        module.register(subparsers)
    db.help = db_help(subparsers.choices)
    return parser


def db_help(commands: dict[str, argparse.ArgumentParser]) -> str:
    """The top-level ``--db`` help: how :func:`main` resolves the archive, naming the commands each rule covers."""
    readers = sorted(name for name, sub in commands.items() if sub.get_default("reads_archive"))
    own = sorted((name, sub.get_default("default_db")) for name, sub in commands.items()
                 if sub.get_default("default_db"))
    text = f"archive database: this option, else $GOVARCHIVE_DB, else {DEFAULT_DB}"
    for name, path in own:
        text += f"; `{name}` ignores $GOVARCHIVE_DB and uses {path} unless --db is given"
    if readers:
        text += (f"; {', '.join(readers)} read {DEMO_DB} instead when the archive resolved is {DEFAULT_DB}, "
                 f"it does not exist and {DEMO_DB} does (they say so on stderr)")
    return text


def _fail(prog: str, message: str, code: int = EXIT_ERROR) -> int:
    print(f"{prog}: error: {message}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``govarchive`` console script; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        for arg in argv:
            check_text(arg, "argument")
    except BadInput as exc:
        return _fail("govarchive", str(exc))
    parser = build_parser()
    args = parser.parse_args(argv)
    prog = "govarchive"  # commands that print their own errors name themselves (``govarchive crawl: error: ...``)
    if getattr(args, "db", None) is None:
        # A command may declare its own default archive, which wins over $GOVARCHIVE_DB: ``demo`` writes
        # data/demo.db, never the (possibly real) archive the environment names. Defaults are the project's
        # (govarchive/paths.py), also from a subdirectory.
        own = getattr(args, "default_db", None)
        env_db = os.environ.get("GOVARCHIVE_DB")
        args.db = default_path(own) if own else env_db or default_path(DEFAULT_DB)
        args.db_is_default = bool(own) or not env_db
        demo = default_path(DEMO_DB)
        if (args.db == default_path(DEFAULT_DB) and getattr(args, "reads_archive", False)
                and not os.path.exists(args.db) and os.path.exists(demo)):
            # a newcomer after `make demo`: query the demo archive rather than fail on the missing real one
            print(f"govarchive: {args.db} does not exist yet; reading the demo archive {demo} "
                  "(--db chooses another)", file=sys.stderr)
            args.db = demo
    try:
        if os.path.isdir(args.db):  # every command: a directory is never an archive
            check_archive_path(args.db, create=False)
        return int(args.func(args) or 0)
    except (BadInput, ArchiveError) as exc:
        return _fail(prog, str(exc))
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `govarchive export | head` closes the pipe early; that is not an error.
        _silence_stdout()
        return 0
    except sqlite3.DatabaseError as exc:
        if is_write_failure(exc) and not str(getattr(exc, "sqlite_errorname", "")).startswith("SQLITE_CORRUPT"):
            # a full disk or a file size limit while the archive is created or opened is not damage
            return _fail(prog, f"the archive {args.db} cannot be written: {describe_write_error(exc)}")
        return _fail(prog, f"the archive {args.db} cannot be read ({first_line(exc)}); it may be damaged: "
                           f"check it with `sqlite3 {args.db} 'pragma integrity_check'` and restore a backup")
    except OSError as exc:
        return _fail(prog, first_line(exc))
    except Exception as exc:
        from portal_spiders.registry import RegistryError

        if isinstance(exc, RegistryError):
            return _fail(prog, str(exc))
        if os.environ.get("GOVARCHIVE_DEBUG"):
            raise
        return _fail(prog, f"internal error: {type(exc).__name__}: {first_line(exc)} (a bug: run again with "
                           "GOVARCHIVE_DEBUG=1 for the traceback and report it)", EXIT_INTERNAL)


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so Python's exit flush does not complain."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
