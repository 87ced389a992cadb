"""Replica of an "/upload/<siteId>/" portal, e.g. laichau.gov.vn (field guide §2.3).

What is reported is reproduced as such: listing links ``a.article-title``, body ``.article-content``, an
``a.next`` pager, ``.html`` detail URLs under the listing's path, and media and attachments under
``/upload/<siteId>/<yyyymmdd>/<name>_<5 hex>.<ext>`` or ``/upload/<siteId>/fck/files/<name>``, whose date folder
is the *upload* day (two days before publication here), never the publish date. Title, date, author and tag
markup is *not seen* on real pages; the replica prints them with visible labels (``Ngày đăng:``, ``Tác giả:``,
``Từ khóa:``), which is what the parser relies on first. Attachments sit in an unlabelled list right after the
body, so they are found through their ``/upload/`` links.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from datetime import timedelta
from urllib.parse import urlsplit

from govarchive.replica.content import Attachment, ReplicaArticle
from govarchive.replica.sites import ReplicaSite, Reply, esc
from portal_spiders.text import fold

SITE_ID = "2000066"


class UploadPortalSite(ReplicaSite):
    """A provincial portal of the ``/upload/<siteId>/`` product."""

    platform = "upload_portal"

    @staticmethod
    def localize(article: ReplicaArticle) -> ReplicaArticle:
        """Move attachments to the product's upload folders (names keep their spaces)."""
        uploaded = article.published - timedelta(days=2)
        moved = []
        for att in article.attachments:
            stem, _, ext = att.path.rsplit("/", 1)[-1].rpartition(".")
            if att.path.startswith("/upload/"):
                moved.append(att)
            elif ext == "pdf":
                tag = hashlib.sha1(att.path.encode()).hexdigest()[:5]
                moved.append(Attachment(att.name, f"/upload/{SITE_ID}/{uploaded:%Y%m%d}/{stem}_{tag}.{ext}"))
            else:
                moved.append(Attachment(att.name, f"/upload/{SITE_ID}/fck/files/{stem}.{ext}"))
        return replace(article, attachments=moved)

    # -- structure ------------------------------------------------------------------------------------

    def listing_path(self) -> str:
        """The one listing of the replica (the registry's first start URL)."""
        return urlsplit(self.portal.start_urls[0]).path.rstrip("/")

    def article_path(self, article: ReplicaArticle) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", fold(article.title)).strip("-")
        return f"{self.listing_path()}/{slug}-{article.id}.html"

    def image_path(self, article: ReplicaArticle) -> str:
        return f"/upload/{SITE_ID}/{article.published:%Y%m%d}/anh-{article.id}_9e8f7.jpg"

    def category_of(self, article: ReplicaArticle) -> str:
        return "Tin trong nước"  # the breadcrumb names the one listing section

    # -- serving --------------------------------------------------------------------------------------

    def route(self, method: str, path: str, query: dict[str, list[str]], form: dict[str, list[str]]) -> Reply | None:
        if path.rstrip("/") == self.listing_path():
            return self.html(self.listing_page(int((query.get("page") or ["1"])[0])))
        art = self.article_at(path)
        return self.html(self.article_page(art)) if art is not None else None

    # -- pages ----------------------------------------------------------------------------------------

    def chrome_top(self, title: str, description: str) -> str:
        return f"""<!DOCTYPE html>
<html lang="vi"><head>
<meta charset="utf-8">
<title>{esc(title)}</title>
<meta name="description" content="{esc(description)}">
<meta property="og:title" content="{esc(title)}">
<link rel="stylesheet" href="/upload/{SITE_ID}/fck/css/style.css">
</head>
<body>
<header class="site-header">
  <div class="logo"><img src="/upload/{SITE_ID}/20200101/logo_ab12c.png" alt="Cổng thông tin điện tử tỉnh Lai Châu"></div>
  <div class="today">Thứ Sáu, 27/11/2026</div>
  <nav class="menu"><a href="/">Trang chủ</a> <a href="{esc(self.listing_path())}">Tin trong nước</a></nav>
</header>
<main class="container">
"""

    @staticmethod
    def chrome_bottom() -> str:
        return """</main>
<footer class="site-footer"><p>Cổng thông tin điện tử tỉnh Lai Châu. Lượt truy cập: 2345678</p></footer>
<script>var updated = "01/01/2020 08:00";</script>
</body></html>"""

    def listing_page(self, page: int) -> str:
        articles, more = self.page_of(self.articles, page)
        items = "\n".join(f"""  <div class="article-item">
    <a href="{esc(self.article_path(a))}"><img src="/upload/{SITE_ID}/{a.published:%Y%m%d}/anh-{a.id}_3c4d5.jpg" alt=""></a>
    <a class="article-title" href="{esc(self.article_path(a))}">{esc(a.title)}</a>
    <span class="article-date">{a.published:%d/%m/%Y %H:%M}</span>
  </div>""" for a in articles)
        pager = f'<a class="next" href="?page={page + 1}">Trang sau</a>' if more else ""
        return self.chrome_top("Tin trong nước", "Tin trong nước") + f"""
<div class="article-list">
{items}
</div>
<div class="pagination"><span class="active">{page}</span> {pager}</div>
""" + self.chrome_bottom()

    def article_page(self, a: ReplicaArticle) -> str:
        paragraphs = [self.body_paragraphs(a, f'<figure><img src="{self.image_path(a)}" '
                                              f'alt=""><figcaption>{esc(a.image_caption)}</figcaption></figure>')]
        title_html = "" if self.broken or a.malformed else f'<h1 class="article-title">{esc(a.title)}</h1>'
        tags = ", ".join(f'<a href="/tim-kiem?tag={esc(t)}">{esc(t)}</a>' for t in a.tags)
        files = "".join(f'<li><a href="{esc(att.path)}">{esc(att.name)}</a></li>' for att in a.attachments)
        related = "".join(f'<li><a href="{esc(self.article_path(o))}">{esc(o.title)}</a></li>'
                          for o in self.articles[:3] if o.id != a.id)
        return self.chrome_top(a.title, a.lead) + f"""
<div class="breadcrumb"><a href="/">Trang chủ</a> / <a href="{esc(self.listing_path())}">{esc(self.category_of(a))}</a></div>
<div class="article-detail">
  {title_html}
  <div class="article-meta"><span class="article-date">Ngày đăng: {a.published:%d/%m/%Y %H:%M}</span>
    <span class="article-view">Lượt xem: {500 + a.id}</span></div>
  <!-- cache 26/11/2026 23:59 -->
  <div class="article-sapo">{esc(a.lead)}</div>
  <div class="article-content">
    {"".join(paragraphs)}
  </div>
  <ul class="article-files-list">{files}</ul>
  <p class="article-author">Tác giả: {esc(a.author)}</p>
  <div class="article-tags">Từ khóa: {tags}</div>
  <div class="share" style="display:none">Chia sẻ Facebook | Zalo</div>
</div>
<div class="article-related"><h3>Tin liên quan</h3><ul>{related}</ul></div>
""" + self.chrome_bottom()
