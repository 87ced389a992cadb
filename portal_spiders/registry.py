"""The portal registry: one TOML file, one entry per real portal.

A portal on a known platform is configuration, not code. Every entry is validated when it is loaded, and a
bad entry stops start-up with :class:`RegistryError` naming the file, the entry and the key.

Keys of an entry (``[[portal]]`` table):

* ``slug`` (required): spider name, ``[a-z0-9][a-z0-9_-]*``.
* ``name`` (required): human name of the portal.
* ``platform`` (required): a module name in :mod:`portal_spiders.platforms`.
* ``start_urls`` (required unless feeds/sitemaps/sharepoint_lists are given): listing pages, newest first.
* ``feeds``, ``sitemaps``: RSS/Atom feeds and XML sitemaps to discover articles through.
* ``sharepoint_lists``: ``[{url = ".../_api/web/lists/getbytitle('TinTuc')/items?...", detail_url =
  "/Pages/chi-tiet.aspx?ItemID={ID}"}]`` for SharePoint portals whose blocks AngularJS fills client-side.
* ``evidence``: where the portal was seen, a list of tables ``{kind, url?, html?, source, note?}``. ``kind`` is what
  the URL is (``article``, ``listing``, ``feed``, ``attachment``, ``page``, ``api``), or ``markup`` (an HTML fragment
  seen on the host, in ``html``), ``selectors`` (what a public scraper reads, in ``note``) or ``domain-list`` (the host
  only appears in a list of domains). ``source`` says where it was seen (repository, path, commit, or stored file id).
* ``host_status``, ``platform_status``: ``confirmed`` or ``inferred``, and they must follow from ``evidence``
  (:mod:`portal_spiders.evidence`): a host is confirmed by a URL of that host seen in public material, a platform by
  a URL of that host with a shape only the platform produces (or markup carrying its fingerprint). Operators check
  inferred ones first (``govarchive portals --status inferred``).
* ``selectors``: per-field CSS overrides tried before the platform's own, e.g. ``{title = [".my-title"]}``.
* ``politeness``: ``{download_delay = 2.0, concurrency = 1}``; ``tls``: per-host TLS policy (see docs).
* ``max_pages``: listing pages walked per start URL in a full crawl (default 50).
* ``date_order``: ``DMY`` (default) or ``MDY`` for sources known to print US-style dates.
* ``replica``: true when the offline replica serves this portal (demo and tests).
* ``listing_forms``: POST pagers whose fields the page's script computes (hanoi.gov.vn's ``/api/NewsZone/NewsZone``):
  ``[{page = "<listing URL>", url = "<endpoint>", fields = {...}, page_field = "PageIndex", first = 0,
  seen_field = "DataIds[]"}]``; handed to the platform.
* ``merged_into``, ``notes``: free text for operators.
"""

from __future__ import annotations

import importlib.resources
import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from parsel.csstranslator import HTMLTranslator

DEFAULT_REGISTRY = Path(__file__).with_name("portals.toml")
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
STATUSES = ("confirmed", "inferred")
KNOWN_KEYS = frozenset({
    "slug", "name", "platform", "start_urls", "feeds", "sitemaps", "sharepoint_lists", "host_status",
    "platform_status", "selectors", "politeness", "tls", "max_pages", "date_order", "replica", "merged_into",
    "notes", "allowed_hosts", "evidence", "listing_forms",
})
EVIDENCE_KINDS = ("article", "listing", "feed", "attachment", "page", "api", "markup", "selectors", "domain-list")
URL_KINDS = frozenset({"article", "listing", "feed", "attachment", "page", "api"})
EVIDENCE_KEYS = frozenset({"kind", "url", "html", "source", "note"})
FORM_KEYS = frozenset({"page", "url", "fields", "page_field", "first", "seen_field"})
TLS_KEYS = frozenset({"min_version", "max_version", "ciphers", "verify", "reason"})
POLITENESS_KEYS = frozenset({"download_delay", "concurrency", "autothrottle_target"})


class RegistryError(ValueError):
    """A registry entry is malformed; the message names the file, entry and key."""


@dataclass(frozen=True)
class PortalConfig:
    """One validated registry entry."""

    slug: str
    name: str
    platform: str
    start_urls: tuple[str, ...] = ()
    feeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    sharepoint_lists: tuple[dict[str, str], ...] = ()
    host_status: str = "inferred"
    platform_status: str = "inferred"
    selectors: dict[str, list[str]] = field(default_factory=dict)
    politeness: dict[str, Any] = field(default_factory=dict)
    tls: dict[str, Any] = field(default_factory=dict)
    max_pages: int = 50
    date_order: str = "DMY"
    replica: bool = False
    merged_into: str | None = None
    notes: str | None = None
    allowed_hosts: tuple[str, ...] = ()
    evidence: tuple[dict[str, str], ...] = ()
    listing_forms: tuple[dict[str, Any], ...] = ()

    @property
    def platform_options(self) -> dict[str, Any]:
        """Per-portal settings the platform reads (see :class:`portal_spiders.platforms.base.Platform`)."""
        return {"listing_forms": list(self.listing_forms)} if self.listing_forms else {}

    @property
    def hosts(self) -> tuple[str, ...]:
        """Every host the portal's URLs live on (for routing, TLS policy and allowed domains)."""
        from urllib.parse import urlsplit

        urls = [*self.start_urls, *self.feeds, *self.sitemaps, *(x["url"] for x in self.sharepoint_lists)]
        hosts = dict.fromkeys((urlsplit(u).hostname or "").lower() for u in urls)
        hosts.update(dict.fromkeys(self.allowed_hosts))
        return tuple(h for h in hosts if h)


