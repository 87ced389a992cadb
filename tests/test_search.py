"""Full-text search: Vietnamese folding, exact-first ranking, hostile input, filters, phrases, index upkeep."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govarchive.archive import FTS_EXACT, FTS_FOLDED, SEARCH_KEY_ID_MASK, Archive, search_key
from govarchive.search import highlight, make_snippet, parse_query, search

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


@pytest.mark.parametrize("raw", HOSTILE)
@pytest.mark.parametrize("sort", ["newest", "relevance"])
def test_hostile_queries_never_raise(archive: Archive, raw: str, sort: str) -> None:
    result = search(archive, raw, sort=sort, limit=5)
    assert len(result.hits) <= 5
    expr = parse_query(raw).expression()
    if expr:  # the generated expression itself is valid FTS5 on both indexes
        archive.fts_search(expr, limit=1)
        archive.fts_search(parse_query(raw).expression(exact=True), exact=True, limit=1)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.sampled_from('aăâbcdđeêghiklmnoôơpqrstuưvxyÀÁẠĐđ "*-:()^+{}[]/\\\'\nORANDNEAR'),
               max_size=40))
def test_fuzzed_queries_never_raise(archive: Archive, raw: str) -> None:
    search(archive, raw, sort="relevance", limit=3)
    expr = parse_query(raw).expression()
    if expr:
        archive.fts_search(expr, limit=1)


def test_document_numbers_are_searchable(archive: Archive) -> None:
    assert slugs(search(archive, "15/2024/NĐ-CP")) == ["qd-botruong"]
    assert slugs(search(archive, "NĐ-CP")) == ["qd-botruong"]
    assert slugs(search(archive, "nd-cp")) == ["qd-botruong"]


@pytest.mark.parametrize("query", ['"giải phóng mặt bằng"', '"giai phong mat bang"', '"GIẢI PHÓNG MẶT BẰNG"'])
def test_phrase_search(archive: Archive, query: str) -> None:
    assert slugs(search(archive, query)) == ["gpmb"]
    # without quotes the scattered words match too
    assert {"gpmb", "scattered"} <= set(slugs(search(archive, query.strip('"'))))


def test_operators(archive: Archive) -> None:
    assert set(slugs(search(archive, '"Điện Biên" OR "Quyết định"'))) == {"dienbien", "qd-botruong"}
    assert "hn-ubnd" not in slugs(search(archive, "ha noi -uy"))
    assert "ha-noi-plain" in slugs(search(archive, "ha noi -uy"))
    assert "dn-nhiemvu" in slugs(search(archive, "nhiem*"))


def test_filters(archive: Archive) -> None:
    assert set(slugs(search(archive, "thanh pho", filters={"portal": ["danang"]}))) == {"dn-nhiemvu"}
    assert set(slugs(search(archive, "ha noi", filters={"since": "2024-07-01"}))) == {"ha-noi-plain"}
    assert set(slugs(search(archive, "ha noi", filters={"until": "2024-03-01"}))) == {"hn-ubnd"}
    assert slugs(search(archive, "ha noi", filters={"since": "2024-03-02", "until": "2024-06-30"})) == []
    assert set(slugs(search(archive, "day nhanh", filters={"author": "minh duc"}))) == {"gpmb"}
    assert set(slugs(search(archive, "thanh pho", filters={"tag": ["ha noi"]}))) == {"hn-ubnd"}
    assert set(slugs(search(archive, "thanh pho", filters={"tag": ["Chuyển đổi số"]}))) == {"dn-nhiemvu"}
    assert slugs(search(archive, "thanh pho", filters={"tag": ["no such tag"]})) == []


def test_tags_and_summary_are_indexed(tmp_path: Path) -> None:
    a = Archive(tmp_path / "a.db")
    a.store_article({"url": "https://x/1", "portal": "p", "title": "Tin", "summary": "Tóm tắt về Phú Quốc",
                     "body_text": "nội dung", "tags": ["Biển đảo"]}, content_hash="1")
    a.commit()
    assert len(search(a, "phu quoc").hits) == 1
    assert len(search(a, "bien dao").hits) == 1
    a.close()


def test_limit_more_and_relevance_cap(archive: Archive) -> None:
    result = search(archive, "thanh", limit=2)
    assert len(result.hits) == 2 and result.more
    capped = search(archive, "thanh", sort="relevance", candidates=2)
    assert capped.truncated and capped.candidates == 2


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
    assert not ro.search_index_ready()
    ro.close()
    Archive.open_existing(path, readonly=False).close()
    ro = Archive.open_existing(path)
    assert ro.search_index_ready() and slugs(search(ro, "Da Nang")) == ["dn-nhiemvu"]
    ro.close()


def test_bulk_insert_and_rebuild_match_store_path(tmp_path: Path, archive: Archive) -> None:
    bulk = Archive(tmp_path / "bulk.db")
    rows = [{"url": f"https://{p}.gov.vn/{s}", "portal": p, "title": t, "body_text": b, "published": d, "tags": tg,
             "author": au, "content_hash": s} for s, p, t, b, d, tg, au in ARTICLES]
    assert bulk.bulk_insert_articles(rows[:4]) == 4
    assert bulk.bulk_insert_articles(rows[4:], index=False) == len(rows) - 4
    assert bulk.rebuild_search_index() == len(rows)
    for query in ("Ha Noi", "Hà Nội", '"giai phong mat bang"', "duong", "đường", "Da Nang"):
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
    assert highlight("Đẩy nhanh giải phóng mặt bằng", pattern) == "Đẩy nhanh [giải] [phóng] mặt bằng"
    long = ("Mở đầu. " * 100) + "Công tác giải phóng mặt bằng được đẩy nhanh. " + ("Kết thúc. " * 100)
    snip = make_snippet(long, pattern, width=80)
    assert "[giải] [phóng]" in snip and snip.startswith("…") and snip.endswith("…") and len(snip) < 110
    nfd = "Gia\u0309i pho\u0301ng"  # NFD input: folding changes the length, offsets must still line up
    assert highlight(nfd, pattern).count("[") == 2
    assert make_snippet("", pattern) == ""
    assert highlight("Đà Nẵng", parse_query("Đà*").highlight_pattern()) == "[Đà] Nẵng"  # short prefix = word
    assert highlight("x", None) == "x"


def test_parse_query_shapes() -> None:
    assert parse_query('"giải phóng" mặt').expression() == '("giai phong") AND ("mat")'
    assert parse_query('a OR b').expression() == '("a" OR "b")'
    assert parse_query("x -y").expression() == '(("x")) NOT ("y")'
    assert parse_query("nhiem*").expression() == '("nhiem" *)'
    assert parse_query('say "hi""').expression() == '("say") AND ("hi")'
    assert parse_query("Đà Nẵng").expression(exact=True) == '("Đà") AND ("Nẵng")'
    assert parse_query("Đà Nẵng").has_diacritics and not parse_query("da nang").has_diacritics
    assert parse_query("*** --- :::").empty


def test_relevance_time_budget_returns_partial_ranking(tmp_path: Path) -> None:
    a = Archive(tmp_path / "many.db")
    a.bulk_insert_articles({"url": f"https://p/{i}", "portal": "p", "title": f"Thông báo số {i}",
                            "body_text": "Ủy ban nhân dân tỉnh thông báo kế hoạch. " * 20,
                            "published": f"2024-01-{1 + i % 28:02d}", "content_hash": str(i)} for i in range(3000))
    expr = parse_query("thong bao").expression()
    rows, complete = a.fts_search_bounded(expr, limit=10_000, with_score=True, budget_s=0.0)
    assert not complete and len(rows) < 3000
    rows, complete = a.fts_search_bounded(expr, limit=10_000, with_score=True, budget_s=30)
    assert complete and len(rows) == 3000
    result = search(a, "thông báo", sort="relevance", budget_s=0.0)
    assert result.truncated and len(result.hits) <= 20
    assert len(search(a, "thong bao", sort="relevance", budget_s=None).hits) == 20
    assert len(search(a, "thô*", limit=5).hits) == 5  # served by the 3-character prefix index
    a.close()


# -- bounded work at scale: windowed phrases, expanded long prefixes ------------------------------------------

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


@pytest.mark.parametrize("raw", ['"giải phóng mặt bằng"', '"giai phong mat bang" thong', '"chuyen doi so" -thon',
                                 '"mat bang giai phong" OR "chuyển đổi số"', '"khong co dau nay"'])
@pytest.mark.parametrize("filters", [None, {"since": "2018-01-01", "until": "2021-06-30"}, {"portal": ["p1"]}])
def test_windowed_phrase_search_equals_unbounded_query(spread: Archive, raw: str, filters) -> None:
    expr = parse_query(raw).expression()
    everything = spread.fts_search(expr, filters=filters, limit=1000)
    for limit in (1, 7, 1000):
        rows, complete = spread.fts_search_windowed(expr, filters=filters, limit=limit, budget_s=None)
        assert complete and rows == everything[:limit]
    keys = [k for k, _ in everything]
    assert keys == sorted(keys, reverse=True)


def test_windowed_phrase_search_is_newest_first_through_search(spread: Archive) -> None:
    result = search(spread, '"giai phong mat bang"', limit=15)
    assert parse_query('"giai phong mat bang"').phrased and not result.truncated
    dates = [h.published for h in result.hits]
    assert len(dates) == 15 and dates == sorted(dates, reverse=True) and result.more
    expected = spread.fts_search(parse_query('"giai phong mat bang"').expression(), limit=15)
    assert [h.id for h in result.hits] == [k & SEARCH_KEY_ID_MASK for k, _ in expected]


def test_windowed_phrase_exact_flags_match_the_exact_index(spread: Archive) -> None:
    query = parse_query('"giải phóng mặt bằng"')
    result = search(spread, query.raw, limit=200)
    exact_expr = query.expression(exact=True)
    assert any(h.exact for h in result.hits) and not all(h.exact for h in result.hits)
    for hit in result.hits:
        key = search_key(hit.published, hit.id)
        assert hit.exact == bool(spread.fts_search(exact_expr, exact=True, keys=[key], limit=1))
    flags = [h.exact for h in result.hits]
    assert flags == sorted(flags, reverse=True)  # exact-diacritic matches first


def test_phrase_time_budget_flags_incomplete_results(spread: Archive, monkeypatch: pytest.MonkeyPatch) -> None:
    expr = parse_query('"giai phong mat bang"').expression()
    rows, complete = spread.fts_search_windowed(expr, limit=1000, budget_s=0.0)
    assert not complete and rows == []
    monkeypatch.setattr("govarchive.search.PHRASE_BUDGET_S", 0.0)
    result = search(spread, '"giai phong mat bang"')
    assert result.truncated and result.hits == []
    assert not search(spread, "giai phong mat bang").truncated  # plain words are not windowed


def test_long_prefix_is_expanded_to_indexed_terms(spread: Archive) -> None:
    assert spread.fts_prefix_terms("thon") == ["thon", "thong"]  # index order
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
