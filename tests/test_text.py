"""Tests for portal_spiders.text (offline, fast)."""

from __future__ import annotations

import hashlib
import unicodedata

import pytest

from portal_spiders.text import clean_multiline, clean_text, content_hash, fix_encoding, fold, nfc

SENTENCES = [
    "Cộng hòa xã hội chủ nghĩa Việt Nam",
    "Độc lập - Tự do - Hạnh phúc",
    "Quyết định của Thủ tướng Chính phủ về việc phê duyệt đề án",
    "Ủy ban nhân dân thành phố Hà Nội tổ chức hội nghị tổng kết năm 2023",
    "Thứ Sáu, 22/03/2024 - 20:36 | Lượt xem: 1234",
]


def _sloppy_decode(raw: bytes, codec: str) -> str:
    """Decode like a browser does: bytes the code page leaves undefined become C1 controls."""
    return "".join(
        raw[i : i + 1].decode(codec, errors="ignore") or chr(raw[i]) for i in range(len(raw))
    )


# -- NFC, invisible characters, whitespace --------------------------------------------------------------


def test_nfc() -> None:
    nfd = unicodedata.normalize("NFD", "Hà Nội")
    assert nfd != "Hà Nội"
    assert nfc(nfd) == "Hà Nội"
    assert nfc("plain ascii") == "plain ascii"
    assert clean_text(nfd) == "Hà Nội"


def test_clean_text_invisible_and_spaces() -> None:
    raw = "\ufeff Thứ\u00a0Sáu,\u202f22/03/2024\u200b - 20:36\u200d\n\t(GMT+7)\u2060  "
    assert clean_text(raw) == "Thứ Sáu, 22/03/2024 - 20:36 (GMT+7)"
    assert clean_text("a\u2009b\u3000c\r\nd") == "a b c d"
    assert clean_text(None) is None
    assert clean_text("   ") == ""


def test_clean_text_entities() -> None:
    assert clean_text("2026-09-05T13:30:00&#x2B;07:00") == "2026-09-05T13:30:00+07:00"
    assert clean_text("Hà N&#7897;i &amp; Đà Nẵng") == "Hà Nội & Đà Nẵng"
    assert clean_text("AT&T R&D") == "AT&T R&D"  # no entity pattern: left alone


def test_clean_multiline_keeps_paragraphs() -> None:
    raw = "  Đoạn  một,\u00a0dòng 1 \r\n dòng 2\n\n\n\n Đoạn hai\u200b \n\n  \n"
    assert clean_multiline(raw) == "Đoạn một, dòng 1\ndòng 2\n\nĐoạn hai"
    assert clean_multiline("a\u2029b\u2028c") == "a\n\nb\nc"
    assert clean_multiline(None) is None
    assert clean_multiline("\n\n  \n") == ""


# -- mojibake ---------------------------------------------------------------------------------------------


def test_mojibake_cp1252() -> None:
    assert fix_encoding("Thá»© SÃ¡u, 22/03/2024") == "Thứ Sáu, 22/03/2024"
    for s in SENTENCES:
        broken = _sloppy_decode(s.encode("utf-8"), "cp1252")
        assert broken != s
        assert nfc(fix_encoding(broken)) == s
        assert clean_text(broken) == s


def test_mojibake_cp1258() -> None:
    assert fix_encoding("HĂ\xa0 Ná»™i") == "Hà Nội"
    for s in SENTENCES:
        broken = _sloppy_decode(s.encode("utf-8"), "cp1258")
        assert broken != s
        assert fix_encoding(broken) == s, broken


# -- legacy encodings ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("legacy", "unicode"),
    [
        ("Céng hoµ x· héi chñ nghÜa ViÖt Nam", "Cộng hoà xã hội chủ nghĩa Việt Nam"),
        ("§éc lËp - Tù do - H¹nh phóc", "Độc lập - Tự do - Hạnh phúc"),
        ("Hµ néi, ngµy 22 th¸ng 11 n¨m 2002", "Hà nội, ngày 22 tháng 11 năm 2002"),
        ("QuyÕt ®Þnh cña Bé tr\u00adëng Bé Tµi chÝnh", "Quyết định của Bộ trưởng Bộ Tài chính"),
        ("Thñ t−íng ChÝnh phñ", "Thủ tướng Chính phủ"),  # PDF text layer: U+2212 for ư
    ],
)
def test_tcvn3(legacy: str, unicode: str) -> None:
    assert fix_encoding(legacy) == unicode
    assert clean_text(legacy) == unicode


