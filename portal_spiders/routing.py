"""Download handler that can route real portal hosts to the offline replica.

With ``REPLICA_URL=http://127.0.0.1:PORT`` set, a request for ``https://laichau.dcs.vn/Pages/x.aspx`` is
fetched from ``http://127.0.0.1:PORT/Pages/x.aspx`` with the header ``X-Replica-Host: laichau.dcs.vn``, and
the response is handed back under the real URL. Spiders, items and the archive therefore only ever see the
portal's real URLs. Without ``REPLICA_URL`` the handler is Scrapy's HTTP/1.1 handler, with the per-host TLS
policy of :mod:`portal_spiders.tls` on its connections.

``REPLICA_URL`` defaults to ``$GOVARCHIVE_REPLICA_URL``, so an exported variable silently sends every crawl to a
replica: :func:`replica_target` says where the URL came from, and every crawl that uses one says so loudly.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

from scrapy import Request
from scrapy.core.downloader.handlers.base import BaseDownloadHandler
from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.settings import SETTINGS_PRIORITIES, BaseSettings

from portal_spiders.interrupt import interruptible
from portal_spiders.politeness import HostDeferred, host_pauses
from portal_spiders.tls import PerHostTLSPolicy

REPLICA_HEADER = "X-Replica-Host"
REPLICA_ENV = "GOVARCHIVE_REPLICA_URL"


def replica_target(settings: BaseSettings) -> tuple[str, str] | None:
    """``(url, where it was set)`` when requests go to an offline replica, ``None`` for the real portals."""
    url = settings.get("REPLICA_URL") or ""
    if not url:
        return None
    from_env = (os.environ.get(REPLICA_ENV) == url
                and (settings.getpriority("REPLICA_URL") or 0) <= SETTINGS_PRIORITIES["project"])
    return url, f"${REPLICA_ENV}" if from_env else "the REPLICA_URL setting"


def replica_warning(url: str, source: str, *, stores: bool = True) -> str:
    """The line every crawl (and ``govarchive check``, which stores nothing: ``stores=False``) that goes to a
    replica prints or logs first."""
    head = (f"REPLICA MODE: every request goes to the offline replica at {url} (set by {source}), not to the real "
            "portals")
    if not stores:
        return head + "; what it reports is the replica's pages, not the real portal's"
    return head + "; its articles are stored under the real portals' URLs, in an archive kept for replica runs"


class RoutingDownloadHandler(BaseDownloadHandler):
    """HTTP(S) handler that optionally rewrites requests to the replica portal server."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.inner = HTTP11DownloadHandler.from_crawler(crawler)
        # Per-host TLS relaxations (registry `tls`, setting TLS_POLICIES) apply to the wrapped handler's connections;
        # it keeps its context factory in a private attribute, so fail loudly if a Scrapy upgrade renames it.
        if not hasattr(self.inner, "_contextFactory"):
            raise RuntimeError("HTTP11DownloadHandler has no _contextFactory: update portal_spiders/tls.py")
        self.inner._contextFactory = PerHostTLSPolicy.from_settings(self.inner._contextFactory, crawler.settings)
        self.pauses = host_pauses(crawler)  # Retry-After: the last gate before the network
        self._crawler = crawler
        self.replica = crawler.settings.get("REPLICA_URL") or ""
        self.hosts = {h.lower() for h in crawler.settings.getlist("REPLICA_HOSTS")}

    def _routed(self, host: str) -> bool:
        return bool(self.replica) and (not self.hosts or host in self.hosts or host.removeprefix("www.") in self.hosts)

    async def download_request(self, request: Request) -> Response:
        """Fetch ``request``, through the replica when its host is routed; never while its host is paused."""
        try:
            await self.pauses.wait(request.url)
        except HostDeferred:
            if self._crawler.stats is not None:
                self._crawler.stats.inc_value("govarchive/deferred")
            raise
        parts = urlsplit(request.url)
        host = (parts.hostname or "").lower()
        if not self._routed(host):
            return await interruptible(self.inner.download_request(request))  # "stop now" cuts it short
        replica = urlsplit(self.replica)
        routed_url = urlunsplit((replica.scheme, replica.netloc, parts.path or "/", parts.query, ""))
        headers = request.headers.copy()
        headers[REPLICA_HEADER] = host
        headers["X-Replica-Scheme"] = parts.scheme
        routed = request.replace(url=routed_url, headers=headers)
        response = await interruptible(self.inner.download_request(routed))
        return response.replace(url=request.url, request=request)

    async def close(self) -> None:
        """Close the wrapped handler's connection pool."""
        await self.inner.close()
