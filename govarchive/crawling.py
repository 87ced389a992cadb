"""Run portal spiders in one process (Scrapy ``CrawlerProcess``): shared by ``govarchive demo`` and ``crawl``."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings
from scrapy.utils.project import get_project_settings


def project_settings(overrides: dict[str, Any] | None = None) -> Settings:
    """The project's Scrapy settings (``portal_spiders.settings``) with ``overrides`` applied."""
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "portal_spiders.settings")
    settings = get_project_settings()
    for key, value in (overrides or {}).items():
        settings.set(key, value, priority="cmdline")
    return settings


def run_spiders(slugs: Iterable[str], settings: Settings) -> dict[str, dict[str, Any]]:
    """Crawl the given portals concurrently in this process; returns each crawler's final stats."""
    from portal_spiders.spiders.portals import SPIDERS

    process = CrawlerProcess(settings)
    crawlers = {}
    for slug in slugs:
        crawler = process.create_crawler(SPIDERS[slug])
        crawlers[slug] = crawler
        process.crawl(crawler)
    process.start()
    return {slug: dict(crawler.stats.get_stats()) if crawler.stats else {} for slug, crawler in crawlers.items()}
