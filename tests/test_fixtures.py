"""Every page under tests/fixtures/<platform>/ extracts exactly its expected JSON.

Adding a portal on a known platform is one HTML file plus one JSON file here, with no new test code.
JSON keys: ``url`` (the page's real URL), ``kind`` (``article`` or ``listing``), ``provenance``, optional
``platform`` to force one, optional ``portal``, optional ``now`` (ISO, anchors relative dates), optional
``encoding``, and ``expected``: for articles the item fields to compare (``body_text`` may be given in full, or
checked with ``body_contains`` / ``body_excludes``); for listings ``entries`` (article URLs in page order),
``next`` (URLs of next-page requests), optional ``methods``, ``dates`` (the date text shown beside each entry) and
``article_links`` (article-shaped links anywhere on the page, the count the sparse-listing check compares with).

Two kinds of fixture live side by side, and ``provenance.kind`` says which:

* ``real``: a page saved from the portal (or a faithful trim of one), with ``repository``, ``path`` and ``commit``
  of the public copy it came from, and ``trimmed`` saying what was cut for size. These prove the parsers.
* ``hand-written``: a page written after the descriptions of a platform (``based_on`` says which), for shapes no
  saved page was found of. They pin behaviour, and prove nothing about the real markup.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import pytest
from itemadapter import ItemAdapter

from portal_spiders.offline import extract_article, extract_listing
from portal_spiders.platforms.base import sparse_listing

FIXTURES = Path(__file__).parent / "fixtures"
CASES = sorted(FIXTURES.glob("*/*.json"))

# Text that must never reach any field: hidden SharePoint chrome, scripts, comments, related boxes, footers.
# Each one occurs in at least one fixture page (test_every_forbidden_text_occurs_in_a_fixture), so each guard can fail.
FORBIDDEN = ["Sign In", "Ribbon", "Ctrl+", "RegisterSod", "_spPageContextInfo", "Lượt truy cập", "Tin liên quan",
             "ngày tạo", "function(", "Timer:", "<script"]


def _case_id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


@pytest.mark.parametrize("case", CASES, ids=[_case_id(p) for p in CASES])
def test_fixture(case: Path) -> None:
    spec = json.loads(case.read_text(encoding="utf-8"))
    html_path = case.with_suffix(".html")
    if not html_path.exists():
        html_path = case.with_suffix(".xml")
    body = html_path.read_bytes()
    expected = spec["expected"]
    if spec.get("kind", "article") == "listing":
        listing, _ = extract_listing(body, spec["url"], platform=spec.get("platform"), encoding=spec.get("encoding"))
        assert [e.url for e in listing.entries] == expected["entries"]
        assert [r.url for r in listing.next_requests] == expected.get("next", [])
        if "methods" in expected:
            assert [r.method for r in listing.next_requests] == expected["methods"]
        if "dates" in expected:
            assert [e.published for e in listing.entries] == expected["dates"]
        if "article_links" in expected:
            assert listing.article_links == expected["article_links"]
            assert not sparse_listing(listing), "the listing zone was missed"
        return

    now = datetime.fromisoformat(spec["now"]) if spec.get("now") else None
    item, choice = extract_article(body, spec["url"], platform=spec.get("platform"), portal=spec.get("portal"),
                                   encoding=spec.get("encoding"), now=now)
    assert choice.platform.name == case.parent.name or spec.get("platform"), (choice.platform.name, choice.reason)
    data = ItemAdapter(item).asdict()
    for key, value in expected.items():
        if key in {"body_contains", "body_excludes"}:
            continue
        assert data[key] == value, f"{key}: {data[key]!r} != {value!r}"
    for snippet in expected.get("body_contains", []):
        assert snippet in (data["body_text"] or ""), snippet
    for snippet in expected.get("body_excludes", []):
        assert snippet not in (data["body_text"] or ""), snippet
    for field_name, value in data.items():
        if field_name in {"body_html", "field_sources", "url", "source_url", "final_url"}:
            continue
        text = json.dumps(value, ensure_ascii=False)
        for bad in FORBIDDEN:
            assert bad not in text, f"{bad!r} leaked into {field_name}"
    html_out = data["body_html"] or ""
    for bad in ("<script", "<style", "<!--", "display:none", "Sign In"):
        assert bad not in html_out, f"{bad!r} in body_html"
    for link in re.findall(r'\s(?:href|src)="([^"]*)"', html_out):  # links work outside the portal
        assert re.match(r"[a-z][a-z0-9+.-]*:", link), f"relative link {link!r} in body_html"


@pytest.mark.parametrize("case", CASES, ids=[_case_id(p) for p in CASES])
def test_fixture_says_what_it_is(case: Path) -> None:
    """Each fixture is labelled real (with the public copy it came from) or hand-written (with what it follows)."""
    provenance = json.loads(case.read_text(encoding="utf-8")).get("provenance") or {}
    assert provenance.get("kind") in {"real", "hand-written"}, f"{case.name}: provenance.kind is real or hand-written"
    if provenance["kind"] == "real":
        for key in ("repository", "path", "commit", "trimmed"):
            assert provenance.get(key), f"{case.name}: a real fixture records its {key}"
        assert re.fullmatch(r"[0-9a-f]{40}", provenance["commit"]), f"{case.name}: a full commit hash"
    else:
        assert provenance.get("based_on"), f"{case.name}: say what the hand-written page follows"


#: Platforms proved by a real article page and a real listing page.
REAL_PLATFORMS = {"vccorp", "liferay"}
#: Platforms with a real article page but no real listing page found yet (docs/portals.md, "Fixtures").
REAL_ARTICLE_ONLY = {"upload_portal", "generic"}
#: The others (tandan, nukeviet, mas_portal, document) have hand-written pages only: no saved page of theirs
#: was found in public material. Adding a real page of one of them moves it into one of the sets above.


def test_real_fixtures_exist() -> None:
    """Real pages are what prove the parsers: the set keeps them, next to the hand-written ones."""
    specs = [(p.parent.name, json.loads(p.read_text(encoding="utf-8"))) for p in CASES]
    kinds = [spec["provenance"]["kind"] for _, spec in specs]
    assert kinds.count("real") >= 5 and kinds.count("hand-written") >= 3
    real = {(platform, spec.get("kind", "article")) for platform, spec in specs if spec["provenance"]["kind"] == "real"}
    assert {platform for platform, _ in real} == REAL_PLATFORMS | REAL_ARTICLE_ONLY
    for platform in REAL_PLATFORMS:
        assert {(platform, "article"), (platform, "listing")} <= real, f"{platform}: a real article and listing"
    for platform in REAL_ARTICLE_ONLY:
        assert (platform, "article") in real and (platform, "listing") not in real, platform


# The opening of real pages whose engine the fingerprints must name, where no whole page could be kept as a fixture.
# nukeviet: JiaHui2005/rag-chatbot "data/faq_web/pages/Các câu hỏi thường gặp - Luật Đất đai năm 2024.html" @ fdfce47e
# (pbgdplthainguyen.gov.vn, a NukeViet install branded by its reseller; 987,456 characters, the faq module, no news).
REAL_OPENINGS = [
    ("nukeviet", """<!DOCTYPE html>
