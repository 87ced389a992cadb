"""No silent loss (issue 10), the fast part: each guarantee checked on the component that makes it.

The end-to-end fault tests against the fault-injecting replica are in ``tests/test_faults.py`` and
``tests/test_disk_full.py`` (slow).
"""

from __future__ import annotations

import ctypes
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from scrapy.http import HtmlResponse, Request

from govarchive.archive import Archive, ArchiveError, ArchiveWriteError
from govarchive.cli import main
from govarchive.commands.health import assess
from govarchive.locking import ArchiveLocked, acquire_lock, release_lock
from pipelines.dedupe import article_hash
from pipelines.normalize import FIELD_CAPS, NormalizePipeline
from portal_spiders.incremental import ListingWalk
from portal_spiders.items import ArticleItem, PageFailure
from portal_spiders.platforms import get_platform
from portal_spiders.platforms.base import checked_encoding, is_next_label
from portal_spiders.politeness import parse_retry_after
from portal_spiders.urls import canonical_url
from tests.conftest import ROOT, clean_env, open_store_pipeline

# -- 1. a failed commit: every run whose items were in the lost batch ----------------------------------------


def _article(n: int, portal: str = "laichau-dcs", **kw: object) -> ArticleItem:
    host = {"laichau-dcs": "laichau.dcs.vn", "angiang-dcs": "angiang.dcs.vn"}[portal]
    item = ArticleItem(url=f"https://{host}/pages/chi-tiet-tin.aspx?ItemID={n}", portal=portal,
                       source_url=f"https://{host}/Pages/chi-tiet-tin.aspx?ItemID={n}",
                       title=f"Tin số {n}", body_text=f"Nội dung bài {n}.", author="Minh Anh", **kw)  # type: ignore[arg-type]
    item.content_hash = article_hash(item)
    return item


def _fail_next_commits(archive: Archive, times: int, name: str = "SQLITE_FULL") -> list[int]:
    """Make the archive's next ``times`` commits fail the way SQLite reports a full disk (the batch is then
    really rolled back by the archive, as after a real failure)."""
    real = archive.db.commit
    calls = [times]

    def commit() -> None:
        if calls[0] > 0 and archive.db.conn.in_transaction:
            calls[0] -= 1
            exc = sqlite3.OperationalError("database or disk is full")
            exc.sqlite_errorname = name  # type: ignore[attr-defined]
            raise exc
        real()

    archive.db.commit = commit  # type: ignore[method-assign]
    return calls


