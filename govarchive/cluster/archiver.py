"""The archiver: the one process that writes the SQLite archive of a cluster.

It watches Redis for cluster runs and archives each one as a Scrapy crawl of its own, so the path is the one a
single-machine crawl takes: the portal's spider class (mixed with :class:`ArchiverSpiderMixin`, whose ``start()``
yields the run's items from Redis instead of requests), the project's normalize → validate → dedupe → files → store
pipelines (``GOVARCHIVE_ARCHIVER_PIPELINES``), the per-run spidermon monitors and the archive lock.

Reliability: the run's items are a Redis stream read through a consumer group. A batch is yielded to the
pipelines, the archive transaction is committed (with the run's counts checkpointed into its ``crawl_runs`` row in
that same transaction), and only then are the batch's entries acknowledged and deleted. The runs share one archive,
so every commit, whichever run makes it, checkpoints every open run. An archiver killed at any
point leaves its unacknowledged entries pending; the next archiver reads them again (same consumer name) and resumes
the same ``crawl_runs`` row with its counts. The checkpoint names the entries of the batch it was committed with, so
a batch that was committed but not acknowledged is acknowledged on re-delivery without passing through the pipelines
again (its articles are neither counted twice nor their files fetched again). Should an article still arrive twice
(a dead worker's request crawled again), the archive stores it once: it knows it by URL and content hash (an
unchanged re-visit).

For workers, the archiver publishes the run's incremental state into Redis when it opens the run: the id of the
portal's last complete run, ``(first_run_id, published)`` of its archived URLs, and its open failures to retry.

Attachments and images are downloaded here (``ArchiveFilesPipeline`` is one of the archiver's pipelines, as on one
machine), so the files store sits beside the archive with the rows that point to it. Workers capture the pages they
fetch into WARC files of their own (``WARC_DIR``; the file names carry host and pid); the items carry the pointers.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider
from scrapy.settings import Settings

from govarchive.cluster import CONSUMER_GROUP, CRAWLED, OPEN, REQUESTED, RunKeys, connect
from govarchive.cluster.addon import component_path
from govarchive.cluster.codec import ItemDecodeError, decode_item
from govarchive.cluster.leases import RunQueue
from govarchive.cluster.worker import ITEMS_LOST, REQUESTS_LOST

logger = logging.getLogger(__name__)

CONSUMER = "archiver"  # one archiver per cluster: a restarted one must see the pending entries of the last
CHECKPOINT_STAT = "govarchive/cluster/checkpoint"
DEAD_STAT = "govarchive/cluster/items_undecodable"
# Stats the archiver derives from the items themselves (workers do not send them, see worker.ARCHIVER_STATS).
DERIVED_STATS = ("govarchive/listing_errors", "govarchive/failures/listing", DEAD_STAT)
STATE_CHUNK = 1000

# One archiver per cluster: it holds <prefix>:archiver (refreshed on every poll) for as long as it runs.
ARCHIVER_LOCK_TTL_MS = 30_000
_REFRESH = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_TAKE_OVER = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) return 1 end
return 0
"""

