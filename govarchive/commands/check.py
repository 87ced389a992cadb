"""``govarchive check SLUG``: try one portal live (or on the replica) and say how well the platform reads it.

Fetches **one** listing page (the portal's first start URL, or its first feed/sitemap/SharePoint list when it has
no start URL, or ``--url``) and the first ``--articles`` articles it links (default 5), through the portal's own
spider (same platform, selectors, politeness, TLS policy and robots.txt as a crawl; a legal document's properties
view is fetched as in a crawl). Nothing is written: no archive, no lock, no crawl run, no WARC capture, no files.

It prints the listing page's result (article links read, article-shaped links the page shows, the next page the
pager gives) and, per field, the share of the articles tried that have it and which source won it (``css:<selector>``
from the platform, ``label:...``, ``meta:...``, ``jsonld:...``, ``heuristic:...``), so a new registry entry or a
layout change can be judged in a minute.

Exit status (the threshold): **0** when the listing page gave article links, was not sparse (a handful of links read
where the page shows dozens), at least one article was read, and ``title``, ``published`` and ``body_text`` are each
found on at least ``--min-coverage`` (default 0.8) of the articles tried (an article page that failed counts as
missing every field); **1** otherwise; **2** for an unknown portal or bad arguments. ``--json FILE`` writes the
report for other tools.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

REQUIRED = ("title", "published", "body_text")
REPORTED = ("title", "published", "body_text", "summary", "author", "category", "tags", "attachments", "images")
DOCUMENT_KEYS = ("number", "doc_type", "issuer", "signer", "issued", "effective", "status")
SOURCE_KEYS = {"body_text": "body", "images": "body"}  # images are read inside the body the platform chose
DEFAULT_ARTICLES = 5
DEFAULT_MIN_COVERAGE = 0.8
EXIT_PROBLEM, EXIT_USAGE = 1, 2


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``check`` sub-command."""
    from govarchive.commands.crawl import _key_value

    parser = subparsers.add_parser(
        "check", help="fetch one listing page and a few articles of a portal; report field coverage",
        description="Fetch one listing page of the portal and its first few articles with the portal's spider "
                    "(nothing is archived), then report the links read, per-field coverage and which source won "
                    "each field. Exit 1 when the listing gave no links or was sparse, no article was read, or "
                    "title/published/body_text are found on fewer than --min-coverage of the articles tried; "
                    "2 for an unknown portal.")
    parser.add_argument("slug", metavar="SLUG", help="registry slug (see `govarchive portals`)")
    parser.add_argument("--url", help="listing page to read instead of the portal's first start URL")
    parser.add_argument("--articles", type=int, default=DEFAULT_ARTICLES, metavar="N",
                        help=f"articles to fetch from the listing page (default {DEFAULT_ARTICLES})")
    parser.add_argument("--min-coverage", type=float, default=DEFAULT_MIN_COVERAGE, metavar="SHARE",
                        help="share of the articles tried that must have title, published and body_text "
                             f"(default {DEFAULT_MIN_COVERAGE})")
    parser.add_argument("--replica", metavar="URL", help="route every request to this replica (tests, demo)")
    parser.add_argument("--json", dest="json_file", metavar="FILE", help="also write the report as JSON")
    parser.add_argument("-s", "--set", dest="settings", action="append", type=_key_value, default=[],
                        metavar="KEY=VALUE", help="Scrapy setting (repeatable)")
    parser.add_argument("--log-level", default="WARNING", metavar="LEVEL", help="Scrapy log level (default WARNING)")
    parser.set_defaults(func=run)


# -- the spider --------------------------------------------------------------------------------------------------

