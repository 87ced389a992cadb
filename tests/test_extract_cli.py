"""``govarchive extract``: one saved page in, the stored fields out as JSON, never a crash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from govarchive.cli import main

FIXTURES = Path(__file__).parent / "fixtures"
PAGES = {
    "liferay": ("liferay/bacgiang-article",
                "https://bacgiang.gov.vn/web/guest/-/hoi-nghi-truc-tuyen-trien-khai-nghi-quyet-ve-sap-xep-don-vi-hanh-chinh-cap-xa"),
    "vccorp": ("vccorp/baochinhphu-article",
               "https://baochinhphu.vn/thu-tuong-chu-tri-phien-hop-chinh-phu-chuyen-de-xay-dung-phap-luat-thang-9-2026-"
               "102260905122709839.htm"),
    "generic": ("generic/mofa-plone-article", "https://www.mofa.gov.vn/tt_baochi/pbnfn/ns240515171247"),
}


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict, str]:
    code = main(["extract", *argv])
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else {}, err


@pytest.mark.parametrize("platform", sorted(PAGES))
def test_fixture_page_per_platform(platform: str, capsys: pytest.CaptureFixture[str]) -> None:
    name, url = PAGES[platform]
    expected = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))["expected"]
    code, data, err = _run(capsys, "--url", url, str(FIXTURES / f"{name}.html"))
    assert code == 0, err
    for key in ("title", "published", "author", "summary", "tags", "attachments", "body_text", "platform"):
        assert data[key] == expected[key], key
    assert "missing" not in data and "errors" not in data
    assert f"platform: {platform} (registry:" in err
    assert "title" in err and "css:" in err  # field sources are reported


def test_forced_platform(capsys: pytest.CaptureFixture[str]) -> None:
    name, url = PAGES["vccorp"]
    code, data, err = _run(capsys, "--url", url, "--platform", "generic", str(FIXTURES / f"{name}.html"))
    assert data["platform"] == "generic"
    assert "platform: generic (forced:" in err
    assert data["title"] == "Thủ tướng chủ trì phiên họp Chính phủ chuyên đề xây dựng pháp luật tháng 9/2026"
    assert data["published"] == "2026-09-05T13:30:00+07:00"
    assert code == 0


def test_unknown_platform_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    name, url = PAGES["generic"]
    code, data, err = _run(capsys, "--url", url, "--platform", "joomla", str(FIXTURES / f"{name}.html"))
    assert code == 2 and data == {}
    assert "unknown platform 'joomla'" in err and "liferay" in err


def test_listing_mode(capsys: pytest.CaptureFixture[str]) -> None:
    code, data, err = _run(capsys, "--listing", "--url", "https://bacgiang.gov.vn/chinh-tri",
                           str(FIXTURES / "liferay/bacgiang-listing.html"))
    assert code == 0, err
    assert data["platform"] == "liferay"
    assert [e["title"] for e in data["entries"]][:2] == [
        "Hội nghị trực tuyến triển khai Nghị quyết về sắp xếp đơn vị hành chính cấp xã",
        "Bắc Giang công bố quyết định thành lập thị xã Chũ"]
    assert len(data["next"]) == 1 and "_cur=2" in data["next"][0]["url"]


def test_unknown_host_falls_back_to_generic(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A page of an unregistered host without fingerprints: generic, with trafilatura and htmldate filling in."""
    paragraphs = [
        "Sáng nay, Sở Nông nghiệp tổ chức hội nghị tổng kết vụ lúa Đông Xuân với sự tham gia của đại diện các xã.",
        "Năng suất bình quân đạt 6,8 tấn mỗi héc-ta, tăng 0,3 tấn so với cùng kỳ nhờ áp dụng giống mới và "
        "cơ giới hóa khâu thu hoạch.",
        "Hội nghị thống nhất kế hoạch xuống giống vụ Hè Thu, bảo đảm lịch thời vụ né rầy và chủ động nước tưới.",
    ]
    page = f"""<html><head><title>Tổng kết vụ lúa Đông Xuân</title>
<meta property="og:title" content="Tổng kết vụ lúa Đông Xuân năm 2025">
<meta name="date" content="2025-05-20"></head>
<body><div id="top"><a href="/">Trang chủ</a></div>
<div class="wrap"><div class="txt">{'<br><br>'.join(paragraphs)}</div></div>
<div id="bottom">Sở Nông nghiệp và Môi trường</div></body></html>"""
    path = tmp_path / "page.html"
    path.write_text(page, encoding="utf-8")
    code, data, err = _run(capsys, "--url", "https://sonongnghiep.example-tinh.gov.vn/tin/123", str(path))
    assert "platform: generic (fallback:" in err
    assert data["platform"] == "generic"
    assert data["title"] == "Tổng kết vụ lúa Đông Xuân năm 2025"
    assert data["published"] == "2025-05-20T00:00:00+07:00"
    for paragraph in paragraphs:
        assert paragraph in data["body_text"]
    assert data["field_sources"]["body"] == "trafilatura:body"
    assert code == 0