_CLEANUP = """
for i = 3, #KEYS do redis.call('DEL', KEYS[i]) end
if redis.call('HGET', KEYS[1], 'token') == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('SREM', KEYS[2], ARGV[2])
end
return 1
"""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class ArchiverSpiderMixin:
    """Mixed into a portal's spider class by :func:`archiver_spider`: archive one cluster run of that portal."""

    crawler: Crawler
    name: str
    settings: Any

    def __init__(self, *args: Any, cluster_url: str, cluster_token: str, cluster_prefix: str = "govarchive",
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.client = connect(cluster_url)
        self.keys = RunKeys(self.name, cluster_token, cluster_prefix)
        fields = {_text(k): _text(v) for k, v in self.client.hgetall(self.keys.run).items()}
        self.crawl_mode = fields.get("mode") or "incremental"
        # Set when a killed archiver had opened the run already: the store pipeline goes on with that row.
        self.resume_run_id = int(fields["archive_run_id"]) if fields.get("archive_run_id") else None
        self.cluster_drained = False
        self._close_reason: str | None = None  # why the run ends other than "finished" (see _idle)
        self._outstanding = 0
        self._settled: asyncio.Future[None] | None = None
        self._cursor = "0"  # first the entries a killed archiver left pending, then new ones (">")
        # Entries of the last batch a killed archiver committed (its checkpoint says which) but did not acknowledge.
        self._committed: set[str] = set()
        self._entries: list[str] = []  # the batch being committed by _settle (named by its checkpoint)

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Any:
        """Scrapy factory: count each item's way out of the pipelines."""
        spider = super().from_crawler(crawler, *args, **kwargs)  # type: ignore[misc]
        for signal_ in (signals.item_scraped, signals.item_dropped, signals.item_error):
            crawler.signals.connect(spider._item_done, signal=signal_)
        crawler.signals.connect(spider._idle, signal=signals.spider_idle)
        crawler.signals.connect(spider._forget_checkpoint, signal=signals.spider_closed)
        return spider

    def _forget_checkpoint(self) -> None:
        """The run is over: the shared archive's commits stop checkpointing it."""
        with suppress(RuntimeError, AttributeError):  # no store pipeline, or the engine is gone already
            self._store().archive.before_commit(self, None)

    def _idle(self) -> None:
        """Close with the run's reason once the engine is idle.

        Not by raising ``CloseSpider`` from ``start()``: Scrapy 2.19 then starts closing while the last item yielded
        by ``start()`` is still leaving the pipelines, and its scraper waits for that item forever (only responses,
        not ``start()`` items, re-check a closing scraper). An idle engine has no item left.
        """
        if self._close_reason:
            raise CloseSpider(self._close_reason)

    def _item_done(self, *args: Any, **kwargs: Any) -> None:
        self._outstanding -= 1
        if self._outstanding <= 0 and self._settled is not None and not self._settled.done():
            self._settled.set_result(None)

    def _store(self) -> Any:
        """The store pipeline instance of this crawl (its counters are checkpointed and restored)."""
        from pipelines.store import StorePipeline

        for pipe in self.crawler.engine.scraper.itemproc.middlewares:
            if isinstance(pipe, StorePipeline):
                return pipe
        raise RuntimeError("the archiver needs pipelines.store.StorePipeline in GOVARCHIVE_ARCHIVER_PIPELINES")

    # -- the run ---------------------------------------------------------------------------------------------

    async def start(self) -> Any:
        """Open (or resume) the run, then yield its items batch by batch until the run is crawled and drained."""
        store = self._store()
        try:
            self.client.xgroup_create(self.keys.items, CONSUMER_GROUP, id="0", mkstream=True)
        except Exception as exc:  # BUSYGROUP: a previous archiver created it
            if "BUSYGROUP" not in str(exc):
                raise
        if self.resume_run_id:
            self._restore(store)
            logger.info("resuming run %s of %s (crawl_runs id %s)", self.keys.token, self.name, store.run_id)
        else:
            self._publish(store)
        store.archive.before_commit(self, lambda: self._checkpoint(store))
        while True:
            batch = self._read()
            if batch is None:
                fields = {_text(k): _text(v) for k, v in self.client.hgetall(self.keys.run).items()}
                if fields.get("token") != self.keys.token:
                    self._close_reason = "cluster_run_gone"
                    return
                # Workers push every item before giving up the lease that produced it, and the run is marked
                # crawled only with no lease left: one more empty read after seeing CRAWLED means drained.
                crawled = fields.get("state") == CRAWLED
                batch = self._read() if crawled else None
                if batch is None and crawled:
                    break
                if batch is None:
                    RunQueue(self.client, self.keys).reap()  # workers do it too; a run whose workers all died needs it
                    await asyncio.sleep(0.2)
                    continue
            for item in batch[1]:
                yield item
            await self._settle(store, batch[0])
        self.cluster_drained = True
        self._close_reason = self._finish()

    def _read(self) -> tuple[list[str], list[Any]] | None:
        """Up to one batch of entries: (entry ids, items); undecodable entries are set aside, never dropped."""
        count = self.settings.getint("GOVARCHIVE_ARCHIVER_BATCH", 50)
        reply = self.client.xreadgroup(CONSUMER_GROUP, CONSUMER, {self.keys.items: self._cursor}, count=count)
        entries = reply[0][1] if reply else []
        if self._cursor != ">":
            if not entries:
                self._cursor = ">"
                return self._read()
            self._cursor = _text(entries[-1][0])
        if not entries:
            return None
        ids: list[str] = []
        items: list[Any] = []
        stats = self.crawler.stats
        for entry_id, fields in entries:
            ids.append(_text(entry_id))
            if not fields:  # deleted while pending: it was committed and acknowledged already
                continue
            if self._cursor != ">" and _text(entry_id) in self._committed:
                continue  # committed by the killed archiver with the checkpoint we resumed from: acknowledge only
            try:
                item = decode_item(fields)
            except ItemDecodeError as exc:
                logger.error("run %s of %s: cannot archive stream entry %s: %s (kept in %s)", self.keys.token,
                             self.name, _text(entry_id), exc, self.keys.dead)
                self.client.xadd(self.keys.dead, {**fields, "error": str(exc)})
                stats.inc_value(DEAD_STAT)
                continue
            if getattr(item, "stage", None) == "listing":  # see portal_spiders.spiders.base.listing_failure
                stats.inc_value("govarchive/failures/listing")
                stats.inc_value("govarchive/listing_errors")
            items.append(item)
        self._outstanding = len(items)
        self._settled = asyncio.get_running_loop().create_future() if items else None
        return ids, items

    async def _settle(self, store: Any, ids: list[str]) -> None:
        """Wait for the batch's items to leave the pipelines, commit with a checkpoint, then acknowledge."""
        if self._settled is not None:
            await self._settled
        archive = store.archive
        self._entries = ids  # the checkpoint written by the commit names them (see _checkpoint)
        try:
            archive.commit()
        finally:
            self._entries = []
        with self.client.pipeline(transaction=True) as pipe:
            pipe.xack(self.keys.items, CONSUMER_GROUP, *ids)
            pipe.xdel(self.keys.items, *ids)
            pipe.hincrby(self.keys.run, "archived", len(ids))
            pipe.incrby(RunKeys.counter("archived", self.keys.prefix), len(ids))
            pipe.execute()

    def _checkpoint(self, store: Any) -> None:
        """Archive commit hook: write the run's counts into its row, in the transaction about to commit.

        The store counts writes once they are committed; the checkpoint goes into the same transaction, so it
        counts its writes already (a resumed run must not lose them, nor count them again). Every commit of the
        shared archive writes it, not only this run's: another run's start or end commits this run's pending
        writes too, and without the checkpoint a killed archiver's successor would count them as re-visits. Only
        the commit of a settled batch names its entries (committed with this transaction; acknowledged after it)."""
        archive = store.archive
        if store.run_id is None or (archive.get_run(store.run_id) or {}).get("finished_at"):
            return
        counts, coverage, stored = store.after_commit(archive.pending_writes(store.run_id))
        archive.checkpoint_run(store.run_id, counts=dict(counts), stats={
            CHECKPOINT_STAT: {
                "counts": dict(counts), "coverage": dict(coverage), "stored": stored,
                "store_errors": store.store_errors,
                "stats": {k: self.crawler.stats.get_value(k, 0) for k in DERIVED_STATS},
                "entries": list(self._entries),
            }})

    def _publish(self, store: Any) -> None:
        """Publish what the workers' walk reads, then open the run for them."""
        archive = store.archive
        last = archive.last_complete_run(self.name)
        published = 0
        self.client.delete(self.keys.state, self.keys.retry)
        # Every mode needs it: the walk of incremental and since runs, and in every mode whether a fetched article
        # is archived (its 404 may then be a takedown, portal_spiders/removals.py).
        chunk: dict[str, str] = {}
        for url, first_run, when in archive.article_states(self.name):
            chunk[url] = f"{'' if first_run is None else first_run}|{when or ''}"
            if len(chunk) >= STATE_CHUNK:
                self.client.hset(self.keys.state, mapping=chunk)
                published += len(chunk)
                chunk = {}
        if chunk:
            self.client.hset(self.keys.state, mapping=chunk)
            published += len(chunk)
        failures = [json.dumps({"url": f["url"], "stage": f["stage"]}) for f in archive.failures(self.name)]
        if failures:
            self.client.rpush(self.keys.retry, *failures)
        with self.client.pipeline(transaction=True) as pipe:
            pipe.watch(self.keys.run)
            if _text(pipe.hget(self.keys.run, "token") or b"") != self.keys.token:
                raise CloseSpider("cluster_run_gone")
            pipe.multi()
            pipe.hset(self.keys.run, mapping={"archive_run_id": str(store.run_id),
                                              "last_complete_run": str(last["id"]) if last else "",
                                              "state": OPEN})
            pipe.execute()
        logger.info("opened %s run %s of %s (crawl_runs id %s; %d archived URLs and %d failures published)",
                    self.crawl_mode, self.keys.token, self.name, store.run_id, published, len(failures))

    def _restore(self, store: Any) -> None:
        """Go on from the counts checkpointed in the run row (what the killed archiver had committed)."""
        row = store.archive.get_run(store.run_id) or {}
        checkpoint = (json.loads(row.get("stats") or "{}") or {}).get(CHECKPOINT_STAT) or {}
        store.counts.update(checkpoint.get("counts", {}))
        store.coverage.update(checkpoint.get("coverage", {}))
        store.stored = int(checkpoint.get("stored", 0))
        store.store_errors = int(checkpoint.get("store_errors", 0))
        self._committed = set(checkpoint.get("entries", []))
        for key, value in {**{f"govarchive/{k}": v for k, v in checkpoint.get("counts", {}).items()},
                           **checkpoint.get("stats", {})}.items():
            if value:
                self.crawler.stats.set_value(key, int(value))

    def _finish(self) -> str | None:
        """Add the workers' stats to this crawl's; a run that lost anything ends as ``items_lost`` (returned)."""
        stats = self.crawler.stats
        for key, value in self.client.hgetall(self.keys.stats).items():
            stats.inc_value(_text(key), int(value))
        lost = {name: int(stats.get_value(name, 0)) for name in (ITEMS_LOST, REQUESTS_LOST, DEAD_STAT)}
        if any(lost.values()):
            logger.error("run %s of %s lost %s: not complete", self.keys.token, self.name,
                         ", ".join(f"{v} ({k.rsplit('/', 1)[-1]})" for k, v in lost.items() if v))
            return "items_lost"
        return None


def archiver_spider(spidercls: type, *, replica_url: str = "") -> type:
    """The archiver's version of a portal spider class (same name, settings and registry entry).

    ``replica_url``: the workers crawled an offline replica; the run is recorded as a replica run, and kept out of
    an archive of real runs (``portal_spiders/replica_guard.py``), as a single-machine replica crawl would be.
    """

    @classmethod  # type: ignore[misc]
    def update_settings(cls: type, settings: Any) -> None:
        spidercls.update_settings.__func__(cls, settings)  # type: ignore[attr-defined]
        settings.set("REPLICA_URL", replica_url, "cmdline")

    return type(spidercls.__name__, (ArchiverSpiderMixin, spidercls),
                {"__module__": __name__, "update_settings": update_settings})


def archiver_settings(settings: Settings, db: str) -> Settings:
    """Project settings for the archiver's crawls: the archive pipelines only, commits paced by the archiver."""
    settings = settings.copy()
    wanted = set(settings.getlist("GOVARCHIVE_ARCHIVER_PIPELINES"))  # by path: importing them could install a reactor
    pipelines = {path: order for path, order in settings.getdict("ITEM_PIPELINES").items()
                 if order is not None and component_path(path) in wanted}
    settings.set("ITEM_PIPELINES", pipelines, "cmdline")
    settings.set("ARCHIVE_DB", db, "cmdline")
    settings.set("GOVARCHIVE_CLUSTER", "", "cmdline")  # the worker add-on stays off here
    # The archiver commits after each batch (and checkpoints the run first); the archive must not commit on its own
    # in the middle of one, or a count could be committed without its item or the other way round.
    settings.set("ARCHIVE_BATCH_SIZE", 10**9, "cmdline")
    settings.set("ARCHIVE_BATCH_SECONDS", 1e9, "cmdline")
    settings.set("TELNETCONSOLE_ENABLED", False, "cmdline")
    return settings


class Archiver:
    """Archive every cluster run in Redis until stopped (or, with ``exit_when_idle``, until none is left)."""

    def __init__(self, settings: Settings, *, url: str, db: str, portals: list[str] | None = None,
                 exit_when_idle: bool = False, idle_timeout: float = 60.0) -> None:
        self.settings = archiver_settings(settings, db)
        self.url = url
        self.db = db
        self.prefix = settings.get("GOVARCHIVE_CLUSTER_PREFIX") or "govarchive"
        self.client = connect(url)
        self.portals = set(portals) if portals else None
        self.exit_when_idle = exit_when_idle
        self.idle_timeout = idle_timeout
        self.active: dict[tuple[str, str], Crawler] = {}
        self.given_up: set[tuple[str, str]] = set()
        self.closed: list[dict[str, Any]] = []
        self.started = time.monotonic()
        self.stopping = False
        self.runner: Any = None
        self._cleanup = self.client.register_script(_CLEANUP)
        self._refresh = self.client.register_script(_REFRESH)
        self._take_over = self.client.register_script(_TAKE_OVER)
        self.lock_key = f"{self.prefix}:archiver"
        self.identity = f"{socket.gethostname()}|{os.getpid()}|{Path(db).resolve()}"

    def claim(self, wait: float = ARCHIVER_LOCK_TTL_MS / 1000 + 5) -> str | None:
        """Become the cluster's archiver; returns None, or the holder when another archiver is alive.

        A holder on this host whose process is gone (killed, restarted by systemd) is replaced at once, a live one
        is refused at once; one on another host is waited for until its lock expires (it refreshes it every poll).
        """
        deadline = time.monotonic() + wait
        while True:
            if self.client.set(self.lock_key, self.identity, nx=True, px=ARCHIVER_LOCK_TTL_MS):
                return None
            holder = _text(self.client.get(self.lock_key) or b"")
            host, _, rest = holder.partition("|")
            pid = rest.partition("|")[0]
            here = host == socket.gethostname() and pid.isdigit()
            if here and not _alive(int(pid)) and self._take_over(
                    keys=[self.lock_key], args=[holder, self.identity, ARCHIVER_LOCK_TTL_MS]):
                return None
            if (here and _alive(int(pid))) or time.monotonic() > deadline:
                return holder
            time.sleep(0.5)

    def run(self) -> int:
        """Serve until stopped; returns the exit code (1 if a run it closed was not complete, or one could not be
        archived: left in Redis for the next archiver)."""
        from scrapy.utils.log import configure_logging
        from scrapy.utils.ossignal import install_shutdown_handlers
        from scrapy.utils.reactor import install_reactor

        install_reactor(self.settings["TWISTED_REACTOR"], self.settings["ASYNCIO_EVENT_LOOP"])
        from scrapy.crawler import CrawlerRunner
        from twisted.internet import reactor
        from twisted.internet.task import LoopingCall

        configure_logging(self.settings)
        self.runner = CrawlerRunner(self.settings)
        loop = LoopingCall(self.poll)

        def stop(signum: int, _: Any) -> None:
            if self.stopping:
                reactor.callFromThread(reactor.stop)  # second signal: now
                return
            self.stopping = True
            reactor.callFromThread(self._graceful_stop)

        reactor.callWhenRunning(lambda: install_shutdown_handlers(stop))
        reactor.callWhenRunning(loop.start, 0.5)
        reactor.run(installSignalHandlers=False)
        self.client.register_script(_CLEANUP_LOCK)(keys=[self.lock_key], args=[self.identity])
        return 1 if self.given_up or any(not run["complete"] for run in self.closed) else 0

    def _graceful_stop(self) -> None:
        from twisted.internet import reactor

        logger.info("stopping: runs in progress stay in Redis and resume with the next archiver")
        self.runner.stop().addBoth(lambda _: reactor.stop())

    def poll(self) -> None:
        """Start archiving runs that appeared; stop when idle if asked to."""
        if self.stopping:
            return
        try:
            if not self._refresh(keys=[self.lock_key], args=[self.identity, ARCHIVER_LOCK_TTL_MS]):
                logger.error("another archiver took over this cluster (the lock expired while this one was stalled):"
                             " stopping at once; uncommitted entries stay pending for it")
                from twisted.internet import reactor

                self.stopping = True
                reactor.stop()
                return
            for raw in self.client.smembers(RunKeys.runs_set(self.prefix)):
                portal = _text(raw)
                if self.portals is not None and portal not in self.portals:
                    continue
                fields = {_text(k): _text(v) for k, v in self.client.hgetall(RunKeys.run_hash(portal, self.prefix))
                          .items()}
                if not fields:
                    self.client.srem(RunKeys.runs_set(self.prefix), portal)
                    continue
                key = (portal, fields["token"])
                if key in self.active or key in self.given_up:
                    continue
                if fields.get("state") in (REQUESTED, OPEN, CRAWLED):
                    self._start(portal, fields["token"])
        except Exception as exc:  # Redis unreachable for a moment: try again on the next poll
            logger.warning("archiver poll failed: %r", exc)
            return
        idle = self.exit_when_idle and not self.active and not self._pending_runs()
        if idle and (self.closed or self.given_up or time.monotonic() - self.started > self.idle_timeout):
            from twisted.internet import reactor

            self.stopping = True
            reactor.stop()

    def _pending_runs(self) -> bool:
        members = {_text(m) for m in self.client.smembers(RunKeys.runs_set(self.prefix))}
        if self.portals is not None:
            members &= self.portals
        return any((portal, _text(self.client.hget(RunKeys.run_hash(portal, self.prefix), "token") or b""))
                   not in self.given_up for portal in members)

    def _start(self, portal: str, token: str) -> None:
        from portal_spiders.spiders.portals import SPIDERS

        if portal not in SPIDERS:
            logger.error("cluster run %s is for unknown portal %r (registry of this archiver): left in Redis",
                         token, portal)
            self.given_up.add((portal, token))
            return
        args = json.loads(_text(self.client.hget(RunKeys.run_hash(portal, self.prefix), "args") or b"{}") or "{}")
        crawler = self.runner.create_crawler(archiver_spider(SPIDERS[portal], replica_url=args.get("replica") or ""))
        self.active[(portal, token)] = crawler
        deferred = self.runner.crawl(crawler, cluster_url=self.url, cluster_token=token, cluster_prefix=self.prefix)
        deferred.addBoth(self._crawl_done, portal, token, crawler)

    def _crawl_done(self, result: Any, portal: str, token: str, crawler: Crawler) -> None:
        self.active.pop((portal, token), None)
        spider = crawler.spider  # None when the crawl failed to start (e.g. it would mix replica and real runs)
        if spider is not None and spider.cluster_drained:
            keys = RunKeys(portal, token, self.prefix)
            self._cleanup(keys=[keys.run, RunKeys.runs_set(self.prefix), *keys.all()], args=[token, portal])
            from govarchive.archive import Archive

            with Archive.open_existing(self.db) as archive:
                row = archive.get_run(spider.archive_run_id) or {}
            summary = {"portal": portal, "token": token, "run_id": row.get("id"),
                       "finish_reason": row.get("finish_reason"), "complete": bool(row.get("complete")),
                       **{k: row.get(k) or 0 for k in ("items_new", "items_updated", "items_unchanged",
                                                       "items_failed")}}
            self.closed.append(summary)
            print("archived " + " ".join(f"{k}={v}" for k, v in summary.items()), flush=True)
        elif not self.stopping:
            logger.error("run %s of %s stopped before it was drained (see the log above); it stays in Redis for the "
                         "next archiver", token, portal)
            self.given_up.add((portal, token))


_CLEANUP_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ArchiverBusy(RuntimeError):
    """Another archiver serves this cluster."""


def serve(settings: Settings, *, url: str, db: str, **kwargs: Any) -> int:
    """Run an :class:`Archiver` (the ``govarchive archiver`` command); raises :class:`ArchiverBusy`."""
    archiver = Archiver(settings, url=url, db=db, **kwargs)
    holder = archiver.claim()
    if holder is not None:
        host, pid, path = [*holder.split("|"), "?", "?"][:3]
        raise ArchiverBusy(f"another archiver (pid {pid} on {host}, archive {path}) serves this cluster; "
                           "one archiver per cluster")
    return archiver.run()
