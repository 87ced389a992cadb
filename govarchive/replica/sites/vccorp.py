"""Replica of the VCCorp/Admicro news CMS as used by baochinhphu.vn since 2022.

Follows the saved real pages described in the field guide: zone pages ``/<zone>.htm`` that show the first items
and a "Xem thêm" button loading ``/timelinelist/<zoneId>/<page>.htm`` HTML fragments (an empty fragment past
the end), an RSS feed whose ``pubDate`` is US ``M/d/yyyy h:mm:ss AM``, and detail pages
``/<slug>-102<yyMMddHHmmss><3 digits>.htm`` whose 12 digits are a *creation* time a few minutes before the
publish time. Detail pages carry ``article:published_time`` with an escaped ``&#x2B;``, JSON-LD with the author
"Ban biên tập", ``h1.detail-title``, ``h2.detail-sapo`` starting with "(Chinhphu.vn) - ", and a
``div.detail-content.afcbc-body`` holding a photo with ``figcaption.PhotoCMS_Caption``, an HTML comment with a
JavaScript timestamp, an embedded related box (``div.VCSortableInPreviewMode``) and the byline as a bare last
``<p>``. Tags are only the ``keywords`` meta; no attachment markup is known, so :meth:`VCCorpSite.expected`
expects none and none are rendered.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from govarchive.replica.content import ReplicaArticle
from govarchive.replica.sites import ReplicaSite, Reply, esc
from govarchive.replica.sites.liferay import slugify

FIRST_ZONE_ID = 102301


class VCCorpSite(ReplicaSite):
    """baochinhphu.vn-style news site."""

    platform = "vccorp"
    per_page = 4

    def zones(self) -> list[str]:
        """Zone page paths from the registry's start URLs."""
        return [urlsplit(u).path for u in self.portal.start_urls]

    def group(self, index: int) -> list[ReplicaArticle]:
        """Articles of zone ``index``."""
        zones = len(self.zones())
        return [a for i, a in enumerate(self.articles) if i % zones == index]

    def article_path(self, article: ReplicaArticle) -> str:
        """``/<slug>-102<creation yyMMddHHmmss><3 digits>.htm``; the 3 digits are the id modulo 1000, as the real
        site's are a short sequence number, so the creation time tells apart articles 1000 ids apart (two
        articles at one path make :meth:`ReplicaSite.index` raise rather than serve one for the other)."""
        created = article.published - timedelta(minutes=63, seconds=17)
        return f"/{slugify(article.title)}-102{created:%y%m%d%H%M%S}{article.id % 1000:03d}.htm"

    def image_path(self, article: ReplicaArticle) -> str:
        return f"/photo/{article.id}.jpg"

    @staticmethod
    def lead(article: ReplicaArticle) -> str:
        """The sapo without the generator's source prefix (the page adds its own "(Chinhphu.vn) - ")."""
        return re.sub(r"^\(ĐCSVN\)\s*-\s*", "", article.lead)

    def expected(self, article: ReplicaArticle) -> dict[str, object]:
        exp = super().expected(article)
        exp["summary"] = self.lead(article)
        exp["attachments"] = []  # no attachment markup is known for this CMS
        return exp

    # -- pages ----------------------------------------------------------------------------------------

    def route(self, method: str, path: str, query: dict[str, list[str]], form: dict[str, list[str]]) -> Reply | None:
        if re.fullmatch(r"/[a-z0-9-]+-102\d{15}\.htm", path):
            art = self.article_at(path)  # the whole path: creation time and the 3-digit sequence number
            return self.html(self.article_page(art)) if art else None
        m = re.fullmatch(r"/timelinelist/(\d+)/(\d+)\.htm", path)
        if m:
            index = int(m.group(1)) - FIRST_ZONE_ID
            if not 0 <= index < len(self.zones()):
                return None
            articles, _ = self.page_of(self.group(index), int(m.group(2)))
            return self.html(self.items(articles))
        if path == "/rss/home.rss" or path in {urlsplit(f).path for f in self.portal.feeds}:
            return self.rss()  # section feeds (``/rss/kinh-te.rss`` ...) carry the same items here
        for index, zone in enumerate(self.zones()):
            if path == zone:
                return self.html(self.zone_page(index))
        return None

    def rss(self) -> Reply:
        """RSS 2.0 with US-style ``pubDate`` (``9/5/2026 1:30:00 PM``)."""
        def us(d: datetime) -> str:
            hour = d.hour % 12 or 12
            return f"{d.month}/{d.day}/{d.year} {hour}:{d.minute:02d}:{d.second:02d} {'PM' if d.hour >= 12 else 'AM'}"

        items = "".join(f"""<item><title><![CDATA[{a.title}]]></title><link>{esc(self.absolute(self.article_path(a)))}</link>
<description><![CDATA[{self.lead(a)}]]></description><pubDate>{us(a.published)}</pubDate></item>
""" for a in self.articles)
        body = f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Báo điện tử Chính phủ</title><link>https://{self.host}/</link>
