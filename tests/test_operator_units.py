"""Operators (issue #14), the fast parts: causes in words, per-portal log counts, spider arguments, settings
checks, progress figures, the default archive's location, health and a running crawl."""

from __future__ import annotations

import datetime as dt
import json
import logging
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from OpenSSL import SSL
from scrapy.exceptions import CannotResolveHostError, DownloadConnectionRefusedError, DownloadFailedError
from twisted.internet.error import DNSLookupError
from twisted.python.failure import Failure
from twisted.web._newclient import ResponseNeverReceived

from govarchive.checks import BadInput, check_archive_path, check_scrapy_settings
from portal_spiders.diagnosis import ShortNetworkErrors, classify, detail, explain, network_down, reason_words
from portal_spiders.spider_args import parse_spider_args
from tests.conftest import ROOT, clean_env

# -- causes in words ---------------------------------------------------------------------------------------------


def _chained(outer: type[Exception], inner: BaseException) -> Exception:
    try:
        try:
            raise inner
        except BaseException as exc:
            raise outer(str(exc)) from exc
    except Exception as exc:
        return exc


def test_download_errors_are_classified_through_their_cause_chain() -> None:
    dns = _chained(CannotResolveHostError, DNSLookupError("no results for hostname lookup: a.invalid"))
    assert classify(dns) == "dns"
    assert classify(DownloadConnectionRefusedError("111: Connection refused")) == "refused"
    ssl_error = SSL.Error([("SSL routines", "", "certificate verify failed")])
    tls = _chained(DownloadFailedError, ResponseNeverReceived([Failure(ssl_error)]))
    assert classify(tls) == "tls" and detail(tls) == "certificate verify failed"
    assert classify(ValueError("something else")) == "other"
    from portal_spiders.interrupt import DownloadInterrupted, HostDown

    assert classify(DownloadInterrupted()) == "interrupted" and classify(HostDown("x")) == "skipped"
    from portal_spiders.addressguard import BlockedAddress

    blocked = BlockedAddress("127.0.0.1 is loopback")
    assert classify(blocked) == "blocked" and detail(blocked) == "127.0.0.1 is loopback"


def test_explain_names_the_host_and_what_failed() -> None:
    assert explain({"govarchive/net/laichau.dcs.vn/dns": 4}) == "DNS lookup failed for laichau.dcs.vn"
    assert explain({"govarchive/net/x.vn/http_403": 12}) == "HTTP 403 on every request to x.vn"
    assert explain({"govarchive/net/x.vn/refused": 3, "govarchive/net/y.vn/ok": 9}) == "connection refused by x.vn"
    tls = {"govarchive/net/x.vn/tls": 2, "govarchive/net_detail/x.vn/tls": "certificate verify failed"}
    assert explain(tls) == "TLS handshake failed with x.vn (certificate verify failed)"
    assert explain({"govarchive/net/x.vn/http_503": 14, "govarchive/net/x.vn/ok": 26}) == \
        "HTTP 503 on 14 of 40 requests to x.vn"
    assert explain({"govarchive/net/x.vn/http_503": 2, "govarchive/net/x.vn/ok": 38}) is None  # under 20%
    assert explain({"govarchive/net/x.vn/ok": 5}, "shutdown") == "interrupted — the next run resumes"
    assert explain({"govarchive/net/x.vn/interrupted": 5, "govarchive/net/x.vn/ok": 5}) is None
    assert explain({"govarchive/empty_listing_pages": 3}) == "the listing pages had no article links (layout change?)"
    assert explain({"govarchive/net/localhost/blocked": 2}) == "localhost was not fetched: its address is not public"
    assert reason_words(None).startswith("no finish reason")


