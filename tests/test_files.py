"""Attachments and images as files: names, types, text, size caps, the address guard, and failures as rows."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from typing import Any

import pytest
from scrapy import Request
from scrapy.utils.test import get_crawler

from govarchive.archive import Archive
from govarchive.replica.attachments import attachment_file, committed
from govarchive.replica.content import Attachment, generate_articles
from pipelines.files import clean_filename, content_disposition_name, content_path, original_name, sniff_mime
from pipelines.filetext import DOCX, XLS, XLSX, TextExtractionError, extract_text
from portal_spiders.addressguard import AddressGuardMiddleware, BlockedAddress, refused_address
from tests.conftest import ROOT

ARTICLE = generate_articles("laichau-dcs", 1)[0]


# -- names and types --------------------------------------------------------------------------------------------


def test_original_name_prefers_content_disposition_then_url_then_link_text() -> None:
    cd = "attachment; filename*=UTF-8''Ph%E1%BB%A5%20l%E1%BB%A5c%20s%E1%BB%91%20li%E1%BB%87u.xlsx"
    assert original_name("https://x.gov.vn/a/ShowProperty?nodeId=1", disposition=cd, link_text="x") == \
        "Phụ lục số liệu.xlsx"
    raw_utf8 = 'attachment; filename="Quyết định 15.pdf"'.encode()  # servers that send raw UTF-8 bytes
    assert content_disposition_name(raw_utf8) == "Quyết định 15.pdf"
    assert original_name("https://x.gov.vn/VanBan/QD%20100%20UBND.pdf", disposition=None, link_text="QĐ") == \
        "QD 100 UBND.pdf"
    assert original_name("https://x.gov.vn/documents/20181/0/abc", disposition=None, link_text="Kế hoạch") == \
        "Kế hoạch"
    decomposed = "Ke\u0302\u0301 hoa\u0323ch.docx"
    assert clean_filename(decomposed) == "Kế hoạch.docx"  # NFC


def test_remote_names_never_become_paths() -> None:
    assert clean_filename("../../etc/passwd") == "passwd"
    assert clean_filename("..\\..\\boot.ini") == "boot.ini"
    assert clean_filename('attachment\x00\x1f.pdf') == "attachment_.pdf"
    assert content_disposition_name('attachment; filename="/etc/shadow"') == "shadow"
    sha = "ab" * 32
    assert content_path(sha, "application/pdf") == f"ab/ab/{sha}.pdf"
    assert content_path(sha, "application/x-unknown") == f"ab/ab/{sha}"


@pytest.mark.parametrize(("ext", "mime"), [("pdf", "application/pdf"), ("docx", DOCX), ("xlsx", XLSX),
                                           ("doc", "application/msword")])
def test_replica_files_are_real_and_sniffed_from_their_bytes(ext: str, mime: str) -> None:
    body, declared = attachment_file(Attachment("x", f"/VanBan/x.{ext}"), ARTICLE)
    assert sniff_mime(body) == mime == declared
    assert body == attachment_file(Attachment("x", f"/VanBan/x.{ext}"), ARTICLE)[0], "deterministic bytes"
    assert sniff_mime(b"<html><body>Not Found</body></html>") == "text/html"


def test_text_of_pdf_docx_xlsx() -> None:
    assert "Điều 1. Phê duyệt kế hoạch chuyển đổi số" in extract_text(committed("quyet-dinh.pdf"), "application/pdf")
    docx_text = extract_text(attachment_file(Attachment("x", "/a.docx"), ARTICLE)[0], DOCX)
    assert ARTICLE.title in docx_text and "KẾ HOẠCH TRIỂN KHAI" in docx_text and "Thời hạn" in docx_text
    xlsx_text = extract_text(attachment_file(Attachment("x", "/a.xlsx"), ARTICLE)[0], XLSX)
    assert "Phụ lục số liệu" in xlsx_text and "Huyện Tam Đường" in xlsx_text
    assert extract_text(b"\x89PNG\r\n", "image/png") is None


PDF_FIXTURES = ROOT / "tests" / "fixtures" / "files"


def test_pdf_text_damaged_and_encrypted() -> None:
    """PDFium reads what browsers read: an empty user password opens; a real one, or a damaged file, is one reason."""
    plain = extract_text(committed("quyet-dinh.pdf"), "application/pdf")
    assert "\r" not in plain and plain.startswith("ỦY BAN NHÂN DÂN TỈNH LAI CHÂU\n")
    assert extract_text((PDF_FIXTURES / "quyet-dinh-empty-password.pdf").read_bytes(), "application/pdf") == plain
    with pytest.raises(TextExtractionError, match=r"^encrypted PDF: .*password"):
        extract_text((PDF_FIXTURES / "quyet-dinh-password.pdf").read_bytes(), "application/pdf")
    for damaged in (b"%PDF-1.4 not a pdf", committed("quyet-dinh.pdf")[:4000]):
        with pytest.raises(TextExtractionError, match=r"^unreadable PDF: "):
            extract_text(damaged, "application/pdf")


def test_pdf_text_from_many_threads_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files are read in worker threads and PDFium is not thread-safe: reads are one at a time, all correct, and a
    read that waits too long for the reader fails with its reason instead of hanging."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from pipelines import filetext

    data = committed("quyet-dinh.pdf")
    expected = extract_text(data, "application/pdf")
    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(lambda _: extract_text(data, "application/pdf"), range(40))) == {expected}
    monkeypatch.setattr(filetext, "PDFIUM_WAIT", 0.05)
    held = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with filetext._PDFIUM_LOCK:
            held.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(5)
    try:
        with pytest.raises(TextExtractionError, match="busy with another file"):
            extract_text(data, "application/pdf")
    finally:
        release.set()
        holder.join()
    assert extract_text(data, "application/pdf") == expected


def _python_docx_text(data: bytes) -> str:
    """The reference: what python-docx gives for the body paragraphs and the tables' rows."""
    import io

    import docx

    document = docx.Document(io.BytesIO(data))
    parts = [p.text for p in document.paragraphs]
    parts += ["\t".join(cell.text for cell in row.cells) for table in document.tables for row in table.rows]
    return "\n".join(parts)


