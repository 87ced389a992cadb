"""The fallback for portals whose engine is not identified (Drupal, Plone, custom ASP.NET/PHP CMSs ...).

Never detected: it is chosen only when neither the registry nor a fingerprint names a platform. Discovery
leans on feeds and sitemaps (registry ``feeds``/``sitemaps``, and ``<link rel=alternate>`` feeds found on
listing pages); listing links are picked by what article URLs look like. Extraction runs the base cascade
(labels, JSON-LD/meta, common CMS selectors such as Drupal's and Plone's, heuristics), then trafilatura for
title, body and author when nothing was found, and htmldate as a page-level date fallback (never trusted for
a bare ``YYYY-01-01``). Every date still goes through :func:`portal_spiders.dates.parse_date_info`.
Trafilatura drops the sapo, so the lead comes from the meta description or the first bold paragraph.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any, ClassVar
from urllib.parse import urlsplit

import lxml.html
from parsel import Selector
from scrapy import Request
from scrapy.http import TextResponse
from scrapy.utils.response import get_base_url

from portal_spiders.dates import parse_date_info
from portal_spiders.items import ArticleItem
from portal_spiders.platforms._heuristics import numbered_next_request, strip_view_counter, summary_with_bold_lead
from portal_spiders.platforms.base import (
    ArticlePage,
    ListingEntry,
    ListingPage,
    Platform,
    inline_text,
    is_feed_key,
    join_url,
    same_host,
)
from portal_spiders.text import clean_multiline, clean_text
from portal_spiders.urls import split_url

# What an article URL looks like: an id in the last segment, an id parameter, a Drupal node, a title-long slug. Section
# slugs run to seven words ("tin-hoat-dong-so-nganh-dia-phuong" on khanhhoa.gov.vn, "thong-tin-chi-dao-dieu-hanh" on
# gialai.gov.vn: real listing URLs), so a slug needs eight words to pass for a title.
ARTICLE_PATH = re.compile(
    r"(?:\d{4,}[^/]*$|-\d+\.(?:html?|aspx)$|/node/\d+$|/(?:[^/?#.]+-){7,}[^/?#.]+(?:\.html?|\.aspx)?$)", re.I)
ARTICLE_QUERY = re.compile(r"(?:^|&)(?:id|itemid|newsid|idtin|docid|articleid|nid)=\d+", re.I)
NOT_ARTICLE = re.compile(
    r"/(?:tag|tags|category|danh-muc|chuyen-muc|search|tim-kiem|page|trang|lien-he|contact|login|dang-nhap|rss)"
    r"(?:/|$|\.)|[?&](?:page|p|trang)=\d+$|\.(?:jpe?g|png|gif|pdf|docx?|xlsx?|zip|rar|mp[34])(?:$|\?)", re.I)
MIN_BODY_CHARS = 80  # the base heuristic's threshold for a text block
LINK_TAG = re.compile(r"<link\b[^>]*>", re.I)
COMMENT = re.compile(r"<!--.*?-->", re.S)
SUBMITTED = re.compile(r"^\s*(?:Submitted|Posted|Đăng)\s+by\s+(?P<who>.+?)\s+on\s+(?P<when>.+)$", re.I)


@lru_cache(maxsize=65536)
def _generic_kind(platform: type[Platform], url: str) -> str:
    _scheme, _netloc, path, query = split_url(url)
    if is_feed_key(platform, path):
        return "feed"
    if NOT_ARTICLE.search(url):
        return "listing"
    if ARTICLE_PATH.search(path) or ARTICLE_QUERY.search(query):
        return "article"
    return "listing"


class Generic(Platform):
    """Fallback extraction for unidentified engines."""

    name = "generic"
    description = "fallback for unidentified engines: heuristics, trafilatura and htmldate"
    detect_priority = 1000

    remove: ClassVar[tuple[str, ...]] = (
        "header", "footer", "nav", "aside", "#header", "#footer", ".header", ".footer", ".menu", "#menu", ".navbar",
        ".breadcrumb", ".breadcrumbs", "#portal-breadcrumbs", ".sidebar", "#sidebar", ".region-sidebar-first",
        ".region-sidebar-second", "#portal-column-one", "#portal-column-two", "#portal-header", "#portal-footer",
        ".documentActions", "#viewlet-below-content", ".related", ".related-news", ".tin-lien-quan",
        ".box-tinlienquan", ".other-news", ".tin-khac", ".tin-cung-chuyen-muc", ".share", ".social", ".print",
        "#comments", ".comments", ".comment-wrapper", ".links.inline", ".pager", ".pagination",
    )
    title = ("h1.documentFirstHeading", "h1.page-title", "h1.node__title", "article h1", "h1.entry-title",
             "h1.title", ".news-detail h1", ".detail h1")
    published = (".node__submitted", ".submitted", ".documentByLine .documentPublished", ".documentByLine",
                 ".post-date", ".entry-date", ".news-date", ".date-time", ".ngay-dang", ".date")
    summary = (".documentDescription", ".field--name-field-summary", ".sapo", ".lead", ".summary", ".news-sapo")
    body = ("#content-core div.plain", ".documentContent div.plain", "div.plain", "[itemprop=articleBody]",
            ".field--name-body", ".field-name-body", ".node__content .field-item", ".entry-content",
            ".news-content", ".content-detail", ".noidung", ".article-content")
    author = (".node__submitted .username", ".submitted .username", ".documentAuthor a", "[rel=author]",
              ".author", ".tac-gia")
    tags = (".field--name-field-tags a", ".field-name-field-tags a", "#category .link-category", ".tags a")
    attachments = (".field--type-file a", ".attachment a", ".file a")
    category = (".breadcrumb a", "#portal-breadcrumbs a", ".breadcrumbs a")
    next_page = ("a[rel=next]", "li.pager__item--next a", "li.pager-next a", ".listingBar .next a", "a.next",
                 "li.next a", ".pagination a.next")

    @classmethod
    def detect(cls, html: str) -> bool:
        """Never: the generic platform is only a fallback."""
        return False

    @classmethod
    def classify_url(cls, url: str) -> str | None:
        """What an article URL looks like on unknown engines (an id, a long slug); other same-site pages list."""
        return _generic_kind(cls, url)

    @classmethod
    def has_signature(cls, url: str) -> bool:
        """Never: an unidentified engine has no URL shape of its own."""
        return False

    # -- listing -----------------------------------------------------------------------------------------

    def _removals_for_listing(self) -> tuple[str, ...]:
        return ("header", "footer", "nav", "aside", "#header", "#footer", ".header", ".footer", ".menu", "#menu",
                ".navbar", ".breadcrumb", ".sidebar", "#sidebar", "#portal-column-one", "#portal-column-two",
                ".region-sidebar-first", ".region-sidebar-second", "#portal-header", "#portal-footer")

    def parse_listing(self, response: TextResponse) -> ListingPage:
        """Article links and next page, plus the same-host RSS/Atom feeds the page advertises."""
        listing = super().parse_listing(response)
        host = (urlsplit(response.url).hostname or "").removeprefix("www.")
        # only the page's <link> tags are parsed (the cleaned tree has none; parsing a big page again costs more)
        tags = LINK_TAG.findall(COMMENT.sub("", response.text))
        raw = Selector(text="".join(tags) or "<html></html>")
        for href in raw.css('link[rel~=alternate][type="application/rss+xml"]::attr(href), '
                            'link[rel~=alternate][type="application/atom+xml"]::attr(href)').getall():
            url = response.urljoin(href.strip())
            if (urlsplit(url).hostname or "").removeprefix("www.") == host and url not in listing.feeds:
                listing.feeds.append(url)
        return listing

    def listing_entries(self, response: TextResponse, sel: Selector) -> list[ListingEntry]:
        """Same-host links in the page's main content whose URL looks like an article."""
        on_page_host = same_host(response.url)
        base = get_base_url(response)
        scope = sel.css("main, #content, #region-content, .region-content, [role=main]") or [sel]
        seen: dict[str, ListingEntry] = {}
        for a in scope[0].root.iter("a"):  # lxml elements: a parsel selector per link costs more than the link
            href = (a.get("href") or "").strip()
            if not href:
                continue
            if href.startswith(("javascript:", "#", "mailto:", "tel:")):
                continue
            url = join_url(base, href)
            # the classification is cached: the article-link count asks again for every link
            if self.classify_url(url) != "article" or not on_page_host(url):
                continue
            text = inline_text(a)
            if url in seen:
                seen[url].title = seen[url].title or text or None
            else:
                seen[url] = ListingEntry(url=url, title=text or None, published=self._listing_date(a))
        return list(seen.values())

    def next_page_requests(self, response: TextResponse, sel: Selector) -> Iterator[Request]:
        """Next links first; else the pager link numbered one past the current page (a postback is replayed as the
        page's own form posts it: khanhhoa.gov.vn pages its listings only this way)."""
        found = False
        for request in super().next_page_requests(response, sel):
            found = True
            yield request
        if found:
            return
        request = numbered_next_request(self, response, sel)
        if request is not None:
            yield request

    # -- article -----------------------------------------------------------------------------------------

    def author_candidates(self, page: ArticlePage) -> list[tuple[str, Callable[[], Any]]]:
        """Base candidates, plus Drupal's "Submitted by X on <date>" byline."""
        return [*super().author_candidates(page), ("heuristic:submitted-by", lambda: self._submitted(page, "who"))]

    def date_candidates(self, page: ArticlePage) -> list[tuple[str, Callable[[], Any]]]:
        """Base candidates (view counters cut off visible dates); "Submitted by" before the CSS guesses."""
        candidates = [("heuristic:submitted-by", lambda: self._submitted(page, "when"))]
        for source, fn in super().date_candidates(page):
            candidates.append((source, (lambda fn=fn: _uncounted(fn()))))
        return candidates

    def summary_candidates(self, page: ArticlePage) -> list[tuple[str, Callable[[], Any]]]:
        """Base candidates, then the body's bold first paragraph."""
        return summary_with_bold_lead(page, self.selectors["body"], super().summary_candidates(page))

    @staticmethod
    def _submitted(page: ArticlePage, group: str) -> str | None:
        for node in page.select(".submitted, .node__submitted, .node-submitted, .meta.submitted"):
            m = SUBMITTED.match(inline_text(node))
            if m:
                return m.group(group)
        return None

    def fill(self, page: ArticlePage, item: ArticleItem) -> None:
        """Base extraction, then trafilatura and htmldate for whatever is still missing."""
        super().fill(page, item)
        src = item.field_sources
        if not (item.title and item.body_text and item.author):
            self._trafilatura(page, item)
        if not item.published and not item.published_raw:  # an impossible visible date is not replaced by a guess
            self._htmldate(page, item)
        for key in [k for k, v in src.items() if v is None]:
            del src[key]

    def _trafilatura(self, page: ArticlePage, item: ArticleItem) -> None:
        import trafilatura

        cleaned = lxml.html.tostring(page.root, encoding="unicode")
        try:
            doc = trafilatura.bare_extraction(cleaned, url=page.response.url, include_comments=False,
                                              include_tables=True, with_metadata=True, favor_precision=True)
        except Exception:  # trafilatura gives up on some malformed trees; the base fields stand
            return
        if doc is None:
            return
        src = item.field_sources
        if not item.title and clean_text(getattr(doc, "title", None)):
            item.title = self.strip_title_suffix(doc.title)
            src["title"] = "trafilatura:title"
        if not item.body_text and clean_multiline(getattr(doc, "text", None)):
            paragraphs = [p for p in (clean_text(line) for line in doc.text.split("\n")) if p]
            if item.summary and paragraphs and paragraphs[0] == clean_text(item.summary):
                paragraphs = paragraphs[1:]
            # a few words ("404 - Không tìm thấy trang") are an error page, not an article body
            if sum(len(p) for p in paragraphs) >= MIN_BODY_CHARS:
                item.body_text = "\n\n".join(paragraphs)
                item.body_html = "".join(f"<p>{html_lib.escape(p)}</p>" for p in paragraphs)
                src["body"] = "trafilatura:body"
        author = clean_text(getattr(doc, "author", None))
        if not item.author and author and len(author) <= 80 and not self._names_the_site(page, author):
            item.author = author
            src["author"] = "trafilatura:author"

    @staticmethod
    def _names_the_site(page: ArticlePage, author: str) -> bool:
        """Whether a metadata "author" is the publishing site itself (``DC.Creator`` "Huyện Hàm Yên" on the
        "Cổng Thông tin điện tử Huyện Hàm Yên" portal): a publisher, not a byline."""
        names = [page.meta("og:site_name"), page.select_first('meta[name="DC.Publisher"]::attr(content)', raw=True)]
        return any(name and author.casefold() in name.casefold() for name in names)

    def _htmldate(self, page: ArticlePage, item: ArticleItem) -> None:
        from htmldate import find_date

        try:
            found = find_date(page.response.text, url=page.response.url, original_date=True,
                              extensive_search=False, outputformat="%Y-%m-%d %H:%M")
        except Exception:  # htmldate raises on some broken documents; no date is better than a crash
            return
        # htmldate falls back to January 1st when it only found a year: never a publish date.
        if not found or found[5:10] == "01-01":
            return
        parsed = parse_date_info(found.removesuffix(" 00:00"), now=page.now)
        if parsed is not None:
            item.published, item.published_raw, item.published_precision = (
                parsed.isoformat(), found, parsed.precision)
            item.field_sources["published"] = "htmldate:published"


def _uncounted(value: Any) -> Any:
    return strip_view_counter(value) if isinstance(value, str) else value