def test_network_down_needs_several_hosts_and_no_answer_at_all() -> None:
    dead = {f"govarchive/net/h{i}.vn/dns": 2 for i in range(3)}
    assert network_down(dead) == ("network appears to be down: no host answered (DNS lookup failed for 3 hosts, "
                                  "e.g. h0.vn)")
    assert network_down(dead, min_hosts=4) is None
    assert network_down({**dead, "govarchive/net/h9.vn/http_404": 1}) is None  # someone answered
    assert network_down({"govarchive/net/h0.vn/tls": 3, "govarchive/net/h1.vn/tls": 3,
                         "govarchive/net/h2.vn/tls": 3}) is None  # TLS failures: the network works


def test_network_errors_are_logged_without_traceback(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.short")
    logger.addFilter(ShortNetworkErrors())
    dns = _chained(CannotResolveHostError, DNSLookupError("a.invalid"))
    with caplog.at_level(logging.ERROR, logger="test.short"):
        logger.error("Error downloading", exc_info=(type(dns), dns, dns.__traceback__))
        logger.error("a bug", exc_info=(ValueError, ValueError("x"), None))
    assert caplog.records[0].exc_info is None  # network error: the message says it all
    assert caplog.records[1].exc_info is not None  # a bug keeps its traceback

    from portal_spiders.interrupt import DownloadInterrupted

    media = logging.getLogger("scrapy.pipelines.media")
    media.addFilter(ShortNetworkErrors())
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="scrapy.pipelines.media"):
        for exc in (ValueError("404 download-error"), DownloadInterrupted()):
            try:
                raise exc
            except Exception:
                media.exception(Failure())  # what Scrapy's media pipeline does for a failed file
    failed, interrupted = caplog.records
    assert failed.getMessage() == "file not downloaded: ValueError: 404 download-error" and failed.exc_info is None
    assert failed.levelname == "ERROR" and "Traceback" not in caplog.text
    assert interrupted.levelname == "INFO"  # cut short by Ctrl-C: not an error



def test_failed_local_writes_are_one_line(caplog: pytest.LogCaptureFixture) -> None:
    """Scrapy's files pipeline logs a file it could not write (a full disk) with a traceback; the reason goes on
    the line instead (the file is recorded as not archived with its article)."""
    import errno

    files = logging.getLogger("scrapy.pipelines.files")
    files.addFilter(ShortNetworkErrors())
    with caplog.at_level(logging.ERROR, logger="scrapy.pipelines.files"):
        for exc in (OSError(errno.ENOSPC, "No space left on device"), OSError(errno.EFBIG, "File too large"),
                    OSError(errno.EACCES, "Permission denied")):
            try:
                raise exc
            except OSError:
                files.error("File (unknown-error): Error processing file from %(request)s", {"request": "<GET x>"},
                            exc_info=True)
    full, big, denied = caplog.records
    assert full.getMessage() == ("File (unknown-error): Error processing file from <GET x>: OSError: [Errno 28] No "
                                 "space left on device") and full.exc_info is None
    assert big.exc_info is None and "File too large" in big.getMessage()
    assert denied.exc_info is not None  # not a full disk or a size limit: the traceback stays

# -- per-portal log counts -----------------------------------------------------------------------------------------


def test_log_counts_belong_to_the_portal_that_logged() -> None:
    from scrapy.utils.test import get_crawler

    from portal_spiders import logcount
    from portal_spiders.spiders.portals import SPIDERS

    crawlers = []
    for slug in ("laichau-dcs", "angiang-dcs"):
        crawler = get_crawler(SPIDERS[slug])
        crawler.spider = SPIDERS[slug].from_crawler(crawler)
        crawler.stats.open_spider()
        crawlers.append(crawler)
    handlers = [logcount.PortalLogCounter(c) for c in crawlers]
    for handler in handlers:
        logging.root.addHandler(handler)
    logcount._OPEN.update(crawlers)
    broken, healthy = crawlers
    try:
        for _ in range(3):
            broken.spider.logger.error("parser crashed")  # tagged with its spider
        logging.getLogger("scrapy.core.scraper").error("Spider error", extra={"spider": broken.spider})
        logging.getLogger("somewhere").error("nobody's")  # two portals open: shared, held against none
    finally:
        for handler in handlers:
            logging.root.removeHandler(handler)
        logcount._OPEN.difference_update(crawlers)
    assert broken.stats.get_value("log_count/ERROR") == 4
    assert healthy.stats.get_value("log_count/ERROR") is None
    assert healthy.stats.get_value("govarchive/log_count_shared/ERROR") == 1


