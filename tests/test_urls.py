"""Canonical URLs: the archive's identity key, on URL shapes seen on real portals (field guide §2, §3 item 8)."""

from __future__ import annotations

import html
import re
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal_spiders.platforms import platforms
from portal_spiders.platforms.base import join_url
from portal_spiders.urls import _general_canonical, _plain_canonical, canonical_url, host_of, split_url

FIXTURES = Path(__file__).parent / "fixtures"

# (url as found in a page, SharePoint case-insensitive paths?, canonical form)
CASES = [
    # scheme, host case, www., default ports, fragments
    ("HTTP://WWW.Laichau.DCS.vn:80/Pages/tin.aspx#top", False, "https://laichau.dcs.vn/Pages/tin.aspx"),
    ("https://laichau.dcs.vn:443/Pages/tin.aspx", False, "https://laichau.dcs.vn/Pages/tin.aspx"),
    ("https://laichau.dcs.vn:8443/Pages/tin.aspx", False, "https://laichau.dcs.vn:8443/Pages/tin.aspx"),
    ("  https://laichau.gov.vn./tin-tuc-su-kien/chuyen-de/tin-trong-nuoc/slug.html  ", False,
     "https://laichau.gov.vn/tin-tuc-su-kien/chuyen-de/tin-trong-nuoc/slug.html"),
    # trailing slashes
    ("https://bacgiang.gov.vn/chinh-tri/", False, "https://bacgiang.gov.vn/chinh-tri"),
    ("https://bacgiang.gov.vn/web/guest/-/bai-viet//", False, "https://bacgiang.gov.vn/web/guest/-/bai-viet"),
    ("https://bacgiang.gov.vn", False, "https://bacgiang.gov.vn/"),
    # tracking parameters go, content parameters stay (sorted, names keep their case)
    ("https://baochinhphu.vn/slug-102240517093012345.htm?utm_source=zalo&utm_medium=social&zarsrc=30&gidzl=AbC",
     False, "https://baochinhphu.vn/slug-102240517093012345.htm"),
    ("https://www.mofa.gov.vn/tt_baochi/pbnfn?fbclid=IwAR0x&UTM_Campaign=x", False,
     "https://mofa.gov.vn/tt_baochi/pbnfn"),
    ("https://kcb.vn/tin-tuc/slug.html?categoryId=101795273&ref=home", False,
     "https://kcb.vn/tin-tuc/slug.html?categoryId=101795273"),
    ("https://vanban.chinhphu.vn/?pageid=27160&docid=212345", False,
     "https://vanban.chinhphu.vn/?docid=212345&pageid=27160"),
    ("https://fdi.mof.gov.vn/Pages/chitiettin.aspx?idTin=5123&idcm=9", True,
     "https://fdi.mof.gov.vn/pages/chitiettin.aspx?idTin=5123&idcm=9"),
    # SharePoint: paths are case-insensitive, ItemID is the article
    ("https://laichau.dcs.vn/Pages/Chi-Tiet-Tin.aspx?ItemID=1843", True,
     "https://laichau.dcs.vn/pages/chi-tiet-tin.aspx?ItemID=1843"),
    ("https://laichau.dcs.vn/pages/chi-tiet-tin.aspx?ItemID=1843", True,
     "https://laichau.dcs.vn/pages/chi-tiet-tin.aspx?ItemID=1843"),
    ("https://thads.moj.gov.vn/laichau/noidung/tintuc/Lists/HoatDongDoanThe/View_Detail.aspx?ItemID=178", True,
     "https://thads.moj.gov.vn/laichau/noidung/tintuc/lists/hoatdongdoanthe/view_detail.aspx?ItemID=178"),
    ("https://vbpl.vn/TW/Pages/vbpq-toanvan.aspx?ItemID=32801", True,
     "https://vbpl.vn/tw/pages/vbpq-toanvan.aspx?ItemID=32801"),
    # ... but not on other platforms
    ("https://ninhthuan.gov.vn/portal/Pages/2024-4-25/Quy-hoach-phat-trien-do-thi-hien-dvv348x.aspx", False,
     "https://ninhthuan.gov.vn/portal/Pages/2024-4-25/Quy-hoach-phat-trien-do-thi-hien-dvv348x.aspx"),
    # Vietnamese letters in a path fold too, whether raw or percent-encoded; encoded slashes stay encoded
    ("https://x.dcs.vn/Pages/%C4%90%C3%80-N%E1%BA%B4NG.aspx?ItemID=1", True,
     "https://x.dcs.vn/pages/%C4%91%C3%A0-n%E1%BA%B5ng.aspx?ItemID=1"),
    ("https://x.dcs.vn/Pages/ĐÀ-NẴNG.aspx?ItemID=1", True, "https://x.dcs.vn/pages/%C4%91%C3%A0-n%E1%BA%B5ng.aspx?ItemID=1"),
    ("https://x.dcs.vn/A%2FB/Pages/x.aspx", True, "https://x.dcs.vn/a%2Fb/pages/x.aspx"),
    # bvhttdl.gov.vn: the article id is a URL-encoded path inside url=
    ("https://bvhttdl.gov.vn/Pages/chi-tiet.aspx?url=%2Fslug-20240517093012345.htm", True,
     "https://bvhttdl.gov.vn/pages/chi-tiet.aspx?url=%2Fslug-20240517093012345.htm"),
    # yenbai.gov.vn: a space-padded list name in the query is kept, padding included
    ("https://www.yenbai.gov.vn/noidung/tintuc/Pages/chi-tiet-tin-tuc.aspx?l=Tintrongtinh%2F" + "+" * 80
     + "&lv=4&page=57", True,
     "https://yenbai.gov.vn/noidung/tintuc/pages/chi-tiet-tin-tuc.aspx?l=Tintrongtinh%2F" + "+" * 80
     + "&lv=4&page=57"),
    # percent-encoded Vietnamese slugs (older baolaichau.vn) and their raw form are one identity
    ("https://baolaichau.vn/chinh-tri/h%e1%bb%99i-ngh%e1%bb%8b-giao-ban", False,
     "https://baolaichau.vn/chinh-tri/h%E1%BB%99i-ngh%E1%BB%8B-giao-ban"),
    ("https://baolaichau.vn/chinh-tri/hội-nghị-giao-ban", False,
     "https://baolaichau.vn/chinh-tri/h%E1%BB%99i-ngh%E1%BB%8B-giao-ban"),
    # junk digits are part of the slug, not noise we may drop
    ("https://baolaichau.vn/xa-hoi/phong-chay-rung12121212121", False,
     "https://baolaichau.vn/xa-hoi/phong-chay-rung12121212121"),
    # attachment names with spaces
    ("https://laichau.dcs.vn/VanBan/QD 100 UBND.pdf", True, "https://laichau.dcs.vn/vanban/qd%20100%20ubnd.pdf"),
    # Oracle ADF session parameters are not identity
    ("https://anle.toaan.gov.vn/webcenter/portal/anle/chitietanle?dDocName=TAND123&_afrLoop=4417&_adf.ctrl-state=x1",
     False, "https://anle.toaan.gov.vn/webcenter/portal/anle/chitietanle?dDocName=TAND123"),
]


