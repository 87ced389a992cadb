"""Full-text search: Vietnamese folding, exact-first ranking, hostile input, filters, phrases, index upkeep.

Every test runs on both engines (the Tantivy index beside the archive, and SQLite FTS5): same matches, totals and
pages."""

from __future__ import annotations

import itertools
import json
import re
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govarchive import search as search_module
from govarchive import searchtext
from govarchive.archive import FTS_EXACT, FTS_FOLDED, Archive, fold_text, search_key
from govarchive.search import expressions, highlight, make_snippet, parse_query, search
from tests.conftest import clean_env

ROOT = Path(__file__).resolve().parent.parent

ARTICLES = [
    # (slug, portal, title, body, published, tags, author)
    ("hn-ubnd", "hanoi", "Ủy ban nhân dân thành phố Hà Nội họp phiên thường kỳ",
     "Thành phố Hà Nội tổng kết công tác tháng.", "2024-03-01T08:00:00+07:00", ["Hà Nội"], "Minh Đức"),
    ("dn-nhiemvu", "danang", "Thành phố Đà Nẵng triển khai nhiệm vụ năm 2024",
     "Đà Nẵng tập trung chuyển đổi số.", "2024-02-10T09:30:00+07:00", ["Đà Nẵng", "Chuyển đổi số"], "Thu Hà"),
    ("qd-botruong", "chinhphu", "Quyết định của Bộ trưởng về thủ tục hành chính",
     "Ban hành kèm theo Nghị định số 15/2024/NĐ-CP ngày 12/2/2024.", "2024-02-12T10:00:00+07:00", [], None),
    ("dienbien", "dienbien", "Điện Biên Phủ đón khách du lịch",
     "Du khách tham quan di tích Điện Biên Phủ.", "2023-05-07T07:00:00+07:00", ["Du lịch"], "Ngọc Lan"),
    ("gpmb", "hanoi", "Đẩy nhanh giải phóng mặt bằng dự án Vành đai 4",
     "Các quận huyện đẩy nhanh tiến độ giải phóng mặt bằng, bàn giao đất sạch.", "2024-06-20T15:00:00+07:00",
     ["Giải phóng mặt bằng"], "Minh Đức"),
    ("scattered", "danang", "Mặt trận giải thích chính sách",
     "Giải quyết kiến nghị, phóng viên ghi nhận mặt bằng giá.", "2024-06-21T15:00:00+07:00", [], None),
    ("ha-noi-plain", "baochinhphu", "Ha Noi mua dong (ban khong dau)",
     "Ha Noi troi lanh.", "2024-07-01T06:00:00+07:00", [], None),
    ("duong", "hanoi", "Khánh thành tuyến đường mới", "Con đường dài 5 km.", "2024-01-05T08:00:00+07:00", [], None),
    ("duong2", "danang", "Thái Bình Dương và biển Đông", "Đại dương rộng lớn.", "2024-08-05T08:00:00+07:00", [],
     None),
]

HOSTILE = [
    "", " ", '"', '""', '"""', "'", "*", "**", "-", "--", ":", "::", "^", "(", ")", "()", "((", "{", "}", "[", "]",
    "NĐ-CP", "15/2024", "15/2024/NĐ-CP", "AND", "OR", "NOT", "NEAR", "NEAR(", "NEAR(a b, 2)", "a AND", "OR b",
    "a OR OR b", "NOT NOT", "a NOT", "-a", "- a", "-", "a -", '"unbalanced phrase', 'giải "phóng', 'a"b"c',
    "title:Hà", "title : x", "{title body}: x", "col:", "*foo", "foo*", "f*", "Hà*", '"giải phóng" *', "a+b",
    "+", "a^b", "x' OR '1'='1", "'; drop table articles; --", "\\", "\x00", "\x01abc", "\u200b", "\u0301",
    "😀", "ㄱ", "a" * 5000, "word " * 500, "điều 1 khoản 2", "%", "_", "NULL", "rowid", "bm25(articles_fts)",
    "Đ", "đ-", "--đ", "\"Đà Nẵng\"*", "(Hà Nội) OR", "tiếng việt\nnhiều dòng\tvà tab",
]


def add_articles(archive: Archive, articles=ARTICLES) -> None:
    for slug, portal, title, body, published, tags, author in articles:
        archive.store_article(
            {"url": f"https://{portal}.gov.vn/{slug}", "portal": portal, "title": title, "body_text": body,
             "published": published, "tags": tags, "author": author,
             "attachments": [{"url": f"https://{portal}.gov.vn/{slug}.pdf", "name": f"Văn bản {slug}"}]},
            content_hash=f"hash-{slug}",
        )
    archive.commit()