def _fail(path: Path, index: int, slug: str | None, key: str, message: str) -> RegistryError:
    who = f"portal #{index + 1}" + (f" ({slug!r})" if slug else "")
    return RegistryError(f"{path}: {who}: key {key!r}: {message}")


def _url_list(path: Path, i: int, slug: str, entry: dict[str, Any], key: str) -> tuple[str, ...]:
    value = entry.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail(path, i, slug, key, "must be a list of URLs")
    for url in value:
        if not re.match(r"^https?://[^/\s]+", url):
            raise _fail(path, i, slug, key, f"not an absolute http(s) URL: {url!r}")
    return tuple(value)


def validate_entry(path: Path, i: int, entry: dict[str, Any], known_platforms: set[str]) -> PortalConfig:
    """Validate one raw TOML entry and build its :class:`PortalConfig`."""
    slug = entry.get("slug")
    if not isinstance(slug, str) or not SLUG_RE.match(slug):
        raise _fail(path, i, None, "slug", f"missing or invalid slug {slug!r} (use [a-z0-9][a-z0-9_-]*)")
    unknown = set(entry) - KNOWN_KEYS
    if unknown:
        raise _fail(path, i, slug, sorted(unknown)[0], f"unknown key (known: {', '.join(sorted(KNOWN_KEYS))})")
    for key in ("name", "platform"):
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            raise _fail(path, i, slug, key, "required string is missing")
    if entry["platform"] not in known_platforms:
        raise _fail(path, i, slug, "platform",
                    f"unknown platform {entry['platform']!r} (known: {', '.join(sorted(known_platforms))})")
    start_urls = _url_list(path, i, slug, entry, "start_urls")
    feeds = _url_list(path, i, slug, entry, "feeds")
    sitemaps = _url_list(path, i, slug, entry, "sitemaps")
    sp_lists = entry.get("sharepoint_lists", [])
    if not isinstance(sp_lists, list):
        raise _fail(path, i, slug, "sharepoint_lists", "must be a list of {url, detail_url} tables")
    for sp in sp_lists:
        if not isinstance(sp, dict) or not isinstance(sp.get("url"), str) or not isinstance(sp.get("detail_url"), str):
            raise _fail(path, i, slug, "sharepoint_lists", "each entry needs string keys 'url' and 'detail_url'")
    if not (start_urls or feeds or sitemaps or sp_lists):
        raise _fail(path, i, slug, "start_urls", "a portal needs start_urls, feeds, sitemaps or sharepoint_lists")
    for key in ("host_status", "platform_status"):
        if entry.get(key, "inferred") not in STATUSES:
            raise _fail(path, i, slug, key, f"must be one of {', '.join(STATUSES)}")
    selectors = entry.get("selectors", {})
    if not isinstance(selectors, dict):
        raise _fail(path, i, slug, "selectors", "must be a table of field = [css, ...]")
    translator = HTMLTranslator()
    clean_selectors: dict[str, list[str]] = {}
    from portal_spiders.platforms.base import Platform

    for fname, css_list in selectors.items():
        if fname not in Platform.FIELDS:
            raise _fail(path, i, slug, f"selectors.{fname}", f"unknown field (known: {', '.join(Platform.FIELDS)})")
        css_list = [css_list] if isinstance(css_list, str) else css_list
        for css in css_list:
            try:
                translator.css_to_xpath(css)
            except Exception as exc:  # cssselect raises several error types
                raise _fail(path, i, slug, f"selectors.{fname}", f"bad CSS selector {css!r}: {exc}") from None
        clean_selectors[fname] = list(css_list)
    politeness = entry.get("politeness", {})
    if not isinstance(politeness, dict) or set(politeness) - POLITENESS_KEYS:
        raise _fail(path, i, slug, "politeness", f"must be a table with keys among {sorted(POLITENESS_KEYS)}")
    tls = entry.get("tls", {})
    if not isinstance(tls, dict) or set(tls) - TLS_KEYS:
        raise _fail(path, i, slug, "tls", f"must be a table with keys among {sorted(TLS_KEYS)}")
    max_pages = entry.get("max_pages", 50)
    if not isinstance(max_pages, int) or max_pages < 1:
        raise _fail(path, i, slug, "max_pages", "must be a positive integer")
    date_order = entry.get("date_order", "DMY")
    if date_order not in ("DMY", "MDY"):
        raise _fail(path, i, slug, "date_order", "must be DMY or MDY")
    evidence = _evidence(path, i, slug, entry.get("evidence", []))
    forms = entry.get("listing_forms", [])
    if not isinstance(forms, list) or not all(
            isinstance(f, dict) and not set(f) - FORM_KEYS and isinstance(f.get("page"), str)
            and isinstance(f.get("url"), str) and isinstance(f.get("fields", {}), dict) for f in forms):
        raise _fail(path, i, slug, "listing_forms",
                    f"must be a list of tables with string keys 'page' and 'url' (keys among {sorted(FORM_KEYS)})")
    return PortalConfig(
        slug=slug, name=entry["name"].strip(), platform=entry["platform"], start_urls=start_urls, feeds=feeds,
        sitemaps=sitemaps, sharepoint_lists=tuple(sp_lists), host_status=entry.get("host_status", "inferred"),
        platform_status=entry.get("platform_status", "inferred"), selectors=clean_selectors,
        politeness=politeness, tls=tls, max_pages=max_pages, date_order=date_order,
        replica=bool(entry.get("replica", False)), merged_into=entry.get("merged_into"), notes=entry.get("notes"),
        allowed_hosts=tuple(entry.get("allowed_hosts", ())), evidence=evidence, listing_forms=tuple(forms),
    )


