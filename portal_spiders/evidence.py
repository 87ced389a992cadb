"""What a registry entry's ``evidence`` supports: the statuses it may claim, and how weak it is.

Rules (the registry test holds every entry to them, and ``govarchive portals`` shows them):

* the **host** is confirmed when some evidence is a URL *of that host* seen in public material (an article, listing,
  feed, attachment, page or API URL); a domain list, a scraper's selectors or a guess confirm nothing;
* the **platform** is confirmed when some URL of the host has a shape only that platform produces
  (:meth:`~portal_spiders.platforms.base.Platform.has_signature`: ``/timelinelist/``, a VCCorp site-prefixed id,
  ``/-/asset_publisher/``, ``/portal/Pages/<date>/``, ``/upload/<siteId>/<yyyymmdd>/`` ...) or markup seen on the
  host carries the platform's fingerprint (:meth:`~portal_spiders.platforms.base.Platform.detect`). The ``generic``
  fallback is never confirmed: it is what an unidentified engine gets;
* a **start URL** is seen when the evidence names it; otherwise it was inferred from other URLs of the host.

Every article, listing or feed URL in the evidence must also be read as that kind by the platform's URL patterns
(:meth:`~portal_spiders.platforms.base.Platform.classify_url`), so a platform whose patterns miss a real URL shape
fails the test with that URL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from portal_spiders.platforms import get_platform
from portal_spiders.registry import URL_KINDS, PortalConfig
from portal_spiders.urls import canonical_url


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower().removeprefix("www.")


@dataclass
class EvidenceVerdict:
    """The statuses a portal's evidence supports, and why."""

    host_status: str
    platform_status: str
    host_reason: str
    platform_reason: str
    start_urls_seen: list[str] = field(default_factory=list)
    start_urls_inferred: list[str] = field(default_factory=list)

    @property
    def weakness(self) -> int:
        """Higher is weaker: an inferred host outweighs an inferred platform, which outweighs guessed start URLs."""
        return ((4 if self.host_status == "inferred" else 0) + (2 if self.platform_status == "inferred" else 0)
                + (1 if self.start_urls_inferred and not self.start_urls_seen else 0))


def url_evidence(cfg: PortalConfig) -> list[dict[str, str]]:
    """The evidence items that are URLs of one of the portal's hosts."""
    hosts = {h.removeprefix("www.") for h in cfg.hosts}
    return [e for e in cfg.evidence if e["kind"] in URL_KINDS and _host(e["url"]) in hosts]


def assess(cfg: PortalConfig) -> EvidenceVerdict:
    """The statuses ``cfg.evidence`` supports (see the module docstring)."""
    platform = get_platform(cfg.platform)
    on_host = url_evidence(cfg)
    if on_host:
        host_status, host_reason = "confirmed", f"{on_host[0]['kind']} {on_host[0]['url']} ({on_host[0]['source']})"
    elif any(e["kind"] == "domain-list" for e in cfg.evidence):
        host_status, host_reason = "inferred", "only in a domain list"
    else:
        host_status, host_reason = "inferred", "no URL of the host seen"
    platform_status, platform_reason = "inferred", "no URL of the platform's own shape seen on the host"
    if cfg.platform == "generic":
        platform_reason = "generic fallback: engine not identified"
    else:
        signed = next((e for e in on_host if platform.has_signature(e["url"])), None)
        hosts = {h.removeprefix("www.") for h in cfg.hosts}
        marked = next((e for e in cfg.evidence if e["kind"] == "markup" and platform.detect(e.get("html", ""))
                       and (not e.get("url") or _host(e["url"]) in hosts)), None)
        if signed is not None:
            platform_status, platform_reason = "confirmed", f"{signed['url']} has a {cfg.platform} shape"
        elif marked is not None:
            platform_status = "confirmed"
            platform_reason = f"markup with the {cfg.platform} fingerprint ({marked['source']})"
    seen_keys = {canonical_url(e["url"], case_insensitive_path=platform.case_insensitive_paths)
                 for e in cfg.evidence if e.get("url")}
    seen, inferred = [], []
    for url in (*cfg.start_urls, *cfg.feeds, *cfg.sitemaps):
        (seen if canonical_url(url, case_insensitive_path=platform.case_insensitive_paths) in seen_keys
         else inferred).append(url)
    return EvidenceVerdict(host_status, platform_status, host_reason, platform_reason, seen, inferred)


def misread_urls(cfg: PortalConfig) -> list[tuple[str, str, str | None]]:
    """Evidence URLs (article, listing, feed) that the portal's platform does not read as that kind:
    ``(url, kind in the evidence, kind the platform says)``."""
    platform = get_platform(cfg.platform)
    out = []
    for item in url_evidence(cfg):
        if item["kind"] in {"article", "listing", "feed"}:
            got = platform.classify_url(item["url"])
            if got != item["kind"]:
                out.append((item["url"], item["kind"], got))
    return out
