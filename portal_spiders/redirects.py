"""Redirects that come back to a URL already requested are followed, not dropped; loops end as failures.

ASP.NET and SharePoint servers answer a first, cookie-less visit with a redirect that sets a session cookie and
leads back to the page asked for (A → A?AspxAutoDetectCookieSupport=1 → A, or A → login → A). Scrapy's duplicate
filter has seen A already, so the way back is dropped: no callback, no errback, nothing recorded, and the run
looks complete. Here every redirect target skips the duplicate filter (the redirect chain is the request's own
history, not a second request for the page), and a chain that comes back to the same URL a second time, or grows
past ``REDIRECT_MAX_TIMES``, fails with :class:`RedirectLoop`, which the spider's errback records.
"""

from __future__ import annotations

from typing import Any

from scrapy import Request
from scrapy.downloadermiddlewares.redirect import RedirectMiddleware
from scrapy.exceptions import IgnoreRequest


class RedirectLoop(IgnoreRequest):
    """A redirect chain that revisits a URL a second time or exceeds ``REDIRECT_MAX_TIMES``."""


def _chain(urls: list[str], limit: int = 6) -> str:
    shown = urls if len(urls) <= limit else [*urls[:limit - 1], "…", urls[-1]]
    return " → ".join(shown)


class LoopAwareRedirectMiddleware(RedirectMiddleware):
    """Scrapy's redirect middleware; targets bypass the duplicate filter and loops fail with a clear reason."""

    def _redirect(self, redirected: Request, request: Request, reason: Any) -> Request:
        chain = [*request.meta.get("redirect_urls", []), request.url]
        if chain.count(redirected.url) >= 2:
            raise RedirectLoop(f"redirect loop: {_chain([*chain, redirected.url])}")
        if len(chain) > self.max_redirect_times:
            raise RedirectLoop(f"too many redirects ({len(chain)}): {_chain([*chain, redirected.url])}")
        result = super()._redirect(redirected, request, reason)
        result.dont_filter = True
        return result