<description>Tin mới</description>
{items}</channel></rss>"""
        return Reply(200, body.encode("utf-8"), "application/rss+xml; charset=utf-8")

    def items(self, articles: list[ReplicaArticle]) -> str:
        """The ``box-stream-item`` blocks shared by zone pages and timeline fragments."""
        return "\n".join(f"""<div class="box-stream-item" data-id="{a.id}">
  <a class="box-stream-link-thumb" href="{esc(self.article_path(a))}"><img src="/thumb/{a.id}.jpg" alt="" /></a>
  <h2><a class="box-stream-link-title" href="{esc(self.article_path(a))}">{esc(a.title)}</a></h2>
  <p class="box-stream-sapo">(Chinhphu.vn) - {esc(self.lead(a)[:100])}</p>
</div>""" for a in articles)

    def chrome_top(self, title: str, head: str = "") -> str:
        menu = "".join(f'<li><a href="{esc(z)}">{esc(z.strip("/").removesuffix(".htm"))}</a></li>' for z in self.zones())
        return f"""<!DOCTYPE html>
<html lang="vi"><head><meta charset="utf-8" /><title>{esc(title)}</title>
<link rel="alternate" type="application/rss+xml" href="/rss/home.rss" />{head}
</head><body>
<div class="header"><div class="header__top"><span class="header__date">Thứ Sáu, 27/11/2026</span></div>
<ul class="menu"><li><a href="/">Trang chủ</a></li>{menu}</ul></div>
<div class="main">
"""

    @staticmethod
    def chrome_bottom() -> str:
        return """</div>
<div class="footer"><p>BÁO ĐIỆN TỬ CHÍNH PHỦ. Lượt truy cập: 120.456.789</p></div>
</body></html>"""

    def zone_page(self, index: int) -> str:
        articles, more = self.page_of(self.group(index), 1)
        zone_id = FIRST_ZONE_ID + index
        more_button = f'<a class="btn-viewmore" href="javascript:;" data-url="/timelinelist/{zone_id}/2.htm">Xem thêm</a>' \
            if more else ""
        return self.chrome_top("Chỉ đạo, quyết định") + f"""<div class="box-stream" data-zone-id="{zone_id}">
{self.items(articles)}
{more_button}
</div>""" + self.chrome_bottom()

    def article_page(self, a: ReplicaArticle) -> str:
        iso = a.published.isoformat()
        ld = json.dumps({"@context": "https://schema.org", "@type": "NewsArticle", "headline": a.title,
                         "datePublished": iso, "author": {"@type": "Person", "name": "Ban biên tập"}},
                        ensure_ascii=False)
        head = f"""
<meta name="keywords" content="{esc(', '.join(a.tags))}" />
<meta property="og:title" content="{esc(a.title)}" />
<meta property="article:published_time" content="{iso.replace('+', '&#x2B;')}" />
<script type="application/ld+json">{ld}</script>"""
        paragraphs = [self.body_paragraphs(
            a, f"<!-- {a.published - timedelta(days=3):%a %b %d %Y %H:%M:%S} GMT+0700 (Indochina Time) -->"
               f"""<div class="VCSortableInPreviewMode" type="RelatedNewsBox"><strong>Tin liên quan</strong>
<a href="{esc(self.article_path(self.articles[0]))}">{esc(self.articles[0].title)}</a></div>""")]
        title = "" if self.broken or a.malformed else f'<h1 class="detail-title" data-role="title">{esc(a.title)}</h1>'
        # the category link above the title, as on baochinhphu.vn
        return self.chrome_top(a.title, head) + f"""<div class="detail">
<div class="detail-cate"><a href="/{slugify(a.category)}.htm">{esc(a.category)}</a></div>
<div class="detail-time"><div data-role="publishdate">{a.published:%d/%m/%Y %H:%M}</div></div>
{title}
<h2 class="detail-sapo" data-role="sapo">(Chinhphu.vn) - {esc(self.lead(a))}</h2>
<div class="detail-content afcbc-body" data-role="content">
<figure class="VCSortableInPreviewMode" type="Photo"><div><img src="{self.image_path(a)}" alt="" /></div>
<figcaption class="PhotoCMS_Caption"><p data-placeholder="[nhập chú thích]">{esc(a.image_caption)}</p></figcaption></figure>
{"".join(paragraphs)}
<p style="text-align: right;">{esc(a.author)}</p>
</div></div>
<div class="box-relate"><h3>Tin cùng chuyên mục</h3>{self.items(self.articles[:2])}</div>
""" + self.chrome_bottom()
