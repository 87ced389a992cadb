"""Read saved pages without crawling: used by ``govarchive extract`` and the fixture tests.

The platform is chosen the way an operator would: the registry entry for the URL's host first, then platform
fingerprints in the HTML, then the generic fallback (when a ``generic`` platform is installed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from scrapy import Request
from scrapy.http import HtmlResponse, TextResponse, XmlResponse

from pipelines.normalize import NormalizePipeline
from portal_spiders.items import ArticleItem
from portal_spiders.platforms import ListingPage, Platform, detect_platform, get_platform, platforms
from portal_spiders.registry import PortalConfig, portal_for_host
from portal_spiders.urls import host_of


@dataclass
class Choice:
    """Which platform reads a page, and why."""

    platform: Platform
    portal: PortalConfig | None
    reason: str  # forced | registry | fingerprint | fallback


def make_response(url: str, body: bytes, *, encoding: str | None = None,
                  headers: list[tuple[str, str]] | None = None) -> TextResponse:
    """A Scrapy response for saved bytes, as the downloader would have built it (``headers``: as received)."""
    cls = XmlResponse if body.lstrip()[:5] == b"<?xml" and b"<html" not in body[:2000].lower() else HtmlResponse
    kept = [(k, v) for k, v in headers or [] if k.lower() in ("content-type", "content-language", "last-modified")]
    return cls(url=url, body=body, encoding=encoding, headers=kept or None, request=Request(url))


def choose_platform(url: str, html: str, forced: str | None = None) -> Choice:
    """Pick the platform for a page: forced name, registry host, fingerprint, then generic fallback."""
    portal = portal_for_host(host_of(url))
    if forced:
        cls = get_platform(forced)
        own = portal is not None and portal.platform == forced
        return Choice(cls(portal.selectors if own else None, options=portal.platform_options if own else None),
                      portal, "forced")
    if portal is not None:
        return Choice(get_platform(portal.platform)(portal.selectors, options=portal.platform_options), portal,
                      "registry")
    detected = detect_platform(html)
    if detected is not None:
        return Choice(detected(), None, "fingerprint")
    fallback = platforms().get("generic")
    if fallback is None:
        raise LookupError(f"no registry entry for {host_of(url)!r} and no platform fingerprint matched")
    return Choice(fallback(), None, "fallback")


def extract_article(body: bytes, url: str, *, platform: str | None = None, portal: str | None = None,
                    encoding: str | None = None, now: datetime | None = None,
                    headers: list[tuple[str, str]] | None = None) -> tuple[ArticleItem, Choice]:
    """Extract and normalize one saved article page: the same fields a crawl stores."""
    response = make_response(url, body, encoding=encoding, headers=headers)
    choice = choose_platform(url, response.text, platform)
    slug = portal or (choice.portal.slug if choice.portal else host_of(url))
    item = choice.platform.parse_article(response, portal=slug, now=now)
    NormalizePipeline().process_item(item)
    return item, choice


def extract_listing(body: bytes, url: str, *, platform: str | None = None, encoding: str | None = None,
                    headers: list[tuple[str, str]] | None = None) -> tuple[ListingPage, Choice]:
    """Article links and next-page requests of a saved listing page."""
    response = make_response(url, body, encoding=encoding, headers=headers)
    choice = choose_platform(url, response.text, platform)
    return choice.platform.parse_listing(response), choice


def read_bytes(path: str | Path) -> bytes:
    """The raw bytes of a saved page (never decoded here: the response decodes like the crawler would)."""
    return Path(path).read_bytes()
