"""Text of attachment files: PDF (PDFium, through pypdfium2), DOCX (python-docx), XLSX (calamine, else
openpyxl), legacy .doc (antiword, else catdoc).

The text goes through the project's text hygiene (:func:`portal_spiders.text.clean_multiline`): NFC, mojibake, and
the TCVN3/VNI legacy encodings that old Word files of these portals are typed in (``Céng hoµ x· héi`` comes back as
``Cộng hoà xã hội``). Files are read in memory with limits, so a hostile file costs bounded time: at most
:data:`MAX_PAGES` PDF pages, :data:`MAX_CELLS` spreadsheet cells and :data:`MAX_CHARS` characters of text; legacy
``.doc`` goes through a Debian tool in a subprocess with a timeout.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import tempfile
import threading
import zipfile
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from portal_spiders.text import clean_multiline

MAX_PAGES = 2000
MAX_CELLS = 500_000
MAX_CHARS = 2_000_000
TOOL_TIMEOUT = 60  # seconds for antiword/catdoc
PDFIUM_WAIT = 120  # seconds a PDF waits for the reader while another file is being read

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLS = "application/vnd.ms-excel"  # Excel 97-2003 (BIFF), as libmagic names it
LEGACY_DOC = ("application/msword", "application/x-ole-storage", "application/CDFV2")


class TextExtractionError(Exception):
    """The file could not be read as the type it claims (damaged, encrypted, or a tool is missing)."""


# PDFium (Chrome's PDF engine) rather than pypdf: the same text for about a tenth of the CPU (0.6 against 6.6 ms for
# the replica's one-page decision; pure-Python pypdf is slowest on exactly the long text PDFs portals attach), and it
# reads damaged files as browsers do. PDFium is not thread-safe and files are read in worker threads
# (pipelines/files.py), so one file at a time; a file that waits too long is a recorded failure, not a hang.
_PDFIUM_LOCK = threading.Lock()


def _pdf(data: bytes) -> str:
    import pypdfium2 as pdfium

    if not _PDFIUM_LOCK.acquire(timeout=PDFIUM_WAIT):
        raise TextExtractionError(f"the PDF reader was busy with another file for {PDFIUM_WAIT} s")
    try:
        try:
            pdf = pdfium.PdfDocument(data)  # opens files "encrypted" with an empty user password, as many are
        except pdfium.PdfiumError as exc:
            reason = "encrypted PDF" if "password" in str(exc).lower() else "unreadable PDF"
            raise TextExtractionError(f"{reason}: {exc}") from exc
        try:
            parts: list[str] = []
            size = 0
            for number in range(min(len(pdf), MAX_PAGES)):
                if size >= MAX_CHARS:
                    break
                page = pdf[number]
                textpage = page.get_textpage()
                text = textpage.get_text_range().replace("\r\n", "\n")
                textpage.close()
                page.close()
                parts.append(text)
                size += len(text)
            return "\n\n".join(parts)
        finally:
            pdf.close()
    finally:
        _PDFIUM_LOCK.release()


def _docx(data: bytes) -> str:
    """Body paragraphs, then each top-level table's rows as tab-separated cells (python-docx's view of the text)."""
    fast = _docx_body_text(data)
    if fast is not None:
        return fast
    import docx

    document = docx.Document(io.BytesIO(data))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append("\t".join(cell.text for cell in row.cells))
    return "\n".join(parts)


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_OFFICE_DOCUMENT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
_MERGES = (f".//{_W}gridSpan", f".//{_W}vMerge", f".//{_W}gridBefore", f".//{_W}gridAfter")


def _docx_body_text(data: bytes) -> str | None:
    """The text :func:`_docx` gets from python-docx, read from the main document part alone; ``None`` when the
    document needs python-docx (tables with merged or offset cells, an unusual package).

    python-docx builds its whole object model first (styles, numbering, settings, theme: about 12 ms for a one-page
    letter); reading the one XML part takes well under a millisecond. It follows python-docx's rules exactly: a
    paragraph is its direct runs and hyperlinks' runs; a run is its ``w:t`` text, ``w:tab``/``w:ptab`` as a tab,
    ``w:cr`` and text-wrapping ``w:br`` as a new line, ``w:noBreakHyphen`` as ``-``; a cell is its paragraphs,
    one per line (tests/test_files.py compares the two on every kind of content).
    """
    from lxml import etree

    parser = etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True)
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        rels = etree.fromstring(package.read("_rels/.rels"), parser)
        targets = [r.get("Target", "") for r in rels if r.get("Type") == _OFFICE_DOCUMENT]
        if len(targets) != 1:
            return None
        root = etree.fromstring(package.read(targets[0].lstrip("/")), parser)
    body = root.find(f"{_W}body")
    if body is None or any(body.find(path) is not None for path in _MERGES):
        return None
    parts = [_docx_paragraph(p) for p in body.iterchildren(f"{_W}p")]
    for table in body.iterchildren(f"{_W}tbl"):
        for row in table.iterchildren(f"{_W}tr"):
            parts.append("\t".join("\n".join(_docx_paragraph(p) for p in cell.iterchildren(f"{_W}p"))
                                    for cell in row.iterchildren(f"{_W}tc")))
    return "\n".join(parts)


_RUN_TEXT = {f"{_W}tab": "\t", f"{_W}ptab": "\t", f"{_W}cr": "\n", f"{_W}noBreakHyphen": "-"}


def _docx_paragraph(paragraph: Any) -> str:
    out: list[str] = []
    for child in paragraph.iterchildren(f"{_W}r", f"{_W}hyperlink"):
        runs = [child] if child.tag == f"{_W}r" else child.iterchildren(f"{_W}r")
        for run in runs:
            out.extend(_run_piece(el) for el in run)
    return "".join(out)


def _run_piece(el: Any) -> str:
    """Text of one child of a run, as python-docx renders it (anything else: nothing)."""
    if el.tag == f"{_W}t":
        return el.text or ""
    if el.tag == f"{_W}br":
        return "\n" if el.get(f"{_W}type", "textWrapping") == "textWrapping" else ""
    return _RUN_TEXT.get(el.tag, "")


# Spreadsheets go through calamine (Rust) when it can be held to a bounded size, else openpyxl. openpyxl spends about
# 4-7 ms setting up styles and workbook objects for even a one-table annex (the replica's: 4.3 ms against 0.1 ms),
# but it streams rows, while calamine builds each sheet's whole used range in memory, empty cells included: a 5 KB
# file with cells in A1 and ZZ200000 made it allocate 4.3 GB. So calamine only gets a workbook whose XML inflates
# (measured by inflating it, not by the sizes the zip claims) to at most CALAMINE_MAX_XML bytes, whose every cell
# states its position, and whose sheets span at most CALAMINE_MAX_CELLS rows x columns.
CALAMINE_MAX_XML = 8 * 1024 * 1024
CALAMINE_MAX_CELLS = 2_000_000
_CELL_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c[\s/>]")
_CELL_REF = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c\s[^>]*?(?<=\s)r=[\"']([A-Z]{1,3})([0-9]{1,7})[\"']")


def _xlsx(data: bytes) -> str:
    return _xlsx_calamine(data) if _calamine_fits(data) else _xlsx_openpyxl(data)


def _calamine_fits(data: bytes) -> bool:
    """Whether calamine may read the OOXML workbook ``data`` (see :data:`CALAMINE_MAX_XML`)."""
    total = 0
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        for info in book.infolist():
            if not info.filename.endswith(".xml"):
                continue
            sheet = info.filename.startswith("xl/worksheets/")  # kept for the cell references; the rest is counted
            chunks = []
            with book.open(info) as part:
                while chunk := part.read(1 << 20):
                    total += len(chunk)
                    if total > CALAMINE_MAX_XML:
                        return False
                    if sheet:
                        chunks.append(chunk)
            if sheet and not _sheet_fits(b"".join(chunks)):
                return False
    return True


def _sheet_fits(xml: bytes) -> bool:
    refs = _CELL_REF.findall(xml)
    if len(refs) != len(_CELL_TAG.findall(xml)):
        return False  # a cell without its position: the range cannot be told from the references
    if not refs:
        return True
    rows = [int(row) for _col, row in refs]
    cols = [_column_number(col) for col, _row in refs]
    return (max(rows) - min(rows) + 1) * (max(cols) - min(cols) + 1) <= CALAMINE_MAX_CELLS


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))  # calamine reads every number as a float: 336, not 336.0, as the sheet shows it
    return str(value)


def _xlsx_calamine(data: bytes) -> str:
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_filelike(io.BytesIO(data))

    def rows(sheet: Any) -> Iterator[list[str]]:
        lead = [""] * (sheet.start[1] if sheet.start else 0)  # columns before the used range, as openpyxl keeps
        for row in sheet.iter_rows():
            yield lead + [_cell(v) for v in row]

    def sheets() -> Iterator[tuple[str, Iterator[list[str]]]]:
        for name in book.sheet_names:
            yield name, rows(book.get_sheet_by_name(name))

    try:
        return _sheets_text(sheets())
    finally:
        book.close()


def _xlsx_openpyxl(data: bytes) -> str:
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        return _sheets_text((sheet.title, (["" if v is None else str(v) for v in row]
                                           for row in sheet.iter_rows(values_only=True)))
                            for sheet in book.worksheets)
    finally:
        book.close()


def _sheets_text(sheets: Iterable[tuple[str, Iterable[list[str]]]]) -> str:
    """``# <sheet>`` then one tab-separated line per non-empty row, stopping after :data:`MAX_CELLS` cells."""
    parts: list[str] = []
    cells = 0
    for name, rows in sheets:
        parts.append(f"# {name}")
        for values in rows:
            cells += len(values)
            if any(values):
                parts.append("\t".join(values).rstrip("\t"))
            if cells >= MAX_CELLS:
                return "\n".join(parts)
    return "\n".join(parts)


