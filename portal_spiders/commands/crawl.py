"""``scrapy crawl <portal>`` with the project's checks: every bad input is one line, never a traceback.

Scrapy's own command lets a bad ``-a since=...`` or ``-s DOWNLOAD_DELAY=abc`` blow up inside the crawl (tracebacks,
then a run that "finished"). This subclass checks, before Scrapy builds anything: the log level and log file, the
``-s`` settings (:func:`govarchive.checks.check_scrapy_settings`), the spider arguments
(:mod:`portal_spiders.spider_args`), the portal's name, the archive path, whether it would mix replica and
real runs, and its lock. Exit codes as
``govarchive crawl``: 2 bad input, 3 archive locked; otherwise Scrapy's (0, or 1 when the crawl could not start).
"""

from __future__ import annotations

import argparse
import os
import sys

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.exceptions import UsageError
from scrapy.utils.conf import arglist_to_dict

from govarchive.archive import Archive, ArchiveError
from govarchive.checks import (
    EXIT_ERROR,
    EXIT_LOCKED,
    BadInput,
    check_archive_path,
    check_log_file,
    check_scrapy_settings,
    first_line,
)
from govarchive.locking import ArchiveLocked, acquire_lock, release_lock
from portal_spiders.registry import RegistryError, default_registry
from portal_spiders.routing import replica_target
from portal_spiders.spider_args import parse_spider_args


def _fail(message: str, code: int = EXIT_ERROR) -> None:
    sys.stderr.write(f"scrapy crawl: error: {message}\n")
    raise SystemExit(code)


class Command(ScrapyCrawlCommand):
    """Scrapy's ``crawl``, checking its input first."""

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        """Scrapy's option handling, then the project's checks (before Scrapy configures logging)."""
        try:
            super().process_options(args, opts)
        except (ValueError, UsageError) as exc:  # -s DOWNLOAD_SLOTS='{': Scrapy parses dict settings right away
            _fail(f"{first_line(exc)} (a -s or -a value is malformed)")
        assert self.settings is not None
        try:
            overrides = arglist_to_dict(opts.set)
            if self.settings.get("LOG_FILE"):
                check_log_file(self.settings["LOG_FILE"])
            check_scrapy_settings(self.settings, overrides)
            parse_spider_args(opts.spargs)
            if len(args) != 1:
                raise BadInput("name one portal: scrapy crawl <portal> (see `scrapy list`)")
            if args[0] not in default_registry():
                raise BadInput(f"unknown portal {args[0]!r} (see `scrapy list`)")
            if self.settings.get("GOVARCHIVE_CLUSTER"):  # a cluster worker: the archiver checks and locks the archive
                return
            default = "ARCHIVE_DB" not in overrides and not os.environ.get("GOVARCHIVE_DB")
            db = check_archive_path(self.settings["ARCHIVE_DB"], create=True, default=default, what="ARCHIVE_DB")
            if db.exists() and db.stat().st_size:  # replica and real runs never share an archive
                with Archive(db) as archive:
                    archive.check_run_origin(replica=replica_target(self.settings) is not None)
        except (BadInput, RegistryError, ArchiveError) as exc:
            _fail(str(exc))
        try:  # held until run() ends; the lock extension re-enters it for the crawl
            acquire_lock(self.settings["ARCHIVE_DB"])
        except ArchiveLocked as exc:
            _fail(str(exc), EXIT_LOCKED)

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        """Crawl, then give the archive lock back."""
        assert self.settings is not None
        try:
            super().run(args, opts)
        finally:
            if not self.settings.get("GOVARCHIVE_CLUSTER"):
                release_lock(self.settings["ARCHIVE_DB"])