def check_spider(base: type[Any]) -> type[Any]:
    """A subclass of the portal's spider that reads one listing page and ``check_articles`` of its articles."""

    class CheckSpider(base):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, check_url: str | None = None, check_articles: int = DEFAULT_ARTICLES,
                     **kwargs: Any) -> None:
            super().__init__(*args, max_pages=1, **kwargs)
            self.check_url = check_url
            self.check_articles = int(check_articles)
            self.listing: dict[str, Any] = {}
            self.tried: list[str] = []

        async def start(self) -> Any:
            """One listing source; no archive is opened (nothing known, nothing retried, nothing stored)."""
            portal = self.portal
            if self.check_url or portal.start_urls:
                url = self.check_url or portal.start_urls[0]
                self.listing = {"url": url, "kind": "page"}
                yield self.listing_request(url, category=url, page=1)
                return
            for request in self.start_listing_requests():  # a feed, a sitemap or a SharePoint list
                self.listing = {"url": request.url, "kind": "feed" if portal.feeds else "list"}
                yield request
                return

        def parse_listing(self, response: Any) -> Any:
            try:
                page = self.platform.parse_listing(response)
            except Exception:  # the spider's own parse records the failure
                page = None
            if page is not None:
                from portal_spiders.platforms.base import sparse_listing

                nxt = page.next_requests[0] if page.next_requests else None
                self.listing.update(links=len(page.entries), article_links=page.article_links,
                                    sparse=sparse_listing(page),
                                    next=f"{nxt.method} {nxt.url}" if nxt is not None else None)
            yield from super().parse_listing(response)

        def follow_entries(self, entries: list[Any], response: Any) -> Any:
            self.listing.setdefault("links", len(entries))
            for entry in entries:
                if len(self.tried) >= self.check_articles:
                    return
                key = self.platform.canonical_url(entry.url)
                if key in self.seen_articles:
                    continue
                self.seen_articles.add(key)
                self.tried.append(entry.url)
                yield self.article_request(entry, listing_url=response.url)

    CheckSpider.__name__ = CheckSpider.__qualname__ = f"Check{base.__name__}"
    return CheckSpider


# -- the report --------------------------------------------------------------------------------------------------

def _has(value: Any) -> bool:
    return bool(value) if not isinstance(value, (int, float)) else True


def build_report(slug: str, listing: dict[str, Any], tried: list[str], results: list[Any], *,
                 min_coverage: float) -> dict[str, Any]:
    """Per-field coverage and winning sources of the articles read, the listing's result and the problems found."""
    from itemadapter import ItemAdapter

    from portal_spiders.items import ArticleItem, PageFailure

    articles = [r for r in results if isinstance(r, ArticleItem)]
    failures = [r for r in results if isinstance(r, PageFailure)]
    attempted = max(len(tried), len(articles) + len([f for f in failures if f.stage != "listing"]))
    fields: dict[str, Any] = {}
    for name in REPORTED:
        found = [a for a in articles if _has(ItemAdapter(a).get(name))]
        key = SOURCE_KEYS.get(name, name)
        sources = Counter(a.field_sources.get(key, "not recorded") for a in found)
        fields[name] = {"found": len(found), "coverage": round(len(found) / attempted, 3) if attempted else 0.0,
                        "sources": dict(sources.most_common())}
    if any(a.document for a in articles):
        for key in DOCUMENT_KEYS:
            found = [a for a in articles if (a.document or {}).get(key)]
            fields[f"document.{key}"] = {"found": len(found), "sources": {},
                                         "coverage": round(len(found) / attempted, 3) if attempted else 0.0}
    problems = []
    listing_failures = [f for f in failures if f.stage == "listing" or f.url == listing.get("url")]
    for failure in listing_failures:
        problems.append(f"listing {failure.url}: {failure.reason}")
    if not listing.get("links"):
        problems.append(f"no article link read on the listing page {listing.get('url')}")
    elif listing.get("sparse"):
        problems.append(f"sparse listing: {listing['links']} links read where the page shows "
                        f"{listing.get('article_links')} (listing zone missed?)")
    if not articles:
        problems.append("no article read")
    for name in REQUIRED:
        share = fields[name]["coverage"]
        if articles and share < min_coverage:
            problems.append(f"{name} on {share:.0%} of the articles tried (< {min_coverage:.0%})")
    return {
        "portal": slug, "ok": not problems, "min_coverage": min_coverage, "listing": listing,
        "articles_tried": attempted, "articles_read": len(articles), "tried": list(tried), "fields": fields,
        "failures": [{"url": f.url, "stage": f.stage, "reason": f.reason} for f in failures],
        "articles": [{"url": a.url, "title": a.title, "published": a.published} for a in articles],
        "problems": problems,
    }


