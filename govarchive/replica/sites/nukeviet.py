"""Replica of a NukeViet 4.5 site, e.g. pbgdpl.laichau.gov.vn (field guide §2.4).

Reproduces what is seen: the ``generator`` meta "NukeViet v4.5", detail URLs
``/index.php/<module>/<cat>/<slug>-<id>.html``, listing pages printing ``HH:mm dd/MM/yyyy`` and paged by a
``/page-N`` path suffix, an RSS feed under ``/index.php/rss/``, and ``og:description`` built as
"<title> - <Module> - <url>" (never a summary). The detail page layout follows the NukeViet 4 default theme
from general knowledge (``h1.title``, a weekday date "Thứ sáu - 20/11/2026 16:30", ``.hometext`` lead,
``#news-bodyhtml``, ``<strong>Tác giả bài viết: </strong>`` and ``<strong>Từ khóa: </strong>`` lines, a
"Tập tin đính kèm" panel); that exact markup is *not seen* on these hosts.

The category listing holds two thirds of the articles; the rest are reachable only through the RSS feed, so
a crawl must use both.
"""

from __future__ import annotations

import re
from dataclasses import replace
from email.utils import format_datetime
from urllib.parse import quote, urlsplit

from govarchive.replica.content import Attachment, ReplicaArticle
from govarchive.replica.sites import ReplicaSite, Reply, esc
from portal_spiders.text import fold

WEEKDAYS = ["Thứ hai", "Thứ ba", "Thứ tư", "Thứ năm", "Thứ sáu", "Thứ bảy", "Chủ nhật"]
MODULE = "savefile"
MODULE_TITLE = "Văn bản pháp luật"


class NukeVietSite(ReplicaSite):
    """A NukeViet 4.5 sub-site."""

    platform = "nukeviet"

    @staticmethod
    def localize(article: ReplicaArticle) -> ReplicaArticle:
        """Move attachments to NukeViet's ``/uploads/<module>/<yyyy_mm>/`` folders (names keep their spaces)."""
        return replace(article, attachments=[
            att if att.path.startswith("/uploads/") else
            Attachment(att.name, f"/uploads/{MODULE}/{article.published:%Y_%m}/{att.path.rsplit('/', 1)[-1]}")
            for att in article.attachments])

    # -- structure ------------------------------------------------------------------------------------

    def listing_path(self) -> str:
        """The category listing (the registry's first start URL), ending in a slash."""
        return urlsplit(self.portal.start_urls[0]).path

    def listed(self) -> list[ReplicaArticle]:
        """Articles on the category listing; the others are only in the feed."""
        return [a for i, a in enumerate(self.articles) if i % 3 != 2]

    def article_path(self, article: ReplicaArticle) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", fold(article.title)).strip("-")
        return f"{self.listing_path()}{slug}-{article.id}.html"

    def image_path(self, article: ReplicaArticle) -> str:
        return f"/uploads/{MODULE}/{article.published:%Y_%m}/anh-{article.id}.jpg"

    def category_of(self, article: ReplicaArticle) -> str:
        return "Chính sách pháp luật"  # the breadcrumb names the module's one category

    # -- serving --------------------------------------------------------------------------------------

    def route(self, method: str, path: str, query: dict[str, list[str]], form: dict[str, list[str]]) -> Reply | None:
        if path == "/index.php/rss/":
            return Reply(200, self.feed().encode("utf-8"), "application/rss+xml; charset=utf-8")
        base = self.listing_path()
        if path == base:
            return self.html(self.listing_page(1))
        m = re.fullmatch(re.escape(base) + r"page-(\d+)/?", path)
        if m:
            return self.html(self.listing_page(int(m.group(1))))
        art = self.article_at(path)
        return self.html(self.article_page(art)) if art is not None else None

    def feed(self) -> str:
        """RSS 2.0 of every article, newest first (RFC 822 dates with +0700)."""
        items = "".join(f"""
  <item>
    <title>{esc(a.title)}</title>
    <link>{esc(self.absolute(self.article_path(a)))}</link>
    <guid isPermaLink="false">{MODULE}_{a.id}</guid>
    <description><![CDATA[{a.lead}]]></description>
    <pubDate>{format_datetime(a.published)}</pubDate>
  </item>""" for a in self.articles)
        return f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel>
  <title>{esc(self.portal.name)}</title>
  <link>{esc(self.absolute("/"))}</link>
  <description>RSS</description>
  <generator>NukeViet v4.5</generator>{items}
</channel></rss>"""

    # -- pages ----------------------------------------------------------------------------------------

    def chrome_top(self, title: str, og_description: str, description: str, og_title: str | None = None) -> str:
        return f"""<!DOCTYPE html>
<html lang="vi" xmlns="http://www.w3.org/1999/xhtml" prefix="og: http://ogp.me/ns#">
<head>
<title>{esc(title)}</title>
<meta name="description" content="{esc(description)}">
<meta name="author" content="{esc(self.portal.name)}">
<meta name="copyright" content="{esc(self.portal.name)} [hotro@vnpt-laichau.vn]">
<meta name="generator" content="NukeViet v4.5">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<meta property="og:title" content="{esc(og_title or title)}">
<meta property="og:description" content="{esc(og_description)}">
<link rel="alternate" href="/index.php/rss/" title="RSS" type="application/rss+xml">
<script data-show="inline">var nv_base_siteurl="/",nv_lang_data="vi",nv_my_ofs=7;</script>
</head>
<body>
<div class="body-bg"><div class="wraper">
<header><div class="site_name">{esc(self.portal.name)}</div><div class="current-time">Thứ sáu, 27/11/2026</div></header>
<nav class="second-nav"><ul><li><a href="/">Trang nhất</a></li><li><a href="{esc(self.listing_path())}">Chính sách pháp luật</a></li></ul></nav>
<div class="breadcrumbs-wrap"><ul class="breadcrumbs"><li><a href="/"><span>Trang nhất</span></a></li>
<li><a href="/index.php/{MODULE}/"><span>{MODULE_TITLE}</span></a></li>
<li><a href="{esc(self.listing_path())}"><span>Chính sách pháp luật</span></a></li></ul></div>
<div class="row"><div class="col-md-16">
"""

    @staticmethod
    def chrome_bottom() -> str:
        return """</div></div>
