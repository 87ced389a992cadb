"""Never fetch loopback, private, link-local or cloud-metadata addresses (server-side request forgery).

Attachment and image links come from pages the portals publish; a link (or a redirect) to ``127.0.0.1``,
``10.x``, ``192.168.x``, ``169.254.169.254`` or ``[fd00:ec2::254]`` would make the crawler fetch from the machine
it runs on. :class:`AddressGuardMiddleware` resolves every request's host before it is sent and refuses it unless
every address is globally routable (:attr:`ipaddress.IPv4Address.is_global`): loopback, RFC 1918/4193 private,
link-local (where metadata services live), shared CGNAT space (``100.100.100.200``), multicast and reserved
ranges are all refused. Redirects are new requests, so every hop is checked again.

Resolution goes through the reactor's resolver, which Scrapy caches (``DNSCACHE_ENABLED``), so the connection uses
the very address that was checked. Hosts routed to the offline replica (``REPLICA_URL``) are exempt: the replica
is on 127.0.0.1 by design. Setting ``ADDRESS_GUARD_ENABLED`` (default True).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from scrapy.exceptions import IgnoreRequest, NotConfigured

Resolver = Callable[[str], Awaitable[list[str]]]


class BlockedAddress(IgnoreRequest):
    """The request's host is (or resolves to) an address the crawler must not fetch."""


def refused_address(address: str) -> str | None:
    """Why ``address`` may not be fetched, or ``None`` when it is a global unicast address."""
    try:
        ip = ipaddress.ip_address(address.strip("[]").split("%")[0])
    except ValueError:
        return f"not an IP address: {address!r}"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_global and not ip.is_multicast:
        return None
    for label, flag in (("loopback", ip.is_loopback), ("link-local (metadata services)", ip.is_link_local),
                        ("private", ip.is_private), ("multicast", ip.is_multicast), ("reserved", ip.is_reserved),
                        ("unspecified", ip.is_unspecified)):
        if flag:
            return label
    return "not globally routable"


async def reactor_resolve(host: str) -> list[str]:
    """The address Scrapy's (caching) resolver gives for ``host``: the one the connection will use."""
    from scrapy.utils.defer import maybe_deferred_to_future
    from twisted.internet import reactor

    return [await maybe_deferred_to_future(reactor.resolve(host))]


class AddressGuardMiddleware:
    """Downloader middleware refusing requests to non-global addresses; see the module docstring."""

    def __init__(self, crawler: Any, resolver: Resolver | None = None) -> None:
        settings = crawler.settings
        if not settings.getbool("ADDRESS_GUARD_ENABLED", True):
            raise NotConfigured("ADDRESS_GUARD_ENABLED is off")
        self.crawler = crawler
        self.replica = bool(settings.get("REPLICA_URL"))
        self.replica_hosts = {h.lower() for h in settings.getlist("REPLICA_HOSTS")}
        self.resolve: Resolver = resolver or reactor_resolve

    @classmethod
    def from_crawler(cls, crawler: Any) -> AddressGuardMiddleware:
        """Scrapy factory."""
        return cls(crawler)

    def _routed_to_replica(self, host: str) -> bool:
        if not self.replica:
            return False
        return not self.replica_hosts or host in self.replica_hosts or host.removeprefix("www.") in self.replica_hosts

    async def process_request(self, request: Any) -> None:
        """Raise :class:`BlockedAddress` unless every address of the request's host is global."""
        host = (urlsplit(request.url).hostname or "").lower()
        if not host or self._routed_to_replica(host):
            return None
        try:
            ipaddress.ip_address(host)
            addresses = [host]
        except ValueError:
            try:
                addresses = await self.resolve(host)
            except Exception:
                return None  # DNS failure: the download fails on its own, with its own error
        for address in addresses:
            why = refused_address(address)
            if why:
                self.crawler.stats.inc_value("govarchive/blocked_addresses")
                hop = " (redirect hop)" if request.meta.get("redirect_urls") else ""
                raise BlockedAddress(f"blocked{hop}: {host} is {address}, a {why} address")
        return None