def _docx_with_inline_content() -> bytes:
    """A document with every kind of run content, a hyperlink, a simple table and a nested paragraph."""
    import io

    import docx
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    document = docx.Document()
    document.add_paragraph("Kế hoạch số 15/KH-UBND")
    run = document.add_paragraph().add_run("Cột\tmột")
    run.add_break()  # a line break: a new line
    run.add_text("Dòng hai")
    page_break = document.add_paragraph().add_run("trước")
    page_break.add_break(docx.enum.text.WD_BREAK.PAGE)  # a page break: nothing
    page_break.add_text("sau")
    document.add_paragraph("   ")  # blank text kept as python-docx keeps it
    linked = document.add_paragraph("Xem ")
    linked._p.append(parse_xml(f'<w:hyperlink {nsdecls("w")}><w:r><w:t>văn bản</w:t></w:r><w:r><w:noBreakHyphen/>'
                               '<w:t xml:space="preserve"> gốc </w:t><w:cr/></w:r></w:hyperlink>'))
    linked._p.append(parse_xml(f'<w:ins {nsdecls("w")} w:id="1" w:author="a"><w:r><w:t>chèn</w:t></w:r></w:ins>'))
    table = document.add_table(rows=2, cols=3)
    for r, row in enumerate(table.rows):
        for c, cell in enumerate(row.cells):
            cell.text = f"Ô {r}.{c}"
    table.rows[1].cells[2].add_paragraph("dòng thứ hai của ô")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _docx_with_merged_cells() -> bytes:
    import io

    import docx

    document = docx.Document()
    document.add_paragraph("Bảng gộp ô")
    table = document.add_table(rows=3, cols=3)
    table.cell(0, 0).merge(table.cell(0, 1)).text = "gộp ngang"
    table.cell(1, 2).merge(table.cell(2, 2)).text = "gộp dọc"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


@pytest.mark.parametrize("make", ["replica", "inline", "merged"])
def test_docx_text_is_what_python_docx_reads(make: str) -> None:
    """The fast reader of the main part gives python-docx's text exactly (merged cells go to python-docx)."""
    from pipelines.filetext import _docx, _docx_body_text

    data = {"replica": lambda: attachment_file(Attachment("x", "/a.docx"), ARTICLE)[0],
            "inline": _docx_with_inline_content, "merged": _docx_with_merged_cells}[make]()
    assert _docx(data) == _python_docx_text(data)
    fast = _docx_body_text(data)
    if make == "merged":
        assert fast is None, "merged cells are left to python-docx"
    else:
        assert fast == _python_docx_text(data)
        assert make != "inline" or ("Cột\tmột\nDòng hai" in fast and "trướcsau" in fast and "văn bản- gốc \n" in fast
                                    and "chèn" not in fast and "Ô 1.2\ndòng thứ hai của ô" in fast)