def _evidence(path: Path, i: int, slug: str, value: Any) -> tuple[dict[str, str], ...]:
    """Validate the ``evidence`` list of an entry."""
    if not isinstance(value, list):
        raise _fail(path, i, slug, "evidence", "must be a list of {kind, url, source} tables")
    items = []
    for n, item in enumerate(value, 1):
        key = f"evidence[{n}]"
        if not isinstance(item, dict) or set(item) - EVIDENCE_KEYS:
            raise _fail(path, i, slug, key, f"must be a table with keys among {sorted(EVIDENCE_KEYS)}")
        if item.get("kind") not in EVIDENCE_KINDS:
            raise _fail(path, i, slug, f"{key}.kind", f"must be one of {', '.join(EVIDENCE_KINDS)}")
        if not isinstance(item.get("source"), str) or not item["source"].strip():
            raise _fail(path, i, slug, f"{key}.source", "say where the evidence was seen")
        url = item.get("url")
        if item["kind"] in URL_KINDS and not (isinstance(url, str) and re.match(r"^https?://[^/\s]+", url)):
            raise _fail(path, i, slug, f"{key}.url", f"a {item['kind']} needs the absolute URL that was seen")
        if item["kind"] == "markup" and not isinstance(item.get("html"), str):
            raise _fail(path, i, slug, f"{key}.html", "markup evidence needs the html fragment that was seen")
        items.append({k: str(v) for k, v in item.items()})
    return tuple(items)


def load_registry(path: str | Path | None = None) -> dict[str, PortalConfig]:
    """Load and validate the registry file; raises :class:`RegistryError` on the first bad entry."""
    from portal_spiders.platforms import platforms

    source: Any = Path(path) if path else DEFAULT_REGISTRY
    if not path and not DEFAULT_REGISTRY.exists():
        # Deployed inside a zipped egg (scrapyd) the bundled file has no path of its own; read it from the package.
        source = importlib.resources.files("portal_spiders").joinpath("portals.toml")
    path = DEFAULT_REGISTRY if not path else Path(path)
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RegistryError(f"{path}: registry file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise RegistryError(f"{path}: not valid TOML: {exc}") from None
    entries = data.get("portal")
    if not isinstance(entries, list) or not entries:
        raise RegistryError(f"{path}: key 'portal': expected one or more [[portal]] tables")
    known = set(platforms())
    result: dict[str, PortalConfig] = {}
    for i, entry in enumerate(entries):
        cfg = validate_entry(path, i, entry, known)
        if cfg.slug in result:
            raise _fail(path, i, cfg.slug, "slug", "duplicate slug")
        result[cfg.slug] = cfg
    return result


@cache
def default_registry() -> dict[str, PortalConfig]:
    """The bundled registry (cached), or the file named by ``$GOVARCHIVE_REGISTRY``."""
    import os

    return load_registry(os.environ.get("GOVARCHIVE_REGISTRY") or None)


def portal_for_host(host: str, registry: dict[str, PortalConfig] | None = None) -> PortalConfig | None:
    """The registry entry serving ``host`` (``www.`` ignored), if any."""
    host = host.lower().removeprefix("www.")
    for cfg in (registry or default_registry()).values():
        if host in {h.removeprefix("www.") for h in cfg.hosts}:
            return cfg
    return None