@pytest.fixture(autouse=True, params=["tantivy", "fts5"])
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every search of the test through this engine (``tantivy`` raises rather than fall back to FTS5)."""
    real = search_module.search_engine
    monkeypatch.setattr(search_module, "search_engine",
                        lambda archive, choice="auto", **kw: real(archive, request.param, **kw))
    return request.param


@pytest.fixture
def archive(tmp_path: Path) -> Archive:
    a = Archive(tmp_path / "archive.db")
    add_articles(a)
    yield a
    a.close()


def slugs(result) -> list[str]:
    return [h.url.rsplit("/", 1)[1] for h in result.hits]


@pytest.mark.parametrize("query, expected", [
    ("Ha Noi", "hn-ubnd"), ("Hà Nội", "hn-ubnd"), ("HA NOI", "hn-ubnd"), ("hà nội", "hn-ubnd"),
    ("Da Nang", "dn-nhiemvu"), ("Đà Nẵng", "dn-nhiemvu"), ("đà nẵng", "dn-nhiemvu"), ("DA NANG", "dn-nhiemvu"),
    ("quyet dinh", "qd-botruong"), ("Quyết định", "qd-botruong"), ("QUYET DINH", "qd-botruong"),
    ("Dien Bien", "dienbien"), ("Điện Biên", "dienbien"), ("dien bien phu", "dienbien"),
    ("nhiem vu", "dn-nhiemvu"), ("thu tuc hanh chinh", "qd-botruong"),
])
@pytest.mark.parametrize("sort", ["newest", "relevance"])
def test_diacritics_optional_and_d_folded(archive: Archive, query: str, expected: str, sort: str) -> None:
    assert expected in slugs(search(archive, query, sort=sort))


def test_ascii_query_matches_both_spellings(archive: Archive) -> None:
    found = slugs(search(archive, "Ha Noi"))
    assert {"hn-ubnd", "ha-noi-plain"} <= set(found)
    assert {"duong", "duong2"} <= set(slugs(search(archive, "duong")))


@pytest.mark.parametrize("sort", ["newest", "relevance"])
def test_exact_diacritic_matches_rank_first(archive: Archive, sort: str) -> None:
    result = search(archive, "Hà Nội", sort=sort)
    found = slugs(result)
    # the unaccented "Ha Noi" article is newer, but the exact spelling wins
    assert found.index("hn-ubnd") < found.index("ha-noi-plain")
    assert result.hits[0].exact and not result.hits[found.index("ha-noi-plain")].exact
    road = slugs(search(archive, "đường", sort=sort))
    assert road[0] == "duong" and "duong2" in road  # đường (road) before dương (ocean)


def test_newest_first_follows_published_not_insertion(tmp_path: Path) -> None:
    a = Archive(tmp_path / "a.db")
    add_articles(a, [
        ("new", "p", "Tin mới về đê điều", "x", "2025-01-02T08:00:00+07:00", [], None),
        ("old", "p", "Tin cũ về đê điều", "x", "2016-01-02T08:00:00+07:00", [], None),  # backfilled later
        ("undated", "p", "Tin không ngày về đê điều", "x", None, [], None),
        ("mid", "p", "Tin giữa về đê điều", "x", "2020-01-02T08:00:00+07:00", [], None),
    ])
    assert slugs(search(a, "de dieu")) == ["new", "mid", "old", "undated"]
    assert search_key("2025-01-02T08:00:00+07:00", 1) > search_key("2016-01-02", 99)
    a.close()


# -- an independent oracle: which fixture articles a query must return -------------------------------------------

ORACLE_SEP = r"(?:[^\S\n]+|[-/.:])"  # how the index pairs syllables: spaces, or one joiner between two tokens


def oracle(archive: Archive, raw: str) -> set[str]:
    """Slugs of the articles matching ``raw``, by regular expressions over the folded texts (no FTS5 at all):
    each item's syllables adjacent, items ANDed, OR groups, exclusions; prefixes and joined words as parsed."""
    query = parse_query(raw)
    if query.empty:
        return set()
    _, _, variants = expressions(archive, query)

    def item_pattern(item) -> re.Pattern[str]:
        readings = [item.tokens]
        if not item.prefix:
            for n, token in enumerate(item.tokens):
                for split in variants.get(token, []):
                    readings.append([*item.tokens[:n], *split, *item.tokens[n + 1:]])
        alternatives = []
        for reading in readings:
            pieces = [re.escape(t) for t in reading]
            if item.prefix and len(reading[-1]) >= 3:
                pieces[-1] += r"\w*"
            alternatives.append(ORACLE_SEP.join(pieces))
        return re.compile(r"(?<![^\W_])(?:" + "|".join(alternatives) + r")(?![^\W_])")

    found = set()
    for article in archive.iter_articles():
        columns = [fold_text(article[c] or "") for c in ("title", "summary", "body_text")]
        columns.append(fold_text("\n".join(json.loads(article["tags"] or "[]"))))
        columns.append(fold_text("\n".join(f"{a['name'] or ''}\n{a['text'] or ''}"
                                           for a in archive.attachments(article["id"]))))

        def matches(item, columns=columns) -> bool:
            pattern = item_pattern(item)
            return any(pattern.search(c) for c in columns)

        if all(any(matches(i) for i in group) for group in query.groups()) and not any(
                matches(i) for i in query.items if i.negated):
            found.add(article["url"].rsplit("/", 1)[1])
    return found


def every_hit(archive: Archive, raw: str, sort: str = "newest") -> list[str]:
    """All matches, fetched page by page (also checks that the pages add up to the total)."""
    first = search(archive, raw, sort=sort, limit=3)
    out = slugs(first)
    while len(out) < first.total:
        page = search(archive, raw, sort=sort, limit=3, offset=len(out))
        assert page.total == first.total and page.hits
        out += slugs(page)
    assert len(out) == len(set(out)) == first.total
    return out