# -- spider arguments and settings ---------------------------------------------------------------------------------


def test_spider_arguments_accept_common_spellings() -> None:
    args = parse_spider_args({"since": "2024-1-1", "full": "on", "max_pages": "3", "refresh_days": "0",
                              "_job": "scrapyd-job-id"})
    assert args.since == dt.date(2024, 1, 1) and args.full is True and args.max_pages == 3
    assert args.refresh_days is None  # 0 days: no refresh
    for word in ("1", "true", "YES", "y", "On"):
        assert parse_spider_args({"full": word}).full is True
    for word in ("0", "false", "No", "off", ""):
        assert parse_spider_args({"full": word}).full is False
    with pytest.raises(BadInput, match="max_pages: 0 is out of range"):
        parse_spider_args({"max_pages": "0"})


def test_settings_are_checked_against_their_types() -> None:
    from govarchive.crawling import project_settings

    def check(**overrides: str) -> None:
        check_scrapy_settings(project_settings(overrides), overrides)

    check(DOWNLOAD_DELAY="2.5", AUTOTHROTTLE_ENABLED="0", CONCURRENT_REQUESTS="8", GOVARCHIVE_MAX_FAILED_SHARE="0.5")
    with pytest.raises(BadInput, match="AUTOTHROTTLE_ENABLED: expected yes/no"):
        check(AUTOTHROTTLE_ENABLED="maybe")
    with pytest.raises(BadInput, match="RETRY_HTTP_CODES: expected whole numbers separated by commas"):
        check(RETRY_HTTP_CODES="500,abc")
    with pytest.raises(BadInput, match="DOWNLOAD_SLOTS: expected a JSON object"):
        check(DOWNLOAD_SLOTS='{"a": 1')
    with pytest.raises(BadInput, match=r"log level .LOUD."):
        check(LOG_LEVEL="LOUD")


def test_archive_path_checks(tmp_path: Path) -> None:
    assert check_archive_path(tmp_path / "new.db", create=True) == tmp_path / "new.db"
    with pytest.raises(BadInput, match="does not exist"):
        check_archive_path(tmp_path / "a" / "b.db", create=True)
    assert not (tmp_path / "a").exists()
    check_archive_path(tmp_path / "data" / "archive.db", create=True, default=True)  # the default is created
    assert (tmp_path / "data").is_dir()
    (tmp_path / "x.db").write_bytes(b"")  # an empty file is fine: SQLite makes it an archive
    check_archive_path(tmp_path / "x.db", create=True)


def test_scrapy_from_a_subdirectory_uses_the_projects_archive(tmp_path: Path) -> None:
    """No stray data/ where `scrapy crawl` happens to run: the default archive is the project's."""
    project = tmp_path / "project"
    (project / "docs").mkdir(parents=True)
    (project / "scrapy.cfg").write_text((ROOT / "scrapy.cfg").read_text(encoding="utf-8"), encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "scrapy", "settings", "--get", "ARCHIVE_DB"], cwd=project / "docs",
                         capture_output=True, text=True, timeout=120, env=clean_env(), check=True).stdout.strip()
    assert out == str(project / "data" / "archive.db")
    interval = subprocess.run([sys.executable, "-m", "scrapy", "settings", "--get", "LOGSTATS_INTERVAL"],
                              cwd=project, capture_output=True, text=True, timeout=120, env=clean_env(), check=True)
    assert float(interval.stdout) < 60  # progress lines more often than once a minute
    assert not (project / "docs" / "data").exists()


# -- progress ----------------------------------------------------------------------------------------------------


