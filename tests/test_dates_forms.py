"""Date forms met on real portals beyond the shared case file: WordPress's month-name-first Vietnamese dates, and
countdowns ("in 2 minutes") that must never become a publication date."""

from __future__ import annotations

from datetime import datetime

import pytest

from portal_spiders.dates import TZ, parse_date_info

NOW = datetime(2024, 3, 23, 9, 0, tzinfo=TZ)


@pytest.mark.parametrize(("text", "iso", "precision"), [
    # WordPress `F j, Y` in Vietnamese: the month name comes first and a comma precedes the year.
    ("Tháng Mười Hai 29, 2013, 14:14", "2013-12-29T14:14:00+07:00", "minute"),
    ("Tháng Mười Hai 29, 2013", "2013-12-29T00:00:00+07:00", "day"),
    ("Tháng Một 5, 2014", "2014-01-05T00:00:00+07:00", "day"),
    ("Tháng Mười Một 3, 2019 lúc 8:05 sáng", "2019-11-03T08:05:00+07:00", "minute"),
    ("Tháng Năm 12, 2020", "2020-05-12T00:00:00+07:00", "day"),
    ("Thang Muoi Hai 29, 2013", "2013-12-29T00:00:00+07:00", "day"),  # typed without diacritics
    ("tháng 12 29, 2013", "2013-12-29T00:00:00+07:00", "day"),
    ("Đăng ngày: Tháng Hai 7, 2024 - 10:30", "2024-02-07T10:30:00+07:00", "minute"),
])
def test_wordpress_month_first(text: str, iso: str, precision: str) -> None:
    info = parse_date_info(text, now=NOW)
    assert info is not None, text
    assert (info.isoformat(), info.precision) == (iso, precision)


def test_month_first_does_not_steal_the_long_form() -> None:
    # "ngày 22 tháng 3 năm 2024" and "tháng 12 năm 2013" keep their meaning.
    assert parse_date_info("Hà Nội, ngày 22 tháng 3 năm 2024", now=NOW).isoformat() == "2024-03-22T00:00:00+07:00"
    info = parse_date_info("tháng 12 năm 2013", now=NOW)
    assert (info.isoformat(), info.precision) == ("2013-12-01T00:00:00+07:00", "month")


def test_impossible_month_first_date_is_none() -> None:
    assert parse_date_info("Tháng Hai 30, 2020", now=NOW) is None


@pytest.mark.parametrize("text", [
    "sau 2 phút nữa", "2 phút nữa", "3 ngày tới", "trong 2 giờ tới", "còn 5 ngày", "Sau 10 phút",
    "in 5 minutes", "5 minutes from now", "sau 1 tuần nữa",
])
def test_future_relative_is_none(text: str) -> None:
    assert parse_date_info(text, now=NOW) is None


@pytest.mark.parametrize(("text", "iso"), [
    ("2 phút trước", "2024-03-23T08:58:00+07:00"),
    ("3 ngày trước", "2024-03-20T00:00:00+07:00"),
    ("Thứ Sáu, 22/3/2024 - 20:36", "2024-03-22T20:36:00+07:00"),
])
def test_past_relative_and_explicit_still_parse(text: str, iso: str) -> None:
    assert parse_date_info(text, now=NOW).isoformat() == iso
