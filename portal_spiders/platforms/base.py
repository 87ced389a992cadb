"""Shared extraction machinery for platform parsers.

A platform parser is pure: a Scrapy response in, an :class:`ArticleItem` or a :class:`ListingPage` out; no
database, no globals, no network. Each field is read from the most robust signal first and the winning
source is recorded in ``item.field_sources``:

1. visible labels (``Tác giả:``, ``Tag:``, ``File đính kèm``, ``Ngày đăng:`` ...),
2. machine metadata (JSON-LD, ``article:*`` / OpenGraph meta, ``itemprop``, ``<time datetime>``),
3. the platform's CSS selectors (overridable per portal from the registry),
4. generic heuristics last.

Before anything is read, the DOM is cleaned: comments, scripts, styles, inline ``display:none`` elements,
SharePoint's suite bar and ribbon, and each platform's "related news" boxes are removed, so hidden chrome
such as SharePoint's "Sign In" can never leak into a field.
"""

from __future__ import annotations

import copy
import html as html_lib
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from itertools import islice
from typing import Any, ClassVar
from urllib.parse import unquote, urljoin, urlsplit

import lxml.html
from form2request import form2request
from lxml import etree
from lxml_html_clean import Cleaner
from parsel import Selector
from parsel.csstranslator import css2xpath
from scrapy import Request
from scrapy.http import HtmlResponse, TextResponse
from scrapy.utils.response import get_base_url
from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding, read_bom, resolve_encoding
from w3lib.url import safe_url_string

from portal_spiders.dates import parse_date_info
from portal_spiders.items import ArticleItem
from portal_spiders.text import clean_multiline, clean_text
from portal_spiders.urls import canonical_url, split_url

# --- DOM cleaning -------------------------------------------------------------------------------------------

ALWAYS_REMOVE = (
    "script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "form input", "select",
    "button", "link",
)
# SharePoint chrome that is hidden by CSS but still present in the HTML (see the mas-portal trap), and the
# Design Manager placeholder ("This div, which you should delete, ...") left in master pages such as vbpl.vn's.
CHROME_SELECTORS = (
    "#suiteBar", "#s4-ribbonrow", "#ms-designer-ribbon", "#s4-statusbarcontainer", ".ms-hide",
    "#ctl00_IdWelcome", ".ms-signInLink", "#DeltaSPWebPartManager", "[hidden]", "[aria-hidden=true]",
    ".DefaultContentBlock",
)
HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
BLOCK_TAGS = frozenset({
    "p", "div", "section", "article", "header", "footer", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6",
    "table", "tr", "blockquote", "figure", "figcaption", "pre", "dl", "dt", "dd", "aside", "main", "br", "hr",
})

BODY_CLEANER = Cleaner(
    scripts=True, javascript=True, comments=True, style=True, inline_style=True, links=True, meta=True,
    page_structure=True, processing_instructions=True, embedded=True, frames=True, forms=True, annoying_tags=True,
    remove_unknown_tags=False, safe_attrs_only=True, safe_attrs=frozenset({"href", "src", "alt", "title", "colspan",
                                                                             "rowspan"}),
)


# HTML5 sectioning elements that platforms remove as page chrome. libxml2 (lxml's parser) does not know them: it
# ignores ``</nav>`` while a ``<div>`` opened inside is still open, and nests the rest of the document in the
# ``<nav>`` (a real page: the luongbang.hungyen.gov.vn fixture, whose menu leaves one div open; browsers close it).
SECTION_CHROME = frozenset({"nav", "header", "footer", "aside"})


# lxml.html's own parser picks the Python class of an element (forms and inputs have classes of their own) by
# calling a Python function each time an element is touched from Python: a tenth of a big listing's parse. Nothing
# here uses those classes; a lookup done in C gives every element lxml.html's HtmlElement.
# The text is given as UTF-8 bytes, as parsel does: libxml2 refuses a str that starts with an XML declaration
# (XHTML pages: `<?xml version="1.0" encoding="utf-8"?>`), and a `<meta charset>` in the page must not override
# the encoding the response was already decoded with.
HTML_PARSER = etree.HTMLParser(encoding="utf-8", recover=True, huge_tree=True)
HTML_PARSER.set_element_class_lookup(etree.ElementDefaultClassLookup(
    element=lxml.html.HtmlElement, comment=lxml.html.HtmlComment, pi=lxml.html.HtmlProcessingInstruction,
    entity=lxml.html.HtmlEntity))


def parse_html(text: str) -> lxml.html.HtmlElement:
    """The ``<html>`` element of ``text`` parsed as HTML (an empty page is an empty ``<html>``)."""
    body = text.strip().replace("\x00", "").encode("utf-8", "surrogatepass") if text else b""
    root = etree.fromstring(body, parser=HTML_PARSER) if body else None
    return root if root is not None else etree.fromstring(b"<html></html>", parser=HTML_PARSER)


def clean_dom(html: str, *, extra_remove: Iterable[str] = (), parsed: Any = None) -> lxml.html.HtmlElement:
    """Parse ``html`` and strip everything that is not visible content.

    ``parsed``: the page already parsed by :func:`parse_html`, copied instead of parsed again (a copy costs
    about a third of a parse: 0.24 against 0.6 ms for a 58 KB page)."""
    root = copy.deepcopy(parsed) if parsed is not None else parse_html(html)
    for node in root.xpath("//comment() | //processing-instruction()"):
        _drop(node)
    remove_matching(root, ALWAYS_REMOVE, text=html)
    # Chrome goes in a second pass, so the page's text that _keeps_content compares with has no scripts in it.
    page_chars: list[int] = []
    remove_matching(root, (*CHROME_SELECTORS, *extra_remove), text=html,
                    keep=lambda node: node.tag in SECTION_CHROME and _keeps_content(node, root, page_chars))
    for node in root.xpath("//*[@style]"):
        if HIDDEN_STYLE.search(node.get("style", "")):
            _drop(node)
    return root


def _keeps_content(node: Any, root: Any, page_chars: list[int]) -> bool:
    """Whether a chrome element must stay: it is an article's own, or it swallowed the page.

    A ``header``/``footer`` inside an ``<article>`` is that article's (HTML5 sectioning): it holds the date,
    byline or tags. An element holding most of the page's text is a parse artifact (see ``SECTION_CHROME``).
    """
    if node.tag in {"header", "footer"} and any(a.tag == "article" for a in node.iterancestors()):
        return True
    if not page_chars:
        page_chars.append(len("".join(root.text_content().split())))
    return page_chars[0] > 500 and len("".join(node.text_content().split())) > page_chars[0] / 2


def same_text(a: str | None, b: str | None) -> bool:
    """Whether two strings are the same text, ignoring case, spacing and a trailing full stop."""
    if not a or not b:
        return False
    return " ".join(a.split()).rstrip(".").casefold() == " ".join(b.split()).rstrip(".").casefold()


def _unless_same(value: Any, other: str | None) -> Any:
    return None if isinstance(value, str) and same_text(value, other) else value


@lru_cache(maxsize=256)
def _any_match(patterns: tuple[str, ...]) -> Callable[[str], bool]:
    """One compiled case-insensitive alternation of ``patterns``: a listing of 20,000 links classifies each link
    with one regex search per URL kind instead of one per pattern."""
    if not patterns:
        return lambda _key: False
    search = re.compile("|".join(f"(?:{rx})" for rx in patterns), re.I).search
    return lambda key: search(key) is not None


def is_feed_key(platform: type[Platform], key: str) -> bool:
    """Whether ``key`` (a URL's path, with its query) has one of ``platform``'s feed shapes. The patterns only run
    when one of its ``FEED_WORDS`` is in the key: Python's regex engine spends microseconds per URL on them."""
    lowered = key.lower()
    return any(word in lowered for word in platform.FEED_WORDS) and _any_match(platform.feed_url_patterns)(key)


@lru_cache(maxsize=65536)
def _classify_key(platform: type[Platform], key: str) -> str | None:
    # Cached by platform class (hashed by identity, unlike the pattern tuples): a listing's links are classified
    # twice (entries and the article-link count) and repeat across pages.
    if is_feed_key(platform, key):
        return "feed"
    for kind, patterns in (("article", platform.article_url_patterns), ("listing", platform.listing_url_patterns)):
        if _any_match(patterns)(key):
            return kind
    return None


@lru_cache(maxsize=65536)
def join_url(base: str, href: str) -> str:
    """``urljoin(base, href)``, cached: a listing page's links are joined twice (entries and the article-link
    count), and the same menus and items come back on every page of a crawl.

    A root-relative ``href`` with no dot segment and no tab or line break (most links on these portals) is the
    base's origin followed by ``href``: the same answer for a fifth of urljoin's cost (tests/test_urls.py compares)."""
    if href.startswith("/") and not href.startswith("//") and "\t" not in href and "\n" not in href and \
            "\r" not in href and _plain_path(href.partition("?")[0].partition("#")[0]) and \
            not href.endswith(("?", "#")) and "?#" not in href:  # urljoin drops an empty query or fragment
        origin = _origin(base)
        if origin:
            return origin + href
    return urljoin(base, href)


def _plain_path(path: str) -> bool:
    return "/." not in path and ";" not in path  # no dot segment to resolve, no ;params to split off


@lru_cache(maxsize=256)
def _origin(base: str) -> str | None:
    parts = urlsplit(base)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else None


