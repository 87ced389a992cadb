"""How the replica's committed sample files were made (run by hand; needs LibreOffice: Debian libreoffice-writer-nogui).

* ``cong-van-tcvn3.doc``: a Word 97-2003 file typed in TCVN3 (the ABC ``.VnTime`` font), as old attachments of
  Vietnamese government portals are: the characters stored are the Latin-1 code points of TCVN3, which only the
  font turns into Vietnamese. Text extractors (antiword, catdoc) print them as ``Céng hoµ``; govarchive's text hygiene
  converts them back.
* ``quyet-dinh.pdf``: a one-page Unicode PDF (Liberation Serif, embedded subset), as LibreOffice exports it.

    python govarchive/replica/files/make_files.py   # writes both files next to this script
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from portal_spiders.text import _TCVN3_MAP

HERE = Path(__file__).resolve().parent

DOC_LINES = [
    "Uỷ ban nhân dân tỉnh Lai Châu",
    "Cộng hoà xã hội chủ nghĩa Việt Nam",
    "Độc lập - Tự do - Hạnh phúc",
    "Số: 215/UBND-VX",
    "V/v hướng dẫn triển khai công tác cải cách hành chính",
    "Lai Châu, ngày 22 tháng 11 năm 2002",
    "Kính gửi: các sở, ban, ngành tỉnh; Uỷ ban nhân dân các huyện, thị xã.",
    "Thực hiện chỉ đạo của Uỷ ban nhân dân tỉnh về đẩy mạnh cải cách hành chính, nâng cao chất lượng phục vụ "
    "người dân và doanh nghiệp, Uỷ ban nhân dân tỉnh đề nghị các cơ quan, đơn vị rà soát thủ tục hành chính "
    "thuộc thẩm quyền giải quyết, báo cáo kết quả trước ngày 15 tháng 12 năm 2002.",
    "Nơi nhận: như trên; lưu văn thư.",
]
PDF_LINES = [
    "ỦY BAN NHÂN DÂN TỈNH LAI CHÂU",
    "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM — Độc lập - Tự do - Hạnh phúc",
    "QUYẾT ĐỊNH",
    "Về việc phê duyệt kế hoạch chuyển đổi số năm 2026",
    "Điều 1. Phê duyệt kế hoạch chuyển đổi số của tỉnh năm 2026 kèm theo Quyết định này.",
    "Điều 2. Các sở, ban, ngành và Ủy ban nhân dân các xã, phường chịu trách nhiệm thi hành Quyết định này.",
    "Quyết định có hiệu lực kể từ ngày ký.",
]


def to_tcvn3(text: str) -> str:
    """Unicode Vietnamese as the Latin-1 code points TCVN3 stores (uppercase accented letters do not exist)."""
    reverse = {v: k for k, v in _TCVN3_MAP.items()}
    return "".join(reverse.get(ch, ch) for ch in text)


def _convert(html: str, target: str, out_name: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "source.html"
        src.write_text(html, encoding="utf-8")
        subprocess.run(["soffice", "--headless", "--infilter=HTML (StarWriter)", "--convert-to", target, "--outdir",
                        tmp, str(src)], check=True, capture_output=True)
        produced = next(p for p in Path(tmp).iterdir() if p.suffix != ".html")
        (HERE / out_name).write_bytes(produced.read_bytes())


def _keep_tcvn3_u(path: Path, first: str, last: str) -> None:
    """TCVN3 stores ư as 0xAD, which LibreOffice takes for a soft hyphen and writes as Word's optional hyphen
    (0x001F); Word itself keeps a typed 0xAD. Put 0xAD back inside the (UTF-16) text, nowhere else."""
    data = bytearray(path.read_bytes())
    def stored(line: str) -> bytes:
        return to_tcvn3(line).replace("\xad", "\x1f").encode("utf-16-le")

    start = data.find(stored(first))
    end = data.find(stored(last), start) + len(stored(last))
    assert 0 <= start < end
    data[start:end] = bytes(data[start:end]).replace(b"\x1f\x00", b"\xad\x00")
    path.write_bytes(bytes(data))


def main() -> None:
    doc_body = "".join(f"<p>{to_tcvn3(line)}</p>" for line in DOC_LINES)
    _convert(f'<html><body style="font-family:.VnTime">{doc_body}</body></html>', 'doc:MS Word 97',
             "cong-van-tcvn3.doc")
    _keep_tcvn3_u(HERE / "cong-van-tcvn3.doc", DOC_LINES[0], DOC_LINES[-1])
    pdf_body = "".join(f"<p>{line}</p>" for line in PDF_LINES)
    _convert(f'<html><head><meta charset="utf-8"></head><body style="font-family:Liberation Serif">{pdf_body}'
             "</body></html>", "pdf:writer_pdf_Export", "quyet-dinh.pdf")


if __name__ == "__main__":
    main()