@pytest.mark.parametrize(("url", "ci", "expected"), CASES)
def test_canonical_url_table(url: str, ci: bool, expected: str) -> None:
    assert canonical_url(url, case_insensitive_path=ci) == expected
    # canonical forms are fixed points
    assert canonical_url(expected, case_insensitive_path=ci) == expected


def test_padded_query_values_are_not_trimmed() -> None:
    padded = canonical_url("https://yenbai.gov.vn/p.aspx?l=Tin%20%20%20&lv=4")
    trimmed = canonical_url("https://yenbai.gov.vn/p.aspx?l=Tin&lv=4")
    assert padded != trimmed and padded == canonical_url("https://yenbai.gov.vn/p.aspx?lv=4&l=Tin+++")


def test_content_parameters_distinguish_articles() -> None:
    ids = {canonical_url(f"https://laichau.dcs.vn/Pages/chi-tiet-tin.aspx?ItemID={n}", case_insensitive_path=True)
           for n in (1, 2, 10)}
    assert len(ids) == 3
    docs = {canonical_url(f"https://bvhttdl.gov.vn/Pages/chi-tiet.aspx?url=%2Fbai-{n}.htm") for n in (1, 2)}
    assert len(docs) == 2


def test_host_of() -> None:
    assert host_of("https://WWW.Laichau.dcs.vn:443/x") == "laichau.dcs.vn"


# -- the plain-URL fast path agrees with the general one ----------------------------------------------------------

_PLAIN_PIECES = st.sampled_from(["a", "Z", "0", "-", ".", "_", "~", "/", "//", "www.", "Pages", "ItemID", "itemid",
                                 "Source", "utm_source", "ref", "id", "=", "&", "?", ":", "%2F", "%41", "+", ";",
                                 "jsessionid", "#", " ", "Đ", "..", "(S(abcdefghijkl))"])


