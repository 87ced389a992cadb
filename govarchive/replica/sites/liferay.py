"""Replica of a Liferay 7 asset publisher portal (bacgiang.gov.vn).

Follows the field guide's description: category pages (``/chinh-tri`` …) holding a ``.portlet-asset-publisher``
inside a ``p_p_id_<portlet>_INSTANCE_<id>_`` wrapper, a second "most read" publisher in the sidebar, a pager
``.lfr-pagination-buttons`` whose links are all ``javascript:`` (the real page URLs carry
``p_p_id=…&_<portlet>_cur=<n>``), detail pages ``/web/guest/-/<slug>`` with ``h1.portlet-title`` chrome,
``.title-news h1``, a date line with the "Lượt xem" view counter, ``.journal-content-article`` holding a bold sapo,
an image with an italic caption, the text and a bold right-aligned byline, and documents under ``/documents/``.
The instance id is derived from the portal slug; the parser only learns it from the page, as it must on a
real site whose instance ids change when it is rebuilt.

No tags markup is known for this platform, so :meth:`LiferaySite.expected` expects no tags; attachments are the
``/documents/`` links of the body.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import datetime
from urllib.parse import quote, urlsplit

from govarchive.replica.content import ReplicaArticle
from govarchive.replica.sites import PNG_BYTES, ReplicaSite, Reply, esc

PORTLET = "com_liferay_asset_publisher_web_portlet_AssetPublisherPortlet"


def slugify(text: str) -> str:
    """ASCII URL title the way Liferay builds friendly URLs."""
    folded = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    folded = "".join(c for c in folded if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]+", "-", folded).strip("-")


class LiferaySite(ReplicaSite):
    """A Liferay 7 provincial portal."""

    platform = "liferay"
    per_page = 3

    @property
    def instance(self) -> str:
        """The asset publisher instance id (stable per portal, unknown to the parser)."""
        return hashlib.sha1(self.portal.slug.encode()).hexdigest()[:12]

    @property
    def pid(self) -> str:
        """The full portlet id."""
        return f"{PORTLET}_INSTANCE_{self.instance}"

    def categories(self) -> list[str]:
        """Category paths from the registry's start URLs."""
        return [urlsplit(u).path for u in self.portal.start_urls]

    def group(self, index: int) -> list[ReplicaArticle]:
        """Articles of category ``index``: three interleaved groups, repeated over the categories."""
        groups = min(3, len(self.categories()))
        return [a for i, a in enumerate(self.articles) if i % groups == index % groups]

    def article_path(self, article: ReplicaArticle) -> str:
        return f"/web/guest/-/{slugify(article.title)}-{article.id}"

    def image_path(self, article: ReplicaArticle) -> str:
        return f"/documents/20181/0/anh-{article.id}.jpg/x"

    @staticmethod
    def document_path(path: str) -> str:
        """Where Liferay's document library serves a file: ``/documents/<group>/<folder>/<file>/<uuid>``."""
        name = path.rsplit("/", 1)[-1]
        return f"/documents/20181/0/{name}/{hashlib.md5(name.encode()).hexdigest()}"

    def expected(self, article: ReplicaArticle) -> dict[str, object]:
        exp = super().expected(article)
        exp["tags"] = []  # no tag markup is known for Liferay portals
        exp["attachments"] = [{"url": self.absolute(quote(self.document_path(a.path))), "name": a.name}
                              for a in article.attachments]
        return exp

    # -- pages ----------------------------------------------------------------------------------------

    def route(self, method: str, path: str, query: dict[str, list[str]], form: dict[str, list[str]]) -> Reply | None:
        if path.startswith("/documents/"):  # the document library names the file in Content-Disposition
            for art in self.articles:
                for att in art.attachments:
                    if self.document_path(att.path) == path:
                        return self.attachment_reply(att, art, disposition=True)
            if re.search(r"\.(png|jpe?g)/", path):
                return Reply(200, PNG_BYTES, "image/png")
            return None
        m = re.fullmatch(r"/web/guest/-/[a-z0-9-]+-(\d+)", path)
        if m:
            art = self.find(int(m.group(1)))
            return self.html(self.article_page(art)) if art else None
        for index, cat in enumerate(self.categories()):
            if path == cat:
                page = int((query.get(f"_{self.pid}_cur") or ["1"])[0])
                return self.html(self.listing_page(index, max(page, 1)))
        return None

    def chrome_top(self, title: str) -> str:
        today = datetime(2026, 11, 27)
        menu = "".join(f'<li><a href="{esc(c)}">{esc(c.strip("/").replace("-", " ").capitalize())}</a></li>'
                       for c in self.categories())
        return f"""<!DOCTYPE html>
<!-- Liferay Portal Community Edition 7.0.4 GA5; rendered {today:%d/%m/%Y} 08:15 -->
<html class="ltr" dir="ltr" lang="vi-VN"><head>
<title>{esc(title)}</title>
<meta content="text/html; charset=UTF-8" http-equiv="content-type" />
<script>var Liferay = {{ThemeDisplay: {{getLayoutURL: function() {{return 'https://{self.host}/web/guest';}}}}}};</script>
</head><body class="public-page site">
<header id="banner"><div class="top-bar"><span class="today">Thứ Sáu, {today:%d/%m/%Y}</span>
<a href="/c/portal/login">Đăng nhập</a></div><nav id="navigation"><ul>{menu}</ul></nav></header>
<section id="content"><div class="row"><div class="col-md-8">
<div class="portlet-boundary portlet-boundary_{PORTLET}_ portlet-asset-publisher" id="p_p_id_{self.pid}_">
<section class="portlet" id="portlet_{self.pid}">
<div class="portlet-topper"><h1 class="portlet-title"><span class="portlet-title-text">Tin tức - Sự kiện</span></h1></div>
<div class="portlet-content"><div class="portlet-body">
"""

    def chrome_bottom(self) -> str:
        most_read = "".join(f'<li><a href="{esc(self.article_path(a))}">{esc(a.title)}</a></li>'
                            for a in self.articles[-2:])
        return f"""</div></div></section></div></div>
<div class="col-md-4"><div class="portlet-boundary portlet-asset-publisher" id="p_p_id_{PORTLET}_INSTANCE_sidebar0001_">
<div class="portlet-body"><h2>Tin đọc nhiều</h2><ul>{most_read}</ul></div></div></div>
</div></section>
<footer id="footer"><p>Cơ quan chủ quản: UBND tỉnh. Lượt truy cập: 45.210.889</p></footer>
<script>Liferay.Portlet.onLoad({{portletId: "{self.pid}"}}); // 01/01/2020 00:00</script>
</body></html>"""

    def listing_page(self, index: int, page: int) -> str:
        articles, more = self.page_of(self.group(index), page)
        items = "\n".join(f"""<div class="asset-abstract">
  <a href="{esc(self.article_path(a))}"><img src="/documents/20181/0/anh-{a.id}.jpg/thumb" alt="" /></a>
  <h3 class="asset-title"><a href="{esc(self.article_path(a))}">{esc(a.title)}</a></h3>
  <span class="date-news">{a.published:%d/%m/%Y}</span>
</div>""" for a in articles)
        js = f'href="javascript:;" onclick="_{self.pid}_submitPage({page + 1});"'
        nxt = f'<li><a {js}>Tiếp theo &rarr;</a></li>' if more else \
            '<li class="disabled"><a href="javascript:;">Tiếp theo &rarr;</a></li>'
        pager = f"""<div class="taglib-page-iterator"><ul class="lfr-pagination-buttons pager">
<li class="{'disabled' if page == 1 else ''}"><a href="javascript:;">&larr; Đầu</a></li>
<li class="active"><a href="javascript:;">{page}</a></li>{nxt}</ul></div>"""
        return self.chrome_top("Tin tức - Cổng thông tin điện tử tỉnh") + items + pager + self.chrome_bottom()

    def article_page(self, a: ReplicaArticle) -> str:
        paragraphs = [self.body_paragraphs(a, f'<!-- bản nháp ngày tạo {a.published:%d/%m/%Y} 07:00 -->'
                                  f'<p style="text-align:center"><img src="{self.image_path(a)}" alt="" /></p>'
                                  f'<p style="text-align:center"><em>{esc(a.image_caption)}</em></p>')]
        docs = "".join(f'<p>Tài liệu: <a href="{esc(self.document_path(att.path))}">{esc(att.name)}</a></p>'
                       for att in a.attachments)
        title = "" if self.broken or a.malformed else f"<h1>{esc(a.title)}</h1>"
        related = "".join(f'<li><a href="{esc(self.article_path(o))}">{esc(o.title)}</a> ({o.published:%d/%m/%Y})</li>'
                          for o in self.articles[:3] if o.id != a.id)
        # the breadcrumb as on bacgiang.gov.vn: home, then the article's category
        return self.chrome_top(f"{a.title} - Cổng thông tin điện tử tỉnh") + f"""
<div class="breadcrumbs"><ul class="breadcrumb"><li><a href="/web/guest/trang-chu">Trang chủ</a></li><li><a
 href="/web/guest/{slugify(a.category)}">{esc(a.category)}</a></li></ul></div>
<div class="asset-full-content clearfix">
  <div class="title-news">{title}
    <div class="date-news">{a.published:%H:%M | %d/%m/%Y} | Lượt xem: {a.id * 37}</div></div>
  <div class="asset-content"><div class="journal-content-article">
    <p class="sapo"><strong>{esc(a.lead)}</strong></p>
    {"".join(paragraphs)}
    {docs}
    <p style="text-align:right"><strong>{esc(a.author)}</strong></p>
  </div></div>
  <div class="taglib-social-bookmarks"><a href="javascript:;">Chia sẻ</a></div>
</div>
<div class="tin-lien-quan"><h3>Tin liên quan</h3><ul>{related}</ul></div>
""" + self.chrome_bottom()
