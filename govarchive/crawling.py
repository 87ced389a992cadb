"""Run portal spiders in one process (Scrapy ``CrawlerProcess``): shared by ``govarchive demo`` and ``crawl``."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
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


def run_spiders(slugs: Iterable[str], settings: Settings, *, spider_args: dict[str, str] | None = None,
                on_tick: Callable[[dict[str, dict[str, Any]]], None] | None = None,
                tick_seconds: float = 1.0) -> dict[str, dict[str, Any]]:
    """Crawl the given portals concurrently in this process; returns each crawler's final stats.

    ``spider_args`` go to every spider (like ``scrapy crawl -a``). ``on_tick`` is called on the reactor thread every
    ``tick_seconds`` with each portal's live stats (progress displays), and once more at the end.
    """
    from portal_spiders.spiders.portals import SPIDERS

    process = CrawlerProcess(settings)
    crawlers = {}
    for slug in slugs:
        crawler = process.create_crawler(SPIDERS[slug])
        crawlers[slug] = crawler
        process.crawl(crawler, **(spider_args or {}))

    def snapshot() -> dict[str, dict[str, Any]]:
        return {slug: dict(crawler.stats.get_stats()) if crawler.stats else {} for slug, crawler in crawlers.items()}

    if on_tick is not None:
        from twisted.internet.task import LoopingCall

        ticker = LoopingCall(lambda: on_tick(snapshot()))
        ticker.start(tick_seconds, now=False)
    process.start()
    final = snapshot()
    if on_tick is not None:
        on_tick(final)
    return final
