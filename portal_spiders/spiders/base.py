"""The one spider class behind every portal.

``portal_spiders.spiders.portals`` generates a subclass per registry entry, so ``scrapy list`` shows every
portal and ``scrapy crawl <slug>`` works. The spider only routes: listing pages, feeds, sitemaps and
SharePoint lists lead to article pages, and the platform parser (pure) turns pages into items. Everything
that goes wrong becomes a :class:`PageFailure` item, so the store records it instead of losing it.
"""

from __future__ import annotations

import traceback
from collections.abc import AsyncIterator, Iterator
from typing import Any, ClassVar

import scrapy
from scrapy.http import Response, TextResponse
from twisted.python.failure import Failure

from portal_spiders.discovery import parse_feed, parse_sharepoint_list, parse_sitemap
from portal_spiders.items import PageFailure
from portal_spiders.platforms import ExtractionError, ListingEntry, get_platform
from portal_spiders.platforms.base import Platform
from portal_spiders.registry import PortalConfig
from portal_spiders.urls import canonical_url


class PortalSpider(scrapy.Spider):
    """Crawl one portal from its registry entry.

    Spider arguments (``-a key=value``): ``max_pages`` (listing pages per start URL, default from the
    registry).
    """

    portal: ClassVar[PortalConfig]

    def __init__(self, *args: Any, max_pages: str | int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.platform: Platform = get_platform(self.portal.platform)(self.portal.selectors)
        self.max_pages = int(max_pages) if max_pages else self.portal.max_pages
        self.allowed_domains = [h.removeprefix("www.") for h in self.portal.hosts]
        self.seen_articles: set[str] = set()

    @classmethod
    def update_settings(cls, settings: Any) -> None:
        """Apply the registry's per-portal politeness on top of the project settings."""
        super().update_settings(settings)
        pol = cls.portal.politeness
        if "download_delay" in pol:
            settings.set("DOWNLOAD_DELAY", float(pol["download_delay"]), priority="spider")
        if "concurrency" in pol:
            settings.set("CONCURRENT_REQUESTS_PER_DOMAIN", int(pol["concurrency"]), priority="spider")
        if "autothrottle_target" in pol:
            settings.set("AUTOTHROTTLE_TARGET_CONCURRENCY", float(pol["autothrottle_target"]), priority="spider")

    # -- entry points --------------------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        """Listing pages, feeds, sitemaps and SharePoint lists of the portal, in registry order."""
        for request in self.start_listing_requests():
            yield request

    def start_listing_requests(self) -> Iterator[scrapy.Request]:
        """The first request of every listing source of the portal."""
        for url in self.portal.start_urls:
            yield self.listing_request(url, category=url, page=1)
        for url in self.portal.feeds:
            yield scrapy.Request(url, callback=self.parse_feed, errback=self.on_error,
                                 meta={"listing": True, "category": url})
        for url in self.portal.sitemaps:
            yield scrapy.Request(url, callback=self.parse_sitemap, errback=self.on_error,
                                 meta={"listing": True, "category": url})
        for sp in self.portal.sharepoint_lists:
            yield scrapy.Request(sp["url"], callback=self.parse_sharepoint_list, errback=self.on_error,
                                 headers={"Accept": "application/json;odata=verbose"},
                                 cb_kwargs={"detail_url": sp["detail_url"]},
                                 meta={"listing": True, "category": sp["url"], "page": 1})

    def listing_request(self, url: str, *, category: str, page: int) -> scrapy.Request:
        """A request for one listing page of ``category``."""
        return scrapy.Request(url, callback=self.parse_listing, errback=self.on_error,
                              meta={"listing": True, "category": category, "page": page})

    # -- listings ------------------------------------------------------------------------------------------

    def parse_listing(self, response: Response) -> Iterator[Any]:
        """Article links of a listing page, then its next page (until ``max_pages``)."""
        if not isinstance(response, TextResponse):
            yield self.failure(response.url, "parse", "listing page is not text", status=response.status)
            return
        try:
            listing = self.platform.parse_listing(response)
        except Exception as exc:
            yield self.failure(response.url, "parse", f"listing: {exc!r}", status=response.status)
            return
        self.crawler.stats.inc_value("govarchive/listing_pages")
        if not listing.entries:
            self.crawler.stats.inc_value("govarchive/empty_listing_pages")
            self.logger.warning("no article links on listing page %s", response.url)
        yield from self.follow_entries(listing.entries, response)
        page = response.meta.get("page", 1)
        if page < self.max_pages:
            for request in listing.next_requests[:1]:
                yield request.replace(callback=self.parse_listing, errback=self.on_error,
                                      meta={**request.meta, "listing": True, "category": response.meta["category"],
                                            "page": page + 1})

    def parse_feed(self, response: Response) -> Iterator[Any]:
        """Articles of an RSS/Atom feed."""
        try:
            entries = parse_feed(response)  # type: ignore[arg-type]
        except Exception as exc:
            yield self.failure(response.url, "parse", f"feed: {exc!r}", status=response.status)
            return
        yield from self.follow_entries(entries, response)

    def parse_sitemap(self, response: Response) -> Iterator[Any]:
        """Articles (and child sitemaps) of an XML sitemap."""
        try:
            entries, children = parse_sitemap(response)  # type: ignore[arg-type]
        except Exception as exc:
            yield self.failure(response.url, "parse", f"sitemap: {exc!r}", status=response.status)
            return
        for child in children:
            yield scrapy.Request(child, callback=self.parse_sitemap, errback=self.on_error,
                                 meta={"listing": True, "category": response.meta["category"]})
        yield from self.follow_entries(entries, response)

    def parse_sharepoint_list(self, response: Response, detail_url: str) -> Iterator[Any]:
        """Articles of a SharePoint REST list page, then its ``__next`` page."""
        try:
            entries, next_url = parse_sharepoint_list(response, detail_url)  # type: ignore[arg-type]
        except Exception as exc:
            yield self.failure(response.url, "parse", f"sharepoint list: {exc!r}", status=response.status)
            return
        self.crawler.stats.inc_value("govarchive/listing_pages")
        yield from self.follow_entries(entries, response)
        page = response.meta.get("page", 1)
        if next_url and page < self.max_pages:
            yield response.request.replace(url=next_url, meta={**response.meta, "page": page + 1})  # type: ignore[union-attr]

    def follow_entries(self, entries: list[ListingEntry], response: Response) -> Iterator[scrapy.Request]:
        """Requests for article pages not yet requested in this run."""
        for entry in entries:
            key = canonical_url(entry.url, case_insensitive_path=self.platform.case_insensitive_paths)
            if key in self.seen_articles:
                continue
            self.seen_articles.add(key)
            yield self.article_request(entry, listing_url=response.url)

    def article_request(self, entry: ListingEntry, *, listing_url: str | None = None) -> scrapy.Request:
        """The request for one article page."""
        return scrapy.Request(entry.url, callback=self.parse_article, errback=self.on_error,
                              meta={"listing_url": listing_url, "listing_date": entry.published})

    # -- articles ------------------------------------------------------------------------------------------

    def parse_article(self, response: Response) -> Iterator[Any]:
        """One article item, or a parse failure naming the reason."""
        try:
            item = self.platform.parse_article(response, portal=self.portal.slug)  # type: ignore[arg-type]
        except ExtractionError as exc:
            yield self.failure(response.url, "parse", str(exc), status=response.status)
            return
        except Exception as exc:
            self.logger.exception("parser crashed on %s", response.url)
            tb = traceback.format_exception_only(type(exc), exc)[-1].strip()
            yield self.failure(response.url, "parse", f"parser error: {tb}", status=response.status)
            return
        self.crawler.stats.inc_value("govarchive/articles_parsed")
        yield item

    # -- failures ------------------------------------------------------------------------------------------

    def on_error(self, failure: Failure) -> Iterator[PageFailure]:
        """Errback: HTTP errors (after retries), timeouts and DNS/TLS errors become failure records."""
        request = failure.request  # type: ignore[attr-defined]
        response = getattr(failure.value, "response", None)
        status = response.status if response is not None else None
        reason = f"HTTP {status}" if status else f"{failure.type.__name__}: {failure.getErrorMessage()}"
        stage = "listing" if request.meta.get("listing") else "download"
        self.crawler.stats.inc_value(f"govarchive/failures/{stage}")
        yield self.failure(request.url, stage, reason, status=status)

    def failure(self, url: str, stage: str, reason: str, *, status: int | None = None) -> PageFailure:
        """A failure record for ``url``."""
        return PageFailure(url=url, portal=self.portal.slug, stage=stage, reason=reason, status=status)
