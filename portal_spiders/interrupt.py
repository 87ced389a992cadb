"""Stop now: cut in-flight downloads, queued downloads and retry waits short, so a crawl closes in seconds.

A graceful Scrapy stop (first Ctrl-C) closes each spider only once every request already handed to the
downloader is done: the ones waiting in a host's slot for their politeness delay, the ones transferring (up to
``DOWNLOAD_TIMEOUT``) and the ones sleeping before a retry (up to ``RETRY_BACKOFF_MAX``). Against slow portals that
is minutes. :func:`interrupt_now` ends all of them at once with :class:`DownloadInterrupted`; each one reaches the
spider's errback and is recorded as a failure, which the next run retries first. The spiders then close normally,
so every run row, count and committed article is kept.

The download handler (:mod:`portal_spiders.routing`) and the retry waits (:mod:`portal_spiders.politeness`) await
through :func:`interruptible`. It needs the asyncio reactor (Scrapy's default); under another reactor the awaits
are plain and only the queued downloads are cut.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from typing import Any, TypeVar

from scrapy.exceptions import IgnoreRequest
from twisted.python.failure import Failure

T = TypeVar("T")

_pending: set[asyncio.Future[Any]] = set()
_state = {"interrupted": False}


class DownloadInterrupted(IgnoreRequest):
    """A download (or a retry's wait) cut short because the crawl was told to stop now."""

    def __init__(self, message: str = "the crawl was stopped before this page was fetched; the next run "
                                      "fetches it") -> None:
        super().__init__(message)


class HostDown(IgnoreRequest):
    """A request not sent because its host failed at the network level on every attempt so far in this run."""


def interrupted() -> bool:
    """Whether :func:`interrupt_now` was called in this process."""
    return _state["interrupted"]


async def interruptible(awaitable: Awaitable[T]) -> T:
    """Await ``awaitable``; raise :class:`DownloadInterrupted` if :func:`interrupt_now` cuts it short."""
    if _state["interrupted"]:
        if asyncio.iscoroutine(awaitable):
            awaitable.close()
        raise DownloadInterrupted
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # not on an asyncio loop: nothing to cancel with
        return await awaitable
    task = asyncio.ensure_future(awaitable)
    _pending.add(task)
    try:
        return await task
    except asyncio.CancelledError:
        if _state["interrupted"] and task.cancelled():
            raise DownloadInterrupted from None
        raise
    finally:
        _pending.discard(task)


def interrupt_now(crawlers: Iterable[Any] = ()) -> int:
    """Cut every interruptible await and the downloads queued in ``crawlers``' download slots; returns how many."""
    _state["interrupted"] = True
    cut = 0
    for crawler in crawlers:
        downloader = getattr(getattr(crawler, "engine", None), "downloader", None)
        for slot in list(getattr(downloader, "slots", {}).values()):
            while slot.queue:
                _request, deferred = slot.queue.popleft()
                if not deferred.called:
                    deferred.errback(Failure(DownloadInterrupted()))
                    cut += 1
    for task in list(_pending):
        if not task.done():
            task.cancel()
            cut += 1
    return cut


def reset() -> None:
    """Forget an interruption (tests running several crawls in one process)."""
    _state["interrupted"] = False


class InterruptMiddleware:
    """Downloader middleware, last before the downloader: after :func:`interrupt_now`, a request fails at once
    instead of waiting in its host's download slot for the politeness delay (13 requests at 1 s each were 13 s)."""

    def process_request(self, request: Any, spider: Any = None) -> None:
        """Refuse new downloads once interrupted."""
        if _state["interrupted"]:
            raise DownloadInterrupted
