"""SharePoint 2013 "mas-portal v2": provincial Party-committee portals on ``*.dcs.vn``.

Known from real markup: ``meta GENERATOR=Microsoft SharePoint``, ``div.mas-portal.v2[ng-app=ngAppSharepoint]``,
``portal-congtinh.css``, ``form#aspnetForm``, ``div.ms-rtestate-field`` wrappers, and a hidden suite bar whose
"Sign In" link is the first text node of the body. Detail and listing selectors are *not* seen on a live page:
the selectors below are inferred, so extraction leans on the visible labels (``Tác giả:``, ``Tag:``,
``File đính kèm``) and on the title-then-``HH:mm dd/MM/yyyy`` order of the detail view, and every field
records its source so a different real layout degrades visibly. Listing blocks may be filled client-side by
AngularJS from SharePoint lists; portals then list articles through ``sharepoint_lists`` in the registry.
"""

from __future__ import annotations

from typing import ClassVar

from portal_spiders.platforms.base import Platform


class MasPortal(Platform):
    """SharePoint 2013 mas-portal v2 (``*.dcs.vn`` Party portals)."""

    name = "mas_portal"
    description = "SharePoint 2013 'mas-portal v2' Party-committee portals (*.dcs.vn)"
    detect_priority = 10
    fingerprint_css = ("div.mas-portal[ng-app]",)
    fingerprint_re = (r"portal-congtinh\.css",)
    case_insensitive_paths = True

    remove: ClassVar[tuple[str, ...]] = (
        "header", "footer", "nav", ".menu", ".breadcrumb-container", ".related-news", ".tin-lien-quan",
        ".other-news", ".box-other", "[ng-repeat]", "[ng-controller]", ".ms-webpart-chrome-title",
    )
    title = (".news-detail h1", ".chitiet-tin h1", ".ms-rtestate-field h1", "h1.title-detail", "h1")
    published = (".news-detail .date-detail", ".news-detail .date", ".chitiet-tin .ngay-dang", ".date-detail")
    summary = (".news-detail .sapo", ".chitiet-tin .sapo", ".news-detail .lead", ".ms-rtestate-field p.sapo")
    body = (".news-detail .ms-rtestate-field", ".chitiet-tin .noidung", ".news-detail .content-detail",
            ".ms-rtestate-field")
    author = (".news-detail .author-detail b", ".news-detail .author")
    tags = (".news-detail .tags-detail a",)
    attachments = (".news-detail .attach-detail a",)
    category = (".breadcrumb-container a", ".breadcrumb a", ".news-detail .category")
    listing_links = (".list-news .item h3 a", ".list-news a.title", ".news-list h3 a", ".ms-webpart-zone h3 a")
    next_page = ("a.next", ".pager a.next", "a[rel=next]")
    article_url_patterns = (r"^/pages/[^?]+\.aspx\?(?:.*&)?itemid=\d+",)
    listing_url_patterns = (r"^/pages/[^/?]+\.aspx$", r"/_api/web/lists/getbytitle\(")
    signature_url_patterns = (r"^/KhoHinhAnh/", r"^/Style(?:%20| )Library/")
    title_suffix_re = r"\s+[-|–]\s+(?:Cổng|CỔNG|Trang|TRANG)\b.*$"
