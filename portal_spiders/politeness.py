"""Retries with exponential backoff (Scrapy 2.19's RetryMiddleware retries at once).

A retried request waits ``RETRY_BACKOFF_BASE * 2 ** (attempt - 1)`` seconds (capped at ``RETRY_BACKOFF_MAX``;
a ``Retry-After`` header in seconds on 429/503 wins when it is longer) before it goes back to the scheduler.
The wait is an asyncio sleep inside the middleware: the reactor keeps running and the host's download slot is
already free, so other pages keep flowing while one request waits.
"""

from __future__ import annotations

from typing import Any

from scrapy import Request
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.http import Response
from scrapy.settings import BaseSettings
from scrapy.utils.asyncio import sleep

from portal_spiders.interrupt import interruptible


def backoff_delay(attempt: int, base: float, cap: float, retry_after: str | bytes | None = None) -> float:
    """Seconds to wait before retry number ``attempt`` (1-based)."""
    delay = min(cap, base * 2 ** max(0, attempt - 1))
    if retry_after:
        text = retry_after.decode("latin-1") if isinstance(retry_after, bytes) else retry_after
        if text.strip().isdigit():
            delay = max(delay, min(cap, float(text.strip())))
    return delay


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's retry middleware, waiting with exponential backoff before each retry."""

    def __init__(self, settings: BaseSettings) -> None:
        super().__init__(settings)
        self.backoff_base = settings.getfloat("RETRY_BACKOFF_BASE", 2.0)
        self.backoff_max = settings.getfloat("RETRY_BACKOFF_MAX", 60.0)

    async def _wait(self, retry: Request, retry_after: str | bytes | None = None) -> Request:
        attempt = int(retry.meta.get("retry_times", 1))
        delay = backoff_delay(attempt, self.backoff_base, self.backoff_max, retry_after)
        if delay > 0:
            self.crawler.stats.inc_value("retry/backoff_seconds", delay)
            await interruptible(sleep(delay))  # "stop now" (second Ctrl-C) ends the wait
        return retry

    async def process_response(self, request: Request, response: Response, spider: Any = None) -> Request | Response:
        """Retry a retryable status after the backoff delay; pass other responses through."""
        result = super().process_response(request, response)
        if isinstance(result, Request):
            return await self._wait(result, response.headers.get("Retry-After"))
        return result

    async def process_exception(self, request: Request, exception: Exception,
                                spider: Any = None) -> Request | Response | None:
        """Retry a network error after the backoff delay."""
        result = super().process_exception(request, exception)
        if isinstance(result, Request):
            return await self._wait(result)
        return result
