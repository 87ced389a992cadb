"""Real-looking attachment files for the replica portals.

* ``.pdf``: ``files/quyet-dinh.pdf``, a one-page Vietnamese decision with an embedded font (the same file behind
  every PDF link, as portals re-attach the same decision to many articles: the archive must store it once);
* ``.docx`` / ``.xlsx``: generated per article with python-docx / openpyxl, byte-for-byte deterministic (fixed
  document dates and zip timestamps), so a second crawl sees the same files;
* ``.doc``: ``files/cong-van-tcvn3.doc``, a Word 97-2003 letter typed in TCVN3 (``.VnTime``), as old attachments are.

``files/make_files.py`` says how the two committed files were made.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from govarchive.replica.content import Attachment, ReplicaArticle

FILES = Path(__file__).resolve().parent / "files"
FIXED = datetime(2026, 11, 20, 8, 0, 0)
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _stable_zip(data: bytes) -> bytes:
    """The same zip with every entry dated :data:`FIXED` (python-docx/openpyxl stamp the current time), and the
    document's modification date too (openpyxl sets it to the time of saving, whatever the workbook says)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                                 rb"\g<1>" + FIXED.strftime("%Y-%m-%dT%H:%M:%SZ").encode() + rb"\g<2>", content)
            dst.writestr(entry, content)
    return out.getvalue()


@cache
def committed(name: str) -> bytes:
    """A committed sample file's bytes."""
    return (FILES / name).read_bytes()


@cache
def docx_for(title: str, lead: str, paragraphs: tuple[str, ...]) -> bytes:
    """A Word document: the plan that goes with an article."""
    import docx

    document = docx.Document()
    document.core_properties.created = document.core_properties.modified = FIXED
    document.core_properties.author = "Văn phòng UBND tỉnh"
    document.add_heading("KẾ HOẠCH TRIỂN KHAI", level=1)
    document.add_paragraph(title)
    document.add_paragraph(lead)
    for text in paragraphs:
        document.add_paragraph(text)
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Nhiệm vụ", "Thời hạn"
    table.cell(1, 0).text, table.cell(1, 1).text = "Báo cáo kết quả thực hiện", "Quý IV"
    buf = io.BytesIO()
    document.save(buf)
    return _stable_zip(buf.getvalue())


@cache
def xlsx_for(article_id: int, title: str) -> bytes:
    """A spreadsheet: the figures annexed to an article."""
    import openpyxl

    book = openpyxl.Workbook()
    book.properties.created = book.properties.modified = FIXED
    sheet = book.active
    sheet.title = "Phụ lục"
    sheet.append(["Phụ lục số liệu", title])
    sheet.append(["Đơn vị", "Số hồ sơ", "Đúng hạn (%)"])
    for n, unit in enumerate(("Sở Nội vụ", "Sở Tài chính", "Huyện Tam Đường", "Huyện Phong Thổ")):
        sheet.append([unit, 100 + (article_id * 7 + n * 13) % 400, 90 + (article_id + n) % 10])
    buf = io.BytesIO()
    book.save(buf)
    return _stable_zip(buf.getvalue())


def attachment_file(att: Attachment, article: ReplicaArticle) -> tuple[bytes, str]:
    """``(bytes, Content-Type)`` of an attachment, by its extension."""
    ext = att.path.rsplit(".", 1)[-1].lower() if "." in att.path.rsplit("/", 1)[-1] else ""
    if ext == "docx":
        return docx_for(article.title, article.lead, tuple(article.paragraphs)), DOCX
    if ext == "xlsx":
        return xlsx_for(article.id, article.title), XLSX
    if ext == "doc":
        return committed("cong-van-tcvn3.doc"), "application/msword"
    return committed("quyet-dinh.pdf"), "application/pdf"