\t<html lang="vi" xmlns="http://www.w3.org/1999/xhtml" prefix="og: http://ogp.me/ns#">
\t<head>
<title>Các câu hỏi thường gặp - Luật Đất đai năm 2024</title>
<meta name="generator" content="Netsite.,JSC">
<link rel="alternate" href="/faq/rss/" title="Các câu hỏi thường gặp" type="application/rss+xml">
<link rel="preload" as="script" href="/assets/js/global.js?t=1771815780">
<link rel="preload" as="script" href="/themes/netegov_v26/js/main.js?t=1771815780">
\t</head>
\t<body>
    <noscript>
        <div class="alert alert-danger">Trình duyệt của bạn đã tắt chức năng hỗ trợ JavaScript.<br />Website chỉ làm \
việc khi bạn bật nó trở lại.<br />Để tham khảo cách bật JavaScript, hãy click chuột <a \
href="http://wiki.nukeviet.vn/support:browser:enable_javascript">vào đây</a>!</div>
    </noscript>
"""),
]


@pytest.mark.parametrize(("platform", "html"), REAL_OPENINGS, ids=[p for p, _ in REAL_OPENINGS])
def test_real_page_openings_are_recognised(platform: str, html: str) -> None:
    """A rebranded install still names its engine through the markup the engine itself writes."""
    from portal_spiders.platforms import detect_platform

    detected = detect_platform(html)
    assert detected is not None and detected.name == platform


def test_fixture_set_covers_every_platform() -> None:
    """Each platform module ships at least one article and one listing fixture."""
    from portal_spiders.platforms import platforms

    for name in platforms():
        kinds = {json.loads(p.read_text(encoding="utf-8")).get("kind", "article")
                 for p in (FIXTURES / name).glob("*.json")}
        assert {"article", "listing"} <= kinds, f"platform {name} lacks fixtures: has {sorted(kinds)}"


def test_every_forbidden_text_occurs_in_a_fixture() -> None:
    """A guard against text that no fixture contains cannot fail: keep only guards that some article page exercises.

    test_fixture applies :data:`FORBIDDEN` to the fields of article fixtures only, so listing pages do not count.
    """
    pages = []
    for case in CASES:
        if json.loads(case.read_text(encoding="utf-8")).get("kind", "article") != "article":
            continue
        page = case.with_suffix(".html") if case.with_suffix(".html").exists() else case.with_suffix(".xml")
        pages.append(page.read_bytes().decode("utf-8", "replace"))
    assert pages, "no article fixture found"
    unused = [text for text in FORBIDDEN if not any(text in page for page in pages)]
    assert not unused, f"no fixture contains {unused}: add a page that does, or drop the guard"


def test_sharepoint_design_placeholder_never_reaches_the_body() -> None:
    """SharePoint Design Manager's placeholder div, left in some master pages (vbpl.vn), is chrome.

    Its markup is the one Design Manager writes into a converted master page (Microsoft's SharePoint docs); here it
    sits inside the content container, where the full text of a vbpl.vn page is (``div#toanvancontent``).
    """
    from scrapy.http import HtmlResponse

    from portal_spiders.platforms import get_platform

    placeholder = ("This div, which you should delete, represents the content area that your Page Layouts and pages "
                   "will fill. Design your Master Page around this content placeholder.")
    html = f"""<html><head><title>Trung ương</title></head><body><div id="s4-bodyContainer">
<div id="toanvancontent">
<div class="DefaultContentBlock" style="border:medium black solid; background:yellow; color:black; margin:20px;
 padding:10px;">{placeholder}</div>
<h1>Quyết định về việc ban hành Quy chế làm việc</h1>
<p>Ngày ban hành: 27/11/2015</p>
<p>Điều 1. Ban hành kèm theo Quyết định này Quy chế làm việc của Ủy ban nhân dân tỉnh nhiệm kỳ 2016 - 2021.</p>
<p>Điều 2. Quyết định này có hiệu lực kể từ ngày ký và thay thế các quy định trước đây trái với Quyết định này.</p>
</div></div></body></html>"""
    platform = get_platform("generic")({"body": ["#toanvancontent"]})
    response = HtmlResponse("https://vbpl.vn/TW/Pages/vbpq-toanvan.aspx?ItemID=12345", body=html.encode(),
                            encoding="utf-8")
    item = platform.parse_article(response, portal="vbpl")
    assert item.field_sources["body"] == "css:#toanvancontent"
    assert "Điều 1. Ban hành kèm theo Quyết định này" in (item.body_text or "")
    for field_name, value in ItemAdapter(item).asdict().items():
        assert "which you should delete" not in json.dumps(value, ensure_ascii=False), field_name
