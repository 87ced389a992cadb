"""The spider arguments (``-a key=value``) of every portal spider, checked before a crawl starts.

``govarchive crawl -a ...`` and the project's ``scrapy crawl`` command check them up front and refuse a bad one with
one line (:class:`govarchive.checks.BadInput`); :class:`portal_spiders.spiders.base.PortalSpider` parses them with
the same function, so a spider built any other way (scrapyd, tests) gets the same rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from govarchive.checks import BadInput, bounded_int, flexible_date, yes_no

DOC = {
    "full": "1/yes/on: read every listing page (up to max_pages) and fetch every article again",
    "since": "YYYY-MM-DD: read listings back to that date",
    "refresh_days": "N: fetch archived articles of the last N days again, to catch edits",
    "max_pages": "N: listing pages per start URL (default: the registry's max_pages)",
    "recheck": "yes: fetch the archived articles again instead of walking listings (edits, removals)",
    "recheck_days": "N: with recheck, only the articles published in the last N days",
}
MAX_PAGES_LIMIT = 100_000
REFRESH_DAYS_LIMIT = 700_000  # back to about year 100; "today minus" much more overflows date arithmetic


@dataclass(frozen=True)
class SpiderArgs:
    """Parsed spider arguments (``None``: not given)."""

    max_pages: int | None = None
    full: bool = False
    since: date | None = None
    refresh_days: int | None = None
    recheck: bool = False
    recheck_days: int | None = None


def parse_spider_args(raw: Mapping[str, Any]) -> SpiderArgs:
    """Check and convert spider arguments; raises :class:`BadInput` naming the argument.

    Unknown names are refused (a typo like ``max_page=3`` would otherwise be ignored), except names starting
    with ``_`` that schedulers add (scrapyd's ``_job``).
    """
    unknown = sorted(k for k in raw if k not in DOC and not k.startswith("_"))
    if unknown:
        raise BadInput(f"unknown spider argument {unknown[0]!r} (known: {', '.join(DOC)})")

    def given(key: str) -> Any:
        value = raw.get(key)
        return None if value is None or (isinstance(value, str) and not value.strip()) else value

    max_pages = given("max_pages")
    since = given("since")
    refresh_days = given("refresh_days")
    recheck_days = given("recheck_days")
    full, recheck = raw.get("full"), raw.get("recheck")
    return SpiderArgs(
        max_pages=bounded_int(max_pages, "-a max_pages", minimum=1, maximum=MAX_PAGES_LIMIT)
        if max_pages is not None else None,
        full=yes_no(full, "-a full") if full is not None else False,
        since=(since if isinstance(since, date) else flexible_date(since, "-a since")) if since is not None else None,
        refresh_days=bounded_int(refresh_days, "-a refresh_days", minimum=0, maximum=REFRESH_DAYS_LIMIT) or None
        if refresh_days is not None else None,
        recheck=yes_no(recheck, "-a recheck") if recheck is not None else False,
        recheck_days=bounded_int(recheck_days, "-a recheck_days", minimum=0, maximum=REFRESH_DAYS_LIMIT) or None
        if recheck_days is not None else None,
    )


__all__ = ["DOC", "BadInput", "SpiderArgs", "parse_spider_args"]
