"""Tân Dân SharePoint 2013 e-government portals (``/portal/Pages/...aspx``): dienbien, thanhhoa, ninhthuan ...

Known from scraper reports (field guide §2.2) and URLs in public material (registry evidence): the ``tandan-`` CSS
prefix, detail URLs ``/portal/Pages/YYYY-M-D/<Title-Words><random>.aspx`` (path case varies, so paths are
case-folded), also ``/portal/pages/2015/<slug>.aspx`` (year only), ``/portal/pages/2023-01-30/<slug>-468686.aspx``
(zero-padded) and, on English editions, ``/en/Pages/2024-10-11/<slug>.aspx``; listings
``/portal/Pages/<Category>.aspx``, ``/en/pages/News-133.aspx`` and ``/portal/KenhTin/<Name>.aspx``
(dbndthanhhoa.gov.vn); media under ``/portal/Photos/``. The Điện Biên scraper reads ``.tandan-title-view``,
``.tandan-date-view`` and ``.tandan-content-view`` and pages by clicking the next page number or "Tiếp"/"Next"/">".
The selectors below for title, sapo, date (``span.tandan-span-date-publish``, text starting with ``Đăng ngày``),
body and tags (``.td-tags a``, whose set includes a "Tags" label element), and the related box
``.tandan-div-article-other`` are scraper-reported. The format after ``Đăng ngày`` is *not seen*; the date parser
reads any ``dd/MM/yyyy [HH:mm]`` shape. Author and attachments are *not seen*: extraction falls back to the
visible labels and to document links inside the body. A generic ``<h1>`` can hold the portal name, so the
platform title selectors come first and ``<title>`` loses its " - CỔNG THÔNG TIN ..." suffix.

Pagination is not uniform: ``?PageIndex=N`` links, ``span.CurrentPage + a`` and ASP.NET ``__doPostBack``
pagers (the link numbered one more than the current page, or "Tiếp"), which are replayed as form POSTs with
``__VIEWSTATE``/``__EVENTVALIDATION`` exactly as the page's own script posts them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

from parsel import Selector
from scrapy import Request
from scrapy.http import TextResponse

from portal_spiders.platforms._heuristics import numbered_next_request
from portal_spiders.platforms.base import ArticlePage, Platform

DATE_PREFIX = re.compile(r"^\s*Đăng\s+ngày\s*[:：]?\s*", re.I)


class TanDan(Platform):
    """Tân Dân SharePoint 2013 e-gov portal."""

    name = "tandan"
    description = "Tân Dân SharePoint 2013 e-government portals (/portal/Pages/..., tandan- CSS prefix)"
    detect_priority = 15
    # Not the bare prefix: a Liferay clone of the Thanh Hóa theme reuses ``tandan-div-article-other``.
    fingerprint_css = (".tandan-p-article-news-title", "span.tandan-span-date-publish", ".tandan-title-view",
                       ".tandan-p-article-main")
    fingerprint_re = (r"""href=["'][^"']*/portal/Pages/\d{4}-\d{1,2}-\d{1,2}/[^"']+\.aspx""",)
    case_insensitive_paths = True

    remove: ClassVar[tuple[str, ...]] = (
        ".tandan-div-article-other", "header", "footer", "nav", ".TD-ul-module-menu-left", ".tandan-breadcrumb",
        ".ms-webpart-chrome-title",
    )
    title = (".tandan-p-article-news-title", ".tandan-title-view")
    published = ("span.tandan-span-date-publish", ".tandan-date-view")
    summary = (".tandan-p-article-news-summary",)
    body = (".tandan-p-article-main", ".tandan-content-view", ".ms-rtestate-field", ".article-contents",
            "#art-content")
    tags = (".td-tags a",)
    category = (".tandan-breadcrumb a",)
    listing_links = (".channel-news-title a", ".tandan-p-article-news-title a", ".title-news a")
    next_page = ("span.CurrentPage + a", "a.next", "a[rel=next]")
    article_url_patterns = (r"^/(?:portal|en)/pages/\d{4}(?:-\d{1,2}){0,2}/[^/?#]+\.aspx$",)
    listing_url_patterns = (r"^/(?:portal|en)/(?:pages|kenhtin)/[^/?#]+\.aspx(?:$|\?)",
                            r"^/portal/?$", r"^/(?:portal/)?(?:pages/)?default\.aspx$")
    signature_url_patterns = (r"^/portal/(?:pages|kenhtin|photos|vanban)/", r"^/en/pages/\d{4}(?:-\d{1,2}){0,2}/")
    title_suffix_re = r"\s+[-|–]\s+(?:CỔNG|Cổng|TRANG|Trang)\b.*$"

    def _removals_for_listing(self) -> tuple[str, ...]:
        return (".tandan-div-article-other",)  # its links reuse the listing's title class

    def title_candidates(self, page: ArticlePage) -> list[tuple[str, Callable[[], Any]]]:
        # The generic <h1> of these portals holds the portal name: without the platform title, use <title>.
        return [c for c in super().title_candidates(page) if c[0] != "heuristic:h1"]

    def tag_candidates(self, page: ArticlePage) -> list[tuple[str, Callable[[], Any]]]:
        # ``.td-tags a`` first: the generic "Tags" label lookup would take the label anchor itself as a tag.
        css = [(f"css:{css}", lambda css=css: page.css_texts(css)) for css in self.selectors["tags"]]
        return [*css, *[c for c in super().tag_candidates(page) if not c[0].startswith("css:")]]

    def date_candidates(self, page: ArticlePage) -> list[tuple[str, Callable[[], Any]]]:
        # The platform's own date element is known; read it before labels and strip its "Đăng ngày" prefix.
        css = [(f"css:{css}", lambda css=css: DATE_PREFIX.sub("", page.css_text(css) or "") or None)
               for css in self.selectors["published"]]
        return [*css, *[c for c in super().date_candidates(page) if not c[0].startswith("css:")]]

    def next_page_requests(self, response: TextResponse, sel: Selector) -> Iterator[Request]:
        """The next page number's link (a postback replayed as a POST), pager links, else ``?PageIndex=N+1``."""
        request = numbered_next_request(self, response, sel)
        if request is not None:
            yield request
            return
        found = False
        for request in super().next_page_requests(response, sel):
            found = True
            yield request
        if found:
            return
        current = re.search(r"[?&]PageIndex=(\d+)", response.url, re.I)
        wanted = int(current.group(1)) + 1 if current else 2
        for href in sel.css("a::attr(href)").getall():
            m = re.search(r"[?&]PageIndex=(\d+)", href, re.I)
            if m and int(m.group(1)) == wanted:
                yield Request(response.urljoin(href))
                return