@lru_cache(maxsize=65536)
def _path_and_query(url: str) -> str:
    _scheme, _netloc, path, query = split_url(url)
    return (path or "/") + (f"?{query}" if query else "")


def same_host(page_url: str) -> Callable[[str], bool]:
    """A test of whether a URL is on ``page_url``'s host (``www.`` or not, either scheme). Most links of a page
    start with one of four prefixes, so the host name is only parsed out of the others."""
    host = (urlsplit(page_url).hostname or "").removeprefix("www.")
    prefixes = tuple(f"{scheme}://{www}{host}/" for scheme in ("https", "http") for www in ("", "www."))
    return lambda url: url.startswith(prefixes) or (urlsplit(url).hostname or "").removeprefix("www.") == host


def remove_matching(root: lxml.html.HtmlElement, selectors: Iterable[str],
                    keep: Callable[[Any], bool] | None = None, *, text: str | None = None) -> None:
    """Remove every element matching one of the CSS ``selectors`` unless ``keep(element)`` (tails stay).
    ``text``: the HTML the tree was parsed from (see :func:`select_all`)."""
    for node in select_all(root, selectors, text=text):
        if keep is None or not keep(node):
            _drop(node)


# -- linear CSS for big pages -----------------------------------------------------------------------------------
# libxml2 evaluates a chain of descendant steps (`.item h3 a` -> .../descendant::h3/descendant::a) in time that grows
# with the square of the matches on a listing-sized page. Listing selectors are such chains, so they are matched
# here right to left instead: the elements the last compound names, then their ancestors (linear). A single
# compound is one XPath step, linear in libxml2 too, and is left to it.

_COMPOUND = re.compile(r"^(?P<tag>[a-zA-Z][\w-]*|\*)?(?P<rest>(?:[#.][\w-]+|\[[^\]]*\])*)$")
_ATTRIBUTE = re.compile(r"""^\[\s*([\w-]+)\s*(?:([~|^$*]?=)\s*(?:"([^"]*)"|'([^']*)'|([^\]\s"']*)))?\s*\]$""")
_CHAIN_TOKEN = re.compile(r"\s*>\s*|\s+")


@dataclass(frozen=True)
class _Compound:
    tag: str | None
    ident: str | None
    classes: frozenset[str]
    attributes: tuple[tuple[str, str | None, str], ...]
    css: str = field(compare=False)  # the compound as written (one XPath step: see _anchored)

    def matches(self, el: Any) -> bool:
        if self.tag is not None and el.tag != self.tag:
            return False
        if self.ident is not None and el.get("id") != self.ident:
            return False
        if self.classes and not self.classes.issubset((el.get("class") or "").split()):
            return False
        for name, op, value in self.attributes:
            got = el.get(name)
            if got is None or not _attribute_ok(got, op, value):
                return False
        return True


def _attribute_ok(got: str, op: str | None, value: str) -> bool:
    if op is None:
        return True
    if op == "=":
        return got == value
    if op == "~=":
        return value in got.split()
    if op == "*=":
        return bool(value) and value in got
    if op == "^=":
        return bool(value) and got.startswith(value)
    if op == "$=":
        return bool(value) and got.endswith(value)
    return got == value or got.startswith(value + "-")  # |=


def _compound(text: str) -> _Compound | None:
    m = _COMPOUND.match(text)
    if m is None or not text:
        return None
    tag = m.group("tag")
    ident, classes, attributes = None, set(), []
    for part in re.findall(r"[#.][\w-]+|\[[^\]]*\]", m.group("rest")):
        if part[0] == "#":
            ident = part[1:]
        elif part[0] == ".":
            classes.add(part[1:])
        else:
            a = _ATTRIBUTE.match(part)
            if a is None:
                return None
            value = next((v for v in a.groups()[2:] if v is not None), "")
            attributes.append((a.group(1).lower(), a.group(2), value))
    return _Compound(None if tag in (None, "*") else tag.lower(), ident, frozenset(classes), tuple(attributes), text)


@lru_cache(maxsize=512)
def _chain(css: str) -> tuple[tuple[_Compound, ...], tuple[str, ...]] | None:
    """``css`` as compounds joined by descendant/child combinators, or None when it needs the CSS engine."""
    css = css.strip()
    if not css or "," in css or any(ch in css for ch in ":+~()"):
        return None  # groups are split by css_select; pseudo-classes and sibling combinators go to parsel
    parts, combinators = [], []
    pos = 0
    for m in _CHAIN_TOKEN.finditer(css):
        if "[" in css[:m.start()] and css[:m.start()].count("[") > css[:m.start()].count("]"):
            continue  # whitespace inside an attribute test
        parts.append(css[pos:m.start()])
        combinators.append(">" if ">" in m.group(0) else " ")
        pos = m.end()
    parts.append(css[pos:])
    compounds = [_compound(p) for p in parts]
    if any(c is None for c in compounds):
        return None
    return tuple(compounds), tuple(combinators)  # type: ignore[arg-type]


def _chain_matches(el: Any, compounds: tuple[_Compound, ...], combinators: tuple[str, ...], k: int,
                   scope: Any) -> bool:
    """Whether ``el`` (matching compounds[k + 1]) has the ancestors compounds[..k] asks for, inside ``scope``."""
    if k < 0:
        return True
    if el is scope:
        return False
    if combinators[k] == ">":
        parent = el.getparent()
        return parent is not None and compounds[k].matches(parent) and \
            _chain_matches(parent, compounds, combinators, k - 1, scope)
    for ancestor in el.iterancestors():
        if compounds[k].matches(ancestor) and _chain_matches(ancestor, compounds, combinators, k - 1, scope):
            return True
        if ancestor is scope:
            break
    return False


def css_select(scope: Any, css: str) -> list[Any]:
    """Elements (lxml) matching ``css`` inside ``scope`` (an lxml element or a parsel selector), in document order.

    Descendant and child chains of tags, ids, classes and attribute tests (and groups of them ending in tags) are
    matched in linear time (see above); any other CSS (pseudo-classes, sibling combinators) goes to parsel.
    """
    root = getattr(scope, "root", scope)
    chains = [_chain(part) for part in css.split(",")] if "," in css else [_chain(css)]
    if any(chain is None for chain in chains) or (len(chains) > 1 and any(c[0][-1].tag is None for c in chains)):
        return [node.root for node in Selector(root=root, type="html").css(css)]
    if len(chains) > 1:  # a group: one walk over the tags its chains end in keeps document order
        tags = {c[0][-1].tag for c in chains}
        return [el for el in root.iter(*tags) if any(
            c[0][-1].matches(el) and _chain_matches(el, c[0], c[1], len(c[0]) - 2, root) for c in chains)]
    compounds, combinators = chains[0]  # type: ignore[misc]
    if len(compounds) == 1:
        return compiled_css(css.strip())(root)  # one compound is one XPath step: linear in libxml2
    last = compounds[-1]
    anchored = _anchored(root, compounds[0], last.tag)
    if anchored is not None:
        candidates: Iterable[Any] = anchored
    elif last.tag is not None:
        candidates = root.iter(last.tag)
    elif last.classes:
        candidates = _CLASSED(root)
    elif last.ident is not None:
        candidates = _WITH_ID(root)
    else:
        candidates = (el for el in root.iter() if isinstance(el.tag, str))
    return [el for el in candidates
            if last.matches(el) and _chain_matches(el, compounds, combinators, len(compounds) - 2, root)]


#: above this many elements matching a chain's first compound, _anchored leaves the walk to the whole tree
ANCHORS = 64


def _anchored(root: Any, first: _Compound, tag: str | None) -> Iterator[Any] | None:
    """The elements (of ``tag``, or all) inside the elements matching a chain's first compound, in document order,
    or None when that compound is a bare tag or matches more than :data:`ANCHORS` elements.

    Every match of a chain has an ancestor matching its first compound, so only their subtrees need a look: the
    pager selectors (``.pagination a``, ``ul.pager li a``) then look at the pager's few links instead of each of a
    20,000-link listing's. libxml2 finds the anchors (one step: linear, in C); nested anchors are covered by the
    outermost one."""
    if not (first.classes or first.ident or first.attributes):
        return None
    anchors = compiled_css(first.css)(root)
    if len(anchors) > ANCHORS:
        return None
    inside = set(anchors)
    outermost = [a for a in anchors if not any(up in inside for up in a.iterancestors())]
    kinds = (tag,) if tag is not None else ()
    return (el for anchor in outermost for el in anchor.iter(*kinds) if isinstance(el.tag, str))


@lru_cache(maxsize=1024)
def compiled_css(css: str) -> etree.XPath:
    """``css`` (parsel's dialect: ``::text``, ``::attr(name)``) as an XPath compiled once per process.

    ``Selector.css`` translates and compiles the query on every call and wraps every result in a selector: a
    quarter to three fifths of each of the ten-odd lookups an article page makes (measured on a 5 KB page), none of
    which needs the wrapping."""
    return etree.XPath(css2xpath(css), smart_strings=False)


