"""Replica of a Tân Dân SharePoint 2013 e-government portal (``/portal/Pages/...``), e.g. dienbien.gov.vn.

Follows the reported markup (field guide §2.2): ``tandan-`` classes, detail URLs
``/portal/Pages/YYYY-M-D/<Title-Words><random>.aspx`` with an unpadded date and a truncated title, a portal-name
``<h1>`` in the header, ``<title>`` ending in " - CỔNG THÔNG TIN ...", ``span.tandan-span-date-publish`` starting
with ``Đăng ngày`` (next to a view counter), ``.td-tags`` whose first anchor is the "Tags" label, and the
``.tandan-div-article-other`` related box. Author and attachment markup is *not seen* on real pages: the
replica prints a visible ``Tác giả:`` line and puts document links inside the body, so both fields are
exercised through the generic label and body-link extraction rather than through invented selectors.

Pagination covers the three reported kinds: the first category pages through a real ASP.NET postback pager
(``__doPostBack`` links, answered on POST only with ``__VIEWSTATE``/``__EVENTVALIDATION``), the second through
``?PageIndex=N`` links after ``span.CurrentPage``, and the other categories show the two newest articles,
linked with a lower-case ``/portal/pages/`` path as some Tân Dân sites print it.
"""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import datetime
from urllib.parse import urlsplit

from govarchive.replica.content import ReplicaArticle
from govarchive.replica.sites import ReplicaSite, Reply, esc
from portal_spiders.text import fold

PAGER_TARGET = "ctl00$ctl40$g_7b1f2c3d_4e5a_4b6c_9d8e_0f1a2b3c4d5e$ctl00$rptPager$ctl{page:02d}$lnkPage"
PAGER_RE = re.compile(r"rptPager\$ctl(\d+)\$lnkPage$")
PAGER_BUTTONS = 10  # ASP.NET pagers' default PageButtonCount
WEEKDAYS = ["Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật"]


def title_slug(title: str, length: int = 48) -> str:
    """Title words with dashes, accents folded and truncated mid-word, as Tân Dân paths print them."""
    words = re.sub(r"[^a-z0-9]+", "-", fold(title)).strip("-")
    slug = words[:length].rstrip("-")
    return slug[:1].upper() + slug[1:]


