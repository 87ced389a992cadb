"""No silent loss (issue 10), end to end: real crawls of replica portals served by the fault-injecting server.

Each test makes the replica misbehave (govarchive/replica/faults.py), crawls it with ``scrapy crawl`` in a
subprocess, and checks the END STATE of the archive: every live article of the replica is archived or has a
failure row keyed by the URL that was listed, with a reason that names the fault, and no run that lost something
is marked complete. Then the faults heal and a normal run must leave the archive complete.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from govarchive.archive import Archive
from govarchive.replica.faults import (
    CharsetConflict,
    Drip,
    FaultServer,
    FaultState,
    Huge,
    HugeField,
    RetryAfter,
    Rewrite,
    Status,
    Truncate,
)
from portal_spiders.urls import canonical_url
from tests.conftest import ROOT, clean_env, run_crawl

pytestmark = pytest.mark.slow

SLUG = "laichau-dcs"
HOST = "laichau.dcs.vn"


def _listed(site, article) -> str:
    return site.absolute(site.article_path(article))


def _listed_from(site, url: str) -> set[int]:
    """Ids of the articles a ``mas_portal`` replica listing page at ``url`` and the pages after it list."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    if parts.path.endswith("/items"):  # the SharePoint list endpoint: the group after the categories', by $skiptoken
        index, skip = len(site.categories()), int(query.get("$skiptoken", ["0"])[0])
    else:
        index = [c.lower() for c in site.categories()].index(parts.path.lower())
        skip = (int(query.get("Page", ["1"])[0]) - 1) * site.per_page
    return {a.id for a in site.group(index)[skip:]}


def _end_state(db: Path, site) -> tuple[dict[str, dict], dict[str, dict]]:
    """(archived rows by canonical URL, failure rows by URL) of one portal."""
    with Archive(db, readonly=True) as archive:
        rows = {r["url"]: r for r in archive.iter_articles("portal = ?", [site.portal.slug])}
        failures = {f["url"]: f for f in archive.failures(site.portal.slug)}
    return rows, failures


def _assert_nothing_lost(db: Path, site) -> tuple[dict[str, dict], dict[str, dict]]:
    """Every live article is archived or has a failure row keyed by its listed URL."""
    rows, failures = _end_state(db, site)
    ci = site.platform in {"mas_portal", "tandan"}
    for article in site.live_articles:
        listed = _listed(site, article)
        assert canonical_url(listed, case_insensitive_path=ci) in rows or listed in failures, (listed, failures)
    return rows, failures


def _runs(db: Path, slug: str = SLUG) -> list[dict]:
    with Archive(db, readonly=True) as archive:
        return archive.runs(slug)


PEAK_RSS = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[2:]); "
            "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)); "
            "sys.exit(r.returncode)")


def _crawl_measured(slug: str, db: Path, url: str, *args: str) -> tuple[subprocess.CompletedProcess[str], int]:
    """:func:`run_crawl`, run under a small parent that reports the crawl's peak RSS (MiB)."""
    peak = db.with_suffix(".rss")
    result = run_crawl(slug, db, url, *args, python=[sys.executable, "-c", PEAK_RSS, str(peak), sys.executable])
    return result, int(peak.read_text()) // 1024


