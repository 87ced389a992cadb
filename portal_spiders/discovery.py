"""Listing discovery beyond HTML listing pages: RSS/Atom feeds, XML sitemaps and SharePoint list endpoints.

Pure functions: a response in, :class:`ListingEntry` objects out (newest first where the source says so).
"""

from __future__ import annotations

import json
import re
from email.utils import parsedate_to_datetime

from parsel import Selector
from scrapy.http import TextResponse

from portal_spiders.dates import parse_date_info
from portal_spiders.platforms.base import ListingEntry


def parse_feed(response: TextResponse, *, order: str = "DMY") -> list[ListingEntry]:
    """Items of an RSS 2.0 or Atom feed.

    Every date is given as ISO 8601 text in +07:00, like the archive's: RFC 2822 (``Thu, 03 Sep 2026 08:00:00
    +0700``) and ISO dates with any offset are converted, and dates in neither form (``9/5/2026 1:30:00 PM``) are
    read with ``order`` (``MDY`` for feeds known to print US dates). A date that cannot be read is kept as written.
    """
    sel = Selector(text=response.text, type="xml")
    sel.remove_namespaces()
    entries: list[ListingEntry] = []
    for item in sel.xpath("//item | //entry"):
        link = (item.xpath("link/text()").get() or item.xpath("link/@href").get() or
                item.xpath("guid/text()").get() or "").strip()
        if not link:
            continue
        date = (item.xpath("pubDate/text()").get() or item.xpath("published/text()").get() or
                item.xpath("updated/text()").get() or item.xpath("date/text()").get())
        title = item.xpath("title/text()").get()
        entries.append(ListingEntry(url=response.urljoin(link), title=title.strip() if title else None,
                                    published=_feed_date(date.strip(), order) if date else None))
    return _newest_first(entries)


def parse_sitemap(response: TextResponse) -> tuple[list[ListingEntry], list[str]]:
    """URLs of a sitemap (newest ``lastmod`` first) and the child sitemaps of a sitemap index."""
    sel = Selector(text=response.text, type="xml")
    sel.remove_namespaces()
    children = [u.strip() for u in sel.xpath("//sitemap/loc/text()").getall()]
    entries = [
        ListingEntry(url=u.xpath("loc/text()").get("").strip(), published=u.xpath("lastmod/text()").get())
        for u in sel.xpath("//url") if u.xpath("loc/text()").get()
    ]
    return _newest_first(entries), children


def parse_sharepoint_list(response: TextResponse, detail_url: str) -> tuple[list[ListingEntry], str | None]:
    """Items of a SharePoint REST list response (``/_api/web/lists/getbytitle(...)/items``).

    ``detail_url`` is a template filled with the item's fields, e.g. ``/Pages/chi-tiet.aspx?ItemID={ID}``.
    Returns the entries and the ``__next`` page URL, if any. Both the verbose OData (``{"d": {"results"}}``)
    and the minimal (``{"value": [...]}``) shapes are accepted.
    """
    data = json.loads(response.text)
    container = data.get("d", data)
    results = container.get("results", container.get("value", []))
    next_url = container.get("__next") or data.get("odata.nextLink") or data.get("@odata.nextLink")
    entries = []
    for row in results:
        try:
            url = detail_url.format(**row)
        except (KeyError, IndexError, ValueError):
            continue
        entries.append(ListingEntry(url=response.urljoin(url), title=row.get("Title") or row.get("TieuDeChinh"),
                                    published=row.get("Created") or row.get("NgayDang")))
    return entries, response.urljoin(next_url) if next_url else None


def _feed_date(value: str, order: str) -> str:
    parsed = parse_date_info(value, order=order)
    return parsed.isoformat() if parsed is not None else value


def _sort_key(entry: ListingEntry) -> str:
    value = entry.published or ""
    if re.match(r"^\d{4}-\d{2}-\d{2}", value):
        return value
    try:
        return parsedate_to_datetime(value).isoformat()
    except (TypeError, ValueError, IndexError):
        return ""


def _newest_first(entries: list[ListingEntry]) -> list[ListingEntry]:
    if entries and all(_sort_key(e) for e in entries):
        return sorted(entries, key=_sort_key, reverse=True)
    return entries