def test_tcvn3_word_97_file_comes_back_as_unicode_vietnamese() -> None:
    """The .doc is typed in TCVN3: antiword prints `Céng hoµ x· héi`; the text hygiene restores it."""
    import shutil

    if not (shutil.which("antiword") or shutil.which("catdoc")):
        pytest.fail("antiword/catdoc missing: `make setup` and .ci/run install them")
    text = extract_text(committed("cong-van-tcvn3.doc"), "application/msword")
    assert "Cộng hoà xã hội chủ nghĩa Việt Nam" in text
    assert "V/v hướng dẫn triển khai công tác cải cách hành chính" in text
    assert "Céng" not in text and "nghÜa" not in text



def test_legacy_excel_workbook_text_through_xls2csv() -> None:
    data = (ROOT / "tests" / "fixtures" / "files" / "ke-hoach.xls").read_bytes()
    assert sniff_mime(data) == XLS
    assert extract_text(data, XLS) == "\n".join([
        "# Sheet 1", "STT Nội dung Kinh phí (triệu đồng)", "1 Tuyên truyền phổ biến giáo dục pháp luật 120.5",
        "2 Hội nghị tập huấn tại Đà Nẵng 45", "# Sheet 2", "Tổng cộng 165.5"])


def test_xls_sheet_claiming_its_largest_range_is_read_from_its_records() -> None:
    """Cells in A1 and IV65536 only: the reader streams the two records instead of a 16-million-cell range."""
    data = (ROOT / "tests" / "fixtures" / "files" / "sparse.xls").read_bytes()
    assert extract_text(data, XLS) == "# Sheet 1\nĐầu bảng\nCuối bảng"


def test_damaged_xls_fails_with_a_reason() -> None:
    data = (ROOT / "tests" / "fixtures" / "files" / "ke-hoach.xls").read_bytes()
    with pytest.raises(TextExtractionError, match="xls2csv"):
        extract_text(data[:1500], XLS)

# -- the address guard --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "172.16.0.9", "192.168.1.1", "169.254.169.254",
                                     "100.100.100.200", "0.0.0.0", "::1", "fd00:ec2::254", "fe80::1",
                                     "::ffff:127.0.0.1", "224.0.0.1"])
def test_refused_addresses(address: str) -> None:
    assert refused_address(address)


def test_global_addresses_pass() -> None:
    assert refused_address("203.162.10.5") is None  # a Vietnamese public address
    assert refused_address("2001:4860:4860::8888") is None


def _guard(settings: dict, resolved: dict[str, list[str]]) -> AddressGuardMiddleware:
    async def resolver(host: str) -> list[str]:
        return resolved[host]

    return AddressGuardMiddleware(get_crawler(settings_dict=settings), resolver=resolver)


def test_guard_resolves_first_and_checks_every_redirect_hop() -> None:
    guard = _guard({}, {"laichau.gov.vn": ["203.162.10.5"], "evil.example": ["169.254.169.254"]})
    run = asyncio.run
    assert run(guard.process_request(Request("https://laichau.gov.vn/upload/a.pdf"))) is None
    with pytest.raises(BlockedAddress, match="link-local"):
        run(guard.process_request(Request("https://evil.example/latest/meta-data/")))
    hop = Request("https://evil.example/x", meta={"redirect_urls": ["https://laichau.gov.vn/upload/a.pdf"]})
    with pytest.raises(BlockedAddress, match=r"redirect hop.*169\.254\.169\.254"):
        run(guard.process_request(hop))
    with pytest.raises(BlockedAddress, match="loopback"):
        run(guard.process_request(Request("http://127.0.0.1:8080/admin")))


def test_guard_is_off_for_hosts_routed_to_the_replica_only() -> None:
    guard = _guard({"REPLICA_URL": "http://127.0.0.1:1", "REPLICA_HOSTS": ["laichau.dcs.vn"]},
                   {"other.example": ["10.0.0.1"]})
    assert asyncio.run(guard.process_request(Request("https://laichau.dcs.vn/x.pdf"))) is None
    with pytest.raises(BlockedAddress):
        asyncio.run(guard.process_request(Request("https://other.example/x.pdf")))


# -- end to end ----------------------------------------------------------------------------------------------------