# The hostile inputs whose results are checked one by one (the full HOSTILE list is checked against the oracle).
HOSTILE_EXPECTED = [
    ('"', []), ('""', []), ("*", []), ("-", []), (":", []), ("()", []), ("AND", []), ("OR", []), ("NOT", []),
    ("NOT NOT", []), ("NEAR", []), ("NEAR(a b, 2)", []), ("title:Hà", []), ("{title body}: x", []),
    ("NĐ-CP", ["qd-botruong"]), ("15/2024", ["qd-botruong"]), ("15/2024/NĐ-CP", ["qd-botruong"]),
    ("nd-cp", ["qd-botruong"]), ('"unbalanced phrase', []), ('giải "phóng', ["gpmb", "scattered"]),
    ("x' OR '1'='1", []), ("'; drop table articles; --", []), ("\x00", []), ("😀", []), ("a" * 5000, []),
    ('"Đà Nẵng"*', ["dn-nhiemvu"]), ("Đà*", ["dn-nhiemvu"]), ("(Hà Nội) OR", ["hn-ubnd", "ha-noi-plain"]),
    ("-uy", ["hn-ubnd"]), ("ha noi -uy", ["ha-noi-plain"]), ("--đ", []), ("điều 1 khoản 2", []),
    ("tiếng việt\nnhiều dòng\tvà tab", []), ("ĐÀ    NẴNG", ["dn-nhiemvu"]), ("đà-nẵng", ["dn-nhiemvu"]),
]


@pytest.mark.parametrize("raw, expected", HOSTILE_EXPECTED)
@pytest.mark.parametrize("sort", ["newest", "relevance"])
def test_hostile_queries_give_the_right_articles(archive: Archive, raw: str, expected: list[str], sort: str) -> None:
    result = search(archive, raw, sort=sort)
    assert sorted(slugs(result)) == sorted(expected)
    assert result.total == len(expected)
    assert archive.count() == len(ARTICLES)  # nothing was dropped or written


@pytest.mark.parametrize("raw", HOSTILE)
def test_every_hostile_query_matches_the_oracle(archive: Archive, raw: str) -> None:
    folded, exact, _ = expressions(archive, parse_query(raw))
    if folded:  # the generated expressions are valid FTS5 on both indexes (search() does not hide errors)
        archive.fts_count(folded)
    if exact:
        archive.fts_count(exact, exact=True)
    assert set(every_hit(archive, raw)) == oracle(archive, raw)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.sampled_from('aăâbcdđeêghiklmnoôơpqrstuưvxyÀÁẠĐđ "*-:()^+{}[]/\\\'\nORANDNEAR'),
               max_size=40))
def test_fuzzed_queries_match_the_oracle(archive: Archive, raw: str) -> None:
    result = search(archive, raw, sort="relevance", limit=20)
    assert set(slugs(result)) == oracle(archive, raw)
    assert all(h.score is not None and h.score > 0 for h in result.hits)


@pytest.mark.parametrize("raw", ["Da Nang", "giai phong mat bang", "Hà Nội", "duong", "đường", "thanh pho",
                                 "nhiem* OR dien", "văn bản -hanoi", "danang", "hanoi"])
def test_realistic_queries_match_the_oracle_in_both_orders(archive: Archive, raw: str) -> None:
    expected = oracle(archive, raw)
    assert expected
    assert set(every_hit(archive, raw)) == expected
    assert set(every_hit(archive, raw, sort="relevance")) == expected


def test_document_numbers_are_searchable(archive: Archive) -> None:
    assert slugs(search(archive, "15/2024/NĐ-CP")) == ["qd-botruong"]
    assert slugs(search(archive, "NĐ-CP")) == ["qd-botruong"]
    assert slugs(search(archive, "nd-cp")) == ["qd-botruong"]
    assert slugs(search(archive, "15/2024/ND-CP 12/2/2024")) == []  # typed together: must be adjacent


def test_syllables_typed_together_must_be_adjacent(tmp_path: Path) -> None:
    a = Archive(tmp_path / "a.db")
    add_articles(a, [
        ("dn", "p", "Đà Nẵng đón khách", "x", "2024-01-01", [], None),
        ("false", "p", "Tỉnh đã tích cực nâng cao chất lượng", "x", "2024-01-02", [], None),  # đã … nâng
        ("apart", "p", "Nẵng lòng, đà tiến", "x", "2024-01-03", [], None),
        ("comma", "p", "Tin Đà, Nẵng", "x", "2024-01-04", [], None),  # no pair across the comma
        ("dna", "p", "Máy đa năng", "x", "2024-01-05", [], None),  # đa năng folds to da nang as well
    ])
    assert set(slugs(search(a, "Da Nang"))) == {"dn", "dna"}
    assert slugs(search(a, "Đà Nẵng")) == ["dn", "dna"]  # exact diacritics first
    assert set(slugs(search(a, "Da AND Nang"))) == {"dn", "false", "apart", "comma", "dna"}
    assert set(slugs(search(a, '"da" "nang"'))) == {"dn", "false", "apart", "comma", "dna"}
    assert set(slugs(search(a, "danang"))) == {"dn", "dna"}  # typed without the space
    a.store_article({"url": "https://p.gov.vn/adjacent", "portal": "p", "title": "Đã nâng mức hỗ trợ",
                     "published": "2024-01-06"}, content_hash="adjacent")
    a.commit()
    # "đã nâng" folds to "da nang" too: found, but after every exact "Đà Nẵng"
    assert slugs(search(a, "Đà Nẵng")) == ["dn", "adjacent", "dna"]
    assert set(slugs(search(a, "Da Nang OR chat luong"))) == {"dn", "dna", "false", "adjacent"}
    # a quoted phrase with punctuation is a phrase of single syllables (FTS5 ignores the punctuation)
    assert set(slugs(search(a, '"Đà, Nẵng"'))) == {"comma", "dn", "adjacent", "dna"}
    a.close()


@pytest.mark.parametrize("query", ['"giải phóng mặt bằng"', "giai phong mat bang", "GIẢI PHÓNG MẶT BẰNG"])
def test_phrase_search(archive: Archive, query: str) -> None:
    assert slugs(search(archive, query)) == ["gpmb"]
    # words separated by AND are found anywhere
    assert {"gpmb", "scattered"} == set(slugs(search(archive, " AND ".join(query.strip('"').split()))))


