"""Edits and takedowns: what an archived article's answer says, and when a run may believe it.

A crawl that fetches an article the archive already holds (``refresh_days``, ``full=1``, or a recheck run:
``govarchive recheck`` / ``-a recheck=1``) looks at the answer:

* content, as before or changed: stored as usual (a change is a new version: an *edit*);
* ``404``/``410``: a takedown candidate (``http-404``/``http-410``);
* a redirect that ends on the portal's home page or one of its listing pages: ``redirect-home`` / ``redirect-listing``;
* ``200`` with the article gone (the parser finds neither title nor body): ``emptied``.

Candidates are :class:`~portal_spiders.items.ArticleRemoval` items; the store pipeline marks them ``removed_at`` at the
end of the run only if :func:`judge_removals` believes the portal is up. An outage is not a takedown: a run whose
listing pages (or a recheck's probes of them) never answered with article links, or in which most of the archived
articles it fetched look removed at once, marks nothing and records the answers as failures instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from portal_spiders.items import ArticleRemoval
from portal_spiders.urls import canonical_url

REMOVED_STATUSES = (404, 410)
# Paths a portal's home page goes by (SharePoint, ASP.NET, PHP CMSs, Vietnamese slugs).
_HOME_PATH = re.compile(r"^/?((pages/)?(default|index|home|trang-?chu|trangchu)(\.(aspx?|html?|php|jsp))?)?/?$",
                        re.IGNORECASE)


def redirect_kind(final_url: str, *, hosts: tuple[str, ...], listing_urls: tuple[str, ...],
                  case_insensitive: bool = False) -> str | None:
    """``redirect-home`` or ``redirect-listing`` when a redirect ended on such a page of the portal, else None."""
    parts = urlsplit(final_url)
    host = (parts.hostname or "").lower().removeprefix("www.")
    if host not in {h.lower().removeprefix("www.") for h in hosts}:
        return None
    if _HOME_PATH.match(parts.path or "/") and not parts.query:
        return "redirect-home"
    key = canonical_url(final_url, case_insensitive_path=case_insensitive)
    listings = {canonical_url(u, case_insensitive_path=case_insensitive) for u in listing_urls}
    bare = {canonical_url(u, case_insensitive_path=case_insensitive).split("?")[0] for u in listing_urls}
    if key in listings or key.split("?")[0] in bare:
        return "redirect-listing"
    return None


def removal_for_error(spider: Any, request: Any, status: int | None, response: Any) -> ArticleRemoval | None:
    """A takedown candidate for an archived article that answered 404/410 (after retries), else None."""
    if status not in REMOVED_STATUSES or not request.meta.get("archived"):
        return None
    return ArticleRemoval(url=request.meta.get("archived_url") or request.url, portal=spider.portal.slug,
                          reason=f"http-{status}", status=status,
                          capture=(response.meta if response is not None else request.meta).get("warc"),
                          requested_url=request.url)


def removal_for_response(spider: Any, response: Any, item: Any | None) -> ArticleRemoval | None:
    """A takedown candidate for an archived article that redirected to the home/listing page or came back empty."""
    meta = response.meta
    if not meta.get("archived"):
        return None
    url = meta.get("archived_url") or response.url
    requested = (meta.get("redirect_urls") or [response.request.url if response.request else response.url])[0]
    if meta.get("redirect_urls"):
        kind = redirect_kind(response.url, hosts=spider.portal.hosts,
                             listing_urls=(*spider.portal.start_urls, *spider.portal.feeds),
                             case_insensitive=spider.platform.case_insensitive_paths)
        if kind:
            return ArticleRemoval(url=url, portal=spider.portal.slug, reason=kind, status=response.status,
                                  final_url=response.url, capture=meta.get("warc"), requested_url=requested)
    if item is None or not getattr(item, "title", None) or (not getattr(item, "body_text", None)
                                                             and _had_body(spider, url)):
        return ArticleRemoval(url=url, portal=spider.portal.slug, reason="emptied", status=response.status,
                              final_url=response.url, capture=meta.get("warc"), requested_url=requested)
    return None


def _had_body(spider: Any, url: str) -> bool:
    archive = getattr(spider, "archive", None)
    row = archive.get_article(url) if archive is not None else None
    return bool(row and row.get("body_text"))


def recheck_targets(archive: Any, portal: str, days: int | None) -> Iterator[tuple[str, str]]:
    """``(url to request, canonical url)`` of the archived articles a recheck fetches again."""
    where, params = "portal = ?", [portal]
    if days:
        from datetime import date, timedelta

        where += " and (published >= ? or (published is null and first_seen_at >= ?))"
        since = (date.today() - timedelta(days=days)).isoformat()
        params += [since, since]
    for row in archive.iter_articles(where, params):
        yield row["final_url"] or row["source_url"] or row["url"], row["url"]


@dataclass
class Verdict:
    """What a run may conclude about its takedown candidates."""

    mark: bool
    reason: str  # why not, when not


def judge_removals(candidates: int, *, archived_fetched: int, listing_pages_with_links: int,
                   max_share: float = 0.5, min_for_share: int = 5) -> Verdict:
    """Believe takedowns only from a run that saw the portal up.

    Not believed: no listing page (or recheck probe) answered with article links during the run (the site is down,
    or answers everything with errors); or at least ``min_for_share`` candidates that are more than ``max_share`` of
    the archived articles fetched (a whole site answering 404, redirecting everything home, or a redesign the
    parser cannot read looks like this, a newsroom taking articles down does not).
    """
    if not candidates:
        return Verdict(True, "")
    if listing_pages_with_links == 0:
        return Verdict(False, "portal outage: no listing page answered with article links in this run")
    if candidates >= min_for_share and candidates > max_share * max(archived_fetched, 1):
        return Verdict(False, f"{candidates} of {archived_fetched} archived articles look removed at once "
                              f"(more than {max_share:.0%}): treated as an outage or a redesign")
    return Verdict(True, "")