def css_select_each(scope: Any, selectors: Iterable[str], *, text: str | None = None) -> list[list[Any]]:
    """:func:`css_select` of each of ``selectors`` (one list each, in their order), in one walk of the tree for
    all those that are chains ending in a tag name: the next-page selectors of a platform all end in ``a``, and a
    walk over a 20,000-link listing's links per selector costs more than the rest of finding its pager."""
    root = getattr(scope, "root", scope)
    wanted = list(selectors)
    # as in select_all: a selector naming a class absent from the page matches nothing
    absent = ({i for i, css in enumerate(wanted) if not _may_occur(css, text)} if _text_filter_pays(text)
              else set())
    chains = [_chain(css) if "," not in css else None for css in wanted]
    walkable = {i for i, chain in enumerate(chains)
                if chain is not None and len(chain[0]) > 1 and chain[0][-1].tag is not None}
    walked = [i for i in sorted(walkable) if i not in absent]
    found: list[list[Any]] = [[] for _ in wanted]
    for i in list(walked):  # a chain whose first compound is rare looks inside those elements alone
        compounds, combinators = chains[i]  # type: ignore[misc]
        anchored = _anchored(root, compounds[0], compounds[-1].tag)
        if anchored is not None:
            walked.remove(i)
            found[i] = [el for el in anchored if compounds[-1].matches(el) and
                        _chain_matches(el, compounds, combinators, len(compounds) - 2, root)]
    if walked:
        for el in root.iter(*{chains[i][0][-1].tag for i in walked}):  # type: ignore[index]
            for i in walked:
                compounds, combinators = chains[i]  # type: ignore[misc]
                if compounds[-1].matches(el) and _chain_matches(el, compounds, combinators, len(compounds) - 2,
                                                                root):
                    found[i].append(el)
    for i, css in enumerate(wanted):
        if i not in absent and i not in walkable:
            found[i] = css_select(scope, css)
    return found


_CLASS_CONTAINS = re.compile(r"^\[class\*=[\"']?(?P<part>[\w-]+)[\"']?\]$")


@dataclass(frozen=True)
class _Matcher:
    """CSS selectors split for one walk of the tree: tag names, ids, class sets and ``[class*=x]`` are matched from
    indexes, the rest (other attribute tests, combinators) by CSS one by one."""

    tags: frozenset[str]
    ids: dict[str, tuple[str | None, ...]]  # id -> tags it must have (None: any)
    classes: dict[str, tuple[tuple[str | None, frozenset[str]], ...]]  # a class -> (tag, every class it needs)
    class_parts: tuple[str, ...]  # [class*=part]
    prefilter: re.Pattern[str] | None  # matches a class attribute that may satisfy one of the above
    others: tuple[str, ...]


@lru_cache(maxsize=256)
def _matcher(selectors: tuple[str, ...]) -> _Matcher:
    tags: set[str] = set()
    ids: dict[str, list[str | None]] = {}
    classes: dict[str, list[tuple[str | None, frozenset[str]]]] = {}
    parts_wanted: list[str] = []
    others: list[str] = []
    for group in selectors:
        for css in (part.strip() for part in (group.split(",") if not re.search(r"[('\"]", group) else [group])):
            contains = _CLASS_CONTAINS.match(css)
            compound = _compound(css) if css and not contains else None
            if contains:
                parts_wanted.append(contains.group("part"))
            elif compound is None or compound.attributes:
                if css:
                    others.append(css)
            elif compound.ident is None and not compound.classes and compound.tag:
                tags.add(compound.tag)
            elif compound.ident is not None and not compound.classes:
                ids.setdefault(compound.ident, []).append(compound.tag)
            elif compound.classes and compound.ident is None:
                classes.setdefault(min(compound.classes), []).append((compound.tag, compound.classes))
            else:
                others.append(css)
    words = "|".join(re.escape(c) for c in classes)
    parts_rx = "|".join(re.escape(c) for c in parts_wanted)
    prefilter = "|".join(x for x in ((rf"(?:^|\s)(?:{words})(?:\s|$)" if words else ""), parts_rx) if x)
    return _Matcher(frozenset(tags), {k: tuple(v) for k, v in ids.items()},
                    {k: tuple(v) for k, v in classes.items()}, tuple(parts_wanted),
                    re.compile(prefilter) if prefilter else None, tuple(others))


def select_all(root: Any, selectors: Iterable[str], *, text: str | None = None) -> list[Any]:
    """Elements matching any of the CSS ``selectors``, each once.

    The tree is walked a constant number of times whatever the number of selectors (tags, then elements with an
    id, then elements with a class), instead of once per selector (clean_dom alone has about 40). Selectors with
    other attribute tests or combinators are few and go through :func:`css_select`. With ``text``, the HTML the
    tree was parsed from, of :data:`TEXT_FILTER_MIN` or more, a selector naming a class, id or attribute that the
    text does not contain is skipped
    (most chrome and pager selectors are absent from a given page, and a walk over a big listing's classed
    elements costs more than searching its text).
    """
    if _text_filter_pays(text):
        selectors = [css for css in selectors if _may_occur(css, text)]
    matcher = _matcher(tuple(selectors))
    found: dict[Any, None] = {}
    if matcher.tags:
        found.update(dict.fromkeys(root.iter(*matcher.tags)))
    if matcher.ids:
        for el in _WITH_ID(root):
            wanted = matcher.ids.get(el.get("id", ""))
            if wanted and (None in wanted or el.tag in wanted):
                found.setdefault(el, None)
    if matcher.prefilter is not None:
        # a listing repeats a few class values thousands of times: each distinct value is matched once
        tags_for: dict[str, tuple[str | None, ...]] = {}
        for el in _CLASSED(root):
            value = el.get("class", "")
            tags = tags_for.get(value)
            if tags is None:
                tags = tags_for[value] = _class_tags(matcher, value)
            if tags and (None in tags or el.tag in tags):
                found.setdefault(el, None)
    for css in matcher.others:
        for node in css_select(root, css):
            found.setdefault(node, None)
    return list(found)


# Below this size, walking the tree for a selector costs less than looking for its names in the text: an article
# page of 4.6 KB was cleaned in 0.28 ms without the text test and 0.36 ms with it, a 56 KB one in the same time.
TEXT_FILTER_MIN = 128 * 1024


def _text_filter_pays(text: str | None) -> bool:
    """Whether to skip selectors by :func:`_may_occur` for a page whose HTML is ``text``."""
    return text is not None and len(text) >= TEXT_FILTER_MIN


def _may_occur(css: str, text: str) -> bool:
    """Whether an element matching ``css`` may be in the page whose HTML is ``text``: every class and id it names
    appears in the text (attribute names, which HTML does not case, in the lower-cased text). A class or id written
    with character references in the markup would be missed; the portals' markup has none."""
    for classes_ids, attributes in _literals(css):
        if all(word in text for word in classes_ids):
            missing = [name for name in attributes if name not in text]  # most markup writes them lower-case
            if not missing:
                return True
            if all(name in lowered_page(text) for name in missing):
                return True
    return False


@lru_cache(maxsize=1)
def lowered_page(text: str) -> str:
    """``text.lower()``, remembered for the last page: the selectors of one parse ask for it several times, and
    lower-casing a 4 MiB listing costs about 30 ms each time."""
    return text.lower()


@lru_cache(maxsize=1024)
def _literals(css: str) -> tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]:
    """Per alternative of a selector group: the class names and ids, and the attribute names, it needs."""
    alternatives = []
    for part in (css.split(",") if not re.search(r"[('\"]", css) else [css]):
        outside = re.sub(r"\[[^\]]*\]", "", part)
        if ":" in outside or "(" in outside:
            alternatives.append(((), ()))  # a pseudo-class such as :not() may match where a name is absent
            continue
        words = tuple(re.findall(r"[#.]([\w-]+)", outside))
        contains = re.findall(r"\[class\*=[\"']?([\w-]+)", part)
        names = tuple(n.lower() for n in re.findall(r"\[\s*([\w-]+)", part) if n.lower() != "class")
        alternatives.append((words + tuple(contains), names))
    return tuple(alternatives)


def _class_tags(matcher: _Matcher, value: str) -> tuple[str | None, ...]:
    """The tags an element with this class attribute must have to match one of ``matcher``'s class selectors
    (``None``: any tag; empty: none matches)."""
    if matcher.prefilter is None or not matcher.prefilter.search(value):
        return ()
    if any(part in value for part in matcher.class_parts):
        return (None,)
    tokens = value.split()
    return tuple({tag: None for token in tokens for tag, required in matcher.classes.get(token, ())
                  if required.issubset(tokens)})


