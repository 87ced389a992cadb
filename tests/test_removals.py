"""Edits and takedowns: recheck marks removed articles (never deletes them), and an outage marks nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from govarchive.archive import Archive
from govarchive.replica.server import ReplicaServer, ReplicaState
from govarchive.worddiff import paragraph_diff, word_diff
from portal_spiders.removals import judge_removals, redirect_kind
from tests.conftest import ROOT, clean_env

SLUG, HOST = "laichau-dcs", "laichau.dcs.vn"


def test_redirect_kind_tells_home_and_listing_pages() -> None:
    hosts, listings = ("laichau.dcs.vn",), ("https://laichau.dcs.vn/Pages/tin-hoat-dong.aspx",)
    for home in ("https://laichau.dcs.vn/", "https://www.laichau.dcs.vn", "https://laichau.dcs.vn/Pages/default.aspx",
                 "https://laichau.dcs.vn/trang-chu.html", "http://laichau.dcs.vn/index.php"):
        assert redirect_kind(home, hosts=hosts, listing_urls=listings) == "redirect-home", home
    assert redirect_kind("https://laichau.dcs.vn/Pages/tin-hoat-dong.aspx?Page=1", hosts=hosts,
                         listing_urls=listings) == "redirect-listing"
    assert redirect_kind("https://laichau.dcs.vn/Pages/chi-tiet-tin.aspx?ItemID=9", hosts=hosts,
                         listing_urls=listings) is None  # moved to another article URL: not a takedown
    assert redirect_kind("https://other.gov.vn/", hosts=hosts, listing_urls=listings) is None


def test_outage_is_not_a_takedown() -> None:
    assert judge_removals(2, archived_fetched=12, listing_pages_with_links=3).mark
    assert not judge_removals(2, archived_fetched=12, listing_pages_with_links=0).mark
    assert not judge_removals(10, archived_fetched=12, listing_pages_with_links=3).mark  # the whole site at once
    assert judge_removals(4, archived_fetched=5, listing_pages_with_links=1).mark  # few: believed


def test_word_diff_marks_words() -> None:
    assert word_diff("đạt trên 98% hồ sơ", "đạt trên 99% hồ sơ") == "đạt trên [-98%-]{+99%+} hồ sơ"
    lines = paragraph_diff("Một.\nHai ba.\nBốn.\nNăm.", "Một.\nHai bốn.\nBốn.\nNăm.")
    assert lines == ["… 1 unchanged paragraph …", "Hai [-ba.-]{+bốn.+}", "… 2 unchanged paragraphs …"]
    assert "\x1b[32m" in word_diff("a", "b", color=True)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "govarchive.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, check=False, env=clean_env())


def _article_url(item_id: int) -> str:
    return f"https://{HOST}/pages/chi-tiet-tin.aspx?ItemID={item_id}"


@pytest.fixture
def portal(tmp_path: Path):
    server = ReplicaServer(ReplicaState.from_registry([SLUG])).start()
    db = tmp_path / "a.db"
    result = _cli("crawl", SLUG, "--db", str(db), "--replica", server.url, "-s", "DOWNLOAD_DELAY=0",
                  "-s", "AUTOTHROTTLE_ENABLED=0")
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    yield server, db
    server.stop()


@pytest.mark.slow
def test_recheck_marks_takedowns_and_edits_and_outages_mark_nothing(portal) -> None:
    server, db = portal
    site = server.state.site(SLUG)
    gone, gone410, home, emptied, edited, *_ = site.articles
    site.remove_article(gone.id, 404)
    site.remove_article(gone410.id, 410)
    site.redirect_article(home.id, "/")
    site.empty_article(emptied.id)
    site.edit_article(edited.id, paragraphs=[p.replace("98%", "99%") for p in edited.paragraphs] + ["Đính chính."])

    # first an outage: the whole site answers 503, then 404 everywhere: nothing may be marked removed
    for status in (503, 404):
        server.state.set_outage(HOST, status)
        result = _cli("recheck", SLUG, "--db", str(db), "--replica", server.url, "-s", "RETRY_BACKOFF_BASE=0",
                      "-s", "RETRY_TIMES=1")
        assert result.returncode == 1, result.stdout + result.stderr
        assert "no listing page answered" in result.stdout
        with Archive(db) as archive:
            assert archive.count("articles", "removed_at is not null") == 0
            assert archive.count("article_removals") == 0
            assert archive.count("articles") == 12
        server.state.clear_faults()

    result = _cli("recheck", SLUG, "--db", str(db), "--replica", server.url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"portal={SLUG} checked=12 edited=1" in result.stdout and "removed=4" in result.stdout
    with Archive(db) as archive:
        assert archive.count("articles") == 12, "never deleted"
        reasons = {r["url"]: r["removed_reason"] for r in archive.iter_articles("removed_at is not null")}
        assert reasons == {_article_url(gone.id): "http-404", _article_url(gone410.id): "http-410",
                           _article_url(home.id): "redirect-home", _article_url(emptied.id): "emptied"}
        removal = archive.removals(archive.get_article(_article_url(gone.id))["id"])[0]
        assert removal["status"] == 404 and removal["capture_id"], "the 404 answer is captured in WARC"
        kept = archive.get_article(_article_url(emptied.id))
        assert kept["title"] == emptied.title and kept["body_text"], "the archived content stays"
        assert archive.get_article(_article_url(edited.id))["version"] == 2
        assert archive.count("failures") == 0, "the outage failures are cleared by the run that saw the portal up"
        run = archive.runs(SLUG, limit=1)[0]
        assert run["mode"] == "recheck" and archive.last_complete_run(SLUG)["mode"] != "recheck"

    changes = _cli("changes", "--db", str(db), "--format", "json")
    rows = [json.loads(line) for line in changes.stdout.splitlines()]
    assert sorted(r["kind"] for r in rows) == ["edited", "removed", "removed", "removed", "removed"]
    only_removed = _cli("changes", "--db", str(db), "--kind", "removed", "--portal", SLUG)
    assert only_removed.stdout.count("removed") == 4 and "redirect-home" in only_removed.stdout

    diff = _cli("show", _article_url(edited.id), "--db", str(db), "--diff")
    assert diff.returncode == 0 and "=== v1 -> v2" in diff.stdout
    assert "[-98%,-]{+99%,+}" in diff.stdout and "{+Đính chính.+}" in diff.stdout
    shown = _cli("show", _article_url(gone.id), "--db", str(db))
    assert "REMOVED by the portal" in shown.stdout

    # the article comes back: the removal is closed, not forgotten
    site.restore_article(gone.id)
    result = _cli("recheck", SLUG, "--db", str(db), "--replica", server.url)
    with Archive(db) as archive:
        row = archive.get_article(_article_url(gone.id))
        assert row["removed_at"] is None and archive.removals(row["id"])[0]["restored_at"]


@pytest.mark.slow
def test_refresh_crawl_marks_a_listed_article_that_answers_404(portal) -> None:
    server, db = portal
    site = server.state.site(SLUG)
    site.remove_article(site.articles[0].id, 404)
    result = _cli("crawl", SLUG, "--db", str(db), "--replica", server.url, "-a", "refresh_days=100000")
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    with Archive(db) as archive:
        assert [r["removed_reason"] for r in archive.iter_articles("removed_at is not null")] == ["http-404"]
        assert archive.count("failures") == 0


def test_changes_since_kind_portal_and_a_title_and_lead_diff(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    url = "https://laichau.dcs.vn/pages/chi-tiet-tin.aspx?ItemID=1"
    base = {"url": url, "portal": SLUG, "title": "Hội nghị tổng kết năm 2025", "summary": "Sáng nay, tỉnh tổng kết.",
            "body_text": "Đạt 98% kế hoạch."}
    with Archive(db) as archive:
        archive.store_article(base, content_hash="1")
        archive.store_article({**base, "title": "Hội nghị sơ kết năm 2025", "summary": "Chiều nay, tỉnh tổng kết."},
                              content_hash="2")
        archive.store_article({**base, "url": url + "0", "portal": "dienbien-gov"}, content_hash="3")
        archive.commit()
        archive.mark_removed(url + "0", reason="http-404", status=404)
        archive.commit()
        archive.db.execute("update article_versions set superseded_at = '2025-01-02T00:00:00+00:00'")
        archive.db.conn.commit()

    def changes(*args: str) -> list[tuple[str, str]]:
        result = _cli("changes", "--db", str(db), "--format", "json", *args)
        assert result.returncode == 0, result.stderr
        return [(r["kind"], r["url"]) for r in map(json.loads, result.stdout.splitlines())]

    assert changes() == [("removed", url + "0"), ("edited", url)]
    assert changes("--since", "2025-01-03") == [("removed", url + "0")]
    assert changes("--since", "2025-01-02", "--kind", "edited") == [("edited", url)]
    assert changes("--portal", SLUG) == [("edited", url)]
    diff = _cli("show", url, "--db", str(db), "--diff")
    assert diff.returncode == 0, diff.stderr
    assert "title: Hội nghị [-tổng-]{+sơ+} kết năm 2025" in diff.stdout
    assert "lead: [-Sáng-]{+Chiều+} nay, tỉnh tổng kết." in diff.stdout
    assert "body:" not in diff.stdout, "the body did not change"


@pytest.mark.slow
def test_refresh_crawl_does_not_believe_every_article_gone_at_once(portal) -> None:
    server, db = portal
    site = server.state.site(SLUG)
    for article in site.articles:  # the listings still list them, every article page answers 404: a broken site
        site.remove_article(article.id, 404)
    result = _cli("crawl", SLUG, "--db", str(db), "--replica", server.url, "-a", "refresh_days=100000",
                  "-s", "RETRY_BACKOFF_BASE=0", "-s", "RETRY_TIMES=0")
    with Archive(db) as archive:
        assert archive.count("articles", "removed_at is not null") == 0, result.stderr[-3000:]
        assert archive.count("article_removals") == 0
        assert archive.count("articles") == 12
        assert archive.count("failures", "reason like '%not believed%'") == 12
