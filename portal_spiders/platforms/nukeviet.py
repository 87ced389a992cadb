"""NukeViet 4.x (VINADES' PHP CMS): Lai Châu sub-sites, tinhuybinhphuoc.vn and other Party/mass-organisation sites.

Known from real markup and URLs (field guide §2.4): the ``<meta name="generator" content="NukeViet v4.5">``
fingerprint, which resellers rebrand (a saved page of pbgdplthainguyen.gov.vn says ``Netsite.,JSC`` and keeps the
core's ``wiki.nukeviet.vn`` no-JavaScript notice and ``/faq/rss/`` feeds); detail URLs
``/index.php/<module>/<cat-alias>/<slug>-<id>.html``, or the same without ``index.php/`` when rewriting is on
(module alias varies: ``news``, ``tin-tuc``, ``savefile``); tag listings ``/index.php/tag/<tag>``; RSS under
``/index.php/rss/``; listing and tag pages print ``HH:mm dd/MM/yyyy``; pagination is a ``/page-N`` path suffix.
``og:description`` is built as "<title> - <Module> - <url>", so it is never a summary: the lead (``.hometext``) or
``meta[name=description]`` is.

*Not seen*: the detail page's CSS (title, body, author, tags, attachments) and its date, which carries a
weekday in an unseen shape. The selectors below follow the NukeViet 4 default theme from general knowledge
(``h1.title``, ``.hometext``, ``#news-bodyhtml``/``.bodytext``); author, tags and attachments are read through
their visible labels, including the ``<strong>Label: </strong>value`` form where the value is the label's tail.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

from lxml import etree
from parsel import Selector
from scrapy import Request
from scrapy.http import TextResponse

from portal_spiders.platforms.base import ALL_LABELS, ArticlePage, Platform, inline_text, label_prefix
from portal_spiders.text import clean_text

AUTHOR_LABELS = ("Tác giả bài viết", "Tác giả", "Người viết")
ATTACHMENT_LABELS = ("Tập tin đính kèm", "Tệp tin đính kèm")
PAGE_SUFFIX = re.compile(r"/page-(\d+)/?$")
# the hrefs PAGE_SUFFIX can match, in document order (a listing holds 20,000 other links: no selector per link)
_PAGE_HREFS = etree.XPath("//a/@href[contains(., '/page-')]", smart_strings=False)


class NukeViet(Platform):
    """NukeViet 4.x news and savefile modules."""

    name = "nukeviet"
    description = "NukeViet 4.x PHP CMS (Lai Châu sub-sites, some Party and mass-organisation sites)"
    detect_priority = 10
    fingerprint_css = ('meta[name="generator"][content^="NukeViet"]',)
    # Resellers brand the generator meta (pbgdplthainguyen.gov.vn says "Netsite.,JSC"); the core's no-JavaScript
    # notice, which links NukeViet's wiki, and its inline settings script stay.
    fingerprint_re = (r"""<meta[^>]+content=["']NukeViet v?\d""", r"wiki\.nukeviet\.vn/support:browser",
                      r"\bnv_base_siteurl\s*=\s*[\"']")

    remove: ClassVar[tuple[str, ...]] = (
        "header", "footer", "nav", ".breadcrumbs-wrap", ".breadcrumbs", ".related", "#news-related", ".other-news",
        ".socialicon",
    )
    title = (".news_column h1.title", "h1.title", ".news_column h1")
    published = ("[itemprop=datePublished]", ".news_column .publtime", ".news_column span.h5")
    summary = (".news_column .hometext", ".hometext")
    body = ("#news-bodyhtml", ".news_column .bodytext", ".bodytext")
    category = (".breadcrumbs a",)
    listing_links = (".news_column h3 a", ".viewcat_list h3 a", ".news_column h2 a")
    next_page = ("ul.pagination li.active + li a", "a[rel=next]")
    # /index.php/<module>/<cat>/<slug>-<id>.html, rewritten /<module>/<cat>/<slug>-<id>.html, with a language prefix
    # on multilingual installs (binhphuoc.gov.vn, now dongnai.gov.vn: /vi/news/tin-tuc-su-kien-421/<slug>-37146.html).
    article_url_patterns = (r"^/(?:index\.php/)?(?:[a-z]{2}/)?[\w-]+/[\w%-]+/[\w%-]+-\d+\.html$",)
    listing_url_patterns = (
        r"^/(?:index\.php/)?(?:[a-z]{2}/)?[\w-]+/(?:[\w%-]+/)?(?:page-\d+/?)?$",  # module or category, /page-N
        r"^/(?:index\.php/)?(?:[a-z]{2}/)?[\w-]+/tag/[^/?#]+(?:/page-\d+)?/?$",
    )
    feed_url_patterns = (r"^/(?:index\.php/)?(?:[a-z]{2}/)?(?:[\w-]+/)?rss(?:/|$)",)
    signature_url_patterns = (
        r"^/uploads/(?:[\w-]+/)?news/\d{4}[_/]\d{2}/", r"^/index\.php/[\w-]+/", r"/tag/[^/?#]+/page-\d+/?$",
        r"^/(?:[a-z]{2}/)?news/[\w-]+-\d+/", r"^/(?:index\.php/)?(?:[a-z]{2}/)?[\w-]+/[\w%-]+/[\w%-]+-\d+\.html$",
        r"^/(?:index\.php/)?(?:[a-z]{2}/)?[\w-]+/rss/[\w-]+/?$",
    )

    def author_candidates(self, page: ArticlePage) -> list[tuple[str, Callable[[], Any]]]:
        # Longest label first: "Tác giả" would otherwise match "Tác giả bài viết:" and return "bài viết:".
        return [*[(f"label:{lab}", lambda lab=lab: self.label_value(page, lab)) for lab in AUTHOR_LABELS],
                *[c for c in super().author_candidates(page) if not c[0].startswith("label:")]]

    def attachment_candidates(self, page: ArticlePage) -> list[tuple[str, Callable[[], Any]]]:
        return [*[(f"label:{lab}", lambda lab=lab: page.label_links(lab)) for lab in ATTACHMENT_LABELS],
                *super().attachment_candidates(page)]

    def summary_candidates(self, page: ArticlePage) -> list[tuple[str, Callable[[], Any]]]:
        # Never og:description (it is "<title> - <Module> - <url>"), and only the name= description meta.
        return [
            *[(f"css:{css}", lambda css=css: page.css_block_text(css)) for css in self.selectors["summary"]],
            ("meta:description", lambda: page.select_first('meta[name="description"]::attr(content)', raw=True)),
        ]

    @staticmethod
    def label_value(page: ArticlePage, label: str) -> str | None:
        """Value of ``Label: value`` in one element, or of ``<strong>Label: </strong>value`` (the label's tail)."""
        rx = label_prefix(label)
        for node in page.root.iter("strong", "b", "span", "label", "em", "p", "div", "li"):
            if not rx.match(node.text or ""):
                continue
            value = rx.sub("", inline_text(node), count=1).strip()
            if not value:
                value = clean_text(node.tail) or ""
                nxt = node.getnext()
                if not value and nxt is not None:
                    value = inline_text(nxt)
            if value and not any(value.lower().startswith(lab.lower()) for lab in ALL_LABELS):
                # Keep the whole "label: value" line out of the body, but never a container of other text.
                parent = node.getparent()
                line = parent is not None and parent.tag in {"p", "div", "li"} and len(inline_text(parent)) < 160
                page.consumed.append(parent if line else node)
                return value
        return None

    def next_page_requests(self, response: TextResponse, sel: Selector) -> Iterator[Request]:
        """The ``/page-N+1`` link of the current listing, else the generic pager links."""
        path = response.url.split("?", 1)[0]
        current = PAGE_SUFFIX.search(path)
        wanted = int(current.group(1)) + 1 if current else 2
        for href in _PAGE_HREFS(sel.root):
            m = PAGE_SUFFIX.search(href.split("?", 1)[0])
            if m and int(m.group(1)) == wanted:
                yield Request(response.urljoin(href))
                return
        yield from super().next_page_requests(response, sel)