@pytest.mark.parametrize(
    ("legacy", "unicode"),
    [
        ("Coäng hoøa xaõ hoäi chuû nghóa Vieät Nam", "Cộng hòa xã hội chủ nghĩa Việt Nam"),
        ("Ñoäc laäp - Töï do - Haïnh phuùc", "Độc lập - Tự do - Hạnh phúc"),
        ("ÑAÛNG COÄNG SAÛN VIEÄT NAM", "ĐẢNG CỘNG SẢN VIỆT NAM"),
        ("UÛy ban nhaân daân thaønh phoá Hoà Chí Minh", "Ủy ban nhân dân thành phố Hồ Chí Minh"),
    ],
)
def test_vni(legacy: str, unicode: str) -> None:
    assert fix_encoding(legacy) == unicode


@pytest.mark.parametrize(
    "text",
    [
        *SENTENCES,
        "The Prime Minister visited Ha Noi on 22 March 2024.",
        "café", "µm", "½", "5 µm × 3 µm", "naïve résumé, déjà vu", "Größe Noël naïve año señor",
        "¿Qué pasa? Él está aquí", "Copyright © 2024 Acme® «Bonjour»", "Prix: 5 € — très élevé, façade",
        "São Paulo, Zürich, Ångström, Þórr, Ørsted, Æsir",
        "Hµ",  # a lone fragment is too little evidence to convert
        "Đà Nẵng, Thừa Thiên Huế, Bà Rịa – Vũng Tàu",
        "“Chào” ‘bạn’ – … •",
    ],
)
def test_plain_text_unchanged(text: str) -> None:
    assert fix_encoding(text) == text
    assert clean_text(text) == text


# -- folding and hashing ---------------------------------------------------------------------------------


def test_fold() -> None:
    assert fold("Đà Nẵng") == "da nang"
    assert fold("ĐỘC LẬP") == "doc lap"
    assert fold("Quyết định") == "quyet dinh"
    assert fold(unicodedata.normalize("NFD", "Thủ tướng")) == "thu tuong"
    assert fold("đường Điện Biên Phủ") == "duong dien bien phu"
    assert fold("ASCII Text") == "ascii text"


def test_content_hash_stability() -> None:
    base = content_hash("Hà Nội", "Thủ tướng  chỉ đạo\n")
    # Pinned: archives store this hash, and a changed recipe would turn every archived article into an "edit".
    assert base == hashlib.sha1("Hà Nội\x1fThủ tướng chỉ đạo".encode()).hexdigest()
    assert content_hash(unicodedata.normalize("NFD", "Hà Nội"), "Thủ tướng chỉ đạo") == base
    assert content_hash(" Hà\u00a0Nội ", "Thủ\ttướng\n\nchỉ đạo") == base
    assert content_hash("Hà Nội", "Thủ tướng chỉ đạo khác") != base
    assert content_hash("ab", "c") != content_hash("a", "bc")
    assert content_hash(None, "x") == content_hash("", "x")
    assert content_hash("x", None) != content_hash("x")


def test_document_number_key_links_spellings_of_one_number() -> None:
    from portal_spiders.text import document_number_key

    assert document_number_key("1009/QĐ-UBND") == "1009/QD-UBND"
    assert document_number_key(" 1009 / qđ-ubnd ") == "1009/QD-UBND"
    assert document_number_key("15/2024/NĐ-CP") == document_number_key("15/2024/nd-cp") == "15/2024/ND-CP"
    assert document_number_key("") is None
    assert document_number_key(None) is None


def test_every_unicode_space_is_collapsed() -> None:
    spaces = [c for c in map(chr, range(0x110000)) if c.isspace()]
    assert {"\u00a0", "\u202f", "\u3000", "\u2009"} <= set(spaces)
    for c in spaces:
        assert clean_text(f" a{c}{c}b{c}") == "a b", hex(ord(c))
        if c not in "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029":  # line and paragraph breaks are kept as such
            assert clean_multiline(f"{c}a{c}{c}b{c}\n\nc") == "a b\n\nc", hex(ord(c))
    assert content_hash("a\u00a0 b") == content_hash(" a\u3000b\n")
