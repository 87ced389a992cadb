"""Every saved page under tests/fixtures/<platform>/ extracts exactly its expected JSON.

Adding a portal on a known platform is one HTML file plus one JSON file here, with no new test code.
JSON keys: ``url`` (the page's real URL), ``kind`` (``article`` or ``listing``), optional ``platform`` to
force one, optional ``portal``, optional ``now`` (ISO, anchors relative dates), optional ``encoding``, and
``expected``: for articles the item fields to compare (``body_text`` may be given in full, or checked with
``body_contains`` / ``body_excludes``); for listings ``entries`` (article URLs in page order) and ``next``
(URLs of next-page requests).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from itemadapter import ItemAdapter

from portal_spiders.offline import extract_article, extract_listing

FIXTURES = Path(__file__).parent / "fixtures"
CASES = sorted(FIXTURES.glob("*/*.json"))

# Text that must never reach any field: hidden SharePoint chrome, scripts, comments, related boxes, footers.
FORBIDDEN = ["Sign In", "Ribbon", "Ctrl+", "RegisterSod", "_spPageContextInfo", "Lượt truy cập", "Tin liên quan",
             "ngày tạo", "function(", "Timer:", "<script", "This div, which you should delete"]


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


def test_fixture_set_covers_every_platform() -> None:
    """Each platform module ships at least one article and one listing fixture."""
    from portal_spiders.platforms import platforms

    for name in platforms():
        kinds = {json.loads(p.read_text(encoding="utf-8")).get("kind", "article")
                 for p in (FIXTURES / name).glob("*.json")}
        assert {"article", "listing"} <= kinds, f"platform {name} lacks fixtures: has {sorted(kinds)}"
