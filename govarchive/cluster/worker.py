"""The worker side: a crawl with ``-s GOVARCHIVE_CLUSTER=redis://...`` joins its portal's cluster run.

:class:`govarchive.cluster.addon.ClusterAddon` (listed in ``ADDONS``; inert without the setting) turns a normal
crawl into a worker with the components of this module:

* the scheduler is scrapy-redis' Redis scheduler, adapted as :class:`LeasedScheduler` (why, method by method, in
  its docstring): requests a worker takes are leased, and come back when its heartbeat stops;
* the duplicate filter is scrapy-redis' fingerprint set (:class:`ClusterDupeFilter`), one per portal run;
* the pipelines the archiver runs (``GOVARCHIVE_ARCHIVER_PIPELINES``: normalize, validate, dedupe, files, store)
  are taken out, every other pipeline still runs here, and :class:`ClusterItemPipeline` pushes each item (with
  whatever fields it carries, WARC pointers included) to the run's Redis stream last;
* :class:`ClusterWorkerExtension` keeps the heartbeat, deletes finished leases, sums stats into Redis, gives dead
  workers' leases back, and lets the spider close only once the whole run is crawled;
* :class:`ClusterStartMiddleware` joins or creates the run and waits for the archiver to open it before the spider's
  ``start()`` reads the archive state, which comes from Redis (:class:`ClusterState`): workers never open SQLite.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import time
import uuid
import weakref
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider, DontCloseSpider, NotConfigured
from scrapy.utils.misc import load_object
from scrapy.utils.request import request_from_dict
from scrapy_redis import picklecompat
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.scheduler import Scheduler as RedisScheduler

from govarchive.cluster import CRAWLED, OPEN, REQUESTED, RunKeys, connect, new_worker_id
from govarchive.cluster.codec import encode_item
from govarchive.cluster.leases import RunQueue

logger = logging.getLogger(__name__)

# Stats summed over the workers into the run's stats hash; the archiver counts listing failures from the failure
# items themselves (a killed worker's items arrive, its last unsent stats do not).
MERGED_STATS = ("downloader/", "retry/", "govarchive/", "robotstxt/", "log_count/ERROR", "spider_exceptions/",
                "dupefilter/", "scheduler/")
ARCHIVER_STATS = ("govarchive/listing_errors", "govarchive/failures/listing")
ITEMS_LOST = "govarchive/cluster/items_lost"
REQUESTS_LOST = "govarchive/cluster/requests_lost"


class WorkerContext:
    """One crawler's view of its cluster run: the Redis client, this worker's id, the run keys, open leases."""

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.client = connect(settings.get("GOVARCHIVE_CLUSTER"))
        self.prefix = settings.get("GOVARCHIVE_CLUSTER_PREFIX") or "govarchive"
        # One identity per crawler (portal) of the process: each beats for itself, so a portal whose spider closed
        # early does not make the leases of the process's other portals look abandoned.
        self.worker = f"{settings.get('GOVARCHIVE_CLUSTER_WORKER_ID') or new_worker_id()}@{crawler.spidercls.name}"
        self.heartbeat_seconds = settings.getfloat("GOVARCHIVE_CLUSTER_HEARTBEAT", 2.0)
        self.lease_ttl = settings.getfloat("GOVARCHIVE_CLUSTER_LEASE_TTL", 15.0)
        self.keys: RunKeys | None = None
        self.queue: RunQueue | None = None
        self.mode: str | None = None
        self.done: list[str] = []  # leases whose request the engine let go of (appended by finalizers)
        self.held: set[str] = set()
        self.unreported: dict[str, int] = {}  # losses not yet added to the run's stats (Redis was unreachable)

    def beat(self) -> None:
        """Refresh this worker's heartbeat key."""
        self.client.set(RunKeys.heartbeat(self.worker, self.prefix), str(time.time()),
                        px=int(self.lease_ttl * 1000))

    def track(self, request: Request, lease: str) -> None:
        """Delete ``lease`` once the engine is done with ``request``.

        Scrapy has no "request fully processed" signal. The engine keeps every request it works on in its
        in-progress set until the download, the callback or errback and the item pipelines of every item the
        callback produced are done (its follow-up requests are in Redis by then: scheduling is synchronous), so the
        request object is freed only after that. The finalizer only records the lease; Redis is called from the
        heartbeat, never from inside garbage collection.
        """
        self.held.add(lease)
        weakref.finalize(request, self.done.append, lease)

    def flush_acks(self) -> int:
        """Delete the leases of finished requests in one call."""
        if self.queue is None or not self.done:
            return 0
        done = self.done[:]
        del self.done[: len(done)]
        try:
            acked = self.queue.ack(done)
        except Exception:
            self.done.extend(done)  # Redis hiccup: the next call tries again
            raise
        self.held.difference_update(done)
        return acked

    def settle_all(self, *, finished: bool) -> None:
        """On idle or close: every lease this worker still holds is either done (``finished``) or given back."""
        if self.queue is None:
            return
        gc.collect()
        self.flush_acks()
        mine = self.queue.held_by(self.worker)
        if mine:
            if finished:
                self.queue.ack(mine)
            else:
                logger.info("giving %d leased request(s) back to the queue", self.queue.requeue(mine))
        self.held.clear()

    def lost(self, stat: str, count: int = 1) -> None:
        """Count a loss in the run's stats (the archiver will not call the run complete); kept and sent with the
        next heartbeat if Redis cannot be reached now."""
        self.unreported[stat] = self.unreported.get(stat, 0) + count
        self.report_losses()

    def report_losses(self) -> None:
        """Send the losses not reported yet (raises if Redis is still unreachable; they stay queued)."""
        if self.keys is None or not self.unreported:
            return
        with self.client.pipeline(transaction=True) as pipe:
            for stat, count in self.unreported.items():
                pipe.hincrby(self.keys.stats, stat, count)
            pipe.execute()
        self.unreported.clear()

    # -- joining the run ---------------------------------------------------------------------------------------

    async def join(self, spider: Any) -> None:
        """Join the portal's open run or ask for a new one, then wait until the archiver has opened it."""
        portal, mode = spider.name, getattr(spider, "crawl_mode", "full")
        if mode == "recheck":  # it reads the archive's rows (portal_spiders/removals.py): one machine only
            logger.error("a recheck of %s runs next to the archive (`govarchive recheck`), not as a cluster worker",
                         portal)
            raise CloseSpider("cluster_unsupported_mode")
        args = {name: str(getattr(spider, name)) for name in ("since", "refresh_days", "max_pages")
                if getattr(spider, name, None) is not None}
        # The archiver records the run as a replica run (and keeps replica and real runs apart) from this.
        args["replica"] = self.crawler.settings.get("REPLICA_URL") or ""
        run = RunKeys.run_hash(portal, self.prefix)
        wait_limit = self.crawler.settings.getfloat("GOVARCHIVE_CLUSTER_WAIT", 600.0)
        started = last_log = time.monotonic()
        token = None
        while token is None:
            token = self._join_or_create(portal, run, mode, args)
            if token is None:
                if time.monotonic() - last_log > 30:
                    logger.info("the previous run of %s is still being archived; waiting", portal)
                    last_log = time.monotonic()
                if time.monotonic() - started > wait_limit:
                    raise CloseSpider("cluster_busy")
                await asyncio.sleep(0.25)
        self.keys = RunKeys(portal, token, self.prefix)
        self.queue = RunQueue(self.client, self.keys)
        while True:
            fields = self._run_fields(run)
            if fields.get("token") != token:
                raise CloseSpider("cluster_run_gone")
            if fields.get("state") in (OPEN, CRAWLED):
                break
            if time.monotonic() - started > wait_limit:
                logger.error("no archiver opened run %s of %s within %.0f s: is `govarchive archiver` running?",
                             token, portal, wait_limit)
                raise CloseSpider("archiver_unavailable")
            if time.monotonic() - last_log > 30:
                logger.info("waiting for the archiver to open run %s of %s", token, portal)
                last_log = time.monotonic()
            await asyncio.sleep(0.1)
        self.mode = fields.get("mode")
        theirs = json.loads(fields.get("args") or "{}")
        if (self.mode, theirs) != (mode, args):
            logger.error("run %s of %s is a %s crawl with %s; this worker was started for a %s crawl with %s: "
                         "start it with the same arguments, or after that run", token, portal, self.mode, theirs,
                         mode, args)
            raise CloseSpider("cluster_arguments_differ")
        logger.info("worker %s joined run %s of %s (%s)", self.worker, token, portal, self.mode)

    def _run_fields(self, run: str) -> dict[str, str]:
        return {k.decode(): v.decode() for k, v in self.client.hgetall(run).items()}

    def _join_or_create(self, portal: str, run: str, mode: str, args: dict[str, Any]) -> str | None:
        """The token of the run to join (created if there is none); None while a crawled run is being archived."""
        fields = self._run_fields(run)
        if fields.get("state") in (REQUESTED, OPEN):
            return fields["token"]
        if fields.get("state") == CRAWLED:
            return None
        token = uuid.uuid4().hex[:12]
        with self.client.pipeline() as pipe:  # create only if still absent (another worker may race us)
            pipe.watch(run)
            if pipe.exists(run):
                return None if pipe.hget(run, "state") == CRAWLED.encode() else pipe.hget(run, "token").decode()
            pipe.multi()
            pipe.hset(run, mapping={"token": token, "state": REQUESTED, "mode": mode, "args": json.dumps(args),
                                    "seeded": "0", "created_at": datetime.now(UTC).isoformat(timespec="seconds")})
            pipe.sadd(RunKeys.runs_set(self.prefix), portal)
            try:
                pipe.execute()
            except Exception as exc:  # WatchError: someone created it first; join theirs on the next call
                logger.debug("run creation raced: %r", exc)
                return self._join_or_create(portal, run, mode, args)
        logger.info("asked the archiver for a new %s run %s of %s", mode, token, portal)
        return token


