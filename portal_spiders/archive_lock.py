"""Scrapy extension: hold the archive's crawl lock (``<ARCHIVE_DB>.lock``) for the whole crawl.

It runs when the crawler is built, before the engine opens, so a second ``scrapy crawl`` on a locked archive
stops at once with the lock file and the holder's pid in the log, and exits with status 1 (Scrapy's
bootstrap failure). ``govarchive crawl``/``demo`` hold the lock already; in their process it is re-entered.
A bare ``scrapy crawl`` also opens the archive once here, so a ``--db`` that is some other SQLite file is refused
before any request (``govarchive crawl``/``demo`` checked it already, before taking the lock).
"""

from __future__ import annotations

import logging

from scrapy import signals
from scrapy.crawler import Crawler

from govarchive.archive import Archive, ArchiveError
from govarchive.locking import ArchiveLocked, acquire_lock, holds_lock, release_lock

logger = logging.getLogger(__name__)


class ArchiveLockExtension:
    """Take the lock at start-up, give it back when the engine stops."""

    def __init__(self, db: str) -> None:
        self.db = db
        self.held = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchiveLockExtension:
        """Acquire the lock or stop the crawl with :class:`ArchiveLocked`."""
        ext = cls(crawler.settings.get("ARCHIVE_DB"))
        checked = holds_lock(ext.db)  # re-entered: the command that took the lock opened the archive already
        try:
            acquire_lock(ext.db)
        except (ArchiveLocked, ArchiveError) as exc:
            logger.error("%s", exc)
            raise
        ext.held = True
        if checked:
            crawler.signals.connect(ext.engine_stopped, signal=signals.engine_stopped)
            return ext
        try:
            Archive(ext.db).close()  # creates a new archive; refuses a file that is not one
        except ArchiveError as exc:
            logger.error("%s", exc)
            ext.engine_stopped()
            raise
        crawler.signals.connect(ext.engine_stopped, signal=signals.engine_stopped)
        return ext

    def engine_stopped(self) -> None:
        """Release the lock (once)."""
        if self.held:
            release_lock(self.db)
            self.held = False
