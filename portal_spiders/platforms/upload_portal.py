"""The "/upload/<siteId>/" portal family: laichau.gov.vn, moit.gov.vn, kcb.vn, tulieuvankien.dangcongsan.vn ...

Known from real links (field guide §2.3): media and attachments live under ``/upload/<7-digit siteId>/<yyyymmdd>/
<name>_<5 hex>.<ext>`` or ``/upload/<siteId>/fck/files/<name>``; every sub-site of a province shares one site id.
The ``yyyymmdd`` folder is probably the *upload* date and is never read as the publish date. Detail URLs are
``/<section>/<slug>.html`` (sometimes with ``?categoryId=``) or ``/<section>/<slug>-<id>``. Scraper-reported for
moit.gov.vn only: listing links ``a.article-title``, body ``.article-content``, pager ``a.next``.

Title, date, author and tag markup is *not seen*. Extraction therefore leans on the visible labels
(``Ngày đăng:``, ``Tác giả:``, ``Từ khóa:``, ``Tệp đính kèm``) and on meta tags first; the CSS selectors below
are plausible guesses, and each field records its source so a different real layout shows up in coverage.
Attachments fall back to document links into ``/upload/<siteId>/`` inside the article.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, ClassVar

from portal_spiders.platforms.base import ATTACHMENT_EXT, ArticlePage, Platform

UPLOAD_PATH = re.compile(r"/upload/\d{5,8}/(?:\d{8}|fck/files)/", re.I)


class UploadPortal(Platform):
    """The ``/upload/<siteId>/`` portal product."""

    name = "upload_portal"
    description = "The '/upload/<siteId>/' portal product (laichau.gov.vn, moit.gov.vn, kcb.vn, tulieuvankien)"
    detect_priority = 40
    fingerprint_re = (r"""(?:src|href)=["'][^"']*/upload/\d{7}/(?:\d{8}|fck/files)/""",)

    remove: ClassVar[tuple[str, ...]] = (
        "header", "footer", "nav", ".menu", ".breadcrumb", ".related-news", ".article-related", ".other-news",
        ".box-other", ".sidebar",
    )
    # Inferred (not seen): the detail page is assumed to reuse the listing's ``article-*`` naming.
    title = ("h1.article-title", ".article-detail h1", ".article-header h1")
    published = (".article-date", ".article-meta .date", ".article-detail .date")
    author = (".article-author", ".article-detail .author")
    summary = (".article-sapo", ".article-summary", ".article-detail .sapo")
    body = (".article-content",)
    tags = (".article-tags a", ".article-detail .tags a")
    attachments = (".article-attachments a", ".article-files a")
    category = (".breadcrumb a",)
    listing_links = ("a.article-title",)
    next_page = ("a.next", ".pagination a.next", "a[rel=next]")
    # Seen: /tin-tuc-su-kien/chuyen-de/tin-trong-nuoc/<slug>.html (laichau), /tin-tuc/<slug>.html?categoryId=
    # (kcb.vn), /cai-cach-hanh-chinh/<slug>-610697 (namnhun), /he-thong-van-ban/.../<slug>-5058 (tulieuvankien).
    article_url_patterns = (r"^/[a-z0-9-]+(?:/[a-z0-9-]+)*/[a-z0-9-]+(?:\.html|-\d{3,})(?:$|\?)",)
    listing_url_patterns = (r"^/[a-z0-9-]+(?:/[a-z0-9-]+)*/?(?:$|\?)", r"^/api/Content/Article/", r"^/$")
    signature_url_patterns = (r"^/upload/\d{7}/(?:\d{8}|fck)/",)

    def attachment_candidates(self, page: ArticlePage) -> list[tuple[str, Callable[[], Any]]]:
        return [*super().attachment_candidates(page),
                ("heuristic:upload-links", lambda: self.upload_links(page))]

    def upload_links(self, page: ArticlePage) -> list[dict[str, str]]:
        """Document links into ``/upload/<siteId>/`` around the article body (not in page chrome)."""
        body, _ = page.body_element(self.selectors["body"])
        if body is None:
            return []
        scope = body.getparent() if body.getparent() is not None else body
        return page._links(a for a in scope.iter("a")
                           if UPLOAD_PATH.search(a.get("href") or "") and ATTACHMENT_EXT.search(a.get("href") or ""))