_CONTEXTS: weakref.WeakKeyDictionary[Crawler, WorkerContext] = weakref.WeakKeyDictionary()


def context_for(crawler: Crawler) -> WorkerContext:
    """The crawler's :class:`WorkerContext` (created on first use)."""
    if crawler not in _CONTEXTS:
        _CONTEXTS[crawler] = WorkerContext(crawler)
    return _CONTEXTS[crawler]


class ClusterDupeFilter(RFPDupeFilter):
    """scrapy-redis' fingerprint set, fingerprinting with the crawler's own request fingerprinter.

    scrapy-redis hashes its own JSON of (method, canonical URL, body); Scrapy 2.19 has a configurable
    ``REQUEST_FINGERPRINTER_CLASS`` that every other component uses, so a fingerprint means the same thing here as
    in a one-machine crawl.
    """

    def __init__(self, server: Any, key: str, crawler: Crawler, debug: bool = False) -> None:
        super().__init__(server, key, debug=debug)
        self.fingerprinter = crawler.request_fingerprinter

    def request_fingerprint(self, request: Request) -> str:
        """Hex fingerprint from Scrapy's fingerprinter."""
        return self.fingerprinter.fingerprint(request).hex()


class LeasedScheduler(RedisScheduler):
    """scrapy-redis' scheduler with leases, adapted to Scrapy 2.19.

    What is kept: scrapy-redis' connection settings (``REDIS_URL``, ``REDIS_PARAMS``), its priority-queue layout
    (a sorted set scored ``-priority``), its pickle serializer (``SCHEDULER_SERIALIZER``) and duplicate filter.
    What is replaced, and why:

    * ``from_crawler``: scrapy-redis builds its parts from settings alone and passes ``spider=`` to stats calls,
      which Scrapy 2.19 deprecates; here the crawler is kept (fingerprinter, stats, cluster context).
    * ``open``: keys are per portal *run* (a new run re-reads the listings), not per spider name, and the run is
      only known once :class:`ClusterStartMiddleware` joined it, so keys resolve lazily.
    * ``enqueue_request``: scrapy-redis marks the fingerprint and queues the request in two round trips; a kill
      between them leaves the request "seen" but nowhere. One script does both.
    * ``next_request``: a pop moves the request into a lease instead of deleting it.
    * ``close``: with ``SCHEDULER_PERSIST`` off, scrapy-redis deletes the shared queue and fingerprints when *any*
      worker stops. Nothing shared is deleted here (the archiver deletes a run's keys when it closes the run); this
      worker's leases are settled.
    """

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        serializer = settings.get("SCHEDULER_SERIALIZER") or picklecompat
        if isinstance(serializer, str):
            serializer = load_object(serializer)
        self.crawler = crawler
        self.ctx = context_for(crawler)
        super().__init__(self.ctx.client, persist=True, serializer=serializer)
        self.stats = crawler.stats
        self.spider: Any = None
        self.df: ClusterDupeFilter | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> LeasedScheduler:
        """Scrapy factory (no connection yet: :class:`ClusterStartMiddleware` reports an unreachable Redis)."""
        return cls(crawler)

    def open(self, spider: Any) -> None:
        """Remember the spider (request callbacks are resolved against it)."""
        self.spider = spider

    def _dupefilter(self) -> ClusterDupeFilter | None:
        if self.df is None and self.ctx.keys is not None:
            self.df = ClusterDupeFilter(self.server, self.ctx.keys.dupefilter, self.crawler,
                                        debug=self.crawler.settings.getbool("DUPEFILTER_DEBUG"))
        return self.df

    def __len__(self) -> int:
        return self.ctx.queue.queued() if self.ctx.queue is not None else 0

    def enqueue_request(self, request: Request) -> bool:
        """Queue the request in the run's frontier unless its fingerprint was seen in this run."""
        df = self._dupefilter()
        if df is None or self.ctx.queue is None:
            raise RuntimeError("request scheduled before the worker joined its cluster run")
        data = self.serializer.dumps(request.to_dict(spider=self.spider))
        queued = self.ctx.queue.push(data, fingerprint=df.request_fingerprint(request), priority=request.priority,
                                     dont_filter=request.dont_filter)
        if not queued:
            df.log(request, self.spider)
            return False
        self.stats.inc_value("scheduler/enqueued/redis")
        return True

    def next_request(self) -> Request | None:
        """Lease the next request of the run (and delete the leases of requests finished since the last call)."""
        if self.ctx.queue is None:
            return None
        self.ctx.flush_acks()
        popped = self.ctx.queue.pop(self.ctx.worker)
        if popped is None:
            return None
        lease, data = popped
        try:
            request = request_from_dict(self.serializer.loads(data), spider=self.spider)
        except Exception as exc:
            # Unreadable (e.g. a worker of another version): it can never be crawled. Counted as lost, so the run
            # is not complete, and its lease deleted so the run can end.
            logger.error("dropping an unreadable request of run %s: %r", self.ctx.keys.token if self.ctx.keys else "?",
                         exc)
            self.ctx.lost(REQUESTS_LOST)
            self.ctx.queue.ack([lease])
            return None
        self.ctx.track(request, lease)
        self.stats.inc_value("scheduler/dequeued/redis")
        return request

    def has_pending_requests(self) -> bool:
        """Whether the run's shared queue holds requests (any worker's)."""
        return len(self) > 0

    def close(self, reason: str) -> None:
        """Settle this worker's leases; nothing shared is deleted."""
        if self.ctx.queue is not None:
            self.ctx.settle_all(finished=reason == "finished")