class TanDanSite(ReplicaSite):
    """A Tân Dân provincial portal."""

    platform = "tandan"
    per_page = 3

    # -- structure ------------------------------------------------------------------------------------

    def categories(self) -> list[str]:
        """Listing paths from the registry's start URLs."""
        return [urlsplit(u).path for u in self.portal.start_urls]

    def group(self, index: int) -> list[ReplicaArticle]:
        """Articles listed by category ``index``."""
        if index < 2:
            return [a for i, a in enumerate(self.articles) if i % 2 == index]
        return self.articles[:2]

    case_insensitive_paths = True

    def image_path(self, article: ReplicaArticle) -> str:
        return f"/portal/Photos/{article.published:%Y-%m-%d}/anh-{article.id}.jpg"

    def article_path(self, article: ReplicaArticle) -> str:
        when = article.published
        token = hashlib.sha1(f"{self.portal.slug}:{article.id}".encode()).hexdigest()
        suffix = "".join(c for c in base64.b32encode(bytes.fromhex(token[:10])).decode().lower() if c.isalnum())[:7]
        return f"/portal/Pages/{when.year}-{when.month}-{when.day}/{title_slug(article.title)}{suffix}.aspx"

    # -- serving --------------------------------------------------------------------------------------

    def route(self, method: str, path: str, query: dict[str, list[str]], form: dict[str, list[str]]) -> Reply | None:
        lowered = path.lower()
        art = self.article_at(path)
        if art is not None:
            return self.html(self.article_page(art))
        for index, cat in enumerate(self.categories()):
            if lowered != cat.lower():
                continue
            if method == "POST":
                return self.postback(index, form)
            page = int((query.get("PageIndex") or ["1"])[0]) if index == 1 else 1
            return self.html(self.listing_page(index, page))
        return None

    def postback(self, index: int, form: dict[str, list[str]]) -> Reply:
        """Answer a pager postback like ASP.NET: the view state must come back with the event target."""
        state = (form.get("__VIEWSTATE") or [""])[0]
        if not (form.get("__EVENTVALIDATION") or [""])[0] or state != self.view_state(index):
            return self.html("<html><body><h1>Server Error in '/' Application.</h1>"
                             "<p>Invalid postback or callback argument.</p></body></html>", 500)
        m = PAGER_RE.search((form.get("__EVENTTARGET") or [""])[0])
        if m is None:
            return self.html(self.listing_page(index, 1))
        return self.html(self.listing_page(index, int(m.group(1))))

    def view_state(self, index: int) -> str:
        """The listing's ``__VIEWSTATE`` (the same for every page of a category, as for a stateless pager)."""
        return base64.b64encode(f"/wEPDwUKMTk{index}|{self.portal.slug}".encode()).decode()

    # -- pages ----------------------------------------------------------------------------------------

    def chrome_top(self, title: str, action: str, index: int = 0) -> str:
        today = datetime(2026, 11, 27)
        menu = "".join(f'<li><a href="{esc(c)}">{esc(c.rsplit("/", 1)[-1][:-5].replace("-", " "))}</a></li>'
                       for c in self.categories()[:4])
        return f"""<!DOCTYPE html>
<html dir="ltr" lang="vi-VN"><head>
<meta name="GENERATOR" content="Microsoft SharePoint">
<meta http-equiv="Content-type" content="text/html; charset=utf-8">
<title>{esc(title)}</title>
<link rel="stylesheet" type="text/css" href="/portal/Style%20Library/TanDan/css/tandan-portal.css">
<script type="text/javascript">var _spPageContextInfo = {{webServerRelativeUrl: "\\u002fportal", currentLanguage: 1066}};</script>
</head>
<body>
<form method="post" action="{esc(action)}" id="aspnetForm">
<div class="aspNetHidden">
<input type="hidden" name="__EVENTTARGET" id="__EVENTTARGET" value="">
<input type="hidden" name="__EVENTARGUMENT" id="__EVENTARGUMENT" value="">
<input type="hidden" name="__VIEWSTATE" id="__VIEWSTATE" value="{self.view_state(index)}">
<input type="hidden" name="__EVENTVALIDATION" id="__EVENTVALIDATION" value="/wEdAAKn4qgQ2ZbK6N0uGxk=">
</div>
<script type="text/javascript">function __doPostBack(eventTarget, eventArgument) {{ var f = document.forms['aspnetForm']; f.__EVENTTARGET.value = eventTarget; f.__EVENTARGUMENT.value = eventArgument; f.submit(); }}</script>
<div id="suiteBar" class="ms-dialogHidden noindex" style="display: none"><span id="ctl00_IdWelcome"><a class="ms-signInLink" href="/_layouts/15/Authenticate.aspx">Sign In</a></span></div>
<div class="tandan-header">
  <h1 class="tandan-portal-name">CỔNG THÔNG TIN ĐIỆN TỬ TỈNH ĐIỆN BIÊN</h1>
  <div class="tandan-today">{WEEKDAYS[today.weekday()]}, ngày {today:%d/%m/%Y}</div>
  <ul class="TD-ul-module-menu-left"><li><a href="/portal">Trang chủ</a></li>{menu}</ul>
</div>
"""

    @staticmethod
    def chrome_bottom() -> str:
        return """<div class="tandan-footer"><p>Cơ quan chủ quản: Ủy ban nhân dân tỉnh Điện Biên.</p>
<p>Lượt truy cập: 4567890</p></div>
</form></body></html>"""

    def listing_page(self, index: int, page: int) -> str:
        articles, more = self.page_of(self.group(index), page)
        cat = self.categories()[index]
        items = []
        for a in articles:
            href = self.article_path(a)
            if index >= 2:
                href = href.replace("/portal/Pages/", "/portal/pages/")
            items.append(f"""  <div class="channel-news-item">
    <a class="channel-news-img" href="{esc(href)}"><img src="/portal/Photos/{a.published:%Y-%m-%d}/_w/anh-{a.id}.jpg" alt=""></a>
    <p class="channel-news-title"><a href="{esc(href)}">{esc(a.title)}</a></p>
    <span class="channel-news-date">({a.published:%d/%m/%Y})</span>
    <p class="channel-news-summary">{esc(a.lead[:140])}</p>
  </div>""")
        if index in (0, 1):
            def link(n: int, label: str) -> str:
                if index == 0:
                    return (f'<a href="javascript:__doPostBack(&#39;{PAGER_TARGET.format(page=n)}&#39;,&#39;&#39;)">'
                            f'{label}</a>')
                return f'<a href="{esc(cat)}?PageIndex={n}">{label}</a>'
            # ASP.NET's numeric pager: blocks of PAGER_BUTTONS numbers, "..." links to the blocks around it (a
            # pager listing every page would make each listing page cost more as the archive grows)
            total = self.pages(index)
            first = (page - 1) // PAGER_BUTTONS * PAGER_BUTTONS + 1
            last = min(total, first + PAGER_BUTTONS - 1)
            numbers = [link(first - 1, "...")] if first > 1 else []
            numbers += [f'<span class="CurrentPage">{page}</span>' if n == page else link(n, str(n))
                        for n in range(first, last + 1)]
            if last < total:
                numbers.append(link(last + 1, "..."))
        else:
            numbers = []
        pager = f'<div class="tandan-pager">{" ".join(numbers)}</div>' if len(numbers) > 1 or more else ""
        return self.chrome_top("Tin tức - CỔNG THÔNG TIN ĐIỆN TỬ TỈNH ĐIỆN BIÊN", f"./{cat.rsplit('/', 1)[-1]}",
                               index) + f"""
<div class="tandan-div-channel">
{chr(10).join(items)}
</div>
{pager}
""" + self.chrome_bottom()

    def pages(self, index: int) -> int:
        """Number of listing pages of a category."""
        return max(1, -(-len(self.group(index)) // self.per_page))

    def article_page(self, a: ReplicaArticle) -> str:
        paragraphs = [self.body_paragraphs(a, f'<p style="text-align:center"><img src="{self.image_path(a)}" '
                                              f'alt=""></p><p class="tandan-caption"><em>'
                                              f'{esc(a.image_caption)}</em></p>')]
        # Attachment markup is not seen on real pages: document links inside the body are the assumption.
        for att in a.attachments:
            paragraphs.append(f'<p><a href="{esc(att.path)}">{esc(att.name)}</a></p>')
        title_html = "" if self.broken or a.malformed else \
            f'<p class="tandan-p-article-news-title">{esc(a.title)}</p>'
        tags = "".join(f'<a href="/portal/Pages/Tags.aspx?tag={esc(t)}">{esc(t)}</a>' for t in a.tags)
        others = "".join(f'<li><a href="{esc(self.article_path(o))}">{esc(o.title)}</a> ({o.published:%d/%m/%Y})</li>'
                         for o in self.articles[:4] if o.id != a.id)
        return self.chrome_top(f"{a.title} - CỔNG THÔNG TIN ĐIỆN TỬ TỈNH ĐIỆN BIÊN",
                               f"./{self.article_path(a).rsplit('/', 1)[-1]}") + f"""
<div class="tandan-breadcrumb"><a href="/portal">Trang chủ</a> &gt; <a href="{esc(self.categories()[0])}">{esc(a.category)}</a></div>
<div class="tandan-div-article">
  {title_html}
  <div class="tandan-div-article-date"><span class="tandan-span-date-publish">Đăng ngày {a.published:%d/%m/%Y %H:%M}</span>
  <span class="tandan-span-view">Lượt xem: {1000 + a.id * 7}</span></div>
  <!-- Ngày sửa: 02/01/2020 10:00 -->
  <p class="tandan-p-article-news-summary">{esc(a.lead)}</p>
  <div class="tandan-p-article-main"><div class="ms-rtestate-field">
    {"".join(paragraphs)}
  </div></div>
  <div class="tandan-article-author">Tác giả: {esc(a.author)}</div>
  <div class="td-tags"><a class="td-tags-title" href="javascript:void(0)">Tags</a>{tags}</div>
  <div class="tandan-print" style="display:none">In trang | Gửi email</div>
  <div class="tandan-div-article-other"><p class="tandan-title-other">Tin liên quan</p><ul>{others}</ul></div>
</div>
""" + self.chrome_bottom()
