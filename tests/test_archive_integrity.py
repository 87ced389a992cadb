"""The archive stays trustworthy across real crawls of the replica: incremental re-runs, edits, kills, failures.

Every test runs ``scrapy crawl laichau-dcs`` in a subprocess against a replica that serves only that portal,
and checks the archive (and the replica's request log) afterwards.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from govarchive.archive import Archive
from govarchive.replica.content import ReplicaArticle, generate_articles
from govarchive.replica.server import ReplicaServer, ReplicaState
from tests.conftest import ROOT, clean_env

pytestmark = pytest.mark.slow

SLUG = "laichau-dcs"
HOST = "laichau.dcs.vn"


def _server(articles: int = 12) -> ReplicaServer:
    return ReplicaServer(ReplicaState.from_registry([SLUG], articles_per_portal=articles)).start()


@pytest.fixture
def small() -> Iterator[ReplicaServer]:
    """The seed portal with its default 12 articles (3 listing categories of one page each)."""
    server = _server()
    yield server
    server.stop()


@pytest.fixture
def large() -> Iterator[ReplicaServer]:
    """The seed portal with 60 articles: several listing pages per category, so kills land mid-walk."""
    server = _server(60)
    yield server
    server.stop()


def _new_articles(count: int, *, after: datetime, start_id: int = 1000) -> list[ReplicaArticle]:
    """Fresh articles newer than ``after`` with ids above the replica's (their text differs from the seed's)."""
    fresh = generate_articles(f"{SLUG}-fresh", count, start_id=start_id)
    return [replace(a, published=after + timedelta(hours=count - i), paragraphs=[*a.paragraphs, f"Tin mới số {a.id}."])
            for i, a in enumerate(fresh)]


def _snapshot(db: Path) -> dict[str, object]:
    """What a clean crawl and a recovered crawl must agree on."""
    with Archive(db, readonly=True) as archive:
        q = archive.db.execute
        return {
            "articles": sorted(q("select url, content_hash, version from articles").fetchall()),
            "distinct_urls": q("select count(distinct url) from articles").fetchone()[0],
            "counts": {t: archive.count(t) for t in ("articles", "tags", "article_tags", "attachments",
                                                     "article_versions", "failures")},
            "orphans": [
                q("select count(*) from article_tags where article_id not in (select id from articles)").fetchone()[0],
                q("select count(*) from article_tags where tag_id not in (select id from tags)").fetchone()[0],
                q("select count(*) from attachments where article_id not in (select id from articles)").fetchone()[0],
                q("select count(*) from article_versions where article_id not in (select id from articles)"
                  ).fetchone()[0],
                q("select count(*) from articles where duplicate_of is not null and duplicate_of not in "
                  "(select id from articles)").fetchone()[0],
            ],
        }


def _last_run(db: Path) -> dict:
    with Archive(db, readonly=True) as archive:
        return archive.runs(SLUG, limit=1)[0]


def _ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stderr[-4000:]


def test_unchanged_portal_costs_one_listing_request_per_category(small, crawl, tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    _ok(crawl(SLUG, db, small.url))
    before = _snapshot(db)
    assert before["counts"]["articles"] == len(small.state.site(SLUG).live_articles)
    first_run = _last_run(db)
    assert first_run["complete"] == 1 and first_run["mode"] == "incremental"

    mark = len(small.state.log)
    _ok(crawl(SLUG, db, small.url))
    paths = [path for _method, path, _status in small.state.log[mark:]]
    site = small.state.site(SLUG)
    categories = len(site.portal.start_urls) + len(site.portal.sharepoint_lists)
    assert f"{HOST}/robots.txt" in paths
    assert len(paths) <= categories + 1, paths
    assert not any("chi-tiet-tin" in p for p in paths), "no article page is fetched again"
    run = _last_run(db)
    assert (run["items_new"], run["items_updated"], run["items_unchanged"], run["items_failed"]) == (0, 0, 0, 0)
    assert run["complete"] == 1 and run["requests"] == len(paths)
    assert _snapshot(db) == before


def test_new_and_edited_articles_become_new_rows_and_versions(small, crawl, tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    _ok(crawl(SLUG, db, small.url))
    site = small.state.site(SLUG)
    newest = site.articles[0].published
    edited = site.articles[:2]
    with Archive(db, readonly=True) as archive:
        old_rows = {a.id: archive.get_article(_article_url(a.id)) for a in edited}
    for art in edited:
        site.edit_article(art.id, title=f"{art.title} (cập nhật)", paragraphs=[*art.paragraphs, "Đính chính."])
    small.state.add_articles(SLUG, _new_articles(5, after=newest))

    # refresh_days reaches back to the edited articles, so their corrections are fetched
    days = max(1, (date.today() - min(a.published.date() for a in edited)).days + 1)
    _ok(crawl(SLUG, db, small.url, "-a", f"refresh_days={days}"))
    run = _last_run(db)
    assert (run["items_new"], run["items_updated"], run["items_failed"]) == (5, 2, 0)
    assert run["complete"] == 1
    with Archive(db, readonly=True) as archive:
        assert archive.count("articles") == 12 + 5
        for art in edited:
            row = archive.get_article(_article_url(art.id))
            assert row["version"] == 2 and row["title"].endswith("(cập nhật)") and "Đính chính." in row["body_text"]
            assert row["first_seen_at"] == old_rows[art.id]["first_seen_at"]
            versions = archive.versions(row["id"])
            assert [(v["version"], v["title"], v["content_hash"]) for v in versions] == [
                (1, old_rows[art.id]["title"], old_rows[art.id]["content_hash"])]
            assert versions[0]["body_text"] == old_rows[art.id]["body_text"]


def _article_url(item_id: int) -> str:
    return f"https://{HOST}/pages/chi-tiet-tin.aspx?ItemID={item_id}"


def _popen(db: Path, replica_url: str, *args: str) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "scrapy", "crawl", SLUG, "-s", f"ARCHIVE_DB={db}", "-s", f"REPLICA_URL={replica_url}",
           "-s", "DOWNLOAD_DELAY=0.01", "-s", "AUTOTHROTTLE_ENABLED=0", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=4",
           "-s", "ARCHIVE_BATCH_SIZE=4", "-s", "LOG_LEVEL=WARNING", *args]
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
                            env=clean_env())


class Gate:
    """Holds the replica's answers back: once armed, requests past the first ``after`` wait until released.

    A crawl with a request held in flight cannot finish, so a SIGKILL sent while the gate holds one is sure to
    interrupt the run, at a point given by a count of requests rather than by a timer.
    """

    def __init__(self, server: ReplicaServer) -> None:
        self.site = server.state.site(SLUG)
        self.serve = self.site.handle
        self.site.handle = self._handle  # type: ignore[method-assign]  # the server calls site.handle(...)
        self.lock = threading.Lock()
        self.opened = threading.Event()
        self.opened.set()
        self.budget: int | None = None
        self.held = 0

    def _handle(self, *args: object) -> object:
        with self.lock:
            wait = self.budget is not None and self.budget <= 0
            if wait:
                self.held += 1
            elif self.budget is not None:
                self.budget -= 1
        if wait:
            self.opened.wait(timeout=300)
        return self.serve(*args)

    def arm(self, after: int) -> None:
        """Answer ``after`` more requests, then hold every later one."""
        with self.lock:
            self.budget, self.held = after, 0
            self.opened.clear()

    def release(self) -> None:
        """Answer everything again (held requests go to a killed client: their answers are lost)."""
        with self.lock:
            self.budget = None
        self.opened.set()


def _unfinished_runs(db: Path) -> int:
    if not db.exists():
        return 0
    with Archive(db, readonly=True) as archive:
        return sum(r["finished_at"] is None for r in archive.runs(SLUG))


def _kill_at(gate: Gate, replica_url: str, db: Path, requests: int) -> None:
    """Start a crawl and SIGKILL it while the replica holds its request number ``requests + 1``."""
    before = _unfinished_runs(db)
    gate.arm(after=requests)
    proc = _popen(db, replica_url)
    try:
        deadline = time.monotonic() + 300  # generous: the machine is shared
        while gate.held == 0:
            assert proc.poll() is None, f"the crawl ended (exit {proc.returncode}) before request {requests + 1}"
            assert time.monotonic() < deadline, f"request {requests + 1} never came"
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=60) == -signal.SIGKILL, "the crawl was not running when it was killed"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        gate.release()
    # the kill interrupted a run: its row is there, never finished
    assert _unfinished_runs(db) == before + 1


def test_sigkill_at_any_moment_then_a_normal_run_leaves_the_archive_complete(large, crawl, tmp_path: Path) -> None:
    reference = tmp_path / "clean.db"
    mark = len(large.state.log)
    _ok(crawl(SLUG, reference, large.url))
    total = len(large.state.log) - mark  # requests of a whole first crawl
    expected = _snapshot(reference)
    assert expected["counts"]["articles"] == 60 and expected["counts"]["failures"] == 0

    # kill points, in requests answered before the kill: before the first listing, among the listings,
    # mid-articles, near the end, three requests before the end; one archive is killed twice in a row before
    # it gets its normal run
    gate = Gate(large)
    plan = (("early", [2]), ("listings", [8]), ("middle", [30, 15]), ("later", [50]), ("late", [total - 3]))
    assert total > 60 and all(0 < n < total for _, kills in plan for n in kills), total
    for name, kills in plan:
        db = tmp_path / f"{name}.db"
        for count in kills:
            _kill_at(gate, large.url, db, count)
        with Archive(db, readonly=True) as archive:
            assert archive.count("articles") < 60, name  # the killed runs left work undone
        _ok(crawl(SLUG, db, large.url))
        assert _last_run(db)["complete"] == 1, name
        assert _snapshot(db) == expected, name
        with Archive(db, readonly=True) as archive:
            killed = [r for r in archive.runs(SLUG) if r["finished_at"] is None]
            assert len(killed) == len(kills), name
            assert all(r["complete"] == 0 and r["finish_reason"] is None for r in killed), name


def test_killed_incremental_run_does_not_hide_older_new_articles(large, crawl, tmp_path: Path) -> None:
    """The trap: an interrupted run stored the newest articles of a listing but not the older ones."""
    db = tmp_path / "a.db"
    _ok(crawl(SLUG, db, large.url))
    site = large.state.site(SLUG)
    large.state.add_articles(SLUG, _new_articles(30, after=site.articles[0].published))
    # interrupted after a few items: an incomplete run (closespider). One request at a time in all: with the
    # default 16 the downloader already holds that many when the spider is closed, they all complete, and the
    # "interrupted" run stores most of the 30 new articles, leaving the killed run below too little to do.
    _ok(crawl(SLUG, db, large.url, "-s", "CLOSESPIDER_ITEMCOUNT=3", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1",
              "-s", "CONCURRENT_REQUESTS=1"))
    run = _last_run(db)
    assert run["complete"] == 0 and 3 <= run["items_new"] <= 6, run
    # ... and a SIGKILL in the middle of the next one
    _kill_at(Gate(large), large.url, db, 12)
    _ok(crawl(SLUG, db, large.url))
    run = _last_run(db)
    assert run["complete"] == 1
    with Archive(db, readonly=True) as archive:
        urls = {r["url"] for r in archive.iter_articles()}
        assert archive.count("articles") == 90 == len(urls)
        assert {_article_url(a.id) for a in site.articles} == urls
        assert archive.count("failures") == 0

    # and now the portal is settled again: one listing request per category
    mark = len(large.state.log)
    _ok(crawl(SLUG, db, large.url))
    assert len(large.state.log) - mark <= len(site.portal.start_urls) + len(site.portal.sharepoint_lists) + 1


def test_failures_are_recorded_then_retried_and_cleared(small, crawl, tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    site = small.state.site(SLUG)
    failing = site.articles[2:4]
    for art in failing:
        small.state.set_fault(site.absolute(site.article_path(art)), 500)
    broken = site.articles[5]
    site.edit_article(broken.id, malformed=True)

    fast_retries = ("-s", "RETRY_BACKOFF_BASE=0")  # HTTP retries still happen, without the polite waits
    _ok(crawl(SLUG, db, small.url, *fast_retries))
    with Archive(db, readonly=True) as archive:
        failures = {f["url"]: f for f in archive.failures(SLUG)}
        assert archive.count("articles") == 12 - 3
        for art in failing:
            f = failures[site.absolute(site.article_path(art))]
            assert (f["stage"], f["status"], f["reason"], f["attempts"]) == ("download", 500, "HTTP 500", 1)
            assert f["first_failed_at"] and f["last_failed_at"] and f["run_id"] == _last_run(db)["id"]
        bad = failures[site.absolute(site.article_path(broken))]
        assert bad["stage"] == "validate" and "title" in bad["reason"] and bad["attempts"] == 1
        assert len(failures) == 3
    assert _last_run(db)["items_failed"] == 3

    # still broken: retried, attempts counted
    _ok(crawl(SLUG, db, small.url, *fast_retries))
    with Archive(db, readonly=True) as archive:
        assert sorted(f["attempts"] for f in archive.failures(SLUG)) == [2, 2, 2]
        first = {f["url"]: f["first_failed_at"] for f in archive.failures(SLUG)}
        assert all(first.values())

    small.state.clear_faults()
    site.edit_article(broken.id, malformed=False)
    _ok(crawl(SLUG, db, small.url))
    with Archive(db, readonly=True) as archive:
        assert archive.count("failures") == 0
        assert archive.count("articles") == 12
        for art in [*failing, broken]:
            assert archive.get_article(_article_url(art.id))["title"] == art.title
    run = _last_run(db)
    assert (run["items_new"], run["items_failed"], run["complete"]) == (3, 0, 1)


def test_since_and_full_modes(small, crawl, tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    site = small.state.site(SLUG)
    since = site.articles[3].published.date()
    _ok(crawl(SLUG, db, small.url, "-a", f"since={since.isoformat()}"))
    run = _last_run(db)
    assert run["mode"] == "since" and run["complete"] == 1
    with Archive(db, readonly=True) as archive:
        dates = [r["published"][:10] for r in archive.iter_articles()]
    assert dates and min(dates) >= since.isoformat()
    assert len(dates) == sum(a.published.date() >= since for a in site.articles)

    _ok(crawl(SLUG, db, small.url, "-a", "full=1"))
    run = _last_run(db)
    assert run["mode"] == "full" and run["complete"] == 1
    assert run["items_new"] == 12 - len(dates) and run["items_unchanged"] == len(dates)


def test_sigint_pauses_and_jobdir_resumes(large, crawl, tmp_path: Path) -> None:
    db, jobdir = tmp_path / "a.db", tmp_path / "job"
    mark = len(large.state.log)
    proc = _popen(db, large.url, "-a", "full=1", "-s", f"JOBDIR={jobdir}")
    while len(large.state.log) - mark < 20 and proc.poll() is None:
        time.sleep(0.002)
    proc.send_signal(signal.SIGINT)  # one SIGINT: Scrapy finishes in-flight requests and saves the queue
    assert proc.wait(timeout=60) == 0
    paused = _last_run(db)
    assert paused["finish_reason"] == "shutdown" and paused["complete"] == 0
    with Archive(db, readonly=True) as archive:
        done_before = archive.count("articles")
    assert 0 < done_before < 60

    _ok(crawl(SLUG, db, large.url, "-a", "full=1", "-s", f"JOBDIR={jobdir}"))
    run = _last_run(db)
    assert run["complete"] == 1
    with Archive(db, readonly=True) as archive:
        assert archive.count("articles") == 60
    # the resume did not start over: it refetched none of the articles archived before the pause
    assert run["items_unchanged"] == 0 and run["items_new"] == 60 - done_before
