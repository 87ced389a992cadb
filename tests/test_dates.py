"""Tests for portal_spiders.dates (offline, fast)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from portal_spiders.dates import TZ, ParsedDate, parse_date, parse_date_info, resolve_yearless, truncate
from tests.conftest import clean_env

DATA = Path(__file__).parent / "data"
NOW = datetime(2024, 3, 23, 9, 0, tzinfo=TZ)
SEVEN = timedelta(hours=7)


def _load_cases() -> list:
    params = []
    for name in ("vi_dates_cases.json", "vi_dates_extra.json"):
        data = json.loads((DATA / name).read_text(encoding="utf-8"))
        for case in data["cases"]:
            now = datetime.fromisoformat(case.get("now", data["now"]))
            params.append(pytest.param(case, now, id=f"{name.split('.')[0]}-{case['id']}"))
    return params


@pytest.mark.parametrize(("case", "now"), _load_cases())
def test_cases(case: dict, now: datetime) -> None:
    order = case.get("order", "DMY")
    info = parse_date_info(case["text"], now=now, order=order)
    if case["expected"] is None:
        assert info is None, f"{case['text']!r} should not parse, got {info}"
        assert parse_date(case["text"], now=now, order=order) is None
        return
    assert info is not None, f"{case['text']!r} did not parse"
    precision = case["precision"]
    assert info.precision == precision
    assert info.value.utcoffset() == SEVEN
    got = truncate(info.value, precision)
    accepted = [case["expected"]] + ([case["expected_alt"]] if case.get("expected_alt") else [])
    wanted = [truncate(datetime.fromisoformat(e).astimezone(TZ), precision) for e in accepted]
    assert got in wanted, f"{case['text']!r}: {got.isoformat()} not in {[w.isoformat() for w in wanted]}"
    if case.get("expected_end"):
        assert info.end is not None
        end = truncate(datetime.fromisoformat(case["expected_end"]).astimezone(TZ), precision)
        assert truncate(info.end, precision) == end
    assert parse_date(case["text"], now=now, order=order) == info.value


@pytest.mark.parametrize(
    ("text", "method", "precision"),
    [
        ("2024-03-22T20:36:00+07:00", "iso", "second"),
        ("2024-03-22T20:36", "iso", "minute"),
        ("2024-03-22", "iso", "day"),
        ("1711114560", "epoch", "second"),
        ("Fri, 22 Mar 2024 20:36:00 +0700", "rfc2822", "minute"),
        ("Thứ Sáu, 22/03/2024 - 20:36", "numeric", "minute"),
        ("Ngày cập nhật: 22/03/2024 20:36:15", "numeric", "second"),
        ("Hà Nội, ngày 23 tháng 01 năm 2024", "longform", "day"),
        ("tháng 3 năm 2024", "longform", "month"),
        ("18 October 2019", "longform", "day"),
        ("5 phút trước", "relative", "minute"),
        ("3 ngày trước", "relative", "day"),
        ("Mar 17", "dateparser", "day"),
    ],
)
def test_method_and_precision(text: str, method: str, precision: str) -> None:
    info = parse_date_info(text, now=NOW)
    assert info is not None
    assert (info.method, info.precision) == (method, precision)
    assert info.end is None
    assert info.value == truncate(info.value, precision)


def test_parsed_date_shape() -> None:
    info = parse_date_info("Thứ Sáu, 22/03/2024 - 20:36", now=NOW)
    assert isinstance(info, ParsedDate)
    assert info.isoformat() == "2024-03-22T20:36:00+07:00"
    with pytest.raises(AttributeError):
        info.precision = "day"  # type: ignore[misc]


def test_ranges_set_end() -> None:
    info = parse_date_info("Từ ngày 20/3/2024 đến ngày 22/3/2024", now=NOW)
    assert info is not None
    assert info.value == datetime(2024, 3, 20, tzinfo=TZ)
    assert info.end == datetime(2024, 3, 22, tzinfo=TZ)

    info = parse_date_info("(24 - 26/8)", now=NOW)
    assert info is not None
    assert (info.value, info.end) == (datetime(2023, 8, 24, tzinfo=TZ), datetime(2023, 8, 26, tzinfo=TZ))

    info = parse_date_info("từ 8:00 đến 11:00 ngày 22/3/2024", now=NOW)
    assert info is not None
    assert info.precision == "minute"
    assert (info.value.hour, info.end.hour) == (8, 11)  # type: ignore[union-attr]

    single = parse_date_info("22/3/2024", now=NOW)
    assert single is not None and single.end is None


def test_order_mdy() -> None:
    now = datetime(2026, 9, 6, 9, 0, tzinfo=TZ)
    us = parse_date_info("9/5/2026 1:30:00 PM", now=now, order="MDY")
    assert us is not None and us.isoformat() == "2026-09-05T13:30:00+07:00"
    vi = parse_date_info("9/5/2026 1:30:00 PM", now=now)  # DMY default: 9 May
    assert vi is not None and vi.isoformat() == "2026-05-09T13:30:00+07:00"
    # DMY still accepts an unambiguous US string
    assert parse_date("3/22/2024 8:36:00 PM", now=NOW) == datetime(2024, 3, 22, 20, 36, tzinfo=TZ)
    # MDY still reads an impossible month-first pair day-first
    assert parse_date("22/3/2024", now=NOW, order="MDY") == datetime(2024, 3, 22, tzinfo=TZ)


def test_fixed_offset_never_asia_ho_chi_minh() -> None:
    assert TZ.utcoffset(None) == SEVEN
    old = parse_date_info("Ngày 15 tháng 3 năm 1966", now=NOW)
    assert old is not None
    assert old.value.utcoffset() == SEVEN  # tzdata would say +08:00 for 1966
    assert old.isoformat() == "1966-03-15T00:00:00+07:00"
    utc = parse_date("2024-03-22T13:36:00Z", now=NOW)
    assert utc is not None and utc.utcoffset() == SEVEN and utc.hour == 20
    other = parse_date("2024-03-22T20:36:00-05:00", now=NOW)
    assert other == datetime(2024, 3, 23, 8, 36, tzinfo=TZ)
    naive = parse_date("2024-03-22T20:36:00", now=NOW)
    assert naive == datetime(2024, 3, 22, 20, 36, tzinfo=TZ)


def test_explicit_date_wins_over_relative_word() -> None:
    assert parse_date("Hôm nay, 23/03/2022", now=NOW) == datetime(2022, 3, 23, tzinfo=TZ)
    assert parse_date("Hôm qua, 20/03/2024", now=NOW) == datetime(2024, 3, 20, tzinfo=TZ)


def test_two_digit_year_pivot() -> None:
    assert parse_date("22/03/24", now=NOW) == datetime(2024, 3, 22, tzinfo=TZ)
    assert parse_date("15/06/25", now=NOW) == datetime(2025, 6, 15, tzinfo=TZ)  # not 1925
    assert parse_date("15/06/99", now=NOW) == datetime(1999, 6, 15, tzinfo=TZ)
    assert parse_date("15/06/30", now=NOW) is None  # 1930: before 1945


def test_resolve_yearless() -> None:
    assert resolve_yearless(18, 6, NOW) == datetime(2023, 6, 18).date()
    assert resolve_yearless(23, 3, NOW) == datetime(2024, 3, 23).date()
    assert resolve_yearless(29, 2, datetime(2025, 3, 1, tzinfo=TZ)) == datetime(2024, 2, 29).date()
    assert resolve_yearless(31, 2, NOW) is None
    assert resolve_yearless(1, 13, NOW) is None


def test_bounds_and_junk() -> None:
    # the ceiling is a year after the later of `now` and the wall clock
    ceiling_year = max(NOW, datetime.now(TZ)).year + 1
    assert parse_date(f"01/01/{ceiling_year + 1}", now=NOW) is None
    assert parse_date(f"01/01/{ceiling_year - 1}", now=NOW) is not None
    far = datetime(2090, 1, 1, tzinfo=TZ)
    assert parse_date("22/03/2091", now=far) is None
    assert parse_date("22/03/2090", now=far) is not None
    assert parse_date("Lượt xem: 1234", now=NOW) is None
    assert parse_date("(View: 7171)", now=NOW) is None
    for junk in ("", "   ", "\u200b", "/", "a", "to", "on:", "Trang chủ", "31/02/2024", "08:15"):
        assert parse_date(junk, now=NOW) is None, junk


def test_non_str_input_never_raises() -> None:
    for bad in (None, 123, 1711114560, b"22/03/2024", ["22/03/2024"], object()):
        assert parse_date(bad, now=NOW) is None  # type: ignore[arg-type]
        assert parse_date_info(bad, now=NOW) is None  # type: ignore[arg-type]


def test_now_default_and_naive_now() -> None:
    result = parse_date("vừa xong")
    assert result is not None
    assert abs(result - datetime.now(TZ)) < timedelta(minutes=2)
    naive = datetime(2024, 3, 23, 9, 0)
    assert parse_date("5 phút trước", now=naive) == datetime(2024, 3, 23, 8, 55, tzinfo=TZ)
    utc_now = datetime(2024, 3, 23, 2, 0, tzinfo=UTC)  # = 09:00 +07:00
    assert parse_date("Hôm qua", now=utc_now) == datetime(2024, 3, 22, tzinfo=TZ)


def test_fast_path_does_not_import_dateparser() -> None:
    code = (
        "import sys\n"
        "from datetime import datetime\n"
        "from portal_spiders.dates import TZ, parse_date\n"
        "now = datetime(2024, 3, 23, 9, tzinfo=TZ)\n"
        "for s in ['Thứ Sáu, 22/03/2024 - 20:36', 'Hà Nội, ngày 23 tháng 01 năm 2025', '5 phút trước',\n"
        "          '2024-03-22T20:36:00+07:00', 'Lượt xem: 1234', 'Trang chủ', 'a']:\n"
        "    parse_date(s, now=now)\n"
        "assert 'dateparser' not in sys.modules, 'fast path imported dateparser'\n"
        "assert parse_date('Mar 17', now=now) is not None\n"
        "assert 'dateparser' in sys.modules\n"
    )
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120,
                          env=clean_env())
    assert proc.returncode == 0, proc.stderr