def test_operators(archive: Archive) -> None:
    assert set(slugs(search(archive, '"Điện Biên" OR "Quyết định"'))) == {"dienbien", "qd-botruong"}
    assert set(slugs(search(archive, "Điện Biên OR Quyết định"))) == {"dienbien", "qd-botruong"}
    assert "hn-ubnd" not in slugs(search(archive, "ha noi -uy"))
    assert "ha-noi-plain" in slugs(search(archive, "ha noi -uy"))
    assert "dn-nhiemvu" in slugs(search(archive, "nhiem*"))
    assert slugs(search(archive, "thanh pho -da nang")) == ["hn-ubnd"]  # -da nang excludes the word Đà Nẵng


def test_filters(archive: Archive) -> None:
    assert set(slugs(search(archive, "thanh pho", filters={"portal": ["danang"]}))) == {"dn-nhiemvu"}
    assert set(slugs(search(archive, "ha noi", filters={"since": "2024-07-01"}))) == {"ha-noi-plain"}
    assert set(slugs(search(archive, "ha noi", filters={"until": "2024-03-01"}))) == {"hn-ubnd"}
    assert slugs(search(archive, "ha noi", filters={"since": "2024-03-02", "until": "2024-06-30"})) == []
    assert set(slugs(search(archive, "day nhanh", filters={"author": "minh duc"}))) == {"gpmb"}
    assert set(slugs(search(archive, "thanh pho", filters={"tag": ["ha noi"]}))) == {"hn-ubnd"}
    assert set(slugs(search(archive, "thanh pho", filters={"tag": ["Chuyển đổi số"]}))) == {"dn-nhiemvu"}
    assert slugs(search(archive, "thanh pho", filters={"tag": ["no such tag"]})) == []
    result = search(archive, "Hà Nội", filters={"portal": ["hanoi", "baochinhphu"]})
    assert result.total == 2 and result.exact_total == 1 and slugs(result) == ["hn-ubnd", "ha-noi-plain"]


def test_tags_summary_and_attachments_are_indexed(tmp_path: Path) -> None:
    a = Archive(tmp_path / "a.db")
    a.store_article({"url": "https://x/1", "portal": "p", "title": "Tin", "summary": "Tóm tắt về Phú Quốc",
                     "body_text": "nội dung", "tags": ["Biển đảo"],
                     "attachments": [{"url": "https://x/kh.pdf", "name": "Kế hoạch 15.pdf"}]}, content_hash="1")
    a.commit()
    assert len(search(a, "phu quoc").hits) == 1
    assert len(search(a, "bien dao").hits) == 1
    hit = search(a, "ke hoach").hits[0]
    assert hit.attachments == ["Kế hoạch 15.pdf"] and hit.snippet == "[[Kế hoạch] 15.pdf]"
    a.close()


def test_attachment_text_is_searchable_and_names_the_file(tmp_path: Path) -> None:
    a = Archive(tmp_path / "a.db")
    a.store_article({"url": "https://x/1", "portal": "p", "title": "Thông báo", "body_text": "Xem tệp đính kèm.",
                     "published": "2024-05-01T08:00:00+07:00",
                     "attachments": [{"url": "https://x/a.pdf", "name": "QD-1009.pdf"},
                                     {"url": "https://x/b.docx", "name": "Phu luc.docx"}]}, content_hash="1")
    a.commit()
    assert search(a, "bồi thường tái định cư").total == 0
    a.set_attachment_text(1, "https://x/b.docx", "Phương án bồi thường, hỗ trợ và tái định cư dự án Vành đai 4")
    a.commit()
    result = search(a, "tai dinh cu")
    assert result.total == 1
    hit = result.hits[0]
    assert hit.attachments == ["Phu luc.docx"]
    assert hit.snippet.startswith("[Phu luc.docx] ") and "[tái định cư]" in hit.snippet
    # the attachment text changes: the old words leave the index, the new ones enter it
    a.set_attachment_text(1, "https://x/b.docx", "Danh sách hộ dân")
    a.commit()
    assert search(a, "tai dinh cu").total == 0 and search(a, "ho dan").total == 1
    # a new version of the article keeps the attachment rows' text in step too
    a.store_article({"url": "https://x/1", "portal": "p", "title": "Thông báo mới", "body_text": "Xem tệp.",
                     "published": "2024-05-01T08:00:00+07:00",
                     "attachments": [{"url": "https://x/c.pdf", "name": "Quyết định.pdf", "text": "Bổ nhiệm cán bộ"}]},
                    content_hash="2")
    a.commit()
    assert search(a, "ho dan").total == 0
    assert [h.attachments for h in search(a, "bo nhiem").hits] == [["Quyết định.pdf"]]
    for table in (FTS_FOLDED, FTS_EXACT):
        a.db.execute(f"insert into {table}({table}, rank) values ('integrity-check', 0)")
    a.close()


def test_totals_offsets_and_positive_scores(archive: Archive) -> None:
    result = search(archive, "thanh", limit=2)
    assert result.total == 3 and len(result.hits) == 2 and result.more
    rest = search(archive, "thanh", limit=2, offset=2)
    assert len(rest.hits) == 1 and not rest.more
    assert set(slugs(result)) | set(slugs(rest)) == oracle(archive, "thanh")
    assert "1–2 of 3 matches, newest first" in result.summary() and result.summary().endswith(" ms")
    ranked = search(archive, "van ban", sort="relevance", limit=50)
    assert ranked.total == len(ARTICLES) and all(h.score > 0 for h in ranked.hits)  # in every article: tiny, > 0
    scores = [h.score for h in search(archive, "giai phong", sort="relevance").hits]
    assert scores == sorted(scores, reverse=True) and all(s > 0 for s in scores)


