"""Which listed articles a crawl fetches, and how far down each listing it reads.

Listings are read newest first, one page after another per listing category (a start URL, a SharePoint list,
a feed). Three modes:

* ``incremental`` (default): fetch articles the archive does not hold; stop reading a category once
  ``stop_after`` consecutive listed articles are *settled*, i.e. archived by a run that completed (default: one
  listing page's worth, so a few old pinned articles at the top of a listing do not end the walk). Articles
  stored by a killed or otherwise incomplete run are known (not fetched again) but not settled: the walk goes on
  past them, because that run may have stored the newest articles of a listing and died before the older ones.
* ``since``: fetch articles the archive does not hold, reading each category until a listing page whose dated
  articles (listing date, or the archived publication date) are all older than the ``since`` date.
* ``full``: read every listing page (up to the registry's ``max_pages``) and fetch every article again.

``refresh_days`` re-fetches already archived articles published in the last N days, so edits are caught; an
incremental walk goes on past its stop point while a listing page still shows articles of those N days.

The walk only reads archive state through a lookup callable (``Archive.article_state``); it holds no connection.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from portal_spiders.dates import parse_date

MODES = ("incremental", "since", "full")

# (first_run_id, published ISO) of an archived article, None when the archive does not hold it
StateLookup = Callable[[str], "tuple[int | None, str | None] | None"]


@dataclass
class _Category:
    streak: int = 0  # consecutive settled articles, across pages
    page_size: int = 0  # most entries seen on one page of this category
    dated: int = 0  # on the current page: entries with a known date
    older: int = 0  # on the current page: entries dated before ``since``
    recent: int = 0  # on the current page: entries dated inside the ``refresh_days`` window


class ListingWalk:
    """Per-crawl decisions: fetch this listed article? read the next page of this category?"""

    def __init__(self, mode: str, *, lookup: StateLookup, last_complete_run: int | None, since: date | None = None,
                 refresh_days: int | None = None, stop_after: int = 0, today: date | None = None,
                 date_order: str = "DMY") -> None:
        if mode not in MODES:
            raise ValueError(f"unknown crawl mode {mode!r} (expected one of {', '.join(MODES)})")
        if mode == "since" and since is None:
            raise ValueError("mode 'since' needs a since date")
        self.mode = mode
        self.lookup = lookup
        self.last_complete_run = last_complete_run
        self.since = since
        self.stop_after = max(0, stop_after)
        self.date_order = date_order
        today = today or date.today()
        self.refresh_from = (today - timedelta(days=refresh_days)).isoformat() if refresh_days else None
        self.categories: dict[str, _Category] = {}
        self._states: dict[str, tuple[int | None, str | None] | None] = {}

    def state(self, key: str) -> tuple[int | None, str | None] | None:
        """Archive state of a canonical URL, looked up once per crawl."""
        if key not in self._states:
            self._states[key] = self.lookup(key)
        return self._states[key]

    def settled(self, key: str) -> bool:
        """Whether the article was archived by a run that completed (or before runs were tracked)."""
        state = self.state(key)
        if state is None or self.last_complete_run is None:
            return False
        first_run = state[0]
        return first_run is None or first_run <= self.last_complete_run

    def wants(self, category: str, key: str, listing_date: str | None = None) -> bool:
        """Whether to fetch the listed article ``key``; also advances the category's stop counters."""
        walk = self.categories.setdefault(category, _Category())
        state = self.state(key)
        published = state[1] if state else None
        if self.mode == "incremental":
            walk.streak = walk.streak + 1 if self.settled(key) else 0
        day = None
        if self.mode == "since" or self.refresh_from:  # dates only matter to these (and parsing them costs)
            day = self._day(listing_date) or (published[:10] if published else None)
        older = False
        if self.refresh_from and day is not None and day >= self.refresh_from:
            walk.recent += 1
        if self.mode == "since" and day is not None:
            walk.dated += 1
            older = day < self.since.isoformat()  # type: ignore[union-attr]
            walk.older += older
        if self.mode == "full":
            return True
        if state is None:
            return not older
        return bool(self.refresh_from and published and published[:10] >= self.refresh_from)

    def next_page(self, category: str, entries: int) -> bool:
        """After a listing page of ``entries`` links: whether to read the category's next page."""
        walk = self.categories.setdefault(category, _Category())
        walk.page_size = max(walk.page_size, entries)
        dated, older, recent = walk.dated, walk.older, walk.recent
        walk.dated = walk.older = walk.recent = 0
        if self.mode == "full":
            return True
        if self.mode == "since":
            return not (dated and older == dated)
        # refresh_days: every article of the window is re-fetched, even past the point where the walk would stop
        return bool(recent) or walk.streak < max(1, self.stop_after or walk.page_size)

    def snapshot(self, category: str) -> dict[str, int]:
        """The category's counters, to resume the walk from elsewhere (:meth:`resume`)."""
        return dict(vars(self.categories.setdefault(category, _Category())))

    def resume(self, category: str, counters: dict[str, int]) -> None:
        """Go on with a category from a :meth:`snapshot` (the next listing page carries it in its request)."""
        fields = _Category.__dataclass_fields__
        self.categories[category] = _Category(**{k: int(v) for k, v in counters.items() if k in fields})

    def _day(self, text: str | None) -> str | None:
        if not text:
            return None
        try:
            value = datetime.fromisoformat(text.strip())
        except ValueError:
            value = parse_date(text, order=self.date_order)
        return value.date().isoformat() if value is not None else None