def test_failed_commit_of_a_shared_batch_is_charged_to_every_run_in_it(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    one = open_store_pipeline(db, "laichau-dcs")
    two = open_store_pipeline(db, "angiang-dcs")
    archive = one.archive
    assert archive is two.archive  # one connection per archive file per process
    archive.batch_size = 4
    for n in (1, 2):  # committed with the first batch
        one.process_item(_article(n))
        two.process_item(_article(n, "angiang-dcs"))
    assert one.counts["items_new"] == 2 and two.counts["items_new"] == 2
    # the next batch: items of both portals; the commit triggered by portal one's item fails
    _fail_next_commits(archive, 1)
    two.process_item(_article(3, "angiang-dcs"))
    two.process_item(PageFailure(url="https://angiang.dcs.vn/Pages/x.aspx", portal="angiang-dcs", stage="parse",
                                 reason="no title", status=200))
    one.process_item(_article(3))
    one.process_item(_article(4))  # the 4th write of the batch: this commit fails
    assert [w.url for w in one.lost_writes] == [_article(3).source_url, _article(4).source_url]
    assert {w.kind for w in two.lost_writes} == {"article", "failure"} and len(two.lost_writes) == 2
    assert "disk full" in (one.write_error or "") and "disk full" in (two.write_error or "")
    one.process_item(_article(5))  # the disk has room again: later items are stored
    for store in (one, two):
        store.close_spider()
        store.spider_closed(store.crawler.spider, "finished")
    with Archive(db) as check:
        runs = {r["portal"]: r for r in check.runs()}
        # counts are only what was committed; the runs that lost items are incomplete
        assert (runs["laichau-dcs"]["items_new"], runs["laichau-dcs"]["complete"]) == (3, 0)
        assert (runs["angiang-dcs"]["items_new"], runs["angiang-dcs"]["complete"]) == (2, 0)
        assert check.count("articles", "portal = 'laichau-dcs'") == 3  # 1, 2, 5
        assert check.count("articles", "portal = 'angiang-dcs'") == 2
        # what was lost is recorded, so the next run fetches exactly that again
        failures = {f["url"]: f for f in check.failures()}
        assert set(failures) == {_article(3).source_url, _article(4).source_url,
                                 _article(3, "angiang-dcs").source_url, "https://angiang.dcs.vn/Pages/x.aspx"}
        assert failures[_article(4).source_url]["stage"] == "store"
        assert "archive write failed: disk full" in failures[_article(4).source_url]["reason"]
        assert (failures["https://angiang.dcs.vn/Pages/x.aspx"]["stage"],
                failures["https://angiang.dcs.vn/Pages/x.aspx"]["reason"]) == ("parse", "no title")
        stats = __import__("json").loads(runs["laichau-dcs"]["stats"])
        assert stats["govarchive/items_lost"] == 2 and "disk full" in stats["govarchive/write_error"]
        problems = assess(runs["laichau-dcs"], [], now=datetime.now(UTC), stale_days=2).problems
        assert any("archive write failed: disk full" in p for p in problems), problems


def test_failed_commit_triggered_by_a_failure_record_loses_the_batch_too(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    store = open_store_pipeline(db, "laichau-dcs")
    store.archive.batch_size = 2
    store.process_item(_article(1))
    _fail_next_commits(store.archive, 1, "SQLITE_IOERR_WRITE")
    store.process_item(PageFailure(url="https://laichau.dcs.vn/Pages/bad.aspx", portal="laichau-dcs",
                                   stage="download", reason="HTTP 500", status=500))
    assert len(store.lost_writes) == 2 and "disk I/O error" in (store.write_error or "")
    store.close_spider()
    store.spider_closed(store.crawler.spider, "finished")
    with Archive(db) as check:
        run = check.runs()[0]
        assert (run["complete"], run["items_new"], run["items_failed"]) == (0, 0, 2)
        assert {f["url"] for f in check.failures()} == {_article(1).source_url,
                                                         "https://laichau.dcs.vn/Pages/bad.aspx"}


def test_a_run_row_that_cannot_be_written_stays_unfinished_until_the_disk_allows(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    archive = Archive(db)
    run = archive.start_run("laichau-dcs")
    _fail_next_commits(archive, 1)
    assert archive.finish_run(run, finish_reason="finished", counts={}, coverage={}, complete=True) is False
    assert archive.db.execute("select finished_at from crawl_runs").fetchone()[0] is None
    archive.start_run("angiang-dcs")  # the next successful commit writes the pending row
    assert archive.db.execute("select finish_reason from crawl_runs where id = ?", [run]).fetchone()[0] == "finished"
    archive.close()


def test_write_error_is_raised_with_the_lost_items(tmp_path: Path) -> None:
    archive = Archive(tmp_path / "a.db", batch_size=100)
    archive.store_article({"url": "u1", "portal": "p", "title": "t"}, content_hash="h1", run_id=None)
    _fail_next_commits(archive, 1)
    with pytest.raises(ArchiveWriteError) as info:
        archive.commit()
    assert [w.url for w in info.value.lost] == ["u1"] and "disk full" in str(info.value)
    assert archive.count("articles") == 0  # really rolled back
    archive.close()


# -- 2. redirects, 11. failures keyed by the listed URL -------------------------------------------------------


def test_redirect_middleware_follows_a_way_back_and_fails_loops() -> None:
    from scrapy.http import Response
    from scrapy.utils.test import get_crawler

    from portal_spiders.redirects import LoopAwareRedirectMiddleware, RedirectLoop

    mw = LoopAwareRedirectMiddleware.from_crawler(get_crawler())
    a, b = "https://x.gov.vn/a.aspx", "https://x.gov.vn/a.aspx?AspxAutoDetectCookieSupport=1"
    first = mw.process_response(Request(a), Response(a, status=302, headers={"Location": b}))
    back = mw.process_response(first, Response(b, status=302, headers={"Location": a}))
    assert back.url == a and back.dont_filter  # the duplicate filter must not drop the way back
    again = mw.process_response(back, Response(a, status=302, headers={"Location": b}))
    with pytest.raises(RedirectLoop, match=r"redirect loop: .*a\.aspx → .*AspxAutoDetectCookieSupport"):
        mw.process_response(again, Response(b, status=302, headers={"Location": a}))


def test_a_dropped_redirect_target_makes_the_run_incomplete(tmp_path: Path) -> None:
    store = open_store_pipeline(tmp_path / "a.db")
    spider = store.crawler.spider
    spider.request_dropped(Request("https://laichau.dcs.vn/b", meta={"redirect_urls": ["https://laichau.dcs.vn/a"]}))
    spider.request_dropped(Request("https://laichau.dcs.vn/next-page"))  # not a redirect: a plain duplicate
    assert store.crawler.stats.get_value("govarchive/redirects_dropped") == 1
    store.close_spider()
    store.spider_closed(spider, "finished")
    with Archive(tmp_path / "a.db") as check:
        assert check.runs()[0]["complete"] == 0


def test_article_source_url_is_the_listed_url_not_the_last_hop() -> None:
    request = Request("https://x.gov.vn/new/slug.html", meta={"redirect_urls": ["https://x.gov.vn/old?id=7"]})
    html = "<html><body><h1>Tiêu đề</h1><p>" + "Nội dung. " * 20 + "</p></body></html>"
    response = HtmlResponse("https://x.gov.vn/new/slug.html", body=html.encode(), encoding="utf-8", request=request)
    item = get_platform("generic")().parse_article(response, portal="p")
    assert item.source_url == "https://x.gov.vn/old?id=7" and item.final_url == "https://x.gov.vn/new/slug.html"
    from portal_spiders.spiders.base import PortalSpider

    assert PortalSpider.listed_url(request) == "https://x.gov.vn/old?id=7"
    assert PortalSpider.listed_url(Request("https://x.gov.vn/b", meta={"listed_url": "https://x.gov.vn/a"})) == \
        "https://x.gov.vn/a"


@pytest.mark.parametrize("platform", ["generic", "tandan", "mas_portal", "upload_portal", "nukeviet", "liferay",
                                      "vccorp"])
def test_xhtml_pages_with_an_xml_declaration_parse(platform: str) -> None:
    """XHTML pages open with `<?xml ... encoding="utf-8"?>`, which libxml2 refuses in a decoded string; the
    response's own decoding wins over a `<meta charset>` that says otherwise."""
    head = ('<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
            '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n<html xmlns="http://www.w3.org/1999/xhtml">'
            '<head><meta http-equiv="Content-Type" content="text/html; charset=windows-1258" />'
            '<title>Đà Nẵng đón khách</title></head>')
    article = head + ("<body><div><h1>Đà Nẵng đón khách</h1><p>" + "Nội dung bài viết. " * 20 + "</p>"
                      "<p>Đoạn hai của bài viết.</p></div></body></html>")
    url = "https://x.gov.vn/tin-tuc/da-nang-don-khach.html"
    response = HtmlResponse(url, body=article.encode(), encoding="utf-8", request=Request(url))
    item = get_platform(platform)().parse_article(response, portal="p")
    assert item.title == "Đà Nẵng đón khách" and "Nội dung bài viết." in (item.body_text or "")
    listing = head + "<body>" + "".join(f'<p><a href="/tin-tuc/bai-{i}.html">Bài số {i} về Đà Nẵng</a></p>'
                                        for i in range(3)) + "</body></html>"
    listing_url = "https://x.gov.vn/tin-tuc"
    page = get_platform(platform)().parse_listing(HtmlResponse(listing_url, body=listing.encode(), encoding="utf-8",
                                                               request=Request(listing_url)))
    assert page is not None  # parsed, not raised


# -- 3. listing parse time is linear in the number of links ---------------------------------------------------


def _big_listing(n: int) -> HtmlResponse:
    items = "".join(f'<li><a href="/node/{10000 + i}">Tin số {i}</a> <span>{1 + i % 28:02d}/03/2024</span></li>'
                    for i in range(n))
    html = f"<html><body><main><ul>{items}</ul></main></body></html>"
    url = "https://tuyentruyen.langson.gov.vn/"
    return HtmlResponse(url, body=html.encode(), encoding="utf-8", request=Request(url))


def test_listing_work_is_linear_in_the_number_of_links(monkeypatch: pytest.MonkeyPatch) -> None:
    """Characters of text read while parsing a listing, for 500 and 2,000 links in one container (the old
    date lookup read the whole container per link: 16x the work for 4x the links)."""
    import portal_spiders.platforms.generic as generic_module
    from portal_spiders.platforms import base

    read = [0]
    real_bounded, real_inline = base._bounded_text, base.inline_text

    def bounded(node, limit):
        text = real_bounded(node, limit)
        read[0] += len(text)
        return text

    def inline(node):
        text = real_inline(node)
        read[0] += len(text)
        return text

    monkeypatch.setattr(base, "_bounded_text", bounded)
    monkeypatch.setattr(base, "inline_text", inline)
    monkeypatch.setattr(generic_module, "inline_text", inline)
    work = {}
    for n in (500, 2000):
        read[0] = 0
        listing = get_platform("generic")().parse_listing(_big_listing(n))
        assert len(listing.entries) == n and listing.entries[7].published.endswith("08/03/2024")
        work[n] = read[0]
    assert work[2000] < 4.5 * work[500], work


def test_linear_css_matches_parsel_on_every_fixture() -> None:
    """css_select/select_all (right-to-left matching, one walk for many selectors) select exactly what parsel's
    CSS selects, for every selector the platforms use, on every saved page."""
    import glob

    import lxml.html
    from parsel import Selector

    from portal_spiders.platforms import base

    names = ("generic", "liferay", "mas_portal", "nukeviet", "tandan", "upload_portal", "vccorp")
    groups = [(*base.ALWAYS_REMOVE, *base.CHROME_SELECTORS), base.PAGER_CONTAINERS]
    for name in names:
        parser = get_platform(name)()
        groups += [tuple(parser.selectors[f]) for f in ("listing_links", "next_page", "remove", "title", "body",
                                                         "tags", "attachments", "category")]
        groups.append(tuple(parser._removals_for_listing()))
    for path in glob.glob(str(ROOT / "tests" / "fixtures" / "*" / "*.html")):
        text = Path(path).read_text(encoding="utf-8", errors="replace")
        root = lxml.html.document_fromstring(text)
        sel = Selector(root=root, type="html")
        for group in groups:
            union = set()
            for css in group:
                assert base.css_select(sel, css) == [n.root for n in sel.css(css)], (path, css)
                union |= {n.root for n in sel.css(css)}
            assert set(base.select_all(root, group)) == union, (path, group)
            # skipping the selectors whose names the page's text lacks changes nothing
            assert set(base.select_all(root, group, text=text)) == union, (path, group)
            expected = [[n.root for n in sel.css(css)] for css in group]
            assert base.css_select_each(sel, group) == expected, (path, group)
            assert base.css_select_each(sel, group, text=text) == expected, (path, group)


def test_chains_look_inside_their_first_compound_only_when_that_is_exact() -> None:
    """A chain whose first compound is rare (``.pagination a``) looks inside those elements alone: nested anchors,
    child combinators, an anchor that is the scope itself, many anchors and upper-case attribute names (parsel
    lower-cases them too) all select what parsel selects, in document order."""
    import lxml.html
    from parsel import Selector

    from portal_spiders.platforms import base

    many = "".join(f'<div class="box"><a href="/b{i}">{i}</a></div>' for i in range(base.ANCHORS + 5))
    text = ('<html><body><div class="pagination"><a href="/1">1</a><div class="pagination"><a href="/2">2</a>'
            '<span><a href="/3" class="next">3</a></span></div></div><a href="/4">4</a>'
            f'<ul class="pager"><li class="x"><a href="/5">5</a></li></ul><nav ROLE="navigation"><a href="/6">6</a>'
            f'</nav>{many}<div class="pagination"><a href="/7" class="next">7</a></div></body></html>')
    root = lxml.html.document_fromstring(text)
    sel = Selector(root=root, type="html")
    selectors = (".pagination a", ".pagination > a", ".pagination span a.next", "ul.pager li a", ".box a",
                 "[role=navigation] a", "[ROLE=navigation] a", ".pagination .pagination a", "div.missing a")
    for css in selectors:
        assert base.css_select(sel, css) == [n.root for n in sel.css(css)], css
    assert base.css_select_each(sel, selectors, text=text) == [[n.root for n in sel.css(css)] for css in selectors]
    pager = base.css_select(sel, ".pagination")[0]
    assert base.css_select(pager, ".pagination a") == [n.root for n in Selector(root=pager, type="html").css(
        ".pagination a")]


def test_selectors_skipped_by_the_page_text_only_when_they_cannot_match() -> None:
    """select_all(text=...) skips a selector only when a class, id or attribute it needs is absent from the HTML;
    a pseudo-class such as :not(.x) or an attribute value that looks like a class is never a reason to skip."""
    import lxml.html

    from portal_spiders.platforms import base

    text = ('<html><body><div class="item">a</div><div id="Main" HIDDEN>b</div>'
            '<a href="/file.pdf">c</a></body></html>')
    root = lxml.html.document_fromstring(text)
    tags = {css: [el.tag for el in base.select_all(root, [css], text=text)] for css in (
        ".item", ".absent", "#Main", "#main", "[hidden]", "[aria-hidden=true]", "div:not(.absent)",
        "a[href$='.pdf']", "[class*=ite]", "[class*=pager]")}
    assert tags == {".item": ["div"], ".absent": [], "#Main": ["div"], "#main": [], "[hidden]": ["div"],
                    "[aria-hidden=true]": [], "div:not(.absent)": ["div", "div"], "a[href$='.pdf']": ["a"],
                    "[class*=ite]": ["div"], "[class*=pager]": []}


# -- 4. pagers on every platform --------------------------------------------------------------------------------

PAGERS = {
    "wordpress-nav": '<nav class="navigation pagination"><div class="nav-links"><span aria-current="page" '
                     'class="page-numbers current">1</span><a class="page-numbers" href="/page/2/">2</a>'
                     '<a class="next page-numbers" href="/page/2/">Trang sau »</a></div></nav>',
    "drupal-nav": '<nav class="pager" role="navigation"><ul class="pager__items"><li class="pager__item '
                  'is-active">1</li><li class="pager__item pager__item--next"><a href="?page=1" title="Go to next '
                  'page"><span aria-hidden="true">››</span></a></li></ul></nav>',
    "bootstrap-ul": '<ul class="pagination"><li class="active"><span>1</span></li><li><a href="/page/2/">2</a></li>'
                    '<li><a href="/page/3/">3</a></li><li><a href="/page/2/">»</a></li></ul>',
    "pager-tiep": '<div class="pager"><a href="/page/2/">Tiếp</a></div>',
    "numbers-only": '<div class="paging"><b>1</b> <a href="/page/2/">2</a> <a href="/page/3/">3</a></div>',
    "label-anywhere": '<p class="more"><a href="/page/2/">Trang sau</a></p>',
    "head-link": "",
}


@pytest.mark.parametrize("style", sorted(PAGERS))
@pytest.mark.parametrize("platform", ["generic", "mas_portal", "nukeviet", "upload_portal", "tandan"])
def test_pager_is_followed_on_every_platform(platform: str, style: str) -> None:
    url = "https://x.gov.vn/tin-tuc"
    head = '<link rel="next" href="/page/2/">' if style == "head-link" else ""
    html = (f"<html><head><title>Tin</title>{head}</head><body><header><nav><a href='/'>Trang chủ</a></nav></header>"
            f"<main><div class='views-row'><h3><a href='/node/12345'>Tin 1</a></h3></div>{PAGERS[style]}</main>"
            "</body></html>")
    response = HtmlResponse(url, body=html.encode(), encoding="utf-8", request=Request(url))
    listing = get_platform(platform)().parse_listing(response)
    wanted = "https://x.gov.vn/tin-tuc?page=1" if style == "drupal-nav" else "https://x.gov.vn/page/2/"
    assert [r.url for r in listing.next_requests] == [wanted]
    assert listing.pager_shown


def test_pager_on_a_later_page_and_the_last_page() -> None:
    url = "https://x.gov.vn/page/2/"
    pager = ('<ul class="pagination"><li><a href="/page/1/">1</a></li><li class="active"><a href="/page/2/">2</a>'
             '</li><li><a href="/page/3/">3</a></li></ul>')
    html = f"<html><body><main><a href='/node/12345'>Tin</a>{pager}</main></body></html>"
    listing = get_platform("generic")().parse_listing(HtmlResponse(url, body=html.encode(), encoding="utf-8"))
    assert [r.url for r in listing.next_requests] == ["https://x.gov.vn/page/3/"]
    last = html.replace('<li><a href="/page/3/">3</a></li>', "")
    listing = get_platform("generic")().parse_listing(HtmlResponse(url, body=last.encode(), encoding="utf-8"))
    assert listing.next_requests == [] and not listing.pager_shown


def test_a_pager_that_cannot_be_followed_is_still_shown() -> None:
    html = ("<html><body><main><a href='/node/12345'>Tin</a><div class='pagination'><span>1</span>"
            "<a href='javascript:void(0)' onclick='go(2)'>2</a><a href='javascript:void(0)'>Tiếp »</a></div>"
            "</main></body></html>")
    listing = get_platform("generic")().parse_listing(HtmlResponse("https://x.gov.vn/", body=html.encode(),
                                                                   encoding="utf-8"))
    assert listing.next_requests == [] and listing.pager_shown


def test_next_labels() -> None:
    for text in ("Trang sau", "Tiếp »", "»", "›", "Next", "TRANG SAU ›", "Kế tiếp", "Bài cũ hơn"):
        assert is_next_label(text), text
    for text in ("Xem tiếp", "Đọc tiếp", "Trang cuối", "«", "1", "Trước", "Tin tiếp theo của tỉnh"):
        assert not is_next_label(text), text


def test_health_flags_a_listing_stuck_on_page_one() -> None:
    run = {"id": 2, "portal": "p", "finish_reason": "finished", "items_new": 3, "complete": 1,
           "coverage": '{"published": 1.0, "body_text": 1.0}', "stats": '{"govarchive/pager_not_followed": 2}',
           "started_at": datetime.now(UTC).isoformat()}
    problems = assess(run, [], now=datetime.now(UTC), stale_days=2).problems
    assert problems == ["2 listing(s) show a pager but only page 1 was read: pagination not followed"]


# -- 6. the lock holds for every name of the file ---------------------------------------------------------------


def test_lock_holds_for_a_hard_link_and_a_symlink(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    db.write_bytes(b"")
    (tmp_path / "hard.db").hardlink_to(db)
    (tmp_path / "sym.db").symlink_to(db)
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from govarchive.locking import acquire_lock;"
                               "acquire_lock(sys.argv[1]); print('held', flush=True); time.sleep(60)", str(db)],
                              stdout=subprocess.PIPE, text=True, cwd=ROOT, env=clean_env())
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        for name in ("hard.db", "sym.db", "a.db"):
            with pytest.raises(ArchiveLocked, match=f"pid {holder.pid}"):
                acquire_lock(tmp_path / name)
    finally:
        holder.kill()
        holder.wait()
    acquire_lock(tmp_path / "hard.db")  # in one process, every name re-enters the same lock
    acquire_lock(tmp_path / "a.db")
    release_lock(tmp_path / "a.db")
    release_lock(tmp_path / "hard.db")


# -- 7. size caps ---------------------------------------------------------------------------------------------------


def test_fields_are_capped_and_the_cut_is_recorded(tmp_path: Path) -> None:
    item = _article(1, summary="Tóm tắt.", tags=[f"thẻ {i}" for i in range(300)],
                    attachments=[{"url": f"https://x/{i}.pdf", "name": "x" * 5000} for i in range(3)])
    item.title = "Tiêu đề rất dài " * 600_000  # ~10 MB
    NormalizePipeline().process_item(item)
    assert len(item.title) <= FIELD_CAPS["title"] and item.title.startswith("Tiêu đề rất dài")
    assert item.truncated["title"] > 9_000_000 and item.truncated["tags"] == 300 and len(item.tags) == 100
    assert item.truncated["attachments"] == 3 and all(len(a["name"]) <= 1000 for a in item.attachments)
    assert item.summary == "Tóm tắt." and "summary" not in item.truncated
    with Archive(tmp_path / "a.db") as archive:
        item.content_hash = article_hash(item)
        archive.store_article(__import__("itemadapter").ItemAdapter(item).asdict(), content_hash=item.content_hash)
        row = archive.get_article(item.url)
        assert __import__("json").loads(row["truncated"])["title"] == item.truncated["title"]


# -- 8. no command writes the archive except through the archive module ---------------------------------------


@pytest.fixture
def archive_copy(tmp_path: Path) -> Path:
    db = tmp_path / "a.db"
    shutil.copy(ROOT / "tests" / "data" / "archive-0.1.0.db", db)
    return db


@pytest.mark.parametrize("target", ["a.db", "./a.db", "hard.db", "sym.db", "a.db-wal", "a.db-shm", "a.db.lock",
                                    "hard.db-wal", "other.sqlite"])
@pytest.mark.parametrize("command", [["export", "-o"], ["health", "--json"], ["crawl", "laichau-dcs", "--log-file"]])
def test_outputs_never_overwrite_the_archive(archive_copy: Path, capsys, monkeypatch, target: str,
                                             command: list[str]) -> None:
    monkeypatch.chdir(archive_copy.parent)
    (archive_copy.parent / "hard.db").hardlink_to(archive_copy)
    (archive_copy.parent / "sym.db").symlink_to(archive_copy)
    sqlite3.connect(archive_copy.parent / "other.sqlite").execute("create table t (x)").connection.commit()
    before = archive_copy.read_bytes()
    rc = main(["--db", str(archive_copy), *command, target])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "error: refusing to " in err and "Traceback" not in err, err
    assert archive_copy.read_bytes() == before
    assert not (archive_copy.parent / "a.db.lock").exists() or target == "a.db.lock"


# -- 9. query commands on an archive in a read-only directory ------------------------------------------------------


def _without_dac_override() -> None:
    """preexec_fn: root keeps uid 0 but loses the capabilities that bypass file permissions."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH: dropped from the bounding set before exec
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def run_as_reader(*args: str) -> subprocess.CompletedProcess[str]:
    """``govarchive ARGS`` as a user who cannot write the archive's directory (root without DAC override)."""
    return subprocess.run([sys.executable, "-m", "govarchive.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False, env=clean_env(),
                          preexec_fn=_without_dac_override if os.geteuid() == 0 else None)


@pytest.fixture
def readonly_dir() -> Iterator[Path]:
    """A directory holding a copy of the 0.1.0 archive, made read-only (undone afterwards)."""
    path = Path(tempfile.mkdtemp(prefix="govarchive-ro-"))
    shutil.copy(ROOT / "tests" / "data" / "archive-0.1.0.db", path / "a.db")
    with Archive(path / "a.db"):  # the current schema: an analyst receives an up-to-date archive
        pass
    path.chmod(0o555)
    try:
        yield path
    finally:
        path.chmod(0o755)
        shutil.rmtree(path)


@pytest.mark.parametrize("argv", [["stats"], ["show", "1"], ["search", "Đà Nẵng"], ["export", "--format", "csv"],
                                  ["health", "--stale-days", "100000"], ["serve", "--print-metadata"]],
                         ids=lambda a: a[0])
def test_query_commands_read_an_archive_in_a_read_only_directory(readonly_dir: Path, argv: list[str]) -> None:
    before = sorted(p.name for p in readonly_dir.iterdir())
    result = run_as_reader("--db", str(readonly_dir / "a.db"), *argv)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout and "Traceback" not in result.stderr
    assert sorted(p.name for p in readonly_dir.iterdir()) == before  # nothing created (no -wal, -shm)


def test_read_only_directory_with_an_unmerged_wal_is_a_clear_error(readonly_dir: Path, tmp_path: Path) -> None:
    """The files a crashed writer leaves: the database and a -wal holding its last commits, no -shm."""
    shutil.copy(readonly_dir / "a.db", tmp_path / "w.db")
    conn = sqlite3.connect(tmp_path / "w.db")
    conn.execute("pragma journal_mode=wal")
    conn.execute("pragma wal_autocheckpoint=0")
    conn.execute("insert into meta (key, value) values ('crashed', 'writer')")
    conn.commit()
    readonly_dir.chmod(0o755)
    shutil.copy(tmp_path / "w.db", readonly_dir / "a.db")
    shutil.copy(tmp_path / "w.db-wal", readonly_dir / "a.db-wal")
    conn.close()
    readonly_dir.chmod(0o555)
    result = run_as_reader("--db", str(readonly_dir / "a.db"), "stats")
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "write-ahead log" in result.stderr and "read-only" in result.stderr


def test_immutable_snapshot_notices_a_writer(tmp_path: Path, caplog) -> None:
    db = tmp_path / "a.db"
    shutil.copy(ROOT / "tests" / "data" / "archive-0.1.0.db", db)
    from govarchive.archive import _identity

    archive = Archive(db, readonly=True)  # as if opened from a read-only directory (root may write anywhere)
    archive.immutable, archive._snapshot = True, (_identity(db), _identity(Path(f"{db}-wal")))
    assert not archive.snapshot_changed()
    with Archive(db) as writer:
        writer.start_run("x")
        assert archive.snapshot_changed()
    archive.close()
    assert "changed while it was read" in caplog.text


# -- 10. Retry-After ------------------------------------------------------------------------------------------------


def test_retry_after_values() -> None:
    now = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    assert parse_retry_after("120") == 120.0 and parse_retry_after(b" 7 ") == 7.0
    assert parse_retry_after("Fri, 27 Nov 2026 10:05:00 GMT", now=now) == 300.0
    assert parse_retry_after("Fri, 27 Nov 2026 09:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after("") is None and parse_retry_after(None) is None
    assert parse_retry_after("-5") is None


# -- 11. the misc list -------------------------------------------------------------------------------------------


def test_impossible_date_keeps_its_raw_text() -> None:
    html = ("<html><body><h1>Tiêu đề</h1><div class='date'>Ngày đăng: 31/02/2024 10:00</div><div class='content'>"
            + "<p>Nội dung bài viết.</p>" * 10 + "</div></body></html>")
    response = HtmlResponse("https://x.gov.vn/a-12345.html", body=html.encode(), encoding="utf-8",
                            request=Request("https://x.gov.vn/a-12345.html"))
    item = get_platform("generic")().parse_article(response, portal="p")
    NormalizePipeline().process_item(item)
    assert item.published is None and item.published_raw and "31/02/2024" in item.published_raw
    assert item.field_sources["published"].endswith(":unparsed")


def test_charset_conflict_between_header_and_meta_is_detected() -> None:
    html = '<html><head><meta charset="utf-8"><title>Tiêu đề</title></head><body><h1>Đà Nẵng</h1></body></html>'
    response = HtmlResponse("https://x.gov.vn/", body=html.encode("utf-8"),
                            headers={"Content-Type": "text/html; charset=iso-8859-1"})
    assert "Ä" in response.text  # what Scrapy (and a browser) would read
    fixed, note = checked_encoding(response)
    assert "Đà Nẵng" in fixed.text and note == "conflict:header=cp1252,meta=utf-8,used=utf-8"
    legacy = HtmlResponse("https://x.gov.vn/", body='<meta charset="windows-1258"><h1>Hà Nam</h1>'.encode("cp1258"),
                          headers={"Content-Type": "text/html; charset=utf-8"})
    fixed, note = checked_encoding(legacy)
    assert "Hà Nam" in fixed.text and note.endswith("used=cp1258")
    agreeing = HtmlResponse("https://x.gov.vn/", body=html.encode(),
                            headers={"Content-Type": "text/html; charset=UTF-8"})
    assert checked_encoding(agreeing) == (agreeing, None)


@pytest.mark.parametrize(("url", "sharepoint", "canonical"), [
    ("https://laichau.dcs.vn/Pages/chi-tiet-tin.aspx?itemid=5", True,
     "https://laichau.dcs.vn/pages/chi-tiet-tin.aspx?ItemID=5"),
    ("https://laichau.dcs.vn/Pages/chi-tiet-tin.aspx?ItemID=5&Source=%2FPages%2Ftin-hoat-dong.aspx", True,
     "https://laichau.dcs.vn/pages/chi-tiet-tin.aspx?ItemID=5"),
    ("https://laichau.dcs.vn/Pages/chi-tiet-tin.aspx?ITEMID=5&source=https%3A%2F%2Flaichau.dcs.vn%2F", True,
     "https://laichau.dcs.vn/pages/chi-tiet-tin.aspx?ItemID=5"),
    ("https://bacgiang.gov.vn/web/guest/-/bai-viet;jsessionid=8F3A2B1C0D9E8F7A6B5C4D3E2F1A0B9C", False,
     "https://bacgiang.gov.vn/web/guest/-/bai-viet"),
    ("https://x.gov.vn/index.php?nv=news&op=tin/slug-123&PHPSESSID=0a1b2c3d4e5f", False,
     "https://x.gov.vn/index.php?nv=news&op=tin%2Fslug-123"),
    ("https://x.gov.vn/(S(lit3py55t21z5v55vlm25s55))/tin.aspx?id=3", False, "https://x.gov.vn/tin.aspx?id=3"),
    ("https://x.gov.vn/a.php?id=3&source=rss", False, "https://x.gov.vn/a.php?id=3&source=rss"),
    ("https://fdi.mof.gov.vn/Pages/chitiettin.aspx?idTin=5123&idcm=9", True,
     "https://fdi.mof.gov.vn/pages/chitiettin.aspx?idTin=5123&idcm=9"),
])
def test_session_ids_and_sharepoint_spellings_collapse(url: str, sharepoint: bool, canonical: str) -> None:
    assert canonical_url(url, case_insensitive_path=sharepoint) == canonical


def test_crawl_refuses_a_sqlite_file_that_is_not_an_archive(tmp_path: Path, capsys) -> None:
    other = tmp_path / "notes.db"
    conn = sqlite3.connect(other)
    conn.execute("create table notes (body text)")
    conn.execute("insert into notes values ('giữ nguyên')")
    conn.commit()
    conn.close()
    before = other.read_bytes()
    rc = main(["crawl", "laichau-dcs", "--db", str(other), "--replica", "http://127.0.0.1:9"])
    err = capsys.readouterr().err
    last = err.splitlines()[-1]  # after the REPLICA MODE notice
    assert rc == 2 and "not a govarchive archive" in last and "notes" in last and "Traceback" not in err, err
    assert other.read_bytes() == before
    with pytest.raises(ArchiveError, match="not a govarchive archive"):
        Archive(other)


def test_refresh_days_reaches_past_the_incremental_stop() -> None:
    archived = {f"a{i}": (1, f"2026-11-{27 - i:02d}T08:00:00+07:00") for i in range(20)}
    walk = ListingWalk("incremental", lookup=archived.get, last_complete_run=1, refresh_days=12,
                       today=date(2026, 11, 27))
    fetched, pages = [], 0
    for page in range(6):
        urls = [f"a{i}" for i in range(page * 5, page * 5 + 5)]
        fetched += [u for u in urls if walk.wants("c", u)]
        pages += 1
        if not walk.next_page("c", len(urls)):
            break
    assert fetched == [f"a{i}" for i in range(13)]  # 27/11 back to 15/11: all 13 days of the window
    assert pages == 4  # the page after the last one with window articles is read; the one after it is not
