"""Run portal spiders in one process (Scrapy ``CrawlerProcess``): shared by ``govarchive demo`` and ``crawl``.

:class:`CrawlSession` adds what an operator needs around Scrapy's process:

* Ctrl-C / SIGTERM: the first one is acknowledged at once ("stopping after in-flight requests; Ctrl-C again to
  stop now") and stops every spider gracefully; a second one, or ``GOVARCHIVE_STOP_GRACE_SECONDS`` later, cuts
  in-flight and queued downloads short (:mod:`portal_spiders.interrupt`) so the spiders close within seconds; a
  third one exits at once. Spiders close normally either way (finish reason ``shutdown``): their run rows,
  counts and committed articles are kept, and the next run resumes (the run is not complete, so an incremental
  walk goes past its articles; cut-short pages are recorded as failures and retried first).
* Network down: when ``GOVARCHIVE_NETWORK_DOWN_HOSTS`` hosts failed at the network level (DNS, refused, timeout,
  no route) and no host answered at all, it says so once and stops every portal (finish reason
  ``network_down``) instead of letting each one fail slowly.
* A tick every second with each portal's live stats (progress display).
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.settings import Settings
from scrapy.utils.project import get_project_settings

from govarchive.checks import BadInput, first_line
from portal_spiders.diagnosis import NET_PREFIX, network_down


def project_settings(overrides: dict[str, Any] | None = None) -> Settings:
    """The project's Scrapy settings (``portal_spiders.settings``) with ``overrides`` applied."""
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "portal_spiders.settings")
    settings = get_project_settings()
    for key, value in (overrides or {}).items():
        try:
            settings.set(key, value, priority="cmdline")
        except (ValueError, TypeError) as exc:  # a dict setting given text that is not JSON
            raise BadInput(f"setting {key}: expected a JSON object, got {value!r} ({first_line(exc)})") from None
    return settings


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class CrawlSession:
    """Several portal spiders in one ``CrawlerProcess``, with interruption and network-down handling."""

    def __init__(self, slugs: Iterable[str], settings: Settings, *, spider_args: dict[str, str] | None = None,
                 on_tick: Callable[[dict[str, dict[str, Any]]], None] | None = None, tick_seconds: float = 1.0,
                 say: Callable[[str], None] = _say, prog: str = "govarchive crawl") -> None:
        from portal_spiders.spiders.portals import SPIDERS

        self.settings = settings
        self.spider_args = spider_args or {}
        self.on_tick = on_tick
        self.tick_seconds = tick_seconds
        self.say = say
        self.prog = prog
        self.process = CrawlerProcess(settings)
        self.crawlers: dict[str, Crawler] = {slug: self.process.create_crawler(SPIDERS[slug]) for slug in slugs}
        self.started = time.monotonic()
        self.interrupted: str | None = None  # name of the signal that stopped the crawl
        self.forced = False  # in-flight requests were cut short
        self.network_down: str | None = None  # why the crawl was stopped as "network down"
        self._signals = 0

    # -- running ---------------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Each portal's live stats."""
        return {slug: dict(c.stats.get_stats()) if c.stats else {} for slug, c in self.crawlers.items()}

    def run(self, *, handle_signals: bool = True) -> dict[str, dict[str, Any]]:
        """Crawl until every spider has closed; returns each portal's final stats."""
        from twisted.internet.task import LoopingCall

        from portal_spiders.interrupt import reset

        reset()
        for crawler in self.crawlers.values():
            self.process.crawl(crawler, **self.spider_args)
        ticker = LoopingCall(self._tick)
        ticker.start(self.tick_seconds, now=False)
        previous = {}
        if handle_signals:
            previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            # Scrapy's own handlers would stop gracefully and then stop the reactor uncleanly, losing run rows.
            self.process.start(install_signal_handlers=not handle_signals)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            if ticker.running:
                ticker.stop()
        final = self.snapshot()
        if self.on_tick is not None:
            self.on_tick(final)
        return final

    def _tick(self) -> None:
        stats = self.snapshot()
        if self.network_down is None and self.interrupted is None:
            self._check_network(stats)
        if self.on_tick is not None:
            self.on_tick(stats)

    # -- network down ------------------------------------------------------------------------------------

    def _check_network(self, stats: dict[str, dict[str, Any]]) -> None:
        merged: dict[str, int] = {}
        for portal_stats in stats.values():
            for key, value in portal_stats.items():
                if key.startswith(NET_PREFIX):
                    merged[key] = merged.get(key, 0) + int(value)
        verdict = network_down(merged, min_hosts=self.settings.getint("GOVARCHIVE_NETWORK_DOWN_HOSTS", 3))
        if verdict is None:
            return
        self.network_down = verdict
        self.say(f"{self.prog}: {verdict}; stopping every portal (check the network and DNS, then run again)")
        self._close_all("network_down")
        self._force()

    def _close_all(self, reason: str) -> None:
        from scrapy.utils.defer import deferred_from_coro

        for crawler in self.crawlers.values():
            engine = getattr(crawler, "engine", None)
            if engine is not None and engine.spider is not None:
                deferred_from_coro(engine.close_spider_async(reason=reason)).addErrback(lambda _: None)

    # -- interruption --------------------------------------------------------------------------------------

    def _on_signal(self, signum: int, _frame: Any) -> None:
        """Signal handler: only flags and hands the work to the reactor (no logging inside a handler)."""
        from twisted.internet import reactor

        self._signals += 1
        if self._signals >= 3:
            os.write(2, f"\n{self.prog}: stopped at once (third signal); this run's last batch may be lost\n"
                        .encode())
            os._exit(130)
        if self._signals == 1:
            self.interrupted = signal.Signals(signum).name
            reactor.callFromThread(self._stop_gracefully)
        else:
            reactor.callFromThread(self._force_now)

    def _stop_gracefully(self) -> None:
        from twisted.internet import reactor

        grace = self.settings.getfloat("GOVARCHIVE_STOP_GRACE_SECONDS", 3.0)
        self.say(f"{self.prog}: {self.interrupted} received: stopping after in-flight requests "
                 f"(at most {grace:g} s); Ctrl-C again to stop now")
        self.process.stop()
        reactor.callLater(grace, self._force)

    def _force_now(self) -> None:
        self.say(f"{self.prog}: stopping now: cutting in-flight requests short (they are retried next run)")
        self._force()

    def _force(self) -> None:
        from portal_spiders.interrupt import interrupt_now

        if not self.forced:
            self.forced = True
            interrupt_now(self.crawlers.values())

    @property
    def elapsed(self) -> float:
        """Seconds since the session was created."""
        return time.monotonic() - self.started


def run_spiders(slugs: Iterable[str], settings: Settings, *, spider_args: dict[str, str] | None = None,
                on_tick: Callable[[dict[str, dict[str, Any]]], None] | None = None,
                tick_seconds: float = 1.0) -> dict[str, dict[str, Any]]:
    """Crawl the given portals concurrently in this process; returns each crawler's final stats.

    ``spider_args`` go to every spider (like ``scrapy crawl -a``). ``on_tick`` is called on the reactor thread every
    ``tick_seconds`` with each portal's live stats (progress displays), and once more at the end.
    """
    return CrawlSession(slugs, settings, spider_args=spider_args, on_tick=on_tick, tick_seconds=tick_seconds).run()