def test_progress_has_totals_and_an_eta(monkeypatch: pytest.MonkeyPatch) -> None:
    from govarchive.commands import crawl
    from govarchive.commands.crawl import portal_progress, progress_line

    now = dt.datetime(2026, 1, 1, 12, 0, 10, tzinfo=dt.UTC)
    monkeypatch.setattr(crawl, "time", SimpleNamespace(time=now.timestamp))  # progress_line reads the clock
    running = {"start_time": now - dt.timedelta(seconds=10), "scheduler/enqueued": 30, "downloader/response_count": 10,
               "govarchive/items_new": 4}
    progress = portal_progress(running, now.timestamp())
    assert (progress.queued, progress.done) == (20, False)
    assert progress.eta == pytest.approx(20.0)  # 20 to do at 1 a second
    done = {"start_time": now, "finish_reason": "finished", "downloader/response_count": 5}
    line = progress_line({"a": running, "b": done}, 75.0)
    assert line == "elapsed 1m15s, 1/2 portals done, 15 pages, 4 new, 0 updated, 0 failed, 20 queued, ETA ~20s"


# -- health and crawl summary ----------------------------------------------------------------------------------


def test_health_reports_a_running_crawl_and_interrupted_runs(tmp_path: Path) -> None:
    from govarchive.archive import Archive
    from govarchive.commands.health import check_archive
    from govarchive.locking import acquire_lock, release_lock, running_crawl

    db = tmp_path / "h.db"
    with Archive(db) as archive:
        old = archive.start_run("angiang-dcs")
        archive.finish_run(old, finish_reason="finished", counts={"items_new": 3},
                           coverage={"published": 1.0, "body_text": 1.0})
        interrupted = archive.start_run("angiang-dcs")
        archive.finish_run(interrupted, finish_reason="shutdown", counts={"items_new": 1}, coverage={})
        assert running_crawl(db) is None
        acquire_lock(db)
        try:
            archive.start_run("laichau-dcs")  # started by the crawl holding the lock: still running
            crawl = running_crawl(db)
            assert crawl is not None
            reports = {r.portal: r for r in check_archive(archive, running=crawl)}
        finally:
            release_lock(db)
        stopped = {r.portal: r for r in check_archive(archive, running=running_crawl(db))}
    assert reports["laichau-dcs"].state == "running" and reports["laichau-dcs"].note.startswith("running since ")
    assert reports["angiang-dcs"].state == "interrupted" and reports["angiang-dcs"].ok
    assert stopped["laichau-dcs"].problems == ["latest run did not finish (no finish reason: killed?)", "no articles"]


def test_crawl_summary_shows_the_cause_and_plain_checks() -> None:
    from govarchive.commands.crawl import judge

    run = {"finish_reason": "finished", "responses": 0, "items_new": 0, "items_updated": 0, "items_unchanged": 0,
           "items_failed": 3, "cause": "DNS lookup failed for laichau.dcs.vn",
           "monitor_results": json.dumps({"passed": False, "failed": ["x"], "checks": [
               {"check": "articles", "monitor": "articles/...", "status": "FAIL", "message": "no articles found"},
               {"check": "errors", "monitor": "errors/...", "status": "FAIL", "message": "12 errors logged for this "
                                                                                          "portal (limit 10)"}]})}
    outcome = judge("laichau-dcs", run, max_failed_share=0.2)
    assert outcome.result == "FAILED"
    assert outcome.problems == ["DNS lookup failed for laichau.dcs.vn", "no articles", "3/3 pages failed",
                                "12 errors logged for this portal (limit 10)"]
    assert judge("p", {**run, "finish_reason": "network_down"}, max_failed_share=0.2).result == "not-crawled"


