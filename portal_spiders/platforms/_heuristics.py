"""Small extraction heuristics shared by several platform modules (not a platform: the ``_`` keeps it out of
the registry of platforms)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from parsel import Selector

from portal_spiders.platforms.base import ArticlePage, inline_text

# "Lượt xem: 1.234", "Lượt đọc 56", "Views: 7" beside a date: cut before parsing, the count is not a date part.
VIEW_COUNTER = re.compile(r"\s*(?:[|•·]\s*)?(?:lượt\s+(?:xem|đọc|truy cập)|views?)\b.*$", re.I | re.S)
# Things a byline never looks like: sentences, dates, sources, labels.
NOT_A_NAME = re.compile(r"[.!?;:…]\s*$|\d{1,2}[/.\-]\d{1,2}|^(?:nguồn|theo|ảnh|xem thêm|tin liên quan)\b", re.I)


def strip_view_counter(text: str | None) -> str | None:
    """A date line without its trailing view counter (``10:25 | 15/03/2024 | Lượt xem: 1.234``)."""
    if not text:
        return None
    return VIEW_COUNTER.sub("", text).strip(" |•·-") or None


SOURCE_CREDIT = re.compile(r"^(?:Nguồn|Theo)\s*:", re.I)


def _last_paragraphs(body: Any) -> list[Any]:
    """The body's paragraphs with text (outside figures), in document order, from the end back to the paragraph
    before the last one that is not a source credit: all that :func:`trailing_byline` reads. Reading every
    paragraph's text cost a tenth of a Liferay article's extraction."""
    found: list[Any] = []
    for p in reversed(list(body.iter("p"))):
        if not inline_text(p) or any(a.tag in {"figure", "figcaption"} for a in p.iterancestors()):
            continue
        found.append(p)
        if len(found) >= 2 and any(not SOURCE_CREDIT.match(inline_text(q)) for q in found[:-1]):
            break
    return found[::-1]


def trailing_byline(page: ArticlePage, body_selectors: tuple[str, ...], *, max_words: int = 8) -> str | None:
    """The author name written as the last short paragraph of the body (``<p>Minh Thư</p>``).

    News CMSs put the byline as a bare, often bold or right-aligned, paragraph after the text. The paragraph
    is recorded as consumed, so it does not stay in the body text.
    """
    body, _ = page.body_element(body_selectors)
    if body is None:
        return None
    paragraphs = _last_paragraphs(body)
    # A source credit may follow the byline ("Vũ Phương Nhi" then "Nguồn: http://baochinhphu.vn/...", on a real
    # ncov.moh.gov.vn page).
    while len(paragraphs) > 2 and SOURCE_CREDIT.match(inline_text(paragraphs[-1])):
        paragraphs.pop()
    if len(paragraphs) < 2:
        return None
    last = paragraphs[-1]
    text = inline_text(last)
    if last.find(".//a") is not None or last.find(".//img") is not None:
        return None
    words = text.split()
    if not 1 <= len(words) <= max_words or len(text) > 60 or NOT_A_NAME.search(text):
        return None
    # Names are capitalised word by word ("Nguyễn Hoàng", "Thu Hà - Minh Anh").
    if not all(w[0].isupper() for w in words if w[0].isalpha()):
        return None
    page.consumed.append(last)
    return text


def first_bold_paragraph(page: ArticlePage, body: Any) -> str | None:
    """The lead written as a bold first paragraph of the body, as many portals do."""
    for p in body.iter("p"):
        text = inline_text(p)
        if not text:
            continue
        bold = [b for b in p if b.tag in {"strong", "b"}]
        if bold and sum(len(inline_text(b)) for b in bold) >= 0.8 * len(text) and len(text) >= 40:
            page.consumed.append(p)
            return text
        return None
    return None


def summary_with_bold_lead(page: ArticlePage, body_selectors: tuple[str, ...],
                           base: list[tuple[str, Callable[[], Any]]]) -> list[tuple[str, Callable[[], Any]]]:
    """Summary candidates: the platform's sapo selectors, then the body's bold first paragraph, then metadata."""
    def bold_lead() -> str | None:
        body, _ = page.body_element(body_selectors)
        return first_bold_paragraph(page, body) if body is not None else None

    css = [c for c in base if c[0].startswith("css:")]
    return [*css, ("heuristic:bold-lead", bold_lead), *[c for c in base if not c[0].startswith("css:")]]


def italic_captions(body: Any) -> list[str]:
    """Per image of ``body`` (in document order, ``data:`` images skipped), the caption written as an italic
    paragraph right after the image's paragraph, or ``""``."""
    out: list[str] = []
    for img in body.iter("img"):
        src = img.get("src") or img.get("data-src") or ""
        if not src or src.startswith("data:"):
            continue
        holder = img.getparent()
        while holder is not None and holder.tag in {"a", "span", "strong"}:
            holder = holder.getparent()
        nxt = holder.getnext() if holder is not None and holder is not body else None
        caption = ""
        if nxt is not None and nxt.tag == "p":
            text = inline_text(nxt)
            italic = "".join(inline_text(e) for e in nxt if e.tag in {"em", "i"})
            if text and italic == text:
                caption = text
        out.append(caption)
    return out


# Links whose text is digits, maybe with spaces and invisible characters around them (inline_text then decides).
_BLANKS = " \t\r\n\u00a0\u200b\u200c\u200d\u2060\ufeff"
_NUMBERED_LINKS = (f"//a[@href][string-length(.) < 40][translate(., '0123456789', '') != string(.)]"
                   f"[translate(., '0123456789{_BLANKS}', '') = '']")


def numbered_next_link(sel: Selector) -> Selector | None:
    """The pager link numbered one past the current page: ASP.NET portals (Tân Dân, khanhhoa.gov.vn) page by
    ``__doPostBack`` links labelled 2, 3 … and mark the current page as ``span.CurrentPage`` or as the one number
    that is not a link."""
    links: dict[int, Selector] = {}
    for a in sel.xpath(_NUMBERED_LINKS):  # libxml2 drops the 20,000 titled links of a big listing, in C
        text = inline_text(a.root)
        if text.isdigit() and text.isascii() and int(text) < 10_000:
            links.setdefault(int(text), a)
    if not links:
        return None
    marked = sel.css("span.CurrentPage, .CurrentPage, .pager .active, .paging .current, .pagination .active")
    current_text = inline_text(marked[0].root) if marked else ""
    if current_text.isdigit():
        current = int(current_text)
    else:
        current = next(n for n in range(1, max(links) + 2) if n not in links)
    return links.get(current + 1)


def numbered_next_request(platform: Any, response: Any, sel: Selector) -> Any:
    """The request for :func:`numbered_next_link` (a postback replayed as the page's own form posts it), or ``None``."""
    numbered = numbered_next_link(sel)
    if numbered is None:
        return None
    return platform._next_request(response, (numbered.attrib.get("href") or "").strip())