def print_report(report: dict[str, Any]) -> None:
    """The report as plain text (stdout)."""
    listing = report["listing"]
    print(f"portal {report['portal']}")
    print(f"listing {listing.get('kind', 'page')} {listing.get('url')}: {listing.get('links', 0)} article links read"
          + (f" of {listing['article_links']} on the page" if listing.get("article_links") else "")
          + (f"; next page: {listing['next']}" if listing.get("next") else "; no next page found"))
    print(f"articles: {report['articles_read']} read of {report['articles_tried']} tried")
    print(f"{'field':<18} {'coverage':>8}  sources")
    for name, data in report["fields"].items():
        sources = ", ".join(f"{src} x{n}" for src, n in data["sources"].items()) or "-"
        print(f"{name:<18} {data['coverage']:>8.0%}  {sources}")
    for failure in report["failures"]:
        print(f"failed {failure['stage']} {failure['url']}: {failure['reason']}")
    if report["problems"]:
        print("PROBLEM: " + "; ".join(report["problems"]))
    else:
        print(f"ok: title, published and body_text on at least {report['min_coverage']:.0%} of the articles tried")


def run(args: argparse.Namespace) -> int:
    """Run the check; see the module docstring for the exit status."""
    from portal_spiders.registry import default_registry

    registry = default_registry()
    if args.slug not in registry:
        from govarchive.slugs import unknown_portals

        print(f"govarchive check: {unknown_portals([args.slug], registry)} (`govarchive portals` lists them)",
              file=sys.stderr)
        return EXIT_USAGE
    if args.articles < 1 or not 0.0 <= args.min_coverage <= 1.0:
        print("govarchive check: --articles must be at least 1 and --min-coverage between 0 and 1", file=sys.stderr)
        return EXIT_USAGE
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess

    from govarchive.crawling import project_settings
    from portal_spiders.spiders.portals import SPIDERS

    overrides: dict[str, Any] = {
        # Normalized and validated as in a crawl, but nothing is stored, locked or monitored.
        "ITEM_PIPELINES": {"pipelines.normalize.NormalizePipeline": 100, "pipelines.validate.ValidatePipeline": 200},
        "EXTENSIONS": {}, "SPIDERMON_ENABLED": False, "WARC_ENABLED": False, "LOG_LEVEL": args.log_level,
    }
    if args.replica:
        overrides["REPLICA_URL"] = args.replica
    overrides.update(dict(args.settings))
    settings = project_settings(overrides)
    # EXTENSIONS={} leaves out the replica guard that says so in a crawl: a replica ($GOVARCHIVE_REPLICA_URL
    # included) is announced here, before any request, as loudly as `govarchive crawl` does.
    from portal_spiders.routing import replica_target, replica_warning

    target = replica_target(settings)
    if target is not None:
        print(f"govarchive check: {replica_warning(*target, stores=False)}", file=sys.stderr, flush=True)
    # No WARC capture either (WARC_ENABLED off alone would still log the middleware as disabled).
    settings.set("DOWNLOADER_MIDDLEWARES", {**settings.getdict("DOWNLOADER_MIDDLEWARES"),
                                            "portal_spiders.warc.WarcCaptureMiddleware": None}, priority="cmdline")
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(check_spider(SPIDERS[args.slug]))
    results: list[Any] = []

    def collect(item: Any, **_: Any) -> None:
        results.append(item)

    crawler.signals.connect(collect, signal=signals.item_scraped)  # held here: signals keep weak references
    process.crawl(crawler, check_url=args.url, check_articles=args.articles)
    process.start()
    spider = crawler.spider
    report = build_report(args.slug, spider.listing, spider.tried, results, min_coverage=args.min_coverage)
    print_report(report)
    if args.json_file:
        Path(args.json_file).write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return 0 if report["ok"] else EXIT_PROBLEM