def test_relevance_ranks_every_match(tmp_path: Path) -> None:
    a = Archive(tmp_path / "many.db")
    a.bulk_insert_articles({"url": f"https://p/{i}", "portal": "p", "title": f"Thông báo số {i}",
                            "body_text": "Ủy ban nhân dân tỉnh thông báo kế hoạch. " * (1 + i % 20),
                            "published": f"2024-01-{1 + i % 28:02d}", "content_hash": str(i)} for i in range(3000))
    # the best match (shortest article, as bm25 rewards) is the oldest-inserted one: no candidate cap hides it
    result = search(a, "ke hoach", sort="relevance", limit=5)
    assert result.total == 3000 and len(result.hits) == 5
    best = search(a, "ke hoach", sort="relevance", limit=3000)
    assert [h.score for h in best.hits] == sorted((h.score for h in best.hits), reverse=True)
    assert {h.id for h in best.hits} == set(range(1, 3001))
    assert len(search(a, "ke hoach", sort="relevance", offset=2999).hits) == 1
    assert len(search(a, "thô*", limit=5).hits) == 5  # served by the 3-character prefix index
    a.close()


def test_index_follows_updates(archive: Archive) -> None:
    url = "https://danang.gov.vn/dn-nhiemvu"
    outcome = archive.store_article({"url": url, "portal": "danang", "title": "Hội An đón khách",
                                     "body_text": "Phố cổ", "published": "2025-01-01T08:00:00+07:00"},
                                    content_hash="changed")
    archive.commit()
    assert outcome == "updated"
    assert "dn-nhiemvu" not in slugs(search(archive, "nhiem vu"))
    assert slugs(search(archive, "hoi an")) == ["dn-nhiemvu"]
    archive.store_article({"url": url, "portal": "danang", "title": "Hội An đón khách", "body_text": "Phố cổ",
                           "published": "2025-01-01T08:00:00+07:00"}, content_hash="changed")  # unchanged
    archive.commit()
    assert slugs(search(archive, "hoi an")) == ["dn-nhiemvu"]
    for table in (FTS_FOLDED, FTS_EXACT):
        archive.db.execute(f"insert into {table}({table}, rank) values ('integrity-check', 0)")