def _crawl_two(replica, crawl, db: Path, *args: str) -> None:
    for slug in ("laichau-dcs", "angiang-dcs"):
        result = crawl(slug, db, replica.url, *args)
        assert result.returncode == 0, result.stderr[-3000:]


@pytest.mark.slow
def test_files_are_stored_once_by_content_with_names_types_and_text(replica, crawl, tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    _crawl_two(replica, crawl, db)
    store = tmp_path / "files"
    with Archive(db) as archive:
        rows = list(archive.db["attachments"].rows)
        assert rows and all(r["status"] == "stored" for r in rows)
        assert archive.count("failures") == 0
        for r in rows:
            path = store / r["path"]
            assert path.is_file() and path.stat().st_size == r["size"]
            assert r["path"] == content_path(r["sha256"], r["mime"]) and r["fetched_at"] and r["capture_id"]
        pdfs = [r for r in rows if r["mime"] == "application/pdf"]
        portals = {archive.article_by_id(r["article_id"])["portal"] for r in pdfs}
        assert len(pdfs) > 2 and portals == {"laichau-dcs", "angiang-dcs"} and len({r["sha256"] for r in pdfs}) == 1
        assert len(list(store.rglob("*.pdf"))) == 1, "one file for every article and portal that attaches it"
        by_kind = {r["mime"]: r for r in rows}
        assert "Điều 1" in by_kind["application/pdf"]["text"]
        assert "Cộng hoà xã hội chủ nghĩa Việt Nam" in by_kind["application/msword"]["text"]
        assert "KẾ HOẠCH TRIỂN KHAI" in by_kind[DOCX]["text"] and "Phụ lục số liệu" in by_kind[XLSX]["text"]
        assert by_kind[XLSX]["filename"].startswith("Phụ lục số liệu") and by_kind[XLSX]["filename"].endswith(".xlsx")
        images = [r for r in rows if r["kind"] == "image"]
        assert images and all(r["mime"] == "image/png" for r in images)
        # attachments() lists attachments only; images are there on request
        article_id = pdfs[0]["article_id"]
        assert all(a["kind"] == "attachment" for a in archive.attachments(article_id))
        assert any(a["kind"] == "image" for a in archive.attachments(article_id, images=True))
    assert not list(store.rglob(".tmp-*"))


@pytest.mark.slow
def test_a_failed_attachment_is_a_failure_row_and_is_retried_through_its_article(replica, crawl,
                                                                                 tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    site = replica.state.site("laichau-dcs")
    article = next(a for a in site.articles if any(att.path.endswith(".docx") for att in a.attachments))
    att = next(att for att in article.attachments if att.path.endswith(".docx"))
    url = site.attachment_url(att.path)
    replica.state.set_fault(url, 404)
    result = crawl("laichau-dcs", db, replica.url)
    assert result.returncode == 0, result.stderr[-3000:]
    article_url = f"https://laichau.dcs.vn/pages/chi-tiet-tin.aspx?ItemID={article.id}"
    with Archive(db) as archive:
        row = archive.get_article(article_url)
        assert row is not None, "the article is archived although its attachment failed"
        failure = archive.db.execute("select stage, status, reason, extra from failures where url = ?",
                                     [url]).fetchone()
        assert failure[:2] == ("attachment", 404) and "HTTP 404" in failure[2]
        assert json.loads(failure[3])["article_url"].endswith(f"ItemID={article.id}")
        att_row = next(a for a in archive.attachments(row["id"]) if a["url"] == url)
        assert (att_row["status"], att_row["sha256"]) == ("failed", None)
    replica.state.clear_faults()
    result = crawl("laichau-dcs", db, replica.url)
    assert result.returncode == 0, result.stderr[-3000:]
    with Archive(db) as archive:
        assert archive.count("failures") == 0
        att_row = next(a for a in archive.attachments(archive.get_article(article_url)["id"]) if a["url"] == url)
        assert att_row["status"] == "stored" and att_row["mime"] == DOCX and att_row["text"]


@pytest.mark.slow
def test_size_cap_by_sniffed_type(replica, crawl, tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    result = crawl("laichau-dcs", db, replica.url, "-s", 'FILES_MAX_SIZES={"application/pdf": 1000}')
    assert result.returncode == 0, result.stderr[-3000:]
    with Archive(db) as archive:
        pdfs = list(archive.db["attachments"].rows_where("url like '%.pdf'"))
        assert pdfs and all(r["status"] == "too-large" and r["sha256"] is None for r in pdfs)
        assert archive.count("failures", "stage = 'attachment' and reason like '%too-large%'") == len(
            {r["url"] for r in pdfs})
        assert archive.count("attachments", "url like '%.docx' and status = 'stored'") > 0
    assert not list((tmp_path / "files").rglob("*.pdf"))


def _workbook(build: Any) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    build(book)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_xlsx_readers_give_the_same_text() -> None:
    """calamine (small files) and openpyxl (large ones) read a workbook to the same text: a table that starts
    away from A1, integers and decimals, booleans, text, empty cells, two sheets."""
    import datetime as dt

    from pipelines import filetext

    def build(book: Any) -> None:
        sheet = book.active
        sheet.title = "Phụ lục 1"
        sheet["C3"], sheet["D3"], sheet["F3"] = "Đơn vị", "Số hồ sơ", "Tỷ lệ"
        sheet.append([])
        sheet["C5"], sheet["D5"], sheet["E5"], sheet["F5"] = "Sở Nội vụ", 336, True, 98.5
        sheet["C6"], sheet["D6"] = "Huyện Tam Đường", -12
        other = book.create_sheet("Tổng hợp")
        other["A1"], other["B1"] = "Năm", 2024

    data = _workbook(build)
    fast, streamed = filetext._xlsx_calamine(data), filetext._xlsx_openpyxl(data)
    assert fast == streamed
    assert "\t\tĐơn vị\tSố hồ sơ\t\tTỷ lệ" in fast and "Sở Nội vụ\t336\tTrue\t98.5" in fast
    assert "# Tổng hợp\nNăm\t2024" in fast
    dated = _workbook(lambda book: book.active.append(["Ngày ban hành", dt.date(2024, 3, 22)]))
    assert "2024-03-22" in filetext._xlsx_calamine(dated) and "2024-03-22" in filetext._xlsx_openpyxl(dated)


def test_big_xlsx_is_streamed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A workbook whose XML inflates past the limit is read row by row (openpyxl), never whole into memory."""
    from pipelines import filetext

    data = _workbook(lambda book: [book.active.append([f"dòng {i}", i]) for i in range(2_000)])
    used: list[str] = []
    monkeypatch.setattr(filetext, "_xlsx_calamine", lambda d: used.append("calamine") or "")
    monkeypatch.setattr(filetext, "_xlsx_openpyxl", lambda d: used.append("openpyxl") or "")
    filetext._xlsx(data)
    monkeypatch.setattr(filetext, "CALAMINE_MAX_XML", 10_000)
    filetext._xlsx(data)
    assert used == ["calamine", "openpyxl"]
    with pytest.raises(TextExtractionError, match="BadZipFile"):
        extract_text(b"PK\x03\x04 not really a zip", XLSX)


def test_sparse_xlsx_is_not_given_to_calamine(monkeypatch: pytest.MonkeyPatch) -> None:
    """calamine holds a sheet's whole used range, empty cells included: a 5 KB workbook with cells in A1 and
    ZZ200000 made it allocate 4.3 GB. Such a sheet, or one whose cells do not state their positions, is streamed
    by openpyxl (and stops at MAX_CELLS)."""
    import zipfile

    from pipelines import filetext

    def build(book: Any) -> None:
        book.active["A1"], book.active["ZZ200000"] = "đầu", "cuối"

    sparse = _workbook(build)
    assert not filetext._calamine_fits(sparse)
    text = extract_text(sparse, XLSX)
    assert text is not None and text.startswith("# Sheet\nđầu")
    assert filetext._calamine_fits(attachment_file(Attachment("x", "/a.xlsx"), ARTICLE)[0])
    assert filetext._calamine_fits(_workbook(lambda book: book.active.append(["a", 1])))
    # the same small table with one cell written without its r="..." position
    source = io.BytesIO(_workbook(lambda book: book.active.append(["a", 1])))
    out = io.BytesIO()
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            body = zin.read(info)
            if info.filename.startswith("xl/worksheets/"):
                body = body.replace(b' r="B1"', b"", 1)
            zout.writestr(info, body)
    assert not filetext._calamine_fits(out.getvalue())
    assert filetext._sheet_fits(b'<x:row r="1"><x:c r="B2" t="s"><x:v>0</x:v></x:c><x:c r="D9"/></x:row>')
    assert not filetext._sheet_fits(b'<row><c r="A1"/><c t="s"><v>0</v></c></row>')
