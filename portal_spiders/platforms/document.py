"""Legal-document pages (văn bản): vbpl.vn, the national database of the Ministry of Justice, and the document
pages of portals that publish quyết định, nghị định, công văn ... with a labelled properties table.

One document is one record. vbpl.vn shows a document in several views of one SharePoint list item —
``/<scope>/Pages/vbpq-toanvan.aspx?ItemID=N`` (full text), ``vbpq-thuoctinh.aspx`` (properties), ``vbpq-luocdo.aspx``
(outline), ``vbpq-print.aspx``, ``ivbpq-toanvan.aspx``, ``vbpq-van-ban-goc.aspx`` (scan), ``vbpq-vanbanlienquan.aspx``
— so every view URL has the same identity, the full-text URL (:meth:`Document.canonical_url`), and a crawl fetches
the properties view as a follow-up of the full text (:meth:`Document.document_views`) before the record is complete.
Since 2025 vbpl.vn also serves ``/van-ban/chi-tiet/<slug>--<id>`` pages filled by a public JSON API
(``vbpl-bientap-gateway.moj.gov.vn/api/qtdc/public/doc/<id>``: ``title``, ``docNum``, ``docType.name``,
``issueDate``, ``effFrom``, ``effTo``, ``effStatus.name``, ``agencyName``, ``documentContent.content``), which is
the follow-up of such a page (scraper-reported, public crawler "Law-Assistant").

What the pages carry (copied vbpl markup and public scrapers of vbpl.vn; see docs/portals.md): ``<title>`` is always
"Trung ương" and the breadcrumb ``.box-map`` names the database, so neither is ever the title; the full text is
``div#toanvancontent``, preceded by a header table with ``Số: 07/2017/QĐ-TTg`` and the place and date
``Hà Nội, ngày 27 tháng 3 năm 2017``, followed by the signature block ``table.table_cqbh_cd_nk`` and the files block
``div.vbFile`` ("Tải file đính kèm") whose links are ``javascript:downloadfile('name.doc','/TW/Lists/vbpq/
Attachments/<ItemID>/name.doc')``; ``div.vbInfo`` holds ``Hiệu lực: …`` and ``Ngày có hiệu lực: …``. The properties
view is ``div.vbProperties`` with a first ``td.title`` (the summary, trích yếu) and ``td.label`` cells each followed
by its value (four columns: label, value, label, value), one row "Cơ quan ban hành/ Chức danh / Người ký" followed by
the three values, and "Tình trạng hiệu lực: …" in a single cell. Search results (``p_KetQuaTimKiemVanBan.aspx``, an
HTML fragment) list ``ul.listLaw li .item p.title a`` with ``Ban hành:``/``Hiệu lực:`` lines and page through
``Page=<n>``.

The record: ``title`` = type, number and summary ("Quyết định 07/2017/QĐ-TTg: Ban hành …"), ``published`` = the issue
date (``Ngày ban hành``), never a page stamp; ``author`` = the signer; ``document`` = ``{number, doc_type, issuer,
signer, issued, effective, status, fields}`` with every other labelled property in ``fields``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, ClassVar
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from parsel import Selector
from scrapy import Request
from scrapy.http import TextResponse
from w3lib.url import safe_url_string

from portal_spiders.dates import parse_date_info
from portal_spiders.items import ArticleItem
from portal_spiders.platforms.base import (
    ArticlePage,
    ExtractionError,
    ListingEntry,
    Platform,
    download_target,
    element_text,
    inline_text,
)
from portal_spiders.text import clean_text

VIEW = re.compile(r"(?i)^/(?P<scope>[^/]+)/Pages/(?P<view>i?vbpq-[a-z-]+)\.aspx$")
NEW_DETAIL = re.compile(r"^/van-ban/chi-tiet/(?P<slug>[^/?#]*)--(?P<id>\d+)/?$")
API_DOC = re.compile(r"/api/qtdc/public/doc/(?P<id>\d+)$")
API_BASE = "https://vbpl-bientap-gateway.moj.gov.vn/api/qtdc/public/doc/"
PROPERTIES_VIEW = "vbpq-thuoctinh"
FULLTEXT_VIEW = "vbpq-toanvan"

# Property labels (folded to lower case, without a trailing colon) and the record key they fill.
LABEL_KEYS = {
    "số ký hiệu": "number", "số hiệu": "number", "số văn bản": "number", "ký hiệu": "number",
    "loại văn bản": "doc_type", "hình thức văn bản": "doc_type",
    "cơ quan ban hành": "issuer", "cơ quan ban hành/ chức danh / người ký": "issuer_title_signer",
    "người ký": "signer", "người ký duyệt": "signer",
    "ngày ban hành": "issued", "ngày có hiệu lực": "effective", "ngày hiệu lực": "effective",
    "tình trạng hiệu lực": "status", "tình trạng": "status", "hiệu lực": "status",
    "trích yếu": "summary", "trích yếu nội dung": "summary",
}
DATE_KEYS = frozenset({"issued", "effective"})
NUMBER_IN_TEXT = re.compile(r"\bSố\s*[:：]?\s*([0-9]+[A-Za-z0-9/.\-ĐđÀ-ỹ]*/[A-Za-zĐđÀ-ỹ0-9\-./]+)")
ISSUE_DATE = re.compile(r"ngày\s+\d{1,2}\s+tháng\s+\d{1,2}\s+năm\s+\d{4}", re.I)
GENERIC_LINK_TEXT = frozenset({"tải về", "tải file", "download", "tải", "xem"})
DOC_TYPES = ("Hiến pháp", "Bộ luật", "Luật", "Pháp lệnh", "Lệnh", "Nghị quyết liên tịch", "Nghị quyết", "Nghị định",
             "Quyết định", "Thông tư liên tịch", "Thông tư", "Chỉ thị", "Công văn", "Kế hoạch", "Thông báo",
             "Văn bản hợp nhất", "Sắc lệnh", "Sắc luật", "Hướng dẫn", "Công điện")


class Document(Platform):
    """Legal documents: vbpl.vn views merged into one record, and labelled document pages of other portals."""

    name = "document"
    description = "legal documents (văn bản): vbpl.vn views merged into one record, portal document pages"
    detect_priority = 5
    fingerprint_css = ("div.vbProperties", "div#toanvancontent", "div.vbInfo")
    fingerprint_re = (r"/Lists/vbpq/Attachments/", r"""vbpq-(?:toanvan|thuoctinh)\.aspx""")
    case_insensitive_paths = False

    article_url_patterns = (
        r"^/[^/]+/Pages/i?vbpq-(?:toanvan|thuoctinh|luocdo|print|van-ban-goc|vanbanlienquan|hopnhat|lichsu)\.aspx\?"
        r"(?:.*&)?ItemID=\d+",
        r"^/van-ban/chi-tiet/[^/?#]*--\d+/?$",
        r"^/api/qtdc/public/doc/\d+$",
        r"[?&]docid=\d+",  # vanban.chinhphu.vn/?pageid=27160&docid=N
        r"^/van-ban/[\w-]+-\d+(?:/\d+)?\.htm$",  # congbao.chinhphu.vn/van-ban/<slug>-<id>[/<id>].htm
        r"^/thuoc-tinh-van-ban-[\w-]+-\d+$",
        r"/Lists/VBPQ/View_Detail\.aspx\?(?:.*&)?ItemID=\d+",
    )
    listing_url_patterns = (
        r"/VBQPPL_UserControls/.+/p_KetQuaTimKiem[^/]*\.aspx",
        r"^/he-thong-van-ban(?:$|\?)",
        r"^/[^/]+/Pages/vanban\.aspx",
        r"^/van-ban/[^/?#]+/?$",
        r"^/van-ban-dang-cong-bao/", r"^/cac-van-ban-moi-ban-hanh\.rss$",
    )
    signature_url_patterns = (
        r"^/[^/]+/Pages/i?vbpq-[a-z-]+\.aspx", r"/Lists/vbpq/Attachments/\d+/", r"/VBQPPL_UserControls/",
        r"^/van-ban/chi-tiet/[^/?#]*--\d+", r"^/api/qtdc/public/doc/\d+$",
    )

    remove: ClassVar[tuple[str, ...]] = (
        "header", "footer", "nav", "#header", "#footer", ".box-map", ".menu-left", "#menu", ".vbLienQuan",
        ".cssComment", "#form-comment",
    )
    body = ("div#toanvancontent", ".toanvancontent", ".fulltext", "#divContentDoc", ".content-doc")
    attachments = (".vbFile a", ".fileAttack a", "a[href*='/Lists/vbpq/Attachments/']",
                   "a[href*='/Lists/VBPQ/Attachments/']")
    listing_links = ("ul.listLaw li .item p.title a", ".listLaw p.title a", "p.title > a",
                     "a[href*='vbpq-toanvan.aspx']", "a[href*='/van-ban/chi-tiet/']", "a[href*='docid=']")
    next_page = ("a[rel=next]",)
    title_suffix_re = r"^\s*Trung ương\s*$"

    # -- identity ------------------------------------------------------------------------------------

    def canonical_url(self, url: str) -> str:
        """Every vbpl view of ItemID N is ``https://vbpl.vn/<scope>/Pages/vbpq-toanvan.aspx?ItemID=N``; the API
        answer of document N is its ``/van-ban/chi-tiet/--N`` page; other URLs as usual."""
        parts = urlsplit(url)
        view = VIEW.match(parts.path)
        params = {k.lower(): v for k, v in parse_qsl(parts.query, keep_blank_values=True)}
        host = (parts.hostname or "").lower().removeprefix("www.")
        if view and params.get("itemid", "").isdigit():
            return f"https://{host}/{view['scope']}/Pages/{FULLTEXT_VIEW}.aspx?ItemID={int(params['itemid'])}"
        api = API_DOC.search(parts.path)
        if api:
            return f"https://vbpl.vn/van-ban/chi-tiet/--{int(api['id'])}"
        new = NEW_DETAIL.match(parts.path)
        if new:
            return f"https://{host}/van-ban/chi-tiet/{new['slug']}--{int(new['id'])}"
        return super().canonical_url(url)

    @staticmethod
    def view_url(url: str, view: str) -> str | None:
        """The same document's ``view`` page (``vbpq-thuoctinh`` ...), for a vbpl view URL."""
        parts = urlsplit(url)
        m = VIEW.match(parts.path)
        params = {k.lower(): v for k, v in parse_qsl(parts.query, keep_blank_values=True)}
        if not m or not params.get("itemid", "").isdigit():
            return None
        path = f"/{m['scope']}/Pages/{view}.aspx"
        return urlunsplit((parts.scheme or "https", parts.netloc, path, urlencode({"ItemID": params["itemid"]}), ""))

    # -- listing ---------------------------------------------------------------------------------------

    def listing_entries(self, response: TextResponse, sel: Selector) -> list[ListingEntry]:
        """One entry per document (its views all canonicalise to the full text), with the issue date shown."""
        entries = super().listing_entries(response, sel)
        seen: dict[str, ListingEntry] = {}
        for entry in entries:
            if self.classify_url(entry.url) != "article":
                continue
            key = self.canonical_url(entry.url)
            if key not in seen:
                seen[key] = ListingEntry(url=key, title=entry.title, published=entry.published)
        return list(seen.values())

    def _listing_date(self, link: Selector | Any) -> str | None:
        for item in getattr(link, "root", link).iterancestors():
            if item.tag == "li" or "item" in (item.get("class") or "").split():
                for node in item.iter("p", "span"):
                    text = inline_text(node)
                    if re.match(r"^\s*(?:Ban hành|Ngày ban hành)\s*[:：]", text, re.I):
                        return text
                break
        return None

    def next_page_requests(self, response: TextResponse, sel: Selector) -> Iterator[Request]:
        """Search-result fragments page through ``Page=<n>`` (up to the last page the pager names)."""
        parts = urlsplit(response.url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        pages = [v for k, v in query if k.lower() == "page"]
        if pages and pages[0].isdigit():
            current = int(pages[0])
            last = max((int(n) for n in re.findall(r"""Nexpage\w*\([^,]*,\s*'(\d+)'\)""", response.text)),
                       default=None)
            if last is None or current < last:
                new = [(k, str(current + 1) if k.lower() == "page" else v) for k, v in query]
                yield Request(urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(new), "")))
            return
        yield from super().next_page_requests(response, sel)

    # -- document --------------------------------------------------------------------------------------

    def parse_article(self, response: TextResponse, *, portal: str, now: Any = None) -> ArticleItem:
        """The record as far as this view shows it (``document_views`` names what is still to fetch)."""
        if API_DOC.search(urlsplit(response.url).path):
            raise ExtractionError("an API answer is a follow-up view, not a page to start a document from")
        item = super().parse_article(response, portal=portal, now=now)
        item.document = item.document or _empty_document()
        return item

    def fill(self, page: ArticlePage, item: ArticleItem) -> None:
        """Read the view: properties table, header (number, place and date), status box, full text, files."""
        item.document = _empty_document()
        view = self._view_name(page.response.url)
        self._read_properties(page.sel, item)
        self._read_status_box(page.sel, item)
        body, source = page.body_element(self.selectors["body"])
        if view != PROPERTIES_VIEW and body is not None and source and source.startswith("css:"):
            self._read_header(page, item)
            self._read_signer(body, item)
            for node in body.xpath(".//*[contains(concat(' ', normalize-space(@class), ' '), ' vbFile ')]"):
                page.consumed.append(node)
            item.body_html, item.body_text = page.render_body(body)
            item.images = page.images(body)
            item.field_sources["body"] = source
        item.attachments = self._attachments(page)
        if item.attachments:
            item.field_sources["attachments"] = "css:.vbFile a"
        self._finish(item, page.raw)

    @staticmethod
    def _view_name(url: str) -> str | None:
        m = VIEW.match(urlsplit(url).path)
        return m["view"].lower() if m else None

    def document_views(self, item: ArticleItem, response: TextResponse) -> list[str]:
        """vbpl full text → properties view; properties → full text; new detail page → its API answer."""
        path = urlsplit(response.url).path
        new = NEW_DETAIL.match(path)
        if new:
            return [API_BASE + new["id"]]
        view = self._view_name(response.url)
        if view is None:
            return []
        wanted = [v for v in (FULLTEXT_VIEW, PROPERTIES_VIEW) if v != view]
        if view not in (FULLTEXT_VIEW, PROPERTIES_VIEW):  # outline, print ...: both main views are still missing
            wanted = [FULLTEXT_VIEW, PROPERTIES_VIEW]
        return [u for u in (self.view_url(response.url, v) for v in wanted) if u]

    def merge_view(self, item: ArticleItem, response: TextResponse) -> None:
        """Merge a further view: labelled properties win over what the text header suggested; text fills gaps."""
        if API_DOC.search(urlsplit(response.url).path):
            self._merge_api(item, response)
            return
        other = super().parse_article(response, portal=item.portal)
        doc, new = item.document or _empty_document(), other.document or _empty_document()
        for key in ("number", "doc_type", "issuer", "signer", "issued", "effective", "status"):
            if new.get(key) and (self._view_name(response.url) == PROPERTIES_VIEW or not doc.get(key)):
                doc[key] = new[key]
        doc["fields"] = {**doc.get("fields", {}), **new.get("fields", {})}
        for name in ("body_text", "body_html"):
            if not getattr(item, name) and getattr(other, name):
                setattr(item, name, getattr(other, name))
                item.field_sources["body"] = other.field_sources.get("body", "css")
        if not item.images:
            item.images = other.images
        known = {a["url"] for a in item.attachments}
        item.attachments += [a for a in other.attachments if a["url"] not in known]
        if item.attachments:
            item.field_sources.setdefault("attachments", other.field_sources.get("attachments", "css:.vbFile a"))
        if other.summary and (self._view_name(response.url) == PROPERTIES_VIEW or not item.summary):
            item.summary = other.summary
            item.field_sources["summary"] = other.field_sources.get("summary", "css:div.vbProperties td.title")
        if other.published_raw and doc.get("issued") == new.get("issued") and new.get("issued"):
            item.published_raw = other.published_raw
        item.document = doc
        self._finish(item, Selector(text=response.text))

    # -- reading --------------------------------------------------------------------------------------

    def _read_properties(self, sel: Selector, item: ArticleItem) -> None:
        """``td.label`` cells (or labelled cells anywhere in a table) and the value cells after them."""
        doc = item.document
        assert doc is not None
        scope = sel.css("div.vbProperties") or sel.css("table")
        title = sel.css("div.vbProperties td.title")
        if title and inline_text(title[0].root):
            item.summary = inline_text(title[0].root)
            item.field_sources["summary"] = "css:div.vbProperties td.title"
        for row in scope.css("tr"):
            cells = [c for c in row.root if isinstance(c.tag, str) and c.tag in {"td", "th"}]
            i = 0
            while i < len(cells):
                text = inline_text(cells[i])
                label, _, rest = text.partition(":")
                key = LABEL_KEYS.get(_fold_label(label))
                is_label = "label" in (cells[i].get("class") or "").split() or (key is not None and len(text) < 60)
                if key == "issuer_title_signer" and len(cells) >= i + 4:
                    issuer, title_, signer = (inline_text(c) for c in cells[i + 1:i + 4])
                    self._put(item, "issuer", issuer, "Cơ quan ban hành")
                    if title_:
                        doc["fields"]["Chức danh"] = title_
                    self._put(item, "signer", signer, "Người ký")
                    i += 4
                    continue
                if key is not None and rest.strip() and not is_label_only(text):
                    self._put(item, key, rest.strip(), clean_text(label) or label)  # "Tình trạng hiệu lực: Còn ..."
                    i += 1
                    continue
                if is_label and i + 1 < len(cells):
                    value = inline_text(cells[i + 1])
                    name = clean_text(text.rstrip(":：")) or text
                    if key:
                        self._put(item, key, value, name)
                    elif value:
                        doc["fields"][name] = value
                    i += 2
                    continue
                i += 1

    @staticmethod
    def _put(item: ArticleItem, key: str, value: str | None, label: str) -> None:
        """Store a labelled value: dates as ISO dates (the issue date's label and text become ``published_raw``),
        the summary (trích yếu) on the item."""
        doc = item.document
        assert doc is not None
        value = clean_text(value)
        if not value:
            return
        if key == "summary":
            item.summary = value
            return
        if key in DATE_KEYS:
            parsed = parse_date_info(value)
            if parsed is None:
                return
            if key == "issued":
                item.published_raw = f"{label}: {value}"
            value = parsed.value.date().isoformat()
        doc[key] = value

    @staticmethod
    def _read_status_box(sel: Selector, item: ArticleItem) -> None:
        """``div.vbInfo``: ``Hiệu lực: Còn hiệu lực`` and ``Ngày có hiệu lực: 15/05/2017``."""
        doc = item.document
        assert doc is not None
        for li in sel.css("div.vbInfo li"):
            text = inline_text(li.root)
            label, _, value = text.partition(":")
            key = LABEL_KEYS.get(_fold_label(label))
            if key in {"status", "effective"} and value.strip() and not doc.get(key):
                Document._put(item, key, value.strip(), clean_text(label) or label)

    def _read_header(self, page: ArticlePage, item: ArticleItem) -> None:
        """The text header: ``Số: 07/2017/QĐ-TTg`` (number), the issuer line above it and the place and date."""
        doc = item.document
        assert doc is not None
        fulltext = page.sel.css("div.fulltext, .content")
        scope = fulltext[0] if fulltext else page.sel
        header = " ".join(inline_text(t.root) for t in scope.xpath(".//table[not(ancestor::*[@id='toanvancontent'])]"))
        text = header or element_text(page.root)[:3000]
        m = NUMBER_IN_TEXT.search(text)
        if m and not doc.get("number"):
            doc["number"] = m.group(1).rstrip(".,;")
        if not doc.get("issued"):
            # The place and date line ("Hà Nội, ngày 16 tháng 3 năm 2026") is the italic line of the header.
            lines = [inline_text(i.root) for i in scope.xpath(
                ".//table[not(ancestor::*[@id='toanvancontent'])]//i")]
            line = next((t for t in lines if ISSUE_DATE.search(t)), None)
            found = ISSUE_DATE.search(line or text)
            parsed = parse_date_info(found.group(0)) if found else None
            if parsed is not None:
                doc["issued"] = parsed.value.date().isoformat()
                item.published_raw = line or found.group(0)
        bold = [inline_text(b.root) for b in scope.xpath(".//table[not(ancestor::*[@id='toanvancontent'])]//b")]
        issuer = next((b for b in bold if b and "CỘNG HÒA" not in b.upper().replace("HOÀ", "HÒA")
                       and not b.startswith("Độc lập")), None)
        if issuer and not doc.get("issuer"):
            doc["issuer"] = issuer
        if not doc.get("doc_type"):
            body_text = element_text(page.sel.css("div#toanvancontent")[0].root) if page.sel.css(
                "div#toanvancontent") else ""
            lines = [x.strip() for x in body_text.splitlines() if x.strip()][:12]
            for i, line in enumerate(lines):
                found = next((t for t in DOC_TYPES if line.upper() == t.upper()), None)
                if found:
                    doc["doc_type"] = found
                    # The line under the type heading is the summary (trích yếu) until the properties say otherwise.
                    following = lines[i + 1] if i + 1 < len(lines) else ""
                    if following and not item.summary and not re.match(r"(?i)^(căn cứ|theo|xét)\b", following):
                        item.summary = following
                        item.field_sources["summary"] = "heuristic:line-under-type"
                    break

    @staticmethod
    def _read_signer(body: Any, item: ArticleItem) -> None:
        """The last line of the signature block ``table.table_cqbh_cd_nk`` (the name under "(Đã ký)")."""
        doc = item.document
        assert doc is not None
        for table in body.xpath(".//table[contains(concat(' ', normalize-space(@class), ' '), ' table_cqbh_cd_nk ')]"):
            lines = [inline_text(p) for p in table.iter("p")]
            lines = [t for t in lines if t and not t.startswith("(")]
            if lines and not doc.get("signer"):
                doc["signer"] = lines[-1]
            if len(lines) > 1:
                doc["fields"].setdefault("Chức danh", lines[-2])

    def _attachments(self, page: ArticlePage) -> list[dict[str, str]]:
        """Files of the document: ``downloadfile(name, path)`` links and direct links into the attachments list."""
        found: list[dict[str, str]] = []
        seen: set[str] = set()
        for a in page.raw.css("a"):
            href = (a.attrib.get("href") or "").strip()
            target = download_target(href) if "downloadfile" in href.lower() else href
            if not target or not re.search(r"(?i)/Lists/vbpq/Attachments/|/FileData/", target):
                continue
            url = safe_url_string(page.response.urljoin(target))
            text = inline_text(a.root)
            name = text if text and text.lower() not in GENERIC_LINK_TEXT else unquote(url.rsplit("/", 1)[-1])
            if url in seen:
                if text and text.lower() not in GENERIC_LINK_TEXT:  # the files block names what the toolbar does not
                    next(f for f in found if f["url"] == url)["name"] = name
                continue
            seen.add(url)
            found.append({"url": url, "name": name})
        return found

    def _merge_api(self, item: ArticleItem, response: TextResponse) -> None:
        """The vbpl JSON API answer for a ``/van-ban/chi-tiet/…--<id>`` page."""
        try:
            data = json.loads(response.text).get("data") or {}
        except (ValueError, AttributeError):
            raise ExtractionError("document API answer is not JSON") from None
        doc = item.document or _empty_document()
        doc_type = data.get("docType") or {}
        status = data.get("effStatus") or {}
        values = {
            "number": data.get("docNum"), "doc_type": doc_type.get("name") if isinstance(doc_type, dict) else None,
            "issuer": data.get("agencyName") or (data.get("organization") or {}).get("name"),
            "status": status.get("name") if isinstance(status, dict) else None,
        }
        for key, value in values.items():
            if value:
                doc[key] = clean_text(str(value))
        item.document = doc
        for key, field_name in (("issued", "issueDate"), ("effective", "effFrom")):
            if data.get(field_name):
                Document._put(item, key, str(data[field_name])[:10], field_name)
        if data.get("effTo"):
            doc["fields"]["Ngày hết hiệu lực"] = str(data["effTo"])[:10]
        if data.get("title"):
            item.summary = clean_text(str(data["title"]))
            item.field_sources["summary"] = "api:title"
        content = (data.get("documentContent") or {}).get("content")
        if content and not item.body_text:
            root = Selector(text=content)
            item.body_text = element_text(root.root) or None
            item.body_html = content
            item.field_sources["body"] = "api:documentContent"
        item.document = doc
        self._finish(item, Selector(text="<html></html>"))

    # -- the record ------------------------------------------------------------------------------------

    def _finish(self, item: ArticleItem, raw: Selector) -> None:
        """Title, date, author, summary and category from the document fields (never a breadcrumb or page stamp)."""
        doc = item.document
        assert doc is not None
        src = item.field_sources
        summary = item.summary
        head = " ".join(x for x in (doc.get("doc_type"), doc.get("number")) if x)
        if head:
            item.title = f"{head}: {summary}" if summary and (doc.get("number") or "") not in summary else head
            src["title"] = "label:Số ký hiệu"
        elif summary:
            item.title, src["title"] = summary, src.get("summary")
        else:
            item.title, src["title"] = self._page_title(raw)
        if doc.get("issued"):
            parsed = parse_date_info(doc["issued"])
            if parsed is not None:
                item.published, item.published_precision = parsed.isoformat(), "day"
                item.published_raw = item.published_raw or f"Ngày ban hành: {doc['issued']}"
                src["published"] = "label:Ngày ban hành"
        if doc.get("signer"):
            item.author, src["author"] = doc["signer"], "label:Người ký"
        if doc.get("doc_type"):
            item.category, src["category"] = doc["doc_type"], "label:Loại văn bản"
        for key in [k for k, v in src.items() if v is None]:
            del src[key]

    def _page_title(self, raw: Selector) -> tuple[str | None, str | None]:
        """A heading of the document page other than the database's "Trung ương"."""
        for css in ("h1", ".vb-title", ".title", "title"):
            for node in raw.css(css):
                text = inline_text(node.root)
                if text and not re.fullmatch(self.title_suffix_re, text):
                    return text, f"css:{css}"
        return None, None


def _empty_document() -> dict[str, Any]:
    return {"number": None, "doc_type": None, "issuer": None, "signer": None, "issued": None, "effective": None,
            "status": None, "fields": {}}


def _fold_label(label: str) -> str:
    return re.sub(r"\s+", " ", (clean_text(label) or "").lower()).strip(" :：")


def is_label_only(text: str) -> bool:
    """``Ngày ban hành:`` alone in its cell (the value is in the next cell)."""
    return not text.partition(":")[2].strip()
