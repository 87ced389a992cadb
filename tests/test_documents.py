"""Legal-document pages: one document is one record, its views merged, its issue date as the date, its properties as
fields; the crawl fetches the properties view before the record leaves the spider, and a failed view is a failure."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse, TextResponse

from govarchive.archive import Archive
from govarchive.replica.server import ReplicaServer, ReplicaState
from portal_spiders.platforms.document import Document
from portal_spiders.text import document_number_key

FIXTURES = Path(__file__).parent / "fixtures" / "document"
FULLTEXT = "https://vbpl.vn/TW/Pages/vbpq-toanvan.aspx?ItemID=996017&Keyword="
PROPERTIES = "https://vbpl.vn/TW/Pages/vbpq-thuoctinh.aspx?ItemID=996017"


def _response(url: str, name: str) -> HtmlResponse:
    return HtmlResponse(url=url, body=(FIXTURES / f"{name}.html").read_bytes(), request=Request(url))


def test_views_of_one_document_have_one_identity() -> None:
    platform = Document()
    views = [f"https://www.vbpl.vn/TW/Pages/{view}.aspx?dvid=13&ItemID=996017&Keyword=x"
             for view in ("vbpq-toanvan", "vbpq-thuoctinh", "vbpq-luocdo", "vbpq-print", "ivbpq-toanvan",
                          "vbpq-van-ban-goc", "vbpq-vanbanlienquan")]
    assert {platform.canonical_url(u) for u in views} == {"https://vbpl.vn/TW/Pages/vbpq-toanvan.aspx?ItemID=996017"}
    assert platform.canonical_url("https://vbpl.vn/bocongan/Pages/vbpq-toanvan.aspx?ItemID=5") != \
        platform.canonical_url("https://vbpl.vn/TW/Pages/vbpq-toanvan.aspx?ItemID=6")
    assert platform.canonical_url("https://vbpl-bientap-gateway.moj.gov.vn/api/qtdc/public/doc/187045") == \
        "https://vbpl.vn/van-ban/chi-tiet/--187045"


def test_full_text_then_properties_make_one_record() -> None:
    platform = Document()
    first = _response(FULLTEXT, "vbpl-toanvan")
    item = platform.parse_article(first, portal="vbpl")
    assert platform.document_views(item, first) == [PROPERTIES]
    platform.merge_view(item, _response(PROPERTIES, "vbpl-thuoctinh"))
    assert item.url == "https://vbpl.vn/TW/Pages/vbpq-toanvan.aspx?ItemID=996017"
    assert item.title == ("Quyết định 15/2026/QĐ-TTg: Ban hành Quy chế phối hợp cung cấp thông tin trên Cổng Thông "
                          "tin điện tử Chính phủ")
    assert "Trung ương" not in item.title and "CSDL" not in item.title
    assert (item.published, item.published_raw) == ("2026-03-16T00:00:00+07:00", "Ngày ban hành: 16/03/2026")
    assert item.author == "Nguyễn Văn Mẫu" and item.category == "Quyết định"
    assert item.document == {
        "number": "15/2026/QĐ-TTg", "doc_type": "Quyết định", "issuer": "Thủ tướng Chính phủ",
        "signer": "Nguyễn Văn Mẫu", "issued": "2026-03-16", "effective": "2026-05-01", "status": "Còn hiệu lực",
        "fields": {"Chức danh": "Phó Thủ tướng", "Nguồn thu thập": "Công báo số 415+416",
                   "Ngày đăng công báo": "25/03/2026", "Ngành": "Thông tin và truyền thông",
                   "Lĩnh vực": "Bộ máy hành chính", "Phạm vi": "Toàn quốc"},
    }
    assert [a["url"] for a in item.attachments] == [
        "https://vbpl.vn/TW/Lists/vbpq/Attachments/996017/15.2026.QD-TTg.doc",
        "https://vbpl.vn/FileData/TW/Lists/vbpq/Attachments/996017/VanBanGoc_15.2026.QD-TTg.pdf"]
    assert "Điều 2. Quyết định này có hiệu lực thi hành" in item.body_text
    assert item.field_sources["summary"] == "css:div.vbProperties td.title"


def test_properties_first_then_full_text() -> None:
    platform = Document()
    first = _response("https://vbpl.vn/TW/Pages/vbpq-thuoctinh.aspx?dvid=13&ItemID=996017", "vbpl-thuoctinh")
    item = platform.parse_article(first, portal="vbpl")
    assert platform.document_views(item, first) == ["https://vbpl.vn/TW/Pages/vbpq-toanvan.aspx?ItemID=996017"]
    assert item.body_text is None
    platform.merge_view(item, _response(FULLTEXT, "vbpl-toanvan"))
    assert item.document["issuer"] == "Thủ tướng Chính phủ"  # the properties' label wins over the header's capitals
    assert item.body_text and "Điều 1." in item.body_text
    assert len(item.attachments) == 2


def test_new_vbpl_page_takes_its_record_from_the_api() -> None:
    platform = Document()
    url = "https://vbpl.vn/van-ban/chi-tiet/luat-thue-thu-nhap-ca-nhan-so-109-2025-qh15--187045"
    page = HtmlResponse(url=url, body=b"<html><head><title>Trung \xc6\xb0\xc6\xa1ng</title></head>"
                                      b"<body><div id='app'></div></body></html>", request=Request(url))
    item = platform.parse_article(page, portal="vbpl")
    views = platform.document_views(item, page)
    assert views == ["https://vbpl-bientap-gateway.moj.gov.vn/api/qtdc/public/doc/187045"]
    answer = {"success": True, "data": {
        "id": 187045, "title": "Luật Thuế thu nhập cá nhân", "docNum": "109/2025/QH15", "docType": {"name": "Luật"},
        "issueDate": "2025-12-10T00:00:00", "effFrom": "2026-07-01T00:00:00", "effStatus": {"name": "Chưa có hiệu lực"},
        "agencyName": "Quốc hội", "documentContent": {"content": "<p>Điều 1. Phạm vi điều chỉnh</p>"}}}
    platform.merge_view(item, TextResponse(url=views[0], body=json.dumps(answer).encode(), encoding="utf-8",
                                           request=Request(views[0])))
    assert item.title == "Luật 109/2025/QH15: Luật Thuế thu nhập cá nhân"
    assert item.published == "2025-12-10T00:00:00+07:00"
    assert item.document["effective"] == "2026-07-01" and item.document["status"] == "Chưa có hiệu lực"
    assert item.body_text == "Điều 1. Phạm vi điều chỉnh"


def test_search_results_list_each_document_once_with_its_issue_date() -> None:
    url = ("https://vbpl.vn/VBQPPL_UserControls/Publishing_22/TimKiem/p_KetQuaTimKiemVanBan.aspx"
           "?IsVietNamese=True&RowPerPage=50&Page=62")
    listing = Document().parse_listing(_response(url, "vbpl-search-listing"))
    assert [e.url for e in listing.entries] == ["https://vbpl.vn/TW/Pages/vbpq-toanvan.aspx?ItemID=996017",
                                                "https://vbpl.vn/bocongan/Pages/vbpq-toanvan.aspx?ItemID=995870"]
    assert listing.next_requests == []  # page 62 is the last page the pager names


def test_archive_stores_the_document_row_with_its_linking_key(tmp_path: Path) -> None:
    platform = Document()
    item = platform.parse_article(_response(FULLTEXT, "vbpl-toanvan"), portal="vbpl")
    platform.merge_view(item, _response(PROPERTIES, "vbpl-thuoctinh"))
    from itemadapter import ItemAdapter

    with Archive(tmp_path / "a.db") as archive:
        assert archive.store_article(ItemAdapter(item).asdict(), content_hash="x") == "new"
        archive.commit()
        row = archive.document(archive.get_article(item.url)["id"])
    assert row["number_key"] == document_number_key("15/2026/QĐ-TTg") == "15/2026/QD-TTG"
    assert (row["issued"], row["issuer"], row["signer"]) == ("2026-03-16", "Thủ tướng Chính phủ", "Nguyễn Văn Mẫu")
    assert json.loads(row["fields"])["Lĩnh vực"] == "Bộ máy hành chính"


@pytest.fixture
def vbpl_replica() -> Iterator[ReplicaServer]:
    with ReplicaServer(ReplicaState.from_registry(["vbpl"], articles_per_portal=7)) as server:
        yield server


@pytest.mark.slow
def test_crawl_merges_views_and_records_a_failed_view(vbpl_replica: ReplicaServer, tmp_path: Path, crawl) -> None:
    site = vbpl_replica.state.site("vbpl")
    broken = site.articles[1]
    vbpl_replica.state.set_fault(f"https://vbpl.vn/TW/Pages/vbpq-thuoctinh.aspx?ItemID={broken.id}", 500)
    db = tmp_path / "archive.db"
    result = crawl("vbpl", db, vbpl_replica.url, "-s", "RETRY_TIMES=0", "-a", "full=1")
    assert result.returncode == 0, result.stderr[-3000:]
    with Archive.open_existing(db) as archive:
        rows = {r["url"]: r for r in archive.iter_articles()}
        failures = archive.failures("vbpl")
        for art in site.articles:
            url = site.absolute(site.article_path(art))
            if art is broken:
                assert url not in rows  # no half record: the document waits for its properties
                continue
            row = rows.pop(url)
            expected = site.expected(art)
            assert (row["title"], row["published"], row["author"]) == (
                expected["title"], expected["published"], expected["author"])
            document = archive.document(row["id"])
            assert {k: document[k] for k in expected["document"]} == expected["document"]
            assert json.loads(document["fields"])["Lĩnh vực"]  # only the properties view shows it
            assert [a["url"] for a in archive.attachments(row["id"])] == [a["url"] for a in expected["attachments"]]
        assert rows == {}  # outline and properties links did not become records of their own
    assert [f["url"] for f in failures] == [f"https://vbpl.vn/TW/Pages/vbpq-toanvan.aspx?ItemID={broken.id}"]
    assert "vbpq-thuoctinh.aspx" in failures[0]["reason"] and "HTTP 500" in failures[0]["reason"]
