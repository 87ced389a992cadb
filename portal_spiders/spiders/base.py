"""The one spider class behind every portal.

``portal_spiders.spiders.portals`` generates a subclass per registry entry, so ``scrapy list`` shows every
portal and ``scrapy crawl <slug>`` works. The spider only routes: listing pages, feeds, sitemaps and
SharePoint lists lead to article pages, and the platform parser (pure) turns pages into items. Everything
that goes wrong becomes a :class:`PageFailure` item, so the store records it instead of losing it.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import AsyncIterator, Iterator
from typing import Any, ClassVar

import scrapy
from scrapy import signals
from scrapy.http import Response, TextResponse
from twisted.python.failure import Failure

from govarchive.archive import Archive
from pipelines.store import acquire_archive, release_archive
from portal_spiders.discovery import parse_feed, parse_sharepoint_list, parse_sitemap
from portal_spiders.incremental import ListingWalk
from portal_spiders.items import ArticleRemoval, PageFailure
from portal_spiders.platforms import ExtractionError, ListingEntry, get_platform
from portal_spiders.platforms.base import Platform, sparse_listing
from portal_spiders.politeness import HostDeferred
from portal_spiders.reasons import download_failure_reason
from portal_spiders.registry import PortalConfig
from portal_spiders.removals import recheck_targets, removal_for_error, removal_for_response
from portal_spiders.spider_args import parse_spider_args
from portal_spiders.urls import canonical_url


class PortalSpider(scrapy.Spider):
    """Crawl one portal from its registry entry.

    Spider arguments (``-a key=value``): ``max_pages`` (listing pages per start URL, default from the
    registry); ``full=1`` (backfill: read every listing page, fetch every article again); ``since=YYYY-MM-DD``
    (read listings back to that date); ``refresh_days=N`` (fetch archived articles of the last N days again, to
    catch edits). Without ``full``/``since`` the crawl is incremental (:mod:`portal_spiders.incremental`; setting
    ``INCREMENTAL_STOP_AFTER``). Every run first retries the portal's recorded failures. ``recheck=1`` (with
    ``recheck_days=N``) fetches the archived articles again instead of walking listings, to find edits and
    takedowns (:mod:`portal_spiders.removals`).
    """

    portal: ClassVar[PortalConfig]

    def __init__(self, *args: Any, max_pages: str | int | None = None, full: str | bool | None = None,
                 since: str | None = None, refresh_days: str | int | None = None, recheck: str | bool | None = None,
                 recheck_days: str | int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.platform: Platform = get_platform(self.portal.platform)(self.portal.selectors,
                                                                     options=self.portal.platform_options)
        # BadInput (a ValueError) names a bad argument; the CLIs check the same rules before the crawl starts.
        args = parse_spider_args({"max_pages": max_pages, "full": full, "since": since, "refresh_days": refresh_days,
                                  "recheck": recheck, "recheck_days": recheck_days})
        self.max_pages = args.max_pages or self.portal.max_pages
        self.allowed_domains = [h.removeprefix("www.") for h in self.portal.hosts]
        self.seen_articles: set[str] = set()
        self.since = args.since
        self.refresh_days = args.refresh_days
        self.crawl_mode = "full" if args.full else "since" if self.since else "incremental"
        if args.recheck:
            self.crawl_mode = "recheck"
        self.recheck_days = args.recheck_days
        self.walk: ListingWalk | None = None
        self.archive: Archive | None = None

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> PortalSpider:
        """Scrapy factory; also watches for requests the scheduler drops."""
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.request_dropped, signal=signals.request_dropped)
        return spider

    def request_dropped(self, request: scrapy.Request, spider: Any = None) -> None:
        """A redirect target the scheduler refused (a duplicate filter that ignores ``dont_filter``, say) is a page
        this run did not fetch: counted, so the run is not complete (pipelines/store.py)."""
        if request.meta.get("redirect_urls"):
            self.crawler.stats.inc_value("govarchive/redirects_dropped")
            self.logger.error("redirect to %s (listed as %s) was dropped: the run is incomplete", request.url,
                              self.listed_url(request))

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
        """Recorded failures first, then the listing pages, feeds, sitemaps and SharePoint lists of the portal."""
        self.open_walk()
        if self.crawl_mode == "recheck":
            for request in self.recheck_requests():
                yield request
            return
        for request in self.failure_retry_requests():
            yield request
        for request in self.start_listing_requests():
            yield request

    def open_walk(self) -> None:
        """Read the archive's state for this crawl (the store pipeline's shared connection).

        A cluster worker (``GOVARCHIVE_CLUSTER``) never opens the database: it reads the copy of that state the
        archiver published for the run (:class:`govarchive.cluster.worker.ClusterState`).
        """
        if self.settings.get("GOVARCHIVE_CLUSTER"):
            from govarchive.cluster.worker import cluster_state

            self.archive = cluster_state(self)  # type: ignore[assignment]
        else:
            self.archive = acquire_archive(
                self.settings.get("ARCHIVE_DB"),
                batch_size=self.settings.getint("ARCHIVE_BATCH_SIZE", 50),
                batch_seconds=self.settings.getfloat("ARCHIVE_BATCH_SECONDS", 5.0),
            )
        if self.crawl_mode == "recheck":
            return
        last = self.archive.last_complete_run(self.portal.slug)
        self.walk = ListingWalk(
            self.crawl_mode, lookup=self.archive.article_state, last_complete_run=last["id"] if last else None,
            since=self.since, refresh_days=self.refresh_days,
            stop_after=self.settings.getint("INCREMENTAL_STOP_AFTER", 0), date_order=self.platform.date_order)
        self.logger.info("%s crawl of %s (last complete run: %s)", self.crawl_mode, self.portal.slug,
                         last["id"] if last else "none")

    def failure_retry_requests(self) -> Iterator[scrapy.Request]:
        """Article URLs that failed in earlier runs; the store clears them once archived.

        Listing failures are not replayed: a run with one is incomplete, so the next run walks past it anyway.
        """
        assert self.archive is not None
        for failure in self.archive.failures(self.portal.slug):
            if failure["stage"] == "listing":
                continue
            if failure["stage"] == "attachment":  # fetched again through its article (pipelines/files.py)
                failure = {**failure, "url": json.loads(failure["extra"] or "{}").get("article_url") or ""}
                if not failure["url"]:
                    continue
            key = self.platform.canonical_url(failure["url"])
            if key in self.seen_articles:
                continue
            self.seen_articles.add(key)
            self.crawler.stats.inc_value("govarchive/failures_retried")
            yield self.article_request(ListingEntry(url=failure["url"]))

    def closed(self, reason: str) -> None:
        """Give the shared archive connection back."""
        if isinstance(self.archive, Archive):
            release_archive(self.archive)
        self.archive = None

    def start_listing_requests(self) -> Iterator[scrapy.Request]:
        """The first request of every listing source of the portal."""
        for url in self.portal.start_urls:
            yield self.listing_request(url, category=url, page=1)
        for url in self.portal.feeds:
            yield scrapy.Request(url, callback=self.parse_feed, errback=self.on_error,
                                 meta=self.page_meta({"listing": True, "category": url}))
        for url in self.portal.sitemaps:
            yield scrapy.Request(url, callback=self.parse_sitemap, errback=self.on_error,
                                 meta=self.page_meta({"listing": True, "category": url}, sitemap=True))
        for sp in self.portal.sharepoint_lists:
            yield scrapy.Request(sp["url"], callback=self.parse_sharepoint_list, errback=self.on_error,
                                 headers={"Accept": "application/json;odata=verbose"},
                                 cb_kwargs={"detail_url": sp["detail_url"]},
                                 meta=self.page_meta({"listing": True, "category": sp["url"], "page": 1}))

    def listing_request(self, url: str, *, category: str, page: int) -> scrapy.Request:
        """A request for one listing page of ``category``."""
        return scrapy.Request(url, callback=self.parse_listing, errback=self.on_error,
                              meta=self.page_meta({"listing": True, "category": category, "page": page}))

    def page_meta(self, meta: dict[str, Any], *, sitemap: bool = False) -> dict[str, Any]:
        """``meta`` with the page size cap (``GOVARCHIVE_PAGE_MAXSIZE``; sitemaps: ``GOVARCHIVE_SITEMAP_MAXSIZE``).

        Pages get a cap far below ``DOWNLOAD_MAXSIZE`` (which attachments keep), so a runaway page costs at most
        the cap in memory and is recorded as a failure with its size (docs/reliability.md).
        """
        key = "GOVARCHIVE_SITEMAP_MAXSIZE" if sitemap else "GOVARCHIVE_PAGE_MAXSIZE"
        cap = self.settings.getint(key, 0) if getattr(self, "crawler", None) is not None else 0
        if cap and "download_maxsize" not in meta:
            meta = {**meta, "download_maxsize": cap}
        return meta

    # -- listings ------------------------------------------------------------------------------------------

    def parse_listing(self, response: Response) -> Iterator[Any]:
        """Article links of a listing page, then its next page (until ``max_pages``)."""
        if not isinstance(response, TextResponse):
            yield self.listing_failure(self.listed_url(response.request, response.url), "listing page is not text",
                                       status=response.status)
            return
        try:
            listing = self.platform.parse_listing(response)
        except Exception as exc:
            yield self.listing_failure(self.listed_url(response.request, response.url), f"listing: {exc!r}",
                                       status=response.status)
            return
        self.crawler.stats.inc_value("govarchive/listing_pages")
        if listing.entries:  # the portal is up: takedowns seen in this run can be believed
            self.crawler.stats.inc_value("govarchive/listing_pages_with_links")
        if response.meta.get("recheck_probe"):
            return
        if sparse_listing(listing):
            # A handful of links where the page shows dozens: the listing zone was missed (a sidebar read instead).
            self.crawler.stats.inc_value("govarchive/listing_sparse")
            self.crawler.stats.set_value("govarchive/listing_sparse_example",
                                         f"{response.url}: {len(listing.entries)} of {listing.article_links} links")
            self.logger.warning("listing page %s yields %d article links but shows %d", response.url,
                                len(listing.entries), listing.article_links)
        if not listing.entries:
            self.crawler.stats.inc_value("govarchive/empty_listing_pages")
            # An empty first page means broken selectors; an empty later page is how some pagers end.
            log = self.logger.warning if response.meta.get("page", 1) == 1 else self.logger.info
            log("no article links on listing page %s", response.url)
        yield from self.follow_entries(listing.entries, response)
        for url in listing.feeds:  # the duplicate filter drops feeds already requested
            if url not in self.portal.feeds:
                yield scrapy.Request(url, callback=self.parse_feed, errback=self.on_error,
                                     meta=self.page_meta({"listing": True, "category": url}))
        page = response.meta.get("page", 1)
        if page < self.max_pages and self.walk_on(response, len(listing.entries)):
            for request in listing.next_requests[:1]:
                yield request.replace(callback=self.parse_listing, errback=self.on_error,
                                      meta=self.page_meta({**request.meta, "listing": True, "page": page + 1,
                                                           "category": response.meta["category"],
                                                           "walk": self.walk_snapshot(response)}))
            if listing.pager_shown and not listing.next_requests and page == 1:
                # A pager offers more pages but none could be followed: health flags the portal.
                self.crawler.stats.inc_value("govarchive/pager_not_followed")
                self.logger.warning("listing %s shows a pager but no next page could be followed", response.url)

    def parse_feed(self, response: Response) -> Iterator[Any]:
        """Articles of an RSS/Atom feed."""
        try:
            order = "MDY" if "MDY" in (self.portal.date_order, self.platform.feed_date_order) else "DMY"
            entries = parse_feed(response, order=order)  # type: ignore[arg-type]
        except Exception as exc:
            yield self.listing_failure(self.listed_url(response.request, response.url), f"feed: {exc!r}",
                                       status=response.status)
            return
        yield from self.follow_entries(entries, response)

    def parse_sitemap(self, response: Response) -> Iterator[Any]:
        """Articles (and child sitemaps) of an XML sitemap."""
        try:
            entries, children = parse_sitemap(response)  # type: ignore[arg-type]
        except Exception as exc:
            yield self.listing_failure(self.listed_url(response.request, response.url), f"sitemap: {exc!r}",
                                       status=response.status)
            return
        for child in children:
            yield scrapy.Request(child, callback=self.parse_sitemap, errback=self.on_error,
                                 meta=self.page_meta({"listing": True, "category": response.meta["category"]},
                                                     sitemap=True))
        yield from self.follow_entries(entries, response)

    def parse_sharepoint_list(self, response: Response, detail_url: str) -> Iterator[Any]:
        """Articles of a SharePoint REST list page, then its ``__next`` page."""
        try:
            entries, next_url = parse_sharepoint_list(response, detail_url)  # type: ignore[arg-type]
        except Exception as exc:
            yield self.listing_failure(self.listed_url(response.request, response.url), f"sharepoint list: {exc!r}",
                                       status=response.status)
            return
        self.crawler.stats.inc_value("govarchive/listing_pages")
        yield from self.follow_entries(entries, response)
        page = response.meta.get("page", 1)
        if next_url and page < self.max_pages and self.walk_on(response, len(entries)):
            yield response.request.replace(url=next_url, meta=self.page_meta(  # type: ignore[union-attr]
                {**response.meta, "page": page + 1, "walk": self.walk_snapshot(response)}))

    def follow_entries(self, entries: list[ListingEntry], response: Response) -> Iterator[scrapy.Request]:
        """Requests for the listed articles this crawl wants (:class:`ListingWalk`), each once per run."""
        category = response.meta.get("category", response.url)
        if self.walk is not None and response.meta.get("walk"):
            self.walk.resume(category, response.meta["walk"])
        for entry in entries:
            key = self.platform.canonical_url(entry.url)
            wanted = self.walk.wants(category, key, entry.published) if self.walk is not None else True
            if key in self.seen_articles:
                continue
            if not wanted:
                self.crawler.stats.inc_value("govarchive/articles_skipped_known")
                continue
            self.seen_articles.add(key)
            yield self.article_request(entry, listing_url=response.url)

    def walk_on(self, response: Response, entries: int) -> bool:
        """Whether to read the next page of this listing category (incremental stop rule)."""
        if self.walk is None or self.walk.next_page(response.meta.get("category", response.url), entries):
            return True
        self.crawler.stats.inc_value("govarchive/listings_stopped_at_known")
        return False

    def walk_snapshot(self, response: Response) -> dict[str, int] | None:
        """The listing category's walk counters, carried by its next page's request: the page may be read by
        another cluster worker, or again after a worker died, and must go on from exactly this state."""
        return self.walk.snapshot(response.meta.get("category", response.url)) if self.walk is not None else None

    def article_request(self, entry: ListingEntry, *, listing_url: str | None = None,
                        archived_url: str | None = None) -> scrapy.Request:
        """The request for one article page (``archived``: the archive holds it, so its answer may be a takedown)."""
        key = archived_url or canonical_url(entry.url, case_insensitive_path=self.platform.case_insensitive_paths)
        archived = self.archive is not None and self.archive.is_known(key)
        if archived:
            self.crawler.stats.inc_value("govarchive/archived_fetched")
        return scrapy.Request(entry.url, callback=self.parse_article, errback=self.on_error,
                              meta=self.page_meta({"listing_url": listing_url, "listing_date": entry.published,
                                                   "archived": archived, "archived_url": key,
                                                   "listed_url": entry.url}))

    @staticmethod
    def listed_url(request: scrapy.Request | None, fallback: str = "") -> str:
        """The URL as listed (before redirects): failures are keyed by it, so the next run retries that URL."""
        if request is None:
            return fallback
        return request.meta.get("listed_url") or (request.meta.get("redirect_urls") or [request.url])[0]

    def recheck_requests(self) -> Iterator[scrapy.Request]:
        """A recheck: probes of the listing pages (is the portal up?), then every archived article in range."""
        assert self.archive is not None
        for url in self.portal.start_urls:
            yield scrapy.Request(url, callback=self.parse_listing, errback=self.on_error,
                                 meta=self.page_meta({"listing": True, "category": url, "page": 1,
                                                      "recheck_probe": True}))
        for url, key in recheck_targets(self.archive, self.portal.slug, self.recheck_days):
            if key not in self.seen_articles:
                self.seen_articles.add(key)
                yield self.article_request(ListingEntry(url=url), archived_url=key)

    # -- articles ------------------------------------------------------------------------------------------

    def parse_article(self, response: Response) -> Iterator[Any]:
        """One article item, or a parse failure naming the reason."""
        url = self.listed_url(response.request, response.url)
        try:
            item = self.platform.parse_article(response, portal=self.portal.slug)  # type: ignore[arg-type]
        except ExtractionError as exc:
            yield removal_for_response(self, response, None) or self.failure(url, "parse", str(exc),
                                                                            status=response.status)
            return
        except Exception as exc:
            self.logger.exception("parser crashed on %s", response.url)
            tb = traceback.format_exception_only(type(exc), exc)[-1].strip()
            yield self.failure(url, "parse", f"parser error: {tb}", status=response.status)
            return
        removal: ArticleRemoval | None = removal_for_response(self, response, item)
        if removal is not None:
            yield removal
            return
        item.capture = response.meta.get("warc")
        views = self.platform.document_views(item, response)  # type: ignore[arg-type]
        if views:  # a legal document: its other views are fetched and merged before the record leaves the spider
            yield self.view_request(item, views)
            return
        self.crawler.stats.inc_value("govarchive/articles_parsed")
        yield item

    def view_request(self, item: Any, views: list[str]) -> scrapy.Request:
        """The request for the next view of a document (its properties ...), carrying the record so far."""
        return scrapy.Request(views[0], callback=self.parse_document_view, errback=self.document_view_failed,
                              dont_filter=True, cb_kwargs={"item": item, "pending": views[1:]},
                              meta={"document": item.url})

    def parse_document_view(self, response: Response, item: Any, pending: list[str]) -> Iterator[Any]:
        """Merge one further view into the document; the record is emitted once every view is in."""
        try:
            self.platform.merge_view(item, response)  # type: ignore[arg-type]
        except Exception as exc:
            reason = f"document view {response.url}: {exc}"
            yield self.failure(item.source_url or item.url, "parse", reason, status=response.status)
            return
        if pending:
            yield self.view_request(item, pending)
            return
        self.crawler.stats.inc_value("govarchive/articles_parsed")
        yield item

    def document_view_failed(self, failure: Failure) -> Iterator[PageFailure]:
        """A view of a document could not be fetched: no partial record is stored; the document is a failure
        (retried by the next run), named with the view that failed."""
        request = failure.request  # type: ignore[attr-defined]
        item = request.cb_kwargs["item"]
        response = getattr(failure.value, "response", None)
        status = response.status if response is not None else None
        reason = f"HTTP {status}" if status else f"{failure.type.__name__}: {failure.getErrorMessage()}"
        self.crawler.stats.inc_value("govarchive/failures/document_view")
        yield self.failure(item.source_url or item.url, "download", f"document view {request.url}: {reason}",
                           status=status)

    # -- failures ------------------------------------------------------------------------------------------

    def on_error(self, failure: Failure) -> Iterator[PageFailure]:
        """Errback: HTTP errors (after retries), timeouts and DNS/TLS errors become failure records."""
        request = failure.request  # type: ignore[attr-defined]
        response = getattr(failure.value, "response", None)
        status = response.status if response is not None else getattr(failure.value, "status", None)
        reason = download_failure_reason(failure, maxsize=request.meta.get("download_maxsize", 0))
        url = self.listed_url(request)
        if request.meta.get("listing"):
            yield self.listing_failure(url, reason, status=status)
            return
        removal = removal_for_error(self, request, status, response)
        if removal is not None:
            yield removal
            return
        stage = "deferred" if isinstance(failure.value, HostDeferred) else "download"
        self.crawler.stats.inc_value(f"govarchive/failures/{stage}")
        yield self.failure(url, stage, reason, status=status)

    def listing_failure(self, url: str, reason: str, *, status: int | None = None) -> PageFailure:
        """A failed listing page: recorded, and the run will not count as complete (its walk has a hole)."""
        self.crawler.stats.inc_value("govarchive/failures/listing")
        self.crawler.stats.inc_value("govarchive/listing_errors")
        return self.failure(url, "listing", reason, status=status)

    def failure(self, url: str, stage: str, reason: str, *, status: int | None = None) -> PageFailure:
        """A failure record for ``url``."""
        return PageFailure(url=url, portal=self.portal.slug, stage=stage, reason=reason, status=status)
