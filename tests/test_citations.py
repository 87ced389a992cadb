"""Legal-document numbers cited in articles: extraction, storage at store time, linking to document pages."""

from __future__ import annotations

from pathlib import Path

import pytest

from govarchive.archive import Archive
from govarchive.citations import extract_citations


@pytest.mark.parametrize("text, number, key, doc_type, issuer, year", [
    ("theo Quyết định số 1009/QĐ-UBND ngày 5/3", "1009/QĐ-UBND", "1009/QD-UBND", "Quyết định", "UBND", None),
    ("Nghị định 15/2024/NĐ-CP.", "15/2024/NĐ-CP", "15/2024/ND-CP", "Nghị định", "CP", 2024),
    ("nghi dinh 15/2024/nd-cp", "15/2024/nd-cp", "15/2024/ND-CP", "Nghị định", "CP", 2024),  # typed without marks
    ("Chỉ thị 45/CT-TTg của Thủ tướng", "45/CT-TTg", "45/CT-TTG", "Chỉ thị", "TTG", None),
    ("Thông tư liên tịch 05/2023/TTLT-BTC-BNV", "05/2023/TTLT-BTC-BNV", "05/2023/TTLT-BTC-BNV",
     "Thông tư liên tịch", "BTC", 2023),
    ("Luật Đất đai số 31/2024/QH15", "31/2024/QH15", "31/2024/QH15", "Luật", "QH15", 2024),
    ("Nghị quyết số 18-NQ/TW của Ban Chấp hành", "18-NQ/TW", "18-NQ/TW", "Nghị quyết", "TW", None),
    ("Công văn 123/UBND-KT về việc", "123/UBND-KT", "123/UBND-KT", "Công văn", "UBND", None),
])
def test_document_numbers_are_recognised(text, number, key, doc_type, issuer, year) -> None:
    [c] = extract_citations(text)
    assert (c.number, c.number_key, c.doc_type, c.issuer_code, c.year) == (number, key, doc_type, issuer, year)


@pytest.mark.parametrize("text", ["ngày 12/2/2024", "tỷ lệ 1/2", "phòng 3/4-A", "mã 12/ABC-XYZ", "x/QĐ-UBND",
                                  "ngày 01/2024/15"])
def test_dates_fractions_and_codes_are_not_citations(text: str) -> None:
    assert extract_citations(text) == []


def test_one_row_per_document_with_its_count_and_first_position() -> None:
    found = extract_citations("Căn cứ 15/2024/NĐ-CP", "Theo Nghị định 15/2024/nd-cp và 1009/QĐ-UBND")
    assert [(c.number_key, c.occurrences) for c in found] == [("15/2024/ND-CP", 2), ("1009/QD-UBND", 1)]
    assert found[0].position == 7 and found[1].position > len("Căn cứ 15/2024/NĐ-CP")


def test_citations_are_stored_updated_and_linked_to_document_pages(tmp_path: Path) -> None:
    a = Archive(tmp_path / "a.db")
    a.store_article({"url": "https://x/tin", "portal": "hanoi", "title": "Triển khai Quyết định 1009/QĐ-UBND",
                     "body_text": "Theo Nghị định 15/2024/NĐ-CP.", "published": "2024-05-01"}, content_hash="1")
    a.store_article({"url": "https://x/vb", "portal": "hanoi", "title": "Quyết định 1009/QĐ-UBND về quy hoạch",
                     "published": "2024-04-01"}, content_hash="2")
    a.db["documents"].insert({"article_id": 2, "number": "1009/QĐ-UBND", "number_key": "1009/QD-UBND"})
    a.commit()
    cited = {c["number_key"]: c for c in a.citations(1)}
    assert set(cited) == {"1009/QD-UBND", "15/2024/ND-CP"}
    assert cited["1009/QD-UBND"]["document_article_id"] == 2 and cited["15/2024/ND-CP"]["document_article_id"] is None
    a.store_article({"url": "https://x/tin", "portal": "hanoi", "title": "Triển khai kế hoạch",
                     "body_text": "Theo Kế hoạch 77/KH-UBND.", "published": "2024-05-01"}, content_hash="3")
    a.commit()
    assert [c["number"] for c in a.citations(1)] == ["77/KH-UBND"]  # replaced with the new version's
    a.close()
