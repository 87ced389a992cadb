"""Per-portal log counts: ``log_count/ERROR`` and friends belong to the portal that logged them.

Scrapy's ``LogCount`` extension puts one counting handler per crawler on the root logger, so when ``govarchive
crawl`` runs several portals in one process every crawler counts every portal's log records: one broken portal
made every healthy one fail spidermon's error-count check. :class:`PortalLogCount` replaces it (setting
``EXTENSIONS``) and counts a record for a crawler only when the record is that crawler's: Scrapy tags its
records with ``extra={"spider": ...}`` or ``{"crawler": ...}``, and so does ``Spider.logger``. A record tagged
with neither (Twisted, asyncio, module loggers) is the crawler's when it is the only one open in the process;
with several open it is counted as ``govarchive/log_count_shared/<LEVEL>`` in each, for the record, and not held
against any portal.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy.crawler import Crawler
from scrapy.extensions.logcount import LogCount

_OPEN: set[Crawler] = set()  # crawlers of this process with an open spider


class PortalLogCounter(logging.Handler):
    """Count the records that belong to one crawler (see the module docstring)."""

    def __init__(self, crawler: Crawler, level: int | str = logging.NOTSET) -> None:
        super().__init__(level)
        self.crawler = crawler

    def owns(self, record: logging.LogRecord) -> bool | None:
        """True: this crawler's record; False: another crawler's; None: nobody's (shared)."""
        spider: Any = getattr(record, "spider", None)
        if spider is not None:
            return getattr(spider, "crawler", None) is self.crawler or spider is self.crawler.spider
        crawler = getattr(record, "crawler", None)
        if crawler is not None:
            return crawler is self.crawler
        return True if len(_OPEN) <= 1 else None

    def emit(self, record: logging.LogRecord) -> None:
        """Count the record under ``log_count/<LEVEL>`` if it is this crawler's."""
        if self.crawler.stats is None:
            return
        mine = self.owns(record)
        if mine:
            self.crawler.stats.inc_value(f"log_count/{record.levelname}")
        elif mine is None:
            self.crawler.stats.inc_value(f"govarchive/log_count_shared/{record.levelname}")


class PortalLogCount(LogCount):
    """Scrapy's ``LogCount`` with per-crawler attribution (:class:`PortalLogCounter`)."""

    def spider_opened(self, spider: Any) -> None:
        """Install this crawler's counting handler."""
        self.handler = PortalLogCounter(self.crawler, level=self.crawler.settings.get("LOG_LEVEL"))  # type: ignore[assignment]
        logging.root.addHandler(self.handler)
        _OPEN.add(self.crawler)

    def spider_closed(self, spider: Any, reason: str) -> None:
        """Remove it."""
        super().spider_closed(spider, reason)
        _OPEN.discard(self.crawler)
