"""Replica of a site no platform module knows: a Drupal 8 news site (tuyentruyen.langson.gov.vn style).

The front page lists the newest nodes with Drupal's 0-based ``?page=N`` pager (``li.pager__item--next``);
``/rss.xml`` and ``/sitemap.xml`` list every node, as Drupal's defaults do. Node pages ``/node/<id>`` use
Drupal's default markup: ``h1.page-title``, the English default byline "Submitted by <user> on <date>", a
``field--name-body`` whose first paragraph is the bold lead, a ``field--name-field-tags`` block labelled
"Tags", file links in a ``field--type-file`` block (names with spaces), a related-content view and the usual
header "today" date and footer counter. The generic platform must read all of it without selectors tuned to
this site beyond common Drupal classes.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

from govarchive.replica.content import ReplicaArticle
from govarchive.replica.sites import ReplicaSite, Reply, esc


class GenericSite(ReplicaSite):
    """A Drupal site with a feed and a sitemap."""

    platform = "generic"
    per_page = 5

    def article_path(self, article: ReplicaArticle) -> str:
        return f"/node/{article.id}"

    def category_of(self, article: ReplicaArticle) -> None:
        return None  # like tuyentruyen.langson.gov.vn's node pages: no breadcrumb, no section label

    def route(self, method: str, path: str, query: dict[str, list[str]], form: dict[str, list[str]]) -> Reply | None:
        m = re.fullmatch(r"/node/(\d+)", path)
        if m:
            art = self.find(int(m.group(1)))
            return self.html(self.article_page(art)) if art else None
        if path == "/rss.xml":
            return self.rss()
        if path == "/sitemap.xml":
            return self.sitemap()
        if path in {urlsplit(u).path or "/" for u in self.portal.start_urls}:
            return self.html(self.front_page(int((query.get("page") or ["0"])[0])))
        return None

    def rss(self) -> Reply:
        """Drupal's front-page feed (RFC 2822 dates)."""
        items = "".join(f"""<item><title>{esc(a.title)}</title><link>{self.absolute(self.article_path(a))}</link>
<pubDate>{a.published:%a, %d %b %Y %H:%M:%S +0700}</pubDate><dc:creator>{esc(a.author)}</dc:creator></item>
""" for a in self.articles)
        body = f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xml:base="https://{self.host}/" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>
<title>Ban Tuyên giáo</title><link>https://{self.host}/</link><description></description>
{items}</channel></rss>"""
        return Reply(200, body.encode("utf-8"), "application/rss+xml; charset=utf-8")

    def sitemap(self) -> Reply:
        """The xmlsitemap module's ``/sitemap.xml``."""
        urls = "".join(f"<url><loc>{self.absolute(self.article_path(a))}</loc>"
                       f"<lastmod>{a.published.isoformat()}</lastmod></url>" for a in self.articles)
        body = f"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>https://{self.host}/</loc></url>{urls}</urlset>"""
        return Reply(200, body.encode("utf-8"), "application/xml; charset=utf-8")

    @staticmethod
    def chrome_top(title: str) -> str:
        return f"""<!DOCTYPE html>
<html lang="vi" dir="ltr"><head><meta charset="utf-8" />
<meta name="Generator" content="Drupal 8 (https://www.drupal.org)" />
<title>{esc(title)} | Ban Tuyên giáo Tỉnh ủy</title>
<link rel="alternate" type="application/rss+xml" title="Tin tức" href="/rss.xml" />
</head><body class="path-node">
<header role="banner" class="region-header"><div class="site-branding"><a href="/" rel="home">Ban Tuyên giáo Tỉnh ủy</a></div>
<div class="today">Thứ Sáu, 27/11/2026</div>
<nav role="navigation" class="menu--main"><ul><li><a href="/">Trang chủ</a></li><li><a href="/van-ban">Văn bản</a></li></ul></nav>
</header>
<main role="main"><div class="region-content">
"""

    @staticmethod
    def chrome_bottom() -> str:
        return """</div></main>
<footer role="contentinfo" class="region-footer"><p>Bản quyền © Ban Tuyên giáo Tỉnh ủy. Lượt truy cập: 2.104.577</p></footer>
</body></html>"""

    def front_page(self, page: int) -> str:
        articles, more = self.page_of(self.articles, page + 1)
        items = "\n".join(f"""<div class="views-row"><article class="node node--view-mode-teaser">
<h2><a href="{self.article_path(a)}" rel="bookmark">{esc(a.title)}</a></h2>
<div class="node__submitted">{a.published:%d/%m/%Y}</div></article></div>""" for a in articles)
        pager = f'<ul class="pager__items"><li class="pager__item pager__item--next"><a href="?page={page + 1}" ' \
                f'rel="next">Trang sau ›</a></li></ul>' if more else ""
        return self.chrome_top("Trang chủ") + f'<div class="view-content">{items}</div><nav class="pager">{pager}</nav>' \
            + self.chrome_bottom()

    def article_page(self, a: ReplicaArticle) -> str:
        paragraphs = [f"<p><strong>{esc(a.lead)}</strong></p>"]
        for i, text in enumerate(a.paragraphs):
            paragraphs.append(f"<p>{esc(unicodedata.normalize('NFD', text) if i == 1 else text)}</p>")
        tags = "".join(f'<div class="field__item"><a href="/taxonomy/term/{i}">{esc(t)}</a></div>'
                       for i, t in enumerate(a.tags))
        files = "".join(f'<div class="field__item"><span class="file file--mime-application-pdf">'
                        f'<a href="{esc(att.path)}" type="application/pdf">{esc(att.name)}</a></span></div>'
                        for att in a.attachments)
        file_block = f'<div class="field field--name-field-files field--type-file">{files}</div>' if files else ""
        title = "" if self.broken or a.malformed else \
            f'<h1 class="page-title"><span class="field field--name-title">{esc(a.title)}</span></h1>'
        return self.chrome_top(a.title) + f"""<article role="article" class="node node--type-article node--view-mode-full">
{title}
<div class="node__submitted">Submitted by <span class="username">{esc(a.author)}</span> on {a.published:%d %B %Y - %H:%M}</div>
<!-- node cache: ngày tạo {a.published:%d/%m/%Y} -->
<div class="node__content">
<div class="field field--name-body field--type-text-with-summary">{"".join(paragraphs)}</div>
{file_block}
<div class="field field--name-field-tags"><div class="field__label">Tags</div>{tags}</div>
</div>
<ul class="links inline"><li><a href="/user/login">Log in</a> to post comments</li></ul>
</article>
<div class="related"><h2>Tin liên quan</h2><a href="{self.article_path(self.articles[0])}">{esc(self.articles[0].title)}</a></div>
""" + self.chrome_bottom()