def test_junk_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "junk.html"
    path.write_text("<html><body><div>404 - Không tìm thấy trang</div></body></html>", encoding="utf-8")
    code, data, err = _run(capsys, "--url", "https://nowhere.example.vn/x", str(path))
    assert code == 1
    assert data["missing"] == ["title", "published", "body_text"]  # no <title>, no heading, no date, no body
    assert "missing required fields" in err


def test_plain_text_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("chỉ là một dòng chữ, không phải trang HTML", encoding="utf-8")
    code, data, err = _run(capsys, "--url", "https://nowhere.example.vn/notes", str(path))
    assert code == 1
    assert "no HTML markup in the file" in data["errors"]
    assert "error: no HTML markup" in err
    assert data["missing"] == ["title", "published", "body_text"]


def test_binary_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "image.html"
    path.write_bytes(bytes.fromhex("89504e470d0a1a0a0000000d49484452") + bytes(range(256)) * 4)
    code, data, err = _run(capsys, "--url", "https://bacgiang.gov.vn/x", str(path))
    assert code == 1
    assert data["errors"] == ["binary content, not an HTML page"]
    assert "binary content" in err and "platform:" not in err
    assert data["missing"] == ["title", "published", "body_text"]


def test_empty_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "empty.html"
    path.write_bytes(b"")
    code, data, err = _run(capsys, "--url", "https://baochinhphu.vn/x.htm", str(path))
    assert code == 1
    assert data["errors"] == ["empty file"] and data["missing"] == ["title", "published", "body_text"]
    assert "error: empty file" in err
    code, data, _ = _run(capsys, "--listing", "--url", "https://baochinhphu.vn/x.htm", str(path))
    assert code == 1 and data["entries"] == [] and "empty file" in data["errors"]


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, data, err = _run(capsys, "--url", "https://baochinhphu.vn/x.htm", str(tmp_path / "nope.html"))
    assert code == 2 and data == {}
    assert "no such file" in err


@pytest.mark.parametrize(("url", "extra", "published"), [
    ("https://tin.example.vn/2025/05/20/tong-ket-vu-lua.html", "", "2025-05-20T00:00:00+07:00"),
    # htmldate's January 1st means "only a year was found": never taken as the publish date
    ("https://tin.example.vn/tin/tong-ket-vu-lua.html", '<abbr class="published" title="2025-01-01">2025</abbr>', None),
])
def test_generic_htmldate_fallback(url: str, extra: str, published: str | None, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    text = "Năng suất bình quân đạt 6,8 tấn mỗi héc-ta, tăng 0,3 tấn so với cùng kỳ nhờ áp dụng giống mới. " * 2
    path = tmp_path / "page.html"
    path.write_text(f"<html><head><title>Tổng kết vụ lúa</title></head><body><h1>Tổng kết vụ lúa</h1>{extra}"
                    f"<div class='x'><p>{text}</p></div></body></html>", encoding="utf-8")
    code, data, err = _run(capsys, "--url", url, str(path))
    assert data["published"] == published
    if published:
        assert code == 0 and data["field_sources"]["published"] == "htmldate:published"
    else:
        assert code == 1 and data["missing"] == ["published"] and "missing required fields: published" in err