def test_every_fault_ends_archived_or_recorded_then_heals(tmp_path: Path) -> None:
    state = FaultState.from_registry([SLUG])
    site = state.site(SLUG)
    arts = site.articles
    listed = [_listed(site, a) for a in arts]
    cat1, cat2 = site.portal.start_urls
    state.ping_pong(listed[0])  # ASP.NET cookie redirect back to the page itself
    state.ping_pong(listed[1], loop=True)  # ... that never settles
    state.add_rule(listed[2], Huge(30_000_000))  # 30 MB with a Content-Length
    state.add_rule(listed[3], Huge(30_000_000, content_length=False))  # 30 MB, no length: cut while streaming
    state.add_rule(listed[4], Truncate(0.5))  # the connection closes half way
    state.add_rule(listed[5], CharsetConflict("iso-8859-1"))  # header says Latin-1, the page is UTF-8
    state.add_rule(listed[6], HugeField(arts[6].title, 1_000_000))  # a 1 M-character title
    state.add_rule(listed[7], Drip(chunk=64, interval=0.5))  # trickles: never done within DOWNLOAD_TIMEOUT
    moved = f"https://{HOST}/Pages/chi-tiet-tin.aspx?ItemID=999999"
    state.add_rule(listed[8], Status(301, {"Location": moved}))  # moved ... to a page that fails
    state.add_rule(moved, Status(500))
    state.ping_pong(cat1)  # a listing page that ping-pongs too
    padding = "".join(f'<li><a href="/Pages/tag.aspx?tag=chu-de-{i}">Chủ đề {i}</a></li>' for i in range(20_000))

    def pad_and_vary(page: str, _ctx: dict) -> str:
        # 20,000 more links, and each article listed again under SharePoint spellings of its URL
        variants = "".join(f'<a href="{site.article_path(a).replace("ItemID", "itemid")}">x</a>'
                           f'<a href="{site.article_path(a)}&amp;Source=%2FPages%2Ftin-hoat-dong.aspx">y</a>'
                           for a in arts)
        return page.replace('<div class="list-news">', f'<div class="list-news"><ul>{padding}</ul>{variants}')

    state.add_rule(cat2, Rewrite(pad_and_vary))
    db = tmp_path / "a.db"
    with FaultServer(state) as server:
        result, peak_mib = _crawl_measured(SLUG, db, server.url, "-s", "DOWNLOAD_TIMEOUT=3", "-s", "RETRY_TIMES=1")
        assert result.returncode == 0, result.stderr[-3000:]
        rows, failures = _assert_nothing_lost(db, site)
        reasons = {url: f["reason"] for url, f in failures.items()}
        assert set(reasons) == {listed[1], listed[2], listed[3], listed[4], listed[7], listed[8]}, reasons
        assert reasons[listed[1]].startswith("redirect loop: ")
        assert reasons[listed[2]].startswith("page too large: 30,000,000 bytes")
        assert reasons[listed[3]].startswith("page too large: over the 4.0 MiB page size cap")
        assert reasons[listed[4]].startswith("truncated response")
        assert reasons[listed[7]].startswith("timeout")
        assert reasons[listed[8]] == "HTTP 500"  # keyed by the listed URL, not the redirect's target
        assert moved not in failures
        assert len(rows) == len(site.live_articles) - len(failures)  # the URL variants collapsed to one article
        by_title = {r["title"]: r for r in rows.values()}
        charset = by_title[arts[5].title]  # read as UTF-8, and the conflict recorded
        assert json.loads(charset["field_sources"])["encoding"] == "conflict:header=cp1252,meta=utf-8,used=utf-8"
        huge = next(r for r in rows.values() if r["title"].startswith(arts[6].title))
        assert len(huge["title"]) <= 1000 and json.loads(huge["truncated"])["title"] > 1_000_000
        assert huge["published"] == arts[6].published.isoformat()
        assert all(p in huge["body_text"] for p in arts[6].paragraphs)
        run = _runs(db)[0]
        assert run["finish_reason"] == "finished"
        # peak memory of the whole crawl, with two 30 MB pages refused and a 1 MB title parsed
        assert peak_mib < 400, peak_mib
        log = [key for _m, key, _s in state.log]
        listing_key = cat1.removeprefix("https://")
        # the listing's way back was fetched (its cookie then served the article's first visit directly)
        assert log.count(listing_key) == 2 and f"{listing_key}?AspxAutoDetectCookieSupport=1" in log
        pages_of = {key.split("?")[0] for key in log}
        assert f"{HOST}/Pages/tag.aspx" not in pages_of  # the padding is not mistaken for articles

        state.clear_rules()
        healed = run_crawl(SLUG, db, server.url)
        assert healed.returncode == 0, healed.stderr[-3000:]
    rows, failures = _assert_nothing_lost(db, site)
    assert failures == {} and len(rows) == len(site.live_articles)
    assert _runs(db)[0]["complete"] == 1


def test_retry_after_pauses_the_whole_host(tmp_path: Path) -> None:
    state = FaultState.from_registry([SLUG], articles_per_portal=24)
    site = state.site(SLUG)
    first = _listed(site, site.articles[0])
    state.add_rule(first, RetryAfter(5), times=1)
    db = tmp_path / "a.db"
    with FaultServer(state) as server:
        result = run_crawl(SLUG, db, server.url)
        assert result.returncode == 0, result.stderr[-3000:]
    limited = [t for t, _m, key, status in state.timeline if status == 429]
    assert len(limited) == 1
    t0 = limited[0]
    # requests already on their way when the 429 arrived may land just after it; then nothing for 5 s
    during = [key for t, _m, key, _s in state.timeline if t0 + 0.5 < t < t0 + 4.8]
    assert during == [], during
    assert any(t >= t0 + 4.8 for t, *_ in state.timeline)
    rows, failures = _assert_nothing_lost(db, site)
    assert failures == {} and len(rows) == 24
    run = _runs(db)[0]
    assert run["complete"] == 1 and json.loads(run["stats"])["govarchive/retry_after_pauses"] == 1


