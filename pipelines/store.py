"""Store: write articles and failures to the SQLite archive and keep the run record.

Only :class:`govarchive.archive.Archive` speaks SQL; this pipeline calls it. One ``crawl_runs`` row is
opened when the spider opens (and committed at once, so a killed run leaves a trace) and closed with the
finish reason, counts and per-field coverage when the spider closes.

Counts are what was *committed*: the pipeline watches its run on the archive (:meth:`Archive.watch`). When a
write fails, the archive rolls back the open batch, which may hold other portals' items too, and tells each run
what it lost; the run is then incomplete, and what it lost is recorded as ``store`` failures when the disk allows,
so the next run fetches exactly those pages again.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from contextlib import suppress
from pathlib import Path
from typing import Any

from itemadapter import ItemAdapter
from scrapy import signals
from scrapy.crawler import Crawler

from govarchive.archive import Archive, ArchiveWriteError, PendingWrite
from portal_spiders.items import ArticleItem, ArticleRemoval, PageFailure
from portal_spiders.removals import judge_removals
from portal_spiders.routing import replica_target

# Crawlers that run in one process (``govarchive demo``/``crawl``) share one connection per archive file: SQLite
# allows one writer, and separate connections holding batched transactions would lock each other out. All
# crawlers run on the reactor thread, so sharing is safe.
_SHARED: dict[str, tuple[Archive, int]] = {}


def acquire_archive(path: str, **kwargs: Any) -> Archive:
    """The process-wide :class:`Archive` for ``path`` (opened on first use)."""
    key = str(Path(path).resolve())
    archive, users = _SHARED.get(key, (None, 0))
    if archive is None:
        archive = Archive(path, **kwargs)
    _SHARED[key] = (archive, users + 1)
    return archive


def release_archive(archive: Archive) -> None:
    """Give the archive back; the last user commits and closes it."""
    key = str(archive.path.resolve())
    shared, users = _SHARED.get(key, (archive, 1))
    if users <= 1:
        _SHARED.pop(key, None)
        shared.close()
    else:
        with suppress(ArchiveWriteError):  # the runs that lost items were told by the archive
            shared.commit()
        _SHARED[key] = (shared, users - 1)


logger = logging.getLogger(__name__)

COVERAGE_FIELDS = ("title", "published", "author", "summary", "body_text", "tags", "attachments", "category",
                   "images")


class StorePipeline:
    """Persist items through :class:`Archive`; count new / updated / unchanged / failed as they are committed."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.settings = crawler.settings
        self.archive: Archive | None = None
        self.run_id: int | None = None
        self.counts: Counter[str] = Counter()
        self.coverage: Counter[str] = Counter()
        self.stored = 0
        self.store_errors = 0
        self.removals: list[ArticleRemoval] = []  # judged at the end of the run (outage or takedown?)
        self.lost_writes: list[PendingWrite] = []  # items of this run rolled back with a failed batch
        self.write_error: str | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        """Scrapy factory; the run is finished on ``spider_closed``, which carries the finish reason."""
        pipeline = cls(crawler)
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    def open_spider(self) -> None:
        """Open the archive and start the run record."""
        spider = self.crawler.spider
        self.archive = acquire_archive(
            self.settings.get("ARCHIVE_DB"),
            batch_size=self.settings.getint("ARCHIVE_BATCH_SIZE", 50),
            batch_seconds=self.settings.getfloat("ARCHIVE_BATCH_SECONDS", 5.0),
        )
        # A restarted cluster archiver goes on with the run row it had opened (govarchive/cluster/archiver.py).
        self.run_id = getattr(spider, "resume_run_id", None)
        for attempt in range(3 if self.run_id is None else 0):  # a disk full for a moment should not cost the run
            try:
                self.run_id = self.archive.start_run(spider.name, spider=type(spider).__name__,
                                                     mode=getattr(spider, "crawl_mode", "full"),
                                                     replica=replica_target(self.settings) is not None)
                break
            except ArchiveWriteError:
                if attempt == 2:
                    raise
                time.sleep(1.0)
        assert self.run_id is not None
        self.archive.watch(self.run_id, self)
        spider.archive_run_id = self.run_id

    def process_item(self, item: Any) -> Any:
        """Store an article or record a failure (counted when its batch is committed)."""
        assert self.archive is not None
        if isinstance(item, PageFailure):
            with suppress(ArchiveWriteError):  # the batch is lost: self.lost() heard of it
                self.archive.record_failure(url=item.url, portal=item.portal, stage=item.stage, reason=item.reason,
                                            status=item.status, run_id=self.run_id, extra=item.extra)
            return item
        if isinstance(item, ArticleRemoval):
            self.removals.append(item)
            return item
        if isinstance(item, ArticleItem):
            # A shallow copy: asdict() would walk every nested list and dict through the adapters (about a
            # millisecond per article) to build copies that store_article only reads.
            data = dict(ItemAdapter(item).items())
            note = ([name for name in COVERAGE_FIELDS if data.get(name)], dict(item.field_sources or {}))
            try:
                self.archive.store_article(data, content_hash=item.content_hash or "", run_id=self.run_id, note=note)
            except ArchiveWriteError:
                return item
            except Exception as exc:  # the article's savepoint rolled back; the run must not count as complete
                self.store_failed(item, exc)
                return item
            with suppress(ArchiveWriteError):  # the batch, this article included, is lost: self.lost() heard of it
                for url in {item.url, item.source_url, item.final_url}:
                    if url:
                        self.archive.clear_failure(url)
                self.record_file_outcomes(item)
        return item

    @staticmethod
    def tally(write: PendingWrite, counts: Counter[str], coverage: Counter[str]) -> str | None:
        """Add one committed write to ``counts`` and ``coverage``; returns the count it went to (None for a file's
        failure, which is not a page's)."""
        if write.kind == "failure":
            if (write.note or {}).get("stage") == "attachment":
                return None
            counts["items_failed"] += 1
            return "items_failed"
        counts[f"items_{write.outcome}"] += 1
        covered, _sources = write.note or ([], {})
        for name in covered:
            coverage[name] += 1
        return f"items_{write.outcome}"

    def after_commit(self, writes: list[PendingWrite]) -> tuple[Counter[str], Counter[str], int]:
        """``(counts, coverage, stored)`` as they will be once ``writes`` are committed; for a checkpoint written
        into the same transaction as those writes (the cluster archiver's), which must count them already."""
        counts, coverage = self.counts.copy(), self.coverage.copy()
        stored = self.stored + sum(self.tally(write, counts, coverage) not in (None, "items_failed")
                                   for write in writes)
        return counts, coverage, stored

    def committed(self, writes: list[PendingWrite]) -> None:
        """Archive callback: these writes of the run are on disk; count them."""
        stats = self.crawler.stats
        for write in writes:
            counted = self.tally(write, self.counts, self.coverage)
            if counted is None:
                continue
            stats.inc_value(f"govarchive/{counted}")
            if write.kind == "failure":
                continue
            self.stored += 1
            _covered, sources = write.note or ([], {})
            # Which kind of source (css, label, meta, heuristic ...) each field came from: `govarchive health`
            # flags a layout change when a portal's fields move from its selectors to the fallbacks.
            for name, source in sources.items():
                stats.inc_value(f"govarchive/source/{name}/{str(source).split(':', 1)[0]}")

    def lost(self, writes: list[PendingWrite], reason: str) -> None:
        """Archive callback: these writes of the run were rolled back with a failed batch."""
        self.lost_writes.extend(writes)
        self.write_error = reason
        stats = self.crawler.stats
        stats.inc_value("govarchive/write_errors")
        stats.inc_value("govarchive/items_lost", len(writes))
        stats.set_value("govarchive/write_error", reason)
        logger.error("archive write failed (%s): %d item(s) of this run rolled back; the run is incomplete and "
                     "they are fetched again next run", reason, len(writes), extra={"spider": self.crawler.spider})

    def record_file_outcomes(self, item: ArticleItem) -> None:
        """A failed attachment or image is a ``failures`` row (stage ``attachment``), retried through its article."""
        assert self.archive is not None
        for info in item.files or []:
            url = info["url"]
            if info.get("status") == "stored":
                self.archive.clear_failure(url)
            elif info.get("status"):
                self.crawler.stats.inc_value("govarchive/files_failed")
                self.archive.record_failure(
                    url=url, portal=item.portal, stage="attachment",
                    reason=f"{info.get('kind', 'file')} {info['status']}: {info.get('error') or ''}".strip(),
                    status=info.get("http_status"), run_id=self.run_id,
                    extra={"article_url": item.final_url or item.source_url or item.url, "kind": info.get("kind")})

    def apply_removals(self, stats: dict[str, Any]) -> None:
        """Mark the run's takedown candidates removed, unless the run saw an outage (then: failures)."""
        assert self.archive is not None
        verdict = judge_removals(
            len(self.removals), archived_fetched=int(stats.get("govarchive/archived_fetched", 0)),
            listing_pages_with_links=int(stats.get("govarchive/listing_pages_with_links", 0)),
            max_share=self.settings.getfloat("REMOVAL_MAX_SHARE", 0.5),
            min_for_share=self.settings.getint("REMOVAL_MIN_FOR_SHARE", 5))
        for removal in self.removals:
            if verdict.mark:
                if self.archive.mark_removed(removal.url, reason=removal.reason, status=removal.status,
                                             final_url=removal.final_url, capture=removal.capture,
                                             run_id=self.run_id):
                    self.crawler.stats.inc_value("govarchive/articles_removed")
                for url in {removal.url, removal.requested_url}:
                    if url:
                        self.archive.clear_failure(url)
            else:
                self.archive.record_failure(url=removal.url, portal=removal.portal, stage="download",
                                            reason=f"{removal.reason} not believed: {verdict.reason}",
                                            status=removal.status, run_id=self.run_id,
                                            extra={"final_url": removal.final_url})
                self.crawler.stats.inc_value("govarchive/removals_not_believed")
        if self.removals and not verdict.mark:
            logger.warning("%s: %d takedown(s) not marked: %s", self.crawler.spider.name, len(self.removals),
                           verdict.reason)
        self.removals = []

    def store_failed(self, item: ArticleItem, exc: Exception) -> None:
        """Log and count an article the archive refused, and record it as a ``store`` failure if possible."""
        logger.error("could not store %s: %r", item.url, exc, exc_info=exc,
                     extra={"spider": self.crawler.spider})  # counted for this portal (portal_spiders/logcount.py)
        self.store_errors += 1
        self.crawler.stats.inc_value("govarchive/store_errors")
        assert self.archive is not None
        try:
            self.archive.record_failure(url=item.source_url or item.url, portal=item.portal, stage="store",
                                        reason=f"{type(exc).__name__}: {exc}", run_id=self.run_id,
                                        extra={"canonical_url": item.url})
        except Exception:
            logger.exception("could not record the store failure of %s either", item.url,
                             extra={"spider": self.crawler.spider})

    def record_lost(self) -> None:
        """Record what this run lost to failed writes as failures, so the next run fetches exactly those again
        (now, or as soon as the disk takes them: :meth:`Archive.record_failures_when_possible`)."""
        assert self.archive is not None
        lost, self.lost_writes = self.lost_writes, []
        records = []
        for write in lost:
            if write.kind == "failure":  # the page's own failure, as it was
                note = write.note or {}
                records.append({"url": write.url, "portal": write.portal, "stage": note.get("stage", "store"),
                                "reason": note.get("reason", ""), "status": note.get("status"),
                                "run_id": self.run_id, "extra": note.get("extra")})
            else:
                records.append({"url": write.url, "portal": write.portal, "stage": "store", "run_id": self.run_id,
                                "reason": f"archive write failed: {self.write_error}; rolled back, fetched again "
                                          "next run", "extra": {"lost_outcome": write.outcome}})
        if not self.archive.record_failures_when_possible(records):
            logger.error("could not record the %d lost item(s) yet (%s): they are written once the disk allows; "
                         "the run is incomplete either way", len(records), self.write_error)
        else:
            self.counts["items_failed"] += len(records)

    def close_spider(self) -> None:
        """Commit the last batch (the run row is closed on ``spider_closed``)."""
        if self.archive is not None:
            with suppress(ArchiveWriteError):
                self.archive.commit()

    def spider_closed(self, spider: Any, reason: str) -> None:
        """Close the run row with counts, coverage, finish reason and monitor results, then the archive."""
        if self.archive is None or self.run_id is None:
            return
        with suppress(ArchiveWriteError):  # the removals' writes, then this run's last items: lost ones are told
            self.apply_removals(self.crawler.stats.get_stats())
            self.archive.commit()
        lost_any = bool(self.lost_writes) or self.write_error is not None
        if self.lost_writes:
            self.record_lost()
        stats = self.crawler.stats.get_stats()
        counts = {k: self.counts.get(k, 0) for k in ("items_new", "items_updated", "items_unchanged",
                                                       "items_failed")}
        counts["requests"] = int(stats.get("downloader/request_count", 0))
        counts["responses"] = int(stats.get("downloader/response_count", 0))
        counts["listing_pages"] = int(stats.get("govarchive/listing_pages", 0))
        coverage = {name: round(self.coverage[name] / self.stored, 4) if self.stored else 0.0
                    for name in COVERAGE_FIELDS}
        keep = {k: v for k, v in stats.items() if isinstance(v, int | float | str) and (
            k.startswith(("downloader/response_status_count", "govarchive/", "retry/", "log_count/ERROR",
                          "item_dropped_count", "robotstxt/")))}
        # Set by portal_spiders.monitors.StoreMonitorResults: spidermon's handler runs before this one (extensions
        # connect to spider_closed before pipelines do). None when spidermon is disabled.
        monitor_results = stats.get("govarchive/monitor_results")
        # Complete = nothing left behind: later incremental runs stop at the articles this run archived.
        complete = (reason == "finished" and not self.store_errors and not lost_any
                    and not any(stats.get(f"govarchive/{key}") for key in INCOMPLETE_STATS))
        if complete:
            try:
                self.archive.clear_listing_failures(spider.name, before_run=self.run_id)
            except ArchiveWriteError:
                complete = False
        self.archive.finish_run(self.run_id, finish_reason=reason, counts=counts, coverage=coverage, stats=keep,
                                monitor_results=monitor_results, complete=complete,
                                cause=stats.get("govarchive/cause"))  # portal_spiders.diagnosis, in words
        self.archive.unwatch(self.run_id)
        release_archive(self.archive)
        self.archive = None


# Stats (``govarchive/<name>``) that make a run incomplete: a listing page failed, a redirect target was dropped,
# requests to a host were deferred to the next run (Retry-After beyond the ceiling).
INCOMPLETE_STATS = ("listing_errors", "redirects_dropped", "deferred")
