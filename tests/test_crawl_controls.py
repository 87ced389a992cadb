"""Crawl controls that change what a crawl does: retry backoff, registry ``selectors``, ``max_pages``, ``politeness``.

The fast tests build spiders from a registry file in ``tmp_path`` in this process; the slow ones crawl the replica.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse, Response
from scrapy.utils.test import get_crawler
from twisted.internet.error import ConnectionRefusedError as Refused
from twisted.internet.error import TCPTimedOutError

from govarchive.archive import Archive
from govarchive.replica.server import ReplicaServer, ReplicaState
from govarchive.replica.sites import Reply
from portal_spiders import politeness
from portal_spiders.politeness import BackoffRetryMiddleware, backoff_delay
from portal_spiders.registry import PortalConfig, load_registry
from portal_spiders.spiders.portals import spider_class

SLUG = "laichau-dcs"
HOST = "laichau.dcs.vn"
ENTRY = """
[[portal]]
slug = "x-dcs"
name = "Cổng TTĐT Đảng bộ tỉnh X"
platform = "mas_portal"
start_urls = ["https://x.dcs.vn/Pages/tin-hoat-dong.aspx"]
"""


def _portal(tmp_path: Path, extra: str = "") -> PortalConfig:
    path = tmp_path / "portals.toml"
    path.write_text(ENTRY + extra, encoding="utf-8")
    return load_registry(path)["x-dcs"]


# -- exponential retry backoff -----------------------------------------------------------------------------------


def test_backoff_doubles_per_retry_up_to_the_cap() -> None:
    assert [backoff_delay(n, 2.0, 60.0) for n in range(1, 8)] == [2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]
    assert [backoff_delay(n, 0.5, 3.0) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 3.0]
    assert backoff_delay(3, 0.0, 60.0) == 0.0  # RETRY_BACKOFF_BASE=0: retries without waiting



class _Clock:
    """A fake ``time.monotonic`` and ``sleep`` for the retry middleware: sleeping records the delay and advances."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        """The fake monotonic time."""
        return self.now

    async def sleep(self, seconds: float) -> None:
        """Record the wait and move the clock on, without waiting."""
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    """Every wait of :mod:`portal_spiders.politeness` (backoff and host pauses) recorded on a fake clock."""
    fake = _Clock()
    monkeypatch.setattr(politeness, "time", SimpleNamespace(monotonic=fake.monotonic))
    monkeypatch.setattr(politeness, "sleep", fake.sleep)
    return fake


def _middleware(base: float) -> BackoffRetryMiddleware:
    """The project's retry middleware on a crawler with production retry settings and ``RETRY_BACKOFF_BASE=base``."""
    spidercls = spider_class(load_registry()[SLUG])
    crawler = get_crawler(spidercls, {"RETRY_TIMES": 3, "RETRY_HTTP_CODES": [500, 502, 503, 504, 408, 429],
                                      "RETRY_BACKOFF_BASE": base, "RETRY_BACKOFF_MAX": 60.0,
                                      "RETRY_AFTER_MAX": 600.0})
    crawler.spider = spidercls.from_crawler(crawler)
    crawler.stats.open_spider()
    return BackoffRetryMiddleware.from_crawler(crawler)


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_the_only_wait_even_with_a_backoff_base(clock: _Clock, status: int) -> None:
    mw = _middleware(base=5.0)
    url = f"https://{HOST}/Pages/chi-tiet-tin.aspx?ItemID=7"
    request = Request(url)
    response = HtmlResponse(url, status=status, headers={"Retry-After": "7"}, body=b"busy", request=request)

    async def answer_then_send_again() -> Request | Response:
        retry = await mw.process_response(request, response)
        await mw.pauses.wait(url)  # what the download handler does before the retry goes out
        return retry

    retry = asyncio.run(answer_then_send_again())
    assert isinstance(retry, Request) and retry.url == url and retry.meta["retry_times"] == 1
    assert clock.sleeps == [7.0]  # the host's pause, and no 5 s backoff before or after it
    stats = mw.crawler.stats.get_stats()
    assert stats["govarchive/retry_after_pauses"] == 1 and stats["govarchive/retry_after_seconds"] == 7.0
    assert "retry/backoff_seconds" not in stats