class ClusterItemPipeline:
    """The last pipeline of a worker: push the item (article or failure) to the run's Redis stream."""

    def __init__(self, crawler: Crawler) -> None:
        self.ctx = context_for(crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ClusterItemPipeline:
        """Scrapy factory."""
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        """XADD the item; a failure to push is counted as a loss (the run cannot be complete) and re-raised."""
        if self.ctx.keys is None:
            raise RuntimeError("item produced before the worker joined its cluster run")
        fields = encode_item(item)
        for attempt in range(3):
            try:
                self.ctx.client.xadd(self.ctx.keys.items, fields)
                return item
            except Exception as exc:
                if attempt == 2:
                    logger.error("could not push an item of %s to Redis: %r", getattr(item, "url", "?"), exc)
                    try:
                        self.ctx.lost(ITEMS_LOST)
                    except Exception:
                        logger.warning("the loss will be reported with the next heartbeat")
                    raise
                time.sleep(0.2 * (attempt + 1))
        return item


class ClusterStartMiddleware:
    """Join the run (and wait for the archiver to open it) before the spider's ``start()`` runs; mark it seeded."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ClusterStartMiddleware:
        """Scrapy factory."""
        return cls(crawler)

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        """Every worker runs the whole ``start()`` (the shared duplicate filter makes it idempotent); the first
        to finish marks the run seeded, so a worker killed half-way through seeding loses nothing."""
        import redis

        ctx = context_for(self.crawler)
        try:
            await ctx.join(self.crawler.spider)
        except redis.RedisError as exc:
            logger.error("cannot reach the cluster's Redis (%s): %s", self.crawler.settings.get("GOVARCHIVE_CLUSTER"),
                         exc)
            raise CloseSpider("cluster_unreachable") from None
        async for item_or_request in start:
            yield item_or_request
        assert ctx.keys is not None
        if ctx._run_fields(ctx.keys.run).get("token") == ctx.keys.token:
            ctx.client.hset(ctx.keys.run, "seeded", "1")


class ClusterWorkerExtension:
    """Heartbeat, lease bookkeeping, stats to Redis, dead workers' leases back, and the run's end."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.ctx = context_for(crawler)
        self.flushed: dict[str, int] = {}
        self.loop: Any = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ClusterWorkerExtension:
        """Scrapy factory (enabled by :class:`ClusterAddon`)."""
        if not crawler.settings.get("GOVARCHIVE_CLUSTER"):
            raise NotConfigured
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider: Any) -> None:
        """Start beating."""
        from twisted.internet.task import LoopingCall

        self.loop = LoopingCall(self.tick)
        self.loop.start(self.ctx.heartbeat_seconds, now=True)

    def tick(self) -> None:
        """Every heartbeat: refresh, delete finished leases, send stats, give dead workers' leases back."""
        try:
            self.ctx.beat()
            self.ctx.report_losses()
            self.ctx.flush_acks()
            self.flush_stats()
            if self.ctx.queue is not None:
                returned = sum(self.ctx.queue.reap().values())
                if returned:
                    self.crawler.stats.inc_value("govarchive/cluster/requests_requeued", returned)
        except Exception as exc:  # Redis hiccup: the next beat retries; a lease outlives a few missed beats
            logger.warning("cluster heartbeat failed: %r", exc)

    def flush_stats(self) -> None:
        """Add this worker's stat increments since the last flush to the run's stats hash."""
        if self.ctx.keys is None:
            return
        deltas: dict[str, int] = {}
        for key, value in self.crawler.stats.get_stats().items():
            if (isinstance(value, int) and not isinstance(value, bool) and key.startswith(MERGED_STATS)
                    and key not in ARCHIVER_STATS):
                delta = value - self.flushed.get(key, 0)
                if delta:
                    deltas[key] = delta
        if deltas:
            with self.ctx.client.pipeline(transaction=True) as pipe:
                for key, delta in deltas.items():
                    pipe.hincrby(self.ctx.keys.stats, key, delta)
                pipe.execute()
            for key, delta in deltas.items():
                self.flushed[key] = self.flushed.get(key, 0) + delta

    def spider_idle(self, spider: Any) -> None:
        """Idle here: close only once the whole run is crawled, otherwise keep waiting for work."""
        if self.ctx.queue is None:
            raise DontCloseSpider
        try:
            self.ctx.settle_all(finished=True)  # idle engine: every request this worker took is done
            self.tick()
            if self.ctx.queue.try_finish():
                logger.info("run %s of %s is crawled", self.ctx.keys.token if self.ctx.keys else "?", spider.name)
                return
        except Exception as exc:  # Redis unreachable: keep waiting rather than call the run done
            logger.warning("cluster idle check failed: %r", exc)
        raise DontCloseSpider

    def spider_closed(self, spider: Any, reason: str) -> None:
        """Last stats, stop beating, drop the heartbeat key."""
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        try:
            self.ctx.report_losses()
            self.ctx.flush_acks()
            self.flush_stats()
            self.ctx.client.delete(RunKeys.heartbeat(self.ctx.worker, self.ctx.prefix))
        except Exception as exc:
            logger.warning("could not say goodbye to Redis: %r", exc)


