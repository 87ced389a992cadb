"""A listing page that yields a handful of article links where the page shows dozens is a missed listing zone (the
platform read a sidebar or a featured box instead of the list): the spider counts it and ``health`` flags the run.

Kept apart from the "page 1 only while a pager shows" check (issue 10) so both merge without touching each other.
"""

from __future__ import annotations

import datetime as dt
import json

from scrapy import Request
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from govarchive.commands.health import assess
from portal_spiders.platforms import ListingEntry, get_platform
from portal_spiders.platforms.base import ListingPage, sparse_listing

ZONE = "https://baochinhphu.vn/chi-dao-quyet-dinh-cua-chinh-phu-thu-tuong-chinh-phu.htm"


def _page(entries: int, links: int) -> ListingPage:
    return ListingPage(entries=[ListingEntry(url=f"https://x.vn/a-{i}.htm") for i in range(entries)],
                       article_links=links)


def test_sparse_means_a_handful_of_dozens() -> None:
    assert sparse_listing(_page(3, 40))
    assert sparse_listing(_page(0, 12))
    assert not sparse_listing(_page(20, 24))  # most links read: the rest are a sidebar
    assert not sparse_listing(_page(2, 8))  # a short page: too few links to judge
    assert not sparse_listing(_page(10, 0))


def _moved_layout() -> HtmlResponse:
    """A VCCorp zone page whose list moved to unknown markup: only the 3-item featured stream still matches."""
    def link(i: int) -> str:
        return f'<a href="/bai-viet-so-{i}-102260301080000{i:03d}.htm">Bài viết số {i}</a>'
    stream = "".join(f'<div class="box-stream-item"><a class="box-stream-link-title" '
                     f'href="/noi-bat-{i}-102260301090000{i:03d}.htm">Nổi bật {i}</a></div>' for i in range(3))
    moved = "".join(f'<article class="new-layout-item"><h3>{link(i)}</h3></article>' for i in range(10, 40))
    body = (f'<html><body><div class="box-stream">{stream}</div>'
            f'<section class="new-layout">{moved}</section></body></html>')
    return HtmlResponse(url=ZONE, body=body.encode(), encoding="utf-8", request=Request(ZONE))


def test_platform_reports_the_links_it_saw_and_missed() -> None:
    listing = get_platform("vccorp")().parse_listing(_moved_layout())
    assert len(listing.entries) == 3 and listing.article_links == 33
    assert sparse_listing(listing)


def test_spider_counts_sparse_listing_pages() -> None:
    from portal_spiders.spiders.portals import SPIDERS

    spidercls = SPIDERS["baochinhphu"]
    crawler = get_crawler(spidercls, {})
    spider = spidercls.from_crawler(crawler)
    crawler.stats.open_spider()
    response = _moved_layout()
    response.meta["page"] = 1
    list(spider.parse_listing(response))
    stats = crawler.stats.get_stats()
    assert stats["govarchive/listing_sparse"] == 1
    assert stats["govarchive/listing_sparse_example"] == f"{ZONE}: 3 of 33 links"


def test_health_flags_a_run_with_sparse_listings() -> None:
    now = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
    run = {"id": 1, "portal": "p", "started_at": now.isoformat(), "finish_reason": "finished", "items_new": 3,
           "items_updated": 0, "items_unchanged": 0, "items_failed": 0,
           "coverage": json.dumps({"title": 1.0, "published": 1.0, "body_text": 1.0}), "monitor_results": None}
    assert assess(run, [], now=now, stale_days=2).ok
    sparse = dict(run, stats=json.dumps({"govarchive/listing_sparse": 2,
                                         "govarchive/listing_sparse_example": f"{ZONE}: 3 of 33 links"}))
    report = assess(sparse, [], now=now, stale_days=2)
    assert report.problems == [f"2 listing page(s) found a handful of the article links they show "
                               f"(e.g. {ZONE}: 3 of 33 links): listing zone missed?"]