def test_a_network_error_retries_after_the_backoff(clock: _Clock) -> None:
    mw = _middleware(base=1.5)
    url = f"https://{HOST}/Pages/chi-tiet-tin.aspx?ItemID=7"
    first = asyncio.run(mw.process_exception(Request(url), TCPTimedOutError()))
    assert isinstance(first, Request) and first.meta["retry_times"] == 1
    second = asyncio.run(mw.process_exception(first, Refused()))
    assert isinstance(second, Request) and second.meta["retry_times"] == 2
    assert clock.sleeps == [1.5, 3.0]  # base, then twice the base
    assert mw.crawler.stats.get_value("retry/backoff_seconds") == 4.5


@pytest.fixture
def small() -> Iterator[ReplicaServer]:
    with ReplicaServer(ReplicaState.from_registry([SLUG])) as server:
        yield server


@pytest.mark.slow
def test_a_retried_page_waits_twice_as_long_each_time(small: ReplicaServer, crawl, tmp_path: Path) -> None:
    site = small.state.site(SLUG)
    article = site.live_articles[3]
    arrivals: list[float] = []
    lock = threading.Lock()
    serve = site.handle

    def flaky(method: str, path: str, query: dict[str, list[str]], form: dict[str, list[str]]) -> Reply | None:
        """The article page answers 503 (no Retry-After) three times, then normally."""
        if path.lower() == "/pages/chi-tiet-tin.aspx" and query.get("ItemID") == [str(article.id)]:
            with lock:
                arrivals.append(time.monotonic())
                if len(arrivals) <= 3:
                    return Reply(503, b"<html><body>Service Unavailable</body></html>")
        return serve(method, path, query, form)

    site.handle = flaky  # type: ignore[method-assign]
    base = 0.2
    db = tmp_path / "a.db"
    result = crawl(SLUG, db, small.url, "-s", f"RETRY_BACKOFF_BASE={base}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(arrivals) == 4  # three 503s, then the page (RETRY_TIMES = 3)
    gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
    # Lower bounds only (a loaded machine makes gaps longer, never shorter); 10 ms for timer granularity.
    for gap, wait in zip(gaps, (base, 2 * base, 4 * base), strict=True):
        assert gap >= wait - 0.01, (gaps, wait)
    with Archive(db, readonly=True) as archive:
        run = archive.runs(SLUG, limit=1)[0]
        stats = json.loads(run["stats"])
        assert stats["retry/backoff_seconds"] == pytest.approx(base + 2 * base + 4 * base)
        assert stats["retry/count"] == 3
        assert run["complete"] == 1 and archive.count("failures") == 0
        assert archive.get_article(site.expected(article)["url"])["title"] == article.title


# -- registry selectors ----------------------------------------------------------------------------------------

REDESIGNED = """<html><head><title>Cổng TTĐT Đảng bộ tỉnh X</title></head><body>
<div class="news-detail"><h1>Tin hoạt động</h1>
<div class="tieu-de-bai">Hội nghị Ban Chấp hành Đảng bộ tỉnh lần thứ 20</div>
<div class="date-detail"><span>08:15 20/11/2026</span></div>
<div class="ms-rtestate-field"><p>Khối giới thiệu chung của chuyên mục, không thuộc bài viết.</p></div>
<div class="noi-dung-bai"><p>Sáng 20/11, Ban Chấp hành Đảng bộ tỉnh tổ chức Hội nghị lần thứ 20.</p>
<p>Hội nghị thảo luận, cho ý kiến vào các báo cáo quan trọng.</p></div>
</div></body></html>"""


def _parse(portal: PortalConfig, html: str) -> object:
    spider = spider_class(portal)()
    response = HtmlResponse("https://x.dcs.vn/Pages/chi-tiet-tin.aspx?ItemID=7", body=html.encode(), encoding="utf-8")
    return spider.platform.parse_article(response, portal=portal.slug)


def test_registry_selectors_come_before_the_platforms(tmp_path: Path) -> None:
    plain = _parse(_portal(tmp_path), REDESIGNED)
    assert plain.title == "Tin hoạt động"  # the platform's own `.news-detail h1` reads the wrong heading
    portal = _portal(tmp_path, 'selectors = {title = [".tieu-de-bai"], body = [".noi-dung-bai"]}\n')
    assert portal.selectors == {"title": [".tieu-de-bai"], "body": [".noi-dung-bai"]}
    item = _parse(portal, REDESIGNED)
    assert item.title == "Hội nghị Ban Chấp hành Đảng bộ tỉnh lần thứ 20"
    assert item.field_sources["title"] == "css:.tieu-de-bai" and item.field_sources["body"] == "css:.noi-dung-bai"
    assert item.body_text.startswith("Sáng 20/11, Ban Chấp hành") and "giới thiệu chung" not in item.body_text
    assert item.published == "2026-11-20T08:15:00+07:00"  # fields without an override keep the platform's


SHARED = """<html><head><title>Cổng TTĐT Đảng bộ tỉnh X</title></head><body>
<div class="news-detail"><h1>Hội nghị Ban Chấp hành Đảng bộ tỉnh lần thứ 20</h1>
<div class="date-detail"><span>08:15 20/11/2026</span></div>
<div class="ms-rtestate-field"><p>Sáng 20/11, Ban Chấp hành Đảng bộ tỉnh tổ chức Hội nghị lần thứ 20.</p>
<div class="chia-se-bai">Chia sẻ bài viết qua Facebook và Zalo</div>
<p>Hội nghị thảo luận, cho ý kiến vào các báo cáo quan trọng.</p></div>
</div></body></html>"""


def test_a_registry_remove_override_drops_a_block_from_the_article(tmp_path: Path) -> None:
    plain = _parse(_portal(tmp_path), SHARED)
    assert "Chia sẻ bài viết" in plain.body_text  # the platform's removals do not know the share box
    portal = _portal(tmp_path, 'selectors = {remove = [".chia-se-bai"]}\n')
    item = _parse(portal, SHARED)
    assert "Chia sẻ bài viết" not in item.body_text and "Chia sẻ bài viết" not in (item.body_html or "")
    assert item.body_text.startswith("Sáng 20/11") and item.body_text.endswith("các báo cáo quan trọng.")
    assert item.title == plain.title == "Hội nghị Ban Chấp hành Đảng bộ tỉnh lần thứ 20"


REDESIGNED_LISTING = """<html><head><title>Tin hoạt động</title></head><body>
<div class="ms-webpart-zone"><h2>Đọc nhiều</h2>
<h3><a href="/Pages/chi-tiet-tin.aspx?ItemID=90">Bài đọc nhiều nhất tuần</a></h3></div>
<ul class="ds-tin">
<li><a class="lk" href="/Pages/chi-tiet-tin.aspx?ItemID=12">Hội nghị Ban Chấp hành lần thứ 20</a></li>
<li><a class="lk" href="/Pages/chi-tiet-tin.aspx?ItemID=11">Kỳ họp thứ 9 Hội đồng nhân dân tỉnh</a></li>
</ul>
<div class="phan-trang"><a class="trang-tiep" href="/Pages/tin-hoat-dong.aspx?Page=2">Xem các bài cũ hơn</a></div>
</body></html>"""


def _parse_listing(portal: PortalConfig) -> object:
    spider = spider_class(portal)()
    response = HtmlResponse("https://x.dcs.vn/Pages/tin-hoat-dong.aspx", body=REDESIGNED_LISTING.encode(),
                            encoding="utf-8")
    return spider.platform.parse_listing(response)


def test_registry_listing_selectors_come_before_the_platforms(tmp_path: Path) -> None:
    plain = _parse_listing(_portal(tmp_path))
    # the platform's `.ms-webpart-zone h3 a` reads the "most read" box, and no pager link is recognised
    assert [e.url for e in plain.entries] == ["https://x.dcs.vn/Pages/chi-tiet-tin.aspx?ItemID=90"]
    assert plain.next_requests == []
    portal = _portal(tmp_path, 'selectors = {listing_links = [".ds-tin a.lk"], next_page = ["a.trang-tiep"]}\n')
    listing = _parse_listing(portal)
    assert [(e.url, e.title) for e in listing.entries] == [
        ("https://x.dcs.vn/Pages/chi-tiet-tin.aspx?ItemID=12", "Hội nghị Ban Chấp hành lần thứ 20"),
        ("https://x.dcs.vn/Pages/chi-tiet-tin.aspx?ItemID=11", "Kỳ họp thứ 9 Hội đồng nhân dân tỉnh")]
    assert [(r.method, r.url) for r in listing.next_requests] == [
        ("GET", "https://x.dcs.vn/Pages/tin-hoat-dong.aspx?Page=2")]


# -- max_pages -----------------------------------------------------------------------------------------------


def test_max_pages_comes_from_the_registry_unless_the_spider_argument_says(tmp_path: Path) -> None:
    assert spider_class(_portal(tmp_path))().max_pages == 50
    spidercls = spider_class(_portal(tmp_path, "max_pages = 3\n"))
    assert spidercls().max_pages == 3
    assert spidercls(max_pages="2").max_pages == 2


@pytest.fixture
def large() -> Iterator[ReplicaServer]:
    """60 articles: 20 per listing (two category pages and the SharePoint list), four pages of 5 each."""
    with ReplicaServer(ReplicaState.from_registry([SLUG], articles_per_portal=60)) as server:
        yield server


@pytest.mark.slow
def test_max_pages_stops_every_listing_after_that_many_pages(large: ReplicaServer, crawl, tmp_path: Path) -> None:
    site = large.state.site(SLUG)
    db = tmp_path / "a.db"
    result = crawl(SLUG, db, large.url, "-a", "full=1", "-a", "max_pages=2")
    assert result.returncode == 0, result.stderr[-3000:]
    pages: dict[str, set[int]] = {}
    for _method, logged, _status in large.state.log:
        parts = urlsplit("https://" + logged)
        query = parse_qs(parts.query)
        if parts.path.lower() in {c.lower() for c in site.categories()}:
            pages.setdefault(parts.path, set()).add(int(query.get("Page", ["1"])[0]))
        elif parts.path.endswith("/items"):  # the SharePoint list: 5 items per page, $skiptoken=5 is page 2
            pages.setdefault("list", set()).add(int(query.get("$skiptoken", ["0"])[0]) // site.per_page + 1)
    assert pages == {**{c: {1, 2} for c in site.categories()}, "list": {1, 2}}
    groups = len(site.categories()) + 1
    wanted = {site.expected(a)["url"] for g in range(groups) for a in site.group(g)[:2 * site.per_page]}
    assert len(wanted) == 30
    with Archive(db, readonly=True) as archive:
        assert {r["url"] for r in archive.iter_articles()} == wanted
        assert archive.runs(SLUG, limit=1)[0]["listing_pages"] == 2 * groups


# -- per-portal politeness -------------------------------------------------------------------------------------

OTHER = """
[[portal]]
slug = "other-dcs"
name = "Other"
platform = "mas_portal"
start_urls = ["https://other.dcs.vn/Pages/tin-hoat-dong.aspx"]
"""


def test_politeness_slows_its_own_portal_only(tmp_path: Path) -> None:
    from scrapy.utils.test import get_crawler

    from govarchive.crawling import project_settings

    keys = ("DOWNLOAD_DELAY", "CONCURRENT_REQUESTS_PER_DOMAIN", "AUTOTHROTTLE_TARGET_CONCURRENCY")
    project = project_settings()
    defaults = {key: project[key] for key in keys}
    assert (defaults["DOWNLOAD_DELAY"], defaults["CONCURRENT_REQUESTS_PER_DOMAIN"]) == (1.0, 2)
    path = tmp_path / "portals.toml"
    path.write_text(ENTRY + "politeness = {download_delay = 4.5, concurrency = 1, autothrottle_target = 0.5}\n"
                    + OTHER, encoding="utf-8")
    registry = load_registry(path)

    def effective(slug: str) -> tuple[float, int, float]:
        settings = get_crawler(spider_class(registry[slug]), defaults).settings
        return (settings.getfloat("DOWNLOAD_DELAY"), settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN"),
                settings.getfloat("AUTOTHROTTLE_TARGET_CONCURRENCY"))

    assert effective("x-dcs") == (4.5, 1, 0.5)
    assert effective("other-dcs") == (1.0, 2, float(defaults["AUTOTHROTTLE_TARGET_CONCURRENCY"]))
