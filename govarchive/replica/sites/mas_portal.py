"""Replica of a SharePoint 2013 "mas-portal v2" Party portal (the seed platform).

Follows what is known of the real template: SharePoint master-page scaffolding (``form#aspnetForm`` with
``__VIEWSTATE``, the hidden suite bar whose "Sign In" link is the first text of the body, the hidden ribbon
with its English text), ``div.mas-portal.v2[ng-app=ngAppSharepoint]`` with empty AngularJS ``ng-repeat``
templates, ``portal-congtinh.css``, ``div.ms-rtestate-field`` wrappers, a header showing the server's "today",
and a detail view reading title, ``HH:mm dd/MM/yyyy``, lead, image + caption, body, ``Tác giả:``, ``Tag:`` and
``File đính kèm``. A third of the articles are reachable only through the SharePoint REST list endpoint, as
when the real listing blocks are filled client-side from SharePoint lists.
"""

from __future__ import annotations

import json
from datetime import datetime

from govarchive.replica.content import ReplicaArticle
from govarchive.replica.sites import ReplicaSite, Reply, esc

SP_DETAIL = "/Pages/chi-tiet-tin.aspx"
SP_LIST = "/_api/web/lists/getbytitle('TinTuc')/items"


class MasPortalSite(ReplicaSite):
    """A ``*.dcs.vn`` Party portal."""

    platform = "mas_portal"

    # -- structure ------------------------------------------------------------------------------------

    def categories(self) -> list[str]:
        """Listing paths from the registry's start URLs."""
        from urllib.parse import urlsplit

        return [urlsplit(u).path for u in self.portal.start_urls]

    def group(self, index: int) -> list[ReplicaArticle]:
        """Articles of listing ``index``; index ``len(categories)`` is the list-endpoint-only group."""
        groups = len(self.categories()) + (1 if self.portal.sharepoint_lists else 0)
        return [a for i, a in enumerate(self.articles) if i % groups == index]

    case_insensitive_paths = True

    def article_path(self, article: ReplicaArticle) -> str:
        return f"{SP_DETAIL}?ItemID={article.id}"

    def image_path(self, article: ReplicaArticle) -> str:
        return f"/KhoHinhAnh/2026/anh-{article.id}.jpg"

    # -- pages ----------------------------------------------------------------------------------------

    def route(self, method: str, path: str, query: dict[str, list[str]], form: dict[str, list[str]]) -> Reply | None:
        lowered = path.lower()
        if lowered == SP_DETAIL.lower():
            art = self.find(int((query.get("ItemID") or query.get("itemid") or ["0"])[0] or 0))
            return self.html(self.article_page(art)) if art else None
        if path == SP_LIST:
            return self.list_endpoint(query)
        for index, cat in enumerate(self.categories()):
            if lowered == cat.lower():
                page = int((query.get("Page") or ["1"])[0])
                return self.html(self.listing_page(index, page))
        return None

    def list_endpoint(self, query: dict[str, list[str]]) -> Reply:
        """SharePoint REST ``/items`` in verbose OData JSON, 5 per page with a ``__next`` link."""
        articles = self.group(len(self.categories()))
        skip = int((query.get("$skiptoken") or ["0"])[0])
        chunk = articles[skip:skip + self.per_page]
        results = [{
            "__metadata": {"type": "SP.Data.TinTucListItem"},
            "ID": a.id, "Title": a.title, "TieuDeChinh": a.title, "TenDanhMuc": a.category,
            "HinhAnh": f"/KhoHinhAnh/2026/anh-{a.id}.jpg", "Created": a.published.isoformat(),
        } for a in chunk]
        data: dict[str, object] = {"results": results}
        if skip + self.per_page < len(articles):
            base = self.portal.sharepoint_lists[0]["url"].split("&$skiptoken")[0]
            data["__next"] = f"{base}&$skiptoken={skip + self.per_page}"
        return Reply(200, json.dumps({"d": data}, ensure_ascii=False).encode(), "application/json;odata=verbose")

    def chrome_top(self, title: str) -> str:
        today = datetime(2026, 11, 27)
        return f"""<!DOCTYPE html>
<html lang="en" dir="ltr"><head>
<meta name="GENERATOR" content="Microsoft SharePoint">
<meta http-equiv="Content-type" content="text/html; charset=utf-8">
<meta http-equiv="X-UA-Compatible" content="IE=10">
<title>{esc(title)}</title>
<link rel="stylesheet" type="text/css" href="/Style%20Library/css/portal-congtinh.css">
<script type="text/javascript">var _spPageContextInfo = {{webServerRelativeUrl: "/", currentLanguage: 1033}};</script>
<style>.mas-portal .header{{background:#b30000}}</style>
</head>
<body scroll="yes" onload="javascript:_spBodyOnLoadWrapper();">
<form method="post" action="./default.aspx" id="aspnetForm">
<div class="aspNetHidden"><input type="hidden" name="__VIEWSTATE" id="__VIEWSTATE" value="/wEPDwUBMA9kFgJmD2QWAg=="></div>
<div id="suiteBar" class="ms-dialogHidden noindex" style="display: none">
  <div id="suiteBarLeft"><div class="ms-table ms-fullWidth"><div class="ms-core-brandingText">SharePoint</div></div></div>
  <div id="suiteBarRight"><span id="ctl00_IdWelcome"><a id="ctl00_IdWelcome_ExplicitLogin" class="ms-signInLink" href="/_layouts/15/Authenticate.aspx?Source=%2F" style="display:inline">Sign In</a></span></div>
</div>
<div id="s4-ribbonrow" style="display:none"><div id="globalNavBox"><div id="ribbonBox">
  <span class="ms-cui-hidden">To navigate through the Ribbon, use standard browser navigation keys. To skip between groups, use Ctrl+LEFT or Ctrl+RIGHT.</span>
  <ul class="ms-cui-tts"><li><a><span>Browse</span></a></li><li><a><span>Page</span></a></li></ul>
</div></div></div>
<div id="s4-workspace"><div id="s4-bodyContainer">
<div class="mas-portal v2" ng-app="ngAppSharepoint">
  <div class="header"><div class="banner"><img src="/KhoHinhAnh/banner.png" alt="Đảng bộ tỉnh"></div>
    <div class="today">Thứ Sáu, {today:%d/%m/%Y}</div>
    <ul class="menu"><li><a href="/">Trang chủ</a></li><li><a href="{esc(self.categories()[0])}">Tin hoạt động</a></li>
    <li><a href="/Pages/lien-he.aspx">Liên hệ</a></li></ul>
  </div>
  <div class="BannerRight3" ng-controller="BannerRight3"><div ng-repeat="item in items"><a href="{{{{item.Url}}}}">{{{{item.TieuDeChinh}}}}</a></div></div>
"""

    @staticmethod
    def chrome_bottom() -> str:
        return """  <div class="footer"><p>Bản quyền thuộc Đảng bộ tỉnh. Ghi rõ nguồn khi phát hành lại thông tin từ website này.</p>
  <p>Lượt truy cập: 1234567</p></div>
</div></div></div>
<script type="text/javascript">//<![CDATA[
var g_Workspace = "s4-workspace"; // 22/03/2024 09:00
//]]></script>
</form></body></html>"""

    def listing_page(self, index: int, page: int) -> str:
        articles, more = self.page_of(self.group(index), page)
        cat = self.categories()[index]
        items = "\n".join(f"""    <div class="item">
      <a class="img" href="{esc(self.article_path(a))}"><img src="/KhoHinhAnh/2026/anh-{a.id}.jpg" alt=""></a>
      <h3><a href="{esc(self.article_path(a))}">{esc(a.title)}</a></h3>
      <span class="date">{a.published:%H:%M %d/%m/%Y}</span>
      <p class="sapo">{esc(a.lead[:120])}</p>
    </div>""" for a in articles)
        pager = f'<a class="next" href="{esc(cat)}?Page={page + 1}">Trang sau</a>' if more else ""
        return self.chrome_top("Tin hoạt động - Cổng TTĐT Đảng bộ tỉnh") + f"""
  <div class="ms-webpart-zone ms-fullWidth"><div class="ms-webpart-chrome ms-webpart-chrome-fullWidth">
  <div class="list-news">
{items}
  </div>
  <div class="pager"><span class="current">{page}</span> {pager}</div>
  </div></div>
""" + self.chrome_bottom()

    def article_page(self, a: ReplicaArticle) -> str:
        paragraphs = [self.body_paragraphs(a, f"""<div class="img-caption"><img src="{self.image_path(a)}" alt="">
<p class="caption"><em>{esc(a.image_caption)}</em></p></div>""")]
        title_html = "" if self.broken else f'<h1 class="title-detail">{esc(a.title)}</h1>'
        if a.malformed:
            title_html = ""
        tags = ", ".join(f'<a href="/Pages/tag.aspx?tag={esc(t)}">{esc(t)}</a>' for t in a.tags)
        atts = "".join(f'<li><a href="{esc(att.path)}" target="_blank">{esc(att.name)}</a></li>' for att in a.attachments)
        attach_block = f"""<div class="attach-detail"><span class="lbl">File đính kèm</span><ul>{atts}</ul></div>""" \
            if a.attachments else ""
        related = "".join(f'<li><a href="{esc(self.article_path(o))}">{esc(o.title)}</a> '
                          f'<span>({o.published:%d/%m/%Y})</span></li>' for o in self.articles[:3] if o.id != a.id)
        # a malformed page has no title anywhere, not even in <title>
        return self.chrome_top("" if a.malformed else f"{a.title} - Cổng TTĐT Đảng bộ tỉnh") + f"""
  <div class="breadcrumb-container"><a href="/">Trang chủ</a> / <a href="{esc(self.categories()[0])}">{esc(a.category)}</a></div>
  <div class="ms-webpart-zone ms-fullWidth"><div class="ms-webpart-chrome ms-webpart-chrome-fullWidth">
  <div class="news-detail">
    {title_html}
    <div class="date-detail"><span>{a.published:%H:%M %d/%m/%Y}</span></div>
    <!-- cập nhật lần cuối 01/01/2020 08:00 -->
    <div class="sapo"><strong>{esc(a.lead)}</strong></div>
    <div class="ms-rtestate-field">
      {"".join(paragraphs)}
    </div>
    <div class="author-detail">Tác giả: <b>{esc(a.author)}</b></div>
    <div class="tags-detail"><span class="lbl">Tag:</span> {tags}</div>
    {attach_block}
    <div class="print-share" style="display:none">In bài viết | Gửi email</div>
  </div>
  </div>
  <div class="ms-webpart-chrome related-news"><h3 class="ms-webpart-chrome-title">Tin liên quan</h3><ul>{related}</ul></div>
  </div>
""" + self.chrome_bottom()