def test_existing_archive_without_index_is_indexed_on_open(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    a = Archive(path)
    add_articles(a)
    for table in (FTS_FOLDED, FTS_EXACT):
        a.db.execute(f"drop table {table}")
    a.close()
    ro = Archive.open_existing(path)
    assert ro.search_index_status()[0] == "missing"
    ro.close()
    Archive.open_existing(path, readonly=False).close()
    ro = Archive.open_existing(path)
    assert ro.search_index_ready() and slugs(search(ro, "Da Nang")) == ["dn-nhiemvu"]
    ro.close()


def unindexed_archive(path: Path, words: str, n: int) -> Archive:
    """An archive of ``n`` articles titled ``<words> tin <i>``, bulk-inserted without indexing."""
    a = Archive(path)
    a.bulk_insert_articles(({"url": f"https://p/{i}", "portal": "p", "title": f"{words} tin {i}",
                             "published": "2024-01-01", "content_hash": str(i)} for i in range(n)), index=False)
    return a


def test_interrupted_index_build_resumes_and_is_atomic(tmp_path: Path) -> None:
    path = tmp_path / "big.db"
    a = unindexed_archive(path, "Đà Nẵng", 50)
    assert a.search_index_status()[0] == "stale"
    calls: list[int] = []

    def interrupt(done: int, total: int) -> None:
        calls.append(done)
        if done >= 20:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        a.rebuild_search_index(chunk=10, progress=interrupt)
    a.close()
    ro = Archive.open_existing(path)
    state, explanation = ro.search_index_status()
    assert state == "building" and "after 20 of 50 articles" in explanation
    ro.close()
    resumed: list[int] = []
    Archive(path, index_progress=lambda done, total: resumed.append(done)).close()
    assert resumed[0] == 20 and resumed[-1] == 50  # continued, did not start over
    ro = Archive.open_existing(path)
    assert ro.search_index_ready() and search(ro, "da nang").total == 50 and ro.indexed_count() == 50
    assert not {"articles_fts_build", "articles_fts_exact_build"} & set(ro.db.table_names())
    ro.close()


def test_killed_index_build_never_leaves_an_empty_index(tmp_path: Path) -> None:
    """SIGKILL in the middle of the first build: search reports it; the next writable open finishes it."""
    path = tmp_path / "killed.db"
    a = unindexed_archive(path, "Hà Nội", 40)
    for table in (FTS_FOLDED, FTS_EXACT):
        a.db.execute(f"drop table {table}")
    a.close()
    code = ("import os, signal\nfrom govarchive.archive import Archive\n"
            "def progress(done, total):\n    if done >= 10: os.kill(os.getpid(), signal.SIGKILL)\n"
            f"Archive({str(path)!r}, index_progress=progress)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env=clean_env())
    assert proc.returncode == -signal.SIGKILL
    ro = Archive.open_existing(path)
    assert ro.search_index_status()[0] == "building" and FTS_FOLDED not in ro.db.table_names()
    ro.close()
    Archive(path).close()
    ro = Archive.open_existing(path)
    assert ro.search_index_ready() and search(ro, "ha noi").total == 40
    ro.close()


def test_bulk_insert_and_rebuild_match_store_path(tmp_path: Path, archive: Archive) -> None:
    bulk = Archive(tmp_path / "bulk.db")
    rows = [{"url": f"https://{p}.gov.vn/{s}", "portal": p, "title": t, "body_text": b, "published": d, "tags": tg,
             "author": au, "content_hash": s,
             "attachments": [{"url": f"https://{p}.gov.vn/{s}.pdf", "name": f"Văn bản {s}"}]}
            for s, p, t, b, d, tg, au in ARTICLES]
    assert bulk.bulk_insert_articles(rows[:4]) == 4
    assert bulk.bulk_insert_articles(rows[4:], index=False) == len(rows) - 4
    assert bulk.search_index_status()[0] == "stale"
    assert bulk.rebuild_search_index() == len(rows)
    for query in ("Ha Noi", "Hà Nội", "giai phong mat bang", "duong", "đường", "Da Nang", "van ban"):
        for sort in ("newest", "relevance"):
            assert slugs(search(bulk, query, sort=sort)) == slugs(search(archive, query, sort=sort)), (query, sort)
    assert set(slugs(search(bulk, "thanh pho", filters={"tag": ["ha noi"]}))) == {"hn-ubnd"}
    bulk.close()


def test_readonly_archive_searches(tmp_path: Path, archive: Archive) -> None:
    ro = Archive.open_existing(archive.path)
    assert slugs(search(ro, "Dien Bien")) == ["dienbien"]
    with pytest.raises(sqlite3.OperationalError):
        ro.db.execute("insert into tags (name) values ('x')")
    ro.close()


def test_snippets_highlight_folded_matches() -> None:
    pattern = parse_query("giai phong").highlight_pattern()
    assert highlight("Đẩy nhanh giải phóng mặt bằng", pattern) == "Đẩy nhanh [giải phóng] mặt bằng"
    assert highlight("giải, phóng", pattern) == "giải, phóng"  # not one word across a comma
    long = ("Mở đầu. " * 100) + "Công tác giải phóng mặt bằng được đẩy nhanh. " + ("Kết thúc. " * 100)
    snip = make_snippet(long, pattern, width=80)
    assert "[giải phóng]" in snip and snip.startswith("…") and snip.endswith("…") and len(snip) < 110
    nfd = "Gia\u0309i pho\u0301ng"  # NFD input: folding changes the length, offsets must still line up
    assert highlight(nfd, pattern) == "[Gia\u0309i pho\u0301ng]"
    assert make_snippet("", pattern) == ""
    assert highlight("Đà Nẵng", parse_query("Đà*").highlight_pattern()) == "[Đà] Nẵng"  # short prefix = word
    assert highlight("x", None) == "x"


def test_parse_query_shapes() -> None:
    assert parse_query('"giải phóng" mặt').expression() == '("giai_phong") AND ("mat")'
    assert parse_query("giải phóng mặt bằng").expression() == '("giai_phong phong_mat mat_bang")'
    assert parse_query("a OR b").expression() == '("a" OR "b")'
    assert parse_query("x -y").expression() == '(("x")) NOT ("y")'
    assert parse_query("x -y z").expression() == '(("x")) NOT ("y_z")'
    assert parse_query("nhiem*").expression() == '("nhiem" *)'
    assert parse_query('say "hi""').expression() == '("say") AND ("hi")'
    assert parse_query("Đà Nẵng").expression(exact=True) == '("đà_nẵng")'
    assert parse_query("Đà Nẵng").has_diacritics and not parse_query("da nang").has_diacritics
    assert parse_query("*** --- :::").empty
    assert parse_query("Đà Nẵng AND du lịch OR biển -mưa").describe() == '"Đà Nẵng" AND ("du lịch" OR biển) NOT mưa'


def test_joined_syllables_need_the_pairs_in_the_index(archive: Archive) -> None:
    folded, _, variants = expressions(archive, parse_query("danang"))
    assert variants == {"danang": [["da", "nang"]]} and folded == '(("danang" OR "da_nang"))'
    assert expressions(archive, parse_query("zzzzqq"))[2] == {}
    assert slugs(search(archive, "hanoi")) == slugs(search(archive, "ha noi"))
    assert slugs(search(archive, "dienbienphu")) == ["dienbien"]


# -- prefixes ---------------------------------------------------------------------------------------------------

PHRASE_WORDS = ("giải phóng mặt bằng", "giai phong mat bang", "mặt bằng giải phóng", "chuyển đổi số")


@pytest.fixture
def spread(tmp_path: Path) -> Archive:
    """400 articles over ten years, inserted out of date order; some carry a phrase, accented or not."""
    a = Archive(tmp_path / "spread.db")
    a.bulk_insert_articles({
        "url": f"https://p{i % 3}.gov.vn/{i}", "portal": f"p{i % 3}", "title": f"Tin số {i}",
        "body_text": f"Ủy ban thông báo {PHRASE_WORDS[i % 4] if i % 7 in (0, 3) else 'kế hoạch'} "
                     f"thống nhất thông tin thôn {i}.",
        "published": f"{2015 + (i * 7919) % 10}-{1 + (i * 31) % 12:02d}-{1 + (i * 13) % 28:02d}"
                     f"T08:{i % 60:02d}:00+07:00",
        "content_hash": str(i)} for i in range(400))
    yield a
    a.close()


@pytest.mark.parametrize("raw", ['"giải phóng mặt bằng"', "giai phong mat bang AND thong", "chuyen doi so -thon",
                                 "mat bang giai phong OR chuyển đổi số", "khong co dau nay"])
@pytest.mark.parametrize("filters", [None, {"since": "2018-01-01", "until": "2021-06-30"}, {"portal": ["p1"]}])
def test_paging_newest_first_is_complete_and_ordered(spread: Archive, raw: str, filters) -> None:
    first = search(spread, raw, filters=filters, limit=7)
    keys = []
    while len(keys) < first.total:
        page = search(spread, raw, filters=filters, limit=7, offset=len(keys))
        keys += [(not h.exact, h.published, h.id) for h in page.hits]
    assert len(keys) == first.total == spread.fts_count(expressions(spread, parse_query(raw))[0], filters=filters)
    exact = [k for k in keys if not k[0]]
    rest = [k for k in keys if k[0]]
    assert keys == exact + rest  # exact-diacritic matches first ...
    for group in (exact, rest):  # ... each group newest first
        assert [k[1:] for k in group] == sorted((k[1:] for k in group), reverse=True)


def test_exact_flags_match_the_exact_index(spread: Archive) -> None:
    query = parse_query('"giải phóng mặt bằng"')
    result = search(spread, query.raw, limit=200)
    exact_expr = query.expression(exact=True)
    assert any(h.exact for h in result.hits) and not all(h.exact for h in result.hits)
    assert result.exact_total == sum(h.exact for h in result.hits)
    for hit in result.hits:
        key = search_key(hit.published, hit.id)
        assert hit.exact == bool(spread.fts_search(exact_expr, exact=True, keys=[key], limit=1))


def test_long_prefix_is_expanded_to_indexed_terms(spread: Archive) -> None:
    assert spread.fts_prefix_terms("thon") == ["thon", "thong"]  # index order, pair terms skipped
    assert spread.fts_prefix_terms("thong") == ["thong"]
    assert spread.fts_prefix_terms("zzzz") == []
    assert spread.fts_prefix_terms("th", limit=1) is None
    for raw in ("thôn*", "thong*", "thống*", "zzzz*", '"ke hoach" thon*', "tin -thon*"):
        query = parse_query(raw)
        terms = {t: spread.fts_prefix_terms(t) for t in (query.items[-1].tokens[-1],)}
        expanded, plain = query.expression(terms=terms), query.expression()
        assert spread.fts_search(expanded, limit=1000) == spread.fts_search(plain, limit=1000), raw
    assert parse_query("thôn*").expression(terms={"thon": ["thon", "thong"]}) == '(("thon" OR "thong"))'
    assert len(search(spread, "thôn*", limit=5).hits) == 5
    readonly = Archive.open_existing(spread.path)  # the vocabulary table is a temp table: works read-only
    assert [h.id for h in search(readonly, "thôn*", limit=50).hits] == [h.id for h in search(spread, "thôn*",
                                                                                         limit=50).hits]
    readonly.close()


def test_text_from_files_of_an_unchanged_article_enters_the_index(tmp_path: Path) -> None:
    """The files pipeline may bring an attachment's text on a later, unchanged fetch: the index follows."""
    a = Archive(tmp_path / "a.db")
    item = {"url": "https://x/1", "portal": "p", "title": "Thông báo", "body_text": "Xem tệp.",
            "published": "2024-05-01T08:00:00+07:00",
            "attachments": [{"url": "https://x/kh.pdf", "name": "KH-15.pdf"}],
            "images": [{"url": "https://x/anh.jpg", "caption": "Ảnh hội nghị"}]}
    assert a.store_article(item, content_hash="1") == "new"
    files = [{"url": "https://x/kh.pdf", "status": "stored", "sha256": "ab" * 32, "path": "ab/ab/x.pdf",
              "text": "Kế hoạch giải phóng mặt bằng năm 2025"}]
    assert a.store_article({**item, "files": files}, content_hash="1") == "unchanged"
    a.commit()
    hits = search(a, "giai phong mat bang").hits
    assert [h.attachments for h in hits] == [["KH-15.pdf"]]
    assert search(a, "hoi nghi").total == 0  # image captions are not attachment text
    for table in (FTS_FOLDED, FTS_EXACT):
        a.db.execute(f"insert into {table}({table}, rank) values ('integrity-check', 0)")
    a.close()


def test_exact_matches_are_counted_only_when_a_page_needs_it(archive: Archive, engine: str) -> None:
    first = search(archive, "văn bản", limit=3)
    if engine == "fts5":
        assert first.exact_total is None and "(those with the exact diacritics first)" in first.summary()
    else:  # Tantivy counts a page's matches in the same pass
        assert first.exact_total == len(ARTICLES)
    last = search(archive, "văn bản", limit=3, offset=9)
    assert last.hits == [] and last.exact_total == len(ARTICLES)  # counted: the page needed it
    # an exclusion applies to the exact matches too, through the folded index (exact ⊆ folded)
    result = search(archive, "Văn bản -ha noi", limit=20)
    assert result.total == result.exact_total == len(ARTICLES) - 2
    assert {"hn-ubnd", "ha-noi-plain"}.isdisjoint(slugs(result))


def test_a_hit_inside_an_attachment_names_the_file_not_only_its_link_text(tmp_path: Path) -> None:
    a = Archive(tmp_path / "a.db")
    a.store_article({"url": "https://x/1", "portal": "p", "title": "Thông báo", "body_text": "Xem tệp đính kèm.",
                     "attachments": [{"url": "https://x/dl?id=7", "name": "Tải về"}]}, content_hash="1")
    a.commit()
    a.db.execute("update attachments set filename = ? where url = ?", ["QĐ 1009 UBND.pdf", "https://x/dl?id=7"])
    a.set_attachment_text(1, "https://x/dl?id=7", "Phương án bồi thường, hỗ trợ và tái định cư")
    a.commit()
    hit = search(a, "tai dinh cu").hits[0]
    assert hit.attachments == ["QĐ 1009 UBND.pdf (Tải về)"]
    assert hit.snippet.startswith("[QĐ 1009 UBND.pdf (Tải về)] ")
    a.close()


def test_index_rows_of_a_batch_are_written_at_commit_and_leave_with_a_failed_article(tmp_path: Path) -> None:
    """store_article queues its index rows until the batch commits (FTS5 writes a segment at every savepoint
    otherwise): an article that fails half-way takes its queued rows with it, an article stored twice in
    one batch is replaced in order, and this connection's own searches see the queued rows before the commit."""
    a = Archive(tmp_path / "a.db")

    def article(n: int, title: str, **kw: Any) -> dict[str, Any]:
        return {"url": f"https://x/{n}", "portal": "p", "title": title, "body_text": "Nội dung.",
                "published": "2024-05-01T08:00:00+07:00", **kw}

    a.store_article(article(1, "Hội nghị Đà Nẵng"), content_hash="1")
    a.store_article(article(1, "Hội nghị Quảng Ngãi"), content_hash="2")  # updated in the same batch
    assert search(a, "da nang").total == 0 and search(a, "quang ngai").total == 1  # before the commit
    a.store_article(article(2, "Lễ hội Hội An"), content_hash="3")
    real = a._write_citations

    def broken(article_id: int, row: dict[str, Any]) -> None:
        if row["title"].startswith("Bão"):
            real(article_id, row)
            raise sqlite3.IntegrityError("simulated failure after the article's rows were written")
        real(article_id, row)

    a._write_citations = broken  # type: ignore[method-assign]
    with pytest.raises(sqlite3.IntegrityError):
        a.store_article(article(3, "Bão số 3 Yagi"), content_hash="4")
    a.commit()
    assert a.get_article("https://x/3") is None
    assert search(a, "bao").total == 0 and search(a, "yagi").total == 0
    assert search(a, "hoi an").total == 1 and search(a, "quang ngai").total == 1 and search(a, "da nang").total == 0
    assert a.indexed_count() == 2
    for table in (FTS_FOLDED, FTS_EXACT):
        a.db.execute(f"insert into {table}({table}, rank) values ('integrity-check', 0)")
    a.close()


def _index_text_from_groups(text: str) -> str:
    """index_text as its docstring defines it, with the tokens found by TOKEN_RE (the slower, obvious way)."""
    tokens: list[str] = []
    pairs: list[str] = []
    last = None
    segments = searchtext._BREAK.split(searchtext._JOINED.sub(" ", text))
    for group in (g for g in (searchtext.TOKEN_RE.findall(seg) for seg in segments) if g):
        tokens += group
        if len(group) < 2:
            continue
        if last == group[0]:
            pairs.append(searchtext.PAIR_JOIN)
        pairs += [f"{a}{searchtext.PAIR_JOIN}{b}" for a, b in itertools.pairwise(group)]
        last = group[-1]
    return " ".join(tokens) + ("\n" + " ".join(pairs) if pairs else "")


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from(list(" \t\n\r\u00a0\u2028\u3000\x1c_-/.:,;()\"'Đđàạẩăẵêếộưữ"
                                             "aAbz019\u0301\u200b")), max_size=40))
