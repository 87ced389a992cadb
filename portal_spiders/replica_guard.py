"""Scrapy extension: say loudly that a crawl goes to a replica, and never mix replica and real runs in an archive.

Replica pages are served under the real portals' URLs, so replica articles in an archive of real crawls would
pass for archived articles, and incremental crawls would skip the real ones. At start-up, before any request,
the extension logs :func:`portal_spiders.routing.replica_warning` when ``REPLICA_URL`` is set, and checks the
archive (:meth:`govarchive.archive.Archive.check_run_origin`): a crawl that would mix stops there, with the
reason in the log, like a crawl of a locked archive. The store pipeline records each run's kind in
``crawl_runs.replica``.
"""

from __future__ import annotations

import logging
from pathlib import Path

from scrapy.crawler import Crawler

from govarchive.archive import Archive, ReplicaMixError
from portal_spiders.routing import replica_target, replica_warning

logger = logging.getLogger(__name__)
STORE_PIPELINE = "pipelines.store.StorePipeline"
_warned: set[str] = set()  # one warning per replica URL and process (govarchive crawl runs many crawlers)


class ReplicaGuardExtension:
    """Warn about replica crawls; stop a crawl whose kind (replica or real) differs from the archive's runs."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ReplicaGuardExtension:
        """Log the replica warning, then check the archive or raise :class:`ReplicaMixError`."""
        target = replica_target(crawler.settings)
        if target is not None and target[0] not in _warned:
            _warned.add(target[0])
            logger.warning("%s", replica_warning(*target))
        db = crawler.settings.get("ARCHIVE_DB")
        stores = crawler.settings.getdict("ITEM_PIPELINES").get(STORE_PIPELINE) is not None
        if stores and db and Path(db).exists():
            with Archive(db) as archive:
                try:
                    archive.check_run_origin(replica=target is not None)
                except ReplicaMixError as exc:
                    logger.error("%s", exc)
                    raise
        return cls()
