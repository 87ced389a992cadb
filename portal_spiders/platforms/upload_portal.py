"""The "/upload/<siteId>/" portal family: laichau.gov.vn, moit.gov.vn, kcb.vn, tulieuvankien.dangcongsan.vn ...

Known from real links (field guide §2.3): media and attachments live under ``/upload/<7-digit siteId>/<yyyymmdd>/
<name>_<5 hex>.<ext>`` or ``/upload/<siteId>/fck/files/<name>``; every sub-site of a province shares one site id.
The ``yyyymmdd`` folder is probably the *upload* date and is never read as the publish date. Detail URLs are
``/<section>/<slug>.html`` (sometimes with ``?categoryId=``) or ``/<section>/<slug>-<id>``. Scraper-reported for
moit.gov.vn only: listing links ``a.article-title``, body ``.article-content``, pager ``a.next``.

Seen on a real page of the product (luongbang.hungyen.gov.vn, an HTTrack copy; its assets sit under
``css/1.521572/2005517/3432/`` and ``Project/MOIT/``, 2005517 being moit.gov.vn's site id; fixture
``upload_portal/luongbang-hungyen-article``): modules are ``div.ModuleWrapper[modulerootid]``; the detail is
``article.article-new`` whose ``header`` holds ``span.post-date`` (``23/03/2026 | lượt xem: 471``, day only), then
an outer ``div.article-content`` with an empty ``h2.article-title``, ``h1.article-title``, ``.article-brief`` (the
sapo, often empty), the text ``div#container.common-content``, and two right-aligned lines ``Tác giả: …`` and
``Nguồn: …``; the related box is ``.frame-tinlquan`` (``article.article-news .article-title a``). Detail URLs are
one segment, ``/<slug>-c<id>.html``; sections ``/chuyen-muc-<slug>-c<id>-<page>.html``. The page fills meta
description and keywords with the title. Tag markup is *not seen*: extraction leans on the visible labels
(``Tác giả:``, ``Từ khóa:``, ``Tệp đính kèm``) and on meta tags; attachments fall back to document links.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, ClassVar

from portal_spiders.platforms._heuristics import strip_view_counter
from portal_spiders.platforms.base import ATTACHMENT_EXT, ArticlePage, Platform

UPLOAD_PATH = re.compile(r"/upload/\d{5,8}/(?:\d{8}|fck/files)/", re.I)


class UploadPortal(Platform):
    """The ``/upload/<siteId>/`` portal product."""

    name = "upload_portal"
    description = "The '/upload/<siteId>/' portal product (laichau.gov.vn, moit.gov.vn, kcb.vn, tulieuvankien)"
    detect_priority = 40
    fingerprint_re = (r"""(?:src|href)=["'][^"']*/upload/\d{7}/(?:\d{8}|fck/files)/""",
                      r"""href=["'][^"']*\bcss/\d+\.\d+/\d{7}/\d+/style""")

    remove: ClassVar[tuple[str, ...]] = (
        "header", "footer", "nav", ".menu", ".breadcrumb", ".related-news", ".article-related", ".other-news",
        ".box-other", ".sidebar",
    )
    # h1.article-title, .post-date, .article-brief and .article-content are seen; the others are guesses.
    title = ("h1.article-title", ".article-detail h1", ".article-header h1")
    published = (".post-date", ".article-date", ".article-meta .date", ".article-detail .date")
    author = (".article-author", ".article-detail .author")
    summary = (".article-brief", ".article-sapo", ".article-summary", ".article-detail .sapo")
    body = (".article-content",)
    tags = (".article-tags a", ".article-detail .tags a")
    attachments = (".article-attachments a", ".article-files a")
    category = (".breadcrumb a",)
    listing_links = ("a.article-title",)
    next_page = ("a.next", ".pagination a.next", "a[rel=next]")
    # Seen: /tin-tuc-su-kien/chuyen-de/tin-trong-nuoc/<slug>.html (laichau), /tin-tuc/<slug>.html?categoryId=
    # (kcb.vn), /cai-cach-hanh-chinh/<slug>-610697 (namnhun), /he-thong-van-ban/.../<slug>-5058 (tulieuvankien),
    # /<slug>-c2242.html and sections /chuyen-muc-<slug>-c222-1.html (luongbang.hungyen.gov.vn).
    article_url_patterns = (r"^/[a-z0-9-]+(?:/[a-z0-9-]+)*/[a-z0-9-]+(?:\.html|-\d{3,})(?:$|\?)",
                            r"^/(?!chuyen-muc-)[a-z0-9-]+-c\d+\.html$")
    listing_url_patterns = (r"^/[a-z0-9-]+(?:/[a-z0-9-]+)*/?(?:$|\?)", r"^/api/Content/Article/", r"^/$",
                            r"^/chuyen-muc-[a-z0-9-]+-c\d+-\d+\.html$")
    signature_url_patterns = (r"^/upload/\d{7}/(?:\d{8}|fck)/",)

    def date_candidates(self, page: ArticlePage) -> list[tuple[str, Callable[[], Any]]]:
        # The date line carries the view counter: "23/03/2026 | lượt xem: 471".
        return [(name, lambda fn=fn: _without_counter(fn())) for name, fn in super().date_candidates(page)]

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


def _without_counter(value: Any) -> Any:
    return strip_view_counter(value) if isinstance(value, str) else value