class ClusterState:
    """What the incremental walk reads, from the copy the archiver published for this run (no SQLite here)."""

    def __init__(self, ctx: WorkerContext) -> None:
        if ctx.keys is None:
            raise RuntimeError("the worker has not joined its cluster run")
        self.ctx = ctx
        self.keys = ctx.keys

    def last_complete_run(self, portal: str) -> dict[str, Any] | None:
        """``{"id": n}`` of the portal's last complete run at the time the archiver opened this run, or None."""
        value = self.ctx.client.hget(self.keys.run, "last_complete_run")
        return {"id": int(value)} if value else None

    def article_state(self, url: str) -> tuple[int | None, str | None] | None:
        """``(first_run_id, published)`` of an archived canonical URL, or None (see ``Archive.article_state``)."""
        value = self.ctx.client.hget(self.keys.state, url)
        if value is None:
            return None
        first, _, published = value.decode().partition("|")
        return (int(first) if first else None, published or None)

    def is_known(self, url: str) -> bool:
        """Whether the archive holds this canonical URL (see ``Archive.is_known``)."""
        return bool(self.ctx.client.hexists(self.keys.state, url))

    def failures(self, portal: str) -> list[dict[str, Any]]:
        """Open failures of earlier runs (url, stage), as ``Archive.failures`` lists them."""
        return [json.loads(raw) for raw in self.ctx.client.lrange(self.keys.retry, 0, -1)]


def cluster_state(spider: Any) -> ClusterState:
    """The archive state a worker's spider walks with (see ``PortalSpider.open_walk``)."""
    return ClusterState(context_for(spider.crawler))
