"""Liferay 6/7 asset publisher portals: bacgiang.gov.vn, moh.gov.vn, ncov.moh.gov.vn, hochiminhcity.gov.vn,
danang.gov.vn, bacninh.gov.vn, quangngai.gov.vn.

URL shapes seen (registry evidence): details ``/web/<site>/-/<slug>`` (``/web/hcm/-/``, ``/web/dng/-/``,
``/web/guest/-/``), bare ``/-/<slug>`` (moh.gov.vn), ``/-/asset_publisher/<instance>/content/<slug>``, bacninh's
``/-/details/<group>/<slug>-<id>`` and the Liferay 7.4 form ``/vi/web/hcm/w/<slug>``; listings are pages with an
asset publisher, paged by ``_<portlet>_INSTANCE_<id>_cur=<n>`` (a real ncov.moh.gov.vn pager links
``…AssetPublisherPortlet_INSTANCE_q4USy75NdpUZ_delta=5&p_r_p_resetCur=false&…_cur=2`` under "Tiếp theo").
hochiminhcity.gov.vn lists ``.news-items .news-item`` with the title in ``.asset-publisher-title`` and the date in
``.text-date-sklh``; its details put the title in ``.title-divvv``, the date in ``.sp-dislaydate`` and the lead in
``.text-summary`` (scraper-reported). bacninh.gov.vn's custom ``newsbycategory_WAR_bacninhportlet`` fills its list
from a JSON resource (``loadPageURL`` … ``p_p_resource_id=loadPage``, parameters ``pageNum``/``recordPerPage``,
answer ``{"items": [{"urlDetail", "id", "title", "createdDate"}], "totalPageNum"}``); details
``h1#contentDetailTitleId``, ``div#sapoDetailId``, ``div#contentDetail`` (scraper-reported).

Seen on real pages (ncov.moh.gov.vn detail and "Chỉ đạo điều hành" listing saved in 2021; fixtures
``tests/fixtures/liferay/ncov-moh-*``): the detail is an ``.asset-full-content`` whose title is
``h4.component-title span.asset-title`` — the page's first ``<h1>`` is the screen-reader "Product Admin Menu"
(``.sr-only``/``.hide-accessible`` are removed) —, whose body ``.journal-content-article`` opens with the date line
``<span class="text-ngayxam-page">(Thứ bảy, 22/05/2021 11:38)</span>`` (read, then kept out of the body) and a
bold lead, and ends with a bold byline and a "Nguồn:" credit; a "Tin đọc nhiều" most-viewed publisher sits beside
it. The listing is an asset publisher with a featured ``h2`` item and ``a.text-tletin`` items, each with
``<small class="text-muted">Thứ hai, 24/05/2021, 20:22</small>``, and a real pager href.

Known (field guide §2.5, scraper-reported for bacgiang.gov.vn): listings are ``.portlet-asset-publisher``
blocks whose article links contain ``/web/guest/-/`` or ``/-/asset_publisher/``; the detail title is
``.title-news h1`` (the portlet's own ``h1.portlet-title`` is chrome), the body ``.journal-content-article``,
and the date line carries the "Lượt xem" view counter. moh.gov.vn prints ``Thứ Sáu, ngày dd/MM/yyyy HH:mm``
with a weekday that can be wrong (the date parser ignores weekdays). Documents live under ``/documents/``.

Pagination is the hard part: the pager ``.lfr-pagination-buttons`` may only hold ``javascript:`` links, and
the real page URLs carry portlet parameters (``p_p_id=<portlet>_INSTANCE_<id>`` and ``_<portlet>_cur=<n>``)
whose instance id changes whenever the site is rebuilt. The id is therefore read from the listing page at
crawl time (the ``p_p_id_<id>_`` wrapper around the pager) and never configured.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from parsel import Selector
from scrapy import Request
from scrapy.http import TextResponse

from portal_spiders.items import ArticleItem
from portal_spiders.platforms._heuristics import (
    italic_captions,
    strip_view_counter,
    summary_with_bold_lead,
    trailing_byline,
)
from portal_spiders.platforms.base import (
    DATE_HINT,
    ITEM_LINKS,
    ArticlePage,
    ListingEntry,
    ListingPage,
    Platform,
    css_select,
    css_select_each,
    inline_text,
    more_links_than,
)

NEXT_LABELS = re.compile(r"^(?:tiếp|tiếp theo|trang sau|sau|next|›|»|→)", re.I)
PORTLET_ID = re.compile(r"^(?:p_p_id_|portlet_)(?P<id>.+?_INSTANCE_[A-Za-z0-9]+)_?$")
LOAD_PAGE_URL = re.compile(r"""loadPageURL\s*[:=]\s*['"]([^'"]+)['"]""")
LOAD_PAGE_ANY = re.compile(r"""['"]((?:https?://[^'"]+)?[^'"]*p_p_resource_id=loadPage[^'"]*)['"]""")
LOAD_PAGE_SIZE = 50