_CLASSED = etree.XPath("descendant-or-self::*[@class]")
_LINKED = etree.XPath("descendant-or-self::*[@href or @src]")
_WITH_ID = etree.XPath("descendant-or-self::*[@id]")
_HREFS = etree.XPath("//a/@href", smart_strings=False)
_INPUT_VALUE = re.compile(r"""(?:^|\s)value\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.I)


def input_value(page: str, ident: str) -> str | None:
    """The ``value`` of the page's ``<input id="ident">`` as served, or None.

    Read from the HTML text: the cleaned tree has lost the inputs of forms, and parsing a big page again for one
    attribute would cost as much as the whole listing."""
    if ident not in page:  # ids are case-sensitive; a 4 MB page is searched for the id far faster than for the tag
        return None
    tag = re.search(rf"""<input\b[^>]*?\sid\s*=\s*["']?{re.escape(ident)}(?=["'\s/>])[^>]*>""", page, re.I)
    value = _INPUT_VALUE.search(tag.group(0)) if tag else None
    return html_lib.unescape(next(g for g in value.groups() if g is not None)) if value else None


def _drop(node: Any) -> None:
    """Remove a node but keep its tail text attached to the document."""
    parent = node.getparent()
    if parent is None:
        return
    tail = node.tail
    if tail:
        prev = node.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(node)


def element_text(node: Any) -> str:
    """Visible text of an element with paragraph breaks between block elements."""
    parts: list[str] = []

    def walk(el: Any) -> None:
        tag = el.tag if isinstance(el.tag, str) else ""
        block = tag.lower() in BLOCK_TAGS
        if block:
            parts.append("\n\n")
        if el.text and tag:
            parts.append(el.text)
        for child in el:
            walk(child)
            if child.tail:
                parts.append(child.tail)
        if block:
            parts.append("\n\n")

    walk(node)
    return clean_multiline("".join(parts)) or ""


def inline_text(node: Any) -> str:
    """Text of an element on one line."""
    if isinstance(node, str):
        return clean_text(node) or ""
    if len(node) == 0:  # a leaf (most link titles): its text, without a generator over the subtree
        return clean_text(node.text) or ""
    return clean_text(" ".join(node.itertext())) or ""


# --- results ------------------------------------------------------------------------------------------------


@dataclass
class ListingEntry:
    """An article link found on a listing page, feed or sitemap, with whatever hints came with it."""

    url: str
    title: str | None = None
    published: str | None = None  # raw date string shown beside the link, if any


@dataclass
class ListingPage:
    """What a listing page yields: article links (newest first, as the page orders them) and next pages.

    ``article_links`` counts the distinct links anywhere on the page whose URL has the platform's article shape
    (:meth:`Platform.classify_url`); far more of them than ``entries`` means the listing zone was missed
    (:func:`sparse_listing`).
    """

    entries: list[ListingEntry] = field(default_factory=list)
    next_requests: list[Request] = field(default_factory=list)
    feeds: list[str] = field(default_factory=list)  # feeds the page advertises (generic autodiscovery)
    pager_shown: bool = False  # the page shows a pager offering a later page (whether or not it was followed)
    article_links: int = 0


#: A listing page is "sparse" when it yields fewer than this share of the article links the page shows ...
SPARSE_SHARE = 0.5
#: ... and at least this many article links on the page were left out.
SPARSE_MISSED = 10


def sparse_listing(page: ListingPage) -> bool:
    """Whether a listing page found a handful of links where it shows dozens (a missed listing zone)."""
    missed = page.article_links - len(page.entries)
    return missed >= SPARSE_MISSED and len(page.entries) < SPARSE_SHARE * page.article_links


class ExtractionError(Exception):
    """A page could not be read as an article (the reason is recorded as a failure)."""


# --- the platform base class --------------------------------------------------------------------------------

LABELS: dict[str, tuple[str, ...]] = {
    "author": ("Tác giả", "Tác giả bài viết", "Người viết", "Bài và ảnh", "Bài, ảnh", "Người đăng", "Biên tập"),
    "tags": ("Tag", "Tags", "Từ khóa", "Từ khoá", "Thẻ"),
    "attachments": ("File đính kèm", "Tệp đính kèm", "Tài liệu đính kèm", "Văn bản đính kèm", "Đính kèm",
                    "Tải về", "Tải file"),
    "published": ("Ngày đăng", "Ngày xuất bản", "Đăng ngày", "Đăng lúc", "Ngày cập nhật", "Cập nhật lúc",
                  "Cập nhật", "Thời gian đăng"),
    "source": ("Nguồn",),
}
ALL_LABELS = sorted({lab for labs in LABELS.values() for lab in labs}, key=len, reverse=True)
# A text that starts with any label (what ends the links after a label); a label need not be followed by ":".
ANY_LABEL_START = re.compile("|".join(re.escape(lab) for lab in ALL_LABELS), re.I)
LABELLED = re.compile(r"^\s*(?:" + "|".join(re.escape(lab) for lab in ALL_LABELS) + ")", re.I)
KNOWN_LABELS = {lab.lower() for lab in ALL_LABELS}

ATTACHMENT_EXT = re.compile(r"\.(pdf|docx?|xlsx?|pptx?|rar|zip|7z|rtf|odt|ods|txt|csv|xml|signed)(?:$|[?#])", re.I)
DATE_HINT = re.compile(r"\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}|\d{4}-\d{2}-\d{2}|tháng\s+\d{1,2}", re.I)


@lru_cache(maxsize=256)
def label_start(label: str) -> re.Pattern[str]:
    """An element text that *is* ``label``: the label, then a colon, a space or the end."""
    return re.compile(rf"^\s*{re.escape(label)}\s*(?::|：|\s|$)", re.I)


@lru_cache(maxsize=256)
def label_prefix(label: str) -> re.Pattern[str]:
    """``label`` with its colon and spaces, to cut from the front of a labelled text."""
    return re.compile(rf"^\s*{re.escape(label)}\s*[:：]?\s*", re.I)


class Platform:
    """Base class for a CMS family. Subclasses mostly set selector lists; override methods for quirks.

    Selector lists are tried in order; a portal's registry entry may prepend its own (``selectors``).
    """

    name: ClassVar[str] = "base"
    description: ClassVar[str] = ""
    # detection: CSS selectors or regexes over the raw HTML that identify the platform
    fingerprint_css: ClassVar[tuple[str, ...]] = ()
    fingerprint_re: ClassVar[tuple[str, ...]] = ()
    case_insensitive_paths: ClassVar[bool] = False

    remove: ClassVar[tuple[str, ...]] = ()  # related boxes, menus, footers: removed before extraction
    title: ClassVar[tuple[str, ...]] = ("h1",)
    published: ClassVar[tuple[str, ...]] = ()
    author: ClassVar[tuple[str, ...]] = ()
    summary: ClassVar[tuple[str, ...]] = ()
    body: ClassVar[tuple[str, ...]] = ()
    tags: ClassVar[tuple[str, ...]] = ()
    attachments: ClassVar[tuple[str, ...]] = ()
    category: ClassVar[tuple[str, ...]] = ()
    listing_links: ClassVar[tuple[str, ...]] = ()
    listing_dates: ClassVar[tuple[str, ...]] = ()  # relative to each link's item container, optional
    next_page: ClassVar[tuple[str, ...]] = ("a[rel=next]", "a.next", "li.next a", ".pagination a.next")
    # URL shapes, searched (case-insensitively) in "<path>?<query>" of a URL. Article and listing patterns say what
    # a crawl treats a URL as (and filter listing links when no selector matched); signature patterns are shapes only
    # this platform produces, and confirm the platform of a host in the registry (portal_spiders.evidence).
    article_url_patterns: ClassVar[tuple[str, ...]] = ()
    listing_url_patterns: ClassVar[tuple[str, ...]] = ()
    feed_url_patterns: ClassVar[tuple[str, ...]] = (r"(?:^|/)rss(?:/|\.|$)|\.rss$|/feed/?$|\.xml$",)
    #: a word every alternative of the feed patterns needs (tests/test_urls.py checks): a URL without one is not a
    #: feed, and classifying a listing's 20,000 links skips the feed patterns for them (is_feed_key)
    FEED_WORDS: ClassVar[tuple[str, ...]] = ("rss", "feed", "xml")
    signature_url_patterns: ClassVar[tuple[str, ...]] = ()
    title_suffix_re: ClassVar[str] = r"\s+[-|–]\s+(?:CỔNG|TRANG|Cổng|Trang|Báo|BÁO)\b.*$"
    date_order: ClassVar[str] = "DMY"
    feed_date_order: ClassVar[str] = "DMY"  # RSS dates can differ from page dates (baochinhphu: M/d/yyyy)

    FIELDS: ClassVar[tuple[str, ...]] = ("title", "published", "author", "summary", "body", "tags", "attachments",
                                         "category", "listing_links", "next_page", "remove")

    def __init__(self, overrides: dict[str, list[str]] | None = None, *,
                 options: dict[str, Any] | None = None) -> None:
        self.options: dict[str, Any] = dict(options or {})  # the registry's per-portal settings of this platform
        self.selectors: dict[str, tuple[str, ...]] = {}
        for name in self.FIELDS:
            extra = tuple((overrides or {}).get(name, ()))
            self.selectors[name] = extra + tuple(getattr(self, name))

    # -- detection ---------------------------------------------------------------------------------------

    @classmethod
    def detect(cls, html: str) -> bool:
        """Whether raw HTML carries this platform's fingerprint."""
        if any(re.search(rx, html, re.I) for rx in cls.fingerprint_re):
            return True
        if cls.fingerprint_css:
            sel = Selector(text=html[:400_000])
            return any(sel.css(css) for css in cls.fingerprint_css)
        return False

    # -- URL shapes -------------------------------------------------------------------------------------

    @classmethod
    def _url_key(cls, url: str) -> str:
        return _path_and_query(url)

    @classmethod
    def classify_url(cls, url: str) -> str | None:
        """``"article"``, ``"listing"`` or ``"feed"`` for a URL of this platform's shapes, else ``None``."""
        return _classify_key(cls, cls._url_key(url))

    @classmethod
    def has_signature(cls, url: str) -> bool:
        """Whether the URL has a shape only this platform produces (a link seen on a host confirms its platform)."""
        return _any_match(cls.signature_url_patterns)(cls._url_key(url))

    def canonical_url(self, url: str) -> str:
        """The archive identity of a URL of this platform (one record per article or document)."""
        return canonical_url(url, case_insensitive_path=self.case_insensitive_paths)

    def count_article_links(self, response: TextResponse, sel: Selector) -> int:
        """Distinct same-host links anywhere on the page with this platform's article URL shape."""
        on_page_host = same_host(response.url)
        base = get_base_url(response)
        found = set()
        for href in set(map(str.strip, _HREFS(sel.root))):  # an item often links twice
            url = join_url(base, href)
            if on_page_host(url) and self.classify_url(url) == "article":
                found.add(self.canonical_url(url))
        return len(found)

    # -- listing -----------------------------------------------------------------------------------------

    def parse_listing(self, response: TextResponse) -> ListingPage:
        """Article links of a listing page, newest first, plus requests for the next page(s).

        Pagers are looked for before the platform's listing removals (menus, ``<nav>``, headers) are applied:
        Drupal and WordPress put their pager inside ``<nav>``. Linear in the size of the page.
        """
        response, _note = checked_encoding(response)
        root = clean_dom(response.text)
        sel = Selector(root=root, type="html")
        try:
            next_requests = list(self.next_page_requests(response, sel))
            shown = bool(next_requests) or self.pager_shown(response, sel)
        finally:
            self._candidates = None
        counted = self.count_article_links(response, sel) if self.count_links_before_removals else None
        remove_matching(root, self._removals_for_listing(), text=response.text)
        entries = self.listing_entries(response, sel)
        return ListingPage(entries=entries, next_requests=next_requests, pager_shown=shown,
                           article_links=self.count_article_links(response, sel) if counted is None else counted)

    #: whether :meth:`count_article_links` counts the page before or after :meth:`_removals_for_listing`
    count_links_before_removals: ClassVar[bool] = False

    def _removals_for_listing(self) -> tuple[str, ...]:
        return ()

    def listing_entries(self, response: TextResponse, sel: Selector) -> list[ListingEntry]:
        """Links to articles on a listing page."""
        seen: dict[str, ListingEntry] = {}
        base = get_base_url(response)
        for css in self.selectors["listing_links"]:
            for a in css_select(sel, css):
                href = (a.get("href") or "").strip()
                if not href or href.startswith(("javascript:", "#", "mailto:")):
                    continue
                url = join_url(base, href)
                if url not in seen:
                    seen[url] = ListingEntry(url=url, title=inline_text(a) or None, published=self._listing_date(a))
                elif not seen[url].title:  # an image link first, then the title link to the same article
                    seen[url].title = inline_text(a) or None
            if seen:
                break
        if not seen and self.article_url_patterns:
            for a in sel.css("a[href]"):
                url = response.urljoin(a.attrib["href"].strip())
                if self.classify_url(url) == "article" and url not in seen:
                    seen[url] = ListingEntry(url=url, title=inline_text(a.root) or None)
        return list(seen.values())

    def _listing_date(self, link: Selector | Any) -> str | None:
        """The date printed beside a listing link, in its item's container (up to 3 levels up).

        Bounded work per link, so a listing of 20,000 links stays linear: a container holding several items
        (more than :data:`ITEM_LINKS` links) is never read, and at most :data:`ITEM_CHARS` of text per level.
        ``link`` is a parsel selector or an lxml element.
        """
        node = getattr(link, "root", link)
        for _ in range(3):
            node = node.getparent()
            if node is None or more_links_than(node, ITEM_LINKS):
                return None
            raw = _bounded_text(node, ITEM_CHARS)
            if DATE_HINT.search(raw) is None:  # the hint has no space but \s+: whitespace runs do not hide one
                continue
            text = " ".join(raw.split())
            m = DATE_HINT.search(text)
            if m:
                return clean_text(text[max(0, m.start() - 6): m.end() + 8])
        return None

    def next_page_requests(self, response: TextResponse, sel: Selector) -> Iterator[Request]:
        """The request for the following listing page: the first usable link of :meth:`next_candidates`
        (real links, or ASP.NET postbacks replayed as form POSTs), never the page itself."""
        here = canonical_url(response.url)
        for href in self.next_candidates(response, sel):
            request = self._next_request(response, href)
            if request is not None and (request.method != "GET" or canonical_url(request.url) != here):
                yield request
                return

    _candidates: tuple[Any, list[str], Iterator[str]] | None = None  # the page being parsed (parse_listing)

    def next_candidates(self, response: TextResponse, sel: Selector) -> Iterator[str]:
        """Next-page hrefs, most specific first: the platform's selectors, ``rel=next`` (links and ``<link>``),
        then inside pager containers (``<nav>``, ``ul.pagination``, ``.pager`` ...) a next label or the number
        after the current page, then a next label ("Trang sau", "Tiếp", "»" ...) anywhere.

        Lazy, and remembered while one page is parsed: finding the next page and telling whether a pager shows
        read the page once, and only as far as needed."""
        if self._candidates is None or self._candidates[0] is not sel.root:
            self._candidates = (sel.root, [], self._next_candidates(response, sel))
        _root, seen, rest = self._candidates
        yield from list(seen)
        for href in rest:
            seen.append(href)
            yield href

    def _next_candidates(self, response: TextResponse, sel: Selector) -> Iterator[str]:
        for matches in css_select_each(sel, (*self.selectors["next_page"], "a[rel~=next]"), text=response.text):
            for a in matches:
                yield (a.get("href") or "").strip()
        head = HEAD_LINK_NEXT.search(response.text, 0, _head_end(response.text))
        href = HREF_ATTR.search(head.group(0)) if head else None
        if href:
            yield html_lib.unescape(next(g for g in href.groups() if g is not None)).strip()
        for container in pager_containers(sel, response.text):
            for a in container.iter("a"):
                if is_next_link(a):
                    yield (a.get("href") or "").strip()
            numbered = next_numbered_link(container)
            if numbered is not None:
                yield (numbered.get("href") or "").strip()
        for a in sel.root.iter("a"):
            text = a.text_content()
            if len(text) <= 40 and is_next_label(text):
                yield (a.get("href") or "").strip()

    def pager_shown(self, response: TextResponse, sel: Selector) -> bool:
        """Whether the page shows a pager offering a later page (even one that cannot be followed, such as a
        ``javascript:`` link): with no next request, the listing stops at this page and health should say so."""
        return any(href and not href.startswith("#") for href in self.next_candidates(response, sel))

    @staticmethod
    def _next_request(response: TextResponse, href: str) -> Request | None:
        postback = postback_request(response, href)
        if postback is not None:
            return postback
        if href and not href.startswith(("javascript:", "#")):
            return Request(response.urljoin(href))
        return None

    # -- article -----------------------------------------------------------------------------------------

    def parse_article(self, response: TextResponse, *, portal: str, now: datetime | None = None) -> ArticleItem:
        """Extract one article. Raises :class:`ExtractionError` when the page holds no article."""
        if not isinstance(response, TextResponse):
            raise ExtractionError(f"not a text response ({response.headers.get('Content-Type', b'?')!r})")
        response, charset_note = checked_encoding(response)
        raw = Selector(root=parse_html(response.text), type="html")
        page = ArticlePage(response=response, raw=raw, platform=self, now=now)
        request = response.request
        item = ArticleItem(
            url=self.canonical_url(response.url),
            portal=portal,
            # the URL as listed: the first of a redirect chain (failures and retries are keyed by it)
            source_url=(request.meta.get("redirect_urls") or [request.url])[0] if request is not None else response.url,
            final_url=response.url,
            platform=self.name,
            fetched_at=(now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds"),
        )
        self.fill(page, item)
        if charset_note:
            item.field_sources["encoding"] = charset_note
        return item

    # Legal-document platforms spread one record over several views (full text, properties ...): the crawl fetches
    # the views named here and merges each into the item before the item leaves the spider. News platforms need none.

    def document_views(self, item: ArticleItem, response: TextResponse) -> list[str]:
        """URLs of further views of the same record to fetch and merge before ``item`` is complete."""
        return []

    def merge_view(self, item: ArticleItem, response: TextResponse) -> None:
        """Merge one further view (named by :meth:`document_views`) into ``item``."""
        raise NotImplementedError(f"platform {self.name} names no further views")

    def fill(self, page: ArticlePage, item: ArticleItem) -> None:
        """Fill every field of ``item`` from ``page``; subclasses extend this for their quirks."""
        src = item.field_sources
        item.title, src["title"] = page.first(self.title_candidates(page))
        item.author, src["author"] = page.first(self.author_candidates(page))
        # Some CMSs fill meta description and keywords with the title when the editor left them empty: the title
        # repeated is neither a lead nor a tag, so such a candidate gives way to the next (luongbang.hungyen.gov.vn).
        title = item.title
        item.tags, src["tags"] = page.first_list(
            [(name, lambda fn=fn: [t for t in fn() or [] if not same_text(t, title)]) for name, fn in
             self.tag_candidates(page)])
        item.attachments, src["attachments"] = page.first_list(self.attachment_candidates(page))
        item.summary, src["summary"] = page.first(
            [(name, lambda fn=fn: _unless_same(fn(), title)) for name, fn in self.summary_candidates(page)])
        item.category, src["category"] = page.first(self.category_candidates(page))
        published, src["published"] = page.first_date(self.date_candidates(page), order=self.date_order)
        if published is not None:
            raw_value, parsed = published
            item.published_raw = raw_value  # kept even when it is no possible date (31/02/2024)
            if parsed is not None:
                item.published, item.published_precision = parsed.isoformat(), parsed.precision
        body_el, src["body"] = page.body_element(self.selectors["body"])
        if body_el is not None:
            item.body_html, item.body_text = page.render_body(body_el, drop_texts=[item.summary, item.title])
            item.images = page.images(body_el)
        for key in [k for k, v in src.items() if v is None]:
            del src[key]

    # Candidate generators: (source name, callable returning a value or None), most robust first.

    def title_candidates(self, page: ArticlePage) -> list[tuple[str, Callable[[], Any]]]:
        return [
            *[(f"css:{css}", lambda css=css: page.css_text(css)) for css in self.selectors["title"]],
            ("jsonld:headline", lambda: page.jsonld("headline")),
            ("meta:og:title", lambda: self.strip_title_suffix(page.meta("og:title"))),
            ("heuristic:h1", lambda: page.css_text("h1")),
            ("heuristic:title", lambda: self.strip_title_suffix(page.select_first("title::text", raw=True))),
        ]

    def author_candidates(self, page: ArticlePage) -> list[tuple[str, Callable[[], Any]]]:
        return [
            *[(f"label:{lab}", lambda lab=lab: page.label_text(lab)) for lab in LABELS["author"]],
            ("jsonld:author", lambda: page.jsonld("author")),
            ("meta:author", lambda: page.meta("author") or page.meta("article:author")),
            *[(f"css:{css}", lambda css=css: page.css_text(css)) for css in self.selectors["author"]],
        ]

    def tag_candidates(self, page: ArticlePage) -> list[tuple[str, Callable[[], Any]]]:
        return [
            *[(f"label:{lab}", lambda lab=lab: page.label_link_texts(lab)) for lab in LABELS["tags"]],
            *[(f"css:{css}", lambda css=css: page.css_texts(css)) for css in self.selectors["tags"]],
            ("meta:article:tag", lambda: page.metas("article:tag")),
            ("meta:keywords", lambda: page.keywords()),
        ]

    def attachment_candidates(self, page: ArticlePage) -> list[tuple[str, Callable[[], Any]]]:
        return [
            *[(f"label:{lab}", lambda lab=lab: page.label_links(lab)) for lab in LABELS["attachments"]],
            *[(f"css:{css}", lambda css=css: page.css_links(css)) for css in self.selectors["attachments"]],
            ("heuristic:file-links", lambda: page.file_links(self.selectors["body"])),
        ]

    def summary_candidates(self, page: ArticlePage) -> list[tuple[str, Callable[[], Any]]]:
        return [
            *[(f"css:{css}", lambda css=css: page.css_block_text(css)) for css in self.selectors["summary"]],
            ("jsonld:description", lambda: page.jsonld("description")),
            ("meta:description", lambda: page.meta("description")),
        ]

    def category_candidates(self, page: ArticlePage) -> list[tuple[str, Callable[[], Any]]]:
        return [
            ("meta:article:section", lambda: page.meta("article:section")),
            *[(f"css:{css}", lambda css=css: page.breadcrumb(css)) for css in self.selectors["category"]],
            ("jsonld:articleSection", lambda: page.jsonld("articleSection")),
        ]

    def date_candidates(self, page: ArticlePage) -> list[tuple[str, Callable[[], Any]]]:
        return [
            *[(f"label:{lab}", lambda lab=lab: page.label_text(lab, keep_label=True)) for lab in LABELS["published"]],
            ("meta:article:published_time", lambda: page.meta("article:published_time")),
            ("jsonld:datePublished", lambda: page.jsonld("datePublished")),
            ("itemprop:datePublished", lambda: page.itemprop("datePublished")),
            ("meta:pubdate", lambda: page.meta("pubdate") or page.meta("date") or page.meta("dc.date")),
            *[(f"css:{css}", lambda css=css: page.css_text(css)) for css in self.selectors["published"]],
            ("time:datetime", lambda: page.select_first(
                "article time::attr(datetime), time[pubdate]::attr(datetime)", raw=True)),
            ("heuristic:after-title", lambda: page.date_after_title()),
        ]

    def strip_title_suffix(self, title: str | None) -> str | None:
        """Remove the " - CỔNG THÔNG TIN ..." tail portals add to ``<title>`` and ``og:title``."""
        if not title:
            return None
        return re.sub(self.title_suffix_re, "", clean_text(title) or "").strip() or None


# --- listing helpers ------------------------------------------------------------------------------------------

ITEM_LINKS = 3  # a listing item holds a title link, maybe an image and a category link; more: a list of items
ITEM_CHARS = 500  # text read per container level when looking for a listing item's date

# Where pagers live: Drupal/WordPress <nav>, Bootstrap ul.pagination, .pager, Vietnamese "phân trang" blocks.
PAGER_CONTAINERS = (
    "nav", "[role=navigation]", ".pagination", ".pager", ".paging", ".page-nav", ".pagenav", ".page-numbers",
    ".nav-links", ".pages", ".PageNav", ".phantrang", ".phan-trang", ".paginate", "[class*=pagination]",
    "[class*=pager]", "[class*=paging]", "[class*=phantrang]",
)
NEXT_WORDS = frozenset({
    "tiếp", "tiếp theo", "trang sau", "sau", "trang tiếp", "trang tiếp theo", "kế tiếp", "trang kế", "trang kế tiếp",
    "xem trang sau", "cũ hơn", "tin cũ hơn", "bài cũ hơn", "next", "next page", "go to next page", "older posts",
    "older entries",
})
NEXT_ARROWS = frozenset({"»", "›", ">", "→", ">>", "⟩"})
NEXT_CLASS = re.compile(r"(?:^|[\s_-])next(?:$|[\s_-])", re.I)
CURRENT_CLASS = re.compile(r"(?:^|[\s_-])(?:active|current|selected|currentpage|on)(?:$|[\s_-])", re.I)
HEAD_LINK_NEXT = re.compile(r"<link\b[^>]*\brel\s*=\s*[\"']?next\b[^>]*>", re.I)
HREF_ATTR = re.compile(r"\bhref\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+))", re.I)


def _head_end(text: str) -> int:
    end = text.find("</head>", 0, 500_000)
    return end if end >= 0 else min(len(text), 500_000)


def more_links_than(node: Any, limit: int) -> bool:
    """Whether ``node`` holds more than ``limit`` links (stops counting there: constant time on big lists). A
    listing link's date is looked for only in ancestors that hold at most :data:`ITEM_LINKS`: its own item."""
    return next(islice(node.iter("a"), limit, None), None) is not None


def _bounded_text(node: Any, limit: int) -> str:
    """The first ``limit`` or so characters of a node's text (stops reading there)."""
    parts: list[str] = []
    size = 0
    for piece in node.itertext():
        parts.append(piece)
        size += len(piece)
        if size >= limit:
            break
    return " ".join(parts)[:limit]


def is_next_label(text: str | None) -> bool:
    """Whether a link text says "next page": "Trang sau", "Tiếp »", "»", "Next" ... (not "Xem tiếp": read more)."""
    if not text:
        return False
    folded = " ".join(unicodedata.normalize("NFC", text).casefold().split())
    if folded in NEXT_ARROWS:
        return True
    return folded.strip(" »›>→⟩.:|-") in NEXT_WORDS


def is_next_link(a: Any) -> bool:
    """A pager link to the next page by its text, ``title``/``aria-label``, or a ``next`` class (on it or its
    ``<li>``)."""
    if is_next_label(inline_text(a)) or is_next_label(a.get("title")) or is_next_label(a.get("aria-label")):
        return True
    if "next" in (a.get("rel") or "").lower().split():
        return True
    parent = a.getparent()
    classes = [a.get("class") or ""] + ([parent.get("class") or ""] if parent is not None and parent.tag == "li"
                                        else [])
    return any(NEXT_CLASS.search(c) for c in classes)


def next_numbered_link(container: Any) -> Any:
    """In a numbered pager, the link to the page after the current one (the current page is marked active or
    current, or is the number that is not a link; when none is marked, page 1 is assumed)."""
    current: int | None = None
    links: dict[int, Any] = {}
    for el in container.iter("a", "span", "strong", "b", "em", "li", "font", "i", "u", "button", "td"):
        text = inline_text(el)
        if not text.isdigit() or len(text) > 5:
            continue
        number = int(text)
        marked = CURRENT_CLASS.search(el.get("class") or "") or el.get("aria-current")
        if el.tag == "a":
            if marked and current is None:
                current = number
            else:
                links.setdefault(number, el)
        elif current is None and (marked or next(el.iter("a"), None) is None) and \
                not any(anc.tag == "a" for anc in el.iterancestors()):
            current = number
    wanted = (current or 1) + 1
    return links.get(wanted)


def pager_containers(sel: Selector, text: str | None = None) -> list[Any]:
    """The page's pager-like containers (each once, in document order); ``text``: see :func:`select_all`."""
    return select_all(sel.root, PAGER_CONTAINERS, text=text)


def checked_encoding(response: TextResponse) -> tuple[TextResponse, str | None]:
    """The response decoded with the right charset when its ``Content-Type`` header and its ``<meta>`` disagree.

    Scrapy (like browsers) trusts the header, and a server default of ``iso-8859-1`` in front of a UTF-8 page
    garbles every Vietnamese letter. When the two disagree, the body decides: a body that is valid UTF-8 is
    UTF-8; otherwise the declaration that is not UTF-8 wins, the page's own ``<meta>`` first. Returns the
    (re-decoded) response and a note for ``field_sources["encoding"]``: ``conflict:header=…,meta=…,used=…``.
    """
    if not isinstance(response, HtmlResponse) or read_bom(response.body)[0]:
        return response, None
    header_value = response.headers.get("Content-Type", b"") or b""
    header = http_content_type_encoding(header_value.decode("latin-1"))
    meta = html_body_declared_encoding(response.body)
    if not header or not meta:
        return response, None
    header, meta = resolve_encoding(header), resolve_encoding(meta)
    if not header or not meta or header == meta:
        return response, None
    try:
        response.body.decode("utf-8")
        valid_utf8 = True
    except UnicodeDecodeError:
        valid_utf8 = False
    used = meta  # neither is UTF-8: the page's own declaration
    if "utf-8" in (header, meta):
        used = "utf-8" if valid_utf8 else (meta if header == "utf-8" else header)
    return response.replace(encoding=used), f"conflict:header={header},meta={meta},used={used}"


# --- page helper --------------------------------------------------------------------------------------------


class ArticlePage:
    """An article response with a raw and a cleaned DOM and the lookups every platform needs."""

    def __init__(self, *, response: TextResponse, raw: Selector, platform: Platform,
                 now: datetime | None = None) -> None:
        self.response = response
        self.raw = raw  # the page as served (for meta tags and JSON-LD)
        self.platform = platform
        self.now = now
        self.root = clean_dom(response.text, extra_remove=platform.selectors["remove"], parsed=raw.root)
        self.sel = Selector(root=self.root, type="html")
        self._jsonld: list[dict[str, Any]] | None = None
        self._texted: list[tuple[Any, str]] | None = None  # (element, its own text) for label lookups
        self._labelled: list[tuple[Any, str]] | None = None  # the same, for texts starting with a known label
        self._metas: dict[tuple[str, str], list[tuple[int, str]]] | None = None
        self.consumed: list[Any] = []  # label blocks to keep out of the body
        self._bodies: dict[tuple[str, ...], tuple[Any, str | None]] = {}

    # -- picking the first good candidate ---------------------------------------------------------------

    @staticmethod
    def first(candidates: list[tuple[str, Callable[[], Any]]]) -> tuple[Any, str | None]:
        for source, fn in candidates:
            value = fn()
            if isinstance(value, str):
                value = clean_text(value)
            if value:
                return value, source
        return None, None

    @staticmethod
    def first_list(candidates: list[tuple[str, Callable[[], Any]]]) -> tuple[list[Any], str | None]:
        for source, fn in candidates:
            value = fn()
            if value:
                return list(value), source
        return [], None

    def first_date(self, candidates: list[tuple[str, Callable[[], Any]]], *,
                   order: str = "DMY") -> tuple[Any, str | None]:
        """``((raw, parsed), source)`` of the first candidate that parses; when none does, the first one that
        looks like a date (``31/02/2024``) as ``((raw, None), "<source>:unparsed")``, so its text is kept."""
        unparsed: tuple[Any, str] | None = None
        for source, fn in candidates:
            raw_value = fn()
            if not raw_value:
                continue
            raw_value = clean_text(str(raw_value)) or ""
            parsed = parse_date_info(raw_value, now=self.now, order=order)
            if parsed is not None:
                return (raw_value, parsed), source
            if unparsed is None and DATE_HINT.search(raw_value):
                unparsed = ((raw_value, None), f"{source}:unparsed")
        return unparsed if unparsed is not None else (None, None)

    # -- simple lookups ---------------------------------------------------------------------------------

    def select(self, css: str, *, raw: bool = False) -> list[Any]:
        """Elements (or, for ``::text``/``::attr()``, strings) matching ``css`` in the cleaned page, or with
        ``raw`` in the page as served; like ``Selector.css`` without the selector wrapping."""
        return compiled_css(css)(self.raw.root if raw else self.root)

    def select_first(self, css: str, *, raw: bool = False) -> Any:
        """The first result of :meth:`select`, or ``None``."""
        found = self.select(css, raw=raw)
        return found[0] if found else None

    def css_text(self, css: str) -> str | None:
        for node in self.select(css):
            text = inline_text(node)
            if text:
                return text
        return None

    def css_block_text(self, css: str) -> str | None:
        node = self.select_first(css)
        if node is None:
            return None
        self.consumed.append(node)
        return element_text(node) or None

    def breadcrumb(self, css: str) -> str | None:
        """Last breadcrumb entry that is not the home link (read from the raw page: breadcrumbs are chrome)."""
        texts = [inline_text(n) for n in self.select(css, raw=True)]
        texts = [t for t in texts if t and t.lower() not in {"trang chủ", "home", "trang chu"}]
        return texts[-1] if texts else None

    def css_texts(self, css: str) -> list[str]:
        out: list[str] = []
        for node in self.select(css):
            text = inline_text(node).lstrip("#").strip()
            is_label = text.rstrip(":").strip().lower() in {"tag", "tags", "từ khóa", "từ khoá"}
            if text and not is_label and text not in out:
                out.append(text)
        return out

    def css_links(self, css: str) -> list[dict[str, str]]:
        return self._links(self.select(css))

    def _meta_index(self) -> dict[tuple[str, str], list[tuple[int, str]]]:
        """``("property"|"name", value) -> [(position, content), ...]`` of the raw page's ``<meta>`` tags that have
        a ``content``, built in one walk (an article asks for about ten of them)."""
        if self._metas is None:
            self._metas = {}
            for position, el in enumerate(self.raw.root.iter("meta")):
                content = el.get("content")
                if content is None:
                    continue
                for attr in ("property", "name"):
                    if (value := el.get(attr)) is not None:
                        self._metas.setdefault((attr, value), []).append((position, content))
        return self._metas

    def meta(self, name: str) -> str | None:
        """Content of the first ``<meta property=name>`` or ``<meta name=name>`` (or its lower-case name)."""
        index = self._meta_index()
        found = [hits[0] for key in (("property", name), ("name", name), ("name", name.lower()))
                 if (hits := index.get(key))]
        value = min(found)[1] if found else None
        return clean_text(value) if value else None

    def metas(self, name: str) -> list[str]:
        """Contents of every ``<meta property=name>``, in page order."""
        return [v for v in (clean_text(c) for _, c in self._meta_index().get(("property", name), [])) if v]

    def keywords(self) -> list[str]:
        value = self.meta("keywords") or self.meta("news_keywords")
        return [t for t in (clean_text(x) for x in re.split(r"[,;]", value or "")) if t]

    def itemprop(self, name: str) -> str | None:
        node = self.select_first(f'[itemprop="{name}"]', raw=True)
        if node is None:
            return None
        return node.get("content") or node.get("datetime") or inline_text(node) or None

    def jsonld(self, key: str) -> Any:
        if self._jsonld is None:
            self._jsonld = []
            for block in self.select('script[type="application/ld+json"]::text', raw=True):
                try:
                    data = json.loads(block.strip())
                except ValueError:
                    continue
                stack = data if isinstance(data, list) else [data]
                while stack:
                    obj = stack.pop(0)
                    if isinstance(obj, dict):
                        if "@graph" in obj and isinstance(obj["@graph"], list):
                            stack.extend(obj["@graph"])
                        kind = obj.get("@type")
                        kinds = kind if isinstance(kind, list) else [kind]
                        if any(k in {"NewsArticle", "Article", "BlogPosting", "ReportageNewsArticle", "WebPage"}
                               for k in kinds):
                            self._jsonld.append(obj)
        for obj in self._jsonld:
            value = obj.get(key)
            if isinstance(value, dict):
                value = value.get("name")
            elif isinstance(value, list):
                names = [v.get("name") if isinstance(v, dict) else v for v in value]
                value = ", ".join(str(n) for n in names if n)
            if value:
                return str(value)
        return None

    # -- labels -----------------------------------------------------------------------------------------

    def _label_nodes(self, label: str) -> list[Any]:
        """Elements whose own text starts with ``label`` (``Tác giả:``, ``Tag``), in document order."""
        known = label.lower() in KNOWN_LABELS
        texted = self._labelled if known else self._texted
        if texted is None:
            # One walk of the cleaned tree serves every label lookup (about 27 per article); the tree is not
            # changed while fields are read (render_body works on a copy). The lookups of the known labels scan
            # only the elements whose text starts with one of them (a handful), not every element's text.
            texted = [
                (node, text) for node in self.root.iter()
                if isinstance(node.tag, str) and node.tag not in {"html", "body", "head", "title"}
                and (text := node.text or "").strip() and (not known or LABELLED.match(text))
            ]
            if known:
                self._labelled = texted
            else:
                self._texted = texted
        rx = label_start(label)
        return [node for node, text in texted if rx.match(text)]

    def label_text(self, label: str, *, keep_label: bool = False) -> str | None:
        """Text after a visible label (``Tác giả: Minh Anh``), on the label's element, after it on its line or in
        its next sibling."""
        rx = label_prefix(label)
        for node in self._label_nodes(label):
            text = inline_text(node)
            value = rx.sub("", text, count=1).strip()
            line = node
            if not value:  # <p><b>Tác giả:</b> Minh Anh</p>: the value is the label element's tail
                value = clean_text(node.tail or "") or ""
                parent = node.getparent()
                if value and parent is not None and len(inline_text(parent)) <= len(text) + len(value) + 1:
                    line = parent  # the line holds nothing else: keep all of it out of the body
            if not value:
                nxt = node.getnext()
                value = inline_text(nxt) if nxt is not None else ""
                if nxt is not None and value:
                    self.consumed.append(nxt)
            if value and not any(value.lower().startswith(lab.lower()) for lab in ALL_LABELS):
                self.consumed.append(line)
                return f"{label}: {value}" if keep_label else value
        return None

    def _links_after_label(self, label: str) -> list[Any]:
        for node in self._label_nodes(label):
            self.consumed.append(node)
            anchors = list(node.iter("a"))
            level = node
            for _ in range(2):
                for sib in level.itersiblings():
                    if any(self._starts_with_label(n) for n in sib.iter() if isinstance(n.tag, str)):
                        break
                    self.consumed.append(sib)
                    anchors.extend(sib.iter("a"))
                if anchors:
                    return anchors
                level = level.getparent()
                if level is None or level.tag in {"body", "html"}:
                    break
        return []

    @staticmethod
    def _starts_with_label(node: Any) -> bool:
        text = (node.text or "").strip()
        return bool(text) and ANY_LABEL_START.match(text) is not None

    def label_link_texts(self, label: str) -> list[str]:
        out: list[str] = []
        for a in self._links_after_label(label):
            text = inline_text(a).lstrip("#").strip()
            if text and text not in out:
                out.append(text)
        return out

    def label_links(self, label: str) -> list[dict[str, str]]:
        return self._links(self._links_after_label(label))

    def _links(self, anchors: Iterable[Any]) -> list[dict[str, str]]:
        out: list[dict[str, str]] = []
        seen: set[str] = set()
        for a in anchors:
            href = a.get("href") if a.tag == "a" else None
            if a.tag != "a":
                for inner in a.iter("a"):
                    out.extend(x for x in self._links([inner]) if x["url"] not in seen)
                    seen.update(x["url"] for x in out)
                continue
            href = (href or "").strip()
            if not href or href.startswith(("javascript:", "#", "mailto:")):
                js = download_target(href)
                if not js:
                    continue
                href = js
            url = safe_url_string(self.response.urljoin(href))
            name = inline_text(a) or a.get("title") or _file_name(url)
            if url in seen:
                # The same file linked twice: keep the fuller name ("(Hiệu lực 01/08/2024)" then the law's title).
                for link in out:
                    if link["url"] == url and len(name) > len(link["name"]):
                        link["name"] = name
                continue
            seen.add(url)
            out.append({"url": url, "name": name})
        return out

    def file_links(self, body_selectors: Iterable[str]) -> list[dict[str, str]]:
        """Links to documents (pdf, doc, xls ...) inside the article body."""
        body, _ = self.body_element(tuple(body_selectors))
        if body is None:
            return []
        return self._links(a for a in body.iter("a") if ATTACHMENT_EXT.search(a.get("href") or ""))

    # -- dates ------------------------------------------------------------------------------------------

    def date_after_title(self) -> str | None:
        """The first date-like text after the title element (never the page header's "today")."""
        title_nodes = self.root.xpath("//h1 | //h2")
        start = title_nodes[0] if title_nodes else None
        if start is None:
            return None
        parent = start.getparent()
        for node in (*start.itersiblings(), *(parent.itersiblings() if parent is not None else ())):
            if DATE_HINT.search(inline_text(node)):
                # The innermost element holding the date: a meta line also carries views and widgets
                # ("07/09/2024 - 18:18" beside "1982" and "Cỡ chữ:", hamyen.tuyenquang.gov.vn).
                while (inner := next((c for c in node if isinstance(c.tag, str)
                                      and DATE_HINT.search(inline_text(c))), None)) is not None:
                    node = inner
                return inline_text(node)[:120]
        return None

    # -- body -------------------------------------------------------------------------------------------

    def body_element(self, selectors: tuple[str, ...]) -> tuple[Any, str | None]:
        """The article's body element and the source that found it: the first of ``selectors`` that matches,
        else the element with the most paragraph text. Remembered per page: the body is asked for by several
        fields (body, byline, bold lead, captions), and the cleaned tree does not change while they are read."""
        key = tuple(selectors)
        found = self._bodies.get(key)
        if found is None:
            found = self._bodies[key] = self._find_body(key)
        return found

    def _find_body(self, selectors: tuple[str, ...]) -> tuple[Any, str | None]:
        for css in selectors:
            node = self.select_first(css)
            if node is not None:
                return node, f"css:{css}"
        best, best_len = None, 0
        for node in self.root.iter("div", "article", "section", "td"):
            length = sum(len(inline_text(p)) for p in node.findall("p"))
            if length > best_len:
                best, best_len = node, length
        if best is not None and best_len >= 80:
            return best, "heuristic:largest-text-block"
        return None, None

    def render_body(self, body: Any, *, drop_texts: Iterable[str | None] = ()) -> tuple[str | None, str | None]:
        """Cleaned HTML and text of the body, without label blocks or a repeated title/sapo."""
        for node in self.consumed:
            if node is not body and isinstance(node.tag, str):
                node.set("data-govarchive-drop", "1")
        body = copy.deepcopy(body)
        for node in body.xpath(".//*[@data-govarchive-drop]"):
            _drop(node)
        drop = {clean_text(t) for t in drop_texts if t}
        for node in list(body.iter("p", "h1", "h2", "h3", "div")):
            if node.getparent() is not None and len(node) <= 2 and inline_text(node) in drop:
                _drop(node)
        text = element_text(body) or None
        # Cleaned in place (clean_html would copy the copy), then links made absolute: the cleaner keeps only
        # href and src, so only those are rewritten (make_links_absolute walked every attribute and style).
        BODY_CLEANER(body)
        base = self.response.url
        for el in _LINKED(body):
            for attr in ("href", "src"):
                value = el.get(attr)
                if value is not None:
                    joined = urljoin(base, value.strip())
                    if joined != value:
                        el.set(attr, joined)
        html_out = lxml.html.tostring(body, encoding="unicode")
        return html_out.strip() or None, text

    def images(self, body: Any) -> list[dict[str, str]]:
        out: list[dict[str, str]] = []
        for img in body.iter("img"):
            src = img.get("src") or img.get("data-src")
            if not src or src.startswith("data:"):
                continue
            caption = None
            fig = next((a for a in img.iterancestors() if a.tag == "figure"), None)
            if fig is not None:
                cap = fig.find(".//figcaption")
                caption = inline_text(cap) if cap is not None else None
            if not caption:
                parent = img.getparent()
                for nxt in (img.getnext(), parent.getnext() if parent is not None else None):
                    if nxt is not None and "caption" in (nxt.get("class") or "").lower():
                        caption = inline_text(nxt)
                        break
            url = safe_url_string(self.response.urljoin(src))
            out.append({"url": url, "caption": caption or clean_text(img.get("alt")) or ""})
        return out


def download_target(href: str | None) -> str | None:
    """The file a ``javascript:downloadfile(...)`` link fetches.

    vbpl.vn writes ``downloadfile('07-2017-QD-TTg.doc','/TW/Lists/vbpq/Attachments/120226/07-2017-QD-TTg.doc')``:
    the file *name* comes first and its path second, so the argument that looks like a path (or URL) wins.
    """
    m = re.search(r"""downloadfile\s*\((.*?)\)""", href or "", re.I | re.S)
    if not m:
        return None
    args = re.findall(r"""['"]([^'"]*)['"]""", m.group(1))
    paths = [a for a in args if a.startswith(("/", "http://", "https://"))]
    if paths:
        return paths[-1]
    return args[0] if args else None


def _file_name(url: str) -> str:
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1]) or url


def postback_request(response: TextResponse, href: str) -> Request | None:
    """Replay an ASP.NET ``__doPostBack('target','arg')`` pager link as the form POST it triggers.

    The form (``form#aspnetForm`` on SharePoint, else the first form) is serialised by form2request, the
    library Scrapy 2.19 recommends over the deprecated ``FormRequest.from_response``, so ``__VIEWSTATE``,
    ``__EVENTVALIDATION`` and every other field go back exactly as the page sent them.
    """
    m = re.search(r"__doPostBack\(\s*'([^']*)'\s*,\s*'([^']*)'\s*\)", href or "")
    if not m or not isinstance(response, HtmlResponse):
        return None
    forms = response.css("form#aspnetForm") or response.css("form")
    if not forms:
        return None
    data = form2request(forms[0], {"__EVENTTARGET": m.group(1), "__EVENTARGUMENT": m.group(2)}, click=False)
    return data.to_scrapy(callback=None, dont_filter=True, meta={"postback": f"{m.group(1)}:{m.group(2)}"})


__all__ = [
    "ArticlePage", "ExtractionError", "ListingEntry", "ListingPage", "Platform", "clean_dom", "download_target",
    "element_text", "inline_text", "postback_request", "sparse_listing",
]
