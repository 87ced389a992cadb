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
    """Content hash over the article's text: title, lead (sapo) and body.

    Text is NFC-normalised and whitespace-collapsed first (:func:`portal_spiders.text.content_hash`), so a
    re-render with other spacing or decomposed diacritics is not a new version. Bylines, tags, dates and
    attachment URLs stay out: they carry the portal's host or house style, and the same text syndicated to
    another portal must hash the same to be linked through ``duplicate_of``.
    """
    return content_hash(item.title, item.summary, item.body_text)


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
