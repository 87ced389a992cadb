"""Legal-document numbers cited in article text: ``1009/QĐ-UBND``, ``15/2024/NĐ-CP``, ``20/2023/QH15``, ``18-NQ/TW``.

Vietnamese legal documents carry a *số ký hiệu*: a number, often the year, then the document-type code and the
issuer code (Decree 30/2020/NĐ-CP on document formats). :func:`extract_citations` finds them in text typed with or
without diacritics and in any case (``15/2024/nd-cp``), and returns the number as printed, its linking key
(``portal_spiders.text.document_number_key``, the same key as ``documents.number_key``), the type and the issuer.

A match must carry a known type code (``QĐ``, ``NĐ``, ``TT``...) or, for official letters (*công văn*, numbered
``123/UBND-KT``), a known issuer code first, so dates (``12/2/2024``) and fractions never match.

Pure text: no SQL (``govarchive.archive`` stores the rows), no Scrapy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from portal_spiders.text import document_number_key, fold

# Folded upper-case type code -> type name (Decree 30/2020/NĐ-CP, appendix III; Party documents: Quy định 66-QĐ/TW).
DOC_TYPES = {
    "QD": "Quyết định", "ND": "Nghị định", "TT": "Thông tư", "TTLT": "Thông tư liên tịch", "CT": "Chỉ thị",
    "NQ": "Nghị quyết", "NQLT": "Nghị quyết liên tịch", "KH": "Kế hoạch", "TB": "Thông báo", "HD": "Hướng dẫn",
    "BC": "Báo cáo", "TTR": "Tờ trình", "QC": "Quy chế", "QYD": "Quy định", "KL": "Kết luận", "PL": "Pháp lệnh",
    "CD": "Công điện", "DA": "Đề án", "CTR": "Chương trình", "VBHN": "Văn bản hợp nhất", "L": "Luật",
    "LCT": "Lệnh", "BB": "Biên bản", "GM": "Giấy mời", "PA": "Phương án", "DAN": "Dự án",
}
# Folded upper-case issuer codes that start an official letter's number (123/UBND-KT) or end other numbers.
ISSUERS = {
    "CP": "Chính phủ", "TTG": "Thủ tướng Chính phủ", "UBND": "Ủy ban nhân dân", "HDND": "Hội đồng nhân dân",
    "TW": "Ban Chấp hành Trung ương", "TU": "Tỉnh ủy", "THU": "Thành ủy", "HU": "Huyện ủy",
    "VPCP": "Văn phòng Chính phủ",
    "BTC": "Bộ Tài chính", "BNV": "Bộ Nội vụ", "BYT": "Bộ Y tế", "BCT": "Bộ Công Thương", "BCA": "Bộ Công an",
    "BQP": "Bộ Quốc phòng", "BGDDT": "Bộ Giáo dục và Đào tạo", "BTNMT": "Bộ Tài nguyên và Môi trường",
    "BNNPTNT": "Bộ Nông nghiệp và Phát triển nông thôn", "BGTVT": "Bộ Giao thông vận tải", "BXD": "Bộ Xây dựng",
    "BTP": "Bộ Tư pháp", "BKHDT": "Bộ Kế hoạch và Đầu tư", "BTTTT": "Bộ Thông tin và Truyền thông",
    "BLDTBXH": "Bộ Lao động - Thương binh và Xã hội", "BVHTTDL": "Bộ Văn hóa, Thể thao và Du lịch",
    "BKHCN": "Bộ Khoa học và Công nghệ", "BNG": "Bộ Ngoại giao", "NHNN": "Ngân hàng Nhà nước",
    "TTCP": "Thanh tra Chính phủ",
    "UBDT": "Ủy ban Dân tộc", "VPUBND": "Văn phòng UBND", "SNV": "Sở Nội vụ", "STC": "Sở Tài chính",
}
_QH = re.compile(r"(?:UBTV)?QH\d{0,2}")

_CODE = r"[A-Za-zĐđ][A-Za-zĐđ0-9]{0,11}"
_PATTERN = re.compile(
    r"(?<![\w/.-])(?:"
    rf"(?P<n1>\d{{1,5}})/(?P<y1>(?:19|20)\d\d)/(?P<t1>{_CODE})-(?P<i1>{_CODE}(?:-{_CODE}){{0,3}})"  # 15/2024/NĐ-CP
    rf"|(?P<n2>\d{{1,5}})/(?P<y2>(?:19|20)\d\d)/(?P<i2>(?:UBTV)?QH\d{{0,2}})"  # 20/2023/QH15 (laws)
    rf"|(?P<n3>\d{{1,5}})/(?P<t3>{_CODE})-(?P<i3>{_CODE}(?:-{_CODE}){{0,3}})"  # 1009/QĐ-UBND, 123/UBND-KT
    rf"|(?P<n4>\d{{1,5}})-(?P<t4>{_CODE})/(?P<i4>{_CODE})"  # 18-NQ/TW (Party documents)
    r")(?![\w-]|/\w)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Citation:
    """One document number cited in a text."""

    number: str  # as printed
    number_key: str  # document_number_key(number): links to documents.number_key
    doc_type_code: str | None  # folded, upper case: "QD"
    doc_type: str | None  # "Quyết định"
    issuer_code: str | None  # folded, upper case: "UBND", "CP", "QH15"
    year: int | None
    occurrences: int = 1
    position: int = 0  # offset of the first occurrence


def _code(value: str | None) -> str:
    return fold(value or "").upper()


def _parse(match: re.Match[str]) -> Citation | None:
    g = match.groupdict()
    number = match.group(0)
    if g["n1"]:
        type_code, issuer, year = _code(g["t1"]), _code(g["i1"]).split("-")[0], int(g["y1"])
        if type_code not in DOC_TYPES:
            return None
    elif g["n2"]:
        type_code, issuer, year = None, _code(g["i2"]), int(g["y2"])
        if not _QH.fullmatch(issuer):
            return None
    elif g["n3"]:
        first, rest = _code(g["t3"]), _code(g["i3"]).split("-")[0]
        year = None
        if first in DOC_TYPES:
            type_code, issuer = first, rest
        elif first in ISSUERS or _QH.fullmatch(first):
            type_code, issuer = "CV", first  # công văn: issuer, then the drafting unit
        else:
            return None
    else:
        type_code, issuer, year = _code(g["t4"]), _code(g["i4"]), None
        if type_code not in DOC_TYPES:
            return None
    key = document_number_key(number)
    if not key:
        return None
    name = "Công văn" if type_code == "CV" else DOC_TYPES.get(type_code or "")
    if type_code is None and issuer.startswith(("QH", "UBTVQH")):
        name = None  # a law or a resolution: the number alone does not say which
    return Citation(number=number, number_key=key, doc_type_code=type_code, doc_type=name, issuer_code=issuer or None,
                    year=year, position=match.start())


def extract_citations(*texts: str | None) -> list[Citation]:
    """Document numbers cited in ``texts``, once each (by linking key), in order of first appearance."""
    found: dict[str, Citation] = {}
    offset = 0
    for text in texts:
        if not text:
            continue
        for match in _PATTERN.finditer(text):
            citation = _parse(match)
            if citation is None:
                continue
            if citation.doc_type is None and citation.issuer_code:
                # 20/2023/QH15: the National Assembly's numbers say "law" or "resolution" only in the words before
                before = fold(text[max(0, match.start() - 24):match.start()])
                if "luat" in before:
                    citation = Citation(**{**citation.__dict__, "doc_type_code": "L", "doc_type": "Luật"})
                elif "nghi quyet" in before:
                    citation = Citation(**{**citation.__dict__, "doc_type_code": "NQ", "doc_type": "Nghị quyết"})
            seen = found.get(citation.number_key)
            if seen is None:
                found[citation.number_key] = Citation(**{**citation.__dict__, "position": offset + citation.position})
            else:
                found[citation.number_key] = Citation(**{**seen.__dict__, "occurrences": seen.occurrences + 1})
        offset += len(text) + 1
    return list(found.values())