class Liferay(Platform):
    """Liferay 6/7 with the asset publisher portlet."""

    name = "liferay"
    description = "Liferay 6/7 asset publisher portals (bacgiang.gov.vn, moh.gov.vn, ncov.moh.gov.vn)"
    detect_priority = 30
    fingerprint_re = (r"/-/asset_publisher/", r"""["'/]web/guest/""", r"[?&;]p_p_id=",
                      r"Liferay\.(?:Portlet|ThemeDisplay)")

    remove: ClassVar[tuple[str, ...]] = (
        "header", "footer", "nav", "#banner", "#footer", ".portlet-title", ".portlet-topper", ".breadcrumbs",
        ".lfr-pagination-buttons", ".taglib-page-iterator", ".taglib-social-bookmarks", ".taglib-ratings",
        ".asset-links", ".related", ".related-news", ".tin-lien-quan", ".other-news", ".tin-khac", ".print-share",
        ".lfr-meta-actions",
        # Screen-reader-only headings: a real ncov.moh.gov.vn page's first <h1> is "Product Admin Menu".
        ".sr-only", ".hide-accessible",
    )
    #: Date lines inside the article body (a real ncov.moh.gov.vn detail opens its body with
    #: ``<span class="text-ngayxam-page">(Thứ bảy, 22/05/2021 11:38)</span>``): read, then kept out of the body.
    body_date_lines: ClassVar[tuple[str, ...]] = (".text-ngayxam-page",)
    article_url_patterns = (
        r"(?:^|/)-/(?!asset_publisher/[^/?#]+/?(?:$|\?))[^?#]+",  # /web/<site>/-/<slug>, /-/<slug>, /-/details/...
        r"/web/[^/?#]+/w/[^/?#]+",  # Liferay 7.4: /vi/web/hcm/w/<slug>
        r"[?&]_[^=&]*_(?:articleId|urlTitle)=",
    )
    listing_url_patterns = (
        r"[?&]p_p_id=", r"_cur=\d+", r"p_p_resource_id=loadPage",
        r"^/(?:[a-z]{2}(?:_[A-Z]{2})?/)?web/[^/?#]+(?:/[^/?#-][^/?#]*)*/?(?:$|\?)",
        r"^/[^/?#]+/?(?:$|\?)",  # friendly page URLs: /chinh-tri, /tin-t%E1%BB%A9c-s%E1%BB%B1-ki%E1%BB%87n-all-
    )
    feed_url_patterns = (r"/rss/-/asset_publisher/", r"(?:^|/)rss(?:/|\.|$)|\.rss$")
    signature_url_patterns = (
        r"/-/asset_publisher/", r"/web/[^/?#]+/-/", r"/web/[^/?#]+/w/", r"[?&]p_p_id=", r"_INSTANCE_\w+_cur=",
        r"/-/details/\d+/", r"^/documents/\d+/\d+/", r"^/documents/d/[^/]+/", r"^/image/journal/article\?img_id=",
        r"p_p_resource_id=", r"_WAR_\w+portlet", r"^/(?:[a-z]{2}(?:_[A-Z]{2})?/)?web/guest(?:/|$)",
    )

    title = (".title-news h1", "h1#contentDetailTitleId", ".title-divvv", ".asset-full-content h1.title",
             ".asset-full-content .asset-title", ".asset-publisher-detail h1", "h3.header-title",
             "h1:not(.portlet-title)")
    published = (".title-news .date-news", ".title-news .date", ".date-news", ".sp-dislaydate", ".news-date",
                 ".asset-full-content .date", ".asset-metadata .metadata-publish-date", ".more-info")
    summary = (".title-news .sapo", "div#sapoDetailId", ".text-summary", ".journal-content-article .sapo", ".sapo",
               ".news-sapo", ".asset-summary")
    body = (".journal-content-article", "div#contentDetail", ".asset-full-content .asset-content", ".asset-content")
    author = (".journal-content-article .author", ".asset-full-content .author")
    tags = (".taglib-asset-tags-summary a", ".asset-tags a")
    attachments = (".journal-content-article a[href*='/documents/']", ".asset-full-content a[href*='/documents/']")
    category = (".breadcrumbs a", ".breadcrumb a")
    listing_links = (
        ".portlet-asset-publisher a[href*='/-/'], .portlet-asset-publisher a[href*='/w/']",
        ".news-items .news-item a[href*='/-/'], .news-items .news-item a[href*='/w/']",
    )
    next_page = (".lfr-pagination-buttons a", ".taglib-page-iterator .page-links a", ".pagination a")

    # -- listing -----------------------------------------------------------------------------------------

    def parse_listing(self, response: TextResponse) -> ListingPage:
        """A listing page, or the JSON page of a ``loadPage`` resource (bacninh.gov.vn)."""
        data = _json(response)
        if isinstance(data, dict) and isinstance(data.get("items"), list):
            return self.load_page_listing(response, data)
        return super().parse_listing(response)

    def load_page_listing(self, response: TextResponse, data: dict[str, Any]) -> ListingPage:
        """Entries of a ``loadPage`` JSON answer and the request for the following page."""
        referer = response.meta.get("load_page_of") or response.url
        entries = []
        for item in data["items"]:
            if not isinstance(item, dict):
                continue
            url = item.get("urlDetail")
            if not url and item.get("id"):
                url = (f"{referer.split('?', 1)[0]}?p_p_id=newsbycategory_WAR_bacninhportlet&p_p_lifecycle=0"
                       f"&_newsbycategory_WAR_bacninhportlet_articleId={item['id']}")
            if url:
                entries.append(ListingEntry(url=response.urljoin(str(url)), title=item.get("title") or None,
                                            published=item.get("createdDate") or None))
        params = dict(parse_qsl(urlsplit(response.url).query, keep_blank_values=True))
        page = int(params.get("pageNum") or 1)
        total = int(data.get("totalPageNum") or 0)
        requests = []
        if entries and page < total:
            requests.append(Request(_with_params(response.url, pageNum=page + 1), meta={"load_page_of": referer}))
        return ListingPage(entries=entries, next_requests=requests, article_links=len(entries))

    def listing_entries(self, response: TextResponse, sel: Selector) -> list:
        """Asset publisher links, without the publisher's own "more"/paging links."""
        # Sidebars ("Tin đọc nhiều") are asset publishers too: read the one with the pager, else the one holding
        # the most article links.
        links = self.selectors["listing_links"][0].replace(".portlet-asset-publisher ", "")
        publishers = css_select(sel, ".portlet-asset-publisher")
        scope = sel
        if len(publishers) > 1:  # linear CSS: parsel's evaluation of a link chain grows with its square
            publishers.sort(key=lambda p: (not css_select(p, ".lfr-pagination-buttons, .taglib-page-iterator"),
                                           -len(css_select(p, links))))
            scope = Selector(root=publishers[0], type="html")
        entries = super().listing_entries(response, scope)
        kept = [e for e in entries if "_cur=" not in e.url and self.classify_url(e.url) == "article"]
        # An item has an image link and a title link to the same URL: keep the title of either (the title link
        # may sit outside the publisher's link selector).
        missing = {e.url for e in kept if not e.title}
        if missing:
            titles: dict[str, str] = {}
            for a in sel.root.iter("a"):
                url = response.urljoin(a.get("href") or "")
                text = inline_text(a) if url in missing and url not in titles else ""
                if text:
                    titles[url] = text
            for entry in kept:
                entry.title = entry.title or titles.get(entry.url) or None
        return kept

    def next_page_requests(self, response: TextResponse, sel: Selector) -> Iterator[Request]:
        """The next listing page: a real pager href, else a ``_cur`` URL for the discovered portlet instance;
        a page whose list comes from a ``loadPage`` resource asks that resource for its first JSON page; a page
        without any of Liferay's own pagers gets the generic pager search of every platform."""
        load = LOAD_PAGE_URL.search(response.text) or LOAD_PAGE_ANY.search(response.text)
        if load:
            url = _with_params(response.urljoin(load.group(1).replace("&amp;", "&")), pageNum=1,
                               recordPerPage=LOAD_PAGE_SIZE, keyword="")
            yield Request(url, meta={"load_page_of": response.url})
            return
        found = list(self._liferay_next(response, sel))
        if found or self._liferay_pager(sel, response.text):
            yield from found
            return
        yield from super().next_page_requests(response, sel)

    def _liferay_pager(self, sel: Selector, text: str) -> bool:
        return any(css_select_each(sel, self.selectors["next_page"], text=text))

    def _liferay_next(self, response: TextResponse, sel: Selector) -> Iterator[Request]:
        for links in css_select_each(sel, self.selectors["next_page"], text=response.text):
            for a in links:
                label = inline_text(a).lower()
                if not NEXT_LABELS.match(label) and "next" not in (a.get("class") or ""):
                    continue
                li = a.getparent()
                if li is not None and "disabled" in (li.get("class") or ""):
                    return
                href = (a.get("href") or "").strip()
                if href and not href.startswith(("javascript:", "#")):
                    yield Request(response.urljoin(href))
                    return
                url = self.cur_url(response, a)
                if url:
                    yield Request(url)
                return

    def cur_url(self, response: TextResponse, pager_link: Any) -> str | None:
        """The URL of the page after the current one, built from the portlet instance around the pager."""
        portlet = None
        for node in pager_link.iterancestors():
            m = PORTLET_ID.match(node.get("id") or "")
            if m:
                portlet = m.group("id")
                break
        if portlet is None:  # a pager outside its wrapper: any asset publisher instance on the page
            m = re.search(r"\bp_p_id_(\w+?_INSTANCE_[A-Za-z0-9]+)_", response.text)
            portlet = m.group(1) if m else None
        if portlet is None:
            return None
        parts = urlsplit(response.url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        params = dict(query)
        current = int(params.get(f"_{portlet}_cur") or 1)
        pager = pager_link.getparent().getparent() if pager_link.getparent() is not None else None
        if pager is not None:  # the highlighted page number beats the URL (the first page has no _cur)
            for li in pager.iter("li"):
                if "active" in (li.get("class") or "") and inline_text(li).isdigit():
                    current = int(inline_text(li))
        keep = [(k, v) for k, v in query if not k.startswith(("p_p_", f"_{portlet}_", "p_r_p_"))]
        new = [("p_p_id", portlet), ("p_p_lifecycle", "0"), ("p_p_state", "normal"), ("p_p_mode", "view")]
        delta = params.get(f"_{portlet}_delta")
        if delta:
            new.append((f"_{portlet}_delta", delta))
        new += [("p_r_p_resetCur", "false"), (f"_{portlet}_cur", str(current + 1))]
        return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(keep + new), ""))

    # -- article -----------------------------------------------------------------------------------------

    def date_candidates(self, page: ArticlePage) -> list[tuple[str, Callable[[], Any]]]:
        """Base candidates, with the view counter cut off the visible date lines."""
        def uncounted(fn: Callable[[], Any]) -> Callable[[], Any]:
            def call() -> Any:
                value = fn()
                return strip_view_counter(value) if isinstance(value, str) else value
            return call

        inline = [(f"css:{css}", lambda css=css: page.css_block_text(css)) for css in self.body_date_lines]
        return [(source, uncounted(fn)) for source, fn in [*inline, *super().date_candidates(page)]]

    def _listing_date(self, link: Selector | Any) -> str | None:
        """The whole date element beside a listing link (``<small>Thứ hai, 24/05/2021, 20:22</small>``), else
        the base class's window of text around the first date (both within the link's own item: linear)."""
        node = getattr(link, "root", link)
        for _ in range(3):
            node = node.getparent()
            if node is None or more_links_than(node, ITEM_LINKS):
                break
            for el in node.iter("small", "time", "span", "p", "div"):
                if el.find(".//a") is not None:  # first: the cheap test, and the link's own container fails it
                    continue
                text = inline_text(el)
                if len(text) <= 40 and DATE_HINT.search(text):
                    return text
        return super()._listing_date(link)

    def summary_candidates(self, page: ArticlePage) -> list[tuple[str, Callable[[], Any]]]:
        """Sapo selectors, then the bold first paragraph of the article (moh.gov.vn), then metadata."""
        return summary_with_bold_lead(page, self.selectors["body"], super().summary_candidates(page))

    def fill(self, page: ArticlePage, item: ArticleItem) -> None:
        """Base extraction; images get the italic caption paragraph that follows them."""
        super().fill(page, item)
        body, _ = page.body_element(self.selectors["body"])
        if body is not None and item.images:
            captions = italic_captions(body)
            for image, caption in zip(item.images, captions, strict=False):
                image["caption"] = image["caption"] or caption

    def author_candidates(self, page: ArticlePage) -> list[tuple[str, Callable[[], Any]]]:
        """Labels and metadata first, then the bold last paragraph of the article."""
        return [*super().author_candidates(page),
                ("heuristic:byline", lambda: trailing_byline(page, self.selectors["body"]))]


def _json(response: TextResponse) -> Any:
    """The decoded body of a JSON answer, else ``None``."""
    ctype = (response.headers.get("Content-Type") or b"").decode("latin-1").lower()
    text = response.text.lstrip()
    if "json" not in ctype and not text.startswith("{"):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _with_params(url: str, **params: Any) -> str:
    """``url`` with ``params`` set (replacing any of the same name)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    query += [(k, str(v)) for k, v in params.items()]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))