def test_retry_after_past_the_ceiling_defers_the_host_to_the_next_run(tmp_path: Path) -> None:
    state = FaultState.from_registry([SLUG], articles_per_portal=24)
    site = state.site(SLUG)
    state.add_rule(_listed(site, site.articles[2]), RetryAfter(7200))
    db = tmp_path / "a.db"
    with FaultServer(state) as server:
        result = run_crawl(SLUG, db, server.url, "-s", "RETRY_AFTER_MAX=30", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=2")
        assert result.returncode == 0, result.stderr[-3000:]
        limited = [t for t, _m, _key, status in state.timeline if status == 429]
        assert len(limited) == 1  # asked once, never again
        late = [key for t, _m, key, _s in state.timeline if t > limited[0] + 0.5]
        assert late == [], late  # nothing more was sent to the host
        rows, failures = _end_state(db, site)
        deferred = [f for f in failures.values() if "Retry-After 7200 s" in f["reason"]]
        assert deferred and all("deferred to the next run" in f["reason"] for f in deferred)
        unreached = [a for a in site.live_articles if canonical_url(_listed(site, a), case_insensitive_path=True)
                     not in rows and _listed(site, a) not in failures]
        # an article left out is exactly one of a listing page that was deferred itself, or of the pages after it
        # (recorded: the run is incomplete); with no listing deferred, every article is archived or has a failure row
        left_out: set[int] = set()
        for f in deferred:
            if f["stage"] == "listing":
                left_out |= _listed_from(site, f["url"])
        assert {a.id for a in unreached} == left_out & {a.id for a in site.live_articles}, (unreached, deferred)
        run = _runs(db)[0]
        assert run["complete"] == 0 and json.loads(run["stats"])["govarchive/deferred"] >= 1
        health = subprocess.run([sys.executable, "-m", "govarchive.cli", "--db", str(db), "health"], cwd=ROOT,
                                capture_output=True, text=True, timeout=120, check=False, env=clean_env())
        assert health.returncode == 1 and "deferred to the next run" in health.stdout, health.stdout

        state.clear_rules()
        healed = run_crawl(SLUG, db, server.url)
        assert healed.returncode == 0, healed.stderr[-3000:]
    rows, failures = _assert_nothing_lost(db, site)
    assert failures == {} and len(rows) == 24 and _runs(db)[0]["complete"] == 1


GENERIC = "tuyentruyen-langson"


def _pager(style: str, page: int, more: bool) -> str:
    """Pager markup of another CMS for the Drupal replica's front page (0-based ``?page=N``)."""
    nxt = f"?page={page + 1}"
    if style == "wordpress-nav":
        numbers = f'<span aria-current="page" class="page-numbers current">{page + 1}</span>'
        if more:
            numbers += f'<a class="page-numbers" href="{nxt}">{page + 2}</a>'
            numbers += f'<a class="next page-numbers" href="{nxt}">Trang sau »</a>'
        return f'<nav class="navigation pagination" role="navigation"><div class="nav-links">{numbers}</div></nav>'
    if style == "bootstrap-ul":
        extra = f'<li><a href="{nxt}">{page + 2}</a></li><li><a href="{nxt}">»</a></li>' if more else ""
        return f'<ul class="pagination"><li class="active"><span>{page + 1}</span></li>{extra}</ul>'
    if style == "numbers-only":
        return f'<div class="paging"><b>{page + 1}</b> ' + (f'<a href="{nxt}">{page + 2}</a>' if more else "") \
            + "</div>"
    if style == "head-link":  # only <link rel="next"> in the head (moved there by restyle)
        return f'<link rel="next" href="{nxt}">' if more else ""
    if style == "javascript-only":  # a pager a crawler cannot follow: health must say so
        return '<div class="pager"><span>1</span> <a href="javascript:void(0)" onclick="load(2)">2</a></div>' \
            if more else ""
    raise ValueError(style)


@pytest.mark.parametrize("style", ["wordpress-nav", "bootstrap-ul", "numbers-only", "head-link", "javascript-only"])
def test_generic_portal_pagers_are_followed_or_flagged(tmp_path: Path, style: str) -> None:
    state = FaultState.from_registry([GENERIC])
    site = state.site(GENERIC)
    for path in ("/rss.xml", "/sitemap.xml"):  # the listing is the only way to the articles
        state.add_rule(f"{site.host.removeprefix('www.')}{path}", Status(404))

    def restyle(page: str, ctx: dict) -> str:
        number = int((ctx["query"].get("page") or ["0"])[0])
        more = 'rel="next"' in page
        pager = _pager(style, number, more)
        if style == "head-link":
            page, pager = page.replace("</head>", f"{pager}</head>"), ""
        return re.sub(r'<nav class="pager">.*?</nav>', lambda _m: pager, page, flags=re.S)

    state.add_rule(f"{site.host.removeprefix('www.')}/*", Rewrite(restyle))
    db = tmp_path / "a.db"
    with FaultServer(state) as server:
        result = subprocess.run([sys.executable, "-m", "govarchive.cli", "crawl", GENERIC, "--replica", server.url,
                                 "--db", str(db), "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=0",
                                 "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8"],
                                cwd=ROOT, capture_output=True, text=True, timeout=300, check=False, env=clean_env())
    rows, _failures = _end_state(db, site)
    front_pages = {key for _m, key, _s in state.log if "/node/" not in key and "robots" not in key
                   and key.split("?")[0].endswith(site.host.removeprefix("www.") + "/")}
    if style == "javascript-only":
        assert result.returncode == 1 and "pagination not followed" in result.stdout, result.stdout
        assert len(rows) == 5 and len(front_pages) == 1
        health = subprocess.run([sys.executable, "-m", "govarchive.cli", "--db", str(db), "health"], cwd=ROOT,
                                capture_output=True, text=True, timeout=120, check=False, env=clean_env())
        assert health.returncode == 1 and "show a pager but only page 1 was read" in health.stdout
        return
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert len(rows) == len(site.live_articles) == 12
    assert len(front_pages) == 3, front_pages
