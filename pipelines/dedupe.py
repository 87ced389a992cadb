"""Dedupe: one item per canonical URL per run, and the content hash the archive versions on.

Across runs, identity and versioning live in the archive (same URL + same hash: unchanged; new hash: a new
version). Titles are never used for identity: recurring meetings reuse their titles every quarter.
"""

from __future__ import annotations

from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from portal_spiders.items import ArticleItem
from portal_spiders.text import content_hash


def article_hash(item: ArticleItem) -> str:
    """Content hash over the normalized title and body (plus the fields a reader would see change)."""
    return content_hash(item.title, item.summary, item.body_text, item.author, item.published,
                        "|".join(item.tags), "|".join(a["url"] for a in item.attachments))


class DedupePipeline:
    """Drop a second copy of the same canonical URL within one run; attach ``content_hash``."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.seen: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DedupePipeline:
        """Scrapy factory."""
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        """Return the item, or raise ``DropItem`` for an in-run duplicate (counted in stats)."""
        if not isinstance(item, ArticleItem):
            return item
        if item.url in self.seen:
            self.crawler.stats.inc_value("govarchive/duplicates_in_run")
            raise DropItem(f"duplicate in this run: {item.url}")
        self.seen.add(item.url)
        item.content_hash = article_hash(item)
        return item
