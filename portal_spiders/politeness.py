"""Retries with exponential backoff, and ``Retry-After`` honoured for the whole host.

A retried request waits ``RETRY_BACKOFF_BASE * 2 ** (attempt - 1)`` seconds (capped at ``RETRY_BACKOFF_MAX``)
before it goes back to the scheduler. The wait is an asyncio sleep inside the middleware: the reactor keeps
running and the host's download slot is already free, so other pages keep flowing while one request waits.

A ``429`` or ``503`` carrying ``Retry-After`` (seconds or an HTTP date) is the server asking the *client* to
stop, so the whole host pauses: no request to it leaves this crawler (robots.txt included) until the time asked
has passed: requests wait in the download handler (:class:`portal_spiders.routing.RoutingDownloadHandler`), the
last step before the network, holding their host's download slot; other hosts are not affected.
Past the ceiling ``RETRY_AFTER_MAX`` (default 600 s) the crawl does not wait: the answered request and every
later request to that host, for the time asked, fail at once with :class:`HostDeferred` (nothing is sent), are
recorded as failures (``deferred``), the run is marked incomplete, and the next run retries them.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.settings import BaseSettings
from scrapy.utils.asyncio import sleep

from portal_spiders.interrupt import interruptible

logger = logging.getLogger(__name__)

RETRY_AFTER_STATUSES = (429, 503)


class HostDeferred(IgnoreRequest):
    """The host asked for a pause longer than ``RETRY_AFTER_MAX``: the request is left for the next run."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def backoff_delay(attempt: int, base: float, cap: float) -> float:
    """Seconds to wait before retry number ``attempt`` (1-based): ``base * 2 ** (attempt - 1)``, at most ``cap``."""
    return min(cap, base * 2 ** max(0, attempt - 1))


def parse_retry_after(value: str | bytes | None, *, now: datetime | None = None) -> float | None:
    """Seconds asked by a ``Retry-After`` header (delta-seconds or an HTTP date); ``None`` when absent or invalid."""
    if not value:
        return None
    text = (value.decode("latin-1") if isinstance(value, bytes) else value).strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


class HostPauses:
    """The hosts of one crawler that asked for a pause (Retry-After) or were deferred to the next run."""

    def __init__(self) -> None:
        self.paused: dict[str, float] = {}  # host -> monotonic time until which nothing is sent to it
        self.deferred: dict[str, tuple[float, str, int]] = {}  # host -> (until, reason, status)

    def check(self, url: str) -> None:
        """Raise :class:`HostDeferred` while the URL's host is deferred."""
        deferred = self.deferred.get(_host(url))
        if deferred is not None and time.monotonic() < deferred[0]:
            raise HostDeferred(deferred[1], deferred[2])

    async def wait(self, url: str) -> None:
        """Return once the URL's host may be sent a request (raises :class:`HostDeferred` if it is deferred)."""
        host = _host(url)
        self.check(url)
        while (left := self.paused.get(host, 0.0) - time.monotonic()) > 0:
            await interruptible(sleep(left))  # "stop now" (second Ctrl-C) ends the wait
            self.check(url)


def host_pauses(crawler: Any) -> HostPauses:
    """The crawler's :class:`HostPauses`, shared by the retry middleware and the download handler."""
    pauses = getattr(crawler, "govarchive_host_pauses", None)
    if pauses is None:
        pauses = HostPauses()
        crawler.govarchive_host_pauses = pauses
    return pauses


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's retry middleware with exponential backoff, host pauses for ``Retry-After`` and deferrals."""

    def __init__(self, settings: BaseSettings) -> None:
        super().__init__(settings)
        self.backoff_base = settings.getfloat("RETRY_BACKOFF_BASE", 2.0)
        self.backoff_max = settings.getfloat("RETRY_BACKOFF_MAX", 60.0)
        self.retry_after_max = settings.getfloat("RETRY_AFTER_MAX", 600.0)

    async def _wait(self, retry: Request) -> Request:
        attempt = int(retry.meta.get("retry_times", 1))
        delay = backoff_delay(attempt, self.backoff_base, self.backoff_max)
        if delay > 0:
            self.crawler.stats.inc_value("retry/backoff_seconds", delay)
            await interruptible(sleep(delay))  # "stop now" (second Ctrl-C) ends the wait
        return retry

    @property
    def pauses(self) -> HostPauses:
        """The crawler's host pauses."""
        return host_pauses(self.crawler)

    def _honour_retry_after(self, request: Request, response: Response) -> bool:
        """Pause (or defer) the host as a ``Retry-After`` asks; True when the host is paused."""
        if response.status not in RETRY_AFTER_STATUSES:
            return False
        seconds = parse_retry_after(response.headers.get("Retry-After"))
        if seconds is None:
            return False
        host = _host(request.url)
        stats = self.crawler.stats
        if seconds > self.retry_after_max:
            reason = (f"deferred to the next run: {host} answered HTTP {response.status} with Retry-After "
                      f"{seconds:.0f} s, more than the {self.retry_after_max:.0f} s ceiling (RETRY_AFTER_MAX); "
                      "nothing more was sent to it")
            self.pauses.deferred[host] = (time.monotonic() + seconds, reason, response.status)
            logger.warning("%s", reason)
            stats.inc_value("govarchive/deferred")
            raise HostDeferred(reason, response.status)
        until = time.monotonic() + seconds
        if until > self.pauses.paused.get(host, 0.0):
            self.pauses.paused[host] = until
            logger.info("pausing %s for %.0f s (Retry-After on HTTP %s)", host, seconds, response.status)
            stats.inc_value("govarchive/retry_after_pauses")
            stats.inc_value("govarchive/retry_after_seconds", seconds)
        return True

    async def process_response(self, request: Request, response: Response, spider: Any = None) -> Request | Response:
        """Retry a retryable status after the backoff delay, or once the host's Retry-After pause is over."""
        paused = self._honour_retry_after(request, response)
        result = super().process_response(request, response)
        if isinstance(result, Request):
            return result if paused else await self._wait(result)
        return result

    async def process_exception(self, request: Request, exception: Exception,
                                spider: Any = None) -> Request | Response | None:
        """Retry a network error after the backoff delay."""
        if isinstance(exception, HostDeferred):
            return None
        result = super().process_exception(request, exception)
        if isinstance(result, Request):
            return await self._wait(result)
        return result