def test_index_text_is_the_token_groups_and_their_pairs(text: str) -> None:
    for form in (searchtext.exact_form(text), searchtext.fold(text)):
        assert searchtext.index_text(form) == _index_text_from_groups(form)


def test_search_through_a_wrapped_connection(tmp_path: Path) -> None:
    """Datasette's plugins search through Archive.wrap over the connection Datasette opened."""
    a = Archive(tmp_path / "a.db")
    a.store_article({"url": "https://x/1", "portal": "p", "title": "Hội nghị Đà Nẵng", "body_text": "Nội dung.",
                     "published": "2024-05-01T08:00:00+07:00"}, content_hash="1")
    a.close()
    conn = sqlite3.connect(tmp_path / "a.db")
    wrapped = Archive.wrap(conn, tmp_path / "a.db")
    assert wrapped.search_index_ready() and search(wrapped, "da nang").total == 1
    conn.close()


def test_a_batch_written_newest_first_is_one_index_segment(tmp_path: Path) -> None:
    """Listings run newest first, so index rowids (publication time) arrive descending. FTS5 flushes its pending
    terms into a new segment at every rowid lower than the last one; the queued writes are applied in rowid
    order, so a batch makes one segment per index, not one per article, and every article is still found."""
    a = Archive(tmp_path / "a.db", batch_size=100)
    for table in (FTS_FOLDED, FTS_EXACT):  # no merging: the segments written are the segments counted
        a.db.execute(f"insert into {table}({table}, rank) values ('automerge', 0)")
    a.db.conn.commit()
    for n in range(12, 0, -1):
        assert a.store_article({"url": f"https://x/{n}", "portal": "p", "title": f"Tin số {n}",
                                "body_text": f"Đà Nẵng công bố kế hoạch số {n}",
                                "published": f"2024-05-{n:02d}T08:00:00+07:00"}, content_hash=str(n)) == "new"
    a.commit()
    for table in (FTS_FOLDED, FTS_EXACT):
        segments = a.db.execute(f"select count(distinct id >> 37) from [{table}_data] where id >> 37 > 0").fetchone()
        assert segments == (1,), table
        a.db.execute(f"insert into {table}({table}, rank) values ('integrity-check', 0)")
    assert search(a, "da nang").total == 12 and search(a, "Đà Nẵng").exact_total in (None, 12)
    assert [h.title for h in search(a, "da nang", limit=2).hits] == ["Tin số 12", "Tin số 11"]
    a.close()