@settings(max_examples=3000, deadline=None)
@given(scheme=st.sampled_from(["http", "https", "HTTP"]),
       host=st.sampled_from(["laichau.dcs.vn", "www.laichau.gov.vn", "x.vn", "LaiChau.gov.vn", "x.vn:8080",
                             "x.vn:443", "a-b.c-d.vn", "localhost"]),
       path=st.lists(_PLAIN_PIECES, max_size=8).map("".join),
       query=st.one_of(st.none(), st.lists(_PLAIN_PIECES, max_size=10).map("".join)),
       ci=st.booleans())
def test_plain_fast_path_agrees_with_the_general_path(scheme: str, host: str, path: str, query: str | None,
                                                      ci: bool) -> None:
    url = f"{scheme}://{host}/{path}" + (f"?{query}" if query is not None else "")
    fast = _plain_canonical(url, ci)
    assert fast is None or fast == _general_canonical(url, ci), url


def test_plain_fast_path_takes_the_links_of_the_fixtures() -> None:
    """Real links of every fixture: where the fast path answers, it agrees; and it answers for most of them."""
    hrefs = {urljoin("https://www.laichau.gov.vn/tin-tuc/trang.html", html.unescape(h).strip())
             for page in FIXTURES.rglob("*.html")
             for h in re.findall(r'href="([^"]+)"', page.read_text("utf-8", errors="replace"))}
    assert len(hrefs) > 300
    answered = 0
    for url in hrefs:
        for ci in (False, True):
            fast = _plain_canonical(url, ci)
            if fast is not None:
                answered += 1
                assert fast == _general_canonical(url, ci), url
    assert answered > len(hrefs)  # more than half of the (url, ci) pairs


@settings(max_examples=2000, deadline=None)
@given(base=st.sampled_from(["https://laichau.gov.vn/tin-tuc/trang.html?page=2", "http://X.vn:8080/a/", "HTTPS://x.vn",
                             "https://x.vn/a/b/c", "ftp://x.vn/a", "/relative/base"]),
       href=st.lists(st.sampled_from(["/", "//", "a", "B", ".", "..", "./", "../", "?", "#", "=", "&", " ", "\t", "\n",
                                      "%2E", "Đ", ";", ":", "x.vn"]), max_size=10).map("".join))
def test_join_url_agrees_with_urljoin(base: str, href: str) -> None:
    join_url.cache_clear()
    assert join_url(base, href) == urljoin(base, href)
    assert join_url(base, "/" + href) == urljoin(base, "/" + href)


@settings(max_examples=3000, deadline=None)
@given(scheme=st.sampled_from(["http", "https", "HTTP", "ftp", ""]),
       rest=st.lists(st.sampled_from(["a", "Đ", "/", "//", "?", "#", "&", "=", ":", "@", "[", "]", "[::1]", " ", "\t",
                                      "\n", "\x00", "%2F", ".", "x.vn", ":8080", "-"]), max_size=12).map("".join))
def test_split_url_agrees_with_urlsplit(scheme: str, rest: str) -> None:
    url = f"{scheme}://{rest}" if scheme else rest
    try:
        expected = tuple(urlsplit(url))[:4]
    except ValueError:  # urlsplit refuses a malformed host: so must split_url
        with pytest.raises(ValueError):
            split_url(url)
        return
    assert split_url(url) == expected, url


def test_split_url_takes_the_fast_path_for_plain_links() -> None:
    assert split_url("https://x.gov.vn/a/b-1.html?id=2#top") == ("https", "x.gov.vn", "/a/b-1.html", "id=2")
    assert split_url("http://x.vn") == ("http", "x.vn", "", "")


def test_every_feed_pattern_needs_a_feed_word() -> None:
    """Classification skips the feed patterns for a URL without one of ``FEED_WORDS``: every alternative of every
    platform's feed patterns must contain one literally."""
    for platform in platforms().values():
        for pattern in platform.feed_url_patterns:
            for alternative in _top_level_alternatives(pattern):
                assert any(word in alternative.lower() for word in platform.FEED_WORDS), (platform, alternative)


def _top_level_alternatives(pattern: str) -> list[str]:
    """A regex split at its top-level ``|`` (not inside a group or a character class)."""
    parts, depth, start, i, in_class = [], 0, 0, 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
        i += 1
    return [*parts, pattern[start:]]


def test_top_level_alternatives() -> None:
    assert _top_level_alternatives(r"(?:^|/)rss(?:/|\.|$)|\.rss$|[|]feed") == [
        r"(?:^|/)rss(?:/|\.|$)", r"\.rss$", "[|]feed"]