def test_field_coverage_counts_only_fields_that_hold_a_value() -> None:
    """An article without a date or a body does not cover those fields (spidermon counts a None as a value unless
    told otherwise, and the normaliser stores every empty field as None)."""
    from scrapy.utils.project import get_project_settings
    from scrapy.utils.test import get_crawler

    from portal_spiders.items import ArticleItem
    from portal_spiders.monitors import PlainSpidermon
    from portal_spiders.spiders.portals import SPIDERS

    spidercls = SPIDERS["laichau-dcs"]
    spidermon = {k: v for k, v in get_project_settings().copy_to_dict().items() if k.startswith("SPIDERMON_")}
    crawler = get_crawler(spidercls, spidermon)
    crawler.spider = spidercls.from_crawler(crawler)
    crawler.stats.open_spider()
    extension = PlainSpidermon.from_crawler(crawler)
    items = [ArticleItem(url=f"https://laichau.dcs.vn/{i}", portal="laichau-dcs", title="Tin", body_text=body,
                         published=published, field_sources={"title": "css:h1"})
             for i, (published, body) in enumerate([("2024-05-01T08:00:00+07:00", "Nội dung."), (None, "Nội dung."),
                                                    (None, None), ("2024-05-02T08:00:00+07:00", "")])]
    for item in items:
        extension.item_scraped(item, None, crawler.spider)
    extension._add_field_coverage_to_stats()
    stats = crawler.stats.get_stats()
    assert stats["spidermon_item_scraped_count/ArticleItem"] == 4
    assert stats["spidermon_field_coverage/ArticleItem/title"] == 1.0
    assert stats["spidermon_field_coverage/ArticleItem/published"] == 0.5
    assert stats["spidermon_field_coverage/ArticleItem/body_text"] == 0.5
    assert not any("field_sources/" in key for key in stats)  # the item's own fields, not every source's key


def test_stats_collector_is_scrapys_without_the_per_access_wrapper() -> None:
    """STATS_CLASS: Scrapy's memory collector, same results, methods not wrapped on every attribute read."""
    from scrapy.statscollectors import MemoryStatsCollector
    from scrapy.utils.project import get_project_settings
    from scrapy.utils.test import get_crawler

    from portal_spiders.spiders.portals import SPIDERS
    from portal_spiders.stats import RunStatsCollector

    settings = get_project_settings()
    assert settings["STATS_CLASS"] == "portal_spiders.stats.RunStatsCollector"
    crawler = get_crawler(SPIDERS["laichau-dcs"], settings_dict={"STATS_CLASS": settings["STATS_CLASS"]})
    stats = crawler.stats
    assert isinstance(stats, RunStatsCollector) and isinstance(stats, MemoryStatsCollector)
    assert stats.inc_value.__func__ is MemoryStatsCollector.inc_value  # not Scrapy's deprecation wrapper
    stats.inc_value("a")
    stats.inc_value("a", 2)
    stats.inc_value("b", start=10)
    stats.max_value("m", 3)
    stats.max_value("m", 1)
    stats.min_value("n", 3)
    stats.min_value("n", 1)
    stats.set_value("s", "x")
    assert stats.get_stats() == {"a": 3, "b": 11, "m": 3, "n": 1, "s": "x"}
    assert stats.get_value("missing", 7) == 7
    crawler.spider = SimpleNamespace(name="laichau-dcs")
    stats.close_spider(reason="finished")
    assert stats.spider_stats["laichau-dcs"]["a"] == 3


def test_gc_thresholds_apply_during_a_crawl_and_are_restored() -> None:
    import gc

    from scrapy.exceptions import NotConfigured
    from scrapy.utils.test import get_crawler

    from portal_spiders.gctune import GcTuning

    before = gc.get_threshold()
    crawler = get_crawler(settings_dict={"GC_THRESHOLDS": "15000,15,25"})
    ext = GcTuning.from_crawler(crawler)
    ext.engine_started()
    assert gc.get_threshold() == (15000, 15, 25)
    ext.engine_stopped()
    assert gc.get_threshold() == before
    with pytest.raises(NotConfigured):
        GcTuning.from_crawler(get_crawler(settings_dict={"GC_THRESHOLDS": ""}))
    for bad in ("20000,20", "a,b,c", "-1,20,20"):
        crawler = get_crawler(settings_dict={"GC_THRESHOLDS": bad})
        with pytest.raises(BadInput, match="setting GC_THRESHOLDS: expected three whole numbers"):
            check_scrapy_settings(crawler.settings, {"GC_THRESHOLDS": bad})
