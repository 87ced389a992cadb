"""The incremental walk's decisions, page by page (fast; the crawls are in test_archive_integrity.py)."""

from __future__ import annotations

from datetime import date

import pytest

from portal_spiders.incremental import ListingWalk

CAT = "https://laichau.dcs.vn/Pages/tin-hoat-dong.aspx"


def _walk(archived: dict[str, tuple[int | None, str | None]], mode: str = "incremental", *,
          last_complete: int | None = 1, **kw: object) -> ListingWalk:
    return ListingWalk(mode, lookup=archived.get, last_complete_run=last_complete, **kw)  # type: ignore[arg-type]


def _page(walk: ListingWalk, urls: list[str], dates: list[str | None] | None = None) -> tuple[list[str], bool]:
    """Feed one listing page; returns (urls to fetch, read the next page?)."""
    dates = dates or [None] * len(urls)
    fetch = [u for u, d in zip(urls, dates, strict=True) if walk.wants(CAT, u, d)]
    return fetch, walk.next_page(CAT, len(urls))


def test_unchanged_listing_stops_after_one_page() -> None:
    archived = {f"a{i}": (1, "2026-11-20T08:00:00+07:00") for i in range(10)}
    walk = _walk(archived)
    assert _page(walk, [f"a{i}" for i in range(5)]) == ([], False)


def test_new_articles_then_one_page_of_settled_ones() -> None:
    archived = {f"old{i}": (1, None) for i in range(10)}
    walk = _walk(archived)
    assert _page(walk, ["new1", "new2", "old0", "old1", "old2"]) == (["new1", "new2"], True)
    assert _page(walk, ["old3", "old4", "old5", "old6", "old7"]) == ([], False)


def test_pinned_old_articles_do_not_end_the_walk() -> None:
    archived = {"pinned": (1, None), **{f"old{i}": (1, None) for i in range(5)}}
    walk = _walk(archived)
    assert _page(walk, ["pinned", "new1", "new2", "new3", "new4"]) == (["new1", "new2", "new3", "new4"], True)


def test_articles_of_an_incomplete_run_are_known_but_not_a_stop_point() -> None:
    """The trap: run 2 was killed after archiving the newest articles; the older new ones are still missing."""
    archived = {**{f"n{i}": (2, None) for i in range(5)}, **{f"old{i}": (1, None) for i in range(5)}}
    walk = _walk(archived, last_complete=1)
    assert _page(walk, [f"n{i}" for i in range(5)]) == ([], True)  # known: not fetched, but walk on
    assert _page(walk, ["n5", "n6", "old0", "old1", "old2"]) == (["n5", "n6"], True)
    assert _page(walk, ["old3", "old4"]) == ([], False)


def test_incomplete_run_is_settled_by_a_later_complete_run() -> None:
    archived = {f"n{i}": (2, None) for i in range(5)}
    assert _page(_walk(archived, last_complete=3), [f"n{i}" for i in range(5)]) == ([], False)


def test_without_any_complete_run_everything_is_walked() -> None:
    archived = {f"a{i}": (1, None) for i in range(5)}
    walk = _walk(archived, last_complete=None)
    assert _page(walk, [f"a{i}" for i in range(5)]) == ([], True)


def test_archives_from_before_run_tracking_count_as_settled() -> None:
    assert _page(_walk({"a": (None, None)}, stop_after=1), ["a"]) == ([], False)


def test_stop_after_setting() -> None:
    archived = {f"old{i}": (1, None) for i in range(10)}
    walk = _walk(archived, stop_after=2)
    assert _page(walk, ["new", "old0", "old1", "old2", "old3"]) == (["new"], False)
    walk = _walk(archived, stop_after=8)
    assert _page(walk, ["old0", "old1", "old2", "old3", "old4"]) == ([], True)


def test_refresh_days_refetches_recent_archived_articles() -> None:
    archived = {"recent": (1, "2026-11-25T08:00:00+07:00"), "older": (1, "2026-11-01T08:00:00+07:00")}
    walk = _walk(archived, refresh_days=7, today=date(2026, 11, 27))
    assert _page(walk, ["recent", "older"])[0] == ["recent"]


def test_full_mode_fetches_everything_and_never_stops() -> None:
    archived = {f"a{i}": (1, None) for i in range(5)}
    walk = _walk(archived, "full")
    assert _page(walk, [f"a{i}" for i in range(5)]) == ([f"a{i}" for i in range(5)], True)


def test_since_mode_reads_back_to_the_date() -> None:
    archived = {"known": (1, "2026-11-10T08:00:00+07:00")}
    walk = _walk(archived, "since", since=date(2026, 11, 15))
    fetch, more = _page(walk, ["x1", "known", "x2"], ["16:30 20/11/2026", None, "2026-11-16T08:00:00+07:00"])
    assert fetch == ["x1", "x2"] and more
    fetch, more = _page(walk, ["x3", "x4"], ["09:00 14/11/2026", "13/11/2026"])
    assert fetch == [] and not more


def test_mode_validation() -> None:
    with pytest.raises(ValueError, match="mode"):
        _walk({}, "sometimes")
    with pytest.raises(ValueError, match="since"):
        _walk({}, "since")
