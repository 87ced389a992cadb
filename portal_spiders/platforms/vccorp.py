"""VCCorp/Admicro-family news CMS (baochinhphu.vn since 2022, vpcp.chinhphu.vn, mst.gov.vn, covid19.gov.vn), and
the ASP.NET ``.vgp`` layout baochinhphu.vn/chinhphu.vn used before 2022.

Known from saved real pages (field guide §2.6): ``h1.detail-title``, ``h2.detail-sapo``, ``div.detail-time``,
``meta[property=article:published_time]`` (its ``+`` written ``&#x2B;``), JSON-LD ``NewsArticle``, the body
``div.detail-content.afcbc-body[data-role=content]``, photo captions ``figcaption.PhotoCMS_Caption`` and
embedded/related boxes ``div.VCSortableInPreviewMode``. The visible byline is a bare ``<p>`` at the end of the
body (JSON-LD only says "Ban biên tập"). HTML comments in the body hold full JavaScript timestamps; comments
are stripped before anything is read. The ``-102<yyMMddHHmmss><3 digits>.htm`` detail URL encodes the
*creation* time, never used as the publish date.

Listings: zone pages ``/<zone>.htm`` show the first items; the "more" button loads
``/timelinelist/<zoneId>/<page>.htm`` fragments. The zone id is read from the zone page. RSS ``pubDate`` is
US ``M/d/yyyy h:mm:ss AM`` (:attr:`feed_date_order`); dates on pages stay day-first.

Pre-2022 ``.vgp`` pages (scraper-reported, §2.7): ``.article-header>h1``, ``.article-header .meta``
(``%H:%M, %d/%m/%Y``), ``.article-body .summary`` starting with "(Chinhphu.vn) - ", ``.keywords .word a``;
listings ``.story .title a`` with an ASP.NET postback pager.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any, ClassVar
from urllib.parse import urlsplit

from parsel import Selector
from scrapy import Request
from scrapy.http import TextResponse

from portal_spiders.items import ArticleItem
from portal_spiders.platforms._heuristics import trailing_byline
from portal_spiders.platforms.base import ArticlePage, ListingPage, Platform, clean_dom

SOURCE_PREFIX = re.compile(r"^\s*\((?:Chinhphu\.vn|VGP)\)\s*[-–—:]\s*", re.I)
TIMELINE = re.compile(r"/timelinelist/(?P<zone>\d+)/(?P<page>\d+)\.htm$")
ZONE_ID = (
    re.compile(r"""/timelinelist/(\d+)/"""),
    re.compile(r"""data-zone-?id\s*=\s*["'](\d+)["']""", re.I),
    re.compile(r"""\bzone_?id\s*[:=]\s*["']?(\d+)""", re.I),
)


class VCCorp(Platform):
    """VCCorp/Admicro news CMS (and the older ``.vgp`` chinhphu layout)."""

    name = "vccorp"
    description = "VCCorp/Admicro news CMS (baochinhphu.vn since 2022, vpcp.chinhphu.vn, mst.gov.vn, covid19.gov.vn)"
    detect_priority = 30
    fingerprint_css = ("div.detail-content.afcbc-body", "div.afcbc-body[data-role=content]")
    fingerprint_re = (r"/timelinelist/\d+/", r"\bVCSortableInPreviewMode\b")
    feed_date_order: ClassVar[str] = "MDY"

    remove: ClassVar[tuple[str, ...]] = (
        "header", "footer", "nav", ".header", ".footer", ".menu", "div.VCSortableInPreviewMode", ".detail-relate",
        ".box-relate", ".related", ".related-news", ".tin-lien-quan", ".box-tinlienquan", ".other-news",
        ".detail-share", ".social", ".breadcrumb", ".article-tools", ".box-other",
    )
    title = ("h1.detail-title", ".article-header > h1", ".detail__title")
    published = ("div.detail-time", ".detail-time", ".article-header .meta")
    summary = ("h2.detail-sapo", ".detail-sapo", ".article-body .summary", ".article-header .summary")
    body = ("div.detail-content.afcbc-body[data-role=content]", "div.detail-content.afcbc-body",
            "div.detail-content", ".article-body .content", ".article-body")
    tags = (".detail-tag a", ".box-tag a", ".keywords .word a")
    category = (".detail-cate a", ".breadcrumb a", ".article-header .cat a")
    listing_links = (".story .title a",)
    next_page = ("a#ctl00_leftContent_ctl01_pager_nextControl", "a[id$='pager_nextControl']", "a[rel=next]")
    article_url_re = r"-102\d{15}\.htm$|/\d+\.vgp$"

    @classmethod
    def detect(cls, html: str) -> bool:
        """The VCCorp body markers, or the old layout's ``.vgp`` links beside ASP.NET ``ctl00_`` ids."""
        if super().detect(html):
            return True
        return bool(re.search(r"""/\d+\.vgp["'?#]""", html)) and "ctl00_" in html

    # -- listing -----------------------------------------------------------------------------------------

    def _removals_for_listing(self) -> tuple[str, ...]:
        return ("header", "footer", "nav", ".header", ".footer", ".menu")

    def parse_listing(self, response: TextResponse) -> ListingPage:
        """Zone page or timeline fragment: its article links, then the next fragment while links keep coming."""
        root = clean_dom(response.text, extra_remove=self._removals_for_listing())
        sel = Selector(root=root, type="html")
        entries = self.listing_entries(response, sel)
        if not entries:
            return ListingPage()
        return ListingPage(entries=entries, next_requests=list(self.next_page_requests(response, sel)))

    def next_page_requests(self, response: TextResponse, sel: Selector) -> Iterator[Request]:
        """``/timelinelist/<zone>/<n+1>.htm`` on fragments and zone pages; the ``.vgp`` postback pager otherwise."""
        path = urlsplit(response.url).path
        m = TIMELINE.search(path)
        if m:
            yield Request(response.urljoin(f"/timelinelist/{m['zone']}/{int(m['page']) + 1}.htm"))
            return
        if path.endswith(".htm"):
            for rx in ZONE_ID:
                zone = rx.search(response.text)
                if zone:
                    yield Request(response.urljoin(f"/timelinelist/{zone.group(1)}/2.htm"))
                    return
        yield from super().next_page_requests(response, sel)

    # -- article -----------------------------------------------------------------------------------------

    def author_candidates(self, page: ArticlePage) -> list[tuple[str, Callable[[], Any]]]:
        """Labels, then the byline paragraph closing the body; JSON-LD ("Ban biên tập") is weaker."""
        base = super().author_candidates(page)
        labels = [c for c in base if c[0].startswith("label:")]
        rest = [c for c in base if not c[0].startswith("label:")]
        return [*labels, ("heuristic:byline", lambda: trailing_byline(page, self.selectors["body"])), *rest]

    def fill(self, page: ArticlePage, item: ArticleItem) -> None:
        """Base extraction, then the "(Chinhphu.vn) - " source prefix comes off the sapo."""
        super().fill(page, item)
        if item.summary:
            item.summary = SOURCE_PREFIX.sub("", item.summary, count=1) or None