<footer id="footer"><p>Bản quyền thuộc về Sở Tư pháp tỉnh Lai Châu</p><p>Đang truy cập: 12 — Lượt truy cập: 345678</p></footer>
</div></div>
<!-- nv_footer 27/11/2026 08:00:01 -->
</body></html>"""

    def listing_page(self, page: int) -> str:
        articles, more = self.page_of(self.listed(), page)
        items = "\n".join(f"""<div class="news_column panel panel-default"><div class="panel-body">
  <a href="{esc(self.article_path(a))}"><img class="img-thumbnail pull-left imghome" src="/assets/{MODULE}/{a.published:%Y_%m}/anh-{a.id}.jpg" alt=""></a>
  <h3><a href="{esc(self.article_path(a))}" title="{esc(a.title)}">{esc(a.title)}</a></h3>
  <div class="text-muted"><ul class="list-unstyled list-inline"><li><em class="fa fa-clock-o">&nbsp;</em> {a.published:%H:%M %d/%m/%Y}</li>
  <li><em class="fa fa-eye">&nbsp;</em> Lượt xem: {300 + a.id}</li></ul></div>
  <p>{esc(a.lead[:150])}</p>
</div></div>""" for a in articles)
        total = max(1, -(-len(self.listed()) // self.per_page))
        # NukeViet's nv_generate_page(): the first and last pages, two on either side of the current one, and
        # "..." between (a pager listing every page would make each listing page cost more as the archive grows)
        shown = sorted({1, total, *range(max(1, page - 2), min(total, page + 2) + 1)})
        links = []
        for before, n in zip([0, *shown[:-1]], shown, strict=True):
            if n - before > 1:
                links.append('<li class="disabled"><span>...</span></li>')
            href = self.listing_path() if n == 1 else f"{self.listing_path()}page-{n}"
            links.append(f'<li class="active"><a href="#">{n}</a></li>' if n == page else
                         f'<li><a href="{esc(href)}">{n}</a></li>')
        if more:
            links.append(f'<li><a href="{esc(self.listing_path())}page-{page + 1}">&raquo;</a></li>')
        title = "Chính sách pháp luật - " + MODULE_TITLE + (f" - Trang {page}" if page > 1 else "")
        return self.chrome_top(title, title, "Chính sách pháp luật") + f"""
{items}
<div class="text-center"><ul class="pagination">{"".join(links)}</ul></div>
""" + self.chrome_bottom()

    def article_page(self, a: ReplicaArticle) -> str:
        url = self.absolute(self.article_path(a))
        paragraphs = [self.body_paragraphs(a, f'<div class="image-center"><img src="{self.image_path(a)}" '
                                              f'alt="{esc(a.image_caption)}"></div>')]
        title_html = "" if self.broken or a.malformed else f'<h1 class="title margin-bottom-lg">{esc(a.title)}</h1>'
        tags = ", ".join(f'<a title="{esc(t)}" href="/index.php/{MODULE}/tag/{quote(t)}"><em>{esc(t)}</em></a>'
                         for t in a.tags)
        files = "".join(f'<li><em class="fa fa-download"></em> <a href="{esc(att.path)}" title="{esc(att.name)}">'
                        f'{esc(att.name)}</a></li>' for att in a.attachments)
        files_panel = f"""<div class="news_column panel panel-default"><div class="panel-heading">Tập tin đính kèm</div>
<div class="panel-body"><ul class="list-none">{files}</ul></div></div>""" if files else ""
        related = "".join(f'<li><a href="{esc(self.article_path(o))}">{esc(o.title)}</a> '
                          f'<em>({o.published:%d/%m/%Y})</em></li>' for o in self.articles[:3] if o.id != a.id)
        weekday = WEEKDAYS[a.published.weekday()]
        return self.chrome_top(f"{a.title} - {MODULE_TITLE}", f"{a.title} - {MODULE_TITLE} - {url}", a.lead,
                               og_title=a.title) + f"""
<div class="news_column panel panel-default"><div class="panel-body">
  {title_html}
  <div class="row margin-bottom-lg"><div class="col-md-12"><span class="h5">{weekday} - {a.published:%d/%m/%Y %H:%M}</span></div>
  <div class="col-md-12"><span class="hits">Lượt xem: {300 + a.id}</span></div></div>
  <!-- edit_time 05/06/2021 10:10 -->
  <div class="clearfix"><div class="hometext m-bottom">{esc(a.lead)}</div></div>
  <div id="news-bodyhtml" class="bodytext margin-bottom-lg">
    {"".join(paragraphs)}
  </div>
  <div class="margin-bottom-lg"><p class="h5 text-right"><strong>Tác giả bài viết: </strong>{esc(a.author)}</p></div>
</div></div>
{files_panel}
<div class="news_column panel panel-default"><div class="panel-body"><div class="h5"><em class="fa fa-tags">&nbsp;</em><strong>Từ khóa: </strong>{tags}</div></div></div>
<div class="news_column panel panel-default related"><div class="panel-body"><p class="h3"><strong>Tin liên quan</strong></p><ul class="related">{related}</ul></div></div>
""" + self.chrome_bottom()