def _legacy_doc(data: bytes) -> str:
    """antiword (knows Word 97-2003 layout), else catdoc; both print cp1252 bytes as UTF-8, hygiene does TCVN3."""
    tools = [[tool, *args] for tool, args in (("antiword", ["-m", "UTF-8.txt", "-w", "0"]), ("catdoc", ["-d", "utf-8"]))
             if shutil.which(tool)]
    if not tools:
        raise TextExtractionError("neither antiword nor catdoc is installed (Debian packages; see `make setup`)")
    errors = []
    with tempfile.NamedTemporaryFile(suffix=".doc") as fh:
        fh.write(data)
        fh.flush()
        for cmd in tools:
            text, error = _tool_output(cmd, fh.name)
            if text is not None:
                return text
            errors.append(error)
    raise TextExtractionError("; ".join(errors))


def _tool_output(cmd: list[str], path: str) -> tuple[str | None, str]:
    """``(stdout, "")`` of ``cmd path`` (UTF-8) when it exits 0 with some text within :data:`TOOL_TIMEOUT`, else
    ``(None, why)`` naming the tool."""
    try:
        done = subprocess.run([*cmd, path], capture_output=True, timeout=TOOL_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        return None, f"{cmd[0]}: timed out"
    text = done.stdout.decode("utf-8", "replace")
    if done.returncode == 0 and text.strip():
        return text, ""
    return None, f"{cmd[0]}: {done.stderr.decode('utf-8', 'replace').strip()[:200] or 'no text'}"


_SHEET_BREAK = "\f#sheet#\f"


def _legacy_xls(data: bytes) -> str:
    """Text of an Excel 97-2003 workbook through ``xls2csv`` (Debian's catdoc package), one tab-separated line per
    row, ``# Sheet N`` before each sheet.

    Not calamine, which reads .xls too: it builds each sheet's whole used range in memory, and a BIFF sheet may
    claim 65,536 x 256 cells with two cell records (half a gigabyte inside the crawler; see ``_calamine_fits`` for
    the same trap in XLSX, where the range can be checked first). xls2csv streams the records in a process of its
    own, under :data:`TOOL_TIMEOUT`. It prints no sheet names and dates in custom formats as day numbers."""
    if not shutil.which("xls2csv"):
        raise TextExtractionError("xls2csv is not installed (Debian package catdoc; see `make setup`)")
    with tempfile.NamedTemporaryFile(suffix=".xls") as fh:
        fh.write(data)
        fh.flush()
        text, error = _tool_output(["xls2csv", "-d", "utf-8", "-q", "0", "-c", "\t", "-b", _SHEET_BREAK], fh.name)
    if text is None:
        raise TextExtractionError(error)
    sheets = text.split(_SHEET_BREAK)
    if not sheets[-1].strip():
        sheets.pop()  # xls2csv ends every sheet with the break
    return _sheets_text((f"Sheet {number}", (line.split("\t") for line in sheet.splitlines()))
                        for number, sheet in enumerate(sheets, start=1))


READERS: dict[str, Callable[[bytes], str]] = {
    "application/pdf": _pdf,
    DOCX: _docx,
    XLSX: _xlsx,
    XLS: _legacy_xls,
    **dict.fromkeys(LEGACY_DOC, _legacy_doc),
}


def can_extract(mime: str | None) -> bool:
    """Whether :func:`extract_text` reads files of this (sniffed) type."""
    return (mime or "") in READERS or (mime or "") == "application/zip"


def extract_text(data: bytes, mime: str | None) -> str | None:
    """Clean text of a file of type ``mime``; ``None`` for types without text. Raises TextExtractionError."""
    mime = mime or ""
    if mime == "application/zip":  # libmagic names some OOXML files plain zip: look inside
        mime = _ooxml_kind(data) or mime
    reader = READERS.get(mime)
    if reader is None:
        return None
    try:
        raw = reader(data)
    except TextExtractionError:
        raise
    except Exception as exc:
        raise TextExtractionError(f"{type(exc).__name__}: {exc}") from exc
    return clean_multiline(raw[:MAX_CHARS]) or ""


def _ooxml_kind(data: bytes) -> str | None:
    try:
        names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    except zipfile.BadZipFile:
        return None
    if "word/document.xml" in names:
        return DOCX
    if "xl/workbook.xml" in names:
        return XLSX
    return None
